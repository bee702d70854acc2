//! CLR 2.0: a learner's record of a metro line as a signed `ClrCredential` — for staff with
//! only their issuer's credentials, for the learner with partner badges too. Verified by the
//! reference JavaScript stack (outer proof and every embedded credential), by our VC-API
//! verifier, and valid against 1EdTech's CLR 2.0 JSON Schema (schemas/clr/).

use reqwest::StatusCode;
use serde_json::{Value, json};

use metrobadge::credential::contexts::{CLR_V2, lookup};

use crate::harness::{ADMIN, TestApp, both};
use crate::impact::learner_session;
use crate::interop::js_verify;
use crate::mail::SmtpServer;

both!(clr_of_a_metro_line);

fn schema_problems(clr: &Value) -> Vec<String> {
    let path = format!("{}/schemas/clr/clr_v2p0_clrcredential_schema.json", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = jsonschema::options().with_draft(jsonschema::Draft::Draft201909).build(&schema).unwrap();
    v.iter_errors(clr).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// The reference stack on the record and on each credential inside it.
async fn reference_verifies(app: &TestApp, clr: &Value) {
    let mut documents = serde_json::Map::new();
    documents.insert(CLR_V2.into(), serde_json::from_str(lookup(CLR_V2).unwrap()).unwrap());
    let inner = clr["credentialSubject"]["verifiableCredential"].as_array().unwrap();
    let mut cases = vec![json!({"name": "clr", "credential": clr})];
    for (i, vc) in inner.iter().enumerate() {
        cases.push(json!({"name": format!("inner-{i}"), "credential": vc}));
    }
    for vc in inner.iter().chain([clr]) {
        let issuer = vc["issuer"]["id"].as_str().unwrap();
        let (_, profile) = app.get(issuer.strip_prefix(&app.base).unwrap(), None).await;
        documents.insert(issuer.to_string(), profile);
    }
    let results = js_verify(&json!({"documents": documents, "cases": cases}));
    assert!(results.iter().all(|r| r.1), "reference stack: {results:?}");
    assert_eq!(results.len(), inner.len() + 1);
}

async fn clr_of_a_metro_line(app: TestApp) {
    let issuer = app.issuer("Techniek Twente").await;
    let partner = app.issuer("Partner ROC").await;
    app.partnership(&issuer, &partner).await;
    let (a, b) = (app.module(&issuer, "Smeren").await, app.module(&issuer, "Uitlijnen").await);
    let p = app.module(&partner, "Veilig werken").await;
    let (_, map) = app.post(&format!("/api/v1/issuers/{issuer}/metro-maps"), ADMIN, json!({"name": "Onderhoud"})).await;
    let line = json!({
        "name": "Onderhoud basis", "metro_map": map["id"], "stations": [a, p, b], "accepts_issuers": [partner],
        "rule": {"in_order": [{"nanomodule": a}, {"nanomodule": p}, {"nanomodule": b}]},
        "certificate": {"name": "Deelcertificaat Onderhoud", "description": "MBO deelcertificaat"},
    });
    let (s, line) = app.post(&format!("/api/v1/issuers/{issuer}/metro-lines"), ADMIN, line).await;
    assert_eq!(s, StatusCode::CREATED, "{line}");
    let line = line["id"].as_str().unwrap().to_string();
    app.award_one(&a, "ann@example.nl").await;
    app.award_one(&p, "ann@example.nl").await;
    let last = app.award_one(&b, "ann@example.nl").await;
    assert_eq!(last["certificates"].as_array().map(Vec::len), Some(1), "{last}");
    app.award_one(&a, "bob@example.nl").await;

    // Staff: only what Techniek Twente signed (a, b and the certificate).
    let path = format!("/api/v1/metro-lines/{line}/clr?identity=ann@example.nl");
    let (s, clr) = app.get(&path, Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK, "{clr}");
    assert_eq!(clr["type"], json!(["VerifiableCredential", "ClrCredential"]));
    assert_eq!(clr["partial"], json!(true));
    let subject = &clr["credentialSubject"];
    let inner = subject["verifiableCredential"].as_array().unwrap();
    assert_eq!(inner.len(), 3, "{clr}");
    assert!(inner.iter().all(|vc| vc["issuer"]["id"] == clr["issuer"]["id"]), "no partner badge without the learner");
    assert_eq!(subject["achievement"].as_array().unwrap().len(), 3);
    let kinds: Vec<&str> =
        subject["association"].as_array().unwrap().iter().map(|x| x["associationType"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["isPartOf", "isPartOf", "precedes"], "{}", subject["association"]);
    assert_eq!(schema_problems(&clr), Vec::<String>::new());
    reference_verifies(&app, &clr).await;
    let r = app
        .client
        .post(format!("{}/credentials/verify", app.base))
        .json(&json!({"verifiableCredential": clr}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let report: Value = r.json().await.unwrap();
    assert_eq!((status, &report["verified"]), (StatusCode::OK, &json!(true)), "our verifier: {report}");
    // Changing the record breaks its proof.
    let mut altered = clr.clone();
    altered["credentialSubject"]["association"][0]["associationType"] = json!("isPeerOf");
    let results = js_verify(
        &json!({"documents": {CLR_V2: serde_json::from_str::<Value>(lookup(CLR_V2).unwrap()).unwrap(),
        clr["issuer"]["id"].as_str().unwrap(): app.get(clr["issuer"]["id"].as_str().unwrap().strip_prefix(&app.base).unwrap(), None).await.1},
        "cases": [{"name": "altered", "credential": altered}]}),
    );
    assert!(!results[0].1, "an altered record must not verify");

    // Another issuer's staff cannot ask; a learner without badges of the line has no record.
    let partner_admin = app.member(&partner, "issuer_admin").await;
    assert_eq!(app.get(&path, Some(&partner_admin)).await.0, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&format!("/api/v1/metro-lines/{line}/clr?identity=nobody@example.nl"), Some(ADMIN)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, audit) = app.get("/api/v1/audit/events?limit=1000", Some(ADMIN)).await;
    assert!(audit.to_string().contains("clr.issued"));

    // The learner's own record holds the partner's badge too.
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let cookie = learner_session(&app, &smtp, &sender, "ann@example.nl").await;
    let page = crate::impact::my_page(&app, &cookie).await;
    assert!(page.contains(&format!("/me/lines/{line}/clr.json")), "{page}");
    let r = app
        .client
        .get(format!("{}/me/lines/{line}/clr.json", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let mine: Value = r.json().await.unwrap();
    assert_eq!(mine["credentialSubject"]["verifiableCredential"].as_array().unwrap().len(), 4);
    assert_eq!(schema_problems(&mine), Vec::<String>::new());
    reference_verifies(&app, &mine).await;
    // Or, as the learner chooses, without the partner's.
    let r = app
        .client
        .get(format!("{}/me/lines/{line}/clr.json?partners=no", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let own: Value = r.json().await.unwrap();
    assert_eq!(own["credentialSubject"]["verifiableCredential"].as_array().unwrap().len(), 3);
    let r = app.client.get(format!("{}/me/lines/{line}/clr.json", app.base)).send().await.unwrap();
    assert!(r.url().path() == "/me" || r.status().is_redirection(), "signed out: to the sign-in page");
}
