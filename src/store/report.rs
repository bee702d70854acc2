//! Raw facts for issuance reports.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreResult, args};

/// One credential with who awarded it, for grouping.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IssuanceFact {
    pub credential_id: Uuid,
    pub award_id: Uuid,
    pub nanomodule_id: Uuid,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub suspended_at: Option<OffsetDateTime>,
    pub member_id: Option<Uuid>,
    pub actor_token: String,
    pub actor_role: String,
}

impl Store {
    /// Credentials of an issuer issued in `[from, to)`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn issuance_facts(
        &self,
        issuer: Uuid,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<IssuanceFact>> {
        self.clone()
            .fetch_all(
                "SELECT c.credential_id, c.award_id, c.nanomodule_id, c.created_at, c.revoked_at, c.suspended_at, a.member_id, a.actor_token, a.actor_role \
                 FROM credential c JOIN award a ON a.award_id = c.award_id \
                 WHERE c.issuer_id = $1 AND c.created_at >= $2 AND c.created_at < $3 ORDER BY c.created_at",
                args![issuer, from, to],
            )
            .await
    }
}
