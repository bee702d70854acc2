//! Validation against the official Open Badges 3.0 JSON Schema (draft 2019-09), bundled — no
//! `$ref` is ever fetched.

use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::Value;

const OB_ACHIEVEMENT_CREDENTIAL: &str = include_str!("../../schemas/ob/ob_v3p0_achievementcredential_schema.json");

fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(OB_ACHIEVEMENT_CREDENTIAL).expect("bundled schema is JSON");
        jsonschema::options().with_draft(Draft::Draft201909).build(&schema).expect("bundled schema compiles")
    })
}

/// The `EndorsementCredential` definition of the same official schema. 1EdTech publishes it
/// also as a schema of its own (`ob_v3p0_endorsementcredential_schema.json`), generated from the
/// same model; the bundled AchievementCredential schema carries it under `$defs` (for embedded
/// endorsements), so checking against that definition needs no second file and no fetch.
fn endorsement_validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let mut schema: Value = serde_json::from_str(OB_ACHIEVEMENT_CREDENTIAL).expect("bundled schema is JSON");
        let defs = schema["$defs"].take();
        let root = serde_json::json!({
            "$schema": schema["$schema"],
            "$ref": "#/$defs/EndorsementCredential",
            "$defs": defs,
        });
        jsonschema::options().with_draft(Draft::Draft201909).build(&root).expect("bundled schema compiles")
    })
}

/// Every schema violation as `path: message`; empty when the credential conforms.
pub fn ob_violations(credential: &Value) -> Vec<String> {
    validator().iter_errors(credential).map(|e| format!("{}: {}", e.instance_path(), e)).collect()
}

/// [`ob_violations`] for an `EndorsementCredential`.
pub fn endorsement_violations(credential: &Value) -> Vec<String> {
    endorsement_validator().iter_errors(credential).map(|e| format!("{}: {}", e.instance_path(), e)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_conforms_and_breakage_is_found() {
        let doc: Value =
            serde_json::from_str(&crate::credential::canon::tests::read("ob-v3p0/unsigned-credential.json")).unwrap();
        assert_eq!(ob_violations(&doc), Vec::<String>::new());
        let mut bad = doc.clone();
        bad.as_object_mut().unwrap().remove("validFrom");
        assert!(!ob_violations(&bad).is_empty());
    }
}
