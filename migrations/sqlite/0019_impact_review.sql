-- no-transaction
-- The manager's impact review, and endorsements as credentials of their own. An endorsement
-- (an OB 3.0 EndorsementCredential whose subject is a learner's badge) comes neither from an
-- award nor from a metro line, so the credential table's origin check gains a third origin.
-- SQLite cannot change a CHECK in place: the table is rebuilt the way SQLite documents it
-- (foreign keys off outside a transaction, copy, drop, rename, all in one transaction), since
-- certificate_component and other tables reference credential by name.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE credential_new (
    credential_id       BLOB PRIMARY KEY,
    award_id            BLOB REFERENCES award (award_id),
    issuer_id           BLOB NOT NULL REFERENCES issuer (issuer_id),
    nanomodule_id       BLOB REFERENCES nanomodule (nanomodule_id),
    nanomodule_version  INTEGER,
    metro_line_id       BLOB REFERENCES metro_line (metro_line_id),
    metro_line_version  INTEGER,
    identity_type       TEXT NOT NULL,
    identity            TEXT NOT NULL,
    recipient_name      TEXT,
    status_list_id      BLOB NOT NULL,
    status_index        INTEGER NOT NULL,
    key_id              BLOB NOT NULL REFERENCES signing_key (key_id),
    signed              TEXT NOT NULL,
    jwt                 TEXT NOT NULL,
    sha256              TEXT NOT NULL,
    valid_from          TEXT NOT NULL,
    valid_until         TEXT,
    created_at          TEXT NOT NULL,
    revoked_at          TEXT,
    revocation_reason   TEXT,
    suspended_at        TEXT,
    suspension_reason   TEXT,
    status_cause        TEXT,
    page_hidden_at      TEXT,
    -- Set for endorsements: the credential endorsed.
    endorsed_id         BLOB REFERENCES credential (credential_id),
    UNIQUE (status_list_id, status_index),
    FOREIGN KEY (status_list_id, status_index) REFERENCES status_entry (status_list_id, idx),
    CHECK ((award_id IS NOT NULL) + (metro_line_id IS NOT NULL) + (endorsed_id IS NOT NULL) = 1)
);
INSERT INTO credential_new (credential_id, award_id, issuer_id, nanomodule_id, nanomodule_version, metro_line_id,
    metro_line_version, identity_type, identity, recipient_name, status_list_id, status_index, key_id, signed, jwt,
    sha256, valid_from, valid_until, created_at, revoked_at, revocation_reason, suspended_at, suspension_reason,
    status_cause, page_hidden_at)
SELECT credential_id, award_id, issuer_id, nanomodule_id, nanomodule_version, metro_line_id,
    metro_line_version, identity_type, identity, recipient_name, status_list_id, status_index, key_id, signed, jwt,
    sha256, valid_from, valid_until, created_at, revoked_at, revocation_reason, suspended_at, suspension_reason,
    status_cause, page_hidden_at FROM credential;
DROP TABLE credential;
ALTER TABLE credential_new RENAME TO credential;
CREATE INDEX credential_recipient ON credential (issuer_id, identity_type, identity);
CREATE INDEX credential_award ON credential (award_id);
CREATE INDEX credential_holder ON credential (identity_type, identity);
CREATE UNIQUE INDEX certificate_once ON credential (metro_line_id, metro_line_version, identity_type, identity)
    WHERE metro_line_id IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX credential_endorsed ON credential (endorsed_id) WHERE endorsed_id IS NOT NULL;

-- One row per invited review. The manager's link is an HMAC of the review id (nothing to
-- store); the manager's and the learner's words are kept apart so neither can change the other's.
CREATE TABLE impact_review (
    review_id        BLOB PRIMARY KEY,
    credential_id    BLOB NOT NULL REFERENCES credential (credential_id),
    issuer_id        BLOB NOT NULL REFERENCES issuer (issuer_id),
    nanomodule_id    BLOB NOT NULL REFERENCES nanomodule (nanomodule_id),
    identity_type    TEXT NOT NULL,
    identity         TEXT NOT NULL,
    learner_name     TEXT,
    manager_name     TEXT,
    manager_email    TEXT NOT NULL,
    manager_company  TEXT,
    lang             TEXT NOT NULL,
    state            TEXT NOT NULL,
    due_at           TEXT NOT NULL,
    invited_at       TEXT,
    reminded_at      TEXT,
    answer           TEXT,
    example          TEXT,
    follow_up        TEXT,
    answered_at      TEXT,
    learner_seen_at  TEXT,
    learner_comment  TEXT,
    endorsement_id   BLOB REFERENCES credential (credential_id),
    created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX impact_review_open ON impact_review (credential_id) WHERE state IN ('scheduled', 'invited');
CREATE INDEX impact_review_due ON impact_review (state, due_at);
CREATE INDEX impact_review_learner ON impact_review (identity_type, identity);
CREATE INDEX impact_review_module ON impact_review (issuer_id, nanomodule_id);
COMMIT;
PRAGMA foreign_keys = ON;
