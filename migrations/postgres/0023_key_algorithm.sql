-- Same version and meaning as migrations/sqlite/0023_key_algorithm.sql.
DROP INDEX signing_key_active;
CREATE UNIQUE INDEX signing_key_active ON signing_key (issuer_id, length(public_key)) WHERE retired_at IS NULL;
