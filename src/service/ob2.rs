//! Open Badges 2.0 hosted documents of our awards, for older consumers: the Assertion (410 Gone
//! once revoked), its BadgeClass and Issuer.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Service, ServiceError, ServiceResult, decode_spec};
use crate::credential::verify::{Check, Report};
use crate::domain::issuer::IssuerSpec;
use crate::domain::nanomodule::NanomoduleSpec;

pub const OB2_CONTEXT: &str = "https://w3id.org/openbadges/v2";

/// The OB 2.0 context URL.
pub fn ob2_context() -> &'static str {
    OB2_CONTEXT
}

/// An OB 2.0 document, or the body of a 410 for a revoked assertion.
pub enum Ob2 {
    Live(Value),
    Gone(Value),
}

impl Service {
    pub fn ob2_assertion_url(&self, id: Uuid) -> String {
        format!("{}/ob2/assertions/{id}", self.base_url)
    }

    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn ob2_assertion(&self, id: Uuid) -> ServiceResult<Ob2> {
        let c = self.store.credential(id).await?.ok_or(ServiceError::NotFound)?;
        // OB 2.0 has no place for a certificate resting on other credentials: badges only.
        let (Some(module), Some(version)) = (c.nanomodule_id, c.nanomodule_version) else {
            return Err(ServiceError::NotFound);
        };
        let state = self.store.credential_state(id).await?.ok_or(ServiceError::NotFound)?;
        let url = self.ob2_assertion_url(id);
        if state.revoked_at.is_some() {
            return Ok(Ob2::Gone(
                json!({"@context": OB2_CONTEXT, "id": url, "type": "Assertion", "revoked": true, "revocationReason": state.revocation_reason}),
            ));
        }
        let vc: Value = serde_json::from_str(&c.signed).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let subject = &vc["credentialSubject"];
        let recipient = match subject["identifier"].get(0) {
            Some(i) => json!({
                "type": if i["identityType"] == "emailAddress" { "email" } else { "id" },
                "hashed": true,
                "salt": i["salt"],
                "identity": i["identityHash"],
            }),
            None => json!({"type": "id", "hashed": false, "identity": subject["id"]}),
        };
        let mut a = json!({
            "@context": OB2_CONTEXT,
            "type": "Assertion",
            "id": url,
            "recipient": recipient,
            "badge": format!("{}/ob2/badges/{module}/{version}", self.base_url),
            "verification": {"type": "hosted"},
            "issuedOn": vc["validFrom"],
        });
        if let Some(u) = vc["validUntil"].as_str() {
            a["expires"] = json!(u);
        }
        if let Some(n) = subject["narrative"].as_str() {
            a["narrative"] = json!(n);
        }
        if let Some(ev) = vc["evidence"].as_array() {
            a["evidence"] = json!(
                ev.iter()
                    .map(|e| json!({"id": e["id"], "name": e["name"], "narrative": e["narrative"]}))
                    .collect::<Vec<_>>()
            );
        }
        Ok(Ob2::Live(a))
    }

    #[tracing::instrument(skip_all, fields(nanomodule = %nanomodule))]
    pub async fn ob2_badge_class(&self, nanomodule: Uuid, version: i64) -> ServiceResult<Value> {
        let v = self.store.nanomodule_version(nanomodule, Some(version)).await?.ok_or(ServiceError::NotFound)?;
        let spec: NanomoduleSpec = decode_spec(&v.spec)?;
        let achievement = self.achievement_document(nanomodule, Some(version)).await?;
        let mut criteria = json!({});
        if let Some(c) = &spec.criteria {
            if let Some(n) = &c.narrative {
                criteria["narrative"] = json!(n);
            }
            if let Some(id) = &c.id {
                criteria["id"] = json!(id);
            }
        }
        let alignment: Vec<Value> = achievement["alignment"]
            .as_array()
            .map(|a| a.iter().map(|x| json!({"targetName": x["targetName"], "targetUrl": x["targetUrl"], "targetCode": x["targetCode"], "targetFramework": x["targetFramework"]})).collect())
            .unwrap_or_default();
        Ok(json!({
            "@context": OB2_CONTEXT,
            "type": "BadgeClass",
            "id": format!("{}/ob2/badges/{nanomodule}/{version}", self.base_url),
            "name": spec.name,
            "description": spec.description,
            "image": achievement["image"]["id"],
            "criteria": criteria,
            "issuer": format!("{}/ob2/issuers/{}", self.base_url, v.issuer_id),
            "alignment": alignment,
            "tags": spec.tags,
        }))
    }

