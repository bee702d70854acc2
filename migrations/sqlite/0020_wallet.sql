-- Wallets (OpenID for Verifiable Credential Issuance 1.0, pre-authorised code flow). A learner
-- makes an offer for one of their credentials on their own page: the pre-authorised code and
-- the transaction code are stored as SHA-256 only, valid for minutes, used once. The copy a
-- wallet receives is bound to the holder's DID and signed afresh; it shares the original's
-- status-list entry, so revoking or suspending either is the same change, and it is not a row
-- of `credential`, so it never counts twice for stacking or doubles.
CREATE TABLE wallet_offer (
    offer_id          BLOB PRIMARY KEY,
    code_hash         TEXT NOT NULL UNIQUE,
    tx_code_hash      TEXT NOT NULL,
    credential_id     BLOB NOT NULL REFERENCES credential (credential_id),
    identity          TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    failed_attempts   INTEGER NOT NULL DEFAULT 0,
    redeemed_at       TEXT,
    token_hash        TEXT UNIQUE,
    token_expires_at  TEXT,
    used_at           TEXT
);
CREATE INDEX wallet_offer_identity ON wallet_offer (identity);

CREATE TABLE wallet_credential (
    credential_id  BLOB PRIMARY KEY,
    original_id    BLOB NOT NULL REFERENCES credential (credential_id),
    issuer_id      BLOB NOT NULL REFERENCES issuer (issuer_id),
    identity_type  TEXT NOT NULL,
    identity       TEXT NOT NULL,
    holder         TEXT NOT NULL,
    signed         TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX wallet_credential_original ON wallet_credential (original_id);
CREATE INDEX wallet_credential_learner ON wallet_credential (identity_type, identity);
