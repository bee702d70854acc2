//! Stacking badges into partial certificates, and keeping certificates honest.
//!
//! Every change that can matter to a learner's lines (an award, a status change, a component
//! expiring) queues the learner in `stack_job` inside the transaction that made the change. The
//! queue is then drained — at once by the request that queued it, and by the worker for
//! whatever a crash or another instance left behind. Draining one learner is one transaction
//! under a per-learner lock: it reads the learner's badges and certificates, lets
//! [`crate::domain::stacking::decide`] judge each line, applies the verdicts with their audit
//! events, and deletes the jobs it saw. A partial unique index makes a second valid certificate
//! for the same line version and learner impossible even if all of that went wrong.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec};
use crate::credential::badge::{StatusEntry, Template};
use crate::credential::certificate::{self, Component};
use crate::credential::issue::sign_batch;
use crate::credential::ob3;
use crate::domain::access::{Action, Principal};
use crate::domain::audit::{Actor, NewEvent};
use crate::domain::award::{IdentityType, Recipient};
use crate::domain::metro_line::MetroLineSpec;
use crate::domain::nanomodule::NanomoduleSpec;
use crate::domain::pathway::Explanation;
use crate::domain::stacking::{Decision, Held, HeldCertificate, Standing, cause_words, decide};
use crate::domain::time::rfc3339;
use crate::store::{
    CertificateRow, CredentialRow, EnrolmentRow, HolderCredential, Learner, MetroLineRow, NewCertificate,
    NewCredential, StatusChange, Tx,
};

/// Learners drained inline by the request that queued them; larger batches go to a task.
const INLINE_LEARNERS: usize = 200;
/// Learners judged in one transaction.
const BATCH_LEARNERS: usize = 50;
/// How long a learner whose re-evaluation failed waits before the next try.
const RETRY_AFTER: time::Duration = time::Duration::seconds(60);

/// What one certificate is issued from.
#[derive(Clone, Copy)]
struct Certificate<'a> {
    line: &'a MetroLineRow,
    version: i64,
    spec: &'a MetroLineSpec,
    achievement: &'a Value,
    signer: &'a Signer,
}

/// One thing stacking did.
#[derive(Debug, Clone, Serialize)]
pub struct StackOutcome {
    pub metro_line: Uuid,
    /// The line's issuer, which signs the certificate (only its own answers mention it).
    #[serde(skip)]
    pub issuer: Uuid,
    pub version: i64,
    /// `issued`, `suspended`, `reinstated` or `revoked`.
    pub action: &'static str,
    pub certificate: String,
    #[serde(skip)]
    pub certificate_id: Uuid,
}

/// Everything a round needs besides the learner's own rows, read before the learner's
/// transaction opens: on SQLite that transaction holds the only write lock, and reading through
/// the pool meanwhile could wait for a connection held by a writer waiting for that lock.
#[derive(Default)]
struct Prepared {
    specs: HashMap<(Uuid, i64), MetroLineSpec>,
    achievements: HashMap<(Uuid, i64), Value>,
    issuers: HashMap<Uuid, Signer>,
    /// Per line issuer, the partners whose badges may count towards a new certificate.
    partners: HashMap<Uuid, std::collections::HashSet<Uuid>>,
}

/// What one transaction of stacking did so far: its audit events and outcomes.
#[derive(Default)]
struct Round {
    events: Vec<NewEvent>,
    outcomes: Vec<StackOutcome>,
}

/// An issuer as a certificate's signer.
struct Signer {
    profile: Value,
    url: String,
    key_id: Uuid,
    key: ed25519_dalek::SigningKey,
}

/// What is known about a learner, read once for all lines.
pub struct LearnerFacts {
    pub held: Vec<Held>,
    pub names: BTreeMap<Uuid, String>,
    pub certs: Vec<CertificateRow>,
    pub enrolments: Vec<EnrolmentRow>,
}

