//! Members of an issuer (people with a role there).

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, Store, StoreError, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub member_id: Uuid,
    pub issuer_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub created_at: OffsetDateTime,
    pub removed_at: Option<OffsetDateTime>,
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_member(&mut self, m: &MemberRow) -> StoreResult<()> {
        self.execute(
            "INSERT INTO member (member_id, issuer_id, name, email, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            args![m.member_id, m.issuer_id, m.name.clone(), m.email.clone(), m.role.clone(), m.created_at],
        )
        .await?;
        Ok(())
    }

    /// Marks the member removed and revokes all of its tokens, at once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn remove_member(&mut self, issuer: Uuid, member: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        let n = self
            .execute(
                "UPDATE member SET removed_at = $3 WHERE issuer_id = $1 AND member_id = $2 AND removed_at IS NULL",
                args![issuer, member, now],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.execute(
            "UPDATE api_token SET revoked_at = $2 WHERE member_id = $1 AND revoked_at IS NULL",
            args![member, now],
        )
        .await?;
        Ok(())
    }
}

impl Store {
    /// Every member ever, removed ones included (reports name who awarded what).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn members_all(&self, issuer: Uuid) -> StoreResult<Vec<MemberRow>> {
        self.clone()
            .fetch_all(
                "SELECT member_id, issuer_id, name, email, role, created_at, removed_at FROM member WHERE issuer_id = $1",
                args![issuer],
            )
            .await
    }

    /// Current members (removed ones are kept for the record but not listed).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn members(&self, issuer: Uuid) -> StoreResult<Vec<MemberRow>> {
        self.clone()
            .fetch_all(
                "SELECT member_id, issuer_id, name, email, role, created_at, removed_at FROM member \
                 WHERE issuer_id = $1 AND removed_at IS NULL ORDER BY created_at, member_id",
                args![issuer],
            )
            .await
    }
}
