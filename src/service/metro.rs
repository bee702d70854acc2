//! Metro lines: definitions (versioned) and a learner's progress along them.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec, encode_spec, patched};
use crate::domain::access::{Action, Principal};
use crate::domain::audit::NewEvent;
use crate::domain::metro_line::{MetroLineSpec, MetroMapSpec};
use crate::domain::nanomodule::NanomoduleSpec;
use crate::domain::pathway::Explanation;
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
    /// the issuer or of an issuer the line accepts, and every accepted issuer a partner that
    /// consented (an accepted partnership).
    async fn check_line_refs(&self, issuer: Uuid, spec: &MetroLineSpec) -> ServiceResult<()> {
        self.check_line_refs_with(issuer, spec, None).await
    }

    /// [`Self::check_line_refs`], where `new_map` is a map made in the same transaction.
    async fn check_line_refs_with(
        &self,
        issuer: Uuid,
        spec: &MetroLineSpec,
        new_map: Option<Uuid>,
    ) -> ServiceResult<()> {
        let mut errors = Vec::new();
        let partners: HashSet<Uuid> = self.store.accepted_partners(issuer).await?.into_iter().collect();
        for (i, other) in spec.accepts_issuers.iter().enumerate() {
            if *other != issuer && !partners.contains(other) {
                errors.push(FieldError::new(
                    format!("accepts_issuers[{i}]"),
                    crate::problem!(
                        "not-a-partner",
                        "{other} has not accepted a partnership with this issuer (ask through /partnerships first)",
                        other = other
                    ),
                ));
            }
        }
        if let Some(map) = spec.metro_map.filter(|m| Some(*m) != new_map) {
            match self.store.catalog_item(Catalog::MetroMap, map).await? {
                Some(m) if m.issuer_id == issuer => {}
                _ => errors.push(FieldError::new(
                    "metro_map",
                    crate::problem!("unknown-map", "{map} is not a metro map of this issuer", map = map),
                )),
            }
        }
        let marked = spec.certificate.as_ref().is_some_and(|c| c.micro_credential.is_some());
        errors.extend(self.micro_credential_country(issuer, marked).await?);
        let allowed: HashSet<Uuid> = spec.accepts_issuers.iter().copied().chain([issuer]).collect();
        for (i, station) in spec.stations.iter().enumerate() {
            match self.store.nanomodule_version(*station, None).await? {
                Some(v) if allowed.contains(&v.issuer_id) => {}
                Some(_) => errors.push(FieldError::new(
                    format!("stations[{i}]"),
                    crate::problem!(
                        "station-not-accepted",
                        "{station} belongs to an issuer this line does not accept (accepts_issuers)",
                        station = station
                    ),
                )),
                None => errors.push(FieldError::new(
                    format!("stations[{i}]"),
                    crate::problem!("unknown-nanomodule", "{station} is not a nanomodule", station = station),
                )),
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(Invalid(errors).into()) }
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn create_metro_line(
        &self,
        who: &Principal,
        issuer: Uuid,
        spec: MetroLineSpec,
    ) -> ServiceResult<MetroLineView> {
        self.create_line(who, issuer, spec, None).await
    }

    /// A new line on a new metro map, both made in one transaction (or neither).
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn create_metro_line_on_new_map(
        &self,
        who: &Principal,
        issuer: Uuid,
        map: MetroMapSpec,
        mut spec: MetroLineSpec,
    ) -> ServiceResult<MetroLineView> {
        let map = map.parse().map_err(|Invalid(errors)| {
            Invalid(errors.into_iter().map(|e| e.clone().at(format!("new_map.{}", e.field))).collect())
        })?;
        let id = Uuid::now_v7();
        spec.metro_map = Some(id);
        self.create_line(who, issuer, spec, Some((id, map))).await
    }

    #[tracing::instrument(skip_all, fields(issuer = %issuer, actor = %who.token_id))]
    async fn create_line(
        &self,
        who: &Principal,
        issuer: Uuid,
        spec: MetroLineSpec,
        new_map: Option<(Uuid, MetroMapSpec)>,
    ) -> ServiceResult<MetroLineView> {
        who.check(issuer, Action::Manage)?;
        self.issuer_spec(issuer).await?;
        let spec = spec.parse()?;
        self.check_line_refs_with(issuer, &spec, new_map.as_ref().map(|(id, _)| *id)).await?;
        let id = Uuid::now_v7();
        let now = self.now();
        let map = spec.metro_map.expect("parse requires a map");
        let mut tx = self.store.begin().await?;
        let mut events = vec![];
        if let Some((map_id, map_spec)) = &new_map {
            tx.insert_catalog(Catalog::MetroMap, *map_id, issuer, encode_spec(map_spec), now).await?;
            events.push(NewEvent::new(
                &who.actor(),
                Some(issuer),
                "metro_map.created",
                *map_id,
                &serde_json::to_value(map_spec).expect("spec"),
            ));
        }
        tx.insert_metro_line(id, issuer, map, now).await?;
        tx.push_metro_line_version(id, 1, map, encode_spec(&spec), now).await?;
        events.push(NewEvent::new(
            &who.actor(),
            Some(issuer),
            "metro_line.created",
            id,
            &json!({"version": 1, "spec": spec}),
        ));
        tx.audit(events).await?;
        tx.commit().await?;
        self.metro_line(who, id, None).await
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn metro_line(&self, who: &Principal, id: Uuid, version: Option<i64>) -> ServiceResult<MetroLineView> {
        let row = self.store.metro_line(id, version).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Read)?;
        self.line_view(&row)
    }

    #[tracing::instrument(skip_all, fields(actor = %who.token_id, issuer = %issuer))]
    pub async fn metro_lines(&self, who: &Principal, issuer: Uuid) -> ServiceResult<Vec<MetroLineView>> {
        who.check(issuer, Action::Read)?;
        self.issuer_spec(issuer).await?;
        self.store.metro_lines(issuer).await?.iter().map(|r| self.line_view(r)).collect()
    }

    /// A change makes a new version; certificates and learners keep the version they have.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn update_metro_line(&self, who: &Principal, id: Uuid, patch: &Value) -> ServiceResult<MetroLineView> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Manage)?;
        let current: MetroLineSpec = decode_spec(&row.spec)?;
        let spec = patched(&current, patch)?.parse()?;
        self.check_line_refs(row.issuer_id, &spec).await?;
        let version = row.current_version + 1;
        let map = spec.metro_map.expect("parse requires a map");
        let mut tx = self.store.begin().await?;
        tx.push_metro_line_version(id, version, map, encode_spec(&spec), self.now()).await?;
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
    /// the credentials that counted, why others did not, and the certificate once issued.
    #[tracing::instrument(skip_all, fields(actor = %who.token_id, id = %id))]
    pub async fn metro_line_progress(
        &self,
        who: &Principal,
        id: Uuid,
        identity_type: &str,
        identity: &str,
    ) -> ServiceResult<LearnerLineProgress> {
        let row = self.store.metro_line(id, None).await?.ok_or(ServiceError::NotFound)?;
        who.check(row.issuer_id, Action::Read)?;
        let issuer = row.issuer_id;
        let learner = self.learner(identity_type, identity, "")?;
        let identity = learner.identity.clone();
        let facts = self.learner_facts(&learner).await?;
        // Only learners this issuer awarded itself: staff cannot probe which of a partner's
        // badges an arbitrary address holds.
        if !facts.held.iter().any(|h| h.issuer == issuer) && !facts.certs.iter().any(|c| c.issuer_id == issuer) {
            return Err(ServiceError::NotFound);
        }
        let facts = facts.as_seen_by(issuer);
        let mut p = self.progress_on(row, &facts, true).await?.ok_or(ServiceError::NotFound)?;
        // Partner badges count (the explanation says done or not per station), but their
        // URLs stay with the partner.
        let own: HashSet<Uuid> = facts.held.iter().filter(|h| h.issuer == issuer).map(|h| h.credential).collect();
        keep_counted(&mut p.explanation, &own);
        let counted: Vec<String> = p.explanation.counted.iter().map(|c| self.credential_url(*c)).collect();
        let certificate = match &p.certificate {
            Some(c) => Some(self.credential_status(c.credential_id).await?),
            None => None,
        };
        Ok(LearnerLineProgress {
            metro_line: id,
            name: p.spec.name.clone().unwrap_or_default(),
            version: p.version,
            identity,
            satisfied: p.explanation.satisfied,
            counted,
            explanation: p.explanation,
            certificate,
        })
    }
}

/// One learner on one line, as the issuer's staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct LearnerLineProgress {
    pub metro_line: Uuid,
    /// The line's name (its current version).
    #[serde(skip)]
    pub name: String,
    pub version: i64,
    pub identity: String,
    pub satisfied: bool,
    /// This issuer's badges that counted (URLs); partners' badges count but are not linked.
    pub counted: Vec<String>,
    pub explanation: Explanation,
    /// The certificate's status, or `null` before one is earned.
    pub certificate: Option<super::status::CredentialStatus>,
}