impl LearnerFacts {
    /// What one issuer's staff and progress pages may see: the issuer's own badges, and other
    /// issuers' badges only while valid (a partner station is "done" or "not done", never why
    /// not: revoked or suspended is the partner's business).
    pub fn as_seen_by(&self, issuer: Uuid) -> LearnerFacts {
        LearnerFacts {
            held: self.held.iter().filter(|h| h.issuer == issuer || h.standing == Standing::Valid).cloned().collect(),
            names: self.names.clone(),
            certs: self.certs.clone(),
            enrolments: self.enrolments.clone(),
        }
    }
}

/// A learner's standing on one line, as the progress views show it.
pub struct LineProgress {
    pub line: MetroLineRow,
    pub spec: MetroLineSpec,
    pub version: i64,
    pub explanation: Explanation,
    pub certificate: Option<CertificateRow>,
    pub names: BTreeMap<Uuid, String>,
}

fn standing(c: &HolderCredential, now: OffsetDateTime) -> Standing {
    if c.revoked_at.is_some() {
        Standing::Revoked
    } else if c.compromised_since.is_some_and(|s| c.created_at >= s) {
        Standing::Compromised
    } else if c.suspended_at.is_some() {
        Standing::Suspended
    } else if let Some(u) = c.valid_until.filter(|u| *u <= now) {
        Standing::Expired(u)
    } else {
        Standing::Valid
    }
}

/// The learner's badges as the domain sees them, with module names.
fn held_badges(creds: &[HolderCredential], now: OffsetDateTime) -> ServiceResult<(Vec<Held>, BTreeMap<Uuid, String>)> {
    let mut held = Vec::with_capacity(creds.len());
    let mut names = BTreeMap::new();
    for c in creds {
        let spec: NanomoduleSpec = decode_spec(&c.version_spec)?;
        names.entry(c.nanomodule_id).or_insert_with(|| spec.name.clone().unwrap_or_default());
        held.push(Held {
            credential: c.credential_id,
            issuer: c.issuer_id,
            nanomodule: c.nanomodule_id,
            awarded: c.valid_from,
            hours: spec.hours(),
            standing: standing(c, now),
        });
    }
    Ok((held, names))
}

/// The learner's certificate of `line` that is not revoked.
fn standing_certificate(certs: &[CertificateRow], line: Uuid) -> Option<&CertificateRow> {
    certs.iter().find(|c| c.metro_line_id == line && c.revoked_at.is_none())
}

/// Where a learner is on a line: which version judges them (their standing certificate's, else
/// the one they started on, else the current one) and whether they started it yet.
struct Position<'a> {
    version: i64,
    certificate: Option<&'a CertificateRow>,
    enrolled: Option<i64>,
    started: bool,
}

fn position<'a>(
    line: &MetroLineRow,
    current: &MetroLineSpec,
    held: &[Held],
    certs: &'a [CertificateRow],
    enrolments: &[EnrolmentRow],
) -> Position<'a> {
    let certificate = standing_certificate(certs, line.metro_line_id);
    let enrolled = enrolments.iter().find(|e| e.metro_line_id == line.metro_line_id).map(|e| e.version);
    let has_station = held.iter().any(|h| current.stations.contains(&h.nanomodule));
    Position {
        version: certificate.map(|c| c.metro_line_version).or(enrolled).unwrap_or(line.current_version),
        certificate,
        enrolled,
        started: certificate.is_some() || enrolled.is_some() || has_station,
    }
}

impl Service {
    pub fn line_achievement_id(&self, line: Uuid, version: i64) -> String {
        format!("{}/metro-lines/{line}/versions/{version}", self.base_url)
    }

    async fn line_spec(&self, line: Uuid, version: i64) -> ServiceResult<MetroLineSpec> {
        let row = self.store.metro_line(line, Some(version)).await?.ok_or(ServiceError::NotFound)?;
        decode_spec(&row.spec)
    }

