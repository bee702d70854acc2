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

impl Tx {
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_token(
        &mut self,
        token: &TokenRow,
        lookup: &str,
        label: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO api_token (token_id, lookup, secret_hash, role, issuer_id, member_id, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                token.token_id,
                lookup,
                token.secret_hash.clone(),
                token.role.clone(),
                token.issuer_id,
                token.member_id,
                label,
                now
            ],
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// The live token with this lookup prefix: not revoked, and its member (if any) not removed.
    pub async fn token_by_lookup(&self, lookup: &str) -> StoreResult<Option<TokenRow>> {
        self.clone()
            .fetch_optional(
                "SELECT t.token_id, t.secret_hash, t.role, t.issuer_id, t.member_id FROM api_token t \
                 LEFT JOIN member m ON m.member_id = t.member_id \
                 WHERE t.lookup = $1 AND t.revoked_at IS NULL AND m.removed_at IS NULL",
                args![lookup],
            )
            .await
    }
}
