-- A progress link belongs to one issuer and one learner (it used to be one per learner for the
-- whole platform, which let every issuer that awarded the learner see, replace or revoke the
-- same private link).
--
-- The split: every existing link row goes to the issuer that first awarded that learner (the
-- issuer of their oldest credential) and keeps its token hash and generation, so a link handed
-- out before this migration keeps working for that issuer. `derivation` 1 marks those rows:
-- their token is still computed the old way (without the issuer). Every other issuer gets a new
-- link (derivation 2, the issuer is part of the token's input) the next time it awards the
-- learner or its staff look the learner up. A link row of a learner with no credential at all
-- (cannot be made by the service) has no owner and is dropped.

CREATE TABLE progress_link_new (
    token_hash     TEXT PRIMARY KEY,
    issuer_id      BLOB NOT NULL REFERENCES issuer (issuer_id),
    identity_type  TEXT NOT NULL,
    identity       TEXT NOT NULL,
    generation     INTEGER NOT NULL,
    derivation     INTEGER NOT NULL DEFAULT 2,
    created_at     TEXT NOT NULL,
    revoked_at     TEXT,
    UNIQUE (issuer_id, identity_type, identity, generation)
);

INSERT INTO progress_link_new (token_hash, issuer_id, identity_type, identity, generation, derivation, created_at, revoked_at)
SELECT p.token_hash,
       (SELECT c.issuer_id FROM credential c
         WHERE c.identity_type = p.identity_type AND c.identity = p.identity
         ORDER BY c.created_at, c.credential_id LIMIT 1),
       p.identity_type, p.identity, p.generation, 1, p.created_at, p.revoked_at
FROM progress_link p
WHERE EXISTS (SELECT 1 FROM credential c WHERE c.identity_type = p.identity_type AND c.identity = p.identity);

DROP TABLE progress_link;
ALTER TABLE progress_link_new RENAME TO progress_link;
CREATE UNIQUE INDEX progress_link_active ON progress_link (issuer_id, identity_type, identity) WHERE revoked_at IS NULL;
