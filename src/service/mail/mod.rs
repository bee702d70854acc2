//! E-mail through a durable outbox.
//!
//! A use case that should tell someone writes the message into `mail_outbox` in the same
//! transaction as its change ([`Service::queue_mail`]), so a message exists exactly when the
//! change does. What the message says is kept sealed (it can hold a private link) under a data
//! key of its own, itself sealed under the master key, so rotating the master key re-seals one
//! key rather than every message. A sender ([`Service::send_mail_round`], run by the worker of
//! every instance) claims due messages, composes them ([`compose`]) and hands them to the SMTP
//! server; failures are retried with backoff and end as dead letters that admins can resend.
//! Each row has one `Message-ID`, so a message sent again after a crash is the same message.
//! Without SMTP configured nothing is sent and nothing is lost: messages wait.

pub mod compose;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use self::compose::{Notice, compose};
use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::lang::Lang;
use crate::mailer::{Letter, SendError};
use crate::master_key::{hmac_sha256, open_with, seal_with};
use crate::store::{Learner, MailRow, NewMail, Tx};

/// Tries before a message becomes a dead letter.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a sender holds a claimed message before another instance may take it over.
const LEASE: time::Duration = time::Duration::minutes(5);
/// Messages one round claims at a time, and sends at once (SMTP is latency-bound: each message
/// is several round trips, so conversations run side by side, one pooled connection each).
const CLAIM: i64 = 32;
const AT_ONCE: usize = 16;
/// Prefix of unsubscribe tokens.
const UNSUBSCRIBE_PREFIX: &str = "mbu_";

/// The data keys of the outbox, unsealed once per process.
pub(super) struct MailKeys {
    /// Seals each message's content.
    payload: zeroize::Zeroizing<[u8; 32]>,
    /// Unsubscribe links are HMACs of issuer and learner under this key.
    unsubscribe: zeroize::Zeroizing<[u8; 32]>,
}

impl MailKeys {
    fn unsubscribe_token(&self, issuer: Uuid, who: &Learner) -> String {
        let message = format!("{issuer}\u{0}{}\u{0}{}", who.identity_type, who.identity);
        format!("{UNSUBSCRIBE_PREFIX}{}", URL_SAFE_NO_PAD.encode(hmac_sha256(&self.unsubscribe, message.as_bytes())))
    }
}

/// Prefix of a manager's impact-review link.
const REVIEW_PREFIX: &str = "mbr_";

impl MailKeys {
    /// The manager's link to one review: the review id and an HMAC of it, so nothing is stored
    /// and the invitation and the reminder carry the same link.
    pub(super) fn review_token(&self, review: Uuid) -> String {
        let mac = hmac_sha256(&self.unsubscribe, format!("impact-review\u{0}{review}").as_bytes());
        let mut raw = review.as_bytes().to_vec();
        raw.extend_from_slice(&mac[..16]);
        format!("{REVIEW_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw))
    }

    /// The review a manager's link names, when the link is genuine (compared in constant time).
    pub(super) fn review_of_token(&self, token: &str) -> Option<Uuid> {
        let raw = URL_SAFE_NO_PAD.decode(token.strip_prefix(REVIEW_PREFIX)?).ok().filter(|r| r.len() == 32)?;
        let review = Uuid::from_slice(&raw[..16]).ok()?;
        let expected = self.review_token(review);
        bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), token.as_bytes())).then_some(review)
    }
}

/// A message a use case wants sent, before it is sealed into the outbox.
#[derive(Debug, Clone)]
pub(super) struct Outgoing {
    pub issuer: Option<Uuid>,
    pub to: String,
    pub to_name: Option<String>,
    pub lang: Lang,
    /// The learner it concerns: their opt-out applies, and it joins their export and erasure.
    pub learner: Option<Learner>,
    pub subject_id: Option<String>,
    /// Shown as the sender (the issuer's name for learners' mail).
    pub from_name: Option<String>,
    pub reply_to: Option<String>,
    pub notice: Notice,
}

/// What is sealed in an outbox row.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    to: String,
    to_name: Option<String>,
    lang: String,
    from_name: Option<String>,
    reply_to: Option<String>,
    unsubscribe: Option<String>,
    notice: Notice,
}

/// What one round of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MailRound {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

