-- OAuth 2.0 for the Open Badges 3.0 API (Provider, read): clients registered dynamically
-- (RFC 7591), authorization codes a learner grants on their own page (PKCE S256), and the
-- access and refresh tokens exchanged for them. Secrets are stored as SHA-256 only. A grant is
-- the code that started it: reusing a code or a rotated refresh token revokes every token of
-- its grant.
CREATE TABLE oauth_client (
    client_id    TEXT PRIMARY KEY,
    secret_hash  BLOB NOT NULL,
    metadata     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE oauth_code (
    code_hash     BLOB PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES oauth_client (client_id),
    account       TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    scope         TEXT NOT NULL,
    challenge     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);
CREATE INDEX oauth_code_account ON oauth_code (account);

CREATE TABLE oauth_token (
    token_hash  BLOB PRIMARY KEY,
    kind        TEXT NOT NULL,
    grant_hash  BLOB NOT NULL,
    client_id   TEXT NOT NULL REFERENCES oauth_client (client_id),
    account     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX oauth_token_grant ON oauth_token (grant_hash);
CREATE INDEX oauth_token_account ON oauth_token (account);
