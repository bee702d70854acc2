-- The web console: people who sign in (an issuer's members, platform admins), their one-time
-- invitation links, and server-side sessions (so several instances share them on PostgreSQL).

CREATE TABLE console_account (
    account_id       BLOB PRIMARY KEY,
    email            TEXT NOT NULL,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'issuer_admin', 'trainer', 'auditor')),
    issuer_id        BLOB REFERENCES issuer (issuer_id),
    member_id        BLOB UNIQUE REFERENCES member (member_id),
    password_hash    TEXT,
    failed_sign_ins  INTEGER NOT NULL DEFAULT 0,
    locked_until     TEXT,
    created_at       TEXT NOT NULL,
    disabled_at      TEXT,
    CHECK ((role = 'admin') = (issuer_id IS NULL))
);
-- One active account per address: the address is what people sign in with.
CREATE UNIQUE INDEX console_account_email ON console_account (email) WHERE disabled_at IS NULL;

CREATE TABLE console_invitation (
    token_hash   BLOB PRIMARY KEY,
    account_id   BLOB NOT NULL REFERENCES console_account (account_id),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT
);
CREATE INDEX console_invitation_account ON console_invitation (account_id);

CREATE TABLE console_session (
    session_hash  BLOB PRIMARY KEY,
    account_id    BLOB NOT NULL REFERENCES console_account (account_id),
    csrf          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    ended_at      TEXT
);
CREATE INDEX console_session_account ON console_session (account_id);
