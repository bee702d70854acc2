//! The manager's impact review, from scheduling at award time to the endorsement a confirmed
//! review becomes.
//!
//! A review is scheduled in the award's transaction when the trainer names the learner's
//! manager (or later, when the learner does). A round ([`Service::review_round`], run by every
//! instance's worker) invites managers whose reviews came due, reminds them once after a week
//! and expires invitations after four; each change is one conditional update written in the
//! same transaction as its e-mail, so a review is invited exactly once across instances. The
//! manager answers on a page reached by a link only they have; the learner reads it on their
//! own page, may add a comment, and a "yes" they have seen is signed as an endorsement.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::mail::Outgoing;
use super::mail::compose::Notice;
use super::{Service, ServiceError, ServiceResult};
use crate::credential::badge::StatusEntry;
use crate::credential::endorsement::{self, Endorsement};
use crate::credential::ob3;
use crate::domain::access::{Action, Principal};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::award::Recipient;
use crate::domain::impact::{self, Answer, Manager, ReviewInput, State};
use crate::domain::lang::Lang;
use crate::domain::time::rfc3339;
use crate::store::{Learner, NewReview, ReviewRow};

/// Reviews one round handles per step (the rest wait for the next round).
const ROUND: i64 = 200;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReviewRound {
    pub invited: usize,
    pub reminded: usize,
    pub expired: u64,
    pub cancelled: u64,
}

/// A review as the manager's page shows it.
#[derive(Debug, Clone)]
pub struct ReviewPage {
    pub learner: String,
    pub module: String,
    pub issuer: String,
    pub lang: Lang,
    pub state: State,
    pub expires: Option<OffsetDateTime>,
    pub answer: Option<Answer>,
}

/// A review as the learner (and staff) see it.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewView {
    pub id: Uuid,
    pub credential: String,
    pub module: String,
    pub manager: Option<String>,
    pub company: Option<String>,
    pub state: State,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
    pub answer: Option<Answer>,
    pub example: Option<String>,
    pub follow_up: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub seen: Option<OffsetDateTime>,
    pub learner_comment: Option<String>,
    pub endorsement: Option<String>,
}

/// "Applied at work — confirmed by …" on a badge's page.
#[derive(Debug, Clone, Serialize)]
pub struct Confirmation {
    pub endorsement: String,
    pub manager: Option<String>,
    pub company: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub date: OffsetDateTime,
}

/// The impact of one nanomodule: its reviews by state and answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModuleImpact {
    pub nanomodule: Uuid,
    pub name: String,
    pub scheduled: i64,
    pub invited: i64,
    pub answered: i64,
    pub yes: i64,
    pub partly: i64,
    pub not_yet: i64,
    pub expired: i64,
    pub cancelled: i64,
    /// Endorsements issued for "yes" answers that still stand.
    pub endorsed: i64,
}

/// The name of what a badge is for, from its signed document.
fn review_closed() -> crate::domain::validate::Message {
    crate::problem!("review-closed", "this review is closed: answered, expired or withdrawn")
}

fn badge_name(signed: &str) -> String {
    let vc: Value = serde_json::from_str(signed).unwrap_or_default();
    ob3::display_name(&vc).to_string()
}

fn view(s: &Service, r: ReviewRow, module: String) -> ReviewView {
    ReviewView {
        id: r.review_id,
        credential: s.credential_url(r.credential_id),
        module,
        manager: r.manager_name,
        company: r.manager_company,
        state: State::parse(&r.state),
        due: r.due_at,
        answer: r.answer.as_deref().and_then(Answer::parse),
        example: r.example,
        follow_up: r.follow_up,
        answered: r.answered_at,
        seen: r.learner_seen_at,
        learner_comment: r.learner_comment,
        endorsement: r.endorsement_id.map(|e| s.credential_url(e)),
    }
}

impl Service {
    fn manager_actor() -> Actor {
        Actor { token: "manager".into(), role: "manager".into() }
    }

    /// The reviews an award schedules: one per recipient who has a manager, when the module
    /// has reviews. `ids` are the recipients' credential ids, in order.
    pub(super) fn award_reviews(
        issuer: Uuid,
        nanomodule: Uuid,
        weeks: Option<i64>,
        lang: Lang,
        recipients: &[Recipient],
        ids: &[Uuid],
        now: OffsetDateTime,
    ) -> Vec<NewReview> {
        let Some(weeks) = weeks else { return vec![] };
        recipients
            .iter()
            .zip(ids)
            .filter_map(|(r, id)| {
                let m = r.manager.as_ref()?;
                Some(new_review(
                    issuer,
                    nanomodule,
                    *id,
                    r,
                    m,
                    r.language.unwrap_or(lang),
                    now + time::Duration::weeks(weeks),
                ))
            })
            .collect()
    }

