//! The OB 3.0 `EndorsementCredential` a confirmed impact review becomes: the training provider
//! signs, on the manager's statement, that the learning of a badge is applied at work. Its
//! subject is the learner's badge (by its URL), so it says nothing about the learner the badge
//! does not already say; the manager's words, name and company are in `endorsementComment`,
//! a property the OB 3.0 context defines.

use serde_json::{Value, json};

use super::badge::StatusEntry;
use super::contexts;

pub const ENDORSEMENT_SCHEMA: &str =
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json";

/// What one endorsement says.
pub struct Endorsement<'a> {
    pub id: &'a str,
    /// The issuer's profile, as in its badges.
    pub issuer: &'a Value,
    /// URL of the endorsed badge.
    pub endorsed: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub comment: &'a str,
    pub valid_from: &'a str,
}

/// Builds the unsigned endorsement.
pub fn build(e: &Endorsement<'_>, status: &StatusEntry) -> Value {
    json!({
        "@context": [contexts::VC_V2, contexts::OB_V3_0_3, contexts::OB_EXTENSIONS],
        "id": e.id,
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": e.name,
        "description": e.description,
        "issuer": e.issuer,
        "validFrom": e.valid_from,
        "credentialSubject": {
            "id": e.endorsed,
            "type": ["EndorsementSubject"],
            "endorsementComment": e.comment,
        },
        "credentialSchema": [{"id": ENDORSEMENT_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
        "credentialStatus": status.to_json(),
    })
}

/// Whether `credential` is an endorsement (by its `type`).
pub fn is_endorsement(credential: &Value) -> bool {
    credential["type"].as_array().is_some_and(|t| t.iter().any(|v| v == "EndorsementCredential"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{canon, schema};

    #[test]
    fn conforms_and_canonicalises_with_bundled_contexts() {
        let issuer = json!({"id": "https://example.org/issuers/1", "type": ["Profile"], "name": "Provider"});
        let e = Endorsement {
            id: "https://example.org/credentials/2",
            issuer: &issuer,
            endorsed: "https://example.org/credentials/1",
            name: "Applied at work: Lubrication",
            description: "The manager confirms it.",
            comment: "Ann (Firma) confirmed …",
            valid_from: "2026-11-29T10:00:00Z",
        };
        let doc = build(&e, &StatusEntry { list_url: "https://example.org/status/1".into(), index: 3 });
        assert!(is_endorsement(&doc));
        assert_eq!(schema::endorsement_violations(&doc), Vec::<String>::new());
        let nquads = canon::canonicalize(&doc).unwrap();
        assert!(nquads.contains("EndorsementSubject"), "{nquads}");
        let mut bad = doc.clone();
        bad.as_object_mut().unwrap().remove("name");
        assert!(!schema::endorsement_violations(&bad).is_empty(), "name is required");
    }
}
