-- One audit chain per issuer (issue #12 §2). Every existing event moves, unchanged, into the
-- closed `legacy` chain; its storage position (`id`) keeps its old sequence number. New events
-- go to their issuer's chain or to the `platform` chain and are numbered within it.

CREATE TABLE audit_event_split (
    id             INTEGER PRIMARY KEY,
    chain          TEXT NOT NULL,
    seq            INTEGER NOT NULL,
    occurred_at    TEXT NOT NULL,
    actor_token    TEXT NOT NULL,
    actor_role     TEXT NOT NULL,
    issuer_id      TEXT,
    action         TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    change_digest  TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL UNIQUE,
    UNIQUE (chain, seq)
);
INSERT INTO audit_event_split (id, chain, seq, occurred_at, actor_token, actor_role, issuer_id, action, subject_id, change_digest, prev_hash, hash)
    SELECT seq, 'legacy', seq, occurred_at, actor_token, actor_role, issuer_id, action, subject_id, change_digest, prev_hash, hash
    FROM audit_event ORDER BY seq;
DROP TABLE audit_event;
ALTER TABLE audit_event_split RENAME TO audit_event;
CREATE INDEX audit_event_issuer ON audit_event (issuer_id, id);
CREATE INDEX audit_event_subject ON audit_event (subject_id);

CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only');
END;

CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only');
END;

-- The legacy chain's closing: its head and the Merkle root over its events' hashes, from which
-- every new chain starts. Written once, by the first append after the split.
CREATE TABLE audit_chain_close (
    chain      TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    head_hash  TEXT NOT NULL,
    root       TEXT NOT NULL,
    closed_at  TEXT NOT NULL
);

-- Signed tree heads: the Merkle root over every chain's head (`heads`, JSON, chain order).
CREATE TABLE audit_tree_head (
    number     INTEGER PRIMARY KEY,
    size       INTEGER NOT NULL,
    root       TEXT NOT NULL,
    heads      TEXT NOT NULL,
    signed_at  TEXT NOT NULL,
    key_id     BLOB NOT NULL REFERENCES platform_key (key_id),
    signature  TEXT NOT NULL
);
