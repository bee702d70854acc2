//! The audit chain: written with every change, append-only, verifiable, never forked.

use reqwest::StatusCode;
use serde_json::json;

use metrobadge::store::Store;

use crate::harness::{ADMIN, TEST_MASTER_KEY, TestApp, both};

both!(every_change_is_chained, audit_table_is_append_only, tampering_is_detected, concurrent_instances_never_fork);

/// An export of the chain as the admin sees it, in the given media type.
async fn export(app: &TestApp, query: &str, accept: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/api/v1/audit/events{query}", app.base))
        .bearer_auth(ADMIN)
        .header("accept", accept)
        .send()
        .await
        .unwrap()
}

/// Disables the append-only triggers, as a database superuser could.
async fn bypass_triggers(store: &Store) {
    match store {
        Store::Sqlite(_) => store.execute_raw("DROP TRIGGER audit_event_no_update").await.unwrap(),
        Store::Postgres(_) => store.execute_raw("ALTER TABLE audit_event DISABLE TRIGGER USER").await.unwrap(),
    };
}

async fn every_change_is_chained(app: TestApp) {
    let a = app.issuer("A").await;
    app.member(&a, "trainer").await;
    app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": "S"})).await;
    app.post(&format!("/api/v1/issuers/{a}/keys/rotate"), ADMIN, json!({})).await;
    // A rejected request writes nothing.
    let (s, _) = app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let events = app.service.store.audit_page(0, 100).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["issuer.created", "key.created", "member.added", "token.created", "skill.created", "key.created"]
    );
    assert!(events.iter().all(|e| e.issuer_id.as_deref() == Some(a.as_str())));
    assert_eq!(events[0].actor_token, "env:admin");
    assert_eq!(events[0].actor_role, "admin");
    assert_eq!(events[0].prev_hash, metrobadge::domain::audit::GENESIS_HASH);
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    // No personal data in the chain: the member's e-mail is only inside a digest.
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains("trainer@example.nl"));
    let report = app.service.store.audit_verify().await.unwrap();
    assert!(report.ok);
    assert_eq!(report.events_checked, 6);
    app.stop().await;
}

async fn audit_table_is_append_only(app: TestApp) {
    app.issuer("A").await;
    let store = &app.service.store;
    for sql in ["UPDATE audit_event SET action = 'x' WHERE seq = 1", "DELETE FROM audit_event WHERE seq = 1"] {
        let err = store.execute_raw(sql).await.expect_err("the trigger refuses");
        assert!(format!("{:?}", err).contains("append-only"), "{err:?}");
    }
    if matches!(store, Store::Postgres(_)) {
        let err = store.execute_raw("TRUNCATE audit_event").await.expect_err("the trigger refuses");
        assert!(format!("{:?}", err).contains("append-only"));
    }
    assert_eq!(store.audit_page(0, 10).await.unwrap().len(), 2);
    app.stop().await;
}

async fn tampering_is_detected(app: TestApp) {
    let a = app.issuer("A").await;
    app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": "S"})).await;
    let store = &app.service.store;
    // Bypass the triggers as a database superuser would.
    bypass_triggers(store).await;
    store.execute_raw("UPDATE audit_event SET subject_id = 'someone-else' WHERE seq = 2").await.unwrap();
    let report = store.audit_verify().await.unwrap();
    assert!(!report.ok);
    let broken = report.first_break.unwrap();
    assert_eq!(broken.seq, 2);
    assert_ne!(broken.expected_hash, broken.found_hash);
    app.stop().await;
}

