//! Reading and checking the audit trail: admins see every chain, an issuer's auditors and admins
//! their issuer's own; signing tree heads over every chain's head.

use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::{
    Break, ChainChecker, ChainHead, Checkpoint, Event, ExportProof, GENESIS_HASH, HeadProof, LEGACY_CHAIN, LegacyProof,
    NewEvent, PLATFORM_CHAIN, TreeHead, heads_tree, hex_path,
};

/// Whose events a caller reads: everything (`None`) or one issuer's.
pub type AuditScope = Option<Uuid>;

impl Service {
    /// Checks that `who` may read the audit events of `issuer` (or of everyone when `None`).
    pub fn audit_scope(&self, who: &Principal, issuer: Option<Uuid>) -> ServiceResult<AuditScope> {
        if who.role == Role::Trainer {
            return Err(ServiceError::Forbidden);
        }
        match (who.is_admin(), issuer, who.issuer_id) {
            (true, i, _) => Ok(i),
            (false, Some(i), _) => {
                who.check(i, Action::Read)?;
                Ok(Some(i))
            }
            (false, None, own) => Ok(own),
        }
    }

    /// A page of events after storage position `after`, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn audit_events(&self, scope: AuditScope, after: i64, limit: i64) -> ServiceResult<Vec<Event>> {
        Ok(match scope {
            Some(i) => self.store.audit_page_of(&i.to_string(), after, limit).await?,
            None => self.store.audit_page(after, limit).await?,
        })
    }

    /// Events matching `filter`, oldest first, from storage position `after`: at most `limit`,
    /// and the position to continue from when more may match. One request reads at most
    /// [`SEARCH_SCAN`] events, so a filter matching nothing cannot make it scan the whole trail;
    /// the cursor then continues where the scan stopped.
    #[tracing::instrument(skip_all, fields(scope = ?scope, after))]
    pub async fn audit_search(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
        after: i64,
        limit: usize,
    ) -> ServiceResult<(Vec<Event>, Option<i64>)> {
        let mut found = Vec::new();
        let mut cursor = after;
        let mut scanned = 0;
        loop {
            let page = self.audit_events(scope, cursor, SEARCH_PAGE).await?;
            let Some(last) = page.last() else { return Ok((found, None)) };
            let full = page.len() as i64 == SEARCH_PAGE;
            cursor = last.position;
            for e in page {
                scanned += 1;
                if filter.matches(&e) {
                    found.push(e);
                    if found.len() == limit {
                        let next = found.last().map(|e| e.position);
                        return Ok((found, next));
                    }
                }
            }
            if !full {
                return Ok((found, None));
            }
            if scanned >= SEARCH_SCAN {
                return Ok((found, Some(cursor)));
            }
        }
    }

    /// Checks the caller's part of the trail: an issuer's auditor or admin their issuer's chain,
    /// the platform admin every chain and every checkpoint.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id))]
    pub async fn audit_verify(&self, who: &Principal, issuer: Option<Uuid>) -> ServiceResult<AuditReport> {
        let scope = self.audit_scope(who, issuer)?;
        self.audit_check(scope).await
    }

    /// Recomputes the chains in `scope` (every chain when `None`) page by page, so memory stays
    /// flat however long they are, and checks them against the signed checkpoints.
    #[tracing::instrument(skip_all, fields(scope = ?scope))]
    pub async fn audit_check(&self, scope: AuditScope) -> ServiceResult<AuditReport> {
        let close = self.store.legacy_close().await?;
        let origin = close.as_ref().map(|c| c.root.clone()).unwrap_or_else(|| GENESIS_HASH.to_string());
        let mut report = AuditReport {
            ok: true,
            scope: scope.map(|i| i.to_string()).unwrap_or_else(|| "all".into()),
            events_checked: 0,
            first_break: None,
            chains: Vec::new(),
            checkpoint: None,
            legacy_checkpoints_checked: 0,
            problems: Vec::new(),
        };
        let chains = match scope {
            None => self.store.audit_chains().await?,
            Some(i) => vec![i.to_string()],
        };
        for chain in chains.iter().filter(|c| *c != LEGACY_CHAIN) {
            let mut checker = ChainChecker::starting_at(&origin);
            self.walk_chain(chain, &mut checker).await?;
            report.add(chain, checker);
        }
        let legacy = self.store.legacy_hashes().await?;
        if !legacy.is_empty() {
            self.check_legacy(scope, &legacy, close.as_ref(), &mut report).await?;
        }
        self.check_tree_heads(scope, close.as_ref(), &mut report).await?;
        report.ok = report.first_break.is_none() && report.problems.is_empty();
        Ok(report)
    }

    async fn walk_chain(&self, chain: &str, checker: &mut ChainChecker) -> ServiceResult<()> {
        let mut after = 0;
        loop {
            let page = self.store.audit_chain_page(chain, after, 1000).await?;
            let Some(last) = page.last() else { return Ok(()) };
            after = last.seq;
            for e in &page {
                checker.push(e);
            }
            if checker.first_break.is_some() {
                return Ok(());
            }
        }
    }

    /// The legacy chain: whole (admin), or an issuer's events in it; either way its events must
    /// still give the root that closed it.
    async fn check_legacy(
        &self,
        scope: AuditScope,
        legacy: &[String],
        close: Option<&crate::store::ChainClose>,
        report: &mut AuditReport,
    ) -> ServiceResult<()> {
        let mut checker = ChainChecker::default();
        match scope {
            None => self.walk_chain(LEGACY_CHAIN, &mut checker).await?,
            Some(i) => {
                // Only the issuer's own events, each recomputed; links run through others'.
                let mut after = 0;
                loop {
                    let page = self.store.audit_page_of(&i.to_string(), after, 1000).await?;
                    let Some(last) = page.last() else { break };
                    after = last.position;
                    for e in page.iter().filter(|e| e.chain == LEGACY_CHAIN) {
                        checker.checked += 1;
                        if checker.first_break.is_none() && e.expected_hash() != e.hash {
                            checker.first_break = Some(Break {
                                chain: LEGACY_CHAIN.into(),
                                seq: e.seq,
                                expected_hash: e.expected_hash(),
                                found_hash: e.hash.clone(),
                            });
                        }
                    }
                }
            }
        }
        report.add(LEGACY_CHAIN, checker);
        if let Some(close) = close {
            let root = hex::encode(crate::domain::audit::legacy_root(legacy.iter().cloned()).root());
            if legacy.len() as i64 != close.seq || root != close.root {
                report.problems.push(format!(
                    "the legacy chain no longer gives the root that closed it ({} events now, {} when closed): \
                     history was rewritten",
                    legacy.len(),
                    close.seq
                ));
            }
        }
        if scope.is_none() {
            for c in self.checkpoints().await? {
                report.legacy_checkpoints_checked += 1;
                let on_chain = legacy.get((c.seq - 1).max(0) as usize).is_some_and(|h| *h == c.hash);
                if !c.signature_valid() || !on_chain {
                    report.problems.push(format!("legacy checkpoint at seq {} does not match the chain", c.seq));
                }
            }
        }
        Ok(())
    }

    /// Every tree head's signature and root; the newest one's heads against the events (for an
    /// issuer: their own head and the legacy root only).
    async fn check_tree_heads(
        &self,
        scope: AuditScope,
        close: Option<&crate::store::ChainClose>,
        report: &mut AuditReport,
    ) -> ServiceResult<()> {
        let rows = self.store.tree_heads().await?;
        let checked = rows.len();
        let Some(newest) = rows.last() else { return Ok(()) };
        for row in &rows {
            let (head, heads) = tree_head(row)?;
            let mut sorted = heads.clone();
            let root_valid = hex::encode(heads_tree(&mut sorted).root()) == head.root && sorted == heads;
            if !head.signature_valid() || !root_valid {
                report.problems.push(format!("checkpoint {} is not validly signed over its chain heads", head.number));
            }
        }
        let (head, heads) = tree_head(newest)?;
        let mut heads_on_chain = true;
        for h in heads.iter().filter(|h| scope.is_none_or(|i| h.chain == i.to_string() || h.chain == LEGACY_CHAIN)) {
            let found = if h.chain == LEGACY_CHAIN {
                close.map(|c| c.root.clone())
            } else {
                self.store.audit_event_at(&h.chain, h.seq).await?.map(|e| e.hash)
            };
            if found.as_deref() != Some(h.hash.as_str()) {
                heads_on_chain = false;
                report.problems.push(format!(
                    "chain {} at seq {}: checkpoint {} signs a different head: history was rewritten",
                    h.chain, h.seq, head.number
                ));
            }
        }
        report.checkpoint = Some(TreeHeadCheck {
            number: head.number,
            time: head.time.clone(),
            checked,
            signature_valid: head.signature_valid(),
            heads_on_chain,
        });
        Ok(())
    }

    /// What makes an export of `scope` checkable offline: the newest tree head, the paths of
    /// the exported chains' heads (and the legacy root), and the paths of exported legacy events
    /// (those after position `after`). `None` before the first checkpoint.
    #[tracing::instrument(skip_all)]
    pub async fn export_proof(&self, scope: AuditScope, after: i64) -> ServiceResult<Option<ExportProof>> {
        let Some(row) = self.store.tree_heads().await?.pop() else { return Ok(None) };
        let (checkpoint, heads) = tree_head(&row)?;
        let tree = crate::domain::merkle::Tree::new(heads.iter().map(ChainHead::leaf).collect());
        let wanted = |h: &ChainHead| scope.is_none_or(|i| h.chain == i.to_string() || h.chain == LEGACY_CHAIN);
        let head_proofs = heads
            .iter()
            .enumerate()
            .filter(|(_, h)| wanted(h))
            .map(|(i, h)| HeadProof { head: h.clone(), index: i as u64, path: hex_path(&tree.proof(i as u64)) })
            .collect();
        let mut legacy_events = Vec::new();
        if scope.is_some() || after > 0 {
            let hashes = self.store.legacy_hashes().await?;
            let seqs: Vec<i64> = match scope {
                Some(i) => self.store.legacy_seqs_of(&i.to_string(), after).await?,
                None => (after + 1..=hashes.len() as i64).collect(),
            };
            if !seqs.is_empty() {
                let legacy = crate::domain::audit::legacy_root(hashes);
                legacy_events = seqs
                    .into_iter()
                    .map(|s| LegacyProof { seq: s, path: hex_path(&legacy.proof(s as u64 - 1)) })
                    .collect();
            }
        }
        Ok(Some(ExportProof { checkpoint, heads: head_proofs, legacy_events }))
    }
}