    #[tracing::instrument(skip_all, fields(issuer = %issuer))]
    pub async fn ob2_issuer(&self, issuer: Uuid) -> ServiceResult<Value> {
        let spec: IssuerSpec = self.issuer_spec(issuer).await?;
        let mut doc = json!({
            "@context": OB2_CONTEXT,
            "type": "Issuer",
            "id": format!("{}/ob2/issuers/{issuer}", self.base_url),
            "name": spec.name(),
            "url": spec.url.clone().unwrap_or_else(|| crate::credential::ob3::issuer_url(&self.base_url, issuer)),
        });
        if let Some(e) = &spec.email {
            doc["email"] = json!(e);
        }
        Ok(doc)
    }

    /// Verifies an OB 2.0 hosted assertion of this service, given by URL or as JSON.
    #[tracing::instrument(skip_all)]
    pub async fn verify_ob2(&self, payload: &str, recipient: Option<&str>) -> Report {
        let mut checks = Vec::new();
        let mut add =
            |check: &'static str, passed: bool, detail: String| checks.push(Check::new(check, passed, detail));
        let url = match serde_json::from_str::<Value>(payload) {
            Ok(v) => v["id"].as_str().unwrap_or_default().to_string(),
            Err(_) => payload.trim().to_string(),
        };
        add("format", true, "Open Badges 2.0 hosted assertion".into());
        let prefix = format!("{}/ob2/assertions/", self.base_url);
        let Some(id) = url.strip_prefix(&prefix).and_then(|i| i.parse::<Uuid>().ok()) else {
            add("hosted", false, format!("{url} is not an assertion hosted by this service (nothing is fetched)"));
            return Report::new(checks, None, false);
        };
        let mut summary = None;
        match self.ob2_assertion(id).await {
            Err(super::ServiceError::Unavailable(_)) => {
                checks.push(Check::unchecked("hosted", "could not look up the assertion right now"));
                return Report::new(checks, None, true);
            }
            Err(_) => add("hosted", false, "no such assertion here".into()),
            Ok(Ob2::Gone(v)) => {
                add("hosted", true, "hosted by this service".into());
                add("status", false, format!("revoked: {}", v["revocationReason"].as_str().unwrap_or("")));
            }
            Ok(Ob2::Live(a)) => {
                add("hosted", true, "hosted by this service".into());
                let state = self.store.credential_state(id).await.ok().flatten();
                let suspended = state.as_ref().is_some_and(|s| s.suspended_at.is_some());
                add(
                    "status",
                    !suspended,
                    if suspended { "suspended".into() } else { "not revoked or suspended".into() },
                );
                let expired =
                    a["expires"].as_str().and_then(crate::domain::time::parse_rfc3339).is_some_and(|t| t < self.now());
                add("validity", !expired, if expired { "expired".into() } else { "within its validity period".into() });
                if let Some(r) = recipient {
                    let rec = &a["recipient"];
                    let candidate = if rec["type"] == "email" { r.trim().to_lowercase() } else { r.trim().to_string() };
                    let ok = crate::credential::badge::identity_hash(&candidate, rec["salt"].as_str().unwrap_or(""))
                        == rec["identity"].as_str().unwrap_or_default()
                        || rec["identity"].as_str() == Some(r.trim());
                    add(
                        "recipient",
                        ok,
                        if ok { "issued to this recipient".into() } else { "not issued to this recipient".into() },
                    );
                }
                summary = Some(
                    json!({"id": url, "issuedOn": a["issuedOn"], "status": if suspended { "suspended" } else if expired { "expired" } else { "active" }}),
                );
            }
        }
        Report::new(checks, summary, false)
    }
}
