//! Peer groups: created and kept by trainers and issuer admins, read by every member of the
//! issuer; the group's page shows each participant's progress along the line at a glance.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec, encode_spec, patched};
use crate::domain::access::{Action, Principal};
use crate::domain::audit::NewEvent;
use crate::domain::metro_line::MetroLineSpec;
use crate::domain::nanomodule::NanomoduleSpec;
use crate::domain::peer_group::{ParticipantSpec, PeerGroupSpec};
use crate::domain::validate::{FieldError, Invalid};
use crate::store::PeerGroupRow;

/// A group as the API answers it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerGroupView {
    pub id: Uuid,
    pub issuer_id: Uuid,
    #[serde(flatten)]
    pub spec: PeerGroupSpec,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One station of the group's line, with the group's planned session for it.
#[derive(Debug, Clone, Serialize)]
pub struct GroupStation {
    pub nanomodule: Uuid,
    pub name: String,
    pub planned: Option<String>,
    pub location: Option<String>,
}

/// One participant's standing on each station (in the line's order): the badge they hold, if any.
#[derive(Debug, Clone, Serialize)]
pub struct ParticipantProgress {
    #[serde(flatten)]
    pub participant: ParticipantSpec,
    pub badges: Vec<Option<String>>,
}

/// The group with everyone's progress along the line.
#[derive(Debug, Clone, Serialize)]
pub struct GroupProgress {
    #[serde(flatten)]
    pub group: PeerGroupView,
    pub line_name: String,
    pub stations: Vec<GroupStation>,
    pub progress: Vec<ParticipantProgress>,
}

impl Service {
    fn group_view(&self, row: PeerGroupRow) -> ServiceResult<PeerGroupView> {
        Ok(PeerGroupView {
            id: row.group_id,
            issuer_id: row.issuer_id,
            spec: decode_spec(&row.spec)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// The line is the issuer's and every planned session is one of its stations.
    async fn check_group_refs(&self, issuer: Uuid, spec: &PeerGroupSpec) -> ServiceResult<Uuid> {
        let line_id = spec.metro_line.expect("parse requires a line");
        let line = match self.store.metro_line(line_id, None).await? {
            Some(l) if l.issuer_id == issuer => l,
            _ => {
                return Err(Invalid::one(
                    "metro_line",
                    crate::problem!("unknown-line", "{line} is not a metro line of this issuer", line = line_id),
                )
                .into());
            }
        };
        let stations: MetroLineSpec = decode_spec(&line.spec)?;
        let errors: Vec<FieldError> = spec
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, s)| !stations.stations.contains(&s.nanomodule))
            .map(|(i, s)| {
                FieldError::new(
                    format!("sessions[{i}].nanomodule"),
                    crate::problem!("not-a-station", "{id} is not a station of this line", id = s.nanomodule),
                )
            })
            .collect();
        if errors.is_empty() { Ok(line_id) } else { Err(Invalid(errors).into()) }
    }

    /// Trainers and issuer admins make groups (they award from them).
    #[tracing::instrument(skip_all, fields(issuer = %issuer, actor = %who.token_id))]
    pub async fn create_peer_group(
        &self,
        who: &Principal,
        issuer: Uuid,
        spec: PeerGroupSpec,
    ) -> ServiceResult<PeerGroupView> {
        who.check(issuer, Action::Award)?;
        self.issuer_spec(issuer).await?;
        let spec = spec.parse()?;
        let line = self.check_group_refs(issuer, &spec).await?;
        let now = self.now();
        let row = PeerGroupRow {
            group_id: Uuid::now_v7(),
            issuer_id: issuer,
            metro_line_id: line,
            spec: encode_spec(&spec),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_peer_group(&row).await?;
        // The chain keeps a digest of the group, not the participants' addresses.
        let change = serde_json::json!({"metro_line": line, "participants": spec.participants.len()});
        tx.audit(vec![NewEvent::new(&who.actor(), Some(issuer), "peer_group.created", row.group_id, &change)]).await?;
        tx.commit().await?;
        self.group_view(row)
    }

    /// A merge patch of the group (participants and sessions are replaced as lists).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn update_peer_group(&self, who: &Principal, id: Uuid, patch: &Value) -> ServiceResult<PeerGroupView> {
        let row = self.store.peer_group(id).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Award)?;
        let current: PeerGroupSpec = decode_spec(&row.spec)?;
        let spec = patched(&current, patch)?.parse()?;
        let line = self.check_group_refs(row.issuer_id, &spec).await?;
        let mut tx = self.store.begin().await?;
        tx.update_peer_group(id, line, encode_spec(&spec), self.now()).await?;
        let change = serde_json::json!({"metro_line": line, "participants": spec.participants.len()});
        tx.audit(vec![NewEvent::new(&who.actor(), Some(row.issuer_id), "peer_group.updated", id, &change)]).await?;
        tx.commit().await?;
        self.peer_group(who, id).await
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn peer_groups(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<PeerGroupView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        self.store.peer_groups(issuer).await?.into_iter().map(|r| self.group_view(r)).collect()
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn peer_group(&self, who: &Principal, id: Uuid) -> ServiceResult<PeerGroupView> {
        let row = self.store.peer_group(id).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Read)?;
        self.group_view(row)
    }

    /// The group with each participant's standing badge per station (one read per station).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn peer_group_progress(&self, who: &Principal, id: Uuid) -> ServiceResult<GroupProgress> {
        let group = self.peer_group(who, id).await?;
        let line_id = group.spec.metro_line.ok_or(ServiceError::NotFound)?;
        let line = self.store.metro_line(line_id, None).await?.ok_or(ServiceError::NotFound)?;
        let line_spec: MetroLineSpec = decode_spec(&line.spec)?;
        let now = self.now();
        let mut stations = Vec::with_capacity(line_spec.stations.len());
        let mut holders = Vec::with_capacity(line_spec.stations.len());
        for station in &line_spec.stations {
            let name = match self.store.nanomodule_version(*station, None).await? {
                Some(v) => decode_spec::<NanomoduleSpec>(&v.spec)?.name.unwrap_or_default(),
                None => String::new(),
            };
            let plan = group.spec.sessions.iter().find(|s| s.nanomodule == *station);
            stations.push(GroupStation {
                nanomodule: *station,
                name,
                planned: plan.map(|p| p.date.clone()),
                location: plan.and_then(|p| p.location.clone()),
            });
            let held: std::collections::HashMap<String, Uuid> = self
                .store
                .standing_badges_of(*station, now)
                .await?
                .into_iter()
                .filter(|h| h.identity_type == "emailAddress")
                .map(|h| (h.identity, h.credential_id))
                .collect();
            holders.push(held);
        }
        let progress = group
            .spec
            .participants
            .iter()
            .map(|p| ParticipantProgress {
                participant: p.clone(),
                badges: holders
                    .iter()
                    .map(|h| p.email.as_ref().and_then(|e| h.get(e)).map(|c| self.credential_url(*c)))
                    .collect(),
            })
            .collect();
        Ok(GroupProgress { line_name: line_spec.name.unwrap_or_default(), group, stations, progress })
    }
}
