//! The audit chain: written with every change, append-only, verifiable, never forked.

use reqwest::StatusCode;
use serde_json::json;

use metrobadge::store::Store;

use crate::harness::{ADMIN, TEST_MASTER_KEY, TestApp, both};

both!(
    every_change_is_chained,
    events_are_stamped_by_the_service_clock,
    audit_table_is_append_only,
    tampering_is_detected,
    concurrent_instances_never_fork
);

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
    match store.backend() {
        "sqlite" => store.execute_raw("DROP TRIGGER audit_event_no_update").await.unwrap(),
        _ => store.execute_raw("ALTER TABLE audit_event DISABLE TRIGGER USER").await.unwrap(),
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
    let events = app.store.audit_page(0, 100).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "issuer.created",
            "key.created",
            "member.added",
            "token.created",
            "console.invitation_created",
            "skill.created",
            "key.created"
        ]
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
    let report = app.service.audit_check(None).await.unwrap();
    assert!(report.ok);
    assert_eq!(report.events_checked, 7);
    app.stop().await;
}

/// The store stamps rows and audit events with the service's clock, not a clock of its own:
/// moved forward three days, the next event says so.
async fn events_are_stamped_by_the_service_clock(app: TestApp) {
    let a = app.issuer("A").await;
    let wall = time::OffsetDateTime::now_utc();
    app.service.clock().advance(time::Duration::days(3));
    app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": "S"})).await;
    let events = app.store.audit_page(0, 100).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.action, "skill.created");
    let at = metrobadge::domain::time::parse_rfc3339(&last.occurred_at).unwrap();
    assert!(at - wall >= time::Duration::days(3), "{at} is not three days after {wall}");
    assert!(at - wall < time::Duration::days(3) + time::Duration::hours(1));
    let first = metrobadge::domain::time::parse_rfc3339(&events[0].occurred_at).unwrap();
    assert!(first - wall < time::Duration::hours(1), "earlier events keep their time");
    app.stop().await;
}

async fn audit_table_is_append_only(app: TestApp) {
    app.issuer("A").await;
    let store = &app.store;
    for sql in ["UPDATE audit_event SET action = 'x' WHERE seq = 1", "DELETE FROM audit_event WHERE seq = 1"] {
        let err = store.execute_raw(sql).await.expect_err("the trigger refuses");
        assert!(format!("{:?}", err).contains("append-only"), "{err:?}");
    }
    if store.backend() == "postgres" {
        let err = store.execute_raw("TRUNCATE audit_event").await.expect_err("the trigger refuses");
        assert!(format!("{:?}", err).contains("append-only"));
    }
    assert_eq!(store.audit_page(0, 10).await.unwrap().len(), 2);
    app.stop().await;
}

async fn tampering_is_detected(app: TestApp) {
    let a = app.issuer("A").await;
    app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": "S"})).await;
    let store = &app.store;
    // Bypass the triggers as a database superuser would.
    bypass_triggers(store).await;
    store.execute_raw("UPDATE audit_event SET subject_id = 'someone-else' WHERE seq = 2").await.unwrap();
    let report = app.service.audit_check(None).await.unwrap();
    assert!(!report.ok);
    let broken = report.first_break.unwrap();
    assert_eq!(broken.seq, 2);
    assert_eq!(broken.chain, a, "the break names the issuer's chain");
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
    let report = app.service.audit_check(None).await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.events_checked, 2 + 2 * per_instance as u64);
    let events = app.store.audit_page(0, 1000).await.unwrap();
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
    assert!(events.iter().all(|e| e["issuer_id"] == a.as_str() && e["chain"] == a.as_str()));
    let next = page["next_after"].as_i64().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/audit/events?after={next}&limit=100"), Some(&auditor)).await;
    assert_eq!(rest["events"][0]["seq"], 3, "the cursor continues where the page ended");
    assert_eq!(app.get(&format!("/api/v1/audit/events?issuer={b}"), Some(&auditor)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/audit/events", Some(&trainer)).await.0, StatusCode::FORBIDDEN);
    // Admin exports everything as NDJSON and CSV, streamed.
    let all = app.store.audit_page(0, 10_000).await.unwrap();
    let r = export(&app, "", "application/x-ndjson").await;
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<serde_json::Value> =
        r.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), all.len(), "no proof line before the first checkpoint");
    assert_eq!(lines.last().unwrap()["hash"], all.last().unwrap().hash.as_str());
    let r = export(&app, &format!("?issuer={b}"), "text/csv").await;
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("seq,occurred_at,") && csv.lines().next().unwrap().ends_with(",hash,chain"));
    assert!(csv.lines().nth(1).unwrap().ends_with(&format!(",{b}")), "each row names its chain");
    assert_eq!(csv.lines().count(), 1 + all.iter().filter(|e| e.issuer_id.as_deref() == Some(b.as_str())).count());
    // Verification over HTTP: the auditor's covers their issuer's chain and says so.
    let (_, report) = app.get("/api/v1/audit/verify", Some(&auditor)).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["scope"], a.as_str());
    assert_eq!(report["chains"].as_array().unwrap().len(), 1);
    let own = all.iter().filter(|e| e.chain == a).count();
    assert_eq!(report["events_checked"].as_u64().unwrap() as usize, own);
    let (_, report) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(report["scope"], "all");
    assert_eq!(report["events_checked"].as_u64().unwrap() as usize, all.len());
    // Tampering below the triggers is found and named: chain (issuer) and sequence number.
    let store = &app.store;
    bypass_triggers(store).await;
    store
        .execute_raw(&format!("UPDATE audit_event SET action = 'skill.deleted' WHERE chain = '{a}' AND seq = 5"))
        .await
        .unwrap();
    let (_, report) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_break"]["seq"], 5);
    assert_eq!(report["first_break"]["chain"], a.as_str());
    // The offline tool finds the same row in an export of the altered database.
    let r = export(&app, "", "application/x-ndjson").await;
    let (ok, out) = offline_verify(&r.text().await.unwrap(), &json!([]), None);
    assert!(!ok && out.contains(&format!("chain {a} broken at seq 5")), "{out}");
    app.stop().await;
}

