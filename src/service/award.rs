//! Awarding a nanomodule's badge to a cohort: validate everything, sign every credential, then
//! store the award, its credentials and their audit events in one transaction.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::issuance::{Holder, fresh_salt};
use super::progress::LinkKeys;
use super::{Service, ServiceError, ServiceResult, decode_spec};
use crate::credential::badge::{self, StatusEntry, Template};
use crate::credential::ob3;
use crate::domain::access::{Action, Principal};
use crate::domain::audit::NewEvent;
use crate::domain::award::{Award, AwardInput};
use crate::domain::nanomodule::NanomoduleSpec;
use crate::domain::time::rfc3339;
use crate::store::{AwardRow, Learner, NewCredential, ProgressLinkRow};

/// An award request as the HTTP layer hands it over.
pub struct AwardRequest {
    pub input: AwardInput,
    pub dry_run: bool,
    /// `Idempotency-Key` header value.
    pub idempotency_key: Option<String>,
    /// SHA-256 over what identifies the request (target and body), to tell a retry from reuse.
    pub request_hash: String,
}

/// What an award did: checked only (a dry run), or issued.
#[derive(Debug)]
pub enum AwardOutcome {
    Checked(DryRun),
    Issued(Awarded),
}

/// A dry run: every badge as it would be issued, and the rows that would be refused as doubles.
#[derive(Debug, Serialize)]
pub struct DryRun {
    /// Always `true`: tells this answer from an award's.
    pub dry_run: bool,
    pub would_issue: usize,
    pub doubles: Vec<Double>,
    pub credentials: Vec<Preview>,
}

/// A row for someone who already holds a standing badge of the module.
#[derive(Debug, Serialize)]
pub struct Double {
    pub row: usize,
    pub field: String,
    pub already_holds: String,
}

/// One badge as a dry run would issue it (unsigned; placeholder id and status).
#[derive(Debug, Serialize)]
pub struct Preview {
    pub recipient: String,
    pub credential: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_holds: Option<String>,
}

/// An issued award. Stored as the idempotent answer (without the learners' private links, which
/// are secrets and put back on every answer), so a replay answers exactly what the first call did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Awarded {
    pub award_id: Uuid,
    pub nanomodule_version: i64,
    pub credentials: Vec<IssuedBadge>,
    pub messages_queued: usize,
    pub impact_reviews_scheduled: usize,
    /// Set when the module is a station of a metro line: `done` (then `certificates` lists what
    /// stacking did for this issuer's lines) or `background` (the queue judges them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacking: Option<Stacking>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<CertificateChange>>,
}

/// Whether an award's certificates were judged before the answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stacking {
    Done,
    Background,
}

/// One badge of an award.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedBadge {
    pub id: String,
    pub recipient: String,
    pub identity_type: String,
    /// The badge page as its learner sees it (with their progress link), and the progress page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learner_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_url: Option<String>,
}

/// A certificate an award's stacking issued, suspended, reinstated or revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateChange {
    pub metro_line: Uuid,
    pub version: i64,
    pub action: String,
    pub certificate: String,
}