/// One outbox message as staff see it (never its content).
#[derive(Debug, Clone, Serialize)]
pub struct MailView {
    pub id: Uuid,
    pub issuer: Option<Uuid>,
    pub kind: String,
    pub address: String,
    pub about: Option<String>,
    pub state: String,
    pub attempts: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

impl From<MailRow> for MailView {
    fn from(r: MailRow) -> Self {
        MailView {
            id: r.message_id,
            issuer: r.issuer_id,
            kind: r.kind,
            address: r.address,
            about: r.subject_id,
            state: r.state,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        }
    }
}

/// The outbox of one issuer (or the platform's): counts per state and the messages in one state.
#[derive(Debug, Clone, Serialize)]
pub struct MailOverview {
    /// Whether this instance has an SMTP server to send through.
    pub smtp_configured: bool,
    pub counts: BTreeMap<String, i64>,
    pub state: String,
    pub messages: Vec<MailView>,
}

/// Where an unsubscribe link leads: whose mail from which issuer, and whether it is off now.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub issuer: Uuid,
    pub issuer_name: String,
    pub opted_out: bool,
}

/// The states a message can be listed in.
pub const MAIL_STATES: [&str; 4] = ["queued", "sending", "sent", "dead"];

impl Service {
    /// The outbox keys, created on first use (the first instance to store them wins).
    #[tracing::instrument(skip_all)]
    pub(super) async fn mail_keys(&self) -> ServiceResult<std::sync::Arc<MailKeys>> {
        let keys = self
            .mail_keys
            .get_or_try_init(|| async {
                let payload = self.stored_secret("mail/payload", rand::random).await?;
                let unsubscribe = self.stored_secret("mail/unsubscribe", rand::random).await?;
                Ok::<_, ServiceError>(std::sync::Arc::new(MailKeys { payload, unsubscribe }))
            })
            .await?;
        Ok(keys.clone())
    }

    /// Writes `mails` into the outbox in `tx`, leaving out what a learner opted out of; returns
    /// how many were written. `keys` are read before the transaction began (reading them may
    /// write, and SQLite has one writer).
    #[tracing::instrument(skip_all)]
    pub(super) async fn queue_mail(&self, tx: &mut Tx, keys: &MailKeys, mails: Vec<Outgoing>) -> ServiceResult<usize> {
        if mails.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let mut silenced: HashSet<(Uuid, Learner)> = HashSet::new();
        let issuers: HashSet<Uuid> = mails.iter().filter(|m| m.learner.is_some()).filter_map(|m| m.issuer).collect();
        for issuer in &issuers {
            silenced.extend(tx.opted_out(*issuer).await?.into_iter().map(|l| (*issuer, l)));
        }
        let mut recipients: BTreeMap<Uuid, Vec<(String, Learner)>> = BTreeMap::new();
        let mut rows = Vec::with_capacity(mails.len());
        for m in mails {
            let unsubscribe = match (m.issuer, &m.learner) {
                (Some(issuer), Some(learner)) if m.notice.may_opt_out() => {
                    if silenced.contains(&(issuer, learner.clone())) {
                        continue;
                    }
                    let token = keys.unsubscribe_token(issuer, learner);
                    recipients.entry(issuer).or_default().push((super::sha256_hex(&token), learner.clone()));
                    Some(format!("{}/mail/unsubscribe/{token}", self.base_url))
                }
                _ => None,
            };
            let message_id = Uuid::now_v7();
            let payload = Payload {
                to: m.to.clone(),
                to_name: m.to_name,
                lang: m.lang.code().into(),
                from_name: m.from_name,
                reply_to: m.reply_to,
                unsubscribe,
                notice: m.notice,
            };
            let plain = serde_json::to_vec(&payload).expect("payloads serialise");
            rows.push(NewMail {
                message_id,
                issuer_id: m.issuer,
                kind: payload.notice.kind().into(),
                address: m.to,
                learner: m.learner,
                subject_id: m.subject_id,
                sealed: seal_with(&keys.payload, &plain, &seal_context(message_id)),
            });
        }
        for (issuer, list) in recipients {
            tx.ensure_recipients(issuer, list).await?;
        }
        let n = rows.len();
        tx.enqueue_mail(rows, now).await?;
        Ok(n)
    }

    /// Tells this instance's sender that new messages wait (call after the commit).
    pub(super) fn wake_mail(&self) {
        self.mail_wake.notify_one();
    }

