-- API tokens may expire: after `expires_at` a token is refused like a revoked one.
ALTER TABLE api_token ADD COLUMN expires_at timestamptz;
