-- Foundation: issuers, members and tokens, signing keys, skills, nanomodules, images, audit chain.
-- Ids are UUIDs (BLOB here, uuid on PostgreSQL); JSON documents are TEXT in both backends.

CREATE TABLE issuer (
    issuer_id   BLOB PRIMARY KEY,
    spec        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE member (
    member_id   BLOB PRIMARY KEY,
    issuer_id   BLOB NOT NULL REFERENCES issuer (issuer_id),
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('issuer_admin', 'trainer', 'auditor')),
    created_at  TEXT NOT NULL,
    removed_at  TEXT
);
CREATE INDEX member_issuer ON member (issuer_id);

CREATE TABLE api_token (
    token_id     BLOB PRIMARY KEY,
    lookup       TEXT NOT NULL UNIQUE,
    secret_hash  BLOB NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'issuer_admin', 'trainer', 'auditor')),
    issuer_id    BLOB REFERENCES issuer (issuer_id),
    member_id    BLOB REFERENCES member (member_id),
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    CHECK ((role = 'admin') = (issuer_id IS NULL))
);
CREATE INDEX api_token_member ON api_token (member_id);

CREATE TABLE signing_key (
    key_id             BLOB PRIMARY KEY,
    issuer_id          BLOB NOT NULL REFERENCES issuer (issuer_id),
    public_key         BLOB NOT NULL,
    multibase          TEXT NOT NULL UNIQUE,
    sealed_secret      BLOB NOT NULL,
    created_at         TEXT NOT NULL,
    retired_at         TEXT,
    compromised_since  TEXT
);
CREATE INDEX signing_key_issuer ON signing_key (issuer_id);
-- At most one active (unretired) key per issuer.
CREATE UNIQUE INDEX signing_key_active ON signing_key (issuer_id) WHERE retired_at IS NULL;

CREATE TABLE skill (
    skill_id    BLOB PRIMARY KEY,
    issuer_id   BLOB NOT NULL REFERENCES issuer (issuer_id),
    spec        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX skill_issuer ON skill (issuer_id);

CREATE TABLE skills_profile (
    skills_profile_id  BLOB PRIMARY KEY,
    issuer_id          BLOB NOT NULL REFERENCES issuer (issuer_id),
    spec               TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX skills_profile_issuer ON skills_profile (issuer_id);

CREATE TABLE image (
    image_id      BLOB PRIMARY KEY,
    issuer_id     BLOB NOT NULL REFERENCES issuer (issuer_id),
    content_type  TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE nanomodule (
    nanomodule_id    BLOB PRIMARY KEY,
    issuer_id        BLOB NOT NULL REFERENCES issuer (issuer_id),
    current_version  INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX nanomodule_issuer ON nanomodule (issuer_id);

-- Versions are immutable: awarded badges point at the version they were awarded for.
CREATE TABLE nanomodule_version (
    nanomodule_id  BLOB NOT NULL REFERENCES nanomodule (nanomodule_id),
    version        INTEGER NOT NULL,
    spec           TEXT NOT NULL,
    image_id       BLOB REFERENCES image (image_id),
    created_at     TEXT NOT NULL,
    PRIMARY KEY (nanomodule_id, version)
);

CREATE TABLE audit_event (
    seq            INTEGER PRIMARY KEY,
    occurred_at    TEXT NOT NULL,
    actor_token    TEXT NOT NULL,
    actor_role     TEXT NOT NULL,
    issuer_id      TEXT,
    action         TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    change_digest  TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_event_issuer ON audit_event (issuer_id, seq);

CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only');
END;

CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only');
END;
