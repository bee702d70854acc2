//! Reading the audit chain: admins see every event, an issuer's auditors and admins its own.

use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::access::{Action, Principal, Role};
use crate::domain::audit::{Checkpoint, Event, NewEvent};
use crate::store::ChainReport;

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

    /// A page of events after sequence number `after`, oldest first.
    pub async fn audit_events(&self, scope: AuditScope, after: i64, limit: i64) -> ServiceResult<Vec<Event>> {
        Ok(match scope {
            Some(i) => self.store.audit_page_of(&i.to_string(), after, limit).await?,
            None => self.store.audit_page(after, limit).await?,
        })
    }

    /// Recomputes the chain (it is one chain for the whole platform).
    pub async fn audit_verify(&self, who: &Principal) -> ServiceResult<ChainReport> {
        self.audit_scope(who, None)?;
        Ok(self.store.audit_verify().await?)
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
    pub async fn audit_public_key(&self) -> ServiceResult<String> {
        let (_, key) = self.platform_key().await?;
        Ok(crate::credential::multikey::encode(&key.verifying_key().to_bytes()))
    }

    /// Signs the current chain head and records the checkpoint as a chain event itself.
    /// `who` is `None` for the service's own periodic checkpoints.
    pub async fn create_checkpoint(&self, who: Option<&Principal>) -> ServiceResult<Option<Checkpoint>> {
        if let Some(p) = who {
            p.check_admin()?;
        }
        let (key_id, key) = self.platform_key().await?;
        let actor = who.map(|p| p.actor()).unwrap_or_else(crate::domain::audit::Actor::service);
        let mut tx = self.store.begin().await?;
        let Some((seq, hash)) = tx.audit_head().await? else { return Ok(None) };
        let time = crate::domain::time::rfc3339(crate::store::now());
        let message = Checkpoint::message(seq, &hash, &time);
        use ed25519_dalek::Signer;
        let signature = format!("z{}", bs58::encode(key.sign(message.as_bytes()).to_bytes()).into_string());
        if !tx.insert_checkpoint(seq, &hash, &time, key_id, &signature).await? {
            return Ok(None);
        }
        let mut event = NewEvent::new(&actor, None, "audit.checkpoint", seq, &serde_json::json!({}));
        event.change_digest = crate::domain::audit::sha256_hex(message.as_bytes());
        tx.audit(vec![event]).await?;
        tx.commit().await?;
        let public_key = crate::credential::multikey::encode(&key.verifying_key().to_bytes());
        Ok(Some(Checkpoint { seq, hash, time, signature, public_key }))
    }

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

/// How an issuance report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportGroup {
    Month,
    Nanomodule,
    Trainer,
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
    pub async fn issuance_report(
        &self,
        who: &Principal,
        issuer: Uuid,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
        group: ReportGroup,
    ) -> ServiceResult<serde_json::Value> {
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
        let mut totals = [0usize; 5];
        let groups: Vec<serde_json::Value> = rows
            .into_iter()
            .map(|(k, r)| {
                for (t, set) in totals.iter_mut().zip(&r) {
                    *t += set.len();
                }
                serde_json::json!({"group": k, "awards": r[0].len(), "credentials": r[1].len(), "certificates": r[4].len(),
                                   "revocations": r[2].len(), "suspensions": r[3].len()})
            })
            .collect();
        let trainers: Vec<serde_json::Value> =
            per_trainer.into_iter().map(|(t, a)| serde_json::json!({"trainer": t, "awards": a.len()})).collect();
        Ok(serde_json::json!({
            "issuer": issuer,
            "from": crate::domain::time::rfc3339(from),
            "to": crate::domain::time::rfc3339(to),
            "group": group,
            "groups": groups,
            "totals": {"awards": totals[0], "credentials": totals[1], "certificates": totals[4],
                       "revocations": totals[2], "suspensions": totals[3]},
            "awards_per_trainer": trainers,
        }))
    }
}
