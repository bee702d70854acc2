//! Issuers (their profile spec is stored as validated JSON).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreError, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IssuerRow {
    pub issuer_id: Uuid,
    pub spec: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_issuer(&mut self, id: Uuid, spec: String, now: OffsetDateTime) -> StoreResult<()> {
        self.execute(
            "INSERT INTO issuer (issuer_id, spec, created_at, updated_at) VALUES ($1, $2, $3, $3)",
            args![id, spec, now],
        )
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_issuer(&mut self, id: Uuid, spec: String, now: OffsetDateTime) -> StoreResult<()> {
        let n = self
            .execute("UPDATE issuer SET spec = $2, updated_at = $3 WHERE issuer_id = $1", args![id, spec, now])
            .await?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

async fn issuer_of(db: &mut impl Sql, id: Uuid) -> StoreResult<Option<IssuerRow>> {
    db.fetch_optional("SELECT issuer_id, spec, created_at, updated_at FROM issuer WHERE issuer_id = $1", args![id])
        .await
}

impl Tx {
    /// [`Store::issuer`] inside this transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issuer(&mut self, id: Uuid) -> StoreResult<Option<IssuerRow>> {
        issuer_of(self, id).await
    }
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issuer(&self, id: Uuid) -> StoreResult<Option<IssuerRow>> {
        issuer_of(&mut self.clone(), id).await
    }

    /// Issuers in creation order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issuers(&self, limit: i64, offset: i64) -> StoreResult<Vec<IssuerRow>> {
        self.clone()
            .fetch_all(
                "SELECT issuer_id, spec, created_at, updated_at FROM issuer ORDER BY created_at, issuer_id LIMIT $1 OFFSET $2",
                args![limit, offset],
            )
            .await
    }
}
