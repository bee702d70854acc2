-- Same version and meaning as migrations/sqlite/0019_impact_review.sql.
-- The manager's impact review, and endorsements as credentials of their own (a third origin
-- besides awards and metro lines).
ALTER TABLE credential ADD COLUMN endorsed_id uuid REFERENCES credential (credential_id);
ALTER TABLE credential DROP CONSTRAINT credential_origin;
ALTER TABLE credential ADD CONSTRAINT credential_origin CHECK (num_nonnulls(award_id, metro_line_id, endorsed_id) = 1);
CREATE INDEX credential_endorsed ON credential (endorsed_id) WHERE endorsed_id IS NOT NULL;

CREATE TABLE impact_review (
    review_id        uuid PRIMARY KEY,
    credential_id    uuid NOT NULL REFERENCES credential (credential_id),
    issuer_id        uuid NOT NULL REFERENCES issuer (issuer_id),
    nanomodule_id    uuid NOT NULL REFERENCES nanomodule (nanomodule_id),
    identity_type    text NOT NULL,
    identity         text NOT NULL,
    learner_name     text,
    manager_name     text,
    manager_email    text NOT NULL,
    manager_company  text,
    lang             text NOT NULL,
    state            text NOT NULL,
    due_at           timestamptz NOT NULL,
    invited_at       timestamptz,
    reminded_at      timestamptz,
    answer           text,
    example          text,
    follow_up        text,
    answered_at      timestamptz,
    learner_seen_at  timestamptz,
    learner_comment  text,
    endorsement_id   uuid REFERENCES credential (credential_id),
    created_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX impact_review_open ON impact_review (credential_id) WHERE state IN ('scheduled', 'invited');
CREATE INDEX impact_review_due ON impact_review (state, due_at);
CREATE INDEX impact_review_learner ON impact_review (identity_type, identity);
CREATE INDEX impact_review_module ON impact_review (issuer_id, nanomodule_id);