/// Two service instances on one database append concurrently: one chain, no fork, no gap.
async fn concurrent_instances_never_fork(app: TestApp) {
    let other = TestApp::start(app.db.clone(), TEST_MASTER_KEY).await;
    let a = app.issuer("A").await;
    let per_instance = 40;
    let mut tasks = Vec::new();
    for (n, instance) in [&app, &other].into_iter().enumerate() {
        for i in 0..per_instance {
            let client = instance.client.clone();
            let url = format!("{}/api/v1/issuers/{a}/skills", instance.base);
            tasks.push(tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .bearer_auth(ADMIN)
                    .json(&json!({"name": format!("skill {n}-{i}")}))
                    .send()
                    .await
                    .unwrap();
                resp.status()
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    let report = app.service.store.audit_verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.events_checked, 2 + 2 * per_instance as u64);
    let events = app.service.store.audit_page(0, 1000).await.unwrap();
    let skills = events.iter().filter(|e| e.action == "skill.created").count();
    assert_eq!(skills, 2 * per_instance);
    other.stop().await;
    app.stop().await;
}

both!(audit_api_scopes_exports_and_verifies);

async fn audit_api_scopes_exports_and_verifies(app: TestApp) {
    let a = app.issuer("A").await;
    let b = app.issuer("B").await;
    let auditor = app.member(&a, "auditor").await;
    let trainer = app.member(&a, "trainer").await;
    for i in 0..3 {
        app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": format!("S{i}")})).await;
    }
    // The auditor sees A's events only, in pages with a cursor.
    let (s, page) = app.get("/api/v1/audit/events?limit=2", Some(&auditor)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["issuer_id"] == a.as_str()));
    let next = page["next_after"].as_i64().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/audit/events?after={next}&limit=100"), Some(&auditor)).await;
    assert!(rest["events"][0]["seq"].as_i64().unwrap() > next);
    assert_eq!(app.get(&format!("/api/v1/audit/events?issuer={b}"), Some(&auditor)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/audit/events", Some(&trainer)).await.0, StatusCode::FORBIDDEN);
    // Admin exports everything as NDJSON and CSV, streamed.
    let all = app.service.store.audit_page(0, 10_000).await.unwrap();
    let r = export(&app, "", "application/x-ndjson").await;
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<serde_json::Value> =
        r.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), all.len());
    assert_eq!(lines.last().unwrap()["hash"], all.last().unwrap().hash.as_str());
    let r = export(&app, &format!("?issuer={b}"), "text/csv").await;
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("seq,occurred_at,"));
    assert_eq!(csv.lines().count(), 1 + all.iter().filter(|e| e.issuer_id.as_deref() == Some(b.as_str())).count());
    // Verification over HTTP, before and after tampering below the triggers.
    let (_, report) = app.get("/api/v1/audit/verify", Some(&auditor)).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["events_checked"].as_u64().unwrap() as usize, all.len());
    let store = &app.service.store;
    bypass_triggers(store).await;
    store.execute_raw("UPDATE audit_event SET action = 'skill.deleted' WHERE seq = 5").await.unwrap();
    let (_, report) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_break"]["seq"], 5);
    // The offline tool finds the same row in an export of the altered database.
    let r = export(&app, "", "application/x-ndjson").await;
    let (ok, out) = offline_verify(&r.text().await.unwrap(), &json!([]));
    assert!(!ok && out.contains("seq 5"), "{out}");
    app.stop().await;
}

both!(signed_checkpoints_and_offline_verification);

