-- E-mail through a durable outbox: a message is written in the same transaction as the change
-- it tells about, and a sender worker delivers it later (retries with backoff, dead letters).
-- The message itself (subject, text, HTML; it may hold a private link) is sealed under a data
-- key that is itself sealed under the master key (sealed_secret 'mail/payload'), so a
-- master-key rotation leaves these rows readable. state: queued → sending → sent | dead; a
-- 'sending' row whose lease (next_attempt_at) ran out is taken again by any instance.
CREATE TABLE mail_outbox (
    message_id      BLOB PRIMARY KEY,
    issuer_id       BLOB REFERENCES issuer (issuer_id),
    kind            TEXT NOT NULL,
    address         TEXT NOT NULL,
    identity_type   TEXT,
    identity        TEXT,
    subject_id      TEXT,
    sealed          BLOB NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at);
CREATE INDEX mail_outbox_issuer ON mail_outbox (issuer_id, state, created_at);
CREATE INDEX mail_outbox_learner ON mail_outbox (identity_type, identity);

-- A learner's one-click opt-out from one issuer's messages (RFC 8058). The unsubscribe link
-- is an HMAC of issuer and learner under sealed_secret 'mail/unsubscribe'; only its SHA-256
-- is stored, to find the learner when the link is used.
CREATE TABLE mail_recipient (
    link_hash       TEXT PRIMARY KEY,
    issuer_id       BLOB NOT NULL REFERENCES issuer (issuer_id),
    identity_type   TEXT NOT NULL,
    identity        TEXT NOT NULL,
    opted_out_at    TEXT,
    UNIQUE (issuer_id, identity_type, identity)
);