    /// The public `Achievement` of a line version: what its partial certificate certifies.
    pub async fn certificate_achievement(&self, line: Uuid, version: i64) -> ServiceResult<Value> {
        let row = self.store.metro_line(line, Some(version)).await?.ok_or(ServiceError::NotFound)?;
        let spec: MetroLineSpec = decode_spec(&row.spec)?;
        let issuer_id = ob3::issuer_url(&self.base_url, row.issuer_id);
        let ctx = ob3::CertificateContext {
            id: self.line_achievement_id(line, version),
            version,
            image_url: format!("{}/image.svg", self.line_achievement_id(line, version)),
            creator: ob3::profile(&issuer_id, &self.issuer_spec(row.issuer_id).await?),
            line_url: self.line_achievement_id(line, version),
        };
        Ok(ob3::certificate_achievement(&spec, &ctx))
    }

    /// Name of the certificate a credential row holds (for artwork).
    pub(super) async fn certificate_name(&self, c: &CredentialRow) -> ServiceResult<String> {
        let (Some(line), Some(version)) = (c.metro_line_id, c.metro_line_version) else {
            return Err(ServiceError::NotFound);
        };
        let spec = self.line_spec(line, version).await?;
        Ok(spec.certificate.and_then(|c| c.name).or(spec.name).unwrap_or_default())
    }

    /// Whether any line (current version) has `nanomodule` as a station: only then does an
    /// award need stacking.
    pub(super) async fn is_station(&self, nanomodule: Uuid) -> ServiceResult<bool> {
        for l in self.store.all_metro_lines().await? {
            let spec: MetroLineSpec = decode_spec(&l.spec)?;
            if spec.stations.contains(&nanomodule) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Drains the given learners now (up to [`INLINE_LEARNERS`]; returns what happened) or in
    /// a background task (more; returns `None`); the queue rows make either survive a crash.
    pub(super) async fn stack_after_commit(&self, learners: Vec<Learner>) -> Option<Vec<StackOutcome>> {
        if learners.len() > INLINE_LEARNERS {
            let service = self.clone();
            tokio::spawn(async move {
                service.restack_many(&learners).await;
            });
            return None;
        }
        Some(self.restack_many(&learners).await)
    }

    /// Drains `learners` a batch per transaction. A batch that fails is retried learner by
    /// learner, so one learner whose round fails holds up nobody else (and waits for a later
    /// round itself).
    async fn restack_many(&self, learners: &[Learner]) -> Vec<StackOutcome> {
        let mut out = Vec::new();
        for batch in learners.chunks(BATCH_LEARNERS) {
            match self.restack_batch(batch).await {
                Ok(done) => out.extend(done),
                Err(e) => {
                    tracing::warn!(error = %e, learners = batch.len(), "stacking batch failed; judging one by one");
                    for l in batch {
                        out.extend(self.restack_or_postpone(l).await);
                    }
                }
            }
        }
        out
    }

    async fn restack_or_postpone(&self, who: &Learner) -> Vec<StackOutcome> {
        match self.restack(who).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(error = %e, "stacking failed; the learner stays queued");
                let _ = self.store.postpone_learner(who, crate::store::now() + RETRY_AFTER).await;
                Vec::new()
            }
        }
    }

    /// One round of the worker: queue learners whose certificate components expired since
    /// `since`, then drain everything due. Returns how many learners were handled.
    pub async fn stack_tick(&self, since: OffsetDateTime) -> ServiceResult<usize> {
        let now = crate::store::now();
        let expired = self.store.expired_component_holders(since, now).await?;
        if !expired.is_empty() {
            let mut tx = self.store.begin().await?;
            tx.enqueue_learners(&expired, "expiry").await?;
            tx.commit().await?;
        }
        // Everything queued until now, including what was just queued; work queued while this
        // round runs waits for the next one, so a round always ends.
        let cutoff = crate::store::now();
        let mut handled = 0;
        loop {
            let due = self.store.due_learners(cutoff, 100).await?;
            if due.is_empty() {
                break;
            }
            self.restack_many(&due).await;
            handled += due.len();
            if due.len() < 100 {
                break;
            }
        }
        Ok(handled)
    }

