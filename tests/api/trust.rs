//! Issue 11, trust hardening: each test's name says which point of the issue it proves.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ADMIN, TEST_MASTER_KEY, TestApp, both};

both!(privacy_progress_links_are_per_issuer);
both!(privacy_idempotent_answers_hold_no_tokens);
both!(privacy_migration_splits_existing_links);
both!(partners_need_consent);
both!(outage_shared_badge_url_verifies);
both!(outage_ready_needs_schema_and_master_key);
both!(outage_crashed_award_indices_are_returned);
both!(outage_lock_held_fails_fast_with_503);
both!(hostile_urls_are_refused);
both!(hostile_images_are_refused);
both!(limits_crafted_credential_refused_before_json_ld);
both!(limits_busy_verification_slots_answer_429);
both!(limits_verify_rate_per_client);
both!(limits_failed_tokens_lock_a_client_out);
both!(limits_tokens_expire_list_and_revoke);
both!(limits_global_cap_on_requests_in_flight);

/// §4: the real PostgreSQL server stops and starts again (a cluster of the test's own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_database_down_is_could_not_check_not_invalid() {
    let cluster = tokio::task::spawn_blocking(crate::cluster::Cluster::start).await.unwrap();
    let limits = metrobadge::store::DbLimits {
        wait: std::time::Duration::from_secs(2),
        statement: std::time::Duration::from_secs(10),
    };
    let store = metrobadge::store::Store::connect_with(&cluster.url(), &limits).await.unwrap();
    let db = std::sync::Arc::new(crate::harness::TestDb::external(&cluster.url()));
    let app = TestApp::start_on(store, db, TEST_MASTER_KEY).await;
    let issuer = app.issuer("Outage").await;
    let m = app.module(&issuer, "Module").await;
    let badge =
        app.award_one_as(ADMIN, &m, "jan@example.nl").await["credentials"][0]["id"].as_str().unwrap().to_string();
    let vc = app.client.get(&badge).send().await.unwrap().text().await.unwrap();
    let verify = |accept: &'static str| {
        app.client
            .post(format!("{}/verify", app.base))
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(vc.clone())
            .send()
    };
    assert_eq!(verify("application/json").await.unwrap().json::<Value>().await.unwrap()["outcome"], "valid");

    let halted = &cluster;
    tokio::task::block_in_place(|| halted.halt());
    let r = verify("application/json").await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (report["verified"].clone(), report["outcome"].clone()),
        (json!(false), json!("could_not_check")),
        "{report}"
    );
    let page = verify("text/html").await.unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = page.text().await.unwrap();
    assert!(html.contains("Could not check") && !html.contains("Not valid"), "{html}");
    let (s, problem) = app.get("/api/v1/issuers", Some(ADMIN)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["type"], "urn:metrobadge:problem:unavailable");
    assert_eq!(app.get("/health/live", None).await.0, StatusCode::OK);
    assert_eq!(app.get("/health/ready", None).await.0, StatusCode::SERVICE_UNAVAILABLE);
    let r = app.client.get(&badge).header("accept", "text/html").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "the badge page too");

    // Back without a restart of metrobadge.
    tokio::task::block_in_place(|| halted.resume());
    let mut report = Value::Null;
    for _ in 0..50 {
        let r = verify("application/json").await.unwrap();
        if r.status() == StatusCode::OK {
            report = r.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(report["outcome"], "valid", "{report}");
    assert_eq!(app.get("/health/ready", None).await.0, StatusCode::OK);
    app.stop().await;
    drop(cluster);
}

async fn json_of(app: &TestApp, url: &str) -> (StatusCode, Value) {
    let r = app.client.get(url).send().await.unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn badge_ids(doc: &Value) -> Vec<String> {
    doc["badges"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_string()).collect()
}

/// §1: one learner awarded by two issuers has two private links; each shows only its issuer's
/// badges, and replacing or revoking one leaves the other working.
async fn privacy_progress_links_are_per_issuer(app: TestApp) {
    let a = app.issuer("Issuer A").await;
    let b = app.issuer("Issuer B").await;
    let (ma, mb) = (app.module(&a, "Module A").await, app.module(&b, "Module B").await);
    let admin_b = app.member(&b, "issuer_admin").await;
    let trainer_b = app.member(&b, "trainer").await;
    let from_a = app.award_one_as(ADMIN, &ma, "jan@example.nl").await;
    let from_b = app.award_one_as(&trainer_b, &mb, "Jan@Example.nl").await;
    let link_a = from_a["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    let link_b = from_b["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    assert_ne!(link_a, link_b, "B's award answer must not hand over A's link");
    let badge_a = from_a["credentials"][0]["id"].as_str().unwrap().to_string();
    let badge_b = from_b["credentials"][0]["id"].as_str().unwrap().to_string();

    let (s, doc_b) = json_of(&app, &link_b).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(badge_ids(&doc_b), [badge_b.as_str()], "B's link shows B's badge only: {doc_b}");
    assert!(!doc_b.to_string().contains("Module A"));
    let (_, doc_a) = json_of(&app, &link_a).await;
    assert_eq!(badge_ids(&doc_a), [badge_a.as_str()]);

    // A's token does not open B's badge page as the learner's view.
    let token_a = link_a.rsplit('/').next().unwrap();
    let page =
        app.client.get(format!("{badge_b}?learner={token_a}")).header("accept", "text/html").send().await.unwrap();
    assert!(!page.text().await.unwrap().contains("/progress/"), "no A link on B's badge page");

    // B's issuer admin revokes the learner's link with B: A's still works.
    let (s, r) = app.post("/api/v1/progress-links/revoke", &admin_b, json!({"identity": "jan@example.nl"})).await;
    assert_eq!((s, &r["links"]), (StatusCode::OK, &json!(1)), "{r}");
    assert_eq!(json_of(&app, &link_b).await.0, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&app, &link_a).await.0, StatusCode::OK);
    // The learner replaces B's new link themselves: A's link still works.
    let again = app.award_one_as(&trainer_b, &mb, "jan@example.nl").await;
    let link_b2 = again["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    assert_ne!(link_b2, link_b);
    assert_eq!(app.client.post(format!("{link_b2}/replace")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(json_of(&app, &link_b2).await.0, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&app, &link_a).await.0, StatusCode::OK);

    // B cannot touch a learner it never awarded, and learns nothing about A's learners.
    let (s, body) = app.post("/api/v1/progress-links/revoke", &admin_b, json!({"identity": "only-a@example.nl"})).await;
    app.award_one_as(ADMIN, &ma, "only-a@example.nl").await;
    let (s2, body2) =
        app.post("/api/v1/progress-links/revoke", &admin_b, json!({"identity": "only-a@example.nl"})).await;
    assert_eq!((s, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(body["detail"], body2["detail"], "the same answer whether or not A awarded the address");

    // Each replacement is in the replacing issuer's trail only.
    let (_, events) = app.get(&format!("/api/v1/audit/events?issuer={a}&limit=500"), Some(ADMIN)).await;
    assert!(!events.to_string().contains("progress_link.replaced"), "{events}");
    let (_, events) = app.get(&format!("/api/v1/audit/events?issuer={b}&limit=500"), Some(ADMIN)).await;
    assert_eq!(events.to_string().matches("progress_link.replaced").count(), 2);
    app.stop().await;
}

/// §1: stored idempotent answers hold no private token; a replay still answers with the links.
async fn privacy_idempotent_answers_hold_no_tokens(app: TestApp) {
    let a = app.issuer("Issuer A").await;
    let m = app.module(&a, "Module A").await;
    let body =
        json!({"recipients": [{"identity": "jan@example.nl"}, {"identity": "S-1", "identity_type": "sourcedId"}]});
    let send = || {
        app.client
            .post(format!("{}/api/v1/nanomodules/{m}/awards", app.base))
            .bearer_auth(ADMIN)
            .header("idempotency-key", "k-1")
            .json(&body)
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    let replay: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first, replay, "a replay answers exactly what the first call answered");
    assert!(first["credentials"][1]["progress_url"].as_str().unwrap().contains("/progress/mbp_"));
    let stored = app.store.query_text("SELECT response FROM idempotency_key").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains("mbp_"), "no token at rest: {}", stored[0]);
    app.stop().await;
}

/// §1: links handed out before links were per issuer keep working for the issuer that first
/// awarded the learner; other issuers get their own. The test fills the version-6 schema with a
/// link as the old code made it, then runs the migration.
async fn privacy_migration_splits_existing_links(app: TestApp) {
    let a = app.issuer("First").await;
    let b = app.issuer("Second").await;
    let (ma, mb) = (app.module(&a, "Module A").await, app.module(&b, "Module B").await);
    let badge_a = app.award_one_as(ADMIN, &ma, "jan@example.nl").await["credentials"][0]["id"].clone();
    app.award_one_as(ADMIN, &mb, "jan@example.nl").await;

    // Back to the old table: one link per learner, generation 1, derived without the issuer.
    let store = &app.store;
    let key = metrobadge::master_key::MasterKey::parse(TEST_MASTER_KEY, "test").unwrap();
    let mac = metrobadge::master_key::hmac_sha256(
        &key.subkey("progress-link"),
        "emailAddress\u{0}jan@example.nl\u{0}1".as_bytes(),
    );
    let legacy = format!("mbp_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac));
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(legacy.as_bytes()));
    let (text, time) = if store.backend() == "postgres" { ("text", "timestamptz") } else { ("TEXT", "TEXT") };
    let script = [
        "DROP TABLE partnership".to_string(),
        "DROP TABLE progress_link".to_string(),
        format!(
            "CREATE TABLE progress_link (token_hash {text} PRIMARY KEY, identity_type {text} NOT NULL, identity {text} NOT NULL, \
             generation BIGINT NOT NULL, created_at {time} NOT NULL, revoked_at {time}, UNIQUE (identity_type, identity, generation))"
        ),
        "CREATE UNIQUE INDEX progress_link_active ON progress_link (identity_type, identity) WHERE revoked_at IS NULL".into(),
        format!(
            "INSERT INTO progress_link VALUES ('{hash}', 'emailAddress', 'jan@example.nl', 1, (SELECT MIN(created_at) FROM credential), NULL)"
        ),
        "INSERT INTO progress_link VALUES ('orphan', 'emailAddress', 'nobody@example.nl', 1, (SELECT MIN(created_at) FROM credential), NULL)".into(),
        "DELETE FROM _sqlx_migrations WHERE version IN (7, 8)".into(),
    ]
    .join(";\n");
    store.execute_script(&script).await.unwrap_or_else(|e| panic!("{script}: {e:?}"));
    store.migrate().await.expect("migrations 7 and 8 run on the old data");

    let (s, doc) = json_of(&app, &format!("{}/progress/{legacy}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "the link handed out before the split still works");
    assert_eq!(badge_ids(&doc), [badge_a.as_str().unwrap()], "…for the issuer that first awarded the learner");
    let next = app.award_one_as(ADMIN, &mb, "jan@example.nl").await;
    let link_b = next["credentials"][0]["progress_url"].as_str().unwrap();
    assert!(!link_b.contains(&legacy), "the other issuer gets a link of its own");
    assert_eq!(json_of(&app, link_b).await.0, StatusCode::OK);
    let again = app.award_one_as(ADMIN, &ma, "jan@example.nl").await;
    assert!(again["credentials"][0]["progress_url"].as_str().unwrap().ends_with(&legacy), "A keeps showing it");
    let orphans = store.query_text("SELECT token_hash FROM progress_link WHERE token_hash = 'orphan'").await.unwrap();
    assert!(orphans.is_empty());
    app.stop().await;
}

/// §2: another issuer's modules become stations only with its consent; staff see partner
/// badges only as done / not done, and only for learners they awarded; the partner's award
/// answers never mention the line issuer's certificates; ending stops new certificates.
async fn partners_need_consent(app: TestApp) {
    let a = app.issuer("Line owner").await;
    let b = app.issuer("Partner").await;
    let admin_a = app.member(&a, "issuer_admin").await;
    let auditor_a = app.member(&a, "auditor").await;
    let admin_b = app.member(&b, "issuer_admin").await;
    let trainer_b = app.member(&b, "trainer").await;
    let own = app.module(&a, "Eigen module").await;
    let theirs = app.module(&b, "Partner module").await;
    let (_, map) = app.post(&format!("/api/v1/issuers/{a}/metro-maps"), ADMIN, json!({"name": "Kaart"})).await;
    let line = json!({"name": "Samen", "metro_map": map["id"], "stations": [own, theirs], "accepts_issuers": [b],
                      "certificate": {"name": "Samen", "description": "d"}});
    let lines_url = format!("/api/v1/issuers/{a}/metro-lines");
    let create = || app.post(&lines_url, &admin_a, line.clone());

    let (s, body) = create().await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "accepts_issuers[0]", "{body}");
    // A asks; A cannot accept its own request; B's admin can.
    let (s, p) = app.post(&format!("/api/v1/issuers/{a}/partnerships"), &admin_a, json!({"partner": b})).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["state"], "requested");
    assert_eq!(
        app.post(&format!("/api/v1/partnerships/{pid}/accept"), &admin_a, json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&format!("/api/v1/partnerships/{pid}/accept"), &trainer_b, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(create().await.0, StatusCode::UNPROCESSABLE_ENTITY, "still only requested");
    let (_, listed) = app.get(&format!("/api/v1/issuers/{b}/partnerships"), Some(&admin_b)).await;
    assert_eq!(listed["partnerships"][0]["state"], "requested", "{listed}");
    assert_eq!(
        app.post(&format!("/api/v1/partnerships/{pid}/approve"), &admin_b, json!({})).await.0,
        StatusCode::NOT_FOUND,
        "no such step"
    );
    let (s, p) = app.post(&format!("/api/v1/partnerships/{pid}/accept"), &admin_b, json!({})).await;
    assert_eq!((s, &p["state"]), (StatusCode::OK, &json!("accepted")), "{p}");
    let (s, l) = create().await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    let line_id = l["id"].as_str().unwrap().to_string();

    // A learner of B only: A's staff cannot ask about them.
    app.award_one_as(&trainer_b, &theirs, "only-b@example.nl").await;
    let (s, _) =
        app.get(&format!("/api/v1/metro-lines/{line_id}/progress?identity=only-b@example.nl"), Some(&auditor_a)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A shared learner: A sees the partner station done, without the partner badge's URL; B's
    // award that completes the line does not mention A's certificate.
    let mine = app.award_one_as(&admin_a, &own, "duo@example.nl").await;
    let partner_badge = app.award_one_as(&trainer_b, &theirs, "duo@example.nl").await;
    let partner_url = partner_badge["credentials"][0]["id"].as_str().unwrap();
    assert_eq!(partner_badge["certificates"], json!([]), "{partner_badge}");
    assert!(!partner_badge.to_string().contains(&line_id));
    let (s, seen) =
        app.get(&format!("/api/v1/metro-lines/{line_id}/progress?identity=duo@example.nl"), Some(&auditor_a)).await;
    assert_eq!(s, StatusCode::OK, "{seen}");
    assert_eq!(seen["satisfied"], true);
    assert!(!seen.to_string().contains(partner_url.rsplit('/').next().unwrap()), "no partner badge id: {seen}");
    assert_eq!(seen["certificate"]["status"], "active", "A's certificate exists: {seen}");
    let (_, a_events) = app.get(&format!("/api/v1/audit/events?issuer={a}&limit=500"), Some(ADMIN)).await;
    assert!(a_events.to_string().contains("certificate.issued"), "A's certificate event reaches A");
    for action in ["partnership.requested", "partnership.accepted"] {
        assert!(a_events.to_string().contains(action), "{action}");
        let (_, b_events) = app.get(&format!("/api/v1/audit/events?issuer={b}&limit=500"), Some(ADMIN)).await;
        assert!(b_events.to_string().contains(action), "{action} in the partner's trail too");
    }
    let _ = mine;
    // The partner suspends its badge: A's staff see the station as not done, not why.
    let partner_id = partner_url.rsplit('/').next().unwrap();
    let (s, _) =
        app.post(&format!("/api/v1/credentials/{partner_id}/suspend"), &admin_b, json!({"reason": "onderzoek"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, seen) =
        app.get(&format!("/api/v1/metro-lines/{line_id}/progress?identity=duo@example.nl"), Some(&auditor_a)).await;
    assert_eq!(seen["satisfied"], false, "{seen}");
    assert!(!seen["explanation"].to_string().contains("suspended"), "{seen}");
    let (s, _) = app.post(&format!("/api/v1/credentials/{partner_id}/reinstate"), &admin_b, json!({})).await;
    assert_eq!(s, StatusCode::OK);

    // Ending: new certificates that rely on B stop, the existing one stays valid.
    let (s, p) = app.post(&format!("/api/v1/partnerships/{pid}/end"), &admin_b, json!({})).await;
    assert_eq!((s, &p["state"]), (StatusCode::OK, &json!("ended")), "{p}");
    app.award_one_as(&admin_a, &own, "late@example.nl").await;
    app.award_one_as(&trainer_b, &theirs, "late@example.nl").await;
    let (_, late) =
        app.get(&format!("/api/v1/metro-lines/{line_id}/progress?identity=late@example.nl"), Some(&admin_a)).await;
    assert_eq!(late["certificate"], Value::Null, "no new certificate on an ended partnership: {late}");
    let (_, duo) =
        app.get(&format!("/api/v1/metro-lines/{line_id}/progress?identity=duo@example.nl"), Some(&admin_a)).await;
    assert_eq!(duo["certificate"]["status"], "active", "the existing certificate stays valid");
    assert_eq!(
        app.post(&format!("/api/v1/partnerships/{pid}/accept"), &admin_b, json!({})).await.0,
        StatusCode::CONFLICT
    );
    app.stop().await;
}

/// §4: the badge URL a learner shared (plain, `?learner=`, `.jwt`) verifies the credential it
/// names, looked up here; a URL elsewhere is "could not check", never "not valid".
async fn outage_shared_badge_url_verifies(app: TestApp) {
    let issuer = app.issuer("Issuer").await;
    let m = app.module(&issuer, "Module").await;
    let r = app.award_one_as(ADMIN, &m, "jan@example.nl").await;
    let badge = r["credentials"][0]["id"].as_str().unwrap().to_string();
    let learner = r["credentials"][0]["learner_url"].as_str().unwrap().to_string();
    for url in [badge.clone(), learner, format!("{badge}.jwt")] {
        let (s, report) = app.post("/verify", ADMIN, json!({"credential": url})).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            (report["verified"].clone(), report["outcome"].clone()),
            (json!(true), json!("valid")),
            "{url}: {report}"
        );
    }
    let form = app
        .client
        .post(format!("{}/verify", app.base))
        .header("accept", "text/html")
        .form(&[("credential", badge.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("Valid"), "{form}");
    let (s, report) =
        app.post("/verify", ADMIN, json!({"credential": "https://badges.elsewhere.example/credentials/1"})).await;
    assert_eq!((s, report["outcome"].clone()), (StatusCode::OK, json!("could_not_check")), "{report}");
    let (_, report) = app
        .post("/verify", ADMIN, json!({"credential": format!("{}/credentials/{}", app.base, uuid::Uuid::new_v4())}))
        .await;
    assert_eq!(report["outcome"], "invalid", "a credential URL of ours that names nothing: {report}");
    app.stop().await;
}

/// §4: `/health/ready` needs a migrated database of this build's version and the right master
/// key; `/health/live` only the process. `/health` is `ready`.
async fn outage_ready_needs_schema_and_master_key(app: TestApp) {
    let (s, ready) = app.get("/health/ready", None).await;
    assert_eq!(s, StatusCode::OK, "{ready}");
    assert_eq!(app.get("/health", None).await.1["status"], "ok");
    app.issuer("Has a key").await;
    let other_key = "metrobadge-master-key-v1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n";
    let wrong = TestApp::start(app.db.clone(), other_key).await;
    let (s, body) = wrong.get("/health/ready", None).await;
    assert_eq!(
        (s, body["checks"]["keys"].clone()),
        (StatusCode::SERVICE_UNAVAILABLE, json!("wrong master key")),
        "{body}"
    );
    assert_eq!(wrong.get("/health/live", None).await.0, StatusCode::OK);
    wrong.stop().await;
    // A database one migration behind this build.
    app.store
        .execute_raw("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .await
        .unwrap();
    let (s, body) = app.get("/health/ready", None).await;
    assert_eq!((s, body["checks"]["schema"].clone()), (StatusCode::SERVICE_UNAVAILABLE, json!("behind")), "{body}");
    app.stop().await;
}

/// §4: indices an award reserved and never used (it crashed before storing) are returned to
/// their list; used ones never are.
async fn outage_crashed_award_indices_are_returned(app: TestApp) {
    let issuer = app.issuer("Issuer").await;
    let m = app.module(&issuer, "Module").await;
    app.award_one_as(ADMIN, &m, "used@example.nl").await;
    let store = &app.store;
    let issuer_id: uuid::Uuid = issuer.parse().unwrap();
    // The award's first step, then the "crash".
    let reserved = store.reserve_status_indices(issuer_id, 25).await.unwrap();
    assert_eq!(reserved.len(), 25);
    let count =
        || async { store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM status_entry").await.unwrap()[0].clone() };
    let allocated =
        || async { store.query_text("SELECT CAST(SUM(allocated) AS TEXT) FROM status_list").await.unwrap()[0].clone() };
    assert_eq!((count().await, allocated().await), ("26".to_string(), "26".to_string()));
    let now = app.service.now().unix_timestamp();
    // Fresh reservations are left alone (an award may still be signing).
    let before = (app.service.now() - metrobadge::service::RESERVATION_GRACE).unix_timestamp();
    assert_eq!(app.service.reclaim_status_indices(0, before).await.unwrap(), 0);
    store.execute_raw(&format!("UPDATE status_entry SET reserved_epoch = {}", now - 7200)).await.unwrap();
    assert_eq!(app.service.reclaim_status_indices(0, before).await.unwrap(), 25);
    assert_eq!((count().await, allocated().await), ("1".to_string(), "1".to_string()), "the used index stays");
    // The list hands indices out again, and the badge still verifies.
    app.award_one_as(ADMIN, &m, "next@example.nl").await;
    assert_eq!(count().await, "2");
    app.stop().await;
}

/// §4 timeouts: while another connection holds the write lock, an award fails within the
/// configured time with 503 + Retry-After instead of hanging, and works once the lock is gone.
async fn outage_lock_held_fails_fast_with_503(app: TestApp) {
    let issuer = app.issuer("Issuer").await;
    let m = app.module(&issuer, "Module").await;
    let limits = metrobadge::store::DbLimits {
        wait: std::time::Duration::from_secs(1),
        statement: std::time::Duration::from_secs(10),
    };
    let store = metrobadge::store::Store::connect_with(&app.db.url, &limits).await.unwrap();
    let quick = TestApp::start_on(store, app.db.clone(), TEST_MASTER_KEY).await;
    let holder = metrobadge::store::Store::open(&app.db.url).await.unwrap();
    let lock = if holder.backend() == "postgres" { "LOCK TABLE award IN ACCESS EXCLUSIVE MODE" } else { "SELECT 1" };
    let mut tx = holder.begin().await.unwrap();
    tx.execute_raw(lock).await.unwrap();
    let (s, body) = quick
        .post(&format!("/api/v1/nanomodules/{m}/awards"), ADMIN, json!({"recipients": [{"identity": "a@example.nl"}]}))
        .await;
    // A 503 (not a 201 after the lock is gone) proves the wait gave up by itself.
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["type"], "urn:metrobadge:problem:unavailable");
    drop(tx);
    holder.close().await;
    let (s, body) = quick
        .post(&format!("/api/v1/nanomodules/{m}/awards"), ADMIN, json!({"recipients": [{"identity": "a@example.nl"}]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    quick.stop().await;
    app.stop().await;
}

/// §5: the SQLite database and its WAL hold personal data: mode 0600.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_sqlite_files_are_private() {
    crate::harness::run(crate::harness::Backend::Sqlite, |app: TestApp| async move {
        app.issuer("Writes something").await;
        use std::os::unix::fs::PermissionsExt;
        for f in app.db.sqlite_files().iter().filter(|f| !f.display().to_string().ends_with("-shm")) {
            let mode = std::fs::metadata(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())).permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", f.display());
        }
        app.stop().await;
    })
    .await;
}

/// §5: URL fields take http(s) (and urn:/did: where an IRI identifier is allowed), nothing else.
async fn hostile_urls_are_refused(app: TestApp) {
    let issuer = app.issuer("Issuer").await;
    let (s, body) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/skills"),
            ADMIN,
            json!({"name": "x", "alignment": {"targetUrl": "javascript:alert(1)"}}),
        )
        .await;
    assert_eq!(
        (s, body["errors"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("alignment.targetUrl")),
        "{body}"
    );
    let (s, _) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/skills"),
            ADMIN,
            json!({"name": "x", "alignment": {"targetUrl": "urn:esco:1"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let m = app.module(&issuer, "Module").await;
    let (s, body) = app
        .post(
            &format!("/api/v1/nanomodules/{m}/awards"),
            ADMIN,
            json!({"recipients": [{"identity": "a@example.nl", "evidence": [{"id": "data:text/html,<script>x</script>"}]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "recipients[0].evidence[0].id");
    let (s, body) = app.patch(&format!("/api/v1/issuers/{issuer}"), ADMIN, json!({"url": "JavaScript:alert(1)"})).await;
    assert_eq!((s, body["errors"][0]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("url")), "{body}");
    app.stop().await;
}

/// §5: an image upload is decoded (PNG) or checked against the allowlist (SVG); a module
/// whose stored artwork is broken still serves its baked badges.
async fn hostile_images_are_refused(app: TestApp) {
    let issuer = app.issuer("Issuer").await;
    let m = app.module(&issuer, "Module").await;
    let put = |ct: &'static str, body: Vec<u8>| {
        app.client
            .put(format!("{}/api/v1/nanomodules/{m}/image", app.base))
            .bearer_auth(ADMIN)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = put("image/png", b"\x89PNG\r\n\x1a\n".to_vec()).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "image", "{body}");
    for svg in [
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:h=\"http://www.w3.org/1999/xhtml\"><h:script>alert(1)</h:script></svg>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><a href=\"&#106;avascript:alert(1)\"><circle r=\"3\"/></a></svg>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><set attributeName=\"onclick\" to=\"alert(1)\"/></svg>",
    ] {
        let r = put("image/svg+xml", svg.as_bytes().to_vec()).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{svg}");
    }
    let ok = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 8 8\"><circle cx=\"4\" cy=\"4\" r=\"3\" fill=\"#0a5\"/></svg>";
    assert_eq!(put("image/svg+xml", ok.as_bytes().to_vec()).await.unwrap().status(), StatusCode::OK);
    let badge = app.award_one_as(ADMIN, &m, "a@example.nl").await["credentials"][0]["id"].as_str().unwrap().to_string();
    // Artwork stored before the checks (written past the API): the baked badges still work and
    // carry no active content.
    let evil = "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";
    let hex_evil = hex::encode(evil);
    let blob = if app.store.backend() == "postgres" {
        format!("decode('{hex_evil}', 'hex')")
    } else {
        format!("X'{hex_evil}'")
    };
    app.store.execute_raw(&format!("UPDATE image SET bytes = {blob}")).await.unwrap();
    let svg = app.client.get(format!("{badge}/badge.svg")).send().await.unwrap();
    assert_eq!(svg.status(), StatusCode::OK);
    let svg = svg.text().await.unwrap();
    assert!(!svg.contains("<script") && !svg.contains("onload"), "{svg}");
    let hex_png = hex::encode(b"\x89PNG\r\n\x1a\n");
    let blob =
        if app.store.backend() == "postgres" { format!("decode('{hex_png}', 'hex')") } else { format!("X'{hex_png}'") };
    app.store.execute_raw(&format!("UPDATE image SET bytes = {blob}, content_type = 'image/png'")).await.unwrap();
    assert_eq!(app.client.get(format!("{badge}/badge.png")).send().await.unwrap().status(), StatusCode::OK);
    app.stop().await;
}

/// A client that connects from `ip` (any 127/8 address reaches the test server).
pub fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(ip.parse::<std::net::IpAddr>().unwrap()).build().unwrap()
}

async fn genuine_badge(app: &TestApp) -> Value {
    let issuer = app.issuer("Issuer").await;
    let m = app.module(&issuer, "Module").await;
    let url = app.award_one(&m, "a@example.nl").await["credentials"][0]["id"].as_str().unwrap().to_string();
    app.client.get(url).send().await.unwrap().json().await.unwrap()
}

/// §3: the crafted credential (one evidence node with thousands of types, ~83 KB) is refused
/// before any JSON-LD expansion, and says why.
async fn limits_crafted_credential_refused_before_json_ld(app: TestApp) {
    let mut vc = genuine_badge(&app).await;
    let types: Vec<Value> = (0..3000).map(|i| json!(format!("Evidence{i:05}x"))).collect();
    vc["evidence"] = json!([{"id": "https://e.example/1", "type": types}]);
    assert!(vc.to_string().len() > 40_000);
    let (s, report) = app.post("/verify", ADMIN, vc).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(report["outcome"], "invalid");
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["check"] == "format"), "nothing after the format checks ran: {report}");
    assert!(checks.last().unwrap()["detail"].as_str().unwrap().contains("before any JSON-LD"), "{report}");
    // Found by the fuzz test: a character no IRI may hold (U+FFFD) inside an id made the
    // canonicaliser panic.
    let mut odd = genuine_badge(&app).await;
    let id = odd["issuer"]["id"].as_str().unwrap().replace("issuers", "iss\u{fffd}uers");
    odd["issuer"]["id"] = json!(id);
    odd["credentialSubject"]["achievement"]["id"] = json!("urn:x:\u{fffd}");
    let (s, report) = app.post("/verify", ADMIN, odd).await;
    assert_eq!((s, report["outcome"].clone()), (StatusCode::OK, json!("invalid")), "{report}");
    let nest = |n: usize| (0..n).fold(json!("x"), |inner, _| json!({"a": inner}));
    let (s, report) = app.post("/verify", ADMIN, json!({"@context": [], "type": [], "deep": nest(50)})).await;
    assert_eq!((s, report["outcome"].clone()), (StatusCode::OK, json!("invalid")), "{report}");
    assert!(report.to_string().contains("nested deeper"), "{report}");
    let (s, problem) = app.post("/verify", ADMIN, json!({"deep": nest(300)})).await;
    assert_eq!(
        (s, problem["type"].clone()),
        (StatusCode::BAD_REQUEST, json!("urn:metrobadge:problem:malformed-request"))
    );
    app.stop().await;
}

/// §3: with every verification slot busy `/verify` answers 429 while `/health/live` answers.
async fn limits_busy_verification_slots_answer_429(app: TestApp) {
    let vc = genuine_badge(&app).await;
    let slots = app.service.verify_slots();
    let n = slots.available_permits() as u32;
    let held = slots.acquire_many_owned(n).await.unwrap();
    let r = app.client.post(format!("{}/verify", app.base)).json(&vc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.json::<Value>().await.unwrap()["type"], "urn:metrobadge:problem:too-many-requests");
    assert_eq!(app.get("/health/live", None).await.0, StatusCode::OK);
    assert_eq!(app.get("/health/ready", None).await.0, StatusCode::OK);
    drop(held);
    let (s, report) = app.post("/verify", ADMIN, vc).await;
    assert_eq!((s, report["outcome"].clone()), (StatusCode::OK, json!("valid")));
    app.stop().await;
}

/// §3: `POST /verify` is rate-limited per client (peer address); a spoofed `X-Forwarded-For`
/// is ignored unless the peer is a trusted proxy.
async fn limits_verify_rate_per_client(app: TestApp) {
    let vc = genuine_badge(&app).await;
    let limits = metrobadge::http::limits::Limits { verify_per_minute: 3, ..Default::default() };
    let store = metrobadge::store::Store::connect(&app.db.url).await.unwrap();
    let limited = TestApp::start_limited(store, app.db.clone(), TEST_MASTER_KEY, &limits).await;
    let verify = |client: &reqwest::Client, forwarded: Option<&str>| {
        let mut r = client.post(format!("{}/verify", limited.base)).json(&vc);
        if let Some(f) = forwarded {
            r = r.header("x-forwarded-for", f);
        }
        r.send()
    };
    let (a, b) = (client_from("127.0.0.1"), client_from("127.0.0.2"));
    for _ in 0..3 {
        assert_eq!(verify(&a, None).await.unwrap().status(), StatusCode::OK);
    }
    let r = verify(&a, None).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        verify(&a, Some("203.0.113.50")).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS,
        "spoofed header ignored"
    );
    assert_eq!(verify(&b, None).await.unwrap().status(), StatusCode::OK, "another client is not held up");
    limited.stop().await;

    // Behind a trusted proxy, the forwarded address is the client.
    let limits = metrobadge::http::limits::Limits {
        verify_per_minute: 1,
        trusted_proxies: vec!["127.0.0.3".parse().unwrap()],
        ..Default::default()
    };
    let store = metrobadge::store::Store::connect(&app.db.url).await.unwrap();
    let proxied = TestApp::start_limited(store, app.db.clone(), TEST_MASTER_KEY, &limits).await;
    let proxy = client_from("127.0.0.3");
    let send =
        |f: &'static str| proxy.post(format!("{}/verify", proxied.base)).header("x-forwarded-for", f).json(&vc).send();
    assert_eq!(send("203.0.113.1").await.unwrap().status(), StatusCode::OK);
    assert_eq!(send("203.0.113.2").await.unwrap().status(), StatusCode::OK);
    assert_eq!(send("203.0.113.1").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    proxied.stop().await;
    app.stop().await;
}

/// §3: failed bearer tokens are counted per client; past the limit the client is locked out
/// (even with a good token) while others are not.
async fn limits_failed_tokens_lock_a_client_out(app: TestApp) {
    let limits = metrobadge::http::limits::Limits { auth_failures_per_minute: 3, ..Default::default() };
    let store = metrobadge::store::Store::connect(&app.db.url).await.unwrap();
    let limited = TestApp::start_limited(store, app.db.clone(), TEST_MASTER_KEY, &limits).await;
    let get = |client: &reqwest::Client, token: &str| {
        client.get(format!("{}/api/v1/issuers", limited.base)).bearer_auth(token).send()
    };
    let (a, b) = (client_from("127.0.0.1"), client_from("127.0.0.2"));
    for i in 0..3 {
        assert_eq!(get(&a, &format!("mbt_guess{i}")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let r = get(&a, "mbt_guess9").await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(get(&a, ADMIN).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS, "locked out");
    assert_eq!(get(&b, ADMIN).await.unwrap().status(), StatusCode::OK);
    limited.stop().await;
    app.stop().await;
}

/// §3: API tokens are created with an expiry, listed without secrets, revoked by id.
async fn limits_tokens_expire_list_and_revoke(app: TestApp) {
    let issuer = app.issuer("Issuer").await;
    let admin_i = app.member(&issuer, "issuer_admin").await;
    let expires =
        (app.service.now() + time::Duration::days(30)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let (s, t) = app
        .post("/api/v1/tokens", &admin_i, json!({"role": "trainer", "label": "import script", "expires_at": expires}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let secret = t["token"].as_str().unwrap().to_string();
    assert_eq!(t["issuer"], issuer.as_str());
    assert_eq!(app.get(&format!("/api/v1/issuers/{issuer}"), Some(&secret)).await.0, StatusCode::OK);
    let (s, _) = app.post("/api/v1/tokens", &admin_i, json!({"role": "admin", "label": "x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an issuer admin mints no platform admin");
    let (s, body) = app
        .post(
            "/api/v1/tokens",
            &admin_i,
            json!({"role": "trainer", "label": "x", "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!((s, body["errors"][0]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("expires_at")));

    let (s, list) = app.get("/api/v1/tokens", Some(&admin_i)).await;
    assert_eq!(s, StatusCode::OK);
    let text = list.to_string();
    assert!(!text.contains(&secret) && !text.contains("secret") && !text.contains("lookup"), "{list}");
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "the member's own token and the new one: {list}");
    assert!(tokens.iter().all(|t| t["token"].is_null()));
    let other = app.issuer("Other").await;
    assert_eq!(app.get(&format!("/api/v1/tokens?issuer={other}"), Some(&admin_i)).await.0, StatusCode::NOT_FOUND);

    let id = t["id"].as_str().unwrap();
    let (s, revoked) = app.post(&format!("/api/v1/tokens/{id}/revoke"), &admin_i, json!({})).await;
    assert_eq!((s, revoked["state"].clone()), (StatusCode::OK, json!("revoked")), "{revoked}");
    assert_eq!(app.get(&format!("/api/v1/issuers/{issuer}"), Some(&secret)).await.0, StatusCode::UNAUTHORIZED);

    // An expired token is refused like a revoked one.
    let (_, t2) =
        app.post("/api/v1/tokens", ADMIN, json!({"role": "auditor", "issuer": issuer, "label": "short"})).await;
    let secret2 = t2["token"].as_str().unwrap().to_string();
    assert_eq!(app.get(&format!("/api/v1/issuers/{issuer}"), Some(&secret2)).await.0, StatusCode::OK);
    let ts = if app.store.backend() == "postgres" { "now() - interval '1 minute'" } else { "'2001-01-01T00:00:00Z'" };
    app.store.execute_raw(&format!("UPDATE api_token SET expires_at = {ts} WHERE label = 'short'")).await.unwrap();
    assert_eq!(app.get(&format!("/api/v1/issuers/{issuer}"), Some(&secret2)).await.0, StatusCode::UNAUTHORIZED);
    let (_, list) = app.get(&format!("/api/v1/tokens?issuer={issuer}"), Some(ADMIN)).await;
    assert!(list["tokens"].as_array().unwrap().iter().any(|t| t["state"] == "expired"), "{list}");
    let events = app.store.audit_page(0, 1000).await.unwrap();
    assert!(events.iter().any(|e| e.action == "token.revoked"));
    app.stop().await;
}

/// §3: a global cap on requests in flight; excess is 429 at once, health checks still answer.
async fn limits_global_cap_on_requests_in_flight(app: TestApp) {
    use tokio::io::AsyncWriteExt;
    let limits = metrobadge::http::limits::Limits { max_concurrent_requests: 1, ..Default::default() };
    let store = metrobadge::store::Store::connect(&app.db.url).await.unwrap();
    let capped = TestApp::start_limited(store, app.db.clone(), TEST_MASTER_KEY, &limits).await;
    // One request that never finishes sending its body holds the only slot.
    let addr = capped.base.trim_start_matches("http://").to_string();
    let hold = || async {
        let mut held = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /verify HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
        );
        held.write_all(head.as_bytes()).await.unwrap();
        held
    };
    let mut held = hold().await;
    // Generous: on a loaded machine the held request may take a while to reach the handler.
    let mut refused = false;
    for _ in 0..500 {
        let (s, body) = capped.get("/api/v1/issuers", Some(ADMIN)).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["type"], "urn:metrobadge:problem:too-many-requests");
            refused = true;
            break;
        }
        // The held request arrived while one of these was in flight and was refused itself
        // (an answer, or a closed connection): hold the slot again.
        let mut byte = [0u8; 1];
        match held.try_read(&mut byte) {
            Ok(_) => held = hold().await,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => held = hold().await,
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "the second request in flight is refused");
    assert_eq!(capped.get("/health/live", None).await.0, StatusCode::OK, "health checks are exempt");
    drop(held);
    let mut ok = false;
    for _ in 0..50 {
        if capped.get("/api/v1/issuers", Some(ADMIN)).await.0 == StatusCode::OK {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ok, "the slot is free again once the held request is gone");
    capped.stop().await;
    app.stop().await;
}