/// A stored tree head and its chain heads.
fn tree_head(row: &crate::store::TreeHeadRow) -> ServiceResult<(TreeHead, Vec<ChainHead>)> {
    let heads: Vec<ChainHead> = serde_json::from_str(&row.heads)
        .map_err(|e| ServiceError::Internal(format!("tree head {} has unreadable heads: {e}", row.number)))?;
    let public: [u8; 32] = row
        .public_key
        .as_slice()
        .try_into()
        .map_err(|_| ServiceError::Internal("platform key of the wrong length".into()))?;
    Ok((
        TreeHead {
            number: row.number,
            size: row.size as u64,
            root: row.root.clone(),
            time: row.signed_at.clone(),
            signature: row.signature.clone(),
            public_key: crate::credential::multikey::encode(&public),
        },
        heads,
    ))
}

/// Events read per page while searching.
const SEARCH_PAGE: i64 = 500;
/// Most events one search request reads.
const SEARCH_SCAN: usize = 20_000;

/// What an auditor looks for in the trail; every part optional, all must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// From this moment on (inclusive).
    pub from: Option<time::OffsetDateTime>,
    /// Before this moment (exclusive).
    pub to: Option<time::OffsetDateTime>,
    /// The action, or its start (`credential.` finds every status change).
    pub action: Option<String>,
    /// The actor's token id, or `console:<account>`, or its start.
    pub actor: Option<String>,
    /// The subject's id, exactly.
    pub subject: Option<String>,
}

