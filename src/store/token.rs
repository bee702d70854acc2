//! API tokens (hashes only).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub token_id: Uuid,
    pub secret_hash: Vec<u8>,
    pub role: String,
    pub issuer_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
}

/// A token as listed: everything but its secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub token_id: Uuid,
    pub role: String,
    pub issuer_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    pub label: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Tx {
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_token(
        &mut self,
        token: &TokenRow,
        lookup: &str,
        label: &str,
        now: OffsetDateTime,
        expires_at: Option<OffsetDateTime>,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO api_token (token_id, lookup, secret_hash, role, issuer_id, member_id, label, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                token.token_id,
                lookup,
                token.secret_hash.clone(),
                token.role.clone(),
                token.issuer_id,
                token.member_id,
                label,
                now,
                expires_at
            ],
        )
        .await?;
        Ok(())
    }

    /// Revokes one token; false when it was already revoked.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoke_token(&mut self, id: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        let n = self
            .execute("UPDATE api_token SET revoked_at = $2 WHERE token_id = $1 AND revoked_at IS NULL", args![id, now])
            .await?;
        Ok(n == 1)
    }
}

impl Store {
    /// The live token with this lookup prefix: not revoked, not expired at `now`, and its
    /// member (if any) not removed.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn token_by_lookup(&self, lookup: &str, now: OffsetDateTime) -> StoreResult<Option<TokenRow>> {
        self.clone()
            .fetch_optional(
                "SELECT t.token_id, t.secret_hash, t.role, t.issuer_id, t.member_id FROM api_token t \
                 LEFT JOIN member m ON m.member_id = t.member_id \
                 WHERE t.lookup = $1 AND t.revoked_at IS NULL AND m.removed_at IS NULL \
                 AND (t.expires_at IS NULL OR t.expires_at > $2)",
                args![lookup, now],
            )
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn token_info(&self, id: Uuid) -> StoreResult<Option<TokenInfo>> {
        self.clone()
            .fetch_optional(
                "SELECT token_id, role, issuer_id, member_id, label, created_at, expires_at, revoked_at \
                 FROM api_token WHERE token_id = $1",
                args![id],
            )
            .await
    }

    /// Tokens of one issuer, or (`None`) of the platform's admins, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn tokens(&self, issuer: Option<Uuid>) -> StoreResult<Vec<TokenInfo>> {
        match issuer {
            Some(i) => {
                self.clone()
                    .fetch_all(
                        "SELECT token_id, role, issuer_id, member_id, label, created_at, expires_at, revoked_at \
                         FROM api_token WHERE issuer_id = $1 ORDER BY created_at DESC, token_id",
                        args![i],
                    )
                    .await
            }
            None => {
                self.clone()
                    .fetch_all(
                        "SELECT token_id, role, issuer_id, member_id, label, created_at, expires_at, revoked_at \
                         FROM api_token WHERE issuer_id IS NULL ORDER BY created_at DESC, token_id",
                        vec![],
                    )
                    .await
            }
        }
    }
}