    /// Sends every message that is due, a batch at a time; returns what happened. Does nothing
    /// without an SMTP server.
    #[tracing::instrument(skip_all)]
    pub async fn send_mail_round(&self) -> ServiceResult<MailRound> {
        let mut round = MailRound::default();
        let Some(mailer) = self.mailer.clone() else { return Ok(round) };
        let keys = self.mail_keys().await?;
        loop {
            let now = self.now();
            let claimed = self.store.claim_mail(now, now + LEASE, CLAIM).await?;
            if claimed.is_empty() {
                break;
            }
            let count = claimed.len();
            let outcomes: Vec<(Uuid, i64, Result<(), SendError>)> = futures_util::stream::iter(claimed)
                .map(|m| {
                    let (mailer, keys) = (mailer.clone(), keys.clone());
                    async move {
                        let outcome = match self.letter(&keys, &m).await {
                            Ok(letter) => mailer.send(&letter).await,
                            Err(e) => Err(e),
                        };
                        (m.message_id, m.attempts, outcome)
                    }
                })
                .buffer_unordered(AT_ONCE)
                .collect()
                .await;
            // One transaction records the whole batch: one commit instead of one per message.
            let mut tx = self.store.begin().await?;
            let now = self.now();
            for (id, attempts, outcome) in outcomes {
                match outcome {
                    Ok(()) => {
                        tx.mail_sent(id, now).await?;
                        round.sent += 1;
                    }
                    Err(SendError::Transient(e)) if attempts < MAX_ATTEMPTS => {
                        tracing::info!(message = %id, attempts, error = %e, "mail not delivered; will retry");
                        tx.mail_retry(id, now + backoff(attempts), &e).await?;
                        round.retried += 1;
                    }
                    Err(e) => {
                        tracing::warn!(message = %id, attempts, error = %e, "mail is a dead letter");
                        tx.mail_dead(id, &e.to_string()).await?;
                        round.dead += 1;
                    }
                }
            }
            tx.commit().await?;
            if (count as i64) < CLAIM {
                break;
            }
        }
        Ok(round)
    }

    /// The letter of one claimed row, composed from its sealed payload.
    async fn letter(&self, keys: &MailKeys, m: &crate::store::ClaimedMail) -> Result<Letter, SendError> {
        let plain = open_with(&keys.payload, &m.sealed, &seal_context(m.message_id))
            .map_err(|_| SendError::Permanent("the message could not be unsealed".into()))?;
        let p: Payload = serde_json::from_slice(&plain)
            .map_err(|e| SendError::Permanent(format!("the stored message is unreadable: {e}")))?;
        let lang = Lang::parse(&p.lang).unwrap_or(Lang::Nl);
        // The artwork is decoration: should it not be readable right now (a busy database), the
        // message goes without it rather than waiting for a retry, and says everything anyway.
        // Only PNG travels: most mail programs show no SVG (the generated default is SVG).
        let inline_image = match p.notice.artwork() {
            Some(id) => match self.store.image(id).await {
                Ok(image) => {
                    image.filter(|img| img.content_type == "image/png").map(|img| crate::mailer::InlineImage {
                        cid: compose::ARTWORK_CID.into(),
                        content_type: img.content_type,
                        bytes: img.bytes,
                    })
                }
                Err(e) => {
                    tracing::warn!(message = %m.message_id, error = %e, "mail artwork not readable; sent without it");
                    None
                }
            },
            None => None,
        };
        let notice = if inline_image.is_some() { p.notice } else { p.notice.with_artwork(None) };
        let composed = compose(lang, p.to_name.as_deref(), &notice, p.unsubscribe.as_deref());
        Ok(Letter {
            message_id: format!("<{}@{}>", m.message_id, crate::mailer::host_of(&self.base_url)),
            date: m.created_at.into(),
            from_name: p.from_name,
            reply_to: p.reply_to,
            to: p.to,
            to_name: p.to_name,
            subject: composed.subject,
            text: composed.text,
            html: composed.html,
            inline_image,
            unsubscribe: p.unsubscribe,
        })
    }

    /// Sends forever: a round now, then whenever a use case queued something on this instance
    /// or `every` passed (messages queued by other instances, retries coming due).
    #[tracing::instrument(skip_all)]
    pub async fn run_mail_worker(self, every: Duration) {
        if self.mailer.is_none() {
            tracing::warn!("no METROBADGE_SMTP_URL configured: messages wait in the outbox");
            return;
        }
        loop {
            match self.send_mail_round().await {
                Ok(r) if r != MailRound::default() => {
                    tracing::info!(sent = r.sent, retried = r.retried, dead = r.dead, "mail round")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.mail_wake.notified() => {}
            }
        }
    }

    /// The outbox of `issuer` (or, for a platform admin without one, of everyone).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn mail_overview(
        &self,
        who: &Principal,
        issuer: Option<Uuid>,
        state: &str,
    ) -> ServiceResult<MailOverview> {
        match issuer {
            Some(i) => who.check(i, Action::Manage)?,
            None => who.check_admin()?,
        }
        if !MAIL_STATES.contains(&state) {
            return Err(crate::domain::validate::Invalid::one(
                "state",
                crate::problem!("not-a-mail-state", "must be queued, sending, sent or dead"),
            )
            .into());
        }
        let counts = self.store.mail_counts(issuer).await?.into_iter().map(|c| (c.state, c.n)).collect();
        let messages = self.store.mails(issuer, state, 200).await?.into_iter().map(MailView::from).collect();
        Ok(MailOverview { smtp_configured: self.mailer.is_some(), counts, state: state.into(), messages })
    }

