//! Metro lines: definitions (versioned) and a learner's progress along them.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec, encode_spec, patched};
use crate::domain::access::{Action, Principal};
use crate::domain::audit::NewEvent;
use crate::domain::award::{IdentityType, normalise_identity};
use crate::domain::metro_line::MetroLineSpec;
use crate::domain::nanomodule::NanomoduleSpec;
use crate::domain::pathway::{Badge, Evaluation, Explanation, Unusable};
use crate::domain::time::rfc3339;
use crate::domain::validate::{FieldError, Invalid};
use crate::store::{Catalog, MetroLineRow};

#[derive(Debug, Clone, Serialize)]
pub struct MetroLineView {
    pub id: Uuid,
    pub issuer_id: Uuid,
    pub version: i64,
    pub current_version: i64,
    #[serde(flatten)]
    pub spec: MetroLineSpec,
    #[serde(with = "time::serde::rfc3339")]
    pub version_created_at: OffsetDateTime,
}

impl Service {
    fn line_view(&self, row: &MetroLineRow) -> ServiceResult<MetroLineView> {
        Ok(MetroLineView {
            id: row.metro_line_id,
            issuer_id: row.issuer_id,
            version: row.version,
            current_version: row.current_version,
            spec: decode_spec(&row.spec)?,
            version_created_at: row.created_at,
        })
    }

    /// Checks what needs the database: the map is the issuer's, every station a nanomodule of
    /// the issuer or of an issuer the line accepts.
    async fn check_line_refs(&self, issuer: Uuid, spec: &MetroLineSpec) -> ServiceResult<()> {
        let mut errors = Vec::new();
        if let Some(map) = spec.metro_map {
            match self.store.catalog_item(Catalog::MetroMap, map).await? {
                Some(m) if m.issuer_id == issuer => {}
                _ => errors.push(FieldError {
                    field: "metro_map".into(),
                    message: format!("{map} is not a metro map of this issuer"),
                }),
            }
        }
        let allowed: HashSet<Uuid> = spec.accepts_issuers.iter().copied().chain([issuer]).collect();
        for (i, station) in spec.stations.iter().enumerate() {
            match self.store.nanomodule_version(*station, None).await? {
                Some(v) if allowed.contains(&v.issuer_id) => {}
                Some(_) => errors.push(FieldError {
                    field: format!("stations[{i}]"),
                    message: format!("{station} belongs to an issuer this line does not accept (accepts_issuers)"),
                }),
                None => errors.push(FieldError {
                    field: format!("stations[{i}]"),
                    message: format!("{station} is not a nanomodule"),
                }),
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(Invalid(errors).into()) }
    }

    pub async fn create_metro_line(
        &self,
        who: &Principal,
        issuer: Uuid,
        spec: MetroLineSpec,
    ) -> ServiceResult<MetroLineView> {
        who.check(issuer, Action::Manage)?;
        self.issuer_spec(issuer).await?;
        let spec = spec.parse()?;
        self.check_line_refs(issuer, &spec).await?;
        let id = Uuid::now_v7();
        let now = crate::store::now();
        let map = spec.metro_map.expect("parse requires a map");
        let mut tx = self.store.begin().await?;
        tx.insert_metro_line(id, issuer, map, now).await?;
        tx.push_metro_line_version(id, 1, map, encode_spec(&spec), now).await?;
        tx.audit(vec![NewEvent::new(
            &who.actor(),
            Some(issuer),
            "metro_line.created",
            id,
            &json!({"version": 1, "spec": spec}),
        )])
        .await?;
        tx.commit().await?;
        self.metro_line(who, id, None).await
    }

    pub async fn metro_line(&self, who: &Principal, id: Uuid, version: Option<i64>) -> ServiceResult<MetroLineView> {
        let row = self.store.metro_line(id, version).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Read)?;
        self.line_view(&row)
    }

    pub async fn metro_lines(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<MetroLineView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        self.store.metro_lines(issuer).await?.iter().map(|r| self.line_view(r)).collect()
    }

    /// A change makes a new version; certificates and learners keep the version they have.
    pub async fn update_metro_line(&self, who: &Principal, id: Uuid, patch: &Value) -> ServiceResult<MetroLineView> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Manage)?;
        let current: MetroLineSpec = decode_spec(&row.spec)?;
        let spec = patched(&current, patch)?.parse()?;
        self.check_line_refs(row.issuer_id, &spec).await?;
        let version = row.current_version + 1;
        let map = spec.metro_map.expect("parse requires a map");
        let mut tx = self.store.begin().await?;
        tx.push_metro_line_version(id, version, map, encode_spec(&spec), crate::store::now()).await?;
        tx.audit(vec![NewEvent::new(
            &who.actor(),
            Some(row.issuer_id),
            "metro_line.updated",
            id,
            &json!({"version": version, "spec": spec}),
        )])
        .await?;
        tx.commit().await?;
        self.metro_line(who, id, None).await
    }

    /// Where a learner stands on a line (issuer staff only): the explanation of every rule node,
    /// the credentials that counted, and why others did not.
    pub async fn metro_line_progress(
        &self,
        who: &Principal,
        id: Uuid,
        identity_type: &str,
        identity: &str,
    ) -> ServiceResult<Value> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Read)?;
        let kind = IdentityType::parse(identity_type).ok_or_else(|| {
            Invalid::one("identity_type", "must be emailAddress, identifier, sourcedId, systemId or did")
        })?;
        let identity = normalise_identity(kind, identity);
        if identity.is_empty() {
            return Err(Invalid::one("identity", "is required").into());
        }
        let spec: MetroLineSpec = decode_spec(&row.spec)?;
        let now = OffsetDateTime::now_utc();
        let mut badges = Vec::new();
        let mut unusable = Vec::new();
        let mut names = BTreeMap::new();
        for station in &spec.stations {
            if let Some(v) = self.store.nanomodule_version(*station, None).await? {
                let s: NanomoduleSpec = decode_spec(&v.spec)?;
                names.insert(*station, s.name.unwrap_or_default());
            }
        }
        for c in self.store.holder_credentials(kind.as_str(), &identity).await? {
            if !spec.stations.contains(&c.nanomodule_id) {
                continue;
            }
            let reason = if c.revoked_at.is_some() {
                Some("revoked".to_string())
            } else if c.suspended_at.is_some() {
                Some("suspended".to_string())
            } else if let Some(u) = c.valid_until.filter(|u| *u < now) {
                Some(format!("expired on {}", &rfc3339(u)[..10]))
            } else if c.compromised_since.is_some_and(|s| c.created_at >= s) {
                Some("signed by a compromised key".to_string())
            } else {
                None
            };
            match reason {
                Some(reason) => unusable.push(Unusable { nanomodule: c.nanomodule_id, reason }),
                None => {
                    let s: NanomoduleSpec = decode_spec(&c.version_spec)?;
                    badges.push(Badge {
                        credential: c.credential_id,
                        nanomodule: c.nanomodule_id,
                        awarded: c.valid_from,
                        hours: s.hours(),
                    });
                }
            }
        }
        let explanation: Explanation = Evaluation::new(&badges, &unusable, &names).explain(&spec.effective_rule());
        let counted: Vec<String> = explanation.counted.iter().map(|c| self.credential_url(*c)).collect();
        Ok(json!({
            "metro_line": id,
            "version": row.version,
            "identity": identity,
            "satisfied": explanation.satisfied,
            "counted": counted,
            "explanation": explanation,
            "certificate": Value::Null,
        }))
    }
}
