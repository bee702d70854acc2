-- Same version and meaning as migrations/sqlite/0024_oauth.sql.
-- OAuth 2.0 for the Open Badges 3.0 API (Provider, read): clients registered dynamically
-- (RFC 7591), authorization codes a learner grants on their own page (PKCE S256), and the
-- access and refresh tokens exchanged for them. Secrets are stored as SHA-256 only. A grant is
-- the code that started it: reusing a code or a rotated refresh token revokes every token of
-- its grant.
CREATE TABLE oauth_client (
    client_id    text PRIMARY KEY,
    secret_hash  bytea NOT NULL,
    metadata     text NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE oauth_code (
    code_hash     bytea PRIMARY KEY,
    client_id     text NOT NULL REFERENCES oauth_client (client_id),
    account       text NOT NULL,
    redirect_uri  text NOT NULL,
    scope         text NOT NULL,
    challenge     text NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX oauth_code_account ON oauth_code (account);

CREATE TABLE oauth_token (
    token_hash  bytea PRIMARY KEY,
    kind        text NOT NULL,
    grant_hash  bytea NOT NULL,
    client_id   text NOT NULL REFERENCES oauth_client (client_id),
    account     text NOT NULL,
    scope       text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX oauth_token_grant ON oauth_token (grant_hash);
CREATE INDEX oauth_token_account ON oauth_token (account);
