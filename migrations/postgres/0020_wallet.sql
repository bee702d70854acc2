-- Same version and meaning as migrations/sqlite/0020_wallet.sql.
-- Wallets (OpenID for Verifiable Credential Issuance 1.0, pre-authorised code flow). A learner
-- makes an offer for one of their credentials on their own page: the pre-authorised code and
-- the transaction code are stored as SHA-256 only, valid for minutes, used once. The copy a
-- wallet receives is bound to the holder's DID and signed afresh; it shares the original's
-- status-list entry, so revoking or suspending either is the same change, and it is not a row
-- of `credential`, so it never counts twice for stacking or doubles.
CREATE TABLE wallet_offer (
    offer_id          uuid PRIMARY KEY,
    code_hash         text NOT NULL UNIQUE,
    tx_code_hash      text NOT NULL,
    credential_id     uuid NOT NULL REFERENCES credential (credential_id),
    identity          text NOT NULL,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    failed_attempts   bigint NOT NULL DEFAULT 0,
    redeemed_at       timestamptz,
    token_hash        text UNIQUE,
    token_expires_at  timestamptz,
    used_at           timestamptz
);
CREATE INDEX wallet_offer_identity ON wallet_offer (identity);

CREATE TABLE wallet_credential (
    credential_id  uuid PRIMARY KEY,
    original_id    uuid NOT NULL REFERENCES credential (credential_id),
    issuer_id      uuid NOT NULL REFERENCES issuer (issuer_id),
    identity_type  text NOT NULL,
    identity       text NOT NULL,
    holder         text NOT NULL,
    signed         text NOT NULL,
    sha256         text NOT NULL,
    created_at     timestamptz NOT NULL
);
CREATE INDEX wallet_credential_original ON wallet_credential (original_id);
CREATE INDEX wallet_credential_learner ON wallet_credential (identity_type, identity);
