-- Same version and meaning as migrations/sqlite/0006_certificates.sql.
-- Partial certificates are credentials too: a credential now comes either from an award of a
-- nanomodule or from a metro line version (never both).

ALTER TABLE credential ALTER COLUMN award_id DROP NOT NULL;
ALTER TABLE credential ALTER COLUMN nanomodule_id DROP NOT NULL;
ALTER TABLE credential ALTER COLUMN nanomodule_version DROP NOT NULL;
ALTER TABLE credential ADD COLUMN metro_line_id uuid REFERENCES metro_line (metro_line_id);
ALTER TABLE credential ADD COLUMN metro_line_version bigint;
-- 'cascade' when the service itself changed the status because of a component.
ALTER TABLE credential ADD COLUMN status_cause text;
ALTER TABLE credential ADD CONSTRAINT credential_origin CHECK ((award_id IS NULL) <> (metro_line_id IS NULL));

-- Never two certificates for one learner and line version while one is not revoked.
CREATE UNIQUE INDEX certificate_once ON credential (metro_line_id, metro_line_version, identity_type, identity)
    WHERE metro_line_id IS NOT NULL AND revoked_at IS NULL;

-- The credentials a certificate rests on (its evidence), for the cascade.
CREATE TABLE certificate_component (
    certificate_id  uuid NOT NULL REFERENCES credential (credential_id),
    component_id    uuid NOT NULL REFERENCES credential (credential_id),
    PRIMARY KEY (certificate_id, component_id)
);
CREATE INDEX certificate_component_of ON certificate_component (component_id);

-- The line version a learner started on (evaluated against it until the issuer migrates them).
CREATE TABLE line_learner (
    metro_line_id  uuid NOT NULL REFERENCES metro_line (metro_line_id),
    identity_type  text NOT NULL,
    identity       text NOT NULL,
    version        bigint NOT NULL,
    started_at     timestamptz NOT NULL,
    PRIMARY KEY (metro_line_id, identity_type, identity)
);

-- Durable queue of learners whose lines must be re-evaluated; written in the same transaction
-- as the award or status change that caused it, deleted in the transaction that handled it.
CREATE TABLE stack_job (
    job_id         uuid PRIMARY KEY,
    identity_type  text NOT NULL,
    identity       text NOT NULL,
    cause          text NOT NULL,
    attempts       bigint NOT NULL DEFAULT 0,
    not_before     timestamptz NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX stack_job_due ON stack_job (not_before);
CREATE INDEX stack_job_learner ON stack_job (identity_type, identity);

-- Learners' private progress links: only the token's SHA-256 is stored; the token itself is
-- derived from the master key and the generation, so it can be shown again until revoked.
CREATE TABLE progress_link (
    token_hash     text PRIMARY KEY,
    identity_type  text NOT NULL,
    identity       text NOT NULL,
    generation     bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    UNIQUE (identity_type, identity, generation)
);
CREATE UNIQUE INDEX progress_link_active ON progress_link (identity_type, identity) WHERE revoked_at IS NULL;
