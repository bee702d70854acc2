//! The mail outbox and learners' opt-outs.

use time::OffsetDateTime;
use uuid::Uuid;

use super::{Arg, Db, Learner, Sql, Store, StoreResult, Tx, args};

/// A message to write into the outbox (its content already sealed by the service).
#[derive(Debug, Clone)]
pub struct NewMail {
    pub message_id: Uuid,
    pub issuer_id: Option<Uuid>,
    pub kind: String,
    pub address: String,
    /// The learner it concerns, if any (for opt-out, export and erasure).
    pub learner: Option<Learner>,
    /// What it is about (a credential, a member, …), for people reading the outbox.
    pub subject_id: Option<String>,
    pub sealed: Vec<u8>,
}

/// One outbox row as claimed by a sender (with its sealed content).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedMail {
    pub message_id: Uuid,
    pub kind: String,
    pub address: String,
    pub sealed: Vec<u8>,
    pub attempts: i64,
    pub created_at: OffsetDateTime,
}

/// One outbox row as people see it (no content).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MailRow {
    pub message_id: Uuid,
    pub issuer_id: Option<Uuid>,
    pub kind: String,
    pub address: String,
    pub subject_id: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

/// How many messages are in each state.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct MailCount {
    pub state: String,
    pub n: i64,
}

/// A learner's subscription to one issuer's messages.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecipientRow {
    pub issuer_id: Uuid,
    pub identity_type: String,
    pub identity: String,
    pub opted_out_at: Option<OffsetDateTime>,
}

/// The columns of a [`MailRow`] (a macro, so `concat!` can build whole statements with it).
macro_rules! mail_columns {
    () => {
        "message_id, issuer_id, kind, address, subject_id, state, attempts, next_attempt_at, last_error, \
         created_at, sent_at"
    };
}

impl Tx {
    /// Writes messages into the outbox, due at once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn enqueue_mail(&mut self, mails: Vec<NewMail>, now: OffsetDateTime) -> StoreResult<()> {
        let rows: Vec<Vec<Arg>> = mails
            .into_iter()
            .map(|m| {
                let (kind, who) = match m.learner {
                    Some(l) => (Some(l.identity_type), Some(l.identity)),
                    None => (None, None),
                };
                args![
                    m.message_id,
                    m.issuer_id,
                    m.kind,
                    m.address,
                    kind,
                    who,
                    m.subject_id,
                    m.sealed,
                    "queued",
                    now,
                    now
                ]
            })
            .collect();
        self.insert_many(
            "INSERT INTO mail_outbox (message_id, issuer_id, kind, address, identity_type, identity, subject_id, \
             sealed, state, next_attempt_at, created_at) VALUES",
            11,
            rows,
        )
        .await
    }

    /// Records learners as recipients of an issuer's messages (their unsubscribe links' hashes);
    /// known ones stay as they are.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ensure_recipients(&mut self, issuer: Uuid, rows: Vec<(String, Learner)>) -> StoreResult<()> {
        let rows: Vec<Vec<Arg>> =
            rows.into_iter().map(|(hash, l)| args![hash, issuer, l.identity_type, l.identity]).collect();
        self.insert_many_then(
            "INSERT INTO mail_recipient (link_hash, issuer_id, identity_type, identity) VALUES",
            4,
            rows,
            " ON CONFLICT DO NOTHING",
        )
        .await
    }

    /// The learners who opted out of the issuer's messages.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn opted_out(&mut self, issuer: Uuid) -> StoreResult<Vec<Learner>> {
        self.fetch_all(
            "SELECT identity_type, identity FROM mail_recipient WHERE issuer_id = $1 AND opted_out_at IS NOT NULL",
            args![issuer],
        )
        .await
    }

    /// Forgets the learner's messages and subscription with one issuer (erasure).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_learner_mail(&mut self, who: &Learner, issuer: Uuid) -> StoreResult<u64> {
        let learner = args![issuer, who.identity_type.clone(), who.identity.clone()];
        let n = self
            .execute(
                "DELETE FROM mail_outbox WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3",
                learner.clone(),
            )
            .await?;
        self.execute(
            "DELETE FROM mail_recipient WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3",
            learner,
        )
        .await?;
        Ok(n)
    }
}

impl Store {
    /// Takes up to `limit` due messages for sending: queued ones whose time has come and
    /// 'sending' ones whose lease ran out (their sender stopped). They become 'sending' until
    /// `lease_until`. On PostgreSQL rows another instance is taking are skipped, never waited
    /// for, so two instances never take the same message.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_mail(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedMail>> {
        let sql = match &self.db {
            Db::Postgres(_) => {
                "UPDATE mail_outbox SET state = 'sending', attempts = attempts + 1, next_attempt_at = $2 \
                 WHERE message_id IN (SELECT message_id FROM mail_outbox \
                   WHERE state IN ('queued', 'sending') AND next_attempt_at <= $1 \
                   ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING message_id, kind, address, sealed, attempts, created_at"
            }
            Db::Sqlite(_) => {
                "UPDATE mail_outbox SET state = 'sending', attempts = attempts + 1, next_attempt_at = $2 \
                 WHERE message_id IN (SELECT message_id FROM mail_outbox \
                   WHERE state IN ('queued', 'sending') AND next_attempt_at <= $1 \
                   ORDER BY next_attempt_at LIMIT $3) \
                 RETURNING message_id, kind, address, sealed, attempts, created_at"
            }
        };
        self.clone().fetch_all(sql, args![now, lease_until, limit]).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mail(&self, id: Uuid) -> StoreResult<Option<MailRow>> {
        self.clone()
            .fetch_optional(concat!("SELECT ", mail_columns!(), " FROM mail_outbox WHERE message_id = $1"), args![id])
            .await
    }

