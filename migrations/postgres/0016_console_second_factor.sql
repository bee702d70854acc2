-- Same version and meaning as migrations/sqlite/0016_console_second_factor.sql.
-- An optional TOTP second factor per console account. The secret itself is sealed under the
-- master key in sealed_secret (name totp:<account>), so a master-key rotation re-seals it; here
-- only the last time step used (a code works once) and, per session, whether the second factor
-- has been given yet.
ALTER TABLE console_account ADD COLUMN totp_last_step bigint;
ALTER TABLE console_session ADD COLUMN verified bigint NOT NULL DEFAULT 1;
