-- Secrets the service derives tokens from (learners' progress links), sealed under the master
-- key like the signing keys, so that rotating the master key re-seals them and every link
-- handed out keeps working. Each holds exactly the subkey the master key used to derive links
-- before this table existed.
CREATE TABLE sealed_secret (
    name        TEXT PRIMARY KEY,
    sealed      BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
