//! Partnerships between issuers (who may put whose nanomodules on their metro lines).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PartnershipRow {
    pub partnership_id: Uuid,
    /// The issuer that asked (its lines may use the partner's modules).
    pub issuer_id: Uuid,
    /// The issuer whose modules are shared, and whose admin accepts.
    pub partner_id: Uuid,
    pub state: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_partnership(&mut self, row: &PartnershipRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO partnership (partnership_id, issuer_id, partner_id, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![row.partnership_id, row.issuer_id, row.partner_id, row.state.clone(), row.created_at, row.updated_at],
        )
        .await?;
        Ok(())
    }

    /// Moves a partnership from `from` to `to`; false when it was no longer in `from` (a
    /// concurrent change won).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_partnership_state(
        &mut self,
        id: Uuid,
        from: &str,
        to: &str,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE partnership SET state = $3, updated_at = $4 WHERE partnership_id = $1 AND state = $2",
                args![id, from, to, now],
            )
            .await?;
        Ok(n == 1)
    }
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn partnership(&self, id: Uuid) -> StoreResult<Option<PartnershipRow>> {
        self.clone()
            .fetch_optional(
                "SELECT partnership_id, issuer_id, partner_id, state, created_at, updated_at FROM partnership \
                 WHERE partnership_id = $1",
                args![id],
            )
            .await
    }

    /// Every partnership an issuer asked for or was asked for, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn partnerships_of(&self, issuer: Uuid) -> StoreResult<Vec<PartnershipRow>> {
        self.clone()
            .fetch_all(
                "SELECT partnership_id, issuer_id, partner_id, state, created_at, updated_at FROM partnership \
                 WHERE issuer_id = $1 OR partner_id = $1 ORDER BY created_at DESC, partnership_id",
                args![issuer],
            )
            .await
    }

    /// Issuers whose modules `issuer` may use now (accepted partnerships it asked for).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn accepted_partners(&self, issuer: Uuid) -> StoreResult<Vec<Uuid>> {
        let rows: Vec<PartnershipRow> = self
            .clone()
            .fetch_all(
                "SELECT partnership_id, issuer_id, partner_id, state, created_at, updated_at FROM partnership \
                 WHERE issuer_id = $1 AND state = 'accepted'",
                args![issuer],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.partner_id).collect())
    }
}
