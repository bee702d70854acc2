//! A learner's data as one issuer (or the platform) holds it: for their export and erasure.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Learner, Sql, Store, StoreResult, Tx, args};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LearnerCredentialRow {
    pub credential_id: Uuid,
    pub issuer_id: Uuid,
    pub nanomodule_id: Option<Uuid>,
    pub metro_line_id: Option<Uuid>,
    pub recipient_name: Option<String>,
    pub signed: String,
    pub jwt: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub revocation_reason: Option<String>,
    pub suspended_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LearnerLinkRow {
    pub generation: i64,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrolmentInfo {
    pub metro_line_id: Uuid,
    pub version: i64,
    pub started_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRef {
    pub chain: String,
    pub seq: i64,
    pub occurred_at: String,
    pub action: String,
    pub subject_id: String,
    pub hash: String,
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_credentials(&self, who: &Learner, issuer: Uuid) -> StoreResult<Vec<LearnerCredentialRow>> {
        credentials_of(&mut self.clone(), who, issuer).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_links(&self, who: &Learner, issuer: Uuid) -> StoreResult<Vec<LearnerLinkRow>> {
        self.clone()
            .fetch_all(
                "SELECT generation, created_at, revoked_at FROM progress_link \
                 WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3 ORDER BY generation",
                args![issuer, who.identity_type.clone(), who.identity.clone()],
            )
            .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_lines(&self, who: &Learner, issuer: Uuid) -> StoreResult<Vec<EnrolmentInfo>> {
        self.clone()
            .fetch_all(
                "SELECT l.metro_line_id, l.version, l.started_at FROM line_learner l \
                 JOIN metro_line m ON m.metro_line_id = l.metro_line_id \
                 WHERE m.issuer_id = $1 AND l.identity_type = $2 AND l.identity = $3",
                args![issuer, who.identity_type.clone(), who.identity.clone()],
            )
            .await
    }

    /// Audit events whose subject is `subject`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn audit_refs(&self, subject: &str) -> StoreResult<Vec<AuditRef>> {
        self.clone()
            .fetch_all(
                "SELECT chain, seq, occurred_at, action, subject_id, hash FROM audit_event WHERE subject_id = $1 ORDER BY id",
                args![subject],
            )
            .await
    }
}

async fn credentials_of(db: &mut impl Sql, who: &Learner, issuer: Uuid) -> StoreResult<Vec<LearnerCredentialRow>> {
    db.fetch_all(
        "SELECT credential_id, issuer_id, nanomodule_id, metro_line_id, recipient_name, signed, jwt, created_at, \
         revoked_at, revocation_reason, suspended_at FROM credential \
         WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3 ORDER BY created_at, credential_id",
        args![issuer, who.identity_type.clone(), who.identity.clone()],
    )
    .await
}

impl Tx {
    /// [`Store::learner_credentials`] as this transaction sees them.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_credentials(&mut self, who: &Learner, issuer: Uuid) -> StoreResult<Vec<LearnerCredentialRow>> {
        credentials_of(self, who, issuer).await
    }

    /// Replaces the learner's identity on the issuer's revoked credentials by `pseudonym` and
    /// removes their stored documents and the name (the salts live only inside the documents).
    /// Only revoked ones: a credential stored after the caller revoked the others stays whole
    /// (and valid) rather than becoming a valid credential nobody can be shown.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn erase_credentials(&mut self, who: &Learner, issuer: Uuid, pseudonym: &str) -> StoreResult<u64> {
        self.execute(
            "UPDATE credential SET identity = $4, recipient_name = NULL, signed = '', jwt = '' \
             WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3 AND revoked_at IS NOT NULL",
            args![issuer, who.identity_type.clone(), who.identity.clone(), pseudonym],
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_learner_links(&mut self, who: &Learner, issuer: Uuid) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM progress_link WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3",
            args![issuer, who.identity_type.clone(), who.identity.clone()],
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_learner_lines(&mut self, who: &Learner, issuer: Uuid) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM line_learner WHERE identity_type = $2 AND identity = $3 \
             AND metro_line_id IN (SELECT metro_line_id FROM metro_line WHERE issuer_id = $1)",
            args![issuer, who.identity_type.clone(), who.identity.clone()],
        )
        .await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_learner_jobs(&mut self, who: &Learner) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM stack_job WHERE identity_type = $1 AND identity = $2",
            args![who.identity_type.clone(), who.identity.clone()],
        )
        .await
    }

    /// Replaces `needle` (a JSON string literal) in stored idempotent answers.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn scrub_idempotency(&mut self, needle: &str, with: &str) -> StoreResult<u64> {
        self.execute(
            "UPDATE idempotency_key SET response = replace(response, $1, $2) WHERE response LIKE '%' || $1 || '%'",
            args![needle, with],
        )
        .await
    }
}
