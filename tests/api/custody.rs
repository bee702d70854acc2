//! Issue 12: custody of personal data — a learner's export and erasure.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ADMIN, TestApp, both};

both!(learner_export_and_erasure);

/// Every row of every table as text (to prove something is nowhere in the database).
async fn dump(app: &TestApp) -> String {
    let store = &app.store;
    let mut out = String::new();
    if store.backend() == "postgres" {
        for t in store.query_text("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'").await.unwrap() {
            for row in store.query_text(&format!("SELECT t::text FROM \"{t}\" t")).await.unwrap() {
                out.push_str(&row);
                out.push('\n');
            }
        }
    } else {
        for t in store.query_text("SELECT name FROM sqlite_master WHERE type = 'table'").await.unwrap() {
            let cols = store.query_text(&format!("SELECT name FROM pragma_table_info('{t}')")).await.unwrap();
            if cols.is_empty() {
                continue;
            }
            let expr = cols.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || '|' || ");
            for row in store.query_text(&format!("SELECT {expr} FROM \"{t}\"")).await.unwrap() {
                out.push_str(&row);
                out.push('\n');
            }
        }
    }
    out
}

async fn learner_export_and_erasure(app: TestApp) {
    let a = app.issuer("Opleider").await;
    let b = app.issuer("Ander").await;
    let admin_a = app.member(&a, "issuer_admin").await;
    let admin_b = app.member(&b, "issuer_admin").await;
    let (m1, m2) = (app.module(&a, "Een").await, app.module(&a, "Twee").await);
    let (_, map) = app.post(&format!("/api/v1/issuers/{a}/metro-maps"), ADMIN, json!({"name": "Kaart"})).await;
    let (s, _) = app
        .post(
            &format!("/api/v1/issuers/{a}/metro-lines"),
            ADMIN,
            json!({"name": "Lijn", "metro_map": map["id"], "stations": [m1, m2], "certificate": {"name": "C", "description": "d"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let email = "wendy.erasable@example.nl";
    let name = "Wendy Wisbaar";
    let award = |m: String| {
        app.client
            .post(format!("{}/api/v1/nanomodules/{m}/awards", app.base))
            .bearer_auth(ADMIN)
            .header("idempotency-key", format!("k-{m}"))
            .json(&json!({"recipients": [{"identity": email, "name": name}]}))
            .send()
    };
    let first: Value = award(m1.clone()).await.unwrap().json().await.unwrap();
    let second: Value = award(m2.clone()).await.unwrap().json().await.unwrap();
    let certificate = second["certificates"][0]["certificate"].as_str().expect("a certificate").to_string();
    let badge = first["credentials"][0]["id"].as_str().unwrap().to_string();
    let progress = first["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    let doc: Value = app.client.get(&badge).send().await.unwrap().json().await.unwrap();
    let salt = doc["credentialSubject"]["identifier"][0]["salt"].as_str().unwrap().to_string();
    assert!(dump(&app).await.contains(email), "the dump sees what is there");

    // Art. 15/20: the export.
    let (s, export) = app.post("/api/v1/learners/export", &admin_a, json!({"identity": email})).await;
    assert_eq!(s, StatusCode::OK, "{export}");
    assert_eq!(export["credentials"].as_array().unwrap().len(), 3, "two badges and the certificate");
    assert_eq!(export["credentials"][0]["credential"]["id"], badge.as_str());
    let mut kinds: Vec<&str> =
        export["credentials"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["badge", "badge", "partial certificate"]);
    assert_eq!(export["subject"]["identity"], email);
    assert_eq!(export["progress_links"].as_array().unwrap().len(), 1);
    assert!(!export.to_string().contains("mbp_"), "no link token in the export");
    assert_eq!(export["metro_lines"].as_array().unwrap().len(), 1);
    assert!(export["audit_events"].as_array().unwrap().iter().any(|e| e["action"] == "credential.issued"));
    for k in ["purposes", "recipients", "retention"] {
        assert!(export["processing"][k].is_string(), "{k}");
    }
    assert_eq!(
        app.post("/api/v1/learners/export", &admin_b, json!({"identity": email})).await.0,
        StatusCode::NOT_FOUND
    );

    // Art. 17: erasure.
    let (s, erased) = app.post("/api/v1/learners/erase", &admin_a, json!({"identity": email})).await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    assert_eq!(erased["credentials"], 3);
    let everything = dump(&app).await;
    for (what, needle) in [("e-mail address", email), ("name", name), ("salt", salt.as_str())] {
        assert!(!everything.contains(needle), "the {what} is still stored somewhere");
    }
    for url in [&badge, &certificate] {
        assert_eq!(app.client.get(url).send().await.unwrap().status(), StatusCode::GONE);
    }
    assert_eq!(app.client.get(&progress).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let (_, report) = app.post("/verify", ADMIN, doc).await;
    assert_eq!(report["outcome"], "invalid");
    assert!(report.to_string().contains("erased on request"), "a copy someone holds shows as revoked: {report}");
    let (_, check) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(check["ok"], true, "{check}");
    let events = app.store.audit_page(0, 10_000).await.unwrap();
    assert!(events.iter().any(|e| e.action == "learner.erased" && e.issuer_id.as_deref() == Some(a.as_str())));
    assert_eq!(
        app.post("/api/v1/learners/export", &admin_a, json!({"identity": email})).await.0,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}
