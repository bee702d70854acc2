-- Same version and meaning as migrations/sqlite/0014_console.sql.
-- The web console: people who sign in (an issuer's members, platform admins), their one-time
-- invitation links, and server-side sessions (so several instances share them on PostgreSQL).

CREATE TABLE console_account (
    account_id       uuid PRIMARY KEY,
    email            text NOT NULL,
    name             text NOT NULL,
    role             text NOT NULL CHECK (role IN ('admin', 'issuer_admin', 'trainer', 'auditor')),
    issuer_id        uuid REFERENCES issuer (issuer_id),
    member_id        uuid UNIQUE REFERENCES member (member_id),
    password_hash    text,
    failed_sign_ins  bigint NOT NULL DEFAULT 0,
    locked_until     timestamptz,
    created_at       timestamptz NOT NULL,
    disabled_at      timestamptz,
    CHECK ((role = 'admin') = (issuer_id IS NULL))
);
-- One active account per address: the address is what people sign in with.
CREATE UNIQUE INDEX console_account_email ON console_account (email) WHERE disabled_at IS NULL;

CREATE TABLE console_invitation (
    token_hash   bytea PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES console_account (account_id),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX console_invitation_account ON console_invitation (account_id);

CREATE TABLE console_session (
    session_hash  bytea PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES console_account (account_id),
    csrf          text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    ended_at      timestamptz
);
CREATE INDEX console_session_account ON console_session (account_id);