impl AuditFilter {
    pub fn matches(&self, e: &Event) -> bool {
        let at = crate::domain::time::parse_rfc3339(&e.occurred_at);
        self.from.is_none_or(|from| at.is_some_and(|t| t >= from))
            && self.to.is_none_or(|to| at.is_some_and(|t| t < to))
            && self.action.as_deref().is_none_or(|a| e.action.starts_with(a))
            && self.actor.as_deref().is_none_or(|a| e.actor_token.starts_with(a))
            && self.subject.as_deref().is_none_or(|s| e.subject_id == s)
    }
}

/// One chain's check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainCheck {
    /// An issuer's id, `platform` or `legacy`.
    pub chain: String,
    pub events_checked: u64,
    pub ok: bool,
}

/// The newest signed checkpoint, checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TreeHeadCheck {
    pub number: i64,
    pub time: String,
    /// How many checkpoints had their signature and root checked.
    pub checked: usize,
    pub signature_valid: bool,
    /// The heads it signs (in scope) are the heads of the stored chains at those positions.
    pub heads_on_chain: bool,
}

/// What a check of the trail found. The first break names the chain (the issuer) and the
/// sequence number in it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditReport {
    pub ok: bool,
    /// `all`, or the issuer whose chain was checked.
    pub scope: String,
    pub events_checked: u64,
    pub first_break: Option<Break>,
    pub chains: Vec<ChainCheck>,
    pub checkpoint: Option<TreeHeadCheck>,
    pub legacy_checkpoints_checked: usize,
    pub problems: Vec<String>,
}