    /// Adds to `p` what judging `who` may need (line versions, achievements, signers) for every
    /// line the learner is on, as the learner looks now; what `p` already holds is not read again.
    async fn prepare(&self, who: &Learner, lines: &[MetroLineRow], p: &mut Prepared) -> ServiceResult<()> {
        let facts = self.learner_facts(who).await?;
        for line in lines {
            let current: MetroLineSpec = decode_spec(&line.spec)?;
            let mut versions = vec![line.current_version];
            versions.extend(
                facts.certs.iter().filter(|c| c.metro_line_id == line.metro_line_id).map(|c| c.metro_line_version),
            );
            versions
                .extend(facts.enrolments.iter().filter(|e| e.metro_line_id == line.metro_line_id).map(|e| e.version));
            let started = facts.held.iter().any(|h| current.stations.contains(&h.nanomodule));
            if versions.len() == 1 && !started {
                continue;
            }
            p.specs.entry((line.metro_line_id, line.version)).or_insert(current);
            for v in versions {
                let key = (line.metro_line_id, v);
                if let std::collections::hash_map::Entry::Vacant(e) = p.specs.entry(key) {
                    let row =
                        self.store.metro_line(line.metro_line_id, Some(v)).await?.ok_or(ServiceError::NotFound)?;
                    e.insert(decode_spec(&row.spec)?);
                }
                if let std::collections::hash_map::Entry::Vacant(e) = p.achievements.entry(key) {
                    e.insert(self.certificate_achievement(line.metro_line_id, v).await?);
                }
            }
            if let std::collections::hash_map::Entry::Vacant(e) = p.partners.entry(line.issuer_id) {
                e.insert(self.store.accepted_partners(line.issuer_id).await?.into_iter().collect());
            }
            if !p.issuers.contains_key(&line.issuer_id) {
                let url = ob3::issuer_url(&self.base_url, line.issuer_id);
                let profile = ob3::profile(&url, &self.issuer_spec(line.issuer_id).await?);
                let (key_id, key) = self.active_signing_key(line.issuer_id).await?;
                p.issuers.insert(line.issuer_id, Signer { profile, url, key_id, key });
            }
        }
        Ok(())
    }

    /// Re-evaluates one learner on every line, in one transaction.
    pub async fn restack(&self, who: &Learner) -> ServiceResult<Vec<StackOutcome>> {
        self.restack_batch(std::slice::from_ref(who)).await
    }

    /// Re-evaluates several learners on every line in one transaction. On SQLite most of a
    /// learner's round is the commit's sync to disk, so a batch shares one; it also shares the
    /// reads of lines, achievements and signing keys. All or nothing: callers retry a failed
    /// batch one learner at a time.
    pub async fn restack_batch(&self, learners: &[Learner]) -> ServiceResult<Vec<StackOutcome>> {
        let mut learners = learners.to_vec();
        learners.sort();
        learners.dedup();
        let started = std::time::Instant::now();
        let lines = self.store.all_metro_lines().await?;
        let mut prepared = Prepared::default();
        for who in &learners {
            self.prepare(who, &lines, &mut prepared).await?;
        }
        let prepared_at = started.elapsed();
        let now = crate::store::now();
        let mut tx = self.store.begin().await?;
        // Always in sorted order, so two instances locking overlapping batches wait rather than
        // deadlock (a hash collision could still cross them; PostgreSQL then aborts one batch,
        // whose learners are retried one by one).
        for who in &learners {
            tx.lock_learner(who).await?;
        }
        let mut round = Round::default();
        for who in &learners {
            self.judge(&mut tx, who, &lines, &prepared, now, &mut round).await?;
        }
        let Round { events, outcomes } = round;
        if !events.is_empty() {
            tx.audit(events).await?;
        }
        let judged_at = started.elapsed();
        tx.commit().await?;
        tracing::debug!(
            learners = learners.len(),
            prepare_ms = prepared_at.as_millis() as u64,
            judge_ms = (judged_at - prepared_at).as_millis() as u64,
            commit_ms = (started.elapsed() - judged_at).as_millis() as u64,
            "stacking batch"
        );
        for o in &outcomes {
            tracing::info!(metro_line = %o.metro_line, version = o.version, action = o.action, certificate = %o.certificate_id, "stacking");
        }
        Ok(outcomes)
    }

