-- An issuer may sign its VC-JWTs with ES256: a P-256 key beside its Ed25519 key, sealed the
-- same way. A key's algorithm shows in its public key's length (32 bytes Ed25519, 33 a
-- compressed P-256 point), so no column is added (code of the previous version keeps working on
-- this schema). One active key per issuer and algorithm (it was one per issuer).
DROP INDEX signing_key_active;
CREATE UNIQUE INDEX signing_key_active ON signing_key (issuer_id, length(public_key)) WHERE retired_at IS NULL;
