//! The Open Badges 3.0 credential for one recipient of a nanomodule award (unsigned).

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::contexts;
use crate::domain::award::{IdentityType, Recipient};

pub const OB_SCHEMA: &str =
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json";

/// The credential's entry in a revocation status list.
#[derive(Debug, Clone)]
pub struct StatusEntry {
    pub list_url: String,
    pub index: u32,
}

impl StatusEntry {
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("{}#{}", self.list_url, self.index),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": self.index.to_string(),
            "statusListCredential": self.list_url,
        })
    }
}

/// What a cohort's credentials share.
pub struct Template<'a> {
    pub issuer: &'a Value,
    pub achievement: &'a Value,
    pub valid_from: &'a str,
    pub valid_until: Option<&'a str>,
    pub session_date: Option<&'a str>,
    /// Study load of the module in hours (`creditsEarned`).
    pub hours: f64,
}

/// `sha256$` + hex(SHA-256(identity ‖ salt)) (OB 3.0 IdentityHash).
pub fn identity_hash(identity: &str, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(identity.as_bytes());
    h.update(salt.as_bytes());
    format!("sha256${}", hex::encode(h.finalize()))
}

/// Builds the unsigned credential. `salt` is fresh per credential so equal identities do not
/// produce equal hashes across badges.
pub fn build(t: &Template<'_>, id: &str, recipient: &Recipient, salt: &str, status: &StatusEntry) -> Value {
    let mut subject = Map::new();
    subject.insert("type".into(), json!(["AchievementSubject"]));
    if recipient.identity_type == IdentityType::Did {
        subject.insert("id".into(), json!(recipient.identity));
    } else {
        subject.insert(
            "identifier".into(),
            json!([{
                "type": "IdentityObject",
                "hashed": true,
                "identityHash": identity_hash(&recipient.identity, salt),
                "identityType": recipient.identity_type.as_str(),
                "salt": salt,
            }]),
        );
    }
    subject.insert("achievement".into(), t.achievement.clone());
    subject.insert("creditsEarned".into(), json!(t.hours));
    if let Some(d) = t.session_date {
        subject.insert("activityEndDate".into(), json!(d));
    }
    if let Some(r) = &recipient.result {
        let mut result = Map::new();
        result.insert("type".into(), json!(["Result"]));
        for (k, v) in [("value", &r.value), ("status", &r.status), ("achievedLevel", &r.achieved_level)] {
            if let Some(v) = v {
                result.insert(k.into(), json!(v));
            }
        }
        subject.insert("result".into(), json!([Value::Object(result)]));
    }
    if let Some(n) = &recipient.narrative {
        subject.insert("narrative".into(), json!(n));
    }

    let mut c = Map::new();
    let mut context = vec![contexts::VC_V2, contexts::OB_V3_0_3, contexts::OB_EXTENSIONS];
    if t.achievement.get("euMicroCredential").is_some() {
        context.push(contexts::EU_MICROCREDENTIAL_V1);
    }
    c.insert("@context".into(), json!(context));
    c.insert("id".into(), json!(id));
    c.insert("type".into(), json!(["VerifiableCredential", "OpenBadgeCredential"]));
    c.insert("name".into(), t.achievement["name"].clone());
    c.insert("issuer".into(), t.issuer.clone());
    c.insert("validFrom".into(), json!(t.valid_from));
    if let Some(u) = t.valid_until {
        c.insert("validUntil".into(), json!(u));
    }
    c.insert("awardedDate".into(), json!(t.valid_from));
    c.insert("credentialSubject".into(), Value::Object(subject));
    if !recipient.evidence.is_empty() {
        let evidence: Vec<Value> = recipient
            .evidence
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("type".into(), json!(["Evidence"]));
                for (k, v) in [
                    ("id", &e.id),
                    ("name", &e.name),
                    ("narrative", &e.narrative),
                    ("description", &e.description),
                    ("genre", &e.genre),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), json!(v));
                    }
                }
                Value::Object(m)
            })
            .collect();
        c.insert("evidence".into(), Value::Array(evidence));
    }
    c.insert("credentialSchema".into(), json!([{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}]));
    c.insert("credentialStatus".into(), status.to_json());
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_identity_hash_example() {
        assert_eq!(
            identity_hash("a@example.com", "Kosher"),
            "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
        );
    }
}
