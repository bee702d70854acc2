//! Impact reviews and the endorsements they become.
//!
//! Every state change is one conditional `UPDATE … RETURNING`, so two instances running the
//! same round on one PostgreSQL database never invite, remind or expire a review twice: the
//! second one's condition no longer holds once the first committed.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{NewCredential, Sql, Store, StoreResult, Tx, args};

/// The columns of a [`ReviewRow`], as a literal so every query stays `'static`.
macro_rules! columns {
    () => {
        "review_id, credential_id, issuer_id, nanomodule_id, identity_type, identity, learner_name, manager_name, \
         manager_email, manager_company, lang, state, due_at, invited_at, reminded_at, answer, example, follow_up, \
         answered_at, learner_seen_at, learner_comment, endorsement_id, created_at"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewRow {
    pub review_id: Uuid,
    pub credential_id: Uuid,
    pub issuer_id: Uuid,
    pub nanomodule_id: Uuid,
    pub identity_type: String,
    pub identity: String,
    pub learner_name: Option<String>,
    pub manager_name: Option<String>,
    pub manager_email: String,
    pub manager_company: Option<String>,
    pub lang: String,
    pub state: String,
    pub due_at: OffsetDateTime,
    pub invited_at: Option<OffsetDateTime>,
    pub reminded_at: Option<OffsetDateTime>,
    pub answer: Option<String>,
    pub example: Option<String>,
    pub follow_up: Option<String>,
    pub answered_at: Option<OffsetDateTime>,
    pub learner_seen_at: Option<OffsetDateTime>,
    pub learner_comment: Option<String>,
    pub endorsement_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

/// A review to schedule.
#[derive(Debug, Clone)]
pub struct NewReview {
    pub review_id: Uuid,
    pub credential_id: Uuid,
    pub issuer_id: Uuid,
    pub nanomodule_id: Uuid,
    pub identity_type: String,
    pub identity: String,
    pub learner_name: Option<String>,
    pub manager_name: Option<String>,
    pub manager_email: String,
    pub manager_company: Option<String>,
    pub lang: String,
    pub due_at: OffsetDateTime,
}

/// Reviews of one nanomodule in one state with one answer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImpactCount {
    pub nanomodule_id: Uuid,
    pub state: String,
    pub answer: Option<String>,
    pub endorsed: i64,
    pub n: i64,
}

/// An issuer's reviews in a period: come due, answered, answered "yes".
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct ImpactPeriod {
    pub due: i64,
    pub answered: i64,
    pub applied: i64,
}

impl Tx {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_reviews(&mut self, reviews: Vec<NewReview>, now: OffsetDateTime) -> StoreResult<()> {
        let rows = reviews
            .into_iter()
            .map(|r| {
                args![
                    r.review_id,
                    r.credential_id,
                    r.issuer_id,
                    r.nanomodule_id,
                    r.identity_type,
                    r.identity,
                    r.learner_name,
                    r.manager_name,
                    r.manager_email,
                    r.manager_company,
                    r.lang,
                    "scheduled",
                    r.due_at,
                    now
                ]
            })
            .collect();
        self.insert_many(
            "INSERT INTO impact_review (review_id, credential_id, issuer_id, nanomodule_id, identity_type, identity, \
             learner_name, manager_name, manager_email, manager_company, lang, state, due_at, created_at) VALUES",
            14,
            rows,
        )
        .await
    }

    /// Cancels the reviews of badges revoked before their manager was invited or answered.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn cancel_reviews_of_revoked(&mut self) -> StoreResult<u64> {
        self.execute(
            "UPDATE impact_review SET state = 'cancelled' WHERE state IN ('scheduled', 'invited') AND credential_id IN \
             (SELECT credential_id FROM credential WHERE revoked_at IS NOT NULL)",
            args![],
        )
        .await
    }

    /// Invites a scheduled review; false when another instance did so first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_invited(&mut self, review: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE impact_review SET state = 'invited', invited_at = $2 WHERE review_id = $1 AND state = 'scheduled'",
                args![review, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Records the one reminder; false when it was sent already or the review closed meanwhile.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mark_reminded(&mut self, review: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        let n = self
            .execute(
                "UPDATE impact_review SET reminded_at = $2 WHERE review_id = $1 AND state = 'invited' \
                 AND reminded_at IS NULL",
                args![review, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Expires invitations sent before `invited_before` that were not answered.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn expire_reviews(&mut self, invited_before: OffsetDateTime) -> StoreResult<u64> {
        self.execute(
            "UPDATE impact_review SET state = 'expired' WHERE state = 'invited' AND invited_at <= $1",
            args![invited_before],
        )
        .await
    }

    /// Records the manager's answer to an open invitation; `None` when it is not open (answered,
    /// expired or cancelled meanwhile).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn answer_review(
        &mut self,
        review: Uuid,
        answer: &str,
        example: &str,
        follow_up: Option<String>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<ReviewRow>> {
        let sql = concat!(
            "UPDATE impact_review SET state = 'answered', answer = $2, example = $3, follow_up = $4, answered_at = $5 \
             WHERE review_id = $1 AND state = 'invited' RETURNING ",
            columns!()
        );
        self.fetch_optional(sql, args![review, answer, example, follow_up, now]).await
    }

    /// The learner has read the answer (the first time only) and may add a comment (once).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_saw_review(
        &mut self,
        review: Uuid,
        identity: &str,
        comment: Option<String>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<ReviewRow>> {
        let sql = concat!(
            "UPDATE impact_review SET learner_seen_at = COALESCE(learner_seen_at, $3), \
             learner_comment = COALESCE(learner_comment, $4) \
             WHERE review_id = $1 AND identity_type = 'emailAddress' AND identity = $2 AND state = 'answered' \
             RETURNING ",
            columns!()
        );
        self.fetch_optional(sql, args![review, identity, now, comment]).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_review_endorsement(&mut self, review: Uuid, endorsement: Uuid) -> StoreResult<()> {
        self.execute(
            "UPDATE impact_review SET endorsement_id = $2 WHERE review_id = $1 AND endorsement_id IS NULL",
            args![review, endorsement],
        )
        .await?;
        Ok(())
    }

    /// Stores an endorsement of `endorsed` signed by `issuer`'s key `key_id`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_endorsement(
        &mut self,
        n: NewCredential,
        issuer: Uuid,
        key_id: Uuid,
        endorsed: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.execute(
            "INSERT INTO credential (credential_id, issuer_id, endorsed_id, identity_type, identity, recipient_name, \
             status_list_id, status_index, key_id, signed, jwt, sha256, valid_from, valid_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            args![
                n.credential_id,
                issuer,
                endorsed,
                n.identity_type,
                n.identity,
                n.recipient_name,
                n.status_list_id,
                n.status_index,
                key_id,
                n.signed,
                n.jwt,
                n.sha256,
                n.valid_from,
                n.valid_until,
                now
            ],
        )
        .await?;
        Ok(())
    }

    /// The endorsements of `credential` that are not revoked.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn standing_endorsements_of(&mut self, credential: Uuid) -> StoreResult<Vec<Uuid>> {
        #[derive(sqlx::FromRow)]
        struct Id {
            credential_id: Uuid,
        }
        let rows: Vec<Id> = self
            .fetch_all(
                "SELECT credential_id FROM credential WHERE endorsed_id = $1 AND revoked_at IS NULL",
                args![credential],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.credential_id).collect())
    }

    /// Forgets a learner's reviews with `issuer` (erasure).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_reviews(&mut self, issuer: Uuid, identity_type: &str, identity: &str) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM impact_review WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3",
            args![issuer, identity_type, identity],
        )
        .await
    }
}

