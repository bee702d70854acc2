//! OAuth 2.0 clients, authorization codes and tokens of the Open Badges 3.0 API. Codes and
//! tokens are kept as SHA-256 digests; a grant is named by its code's digest.

use time::OffsetDateTime;

use super::{Sql, Store, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthClientRow {
    pub client_id: String,
    pub secret_hash: Vec<u8>,
    /// The registered metadata (JSON of `domain::oauth::ClientMetadata`).
    pub metadata: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthCodeRow {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    pub account: String,
    pub redirect_uri: String,
    pub scope: String,
    pub challenge: String,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthTokenRow {
    pub kind: String,
    pub grant_hash: Vec<u8>,
    pub client_id: String,
    pub account: String,
    pub scope: String,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A token to store.
pub struct NewOAuthToken<'a> {
    pub hash: Vec<u8>,
    /// `access` or `refresh`.
    pub kind: &'static str,
    pub grant: &'a [u8],
    pub client_id: &'a str,
    pub account: &'a str,
    pub scope: &'a str,
    pub expires_at: OffsetDateTime,
}

/// A code to store.
pub struct NewOAuthCode<'a> {
    pub hash: Vec<u8>,
    pub client_id: &'a str,
    pub account: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub challenge: &'a str,
    pub expires_at: OffsetDateTime,
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_oauth_client(
        &mut self,
        client_id: &str,
        secret_hash: Vec<u8>,
        metadata: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO oauth_client (client_id, secret_hash, metadata, created_at) VALUES ($1, $2, $3, $4)",
            args![client_id, secret_hash, metadata, now],
        )
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_oauth_code(&mut self, c: NewOAuthCode<'_>, now: OffsetDateTime) -> StoreResult<()> {
        self.execute(
            "INSERT INTO oauth_code (code_hash, client_id, account, redirect_uri, scope, challenge, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![c.hash, c.client_id, c.account, c.redirect_uri, c.scope, c.challenge, now, c.expires_at],
        )
        .await?;
        Ok(())
    }

    /// A code, locked for this transaction on PostgreSQL (two redemptions at once: one wins).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn oauth_code(&mut self, hash: Vec<u8>) -> StoreResult<Option<OAuthCodeRow>> {
        let sql = if self.is_postgres() {
            "SELECT code_hash, client_id, account, redirect_uri, scope, challenge, expires_at, used_at \
             FROM oauth_code WHERE code_hash = $1 FOR UPDATE"
        } else {
            "SELECT code_hash, client_id, account, redirect_uri, scope, challenge, expires_at, used_at \
             FROM oauth_code WHERE code_hash = $1"
        };
        self.fetch_optional(sql, args![hash]).await
    }

    /// Marks a code used; false when it already was.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn use_oauth_code(&mut self, hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<bool> {
        let n = self
            .execute("UPDATE oauth_code SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL", args![hash, now])
            .await?;
        Ok(n == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_oauth_token(&mut self, t: NewOAuthToken<'_>, now: OffsetDateTime) -> StoreResult<()> {
        self.execute(
            "INSERT INTO oauth_token (token_hash, kind, grant_hash, client_id, account, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![t.hash, t.kind, t.grant.to_vec(), t.client_id, t.account, t.scope, now, t.expires_at],
        )
        .await?;
        Ok(())
    }

    /// A token, locked for this transaction on PostgreSQL.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn oauth_token(&mut self, hash: Vec<u8>) -> StoreResult<Option<OAuthTokenRow>> {
        let sql = if self.is_postgres() {
            "SELECT kind, grant_hash, client_id, account, scope, expires_at, revoked_at FROM oauth_token \
             WHERE token_hash = $1 FOR UPDATE"
        } else {
            "SELECT kind, grant_hash, client_id, account, scope, expires_at, revoked_at FROM oauth_token \
             WHERE token_hash = $1"
        };
        self.fetch_optional(sql, args![hash]).await
    }

    /// Revokes one token; false when it already was.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_oauth_token(&mut self, hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE oauth_token SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
                args![hash, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Revokes every token of a grant.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_oauth_grant(&mut self, grant: Vec<u8>, now: OffsetDateTime) -> StoreResult<u64> {
        self.execute(
            "UPDATE oauth_token SET revoked_at = $2 WHERE grant_hash = $1 AND revoked_at IS NULL",
            args![grant, now],
        )
        .await
    }

    /// Revokes every token a learner gave one app; the number revoked.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_oauth_app(&mut self, account: &str, client_id: &str, now: OffsetDateTime) -> StoreResult<u64> {
        self.execute(
            "UPDATE oauth_token SET revoked_at = $3 WHERE account = $1 AND client_id = $2 AND revoked_at IS NULL",
            args![account, client_id, now],
        )
        .await
    }

    /// Forgets a learner's grants (erasure): codes and tokens of `account`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_oauth_grants(&mut self, account: &str) -> StoreResult<()> {
        self.execute("DELETE FROM oauth_token WHERE account = $1", args![account]).await?;
        self.execute("DELETE FROM oauth_code WHERE account = $1", args![account]).await?;
        Ok(())
    }
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn oauth_client(&self, client_id: &str) -> StoreResult<Option<OAuthClientRow>> {
        self.clone()
            .fetch_optional(
                "SELECT client_id, secret_hash, metadata, created_at FROM oauth_client WHERE client_id = $1",
                args![client_id],
            )
            .await
    }

    /// The apps holding a live token of `account`, each once, with their registered metadata.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn oauth_apps(&self, account: &str, now: OffsetDateTime) -> StoreResult<Vec<OAuthClientRow>> {
        self.clone()
            .fetch_all(
                "SELECT client_id, secret_hash, metadata, created_at FROM oauth_client WHERE client_id IN \
                 (SELECT client_id FROM oauth_token WHERE account = $1 AND revoked_at IS NULL AND expires_at > $2) \
                 ORDER BY created_at, client_id",
                args![account, now],
            )
            .await
    }

    /// An access token that is neither expired nor revoked.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn oauth_access(&self, hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<OAuthTokenRow>> {
        self.clone()
            .fetch_optional(
                "SELECT kind, grant_hash, client_id, account, scope, expires_at, revoked_at FROM oauth_token \
                 WHERE token_hash = $1 AND kind = 'access' AND revoked_at IS NULL AND expires_at > $2",
                args![hash, now],
            )
            .await
    }
}
