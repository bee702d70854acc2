//! Stacking badges into partial certificates, and keeping certificates honest.
//!
//! Every change that can matter to a learner's lines (an award, a status change, a component
//! expiring) queues the learner in `stack_job` inside the transaction that made the change. The
//! queue is then drained — at once by the request that queued it, and by the worker for
//! whatever a crash or another instance left behind. A batch of learners is drained in two
//! steps: `speculate` reads them, lets [`crate::domain::stacking::decide`] judge each line and
//! signs the certificates that judgement would issue, all without a lock or a write; `settle`
//! then takes the learners' lock in one transaction, reads and judges them again on what is
//! current, applies the verdicts with their audit events (using an early signature only where
//! the plan is unchanged) and deletes the jobs it saw. Batches are pipelined: the next one is
//! speculated while one settles. A partial unique index makes a second valid certificate
//! for the same line version and learner impossible even if all of that went wrong.
//!
//! Rooms: `queue.rs` (draining the queue, the worker's rounds, speculating and settling a
//! batch), `judge.rs` (one learner's verdicts, certificates, audit events; signing),
//! `views.rs` (line evaluations, learners' progress, moving learners to a new line version);
//! this file holds the shared types and the certificate's achievement document.

mod judge;
mod queue;
mod views;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec};
use crate::credential::badge::Template;
use crate::credential::certificate::{self, Component};
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
    CertificateRow, CredentialRow, EnrolmentRow, HolderCredential, Learner, LearnerRows, MetroLineRow, NewCertificate,
    StatusChange, Tx,
};

/// Learners drained inline by the request that queued them (an award of up to this many lists
/// its certificates); larger batches go to a task and the award answers "background".
const INLINE_LEARNERS: usize = 1_000;
/// Learners judged in one transaction. A commit costs SQLite a few milliseconds however much
/// it holds, so larger batches share it; each batch holds the write lock while it settles
/// (40–60 ms for 100 learners on the benchmark machine; its signing is done before, see
/// [`Speculation`]), which awards wait for. Batches of 200 measured no faster.
const BATCH_LEARNERS: usize = 100;
/// How long a learner whose re-evaluation failed waits before the next try.
const RETRY_AFTER: time::Duration = time::Duration::seconds(60);

/// What one certificate is issued from.
#[derive(Clone, Copy)]
struct Certificate<'a> {
    line: &'a MetroLineRow,
    version: i64,
    spec: &'a MetroLineSpec,
}

/// What re-evaluating a line changed: the certificates (URLs) per kind of change.
#[derive(Debug, Clone, Serialize)]
pub struct LineEvaluation {
    pub metro_line: Uuid,
    pub learners_evaluated: usize,
    pub issued: Vec<String>,
    pub suspended: Vec<String>,
    pub reinstated: Vec<String>,
    pub revoked: Vec<String>,
    pub superseded: Vec<String>,
}

/// What moving a line's learners to another version did. `issued` (certificate URLs) is there
/// when stacking finished before the answer (`stacking: done`), absent when the queue judges
/// them (`background`, over [`INLINE_LEARNERS`] learners).
#[derive(Debug, Clone, Serialize)]
pub struct LineMigration {
    pub metro_line: Uuid,
    pub version: i64,
    pub learners_migrated: usize,
    pub stacking: super::Stacking,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<Vec<String>>,
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
    /// What the learners hear about it (written into the outbox in the same transaction).
    mail: Vec<super::mail::Outgoing>,
    /// Certificates judged due, issued together at the end of the round.
    planned: Vec<Planned>,
    /// The queued jobs the round handled, deleted together at its end.
    jobs: Vec<Uuid>,
    /// Lines learners start in this round `(line, learner, version)`, recorded together.
    enrolments: Vec<(Uuid, Learner, i64)>,
    /// Status changes of standing certificates `(certificate, change, reason)`, in the order
    /// judged (a superseded certificate is revoked before its successor is stored).
    changes: Vec<(Uuid, StatusChange, Option<String>)>,
    /// Learners who changed between the round's reads: judged again by a later round.
    again: Vec<Learner>,
    /// The id of each certificate the round plans, per (learner, line, version): a round that
    /// follows a speculative one plans under the same ids, so what was signed early fits.
    ids: HashMap<(Learner, Uuid, i64), Uuid>,
    modules: Modules,
}

impl Round {
    /// The id a new certificate of `who` on `line` at `version` is issued under.
    fn certificate_id(&mut self, who: &Learner, line: Uuid, version: i64) -> Uuid {
        *self.ids.entry((who.clone(), line, version)).or_insert_with(Uuid::now_v7)
    }
}

/// A batch judged on what it read before its lock, with the certificates it expects to issue
/// already built and signed: the slow part of a round, done while the round before it holds
/// the write lock. The round that follows judges again under the lock and uses a signed
/// certificate only if its plan is unchanged and its status slot still free.
pub struct Speculation {
    learners: Vec<Learner>,
    lines: Vec<(MetroLineRow, MetroLineSpec)>,
    prepared: Prepared,
    now: OffsetDateTime,
    mail_keys: std::sync::Arc<crate::service::mail::MailKeys>,
    ids: HashMap<(Learner, Uuid, i64), Uuid>,
    modules: Modules,
    early: HashMap<Uuid, Early>,
}

impl Speculation {
    /// How many certificates were signed ahead of the lock.
    pub fn signed(&self) -> usize {
        self.early.len()
    }
}

