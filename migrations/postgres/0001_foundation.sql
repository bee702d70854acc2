-- Foundation: issuers, members and tokens, signing keys, skills, nanomodules, images, audit chain.
-- Same version and meaning as migrations/sqlite/0001_foundation.sql.

CREATE TABLE issuer (
    issuer_id   uuid PRIMARY KEY,
    spec        text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE member (
    member_id   uuid PRIMARY KEY,
    issuer_id   uuid NOT NULL REFERENCES issuer (issuer_id),
    name        text NOT NULL,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('issuer_admin', 'trainer', 'auditor')),
    created_at  timestamptz NOT NULL,
    removed_at  timestamptz
);
CREATE INDEX member_issuer ON member (issuer_id);

CREATE TABLE api_token (
    token_id     uuid PRIMARY KEY,
    lookup       text NOT NULL UNIQUE,
    secret_hash  bytea NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'issuer_admin', 'trainer', 'auditor')),
    issuer_id    uuid REFERENCES issuer (issuer_id),
    member_id    uuid REFERENCES member (member_id),
    label        text NOT NULL,
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    CHECK ((role = 'admin') = (issuer_id IS NULL))
);
CREATE INDEX api_token_member ON api_token (member_id);

CREATE TABLE signing_key (
    key_id             uuid PRIMARY KEY,
    issuer_id          uuid NOT NULL REFERENCES issuer (issuer_id),
    public_key         bytea NOT NULL,
    multibase          text NOT NULL UNIQUE,
    sealed_secret      bytea NOT NULL,
    created_at         timestamptz NOT NULL,
    retired_at         timestamptz,
    compromised_since  timestamptz
);
CREATE INDEX signing_key_issuer ON signing_key (issuer_id);
CREATE UNIQUE INDEX signing_key_active ON signing_key (issuer_id) WHERE retired_at IS NULL;

CREATE TABLE skill (
    skill_id    uuid PRIMARY KEY,
    issuer_id   uuid NOT NULL REFERENCES issuer (issuer_id),
    spec        text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX skill_issuer ON skill (issuer_id);

CREATE TABLE skills_profile (
    skills_profile_id  uuid PRIMARY KEY,
    issuer_id          uuid NOT NULL REFERENCES issuer (issuer_id),
    spec               text NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX skills_profile_issuer ON skills_profile (issuer_id);

CREATE TABLE image (
    image_id      uuid PRIMARY KEY,
    issuer_id     uuid NOT NULL REFERENCES issuer (issuer_id),
    content_type  text NOT NULL,
    bytes         bytea NOT NULL,
    sha256        text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE nanomodule (
    nanomodule_id    uuid PRIMARY KEY,
    issuer_id        uuid NOT NULL REFERENCES issuer (issuer_id),
    current_version  bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX nanomodule_issuer ON nanomodule (issuer_id);

CREATE TABLE nanomodule_version (
    nanomodule_id  uuid NOT NULL REFERENCES nanomodule (nanomodule_id),
    version        bigint NOT NULL,
    spec           text NOT NULL,
    image_id       uuid REFERENCES image (image_id),
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (nanomodule_id, version)
);

CREATE TABLE audit_event (
    seq            bigint PRIMARY KEY,
    occurred_at    text NOT NULL,
    actor_token    text NOT NULL,
    actor_role     text NOT NULL,
    issuer_id      text,
    action         text NOT NULL,
    subject_id     text NOT NULL,
    change_digest  text NOT NULL,
    prev_hash      text NOT NULL,
    hash           text NOT NULL UNIQUE
);
CREATE INDEX audit_event_issuer ON audit_event (issuer_id, seq);

CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only';
END;
$$;

CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