/// Hashes the parts of a request that make it "the same request" for idempotency.
pub fn request_hash(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

impl Service {
    pub fn credential_url(&self, id: Uuid) -> String {
        format!("{}/credentials/{id}", self.base_url)
    }

    pub fn status_list_url(&self, id: Uuid) -> String {
        format!("{}/status/{id}", self.base_url)
    }

    #[tracing::instrument(skip_all, fields(nanomodule = %nanomodule, actor = %who.token_id, dry_run = req.dry_run))]
    pub async fn award(&self, who: &Principal, nanomodule: Uuid, req: AwardRequest) -> ServiceResult<AwardOutcome> {
        let module = self.store.nanomodule_version(nanomodule, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(module.issuer_id, Action::Award)?;
        let scope = who.token_id.clone();
        if let Some(key) = &req.idempotency_key
            && let Some(done) = self.replay(&scope, key, &req.request_hash).await?
        {
            return Ok(done);
        }
        let award = req.input.parse()?;
        let spec: NanomoduleSpec = decode_spec(&module.spec)?;
        let now = crate::domain::time::whole_seconds(self.now());
        let valid_from = rfc3339(now);
        let until = spec.validity_days.map(|d| now + time::Duration::days(d));
        let valid_until = until.map(rfc3339);
        let issuer_id = ob3::issuer_url(&self.base_url, module.issuer_id);
        let issuer_spec = self.issuer_spec(module.issuer_id).await?;
        let issuer = ob3::profile(&issuer_id, &issuer_spec);
        let achievement = self.achievement_of(&module, &spec, issuer.clone()).await?;
        let template = Template {
            issuer: &issuer,
            achievement: &achievement,
            valid_from: &valid_from,
            valid_until: valid_until.as_deref(),
            session_date: award.session_date.as_deref(),
            hours: spec.hours(),
        };

        // No accidental doubles: a row for someone who already holds a standing badge of this
        // module (any version) needs to say it is a retake.
        let standing = self.store.standing_badges_of(nanomodule, now).await?;
        let double = |r: &crate::domain::award::Recipient| {
            standing
                .iter()
                .find(|h| !r.retake && h.identity_type == r.identity_type.as_str() && h.identity == r.identity)
                .map(|h| self.credential_url(h.credential_id))
        };
        let doubles: Vec<(usize, String)> =
            award.recipients.iter().enumerate().filter_map(|(i, r)| double(r).map(|url| (i, url))).collect();

        if req.dry_run {
            let pending = StatusEntry { list_url: format!("{}/status/pending", self.base_url), index: 0 };
            let pending_id = format!("{}/credentials/pending", self.base_url);
            let credentials: Vec<Preview> = award
                .recipients
                .iter()
                .map(|r| Preview {
                    recipient: r.identity.clone(),
                    credential: badge::build(&template, &pending_id, r, &fresh_salt(), &pending),
                    already_holds: double(r),
                })
                .collect();
            let doubles: Vec<Double> = doubles
                .into_iter()
                .map(|(row, already_holds)| Double { row, field: format!("recipients[{row}]"), already_holds })
                .collect();
            return Ok(AwardOutcome::Checked(DryRun {
                dry_run: true,
                would_issue: credentials.len() - doubles.len(),
                doubles,
                credentials,
            }));
        }
        if !doubles.is_empty() {
            return Err(crate::domain::validate::Invalid(
                doubles
                    .into_iter()
                    .map(|(i, url)| {
                        crate::domain::validate::FieldError::new(
                            format!("recipients[{i}]"),
                            crate::problem!(
                                "already-holds",
                                "already holds a valid badge of this nanomodule ({url}); mark the row as a retake \
                                 (\"retake\": true, CSV column retake/herkansing) to award it again",
                                url = url
                            ),
                        )
                    })
                    .collect(),
            )
            .into());
        }

        let started = std::time::Instant::now();
        let slots = self.store.reserve_status_indices(module.issuer_id, award.recipients.len()).await?;
        let reserved = started.elapsed();
        let ids: Vec<Uuid> = award.recipients.iter().map(|_| Uuid::now_v7()).collect();
        let holders = award
            .recipients
            .iter()
            .zip(&ids)
            .map(|(r, id)| Holder {
                id: *id,
                learner: Learner { identity_type: r.identity_type.as_str().into(), identity: r.identity.clone() },
                name: r.name.clone(),
            })
            .collect();
        let signing = self.issuer_signing(module.issuer_id).await?;
        let key_id = signing.key_id;
        let creds = self
            .issue_batch(holders, &slots, signing, (now, until), |s| {
                badge::build(&template, s.url, &award.recipients[s.index], s.salt, s.status)
            })
            .await?;
        let signed = started.elapsed();
        // Every badge of the award shares name, issuer and dates: one document stands for all
        // in the learners' "Add to LinkedIn" links.
        let share: Value = match creds.first() {
            Some(c) => serde_json::from_str(&c.signed).map_err(|e| ServiceError::Internal(e.to_string()))?,
            None => Value::Null,
        };

        let award_row = AwardRow {
            award_id: Uuid::now_v7(),
            issuer_id: module.issuer_id,
            nanomodule_id: nanomodule,
            nanomodule_version: module.version,
            member_id: who.member_id,
            actor_token: who.token_id.clone(),
            actor_role: who.role.as_str().into(),
            session: serde_json::to_string(&json!({"date": award.session_date, "location": award.session_location}))
                .expect("json"),
            recipients: award.recipients.len() as i64,
            created_at: now,
        };
        let events = award_events(who, &award_row, &creds);
        let mut learners: Vec<Learner> = award
            .recipients
            .iter()
            .map(|r| Learner { identity_type: r.identity_type.as_str().into(), identity: r.identity.clone() })
            .collect();
        learners.sort();
        learners.dedup();
        let stacking = self.is_station(nanomodule).await?;

        let keys = self.link_keys().await?;
        let mail_keys = self.mail_keys().await?;
        // Uploaded artwork travels inside the learners' messages; the sender, which reads the
        // image anyway, keeps it only when it is a PNG.
        let artwork = module.image_id;
        let reviews = Service::award_reviews(
            module.issuer_id,
            nanomodule,
            spec.review_weeks(),
            issuer_spec.lang(),
            &award.recipients,
            &ids,
            now,
        );
        let review_count = reviews.len();
        let stored = async {
            let mut tx = self.store.begin().await?;
            tx.insert_award(&award_row).await?;
            tx.insert_credentials(&award_row, key_id, creds).await?;
            tx.insert_reviews(reviews, now).await?;
            tx.ensure_progress_links(keys.first_links(module.issuer_id, &learners)).await?;
            let links = tx.award_progress_links(award_row.award_id).await?;
            let mail = self
                .award_mail(&issuer_spec, module.issuer_id, &award, &ids, &share, &links, &keys)
                .into_iter()
                .map(|mut m| {
                    m.notice = m.notice.with_artwork(artwork);
                    m
                })
                .collect();
            let queued = self.queue_mail(&mut tx, &mail_keys, mail).await?;
            // Stored for replays without the learners' private links (they are secrets); a
            // replay puts the links back from the link rows.
            let stored = Awarded {
                award_id: award_row.award_id,
                nanomodule_version: award_row.nanomodule_version,
                credentials: award
                    .recipients
                    .iter()
                    .zip(&ids)
                    .map(|(r, id)| IssuedBadge {
                        id: self.credential_url(*id),
                        recipient: r.identity.clone(),
                        identity_type: r.identity_type.as_str().into(),
                        learner_url: None,
                        progress_url: None,
                    })
                    .collect(),
                messages_queued: queued,
                impact_reviews_scheduled: review_count,
                // What a replay answers should the process stop before the certificates are
                // judged: the queue judges them; completed below otherwise.
                stacking: stacking.then_some(Stacking::Background),
                certificates: None,
            };
            if let Some(key) = &req.idempotency_key {
                tx.insert_idempotency(&scope, key, &req.request_hash, 201, &stored_json(&stored)).await?;
            }
            tx.audit(events).await?;
            if stacking {
                tx.enqueue_learners(&learners, "award").await?;
            }
            tx.commit().await?;
            Ok::<_, ServiceError>((stored, links))
        };
        let result = stored.await;
        tracing::info!(
            recipients = award.recipients.len(),
            reserve_ms = reserved.as_millis() as u64,
            sign_ms = (signed - reserved).as_millis() as u64,
            store_ms = (started.elapsed() - signed).as_millis() as u64,
            "award issued"
        );
        match result {
            Ok((mut answer, links)) => {
                self.wake_mail();
                // Certificates this award completed, when judged before answering; the stored
                // answer gets them too, so a replay answers the same.
                if stacking && let Some(outcomes) = self.stack_after_commit(learners).await {
                    // Certificates of other issuers' lines (this module is a partner's station
                    // there) are theirs to tell, not this issuer's.
                    answer.stacking = Some(Stacking::Done);
                    answer.certificates = Some(
                        outcomes
                            .into_iter()
                            .filter(|o| o.issuer == module.issuer_id)
                            .map(|o| CertificateChange {
                                metro_line: o.metro_line,
                                version: o.version,
                                action: o.action.into(),
                                certificate: o.certificate,
                            })
                            .collect(),
                    );
                    // The award stands either way: should this fail, a replay says "background".
                    if let Some(key) = &req.idempotency_key
                        && let Err(e) = self.store.complete_idempotency(&scope, key, &stored_json(&answer)).await
                    {
                        tracing::warn!(error = %e, "stored award answer not completed with its certificates");
                    }
                }
                add_progress_links(self, &keys, &mut answer, &links);
                Ok(AwardOutcome::Issued(answer))
            }
            // A concurrent request with the same key won the race (everything here rolled back):
            // answer what it answered.
            Err(ServiceError::Conflict(_)) if req.idempotency_key.is_some() => {
                let key = req.idempotency_key.as_deref().expect("checked");
                self.replay(&scope, key, &req.request_hash)
                    .await?
                    .ok_or(ServiceError::Conflict(crate::problem!("idempotency-race", "idempotency key")))
            }
            Err(e) => Err(e),
        }
    }

    /// The message each learner with an e-mail address gets about their new badge: its public
    /// link to share, LinkedIn, and their private progress link.
    #[allow(clippy::too_many_arguments)]
    fn award_mail(
        &self,
        spec: &crate::domain::issuer::IssuerSpec,
        issuer: Uuid,
        award: &Award,
        ids: &[Uuid],
        share: &Value,
        links: &[ProgressLinkRow],
        keys: &LinkKeys,
    ) -> Vec<super::mail::Outgoing> {
        let achievement = &share["credentialSubject"]["achievement"];
        let by_learner: std::collections::HashMap<(&str, &str), &ProgressLinkRow> =
            links.iter().map(|l| ((l.identity_type.as_str(), l.identity.as_str()), l)).collect();
        award
            .recipients
            .iter()
            .zip(ids)
            .filter(|(r, _)| r.identity_type == crate::domain::award::IdentityType::EmailAddress)
            .map(|(r, id)| {
                let url = self.credential_url(*id);
                let progress = by_learner
                    .get(&(r.identity_type.as_str(), r.identity.as_str()))
                    .map(|l| self.progress_url(&keys.token_of(l)));
                super::mail::Outgoing {
                    issuer: Some(issuer),
                    to: r.identity.clone(),
                    to_name: r.name.clone(),
                    lang: r.language.unwrap_or(spec.lang()),
                    learner: Some(Learner {
                        identity_type: r.identity_type.as_str().into(),
                        identity: r.identity.clone(),
                    }),
                    subject_id: Some(id.to_string()),
                    from_name: Some(spec.name().to_string()),
                    reply_to: spec.email.clone(),
                    notice: super::mail::compose::Notice::BadgeAwarded {
                        linkedin: crate::credential::share::linkedin_add_url(share, &url, &id.to_string()),
                        credential: url,
                        name: achievement["name"].as_str().unwrap_or_default().to_string(),
                        issuer: spec.name().to_string(),
                        artwork: None,
                        progress,
                    },
                }
            })
            .collect()
    }

    /// The stored answer for a repeated idempotency key; a different request under the same
    /// key is a conflict.
    async fn replay(&self, scope: &str, key: &str, request_hash: &str) -> ServiceResult<Option<AwardOutcome>> {
        let Some(row) = self.store.idempotency(scope, key).await? else { return Ok(None) };
        if row.request_hash != request_hash {
            return Err(ServiceError::Conflict(crate::problem!(
                "idempotency-key-reused",
                "this Idempotency-Key was used for a different request"
            )));
        }
        let mut answer: Awarded = serde_json::from_str(&row.response)
            .map_err(|e| ServiceError::Store(crate::store::StoreError::Corrupt(e.to_string())))?;
        let links = self.store.award_progress_links(answer.award_id).await?;
        add_progress_links(self, &*self.link_keys().await?, &mut answer, &links);
        Ok(Some(AwardOutcome::Issued(answer)))
    }

    /// A credential whose document is still held: an erased one is gone for good (410).
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub(super) async fn live_credential(&self, id: Uuid) -> ServiceResult<crate::store::CredentialRow> {
        let row = self.store.credential(id).await?.ok_or(ServiceError::NotFound)?;
        if row.signed.is_empty() {
            return Err(ServiceError::Gone("this credential was erased at its holder's request".into()));
        }
        Ok(row)
    }

    /// The signed credential JSON, byte for byte as issued.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn credential_json(&self, id: Uuid) -> ServiceResult<String> {
        match self.live_credential(id).await {
            Ok(row) => Ok(row.signed),
            // A copy in a learner's wallet is served at its own URL too.
            Err(ServiceError::NotFound) => self.wallet_copy_json(id).await?.ok_or(ServiceError::NotFound),
            Err(e) => Err(e),
        }
    }

    /// The credential as JSON and the recipient's name (if the award gave one), for its page.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn credential_for_page(&self, id: Uuid) -> ServiceResult<(Value, Option<String>)> {
        let row = self.live_credential(id).await?;
        let vc = serde_json::from_str(&row.signed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok((vc, row.recipient_name))
    }

    /// The same credential as a VC-JWT.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn credential_jwt(&self, id: Uuid) -> ServiceResult<String> {
        Ok(self.live_credential(id).await?.jwt)
    }
}