    /// Invites, reminds, expires and cancels what is due; returns what it did.
    #[tracing::instrument(skip_all)]
    pub async fn review_round(&self) -> ServiceResult<ReviewRound> {
        let keys = self.mail_keys().await?;
        let now = self.now();
        // What the messages need is read before the transaction (SQLite has one writer).
        let due = self.store.due_reviews(now, ROUND).await?;
        let remind = self.store.reviews_to_remind(now - impact::REMIND_AFTER, ROUND).await?;
        let mut names: HashMap<Uuid, String> = HashMap::new();
        let mut issuers: HashMap<Uuid, String> = HashMap::new();
        for r in due.iter().chain(&remind) {
            if !names.contains_key(&r.credential_id)
                && let Some(c) = self.store.credential(r.credential_id).await?
            {
                names.insert(r.credential_id, badge_name(&c.signed));
            }
            if let std::collections::hash_map::Entry::Vacant(e) = issuers.entry(r.issuer_id) {
                e.insert(self.issuer_spec(r.issuer_id).await?.name().to_string());
            }
        }
        let mut round = ReviewRound::default();
        let mut mail = Vec::new();
        let mut events = Vec::new();
        let mut tx = self.store.begin().await?;
        round.cancelled = tx.cancel_reviews_of_revoked().await?;
        // Expired first: an invitation that runs out is not reminded in the same round.
        round.expired = tx.expire_reviews(now - impact::EXPIRES_AFTER).await?;
        for (rows, reminder) in [(due, false), (remind, true)] {
            for r in rows {
                let changed = if reminder {
                    tx.mark_reminded(r.review_id, now).await?
                } else {
                    tx.mark_invited(r.review_id, now).await?
                };
                if !changed {
                    continue;
                }
                let invited = if reminder { r.invited_at.unwrap_or(now) } else { now };
                mail.push(Outgoing {
                    issuer: Some(r.issuer_id),
                    to: r.manager_email.clone(),
                    to_name: r.manager_name.clone(),
                    lang: Lang::parse(&r.lang).unwrap_or(Lang::Nl),
                    learner: Some(Learner { identity_type: r.identity_type.clone(), identity: r.identity.clone() }),
                    subject_id: Some(r.credential_id.to_string()),
                    from_name: issuers.get(&r.issuer_id).cloned(),
                    reply_to: None,
                    notice: Notice::ImpactReviewInvitation {
                        url: format!("{}/impact/{}", self.base_url, keys.review_token(r.review_id)),
                        learner: r.learner_name.clone().unwrap_or_else(|| r.identity.clone()),
                        module: names.get(&r.credential_id).cloned().unwrap_or_default(),
                        issuer: issuers.get(&r.issuer_id).cloned().unwrap_or_default(),
                        expires: rfc3339(invited + impact::EXPIRES_AFTER),
                        reminder,
                    },
                });
                let action = if reminder { "impact_review.reminded" } else { "impact_review.invited" };
                events.push(NewEvent::new(&Actor::service(), Some(r.issuer_id), action, r.review_id, &json!({})));
                if reminder {
                    round.reminded += 1;
                } else {
                    round.invited += 1;
                }
            }
        }
        self.queue_mail(&mut tx, &keys, mail).await?;
        tx.audit(events).await?;
        tx.commit().await?;
        if round.invited + round.reminded > 0 {
            self.wake_mail();
        }
        Ok(round)
    }

    /// Rounds forever, every `every` (reviews are due in weeks; a few minutes late is fine).
    #[tracing::instrument(skip_all)]
    pub async fn run_review_worker(self, every: std::time::Duration) {
        loop {
            match self.review_round().await {
                Ok(r) if r != ReviewRound::default() => tracing::info!(
                    invited = r.invited,
                    reminded = r.reminded,
                    expired = r.expired,
                    cancelled = r.cancelled,
                    "impact review round"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "impact review round failed"),
            }
            tokio::time::sleep(every).await;
        }
    }

    /// The review a manager's link leads to; a forged or unknown link is not found.
    async fn review_of_link(&self, token: &str) -> ServiceResult<ReviewRow> {
        let keys = self.mail_keys().await?;
        let id = keys.review_of_token(token).ok_or(ServiceError::NotFound)?;
        self.store.review(id).await?.ok_or(ServiceError::NotFound)
    }