impl AuditReport {
    fn add(&mut self, chain: &str, checker: ChainChecker) {
        self.events_checked += checker.checked;
        let ok = checker.first_break.is_none();
        if self.first_break.is_none() {
            self.first_break = checker.first_break;
        }
        self.chains.push(ChainCheck { chain: chain.to_string(), events_checked: checker.checked, ok });
    }
}

impl Service {
    /// The platform's checkpoint key (generated and sealed on first use).
    async fn platform_key(&self) -> ServiceResult<(Uuid, ed25519_dalek::SigningKey)> {
        let master = self.master_key.clone();
        let row = self
            .store
            .platform_key(|id| {
                let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
                (key.verifying_key().to_bytes().to_vec(), master.seal(&key.to_bytes(), id.as_bytes()))
            })
            .await?;
        let seed = self.master_key.open(&row.sealed_secret, row.key_id.as_bytes())?;
        let seed: [u8; 32] = seed.as_slice().try_into().map_err(|_| crate::master_key::MasterKeyError::Open)?;
        Ok((row.key_id, ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// The public checkpoint key as a Multikey value.
    #[tracing::instrument(skip_all)]
    pub async fn audit_public_key(&self) -> ServiceResult<String> {
        let (_, key) = self.platform_key().await?;
        Ok(crate::credential::multikey::encode(&key.verifying_key().to_bytes()))
    }

    /// Signs a tree head over every chain's current head (closing the legacy chain first if
    /// that has not happened yet) and records it as an event of the platform chain. `None` when
    /// nothing changed since the newest tree head. `who` is `None` for the periodic checkpoints.
    #[tracing::instrument(skip_all)]
    pub async fn create_checkpoint(&self, who: Option<&Principal>) -> ServiceResult<Option<TreeHead>> {
        if let Some(p) = who {
            p.check_admin()?;
        }
        let (key_id, key) = self.platform_key().await?;
        let actor = who.map(|p| p.actor()).unwrap_or_else(crate::domain::audit::Actor::service);
        let mut tx = self.store.begin().await?;
        tx.audit_origin().await?;
        let mut heads = tx.audit_heads().await?;
        if let Some(c) = tx.legacy_close().await? {
            heads.push(ChainHead { chain: LEGACY_CHAIN.into(), seq: c.seq, hash: c.root });
        }
        if heads.is_empty() {
            return Ok(None);
        }
        let newest = tx.newest_tree_head().await?;
        let tree = heads_tree(&mut heads);
        if let Some(n) = &newest
            && only_own_event_since(&tree_head(n)?.1, &heads)
        {
            return Ok(None);
        }
        let number = newest.map(|n| n.number + 1).unwrap_or(1);
        let root = hex::encode(tree.root());
        let time = crate::domain::time::rfc3339(self.now());
        let message = TreeHead::message(number, tree.size(), &root, &time);
        use ed25519_dalek::Signer;
        let signature = format!("z{}", bs58::encode(key.sign(message.as_bytes()).to_bytes()).into_string());
        let row = crate::store::TreeHeadRow {
            number,
            size: tree.size() as i64,
            root: root.clone(),
            heads: serde_json::to_string(&heads).expect("heads serialise"),
            signed_at: time.clone(),
            signature: signature.clone(),
            public_key: key.verifying_key().to_bytes().to_vec(),
        };
        if !tx.insert_tree_head(&row, key_id).await? {
            return Ok(None);
        }
        let mut event = NewEvent::new(&actor, None, "audit.checkpoint", number, &serde_json::json!({}));
        event.change_digest = crate::domain::audit::sha256_hex(message.as_bytes());
        tx.audit(vec![event]).await?;
        tx.commit().await?;
        let public_key = crate::credential::multikey::encode(&key.verifying_key().to_bytes());
        Ok(Some(TreeHead { number, size: tree.size(), root, time, signature, public_key }))
    }

    /// The public tree heads (without the chain heads, which would tell every issuer's volume).
    #[tracing::instrument(skip_all)]
    pub async fn tree_heads(&self) -> ServiceResult<Vec<TreeHead>> {
        self.store.tree_heads().await?.iter().map(|r| tree_head(r).map(|(t, _)| t)).collect()
    }

    /// Checkpoints of the legacy chain, signed before chains were split.
    #[tracing::instrument(skip_all)]
    pub async fn checkpoints(&self) -> ServiceResult<Vec<Checkpoint>> {
        Ok(self
            .store
            .checkpoints()
            .await?
            .into_iter()
            .filter_map(|c| {
                let public: [u8; 32] = c.public_key.as_slice().try_into().ok()?;
                Some(Checkpoint {
                    seq: c.seq,
                    hash: c.hash,
                    time: c.signed_at,
                    signature: c.signature,
                    public_key: crate::credential::multikey::encode(&public),
                })
            })
            .collect())
    }
}

/// True when the only change since a tree head over `then` is that tree head's own event on
/// the platform chain (so periodic checkpoints of an idle service sign nothing new).
fn only_own_event_since(then: &[ChainHead], now: &[ChainHead]) -> bool {
    let others =
        |hs: &[ChainHead]| -> Vec<ChainHead> { hs.iter().filter(|h| h.chain != PLATFORM_CHAIN).cloned().collect() };
    let platform = |hs: &[ChainHead]| hs.iter().find(|h| h.chain == PLATFORM_CHAIN).map(|h| h.seq).unwrap_or(0);
    others(then) == others(now) && platform(now) == platform(then) + 1
}

/// How an issuance report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportGroup {
    Month,
    Nanomodule,
    Trainer,
}

/// How many of each in one group (or in all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReportCounts {
    pub awards: usize,
    pub credentials: usize,
    pub certificates: usize,
    pub revocations: usize,
    pub suspensions: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportRow {
    pub group: String,
    #[serde(flatten)]
    pub counts: ReportCounts,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainerAwards {
    pub trainer: String,
    pub awards: usize,
}

/// An issuer's issuance in a period, grouped.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuanceReport {
    pub issuer: Uuid,
    pub from: String,
    pub to: String,
    pub group: ReportGroup,
    pub groups: Vec<ReportRow>,
    pub totals: ReportCounts,
    pub awards_per_trainer: Vec<TrainerAwards>,
    /// The managers' impact reviews in the period: come due, answered, answered "yes".
    pub impact_reviews: ImpactTotals,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImpactTotals {
    pub due: i64,
    pub answered: i64,
    pub applied: i64,
}

fn month(t: time::OffsetDateTime) -> String {
    format!("{:04}-{:02}", t.year(), t.month() as u8)
}

impl Service {
    /// A report group's name: the module's (or, for certificates, the metro line's) current
    /// name, looked up once per report.
    async fn group_name(
        &self,
        cache: &mut std::collections::HashMap<Uuid, String>,
        id: Uuid,
        line: bool,
    ) -> ServiceResult<String> {
        if let Some(n) = cache.get(&id) {
            return Ok(n.clone());
        }
        let name = if line {
            match self.store.metro_line(id, None).await? {
                Some(l) => format!(
                    "{} (metro line)",
                    super::decode_spec::<crate::domain::metro_line::MetroLineSpec>(&l.spec)?.name.unwrap_or_default()
                ),
                None => id.to_string(),
            }
        } else {
            match self.store.nanomodule_version(id, None).await? {
                Some(v) => {
                    super::decode_spec::<crate::domain::nanomodule::NanomoduleSpec>(&v.spec)?.name.unwrap_or_default()
                }
                None => id.to_string(),
            }
        };
        cache.insert(id, name.clone());
        Ok(name)
    }

    /// Counts of awards, credentials, certificates, revocations and suspensions for an issuer
    /// in `[from, to)`, grouped by month, nanomodule or awarding member, plus awards per trainer.
    #[tracing::instrument(skip_all, fields(issuer = %issuer, group = ?group))]
    pub async fn issuance_report(
        &self,
        who: &Principal,
        issuer: Uuid,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
        group: ReportGroup,
    ) -> ServiceResult<IssuanceReport> {
        let scope = self.audit_scope(who, Some(issuer))?;
        let issuer = scope.unwrap_or(issuer);
        self.issuer_spec(issuer).await?;
        let facts = self.store.issuance_facts(issuer, from, to).await?;
        let members: std::collections::HashMap<Uuid, String> =
            self.store.members_all(issuer).await?.into_iter().map(|m| (m.member_id, m.name)).collect();
        let who_awarded = |f: &crate::store::IssuanceFact| match f.member_id {
            Some(m) => members.get(&m).cloned().unwrap_or_else(|| m.to_string()),
            None => format!("{} ({})", f.actor_role, f.actor_token),
        };
        let mut names = std::collections::HashMap::new();
        let mut rows: std::collections::BTreeMap<String, [std::collections::BTreeSet<Uuid>; 5]> = Default::default();
        let mut per_trainer: std::collections::BTreeMap<String, std::collections::BTreeSet<Uuid>> = Default::default();
        for f in &facts {
            let key = match group {
                ReportGroup::Month => month(f.created_at),
                ReportGroup::Nanomodule => self.group_name(&mut names, f.nanomodule_id, false).await?,
                ReportGroup::Trainer => who_awarded(f),
            };
            let row = rows.entry(key).or_default();
            row[0].insert(f.award_id);
            row[1].insert(f.credential_id);
            if f.revoked_at.is_some() {
                row[2].insert(f.credential_id);
            }
            if f.suspended_at.is_some() && f.revoked_at.is_none() {
                row[3].insert(f.credential_id);
            }
            if f.actor_role == "trainer" {
                per_trainer.entry(who_awarded(f)).or_default().insert(f.award_id);
            }
        }
        // Partial certificates: issued by the service, grouped by month, by their line, or under
        // the service as "trainer".
        for c in self.store.certificates_issued(issuer, from, to).await? {
            let key = match group {
                ReportGroup::Month => month(c.created_at),
                ReportGroup::Nanomodule => self.group_name(&mut names, c.metro_line_id, true).await?,
                ReportGroup::Trainer => "service (automatic certificates)".to_string(),
            };
            let row = rows.entry(key).or_default();
            row[4].insert(c.credential_id);
            if c.revoked_at.is_some() {
                row[2].insert(c.credential_id);
            }
            if c.suspended_at.is_some() && c.revoked_at.is_none() {
                row[3].insert(c.credential_id);
            }
        }
        let counts = |r: &[std::collections::BTreeSet<Uuid>; 5]| ReportCounts {
            awards: r[0].len(),
            credentials: r[1].len(),
            certificates: r[4].len(),
            revocations: r[2].len(),
            suspensions: r[3].len(),
        };
        let groups: Vec<ReportRow> =
            rows.iter().map(|(k, r)| ReportRow { group: k.clone(), counts: counts(r) }).collect();
        let totals = groups.iter().fold(ReportCounts::default(), |t, g| ReportCounts {
            awards: t.awards + g.counts.awards,
            credentials: t.credentials + g.counts.credentials,
            certificates: t.certificates + g.counts.certificates,
            revocations: t.revocations + g.counts.revocations,
            suspensions: t.suspensions + g.counts.suspensions,
        });
        let awards_per_trainer =
            per_trainer.into_iter().map(|(trainer, a)| TrainerAwards { trainer, awards: a.len() }).collect();
        let p = self.store.impact_in_period(issuer, from, to).await?;
        Ok(IssuanceReport {
            issuer,
            from: crate::domain::time::rfc3339(from),
            to: crate::domain::time::rfc3339(to),
            group,
            groups,
            totals,
            awards_per_trainer,
            impact_reviews: ImpactTotals { due: p.due, answered: p.answered, applied: p.applied },
        })
    }
}