    /// Messages of one issuer (or, with `None`, of the whole platform) in `state`, newest
    /// first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mails(&self, issuer: Option<Uuid>, state: &str, limit: i64) -> StoreResult<Vec<MailRow>> {
        match issuer {
            Some(i) => {
                self.clone()
                    .fetch_all(
                        concat!(
                            "SELECT ",
                            mail_columns!(),
                            " FROM mail_outbox WHERE issuer_id = $1 AND state = $2 \
                             ORDER BY created_at DESC, message_id DESC LIMIT $3"
                        ),
                        args![i, state, limit],
                    )
                    .await
            }
            None => {
                self.clone()
                    .fetch_all(
                        concat!(
                            "SELECT ",
                            mail_columns!(),
                            " FROM mail_outbox WHERE state = $1 ORDER BY created_at DESC, message_id DESC LIMIT $2"
                        ),
                        args![state, limit],
                    )
                    .await
            }
        }
    }

    /// How many messages of one issuer (or of everyone) are in each state.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mail_counts(&self, issuer: Option<Uuid>) -> StoreResult<Vec<MailCount>> {
        match issuer {
            Some(i) => {
                self.clone()
                    .fetch_all(
                        "SELECT state, COUNT(*) AS n FROM mail_outbox WHERE issuer_id = $1 GROUP BY state",
                        args![i],
                    )
                    .await
            }
            None => self.clone().fetch_all("SELECT state, COUNT(*) AS n FROM mail_outbox GROUP BY state", vec![]).await,
        }
    }

    /// A learner's messages from one issuer (for their export), oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_mails(&self, who: &Learner, issuer: Uuid) -> StoreResult<Vec<MailRow>> {
        self.clone()
            .fetch_all(
                concat!(
                    "SELECT ",
                    mail_columns!(),
                    " FROM mail_outbox WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3 \
                     ORDER BY created_at, message_id"
                ),
                args![issuer, who.identity_type.clone(), who.identity.clone()],
            )
            .await
    }

    /// The learner's subscription with one issuer, if any message was ever written to them.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn learner_subscription(&self, who: &Learner, issuer: Uuid) -> StoreResult<Option<RecipientRow>> {
        self.clone()
            .fetch_optional(
                "SELECT issuer_id, identity_type, identity, opted_out_at FROM mail_recipient \
                 WHERE issuer_id = $1 AND identity_type = $2 AND identity = $3",
                args![issuer, who.identity_type.clone(), who.identity.clone()],
            )
            .await
    }

    /// The subscription an unsubscribe link (by its hash) belongs to.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recipient_by_link(&self, link_hash: &str) -> StoreResult<Option<RecipientRow>> {
        self.clone()
            .fetch_optional(
                "SELECT issuer_id, identity_type, identity, opted_out_at FROM mail_recipient WHERE link_hash = $1",
                args![link_hash],
            )
            .await
    }
}

impl Tx {
    /// A message was accepted by the SMTP server: its content is no longer kept.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mail_sent(&mut self, id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.execute(
            "UPDATE mail_outbox SET state = 'sent', sent_at = $2, last_error = NULL, sealed = $3 \
                 WHERE message_id = $1 AND state = 'sending'",
            args![id, now, Vec::<u8>::new()],
        )
        .await?;
        Ok(())
    }

    /// A delivery failed for now: try again at `at`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mail_retry(&mut self, id: Uuid, at: OffsetDateTime, error: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE mail_outbox SET state = 'queued', next_attempt_at = $2, last_error = $3 \
                 WHERE message_id = $1 AND state = 'sending'",
            args![id, at, error],
        )
        .await?;
        Ok(())
    }

    /// A delivery failed for good (refused address, or too many tries): a dead letter.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn mail_dead(&mut self, id: Uuid, error: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE mail_outbox SET state = 'dead', last_error = $2 WHERE message_id = $1 AND state = 'sending'",
            args![id, error],
        )
        .await?;
        Ok(())
    }

    /// Opts the learner behind an unsubscribe link out (`out`) or back in.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_opt_out(&mut self, link_hash: &str, out: Option<OffsetDateTime>) -> StoreResult<u64> {
        self.execute("UPDATE mail_recipient SET opted_out_at = $2 WHERE link_hash = $1", args![link_hash, out]).await
    }

    /// Puts a dead letter back in the queue, due at once, with a fresh count of tries.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn resend_mail(&mut self, id: Uuid, now: OffsetDateTime) -> StoreResult<u64> {
        self.execute(
            "UPDATE mail_outbox SET state = 'queued', attempts = 0, next_attempt_at = $2, last_error = NULL \
             WHERE message_id = $1 AND state = 'dead'",
            args![id, now],
        )
        .await
    }
}
