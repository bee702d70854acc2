-- Same version and meaning as migrations/sqlite/0005_checkpoints.sql.

CREATE TABLE platform_key (
    key_id         uuid PRIMARY KEY,
    public_key     bytea NOT NULL,
    sealed_secret  bytea NOT NULL,
    created_at     timestamptz NOT NULL
);

CREATE TABLE audit_checkpoint (
    seq          bigint PRIMARY KEY,
    hash         text NOT NULL,
    signed_at    text NOT NULL,
    key_id       uuid NOT NULL REFERENCES platform_key (key_id),
    signature    text NOT NULL
);