/// One `award.created` event, then one `credential.issued` event per credential whose digest is
/// the SHA-256 of the signed document itself.
fn award_events(who: &Principal, award: &AwardRow, creds: &[NewCredential]) -> Vec<NewEvent> {
    let actor = who.actor();
    let mut events = vec![NewEvent::new(
        &actor,
        Some(award.issuer_id),
        "award.created",
        award.award_id,
        &json!({"nanomodule_id": award.nanomodule_id, "nanomodule_version": award.nanomodule_version,
                "member_id": award.member_id, "role": award.actor_role, "recipients": award.recipients}),
    )];
    events.extend(creds.iter().map(|c| {
        let mut e = NewEvent::new(&actor, Some(award.issuer_id), "credential.issued", c.credential_id, &json!({}));
        e.change_digest = c.sha256.clone();
        e
    }));
    events
}

/// An award's answer as stored for replays: without the learners' private links.
fn stored_json(answer: &Awarded) -> String {
    debug_assert!(answer.credentials.iter().all(|c| c.learner_url.is_none() && c.progress_url.is_none()));
    serde_json::to_string(answer).expect("an award answer serialises")
}

/// Puts each recipient's private links (their view of the badge page, which shows the progress
/// link, and the progress page itself) into an award answer.
fn add_progress_links(service: &Service, keys: &LinkKeys, answer: &mut Awarded, links: &[ProgressLinkRow]) {
    let by_learner: std::collections::HashMap<(&str, &str), &ProgressLinkRow> =
        links.iter().map(|l| ((l.identity_type.as_str(), l.identity.as_str()), l)).collect();
    for c in &mut answer.credentials {
        let Some(token) = by_learner.get(&(c.identity_type.as_str(), c.recipient.as_str())).map(|l| keys.token_of(l))
        else {
            continue;
        };
        c.learner_url = Some(format!("{}?learner={token}", c.id));
        c.progress_url = Some(service.progress_url(&token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored answer is what replays read back: it must come back equal, and keep the
    /// JSON clients have always seen (no keys for what did not happen).
    #[test]
    fn stored_answer_round_trips_in_the_published_shape() {
        let answer = Awarded {
            award_id: Uuid::from_u128(7),
            nanomodule_version: 2,
            credentials: vec![IssuedBadge {
                id: "https://x.nl/credentials/1".into(),
                recipient: "jan@example.nl".into(),
                identity_type: "emailAddress".into(),
                learner_url: None,
                progress_url: None,
            }],
            messages_queued: 1,
            impact_reviews_scheduled: 0,
            stacking: Some(Stacking::Background),
            certificates: None,
        };
        let stored = stored_json(&answer);
        let v: Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(v["stacking"], "background");
        assert!(v.get("certificates").is_none() && v["credentials"][0].get("learner_url").is_none(), "{v}");
        assert_eq!(serde_json::from_str::<Awarded>(&stored).unwrap(), answer);
        let done = Awarded { stacking: Some(Stacking::Done), certificates: Some(vec![]), ..answer };
        let v = serde_json::to_value(&done).unwrap();
        assert_eq!((v["stacking"].as_str(), v["certificates"].as_array().map(Vec::len)), (Some("done"), Some(0)));
    }
}
