//! CLR 2.0 `ClrCredential`: one learner's record of one metro line — the badges and the
//! partial certificate as embedded verifiable credentials (each still verifiable on its own),
//! their achievements, and how the achievements relate (`isPartOf` the certificate, `precedes`
//! along an ordered line). Always `partial`: one line is never the learner's whole record.

use serde_json::{Value, json};

use super::badge::identity_hash;
use super::contexts::{CLR_V2, OB_V3_0_3, VC_V2};

/// No `credentialSchema` is named: the CLR context does not define the
/// `1EdTechJsonSchemaValidator2019` type outside OB's credential types, so verifiers in safe
/// mode would refuse the record. The schema it meets is
/// `https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json`.
/// The terms a ClrCredential uses that the published CLR 2.0 context (`…/clr/v2p0/context.json`)
/// leaves undefined: `partial`, and `identifier` on the `ClrSubject`. Defined inline, in the
/// vocabularies the CLR and OB specifications name for them, so nothing is dropped when the
/// document is expanded (and verifiers in safe mode accept it).
fn inline_context() -> Value {
    json!({
        "partial": {"@id": "https://purl.imsglobal.org/spec/vc/clr/vocab.html#partial", "@type": "http://www.w3.org/2001/XMLSchema#boolean"},
        "identifier": {"@id": "https://purl.imsglobal.org/spec/vc/ob/vocab.html#identifier", "@container": "@set"},
    })
}

/// What a line's record is made of.
pub struct ClrInput<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    /// The signing issuer's `Profile`.
    pub issuer: Value,
    pub valid_from: &'a str,
    /// The learner's identifier (hashed with `salt`) and its type, e.g. `emailAddress`.
    pub identity: &'a str,
    pub identity_type: &'a str,
    pub salt: &'a str,
    /// Signed badges, in station order.
    pub badges: Vec<Value>,
    /// The signed partial certificate, once earned.
    pub certificate: Option<Value>,
    /// Whether the line's rule asks for the stations in order.
    pub ordered: bool,
}

fn achievement_of(vc: &Value) -> Option<&Value> {
    vc["credentialSubject"].get("achievement")
}

/// The unsigned `ClrCredential`.
pub fn build(input: ClrInput<'_>) -> Value {
    let mut achievements: Vec<Value> = Vec::new();
    for vc in input.badges.iter().chain(input.certificate.iter()) {
        if let Some(a) = achievement_of(vc)
            && !achievements.iter().any(|x| x["id"] == a["id"])
        {
            achievements.push(a.clone());
        }
    }
    let badge_ids: Vec<&str> = {
        let mut ids = Vec::new();
        for id in input.badges.iter().filter_map(|vc| achievement_of(vc)?["id"].as_str()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    };
    let mut associations = Vec::new();
    let association = |kind: &str, source: &str, target: &str| json!({"type": "Association", "associationType": kind, "sourceId": source, "targetId": target});
    if let Some(cert) = input.certificate.as_ref().and_then(|c| achievement_of(c)?["id"].as_str()) {
        for id in &badge_ids {
            associations.push(association("isPartOf", id, cert));
        }
    }
    if input.ordered {
        for pair in badge_ids.windows(2) {
            associations.push(association("precedes", pair[0], pair[1]));
        }
    }
    let mut credentials = input.badges.clone();
    credentials.extend(input.certificate);
    let mut subject = json!({
        "type": ["ClrSubject"],
        "identifier": [{
            "type": "IdentityObject",
            "hashed": true,
            "identityHash": identity_hash(input.identity, input.salt),
            "identityType": input.identity_type,
            "salt": input.salt,
        }],
        "achievement": achievements,
        "verifiableCredential": credentials,
    });
    if !associations.is_empty() {
        subject["association"] = Value::Array(associations);
    }
    json!({
        "@context": [VC_V2, CLR_V2, OB_V3_0_3, inline_context()],
        "id": input.id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": input.name,
        "description": input.description,
        "partial": true,
        "issuer": input.issuer,
        "validFrom": input.valid_from,
        "credentialSubject": subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vc(achievement: &str) -> Value {
        json!({"credentialSubject": {"achievement": {"id": achievement, "type": ["Achievement"]}}})
    }

    #[test]
    fn associations_tie_badges_to_the_certificate_and_to_each_other() {
        let clr = build(ClrInput {
            id: "urn:uuid:1",
            name: "Line",
            description: "d",
            issuer: json!({"id": "https://i", "type": ["Profile"]}),
            valid_from: "2026-01-01T00:00:00Z",
            identity: "ann@example.nl",
            identity_type: "emailAddress",
            salt: "s",
            badges: vec![vc("https://a"), vc("https://b"), vc("https://a")],
            certificate: Some(vc("https://c")),
            ordered: true,
        });
        let s = &clr["credentialSubject"];
        assert_eq!(s["achievement"].as_array().unwrap().len(), 3, "each achievement once");
        assert_eq!(s["verifiableCredential"].as_array().unwrap().len(), 4, "every credential");
        let kinds: Vec<(&str, &str, &str)> = s["association"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["associationType"].as_str().unwrap(),
                    a["sourceId"].as_str().unwrap(),
                    a["targetId"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("isPartOf", "https://a", "https://c"),
                ("isPartOf", "https://b", "https://c"),
                ("precedes", "https://a", "https://b")
            ]
        );
        assert_eq!(clr["partial"], true);
        assert_eq!(s["identifier"][0]["identityHash"], identity_hash("ann@example.nl", "s"));
    }
}