fn offline_verify(export: &str, checkpoints: &serde_json::Value) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("mb_audit_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("export.ndjson"), export).unwrap();
    std::fs::write(dir.join("checkpoints.json"), checkpoints.to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_metrobadge"))
        .args(["audit", "verify"])
        .arg(dir.join("export.ndjson"))
        .arg("--checkpoint")
        .arg(dir.join("checkpoints.json"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

async fn signed_checkpoints_and_offline_verification(app: TestApp) {
    let a = app.issuer("A").await;
    let auditor = app.member(&a, "auditor").await;
    assert_eq!(app.post("/api/v1/audit/checkpoints", &auditor, json!({})).await.0, StatusCode::FORBIDDEN);
    let (s, cp) = app.post("/api/v1/audit/checkpoints", ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{cp}");
    let (_, key) = app.get("/audit/key", None).await;
    assert_eq!(cp["public_key"], key["publicKeyMultibase"]);
    app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": "after the checkpoint"})).await;
    let (_, listed) = app.get("/audit/checkpoints", None).await;
    assert_eq!(listed["checkpoints"][0]["seq"], cp["seq"]);
    let events = app.service.store.audit_page(0, 10_000).await.unwrap();
    assert!(events.iter().any(|e| e.action == "audit.checkpoint"), "checkpoints are chain events themselves");

    let good = export(&app, "", "application/x-ndjson").await.text().await.unwrap();
    let (ok, out) = offline_verify(&good, &listed);
    assert!(ok, "{out}");
    assert!(out.contains("1 checkpoint(s) reached"));

    // An edited line is found, with its sequence number.
    let mut lines: Vec<serde_json::Value> = good.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    lines[2]["subject_id"] = json!("someone else");
    let edited: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (ok, out) = offline_verify(&edited, &listed);
    assert!(!ok && out.contains("seq 3"), "{out}");

    // History rewritten consistently (every hash recomputed) no longer matches the checkpoint.
    let mut prev = metrobadge::domain::audit::GENESIS_HASH.to_string();
    let rewritten: String = good
        .lines()
        .map(|l| {
            let mut e: metrobadge::domain::audit::Event = serde_json::from_str(l).unwrap();
            if e.seq == 1 {
                e.actor_role = "nobody".into();
            }
            e.prev_hash = prev.clone();
            e.hash = e.expected_hash();
            prev = e.hash.clone();
            format!("{}\n", serde_json::to_string(&e).unwrap())
        })
        .collect();
    let (ok, out) = offline_verify(&rewritten, &listed);
    assert!(!ok && out.contains("history was rewritten"), "{out}");
    let mut forged = listed.clone();
    forged["checkpoints"][0]["hash"] = json!(prev);
    let (ok, out) = offline_verify(&rewritten, &forged);
    assert!(!ok && out.contains("invalid signature"), "{out}");
    app.stop().await;
}

both!(reports_and_concurrent_award_chain);

/// Two instances award concurrently (2 × 500): one chain, no fork, no gap, exactly one event per
/// credential; then the issuance report counts them.
async fn reports_and_concurrent_award_chain(app: TestApp) {
    use futures_util::StreamExt;
    let other = TestApp::start(app.db.clone(), TEST_MASTER_KEY).await;
    let (issuer, nm) = crate::awards::module(&app, None).await;
    let trainer = app.member(&issuer, "trainer").await;
    let mut requests = Vec::new();
    for (n, instance) in [&app, &other].into_iter().enumerate() {
        for i in 0..500 {
            let (client, url, token) =
                (instance.client.clone(), format!("{}/api/v1/nanomodules/{nm}/awards", instance.base), trainer.clone());
            requests.push(async move {
                let r = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"recipients": [{"identity": format!("p{n}-{i}@example.nl")}]}))
                    .send()
                    .await
                    .unwrap();
                r.status()
            });
        }
    }
    let statuses: Vec<StatusCode> = futures_util::stream::iter(requests).buffer_unordered(24).collect().await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    let report = app.service.store.audit_verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    let events = app.service.store.audit_page(0, 100_000).await.unwrap();
    assert_eq!(report.events_checked as usize, events.len());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "no gap");
    }
    let issued: Vec<&str> =
        events.iter().filter(|e| e.action == "credential.issued").map(|e| e.subject_id.as_str()).collect();
    assert_eq!(issued.len(), 1000);
    assert_eq!(issued.iter().collect::<std::collections::HashSet<_>>().len(), 1000, "exactly one event per credential");
    assert_eq!(events.iter().filter(|e| e.action == "award.created").count(), 1000);

    let some = events.iter().find(|e| e.action == "credential.issued").unwrap().subject_id.clone();
    app.post(&format!("/api/v1/credentials/{some}/revoke"), ADMIN, json!({"reason": "r"})).await;
    let auditor = app.member(&issuer, "auditor").await;
    let (s, r) = app.get(&format!("/api/v1/reports/issuance?issuer={issuer}&group=trainer"), Some(&auditor)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["groups"][0]["group"], "trainer person");
    assert_eq!(r["groups"][0]["awards"], 1000);
    assert_eq!(r["groups"][0]["revocations"], 1);
    assert_eq!(r["awards_per_trainer"][0]["awards"], 1000);
    let (_, r) = app.get(&format!("/api/v1/reports/issuance?issuer={issuer}&group=nanomodule"), Some(ADMIN)).await;
    assert_eq!(r["groups"][0]["group"], "Smeren");
    let (_, r) =
        app.get(&format!("/api/v1/reports/issuance?issuer={issuer}&from=2000-01-01&to=2001-01-01"), Some(ADMIN)).await;
    assert_eq!(r["groups"], json!([]));
    let (s, _) = app.get(&format!("/api/v1/reports/issuance?issuer={issuer}&from=yesterday"), Some(ADMIN)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let stranger_issuer = app.issuer("Other").await;
    let stranger = app.member(&stranger_issuer, "auditor").await;
    assert_eq!(
        app.get(&format!("/api/v1/reports/issuance?issuer={issuer}"), Some(&stranger)).await.0,
        StatusCode::NOT_FOUND
    );
    other.stop().await;
    app.stop().await;
}
