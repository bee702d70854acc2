//! Our published request schemas (schemas/api/) agree with what the API accepts.

use jsonschema::{Draft, Registry};
use serde_json::{Value, json};

fn schema(name: &str) -> Value {
    let path = format!("{}/schemas/api/{name}.schema.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn validator(name: &str) -> jsonschema::Validator {
    let registry = Registry::new()
        .add("urn:metrobadge:schema:api:skill", schema("skill"))
        .unwrap()
        .add("urn:metrobadge:schema:api:nanomodule", schema("nanomodule"))
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options().with_draft(Draft::Draft201909).with_registry(&registry).build(&schema(name)).unwrap()
}

#[test]
fn examples_match_the_schemas() {
    let id = "0190d5a4-1111-7000-8000-000000000001";
    let cases: Vec<(&str, Value, bool)> = vec![
        (
            "issuer",
            json!({"name": "Techniek Twente", "url": "https://tt.example", "otherIdentifier": [{"identifier": "1", "identifierType": "ext:KvK"}]}),
            true,
        ),
        ("issuer", json!({"name": "x", "colour": "red"}), false),
        ("member", json!({"name": "Jan", "email": "jan@example.nl", "role": "trainer"}), true),
        ("member", json!({"name": "Jan", "email": "jan@example.nl", "role": "admin"}), false),
        (
            "skill",
            json!({"name": "Lubrication", "alignment": {"targetUrl": "http://data.europa.eu/esco/skill/x"}, "level": {"framework": "NLQF", "level": 2}}),
            true,
        ),
        ("skills-profile", json!({"name": "Smart Maintenance", "skills": [id]}), true),
        (
            "nanomodule",
            json!({"name": "Smeren", "description": "d", "criteria": {"narrative": "n"}, "duration_minutes": 240, "level": {"framework": "EQF", "level": 4}}),
            true,
        ),
        (
            "nanomodule",
            json!({"name": "Smeren", "description": "d", "criteria": {"narrative": "n"}, "duration_minutes": 241}),
            false,
        ),
        (
            "nanomodule",
            json!({"name": "Smeren", "description": "d", "criteria": {"narrative": "n"}, "duration_minutes": 240,
                   "micro_credential": {"learning_outcomes": ["x"], "assessment_type": "a", "participation": "online", "quality_assurance": "q"}}),
            true,
        ),
        (
            "nanomodule",
            json!({"name": "Smeren", "description": "d", "criteria": {"narrative": "n"}, "duration_minutes": 240,
                   "micro_credential": {"learning_outcomes": ["x"], "assessment_type": "a", "participation": "by post", "quality_assurance": "q"}}),
            false,
        ),
        (
            "award",
            json!({"recipients": [{"identity": "jan@example.nl", "evidence": [{"id": "https://e.example/1"}], "result": {"status": "Completed"}}], "session": {"date": "2026-11-20"}}),
            true,
        ),
        ("award", json!({"recipients": []}), false),
        (
            "metro-line",
            json!({"name": "L", "metro_map": id, "stations": [id], "rule": {"all": [{"nanomodule": id}, {"at_least": {"n": 1, "of": [{"nanomodule": id}]}}]},
                              "certificate": {"name": "C", "description": "D", "alignment": [{"targetUrl": "https://example.nl/q"}], "credits": 8}}),
            true,
        ),
        (
            "metro-line",
            json!({"name": "L", "metro_map": id, "stations": [id], "rule": {"some": []}, "certificate": {"name": "C", "description": "D"}}),
            false,
        ),
        ("learner-migration", json!({"to_version": 2, "learners": [{"identity": "jan@example.nl"}]}), true),
        ("learner-migration", json!({"learners": [{"identity_type": "phone", "identity": "1"}]}), false),
    ];
    for (name, body, ok) in cases {
        assert_eq!(validator(name).is_valid(&body), ok, "{name}: {body}");
    }
}