    /// What the manager's page shows.
    #[tracing::instrument(skip_all)]
    pub async fn review_page(&self, token: &str) -> ServiceResult<ReviewPage> {
        let r = self.review_of_link(token).await?;
        let c = self.store.credential(r.credential_id).await?.ok_or(ServiceError::NotFound)?;
        Ok(ReviewPage {
            learner: r.learner_name.clone().unwrap_or_else(|| r.identity.clone()),
            module: badge_name(&c.signed),
            issuer: self.issuer_spec(r.issuer_id).await?.name().to_string(),
            lang: Lang::parse(&r.lang).unwrap_or(Lang::Nl),
            state: State::parse(&r.state),
            expires: r.invited_at.map(|i| i + impact::EXPIRES_AFTER),
            answer: r.answer.as_deref().and_then(Answer::parse),
        })
    }

    /// Records the manager's answer (once) and tells the learner.
    #[tracing::instrument(skip_all)]
    pub async fn answer_review(&self, token: &str, input: &ReviewInput) -> ServiceResult<()> {
        let answer = input.parse()?;
        let r = self.review_of_link(token).await?;
        if State::parse(&r.state) != State::Invited {
            return Err(ServiceError::Conflict(review_closed()));
        }
        let c = self.store.credential(r.credential_id).await?.ok_or(ServiceError::NotFound)?;
        let spec = self.issuer_spec(r.issuer_id).await?;
        let keys = self.mail_keys().await?;
        let mut mail = Vec::new();
        if r.identity_type == "emailAddress" {
            mail.push(Outgoing {
                issuer: Some(r.issuer_id),
                to: r.identity.clone(),
                to_name: r.learner_name.clone(),
                lang: Lang::parse(&r.lang).unwrap_or(spec.lang()),
                learner: Some(Learner { identity_type: r.identity_type.clone(), identity: r.identity.clone() }),
                subject_id: Some(r.credential_id.to_string()),
                from_name: Some(spec.name().to_string()),
                reply_to: spec.email.clone(),
                notice: Notice::ImpactReviewAnswered {
                    url: format!("{}/me", self.base_url),
                    module: badge_name(&c.signed),
                    issuer: spec.name().to_string(),
                },
            });
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let Some(_) = tx
            .answer_review(r.review_id, answer.answer.as_str(), &answer.example, answer.follow_up.clone(), now)
            .await?
        else {
            return Err(ServiceError::Conflict(review_closed()));
        };
        self.queue_mail(&mut tx, &keys, mail).await?;
        tx.audit(vec![NewEvent::new(
            &Self::manager_actor(),
            Some(r.issuer_id),
            "impact_review.answered",
            r.review_id,
            &json!({"answer": answer.answer.as_str()}),
        )])
        .await?;
        tx.commit().await?;
        self.wake_mail();
        Ok(())
    }

    /// The learner's reviews (signed in with `identity`), newest first.
    #[tracing::instrument(skip_all)]
    pub async fn my_reviews(&self, identity: &str) -> ServiceResult<Vec<ReviewView>> {
        let mut rows = Vec::new();
        for address in self.learner_addresses(identity).await? {
            rows.extend(self.store.learner_reviews("emailAddress", &address).await?);
        }
        rows.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.review_id)));
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let name = match self.store.credential(r.credential_id).await? {
                Some(c) => badge_name(&c.signed),
                None => String::new(),
            };
            out.push(view(self, r, name));
        }
        Ok(out)
    }

    /// The learner has read their manager's answer and may add a comment (once; neither can
    /// change the other's words). A "yes" becomes an endorsement of the badge now.
    #[tracing::instrument(skip_all, fields(review = %review))]
    pub async fn review_seen(
        &self,
        identity: &str,
        review: Uuid,
        comment: Option<&str>,
    ) -> ServiceResult<Option<Uuid>> {
        let mut c = crate::domain::validate::Checker::default();
        let comment =
            comment.map(str::trim).filter(|s| !s.is_empty()).map(|s| c.text("comment", s, impact::ANSWER_MAX));
        c.finish()?;
        let r = self.store.review(review).await?.ok_or(ServiceError::NotFound)?;
        if !self.learner_owns(identity, &r.identity_type, &r.identity).await? {
            return Err(ServiceError::NotFound);
        }
        let identity = r.identity.as_str();
        // Everything signing needs, read before the transaction.
        let signer = if r.answer.as_deref() == Some("yes") && r.endorsement_id.is_none() {
            let spec = self.issuer_spec(r.issuer_id).await?;
            let url = ob3::issuer_url(&self.base_url, r.issuer_id);
            let signing = self.issuer_signing(r.issuer_id).await?;
            let badge = self.store.credential(r.credential_id).await?.ok_or(ServiceError::NotFound)?;
            Some((ob3::profile(&url, &spec), signing, badge_name(&badge.signed)))
        } else {
            None
        };
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let Some(row) = tx.learner_saw_review(review, identity, comment, now).await? else {
            return Err(ServiceError::Conflict(crate::problem!("no-answer-yet", "there is no answer to read yet")));
        };
        let mut events = vec![NewEvent::new(
            &Self::learner_actor(),
            Some(row.issuer_id),
            "impact_review.seen",
            row.review_id,
            &json!({"commented": row.learner_comment.is_some()}),
        )];
        let mut endorsed = None;
        if let Some((profile, signing, module)) = signer
            && row.endorsement_id.is_none()
        {
            let id = Uuid::now_v7();
            let (list, index) = tx.reserve_status_indices(row.issuer_id, 1).await?[0];
            let status = StatusEntry { list_url: self.status_list_url(list), index: index as u32 };
            let manager = Manager {
                name: row.manager_name.clone(),
                email: row.manager_email.clone(),
                company: row.manager_company.clone(),
            };
            let answered = row.answered_at.unwrap_or(now);
            let comment = impact::endorsement_comment(
                &module,
                &manager,
                row.example.as_deref().unwrap_or_default(),
                &rfc3339(answered)[..10],
            );
            let valid_from = rfc3339(crate::domain::time::whole_seconds(now));
            let doc = endorsement::build(
                &Endorsement {
                    id: &self.credential_url(id),
                    issuer: &profile,
                    endorsed: &self.credential_url(row.credential_id),
                    name: &format!("Applied at work: {module}"),
                    description: "The learner's manager confirmed in an impact review that the learning of this \
                                  badge is applied at work; the training provider endorses the badge on that statement.",
                    comment: &comment,
                    valid_from: &valid_from,
                },
                &status,
            );
            let key_id = signing.key_id;
            let signed = super::issuance::sign_one(doc, signing, valid_from.clone()).await?;
            events.push(NewEvent::new(
                &Actor::service(),
                Some(row.issuer_id),
                "credential.endorsed",
                id,
                &json!({"endorses": row.credential_id, "review": row.review_id, "sha256": signed.sha256}),
            ));
            tx.insert_endorsement(
                super::issuance::stored_credential(
                    id,
                    Learner { identity_type: row.identity_type.clone(), identity: row.identity.clone() },
                    row.learner_name.clone(),
                    (list, index),
                    signed,
                    now,
                    None,
                ),
                row.issuer_id,
                key_id,
                row.credential_id,
                now,
            )
            .await?;
            tx.set_review_endorsement(row.review_id, id).await?;
            endorsed = Some(id);
        }
        tx.audit(events).await?;
        tx.commit().await?;
        Ok(endorsed)
    }

    /// The learner names their manager for one of their badges: a review is scheduled when the
    /// module has them, due as it would have been at award time (or now, if that has passed).
    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn request_review(
        &self,
        identity: &str,
        credential: Uuid,
        manager: &impact::ManagerInput,
    ) -> ServiceResult<()> {
        let manager = manager.parse()?;
        let c = self.store.credential(credential).await?.ok_or(ServiceError::NotFound)?;
        if !self.learner_owns(identity, &c.identity_type, &c.identity).await? || c.signed.is_empty() {
            return Err(ServiceError::NotFound);
        }
        let identity = c.identity.as_str();
        let (Some(module), Some(version)) = (c.nanomodule_id, c.nanomodule_version) else {
            return Err(crate::domain::validate::Invalid::one(
                "credential",
                crate::problem!("not-a-module-badge", "only badges of nanomodules have an impact review"),
            )
            .into());
        };
        let state = self.store.credential_state(credential).await?.ok_or(ServiceError::NotFound)?;
        if state.revoked_at.is_some() {
            return Err(crate::domain::validate::Invalid::one(
                "credential",
                crate::problem!("revoked-no-review", "a revoked badge has no impact review"),
            )
            .into());
        }
        let v = self.store.nanomodule_version(module, Some(version)).await?.ok_or(ServiceError::NotFound)?;
        let spec: crate::domain::nanomodule::NanomoduleSpec = super::decode_spec(&v.spec)?;
        let Some(weeks) = spec.review_weeks() else {
            return Err(crate::domain::validate::Invalid::one(
                "credential",
                crate::problem!("no-review", "this module has no impact review"),
            )
            .into());
        };
        if self
            .store
            .credential_reviews(credential)
            .await?
            .iter()
            .any(|r| matches!(State::parse(&r.state), State::Scheduled | State::Invited | State::Answered))
        {
            return Err(ServiceError::Conflict(crate::problem!(
                "review-exists",
                "this badge already has an impact review"
            )));
        }
        let lang = self.issuer_spec(c.issuer_id).await?.lang();
        let now = self.now();
        let recipient = Recipient {
            identity: identity.into(),
            identity_type: crate::domain::award::IdentityType::EmailAddress,
            name: c.recipient_name.clone(),
            evidence: vec![],
            result: None,
            narrative: None,
            retake: false,
            language: None,
            manager: Some(manager.clone()),
        };
        let due = (c.created_at + time::Duration::weeks(weeks)).max(now);
        let mut tx = self.store.begin().await?;
        tx.insert_reviews(vec![new_review(c.issuer_id, module, credential, &recipient, &manager, lang, due)], now)
            .await?;
        tx.audit(vec![NewEvent::new(
            &Self::learner_actor(),
            Some(c.issuer_id),
            "impact_review.requested",
            credential,
            &json!({}),
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Standing endorsements of a credential, with who confirmed (for its public page).
    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn confirmations(&self, credential: Uuid) -> ServiceResult<Vec<Confirmation>> {
        let mut out = Vec::new();
        for r in self.store.credential_reviews(credential).await? {
            let Some(e) = r.endorsement_id else { continue };
            let Some(state) = self.store.credential_state(e).await? else { continue };
            if state.revoked_at.is_some() || state.suspended_at.is_some() {
                continue;
            }
            out.push(Confirmation {
                endorsement: self.credential_url(e),
                manager: r.manager_name,
                company: r.manager_company,
                date: r.answered_at.unwrap_or(state.created_at),
            });
        }
        Ok(out)
    }

    /// The credential an endorsement endorses (its HTML view is the endorsed badge's page).
    #[tracing::instrument(skip_all, fields(credential = %credential))]
    pub async fn endorsed_by(&self, credential: Uuid) -> ServiceResult<Option<Uuid>> {
        Ok(self.store.endorsed_of(credential).await?)
    }

    /// Impact per nanomodule of `issuer`, for its staff.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn impact(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<ModuleImpact>> {
        who.check(issuer, Action::Read)?;
        let mut per: BTreeMap<Uuid, ModuleImpact> = BTreeMap::new();
        for c in self.store.impact_counts(issuer).await? {
            let m = per
                .entry(c.nanomodule_id)
                .or_insert_with(|| ModuleImpact { nanomodule: c.nanomodule_id, ..Default::default() });
            match State::parse(&c.state) {
                State::Scheduled => m.scheduled += c.n,
                State::Invited => m.invited += c.n,
                State::Answered => m.answered += c.n,
                State::Expired => m.expired += c.n,
                State::Cancelled => m.cancelled += c.n,
            }
            match c.answer.as_deref().and_then(Answer::parse) {
                Some(Answer::Yes) => m.yes += c.n,
                Some(Answer::Partly) => m.partly += c.n,
                Some(Answer::NotYet) => m.not_yet += c.n,
                None => {}
            }
            m.endorsed += c.endorsed;
        }
        let mut out: Vec<ModuleImpact> = per.into_values().collect();
        for m in &mut out {
            if let Some(v) = self.store.nanomodule_version(m.nanomodule, None).await? {
                let spec: crate::domain::nanomodule::NanomoduleSpec = super::decode_spec(&v.spec)?;
                m.name = spec.name.unwrap_or_default();
            }
        }
        Ok(out)
    }
}

fn new_review(
    issuer: Uuid,
    nanomodule: Uuid,
    credential: Uuid,
    r: &Recipient,
    m: &Manager,
    lang: Lang,
    due: OffsetDateTime,
) -> NewReview {
    NewReview {
        review_id: Uuid::now_v7(),
        credential_id: credential,
        issuer_id: issuer,
        nanomodule_id: nanomodule,
        identity_type: r.identity_type.as_str().into(),
        identity: r.identity.clone(),
        learner_name: r.name.clone(),
        manager_name: m.name.clone(),
        manager_email: m.email.clone(),
        manager_company: m.company.clone(),
        lang: lang.code().into(),
        due_at: due,
    }
}
