-- Stacking reads a batch of learners at a time: `identity_type = ? AND identity IN (…)`.
-- Nearly every learner has the same identity_type, so an index that starts with it narrows
-- nothing; until PostgreSQL has statistics for a table (a new or fast-growing one, or
-- autovacuum off) its planner guessed that the type alone was selective, used only the first
-- column and filtered every learner of that type, once per batch. Leading with the identity
-- leaves a planner no such choice, with or without statistics. Uniqueness does not depend on
-- the order of the columns, so the active-link rule is unchanged.
DROP INDEX line_learner_learner;
CREATE INDEX line_learner_learner ON line_learner (identity, identity_type);
DROP INDEX credential_holder;
CREATE INDEX credential_holder ON credential (identity, identity_type);
DROP INDEX stack_job_learner;
CREATE INDEX stack_job_learner ON stack_job (identity, identity_type);
DROP INDEX progress_link_active;
CREATE UNIQUE INDEX progress_link_active ON progress_link (identity, identity_type, issuer_id) WHERE revoked_at IS NULL;
