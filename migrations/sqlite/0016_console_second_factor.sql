-- An optional TOTP second factor per console account. The secret itself is sealed under the
-- master key in sealed_secret (name totp:<account>), so a master-key rotation re-seals it; here
-- only the last time step used (a code works once) and, per session, whether the second factor
-- has been given yet.
ALTER TABLE console_account ADD COLUMN totp_last_step INTEGER;
ALTER TABLE console_session ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