    /// Judges one locked learner on every line inside `tx`, collecting events and outcomes.
    async fn judge(
        &self,
        tx: &mut Tx,
        who: &Learner,
        lines: &[MetroLineRow],
        prepared: &Prepared,
        now: OffsetDateTime,
        round: &mut Round,
    ) -> ServiceResult<()> {
        let jobs = tx.learner_jobs(who).await?;
        let creds = tx.holder_credentials(&who.identity_type, &who.identity).await?;
        let certs = tx.learner_certificates(who).await?;
        let components = tx.learner_components(who).await?;
        let enrolments = tx.learner_enrolments(who).await?;
        let (held, names) = held_badges(&creds, now)?;
        let actor = Actor::service();
        // Set when the learner changed between preparing and locking: judged again next round.
        let mut again = false;
        for line in lines {
            let current: MetroLineSpec = decode_spec(&line.spec)?;
            let Position { version, certificate: standing_cert, enrolled, started } =
                position(line, &current, &held, &certs, &enrolments);
            if !started {
                continue;
            }
            let (Some(spec), Some(signer)) =
                (prepared.specs.get(&(line.metro_line_id, version)), prepared.issuers.get(&line.issuer_id))
            else {
                again = true;
                continue;
            };
            if enrolled.is_none() {
                tx.enrol(line.metro_line_id, who, version).await?;
            }
            let held_cert = standing_cert.map(|c| HeldCertificate {
                credential: c.credential_id,
                version: c.metro_line_version,
                suspended: c.suspended_at.is_some(),
                suspended_by_cascade: c.suspended_at.is_some() && c.status_cause.as_deref() == Some("cascade"),
                components: components
                    .iter()
                    .filter(|k| k.certificate_id == c.credential_id)
                    .map(|k| k.component_id)
                    .collect(),
            });
            // A certificate a person revoked is not silently issued again.
            let blocked = certs.iter().any(|c| {
                c.metro_line_id == line.metro_line_id
                    && c.metro_line_version == version
                    && c.revoked_at.is_some()
                    && c.status_cause.as_deref() != Some("cascade")
            });
            // A new certificate rests only on the line issuer's own badges and those of partners
            // that consent now; one already standing keeps being judged on everything it holds
            // (ending a partnership leaves issued certificates valid).
            let counting: Vec<Held>;
            let held_here = if held_cert.is_some() {
                &held
            } else {
                let partners = prepared.partners.get(&line.issuer_id);
                counting = held
                    .iter()
                    .filter(|h| h.issuer == line.issuer_id || partners.is_some_and(|p| p.contains(&h.issuer)))
                    .cloned()
                    .collect();
                &counting
            };
            let (decision, _) = decide(&spec.effective_rule(), held_here, &names, held_cert.as_ref(), blocked);
            let url = |id: Uuid| self.credential_url(id);
            let Some(achievement) = prepared.achievements.get(&(line.metro_line_id, version)) else {
                again = true;
                continue;
            };
            let certificate_of_line = Certificate { line, version, spec, achievement, signer };
            let (action, change, certificate, causes, successor) = match decision {
                Decision::Nothing => continue,
                Decision::Issue { components } => {
                    let id = Uuid::now_v7();
                    self.issue_recorded(tx, &certificate_of_line, who, &creds, &components, id, round).await?;
                    continue;
                }
                Decision::Suspend { certificate, causes } => {
                    ("suspended", StatusChange::Suspend, certificate, causes, None)
                }
                Decision::Revoke { certificate, causes } => {
                    ("revoked", StatusChange::Revoke, certificate, causes, None)
                }
                Decision::Reinstate { certificate } => {
                    ("reinstated", StatusChange::Reinstate, certificate, vec![], None)
                }
                // The old certificate is revoked first (one standing certificate per line), naming
                // the id its successor is issued under right after.
                Decision::Supersede { certificate, causes, components } => {
                    ("superseded", StatusChange::Revoke, certificate, causes, Some((Uuid::now_v7(), components)))
                }
            };
            let reason = match &successor {
                Some((new, _)) => Some(format!("superseded by {}", url(*new))),
                None => (change != StatusChange::Reinstate).then(|| cause_words(&held, &causes, &names, url)),
            };
            tx.change_status(certificate, change, reason.as_deref(), Some("cascade"), now).await?;
            round.events.push(NewEvent::new(
                &actor,
                Some(line.issuer_id),
                change.action(),
                certificate,
                &json!({"reason": reason, "cascade": true, "metro_line_id": line.metro_line_id,
                        "superseded_by": successor.as_ref().map(|s| s.0)}),
            ));
            // The chain names each component that caused the change in clear (its id is no
            // personal data), right after the change itself.
            for component in causes {
                round.events.push(NewEvent::new(
                    &actor,
                    Some(line.issuer_id),
                    "cascade.component",
                    component,
                    &json!({"certificate": certificate, "effect": action}),
                ));
            }
            round.outcomes.push(StackOutcome {
                metro_line: line.metro_line_id,
                issuer: line.issuer_id,
                version,
                action,
                certificate: url(certificate),
                certificate_id: certificate,
            });
            if let Some((id, components)) = successor {
                self.issue_recorded(tx, &certificate_of_line, who, &creds, &components, id, round).await?;
            }
        }
        tx.delete_jobs(&jobs).await?;
        if again {
            tx.enqueue_learners(std::slice::from_ref(who), "changed while judged").await?;
        }
        Ok(())
    }