impl Store {
    /// Up to `limit` scheduled reviews due by `now` of badges that stand (a suspended badge's
    /// review waits; a revoked one's is cancelled by the round).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn due_reviews(&self, now: OffsetDateTime, limit: i64) -> StoreResult<Vec<ReviewRow>> {
        self.clone()
            .fetch_all(
                concat!(
                    "SELECT ",
                    columns!(),
                    " FROM impact_review WHERE state = 'scheduled' AND due_at <= $1 AND credential_id IN \
                     (SELECT credential_id FROM credential WHERE revoked_at IS NULL AND suspended_at IS NULL) \
                     ORDER BY due_at LIMIT $2"
                ),
                args![now, limit],
            )
            .await
    }

    /// Up to `limit` open invitations sent by `invited_before` and not yet reminded.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reviews_to_remind(&self, invited_before: OffsetDateTime, limit: i64) -> StoreResult<Vec<ReviewRow>> {
        self.clone()
            .fetch_all(
                concat!(
                    "SELECT ",
                    columns!(),
                    " FROM impact_review WHERE state = 'invited' AND reminded_at IS NULL AND invited_at <= $1 \
                     ORDER BY invited_at LIMIT $2"
                ),
                args![invited_before, limit],
            )
            .await
    }

    /// The credential an endorsement endorses (`None` for other credentials).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn endorsed_of(&self, credential: Uuid) -> StoreResult<Option<Uuid>> {
        #[derive(sqlx::FromRow)]
        struct Endorsed {
            endorsed_id: Option<Uuid>,
        }
        let row: Option<Endorsed> = self
            .clone()
            .fetch_optional("SELECT endorsed_id FROM credential WHERE credential_id = $1", args![credential])
            .await?;
        Ok(row.and_then(|r| r.endorsed_id))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn review(&self, review: Uuid) -> StoreResult<Option<ReviewRow>> {
        let sql = concat!("SELECT ", columns!(), " FROM impact_review WHERE review_id = $1");
        self.clone().fetch_optional(sql, args![review]).await
    }

    /// A learner's reviews with every issuer, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_reviews(&self, identity_type: &str, identity: &str) -> StoreResult<Vec<ReviewRow>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM impact_review WHERE identity_type = $1 AND identity = $2 \
             ORDER BY created_at DESC, review_id DESC"
        );
        self.clone().fetch_all(sql, args![identity_type, identity]).await
    }

    /// The reviews of one credential, newest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn credential_reviews(&self, credential: Uuid) -> StoreResult<Vec<ReviewRow>> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM impact_review WHERE credential_id = $1 ORDER BY created_at DESC, review_id DESC"
        );
        self.clone().fetch_all(sql, args![credential]).await
    }

    /// [`ImpactPeriod`] of `issuer` in `[from, to)` (withdrawn reviews never came due).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn impact_in_period(
        &self,
        issuer: Uuid,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<ImpactPeriod> {
        let row: Option<ImpactPeriod> = self
            .clone()
            .fetch_optional(
                "SELECT COALESCE(SUM(CASE WHEN due_at >= $2 AND due_at < $3 AND state <> 'cancelled' THEN 1 ELSE 0 END), 0) AS due, \
                 COALESCE(SUM(CASE WHEN answered_at >= $2 AND answered_at < $3 THEN 1 ELSE 0 END), 0) AS answered, \
                 COALESCE(SUM(CASE WHEN answered_at >= $2 AND answered_at < $3 AND answer = 'yes' THEN 1 ELSE 0 END), 0) \
                 AS applied FROM impact_review WHERE issuer_id = $1",
                args![issuer, from, to],
            )
            .await?;
        Ok(row.unwrap_or_default())
    }

    /// Per nanomodule of `issuer`: reviews by state and answer, and how many became endorsements
    /// that still stand.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn impact_counts(&self, issuer: Uuid) -> StoreResult<Vec<ImpactCount>> {
        self.clone()
            .fetch_all(
                "SELECT r.nanomodule_id, r.state, r.answer, \
                 SUM(CASE WHEN e.credential_id IS NOT NULL AND e.revoked_at IS NULL THEN 1 ELSE 0 END) AS endorsed, \
                 COUNT(*) AS n FROM impact_review r LEFT JOIN credential e ON e.credential_id = r.endorsement_id \
                 WHERE r.issuer_id = $1 GROUP BY r.nanomodule_id, r.state, r.answer ORDER BY r.nanomodule_id",
                args![issuer],
            )
            .await
    }
}