/// A certificate signed before its round's lock, with the plan and status slot it was built for.
struct Early {
    plan: Planned,
    slot: (Uuid, i64),
    credential: crate::store::NewCredential,
}

/// What a settled round did, and how many of its certificates were signed ahead of the lock
/// (`signed_early`) or inside it (`signed_late`: plans that changed, slots taken meanwhile).
#[derive(Debug, Default)]
pub struct Settled {
    pub outcomes: Vec<StackOutcome>,
    pub signed_early: usize,
    pub signed_late: usize,
}

/// A certificate judged due in this round, not yet built.
#[derive(Debug, Clone, PartialEq)]
struct Planned {
    id: Uuid,
    who: Learner,
    line: Uuid,
    issuer: Uuid,
    version: i64,
    components: Vec<Component>,
    component_ids: Vec<Uuid>,
    credits: f64,
    recipient: Recipient,
}

impl Planned {
    /// Plans grouped by the issuer that signs them (each issuer's are signed together), in a
    /// fixed issuer order.
    fn by_issuer(planned: Vec<Planned>) -> BTreeMap<Uuid, Vec<Planned>> {
        let mut out: BTreeMap<Uuid, Vec<Planned>> = BTreeMap::new();
        for p in planned {
            out.entry(p.issuer).or_default().push(p);
        }
        out
    }
}

/// An issuer as a certificate's signer.
struct Signer {
    profile: Value,
    signing: crate::service::key::IssuerSigning,
    /// The issuer's e-mail language and address (replies to learners' mail go there).
    lang: crate::domain::lang::Lang,
    email: Option<String>,
}

/// What is known about a learner, read once for all lines.
pub struct LearnerFacts {
    pub held: Vec<Held>,
    pub names: BTreeMap<Uuid, String>,
    pub certs: Vec<CertificateRow>,
    pub enrolments: Vec<EnrolmentRow>,
}

impl LearnerFacts {
    /// The facts in a learner's rows, judged at `now`.
    fn of(rows: &LearnerRows, now: OffsetDateTime, modules: &mut Modules) -> ServiceResult<LearnerFacts> {
        let (held, names) = held_badges(&rows.credentials, now, modules)?;
        Ok(LearnerFacts { held, names, certs: rows.certificates.clone(), enrolments: rows.enrolments.clone() })
    }

    /// The nanomodules the learner holds a valid badge of (the stations done on a progress view).
    pub fn valid_modules(&self) -> std::collections::HashSet<Uuid> {
        self.held.iter().filter(|h| h.standing == Standing::Valid).map(|h| h.nanomodule).collect()
    }

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

/// What stacking needs of a nanomodule version: its name and study hours.
#[derive(Clone)]
struct ModuleFacts {
    name: String,
    hours: f64,
}

/// Nanomodule versions decoded once per round: a cohort's badges mostly share a few versions,
/// and decoding each badge's version spec again was a measurable part of a round.
#[derive(Default)]
pub(super) struct Modules(HashMap<(Uuid, i64), ModuleFacts>);

impl Modules {
    fn of(&mut self, c: &HolderCredential) -> ServiceResult<&ModuleFacts> {
        use std::collections::hash_map::Entry;
        Ok(match self.0.entry((c.nanomodule_id, c.nanomodule_version)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let spec: NanomoduleSpec = decode_spec(&c.version_spec)?;
                e.insert(ModuleFacts { hours: spec.hours(), name: spec.name.unwrap_or_default() })
            }
        })
    }
}

/// The learner's badges as the domain sees them, with module names.
fn held_badges(
    creds: &[HolderCredential],
    now: OffsetDateTime,
    modules: &mut Modules,
) -> ServiceResult<(Vec<Held>, BTreeMap<Uuid, String>)> {
    let mut held = Vec::with_capacity(creds.len());
    let mut names = BTreeMap::new();
    for c in creds {
        let module = modules.of(c)?;
        names.entry(c.nanomodule_id).or_insert_with(|| module.name.clone());
        held.push(Held {
            credential: c.credential_id,
            issuer: c.issuer_id,
            nanomodule: c.nanomodule_id,
            awarded: c.valid_from,
            hours: module.hours,
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
    #[tracing::instrument(skip_all, fields(line = %line))]
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
    #[tracing::instrument(skip_all)]
    pub(super) async fn certificate_name(&self, c: &CredentialRow) -> ServiceResult<String> {
        let (Some(line), Some(version)) = (c.metro_line_id, c.metro_line_version) else {
            return Err(ServiceError::NotFound);
        };
        let spec = self.line_spec(line, version).await?;
        Ok(spec.certificate.and_then(|c| c.name).or(spec.name).unwrap_or_default())
    }

    /// Whether any line (current version) has `nanomodule` as a station: only then does an
    /// award need stacking.
    #[tracing::instrument(skip_all, fields(nanomodule = %nanomodule))]
    pub(super) async fn is_station(&self, nanomodule: Uuid) -> ServiceResult<bool> {
        let id = nanomodule.to_string();
        // Only a line whose spec names the module can have it as a station: the others are
        // not decoded.
        for l in self.store.all_metro_lines().await?.into_iter().filter(|l| l.spec.contains(&id)) {
            let spec: MetroLineSpec = decode_spec(&l.spec)?;
            if spec.stations.contains(&nanomodule) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