    /// Puts a dead letter back in the queue (after its address was corrected at the server,
    /// or the server was fixed), audited.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn resend_mail(&self, who: &Principal, id: Uuid) -> ServiceResult<MailView> {
        let row = self.store.mail(id).await?.ok_or(ServiceError::NotFound)?;
        match row.issuer_id {
            Some(i) => who.check(i, Action::Manage)?,
            None => who.check_admin()?,
        }
        if row.state != "dead" {
            return Err(ServiceError::Conflict(crate::problem!(
                "mail-not-dead",
                "only dead letters are resent; this message is {state}",
                state = row.state
            )));
        }
        let mut tx = self.store.begin().await?;
        tx.resend_mail(id, self.now()).await?;
        tx.audit(vec![NewEvent::new(&who.actor(), row.issuer_id, "mail.resent", id, &json!({"kind": row.kind}))])
            .await?;
        tx.commit().await?;
        self.wake_mail();
        Ok(self.store.mail(id).await?.ok_or(ServiceError::NotFound)?.into())
    }

    /// Where an unsubscribe link leads; unknown links are not found.
    #[tracing::instrument(skip_all)]
    pub async fn subscription(&self, token: &str) -> ServiceResult<Subscription> {
        if !token.starts_with(UNSUBSCRIBE_PREFIX) || token.len() > 64 {
            return Err(ServiceError::NotFound);
        }
        let row = self.store.recipient_by_link(&super::sha256_hex(token)).await?.ok_or(ServiceError::NotFound)?;
        let issuer_name = self.issuer_spec(row.issuer_id).await?.name().to_string();
        Ok(Subscription { issuer: row.issuer_id, issuer_name, opted_out: row.opted_out_at.is_some() })
    }

    /// One-click opt-out (RFC 8058) or, with `out = false`, opting back in; audited without the
    /// learner's identity.
    #[tracing::instrument(skip_all)]
    pub async fn set_subscription(&self, token: &str, out: bool) -> ServiceResult<Subscription> {
        let current = self.subscription(token).await?;
        if current.opted_out != out {
            let hash = super::sha256_hex(token);
            let mut tx = self.store.begin().await?;
            tx.set_opt_out(&hash, out.then(|| self.now())).await?;
            let action = if out { "mail.opted_out" } else { "mail.opted_in" };
            let actor = Actor { token: "learner".into(), role: "learner".into() };
            tx.audit(vec![NewEvent::new(&actor, Some(current.issuer), action, &hash, &json!({}))]).await?;
            tx.commit().await?;
        }
        Ok(Subscription { opted_out: out, ..current })
    }

    /// A secret stored sealed under `name`, created by `initial` when there is none yet (the
    /// first instance to store one wins; everyone then reads the same).
    #[tracing::instrument(skip_all)]
    pub(super) async fn stored_secret(
        &self,
        name: &str,
        initial: impl FnOnce() -> [u8; 32],
    ) -> ServiceResult<zeroize::Zeroizing<[u8; 32]>> {
        let context = format!("secret:{name}");
        if self.store.sealed_secret(name).await?.is_none() {
            let fresh = zeroize::Zeroizing::new(initial());
            self.store.add_sealed_secret(name, self.master_key.seal(fresh.as_ref(), context.as_bytes())).await?;
        }
        let sealed = self.store.sealed_secret(name).await?.ok_or(ServiceError::NotFound)?;
        let opened = self.master_key.open(&sealed, context.as_bytes())?;
        let key: [u8; 32] = opened.as_slice().try_into().map_err(|_| crate::master_key::MasterKeyError::Open)?;
        Ok(zeroize::Zeroizing::new(key))
    }
}

/// The sealing context of a message: its content cannot be moved to another row.
fn seal_context(id: Uuid) -> Vec<u8> {
    format!("mail:{id}").into_bytes()
}

/// Wait before try `attempts + 1`: 30 s, 1 min, 2 min, … at most an hour.
fn backoff(attempts: i64) -> time::Duration {
    let seconds = 30i64.saturating_mul(1 << (attempts.clamp(1, 8) - 1));
    time::Duration::seconds(seconds.min(3600))
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let s: Vec<i64> = (1..=9).map(|a| super::backoff(a).whole_seconds()).collect();
        assert_eq!(s, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