/// Drops from an explanation's `counted` lists, at every level, each credential not in `own`.
fn keep_counted(node: &mut Explanation, own: &HashSet<Uuid>) {
    node.counted.retain(|c| own.contains(c));
    for c in &mut node.children {
        keep_counted(c, own);
    }
}

pub use super::map::{DrawnLine, DrawnStation};

#[derive(askama::Template)]
#[template(path = "map.svg")]
struct MapSvg<'a> {
    title: &'a str,
    l: super::map::Layout,
}

/// The metro map as SVG: one network, a shared station one interchange, names wrapped on the
/// right (see [`super::map`]).
pub fn map_svg(title: &str, lines: &[DrawnLine]) -> String {
    askama::Template::render(&MapSvg { title, l: super::map::layout(lines) }).expect("the map template renders")
}

impl Service {
    /// The public picture of a metro map with its lines' current versions.
    #[tracing::instrument(skip_all, fields(map = %map))]
    pub async fn metro_map_svg(&self, map: Uuid) -> ServiceResult<String> {
        let row = self.store.catalog_item(Catalog::MetroMap, map).await?.ok_or(ServiceError::NotFound)?;
        let spec: crate::domain::metro_line::MetroMapSpec = decode_spec(&row.spec)?;
        let mut lines = Vec::new();
        for l in self.store.metro_lines_of_map(map).await? {
            let s: MetroLineSpec = decode_spec(&l.spec)?;
            let mut stations = Vec::new();
            for st in &s.stations {
                let name = match self.store.nanomodule_version(*st, None).await? {
                    Some(v) => decode_spec::<NanomoduleSpec>(&v.spec)?.name.unwrap_or_default(),
                    None => st.to_string(),
                };
                stations.push(DrawnStation { id: *st, name, done: false });
            }
            lines.push(DrawnLine {
                name: s.name.unwrap_or_default(),
                colour: s.colour.unwrap_or_else(|| "#16324f".into()),
                stations,
            });
        }
        Ok(map_svg(spec.name.as_deref().unwrap_or("Metro map"), &lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_escapes_names() {
        let station = DrawnStation { id: Uuid::from_u128(1), name: "\"s\"".into(), done: true };
        let svg =
            map_svg("A & B", &[DrawnLine { name: "<x>".into(), colour: "#123456".into(), stations: vec![station] }]);
        assert!(svg.contains("A &#38; B") && svg.contains("&#60;x&#62;") && svg.contains("&#34;s&#34;"), "{svg}");
        // The picture passes the same allowlist as uploaded artwork.
        crate::credential::image::check_svg(&svg).expect("a clean SVG");
        assert!(!svg.contains("<x>"));
    }

    #[test]
    fn the_network_map_is_clean_svg() {
        let svg = map_svg("Techniek", &super::super::map::tests::fixture());
        crate::credential::image::check_svg(&svg).expect("a clean SVG");
        assert_eq!(svg.matches("class=\"station").count(), 7, "{svg}");
        assert_eq!(svg.matches("<rect class=\"station").count(), 2, "two interchanges");
        assert_eq!(svg.matches("class=\"station done\"").count(), 1);
    }
}
