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

ALTER TABLE progress_link ADD COLUMN issuer_id uuid REFERENCES issuer (issuer_id);
ALTER TABLE progress_link ADD COLUMN derivation bigint NOT NULL DEFAULT 1;

UPDATE progress_link p SET issuer_id =
       (SELECT c.issuer_id FROM credential c
         WHERE c.identity_type = p.identity_type AND c.identity = p.identity
         ORDER BY c.created_at, c.credential_id LIMIT 1);
DELETE FROM progress_link WHERE issuer_id IS NULL;

ALTER TABLE progress_link ALTER COLUMN issuer_id SET NOT NULL;
ALTER TABLE progress_link ALTER COLUMN derivation SET DEFAULT 2;
ALTER TABLE progress_link DROP CONSTRAINT progress_link_identity_type_identity_generation_key;
ALTER TABLE progress_link ADD CONSTRAINT progress_link_issuer_generation_key UNIQUE (issuer_id, identity_type, identity, generation);
DROP INDEX progress_link_active;
CREATE UNIQUE INDEX progress_link_active ON progress_link (issuer_id, identity_type, identity) WHERE revoked_at IS NULL;
