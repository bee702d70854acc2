-- The platform's checkpoint signing key (sealed like issuers' keys) and signed chain heads.

CREATE TABLE platform_key (
    key_id         BLOB PRIMARY KEY,
    public_key     BLOB NOT NULL,
    sealed_secret  BLOB NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE audit_checkpoint (
    seq          INTEGER PRIMARY KEY,
    hash         TEXT NOT NULL,
    signed_at    TEXT NOT NULL,
    key_id       BLOB NOT NULL REFERENCES platform_key (key_id),
    signature    TEXT NOT NULL
);