    /// Builds, signs and stores one certificate inside the learner's transaction (no reads
    /// outside it: see [`Prepared`]).
    async fn issue_certificate(
        &self,
        tx: &mut Tx,
        c: &Certificate<'_>,
        who: &Learner,
        creds: &[HolderCredential],
        component_ids: &[Uuid],
        id: Uuid,
    ) -> ServiceResult<String> {
        let Certificate { line, version, spec, achievement, signer } = *c;
        let now = crate::store::now().replace_nanosecond(0).expect("zero is a valid nanosecond");
        let valid_from = rfc3339(now);
        let parts: Vec<&HolderCredential> =
            component_ids.iter().filter_map(|id| creds.iter().find(|c| c.credential_id == *id)).collect();
        let mut hours = 0.0;
        let mut components = Vec::with_capacity(parts.len());
        for c in &parts {
            let s: NanomoduleSpec = decode_spec(&c.version_spec)?;
            hours += s.hours();
            components.push(Component {
                url: self.credential_url(c.credential_id),
                name: s.name.unwrap_or_default(),
                awarded: rfc3339(c.valid_from)[..10].to_string(),
                sha256_hex: c.sha256.clone(),
            });
        }
        let credits = spec.certificate.as_ref().and_then(|c| c.credits).unwrap_or((hours * 100.0).round() / 100.0);
        let template = Template {
            issuer: &signer.profile,
            achievement,
            valid_from: &valid_from,
            valid_until: None,
            session_date: None,
            hours: credits,
        };
        let kind = IdentityType::parse(&who.identity_type)
            .ok_or_else(|| ServiceError::Internal("stored identity type is unknown".into()))?;
        let recipient = Recipient {
            identity: who.identity.clone(),
            identity_type: kind,
            name: parts.iter().rev().find_map(|c| c.recipient_name.clone()),
            evidence: vec![],
            result: None,
            narrative: None,
        };
        let (list, index) = tx.reserve_status_indices(line.issuer_id, 1).await?[0];
        let status = StatusEntry { list_url: self.status_list_url(list), index: index as u32 };
        let salt = hex::encode(rand::random::<[u8; 16]>());
        let doc = certificate::build(&template, &self.credential_url(id), &recipient, &salt, &status, &components);
        let key = signer.key.clone();
        let vm = ob3::verification_method(&signer.url, &ob3::PublicKey { public_key: key.verifying_key().to_bytes() });
        let created = valid_from.clone();
        let mut issued = tokio::task::spawn_blocking(move || sign_batch(&[doc], &key, &vm, &created))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let signed = issued.pop().ok_or_else(|| ServiceError::Internal("nothing signed".into()))?;
        let digest = signed.sha256.clone();
        tx.insert_certificate(NewCertificate {
            credential: NewCredential {
                credential_id: id,
                identity_type: who.identity_type.clone(),
                identity: who.identity.clone(),
                recipient_name: recipient.name.clone(),
                status_list_id: list,
                status_index: index,
                signed: signed.signed,
                jwt: signed.jwt,
                sha256: signed.sha256,
                valid_from: now,
                valid_until: None,
            },
            issuer_id: line.issuer_id,
            metro_line_id: line.metro_line_id,
            metro_line_version: version,
            key_id: signer.key_id,
            components: component_ids.to_vec(),
        })
        .await?;
        Ok(digest)
    }