both!(signed_checkpoints_and_offline_verification);

fn offline_verify(export: &str, checkpoints: &serde_json::Value, key: Option<&str>) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("mb_audit_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("export.ndjson"), export).unwrap();
    std::fs::write(dir.join("checkpoints.json"), checkpoints.to_string()).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_metrobadge"));
    cmd.args(["audit", "verify"]).arg(dir.join("export.ndjson")).arg("--checkpoint").arg(dir.join("checkpoints.json"));
    if let Some(k) = key {
        cmd.args(["--key", k]);
    }
    let out = cmd.output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// An auditor's export: the issuer's events as NDJSON, ending with the proof line.
async fn auditor_export(app: &TestApp, token: &str) -> String {
    let r = app
        .client
        .get(format!("{}/api/v1/audit/events", app.base))
        .bearer_auth(token)
        .header("accept", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

fn ndjson(lines: &[serde_json::Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Recomputes every hash of one chain in an export after `edit`, as a forger would.
fn rewrite(export: &str, chain: &str, edit: impl Fn(&mut metrobadge::domain::audit::Event)) -> String {
    let mut prev: Option<String> = None;
    export
        .lines()
        .map(|l| {
            let Ok(mut e) = serde_json::from_str::<metrobadge::domain::audit::Event>(l) else {
                return format!("{l}\n");
            };
            if e.chain != chain {
                return format!("{l}\n");
            }
            edit(&mut e);
            if let Some(p) = &prev {
                e.prev_hash = p.clone();
            }
            e.hash = e.expected_hash();
            prev = Some(e.hash.clone());
            format!("{}\n", serde_json::to_string(&e).unwrap())
        })
        .collect()
}

async fn signed_checkpoints_and_offline_verification(app: TestApp) {
    let a = app.issuer("A").await;
    let auditor = app.member(&a, "auditor").await;
    assert_eq!(app.post("/api/v1/audit/checkpoints", &auditor, json!({})).await.0, StatusCode::FORBIDDEN);
    let (s, cp) = app.post("/api/v1/audit/checkpoints", ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{cp}");
    assert_eq!(cp["number"], 1);
    let (s, again) = app.post("/api/v1/audit/checkpoints", ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::OK, "nothing new to sign: {again}");
    let (_, key) = app.get("/audit/key", None).await;
    let key = key["publicKeyMultibase"].as_str().unwrap().to_string();
    assert_eq!(cp["public_key"], key.as_str());
    app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": "after the checkpoint"})).await;
    let (_, listed) = app.get("/audit/checkpoints", None).await;
    assert_eq!(listed["checkpoints"][0]["number"], 1);
    assert!(listed["checkpoints"][0].get("heads").is_none(), "the public list tells no issuer's volume");
    let events = app.store.audit_page(0, 10_000).await.unwrap();
    assert!(
        events.iter().any(|e| e.action == "audit.checkpoint" && e.chain == "platform"),
        "checkpoints are events of the platform chain"
    );

    let good = auditor_export(&app, &auditor).await;
    let mut lines: Vec<serde_json::Value> = good.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.last().unwrap().get("proof").is_some(), "the export ends with its proof");
    assert!(!good.contains("\"platform\""), "an issuer's export holds no other chain's events");
    let (ok, out) = offline_verify(&good, &listed, Some(&key));
    assert!(ok, "{out}");
    assert!(out.contains("signed checkpoint 1 "), "{out}");
    assert!(out.contains("1 newer event(s) linked but not yet signed"), "{out}");

    // An edited line is found, with its chain and sequence number.
    lines[2]["subject_id"] = json!("someone else");
    let (ok, out) = offline_verify(&ndjson(&lines), &listed, Some(&key));
    assert!(!ok && out.contains(&format!("chain {a} broken at seq 3")), "{out}");

    // History rewritten consistently (every hash recomputed) no longer matches the checkpoint.
    let rewritten = rewrite(&good, &a, |e| {
        if e.seq == 1 {
            e.actor_role = "nobody".into();
        }
    });
    let (ok, out) = offline_verify(&rewritten, &listed, Some(&key));
    assert!(!ok && out.contains("history was rewritten"), "{out}");
    // A forger who also re-signs the checkpoint needs the platform key: their own is refused.
    let mut forged: Vec<serde_json::Value> = rewritten.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    forged.last_mut().unwrap()["proof"]["checkpoint"]["root"] = json!("00".repeat(32));
    let (ok, out) = offline_verify(&ndjson(&forged), &json!([]), Some(&key));
    assert!(!ok && out.contains("invalid signature"), "{out}");
    let (ok, out) = offline_verify(&good, &json!([]), Some("z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"));
    assert!(!ok && out.contains("key other than the platform's"), "{out}");
    app.stop().await;
}

both!(issuer_chains_verify_alone, legacy_chain_closes_and_issuer_exports_still_verify);

/// §2: two issuers award concurrently on two instances; each auditor's export verifies offline
/// on its own; an altered row, a removed row and rewritten history are each found and named.
async fn issuer_chains_verify_alone(app: TestApp) {
    use futures_util::StreamExt;
    let other = TestApp::start(app.db.clone(), TEST_MASTER_KEY).await;
    let a = app.issuer("Opleider A").await;
    let b = app.issuer("Opleider B").await;
    let (ma, mb) = (app.module(&a, "Module A").await, app.module(&b, "Module B").await);
    let (auditor_a, auditor_b) = (app.member(&a, "auditor").await, app.member(&b, "auditor").await);
    let mut requests = Vec::new();
    for (n, instance) in [&app, &other].into_iter().enumerate() {
        for i in 0..30 {
            for m in [&ma, &mb] {
                let (client, url) =
                    (instance.client.clone(), format!("{}/api/v1/nanomodules/{m}/awards", instance.base));
                requests.push(async move {
                    let body = json!({"recipients": [{"identity": format!("p{n}-{i}@example.nl")}]});
                    client.post(url).bearer_auth(ADMIN).json(&body).send().await.unwrap().status()
                });
            }
        }
    }
    let statuses: Vec<StatusCode> = futures_util::stream::iter(requests).buffer_unordered(16).collect().await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    assert_eq!(other.post("/api/v1/audit/checkpoints", ADMIN, json!({})).await.0, StatusCode::CREATED);
    // More after the checkpoint: linked, not yet signed.
    app.post(&format!("/api/v1/issuers/{a}/skills"), ADMIN, json!({"name": "later"})).await;

    let (_, key) = app.get("/audit/key", None).await;
    let key = key["publicKeyMultibase"].as_str().unwrap().to_string();
    let export_a = auditor_export(&app, &auditor_a).await;
    let export_b = auditor_export(&other, &auditor_b).await;
    for (export, own, theirs) in [(&export_a, &a, &b), (&export_b, &b, &a)] {
        assert!(!export.contains(theirs.as_str()), "an export reveals nothing of the other issuer");
        let events = export.lines().filter(|l| !l.starts_with("{\"proof\"")).count();
        assert!(events >= 60, "{events}");
        let (ok, out) = offline_verify(export, &json!([]), Some(&key));
        assert!(ok, "{own}: {out}");
        assert!(out.contains("in 1 chain(s)") && out.contains("signed checkpoint 1 "), "{out}");
    }
    for (token, own) in [(&auditor_a, &a), (&auditor_b, &b)] {
        let (_, report) = app.get("/api/v1/audit/verify", Some(token)).await;
        assert_eq!((report["ok"].clone(), report["scope"].clone()), (json!(true), json!(own)), "{report}");
        assert_eq!(report["checkpoint"]["heads_on_chain"], true);
    }
    let (_, report) = other.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["chains"].as_array().unwrap().len(), 3, "A, B and the platform: {report}");

    // Offline: an altered row, a removed row, rewritten history.
    let lines: Vec<serde_json::Value> = export_a.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut altered = lines.clone();
    altered[10]["action"] = json!("credential.revoked");
    let (ok, out) = offline_verify(&ndjson(&altered), &json!([]), Some(&key));
    assert!(!ok && out.contains(&format!("chain {a} broken at seq 11")), "{out}");
    let mut removed = lines.clone();
    removed.remove(20);
    let (ok, out) = offline_verify(&ndjson(&removed), &json!([]), Some(&key));
    assert!(!ok && out.contains(&format!("chain {a} broken at seq 22")), "{out}");
    let rewritten = rewrite(&export_a, &a, |e| {
        if e.seq == 30 {
            e.subject_id = "someone-else".into();
        }
    });
    let (ok, out) = offline_verify(&rewritten, &json!([]), Some(&key));
    assert!(!ok && out.contains("history was rewritten") && out.contains(a.as_str()), "{out}");
    // Cutting off the signed end is found too.
    let head_seq =
        lines.last().unwrap()["proof"]["heads"].as_array().unwrap().iter().find(|h| h["chain"] == a.as_str()).unwrap()
            ["seq"]
            .as_i64()
            .unwrap();
    let cut: Vec<serde_json::Value> =
        lines.iter().filter(|l| l.get("proof").is_some() || l["seq"].as_i64().unwrap() < head_seq).cloned().collect();
    let (ok, out) = offline_verify(&ndjson(&cut), &json!([]), Some(&key));
    assert!(!ok && out.contains("does not reach"), "{out}");

    // In the database: B's altered row is named by the admin's check and B's auditor's, not A's.
    let store = &app.store;
    bypass_triggers(store).await;
    store
        .execute_raw(&format!("UPDATE audit_event SET subject_id = 'x' WHERE chain = '{b}' AND seq = 7"))
        .await
        .unwrap();
    let (_, report) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!((report["ok"].clone(), report["first_break"]["chain"].clone()), (json!(false), json!(b)), "{report}");
    assert_eq!(report["first_break"]["seq"], 7);
    assert_eq!(app.get("/api/v1/audit/verify", Some(&auditor_b)).await.1["ok"], false);
    assert_eq!(app.get("/api/v1/audit/verify", Some(&auditor_a)).await.1["ok"], true);
    // A removed row in A's chain.
    match store.backend() {
        "sqlite" => store.execute_raw("DROP TRIGGER audit_event_no_delete").await.unwrap(),
        _ => 0,
    };
    store.execute_raw(&format!("DELETE FROM audit_event WHERE chain = '{a}' AND seq = 12")).await.unwrap();
    let (_, report) = app.get("/api/v1/audit/verify", Some(&auditor_a)).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!((report["first_break"]["chain"].clone(), report["first_break"]["seq"].clone()), (json!(a), json!(13)));
    other.stop().await;
    app.stop().await;
}

/// §2: a database from before the split: its one chain is closed by a root every new chain
/// starts from; an issuer's export (old events and new) still verifies offline on its own.
async fn legacy_chain_closes_and_issuer_exports_still_verify(app: TestApp) {
    let a = app.issuer("Oud A").await;
    let b = app.issuer("Oud B").await;
    let (ma, mb) = (app.module(&a, "Module A").await, app.module(&b, "Module B").await);
    for i in 0..3 {
        for m in [&ma, &mb] {
            app.post(
                &format!("/api/v1/nanomodules/{m}/awards"),
                ADMIN,
                json!({"recipients": [{"identity": format!("l{i}@example.nl")}]}),
            )
            .await;
        }
    }
    // Back to the old table: every event in one chain, hashed without a chain name.
    let store = &app.store;
    let mut prev = metrobadge::domain::audit::GENESIS_HASH.to_string();
    let mut old = Vec::new();
    for (i, mut e) in store.audit_page(0, 10_000).await.unwrap().into_iter().enumerate() {
        e.chain = "legacy".into();
        e.seq = i as i64 + 1;
        e.prev_hash = prev.clone();
        e.hash = e.expected_hash();
        prev = e.hash.clone();
        old.push(e);
    }
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let rows: Vec<String> = old
        .iter()
        .map(|e| {
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                e.seq,
                q(&e.occurred_at),
                q(&e.actor_token),
                q(&e.actor_role),
                e.issuer_id.as_deref().map(q).unwrap_or("NULL".into()),
                q(&e.action),
                q(&e.subject_id),
                q(&e.change_digest),
                q(&e.prev_hash),
                q(&e.hash)
            )
        })
        .collect();
    let script = [
        "DROP TABLE audit_event".to_string(),
        "DROP TABLE audit_chain_close".into(),
        "DROP TABLE audit_tree_head".into(),
        "CREATE TABLE audit_event (seq BIGINT PRIMARY KEY, occurred_at TEXT NOT NULL, actor_token TEXT NOT NULL, \
         actor_role TEXT NOT NULL, issuer_id TEXT, action TEXT NOT NULL, subject_id TEXT NOT NULL, \
         change_digest TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL UNIQUE)"
            .into(),
        format!("INSERT INTO audit_event VALUES {}", rows.join(", ")),
        "DELETE FROM _sqlx_migrations WHERE version = 13".into(),
    ]
    .join(";\n");
    store.execute_script(&script).await.unwrap_or_else(|e| panic!("{e:?}"));
    store.migrate().await.expect("migration 13 runs on the old chain");
    let n_old = old.len() as i64;

    // New events go to per-issuer chains that start from the legacy chain's closing root.
    app.post(
        &format!("/api/v1/nanomodules/{ma}/awards"),
        ADMIN,
        json!({"recipients": [{"identity": "new@example.nl"}]}),
    )
    .await;
    app.post(&format!("/api/v1/issuers/{b}/skills"), ADMIN, json!({"name": "nieuw"})).await;
    let close = store.legacy_close().await.unwrap().expect("closed by the first append");
    assert_eq!(close.seq, n_old);
    let first_a = store.audit_chain_page(&a, 0, 1).await.unwrap().remove(0);
    assert_eq!((first_a.seq, first_a.prev_hash.clone()), (1, close.root.clone()));
    assert_eq!(app.post("/api/v1/audit/checkpoints", ADMIN, json!({})).await.0, StatusCode::CREATED);
    let (_, report) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        report["events_checked"].as_i64().unwrap(),
        n_old + store.audit_page(n_old, 1000).await.unwrap().len() as i64
    );

    // A's auditor: A's old events (with their paths under the closing root) and A's new chain.
    let (_, key) = app.get("/audit/key", None).await;
    let key = key["publicKeyMultibase"].as_str().unwrap().to_string();
    let auditor = app.member(&a, "auditor").await;
    let export = auditor_export(&app, &auditor).await;
    assert!(!export.contains(b.as_str()));
    assert!(export.contains("\"legacy\""));
    let (ok, out) = offline_verify(&export, &json!([]), Some(&key));
    assert!(ok, "{out}");
    let full = export_all(&app).await;
    let (ok, out) = offline_verify(&full, &json!([]), Some(&key));
    assert!(ok, "the admin's whole export too: {out}");
    // An old event of A, altered in the export or in the database, is found.
    let mut lines: Vec<serde_json::Value> = export.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let seq = lines[1]["seq"].as_i64().unwrap();
    lines[1]["action"] = json!("credential.revoked");
    let (ok, out) = offline_verify(&ndjson(&lines), &json!([]), Some(&key));
    assert!(!ok && out.contains(&format!("chain legacy broken at seq {seq}")), "{out}");
    let forged = rewrite(&export, "legacy", |e| e.action = "nothing".into());
    let (ok, out) = offline_verify(&forged, &json!([]), Some(&key));
    assert!(!ok && out.contains("history was rewritten"), "{out}");
    bypass_triggers(store).await;
    store
        .execute_raw(&format!("UPDATE audit_event SET subject_id = 'x' WHERE chain = 'legacy' AND seq = {seq}"))
        .await
        .unwrap();
    let (_, report) = app.get("/api/v1/audit/verify", Some(&auditor)).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(
        (report["first_break"]["chain"].clone(), report["first_break"]["seq"].clone()),
        (json!("legacy"), json!(seq))
    );
    app.stop().await;
}

async fn export_all(app: &TestApp) -> String {
    export(app, "", "application/x-ndjson").await.text().await.unwrap()
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
    let report = app.service.audit_check(None).await.unwrap();
    assert!(report.ok, "{report:?}");
    let events = app.store.audit_page(0, 100_000).await.unwrap();
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
