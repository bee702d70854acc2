//! EU micro-credentials (Council Recommendation 2022/C 243/02, Annex I): a nanomodule so marked
//! carries every mandatory element, its badges verify in the reference stack with our context,
//! pass the OB 3.0 schema, leave nothing to the VC context's fallback vocabulary, and show the
//! elements on the badge page in Dutch and English.

use reqwest::StatusCode;
use serde_json::{Value, json};

use metrobadge::credential::contexts::{EU_MICROCREDENTIAL_V1, EU_MICROCREDENTIAL_V1_DOC};

use crate::harness::{ADMIN, TestApp, both};
use crate::interop::js_verify;
use crate::pages::html;

both!(micro_credential_badges, micro_credential_certificates, micro_credential_in_the_console);

fn module(micro: Value) -> Value {
    json!({"name": "Veilig werken op hoogte", "description": "Valbeveiliging kiezen en controleren.",
           "criteria": {"narrative": "Praktijkopdracht op de steiger"}, "duration_minutes": 240,
           "level": {"framework": "EQF", "level": 3}, "language": "nl", "micro_credential": micro})
}

async fn micro_credential_badges(app: TestApp) {
    let issuer = app.issuer("Bouwopleiding Oost").await;
    let path = format!("/api/v1/issuers/{issuer}/nanomodules");

    // Every missing mandatory element is named, the issuer's country included.
    let (status, body) = app.post(&path, ADMIN, module(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in [
        "micro_credential.learning_outcomes",
        "micro_credential.assessment_type",
        "micro_credential.participation",
        "micro_credential.quality_assurance",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let complete = json!({
        "learning_outcomes": ["Kiest de juiste valbeveiliging voor een klus op hoogte", "Controleert een harnas vóór gebruik"],
        "assessment_type": "Praktijkopdracht, beoordeeld door de trainer met een checklist",
        "participation": "onsite",
        "quality_assurance": "Interne kwaliteitsborging van de opleider; examenreglement getoetst door de branche",
        "prerequisites": "Geen",
        "supervision": "Onder toezicht van de trainer; identiteit gecontroleerd met een legitimatiebewijs",
        "grading": "Behaald / niet behaald",
        "integration": "Telt mee voor het deelcertificaat Veilig werken",
        "further_information": "https://bouwopleiding-oost.example/veilig-werken",
    });
    let (status, body) = app.post(&path, ADMIN, module(complete.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "issuer.address.addressCountryCode", "{body}");
    let (status, body) = app
        .patch(
            &format!("/api/v1/issuers/{issuer}"),
            ADMIN,
            json!({"address": {"addressCountry": "Nederland", "addressCountryCode": "NL"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut wrong = complete.clone();
    wrong["participation"] = json!("by post");
    wrong["hours_per_ects"] = json!(60);
    let (status, body) = app.post(&path, ADMIN, module(wrong)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"].as_array().unwrap().len(), 2, "{body}");
    let (status, nm) = app.post(&path, ADMIN, module(complete)).await;
    assert_eq!(status, StatusCode::CREATED, "{nm}");
    assert_eq!(nm["achievement_type"], "MicroCredential", "{nm}");

    let recipients = json!([{"identity": "ayse@example.nl", "name": "Ayşe Demir", "result": {"status": "Completed"}}]);
    let (status, award) = app
        .post(
            &format!("/api/v1/nanomodules/{}/awards", nm["id"].as_str().unwrap()),
            ADMIN,
            json!({"recipients": recipients}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{award}");
    let url = award["credentials"][0]["id"].as_str().unwrap().to_string();
    let vc: Value = app.client.get(&url).send().await.unwrap().json().await.unwrap();
    assert!(vc["@context"].as_array().unwrap().contains(&json!(EU_MICROCREDENTIAL_V1)), "{vc}");
    let a = &vc["credentialSubject"]["achievement"];
    assert_eq!(a["achievementType"], "MicroCredential");
    assert_eq!(a["creditsAvailable"], 4.0, "hours (SBU)");
    assert_eq!(a["inLanguage"], "nl");
    assert!(a["alignment"].as_array().unwrap().iter().any(|al| al["targetFramework"] == "EQF"));
    let mc = &a["euMicroCredential"];
    assert_eq!(
        (mc["ects"].as_f64(), mc["hoursPerEcts"].as_i64(), mc["workloadHours"].as_f64()),
        (Some(0.14), Some(28), Some(4.0))
    );
    assert_eq!(mc["learningOutcome"].as_array().unwrap().len(), 2);
    assert_eq!(vc["issuer"]["address"]["addressCountryCode"], "NL");

    // Every term is defined by a context: nothing falls back to the VC context's
    // issuer-dependent namespace, and our terms expand into our vocabulary.
    let unsigned = metrobadge::credential::data_integrity::split(&vc).unwrap().0;
    let nquads = metrobadge::credential::canon::canonicalize_general(&unsigned).unwrap();
    assert!(!nquads.contains("issuer-dependent#"), "{nquads}");
    assert!(nquads.contains("<https://w3id.org/metrobadge/vocab/eu-microcredential#learningOutcome>"), "{nquads}");
    assert!(nquads.contains("<https://w3id.org/metrobadge/vocab/eu-microcredential#participationForm> \"onsite\""));

    // Our verifier (OB 3.0 schema included) and the reference stack, given our context, agree.
    let r = app.client.post(format!("{}/verify", app.base)).json(&json!({"credential": vc})).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["verified"], true, "{report}");
    let schema = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "schema").unwrap().clone();
    assert!(schema["detail"].as_str().unwrap().contains("conforms"), "{schema}");
    let r = app.client.get(format!("{}/contexts/eu-microcredential-v1.jsonld", app.base)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/ld+json");
    let served = r.text().await.unwrap();
    assert_eq!(served, EU_MICROCREDENTIAL_V1_DOC, "the served context is the bundled one");
    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    let served: Value = serde_json::from_str(&served).unwrap();
    let mut altered = vc.clone();
    altered["credentialSubject"]["achievement"]["euMicroCredential"]["ects"] = json!(1.0);
    let js =
        js_verify(&json!({"documents": {EU_MICROCREDENTIAL_V1: served, vc["issuer"]["id"].as_str().unwrap(): profile},
        "cases": [{"name": "micro-credential", "credential": vc}, {"name": "more-ects", "credential": altered}]}));
    assert_eq!(js.iter().map(|r| r.1).collect::<Vec<_>>(), [true, false], "{js:?}");

    // The badge page shows the elements, in Dutch and in English.
    let id = url.rsplit('/').next().unwrap();
    let (_, _, nl) = html(&app, &format!("/credentials/{id}?lang=nl")).await;
    for text in [
        "id=\"micro-credential\"",
        "Microcredential",
        "Leerresultaten",
        "Controleert een harnas vóór gebruik",
        "Op locatie",
        "Kwaliteitsborging",
        "Nederland",
        "EQF level 3",
        "0,14 ECTS",
    ] {
        assert!(nl.contains(text), "{text} missing from the Dutch page");
    }
    let (_, _, en) = html(&app, &format!("/credentials/{id}?lang=en")).await;
    for text in [
        "Micro-credential",
        "Learning outcomes",
        "On site",
        "Quality assurance",
        "0.14 ECTS",
        "Supervision and identity verification",
    ] {
        assert!(en.contains(text), "{text} missing from the English page");
    }
}

/// A partial certificate marked as a micro-credential: its workload (credits, in hours) is then
/// required, its issuer must name its country, and the certificate carries the elements.
async fn micro_credential_certificates(app: TestApp) {
    let l = crate::stacking::line(&app).await;
    let micro = json!({"learning_outcomes": ["Voert basisonderhoud uit aan een installatie"],
                       "assessment_type": "Alle badges van de lijn, elk met een praktijkopdracht",
                       "participation": "blended", "quality_assurance": "Examencommissie van de opleider"});
    let path = format!("/api/v1/metro-lines/{}", l.id);
    let (status, body) =
        app.patch(&path, ADMIN, json!({"certificate": {"credits": null, "micro_credential": micro}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["certificate.credits"], "the workload is required");
    let (status, body) = app.patch(&path, ADMIN, json!({"certificate": {"micro_credential": micro}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "issuer.address.addressCountryCode", "{body}");
    let (status, body) =
        app.patch(&path, ADMIN, json!({"certificate": {"micro_credential": {"participation": "onsite"}}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("certificate.micro_credential.learning_outcomes"), "{body}");
    app.patch(&format!("/api/v1/issuers/{}", l.issuer), ADMIN, json!({"address": {"addressCountryCode": "NL"}})).await;
    let (status, body) = app.patch(&path, ADMIN, json!({"certificate": {"micro_credential": micro}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    app.award_one(&l.a, "jan@example.nl").await;
    let done = app.award_one(&l.b, "jan@example.nl").await;
    let certificate = done["certificates"][0]["certificate"].as_str().expect("a certificate").to_string();
    let vc: Value = app.client.get(&certificate).send().await.unwrap().json().await.unwrap();
    assert!(vc["@context"].as_array().unwrap().contains(&json!(EU_MICROCREDENTIAL_V1)), "{vc}");
    let a = &vc["credentialSubject"]["achievement"];
    assert_eq!(a["achievementType"], "MicroCredential");
    assert_eq!(a["euMicroCredential"]["workloadHours"], 6.0);
    assert_eq!(a["euMicroCredential"]["ects"], 0.21);
    let r = app.client.post(format!("{}/verify", app.base)).json(&json!({"credential": vc})).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["verified"], true, "{report}");
    let id = certificate.rsplit('/').next().unwrap();
    let (_, _, page) = html(&app, &format!("/credentials/{id}?lang=nl")).await;
    assert!(page.contains("Gemengd (op locatie en online)") && page.contains("Voert basisonderhoud uit"), "{page}");
}

/// An issuer admin marks a module as a micro-credential in the console: the same validation
/// (every missing element named), and the edit form shows what was saved.
async fn micro_credential_in_the_console(app: TestApp) {
    use crate::console::{accept, invite};
    let issuer = app.issuer("Bouwopleiding Oost").await;
    let mut admin =
        accept(&app, &invite(&app, &issuer, "issuer_admin", "ia@oost.example").await, "issuer admin pass").await;
    // The issuer's country (and ES256 JWTs) set in the console's profile form.
    let settings = admin.get("/console/settings?lang=en").await;
    let csrf = settings.hidden("csrf");
    let profile = |code: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Bouwopleiding Oost".to_string()),
            ("country", "Nederland".to_string()),
            ("country_code", code.to_string()),
            ("language", "nl".to_string()),
            ("jwt_algorithm", "ES256".to_string()),
        ]
    };
    let bad_pairs = profile("nl");
    let bad_refs: Vec<(&str, &str)> = bad_pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad = admin.post("/console/settings/profile", &bad_refs).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("addressCountryCode"), "{}", bad.body);
    let good_pairs = profile("NL");
    let good_refs: Vec<(&str, &str)> = good_pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = admin.post("/console/settings/profile", &good_refs).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, view) = app.get(&format!("/api/v1/issuers/{issuer}"), Some(ADMIN)).await;
    let set = (view["address"]["addressCountryCode"].as_str(), view["jwtAlgorithm"].as_str());
    assert_eq!(set, (Some("NL"), Some("ES256")), "{view}");
    let settings = admin.get("/console/settings?lang=en").await;
    assert!(settings.body.contains("P-256") && settings.body.contains("value=\"ES256\" selected"), "{}", settings.body);
    let new = admin.get("/console/nanomodules/new?lang=nl").await;
    assert!(
        new.body.contains("Deze module is een microcredential") && new.body.contains("Leerresultaten"),
        "{}",
        new.body
    );
    let csrf = new.hidden("csrf");
    let base = [
        ("csrf", csrf.as_str()),
        ("name", "Veilig werken op hoogte"),
        ("description", "Valbeveiliging"),
        ("criteria", "Praktijkopdracht"),
        ("duration", "240"),
        ("micro", "1"),
    ];
    let bad = admin.post("/console/nanomodules/new", &base).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A Dutch page: field names in Dutch too (locales/nl/problems.ftl).
    for field in
        ["microcredential.leerresultaten", "microcredential.soort beoordeling", "microcredential.vorm van deelname"]
    {
        assert!(bad.body.contains(field), "{field}: {}", bad.body);
    }
    let full = [
        &base[..],
        &[
            ("mc_outcomes", "Kiest de juiste valbeveiliging\nControleert een harnas"),
            ("mc_assessment", "Praktijkopdracht met checklist"),
            ("mc_participation", "blended"),
            ("mc_quality", "Interne kwaliteitsborging"),
            ("mc_hours_per_ects", "25"),
        ],
    ]
    .concat();
    let made = admin.post("/console/nanomodules/new", &full).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let id = made.location().rsplit('/').next().unwrap().to_string();
    let (_, module) = app.get(&format!("/api/v1/nanomodules/{id}"), Some(ADMIN)).await;
    assert_eq!(module["achievement_type"], "MicroCredential", "{module}");
    assert_eq!(
        module["micro_credential"]["learning_outcomes"],
        json!(["Kiest de juiste valbeveiliging", "Controleert een harnas"])
    );
    assert_eq!(module["micro_credential"]["hours_per_ects"], 25);
    // A line's certificate marked the same way in the line form.
    let other = app.module(&issuer, "Steigerbouw").await;
    let line_form = admin.get("/console/metro-lines/new").await;
    assert!(line_form.body.contains("id=\"micro-credential\""), "{}", line_form.body);
    let (s1, s2) = (format!("station-{id}"), format!("station-{other}"));
    let line = admin
        .post(
            "/console/metro-lines/new",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Veilig bouwen"),
                ("new_map", "Bouw"),
                ("colour", "#0a7d3b"),
                ("cert_name", "Deelcertificaat veilig bouwen"),
                ("cert_description", "Twee modules"),
                ("cert_credits", "8"),
                (&s1, "1"),
                (&s2, "2"),
                ("kind", "all"),
                ("micro", "1"),
                ("mc_outcomes", "Werkt veilig op de bouwplaats"),
                ("mc_assessment", "Alle badges van de lijn"),
                ("mc_participation", "onsite"),
                ("mc_quality", "Examencommissie"),
            ],
        )
        .await;
    assert_eq!(line.status, StatusCode::SEE_OTHER, "{}", line.body);
    let line_id = line.location().rsplit('/').next().unwrap().to_string();
    let (_, view) = app.get(&format!("/api/v1/metro-lines/{line_id}"), Some(ADMIN)).await;
    assert_eq!(view["certificate"]["micro_credential"]["participation"], "onsite", "{view}");

    let edit = admin.get(&made.location()).await;
    assert!(
        edit.body.contains("value=\"blended\" selected") && edit.body.contains("Controleert een harnas"),
        "{}",
        edit.body
    );
}
