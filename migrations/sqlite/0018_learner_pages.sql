-- A learner's own page across issuers ("my badges"): a learner proves control of an e-mail
-- address with a one-time link (15 minutes, single use; only its SHA-256 is stored) and gets a
-- server-side session. A learner may hide the public HTML page of a credential (the signed
-- JSON, the OB 2.0 assertion and verification by URL keep working).
CREATE TABLE learner_login (
    token_hash  BLOB PRIMARY KEY,
    identity    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX learner_login_identity ON learner_login (identity, created_at);

CREATE TABLE learner_session (
    session_hash BLOB PRIMARY KEY,
    identity     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX learner_session_identity ON learner_session (identity);

ALTER TABLE credential ADD COLUMN page_hidden_at TEXT;
