-- Partial certificates are credentials too: a credential now comes either from an award of a
-- nanomodule or from a metro line version (never both). SQLite cannot drop NOT NULL in place,
-- so the table is rebuilt (nothing references it, so the drop is safe with foreign keys on).

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
    -- 'cascade' when the service itself changed the status because of a component.
    status_cause        TEXT,
    UNIQUE (status_list_id, status_index),
    FOREIGN KEY (status_list_id, status_index) REFERENCES status_entry (status_list_id, idx),
    CHECK ((award_id IS NULL) <> (metro_line_id IS NULL))
);
INSERT INTO credential_new (credential_id, award_id, issuer_id, nanomodule_id, nanomodule_version, identity_type, identity,
    recipient_name, status_list_id, status_index, key_id, signed, jwt, sha256, valid_from, valid_until, created_at,
    revoked_at, revocation_reason, suspended_at, suspension_reason)
SELECT credential_id, award_id, issuer_id, nanomodule_id, nanomodule_version, identity_type, identity,
    recipient_name, status_list_id, status_index, key_id, signed, jwt, sha256, valid_from, valid_until, created_at,
    revoked_at, revocation_reason, suspended_at, suspension_reason FROM credential;
DROP TABLE credential;
ALTER TABLE credential_new RENAME TO credential;
CREATE INDEX credential_recipient ON credential (issuer_id, identity_type, identity);
CREATE INDEX credential_award ON credential (award_id);
CREATE INDEX credential_holder ON credential (identity_type, identity);

-- Never two certificates for one learner and line version while one is not revoked.
CREATE UNIQUE INDEX certificate_once ON credential (metro_line_id, metro_line_version, identity_type, identity)
    WHERE metro_line_id IS NOT NULL AND revoked_at IS NULL;

-- The credentials a certificate rests on (its evidence), for the cascade.
CREATE TABLE certificate_component (
    certificate_id  BLOB NOT NULL REFERENCES credential (credential_id),
    component_id    BLOB NOT NULL REFERENCES credential (credential_id),
    PRIMARY KEY (certificate_id, component_id)
);
CREATE INDEX certificate_component_of ON certificate_component (component_id);

-- The line version a learner started on (evaluated against it until the issuer migrates them).
CREATE TABLE line_learner (
    metro_line_id  BLOB NOT NULL REFERENCES metro_line (metro_line_id),
    identity_type  TEXT NOT NULL,
    identity       TEXT NOT NULL,
    version        INTEGER NOT NULL,
    started_at     TEXT NOT NULL,
    PRIMARY KEY (metro_line_id, identity_type, identity)
);

-- Durable queue of learners whose lines must be re-evaluated; written in the same transaction
-- as the award or status change that caused it, deleted in the transaction that handled it.
CREATE TABLE stack_job (
    job_id         BLOB PRIMARY KEY,
    identity_type  TEXT NOT NULL,
    identity       TEXT NOT NULL,
    cause          TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    not_before     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX stack_job_due ON stack_job (not_before);
CREATE INDEX stack_job_learner ON stack_job (identity_type, identity);

-- Learners' private progress links: only the token's SHA-256 is stored; the token itself is
-- derived from the master key and the generation, so it can be shown again until revoked.
CREATE TABLE progress_link (
    token_hash     TEXT PRIMARY KEY,
    identity_type  TEXT NOT NULL,
    identity       TEXT NOT NULL,
    generation     INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    revoked_at     TEXT,
    UNIQUE (identity_type, identity, generation)
);
CREATE UNIQUE INDEX progress_link_active ON progress_link (identity_type, identity) WHERE revoked_at IS NULL;
