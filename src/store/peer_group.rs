//! Peer groups (their participants and planned sessions are one JSON spec).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreError, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PeerGroupRow {
    pub group_id: Uuid,
    pub issuer_id: Uuid,
    pub metro_line_id: Uuid,
    pub spec: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_peer_group(&mut self, g: &PeerGroupRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO peer_group (group_id, issuer_id, metro_line_id, spec, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
            args![g.group_id, g.issuer_id, g.metro_line_id, g.spec.clone(), g.created_at],
        )
        .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_peer_group(
        &mut self,
        id: Uuid,
        line: Uuid,
        spec: String,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let n = self
            .execute(
                "UPDATE peer_group SET metro_line_id = $2, spec = $3, updated_at = $4 WHERE group_id = $1",
                args![id, line, spec, now],
            )
            .await?;
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn peer_group(&self, id: Uuid) -> StoreResult<Option<PeerGroupRow>> {
        self.clone()
            .fetch_optional(
                "SELECT group_id, issuer_id, metro_line_id, spec, created_at, updated_at FROM peer_group \
                 WHERE group_id = $1",
                args![id],
            )
            .await
    }

    /// An issuer's groups, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn peer_groups(&self, issuer: Uuid) -> StoreResult<Vec<PeerGroupRow>> {
        self.clone()
            .fetch_all(
                "SELECT group_id, issuer_id, metro_line_id, spec, created_at, updated_at FROM peer_group \
                 WHERE issuer_id = $1 ORDER BY created_at DESC, group_id DESC",
                args![issuer],
            )
            .await
    }
}
