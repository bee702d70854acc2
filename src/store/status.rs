//! Revocation / suspension state and the cached signed status lists.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreError, StoreResult, Tx, args};

/// The query for [`CredentialState`] rows with the given tail (one literal, so the SQL stays
/// `'static` and is written once).
macro_rules! state_select {
    ($tail:literal) => {
        concat!(
            "SELECT c.credential_id, c.issuer_id, c.award_id, c.status_list_id, c.status_index, c.created_at, c.revoked_at, ",
            "c.revocation_reason, c.suspended_at, c.suspension_reason, c.status_cause, c.metro_line_id, c.identity_type, c.identity, ",
            "a.member_id, a.actor_token ",
            "FROM credential c LEFT JOIN award a ON a.award_id = c.award_id ",
            $tail
        )
    };
}

/// What happens to a credential's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Revoke,
    Suspend,
    Reinstate,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CredentialState {
    pub credential_id: Uuid,
    pub issuer_id: Uuid,
    /// `None` for certificates, which no person awarded.
    pub award_id: Option<Uuid>,
    pub status_list_id: Uuid,
    pub status_index: i64,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<String>,
    pub suspended_at: Option<OffsetDateTime>,
    pub suspension_reason: Option<String>,
    /// `cascade` when the service changed the status because of a component.
    pub status_cause: Option<String>,
    /// Set for certificates.
    pub metro_line_id: Option<Uuid>,
    pub identity_type: String,
    pub identity: String,
    pub member_id: Option<Uuid>,
    pub actor_token: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusListRow {
    pub status_list_id: Uuid,
    pub issuer_id: Uuid,
    pub size: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignedList {
    pub encoded_list: String,
    pub signed: String,
}

#[derive(sqlx::FromRow)]
struct Index {
    status_index: i64,
}

impl Store {
    /// State of a credential plus who awarded it (for the trainers' 24-hour revocation right).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn credential_state(&self, id: Uuid) -> StoreResult<Option<CredentialState>> {
        self.clone().fetch_optional(state_select!("WHERE c.credential_id = $1"), args![id]).await
    }

    /// The credential holding an index of a list: one indexed read.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn credential_at(&self, list: Uuid, index: i64) -> StoreResult<Option<CredentialState>> {
        self.clone()
            .fetch_optional(state_select!("WHERE c.status_list_id = $1 AND c.status_index = $2"), args![list, index])
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn status_list(&self, id: Uuid) -> StoreResult<Option<StatusListRow>> {
        self.clone()
            .fetch_optional(
                "SELECT status_list_id, issuer_id, size FROM status_list WHERE status_list_id = $1",
                args![id],
            )
            .await
    }

    /// Indices whose bit is set for `purpose` (`revocation` or `suspension`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_indices(&self, list: Uuid, suspension: bool) -> StoreResult<Vec<i64>> {
        let sql = if suspension {
            "SELECT status_index FROM credential WHERE status_list_id = $1 AND suspended_at IS NOT NULL AND revoked_at IS NULL"
        } else {
            "SELECT status_index FROM credential WHERE status_list_id = $1 AND revoked_at IS NOT NULL"
        };
        let rows: Vec<Index> = self.clone().fetch_all(sql, args![list]).await?;
        Ok(rows.into_iter().map(|r| r.status_index).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn signed_list(&self, list: Uuid, purpose: &str) -> StoreResult<Option<SignedList>> {
        self.clone()
            .fetch_optional(
                "SELECT encoded_list, signed FROM status_list_credential WHERE status_list_id = $1 AND purpose = $2",
                args![list, purpose],
            )
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save_signed_list(&self, list: Uuid, purpose: &str, encoded: &str, signed: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            "INSERT INTO status_list_credential (status_list_id, purpose, encoded_list, signed, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (status_list_id, purpose) DO UPDATE SET encoded_list = excluded.encoded_list, signed = excluded.signed, created_at = excluded.created_at",
            args![list, purpose, encoded, signed, self.clock.now()],
        )
        .await?;
        tx.commit().await
    }

    /// Revoked credentials of an issuer (for the 1EdTech revocation list).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revoked(&self, issuer: Uuid) -> StoreResult<Vec<CredentialState>> {
        self.clone()
            .fetch_all(
                state_select!("WHERE c.issuer_id = $1 AND c.revoked_at IS NOT NULL ORDER BY c.revoked_at"),
                args![issuer],
            )
            .await
    }
}

impl Tx {
    /// Applies a change if the current state allows it; a conflict otherwise (revocation is
    /// final; only a suspended credential can be reinstated). `cause` is `Some("cascade")`
    /// when the service itself acts because of a component.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change_status(
        &mut self,
        id: Uuid,
        change: StatusChange,
        reason: Option<&str>,
        cause: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let reason = reason.map(str::to_string);
        let cause = cause.map(str::to_string);
        let n = match change {
            StatusChange::Revoke => {
                self.execute(
                    "UPDATE credential SET revoked_at = $2, revocation_reason = $3, status_cause = $4 WHERE credential_id = $1 AND revoked_at IS NULL",
                    args![id, now, reason, cause],
                )
                .await?
            }
            StatusChange::Suspend => {
                self.execute(
                    "UPDATE credential SET suspended_at = $2, suspension_reason = $3, status_cause = $4 WHERE credential_id = $1 AND revoked_at IS NULL AND suspended_at IS NULL",
                    args![id, now, reason, cause],
                )
                .await?
            }
            StatusChange::Reinstate => {
                self.execute(
                    "UPDATE credential SET suspended_at = NULL, suspension_reason = NULL, status_cause = NULL WHERE credential_id = $1 AND revoked_at IS NULL AND suspended_at IS NOT NULL",
                    args![id],
                )
                .await?
            }
        };
        if n == 0 {
            return Err(StoreError::Conflict(match change {
                StatusChange::Revoke => "the credential is already revoked".into(),
                StatusChange::Suspend => "the credential is revoked or already suspended".into(),
                StatusChange::Reinstate => "the credential is not suspended (or is revoked, which is final)".into(),
            }));
        }
        Ok(())
    }
}