    /// Issues one certificate under `id` and records its audit event and outcome.
    #[allow(clippy::too_many_arguments)]
    async fn issue_recorded(
        &self,
        tx: &mut Tx,
        c: &Certificate<'_>,
        who: &Learner,
        creds: &[HolderCredential],
        components: &[Uuid],
        id: Uuid,
        round: &mut Round,
    ) -> ServiceResult<()> {
        let digest = self.issue_certificate(tx, c, who, creds, components, id).await?;
        // Like `credential.issued`: the digest is the SHA-256 of the signed document, which
        // itself names every component and its digest.
        let mut e = NewEvent::new(&Actor::service(), Some(c.line.issuer_id), "certificate.issued", id, &json!({}));
        e.change_digest = digest;
        round.events.push(e);
        round.outcomes.push(StackOutcome {
            metro_line: c.line.metro_line_id,
            issuer: c.line.issuer_id,
            version: c.version,
            action: "issued",
            certificate: self.credential_url(id),
            certificate_id: id,
        });
        Ok(())
    }

    /// Re-evaluates everyone who holds a station badge of a line, has started it or holds its
    /// certificate (e.g. after importing history) and reports what changed.
    pub async fn evaluate_line(&self, who: &Principal, id: Uuid) -> ServiceResult<Value> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Manage)?;
        let spec: MetroLineSpec = decode_spec(&row.spec)?;
        let mut learners = std::collections::BTreeSet::new();
        for station in &spec.stations {
            learners.extend(self.store.holders_of(*station).await?);
        }
        learners.extend(self.store.learners_of_line(id).await?);
        let learners: Vec<Learner> = learners.into_iter().collect();
        let mut outcomes = self.restack_many(&learners).await;
        outcomes.retain(|o| o.metro_line == id);
        let of = |a: &str| outcomes.iter().filter(|o| o.action == a).map(|o| o.certificate.clone()).collect::<Vec<_>>();
        Ok(json!({
            "metro_line": id,
            "learners_evaluated": learners.len(),
            "issued": of("issued"),
            "suspended": of("suspended"),
            "reinstated": of("reinstated"),
            "revoked": of("revoked"),
            "superseded": of("superseded"),
        }))
    }

    /// Where a learner stands on every line they started (for progress pages).
    pub async fn learner_progress(&self, who: &Learner) -> ServiceResult<Vec<LineProgress>> {
        let facts = self.learner_facts(who).await?;
        let mut out = Vec::new();
        for line in self.store.all_metro_lines().await? {
            if let Some(p) = self.progress_on(line, &facts, false).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    pub(super) async fn learner_facts(&self, who: &Learner) -> ServiceResult<LearnerFacts> {
        let creds = self.store.holder_credentials(&who.identity_type, &who.identity).await?;
        let (held, names) = held_badges(&creds, crate::store::now())?;
        Ok(LearnerFacts {
            held,
            names,
            certs: self.store.learner_certificates(who).await?,
            enrolments: self.store.learner_enrolments(who).await?,
        })
    }

    /// The learner's standing on one line, or `None` if they have not started it (unless
    /// `always`).
    pub(super) async fn progress_on(
        &self,
        line: MetroLineRow,
        facts: &LearnerFacts,
        always: bool,
    ) -> ServiceResult<Option<LineProgress>> {
        let current: MetroLineSpec = decode_spec(&line.spec)?;
        let latest_cert = facts.certs.iter().rev().find(|c| c.metro_line_id == line.metro_line_id);
        let Position { version, certificate: standing_cert, started, .. } =
            position(&line, &current, &facts.held, &facts.certs, &facts.enrolments);
        if !always && !started && latest_cert.is_none() {
            return Ok(None);
        }
        let spec = if version == line.version { current } else { self.line_spec(line.metro_line_id, version).await? };
        let mut names = facts.names.clone();
        for s in &spec.stations {
            if !names.contains_key(s)
                && let Some(v) = self.store.nanomodule_version(*s, None).await?
            {
                names.insert(*s, decode_spec::<NanomoduleSpec>(&v.spec)?.name.unwrap_or_default());
            }
        }
        let explanation = crate::domain::stacking::explain(&spec.effective_rule(), &facts.held, &names);
        Ok(Some(LineProgress {
            certificate: standing_cert.or(latest_cert).cloned(),
            line,
            spec,
            version,
            explanation,
            names,
        }))
    }

    /// Moves learners of a line to another version (default: the current one) and re-evaluates
    /// them; certificates already issued keep their version.
    pub async fn migrate_line_learners(
        &self,
        who: &Principal,
        id: Uuid,
        to_version: Option<i64>,
        only: Option<Vec<Learner>>,
    ) -> ServiceResult<Value> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Manage)?;
        if only.as_ref().is_some_and(|l| l.len() > crate::domain::award::MAX_RECIPIENTS) {
            return Err(crate::domain::validate::Invalid::one(
                "learners",
                format!("at most {} learners per request", crate::domain::award::MAX_RECIPIENTS),
            )
            .into());
        }
        let version = to_version.unwrap_or(row.current_version);
        if version < 1 || version > row.current_version {
            return Err(crate::domain::validate::Invalid::one(
                "to_version",
                format!("must be a version of this line (1 to {})", row.current_version),
            )
            .into());
        }
        let learners: Vec<Learner> = match only {
            Some(l) => l,
            None => self.store.learners_of_line(id).await?,
        };
        let mut tx = self.store.begin().await?;
        for l in &learners {
            tx.migrate_learner(id, l, version).await?;
        }
        tx.enqueue_learners(&learners, "migration").await?;
        tx.audit(vec![NewEvent::new(
            &who.actor(),
            Some(row.issuer_id),
            "metro_line.learners_migrated",
            id,
            &json!({"version": version, "learners": learners.len()}),
        )])
        .await?;
        tx.commit().await?;
        let migrated = learners.len();
        let mut body = json!({"metro_line": id, "version": version, "learners_migrated": migrated});
        match self.stack_after_commit(learners).await {
            Some(outcomes) => {
                let issued: Vec<String> = outcomes
                    .into_iter()
                    .filter(|o| o.metro_line == id && o.action == "issued")
                    .map(|o| o.certificate)
                    .collect();
                body["stacking"] = json!("done");
                body["issued"] = json!(issued);
            }
            None => body["stacking"] = json!("background"),
        }
        Ok(body)
    }
}
