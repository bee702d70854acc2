//! Issue 11, trust hardening: each test's name says which point of the issue it proves.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ADMIN, TEST_MASTER_KEY, TestApp, both};

both!(privacy_progress_links_are_per_issuer);
both!(privacy_idempotent_answers_hold_no_tokens);
both!(privacy_migration_splits_existing_links);
both!(partners_need_consent);

async fn module(app: &TestApp, issuer: &str, name: &str) -> String {
    let (s, nm) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/nanomodules"),
            ADMIN,
            json!({"name": name, "description": "d", "criteria": {"narrative": "n"}, "duration_minutes": 120}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{nm}");
    nm["id"].as_str().unwrap().to_string()
}

async fn award_as(app: &TestApp, token: &str, module: &str, who: &str) -> Value {
    let (s, r) = app
        .post(&format!("/api/v1/nanomodules/{module}/awards"), token, json!({"recipients": [{"identity": who}]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r
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
    let (ma, mb) = (module(&app, &a, "Module A").await, module(&app, &b, "Module B").await);
    let admin_b = app.member(&b, "issuer_admin").await;
    let trainer_b = app.member(&b, "trainer").await;
    let from_a = award_as(&app, ADMIN, &ma, "jan@example.nl").await;
    let from_b = award_as(&app, &trainer_b, &mb, "Jan@Example.nl").await;
    let link_a = from_a["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    let link_b = from_b["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    assert_ne!(link_a, link_b, "B's award answer must not hand over A's link");
    let badge_a = from_a["credentials"][0]["id"].as_str().unwrap().to_string();
    let badge_b = from_b["credentials"][0]["id"].as_str().unwrap().to_string();

    let (s, doc_b) = json_of(&app, &link_b).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(badge_ids(&doc_b), [badge_b.clone()], "B's link shows B's badge only: {doc_b}");
    assert!(!doc_b.to_string().contains("Module A"));
    let (_, doc_a) = json_of(&app, &link_a).await;
    assert_eq!(badge_ids(&doc_a), [badge_a.clone()]);

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
    let again = award_as(&app, &trainer_b, &mb, "jan@example.nl").await;
    let link_b2 = again["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    assert_ne!(link_b2, link_b);
    assert_eq!(app.client.post(format!("{link_b2}/replace")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(json_of(&app, &link_b2).await.0, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&app, &link_a).await.0, StatusCode::OK);

    // B cannot touch a learner it never awarded, and learns nothing about A's learners.
    let (s, body) = app.post("/api/v1/progress-links/revoke", &admin_b, json!({"identity": "only-a@example.nl"})).await;
    award_as(&app, ADMIN, &ma, "only-a@example.nl").await;
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
    let m = module(&app, &a, "Module A").await;
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
    let stored = app.service.store.query_text("SELECT response FROM idempotency_key").await.unwrap();
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
    let (ma, mb) = (module(&app, &a, "Module A").await, module(&app, &b, "Module B").await);
    let badge_a = award_as(&app, ADMIN, &ma, "jan@example.nl").await["credentials"][0]["id"].clone();
    award_as(&app, ADMIN, &mb, "jan@example.nl").await;

    // Back to the old table: one link per learner, generation 1, derived without the issuer.
    let store = &app.service.store;
    let key = metrobadge::master_key::MasterKey::parse(TEST_MASTER_KEY, "test").unwrap();
    let mac = key.derive("progress-link", "emailAddress\u{0}jan@example.nl\u{0}1".as_bytes());
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
        "DELETE FROM _sqlx_migrations WHERE version >= 7".into(),
    ]
    .join(";\n");
    store.execute_script(&script).await.unwrap_or_else(|e| panic!("{script}: {e:?}"));
    store.migrate().await.expect("migrations 7 and 8 run on the old data");

    let (s, doc) = json_of(&app, &format!("{}/progress/{legacy}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "the link handed out before the split still works");
    assert_eq!(badge_ids(&doc), [badge_a.as_str().unwrap()], "…for the issuer that first awarded the learner");
    let next = award_as(&app, ADMIN, &mb, "jan@example.nl").await;
    let link_b = next["credentials"][0]["progress_url"].as_str().unwrap();
    assert!(!link_b.contains(&legacy), "the other issuer gets a link of its own");
    assert_eq!(json_of(&app, link_b).await.0, StatusCode::OK);
    let again = award_as(&app, ADMIN, &ma, "jan@example.nl").await;
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
    let own = module(&app, &a, "Eigen module").await;
    let theirs = module(&app, &b, "Partner module").await;
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
    let (s, p) = app.post(&format!("/api/v1/partnerships/{pid}/accept"), &admin_b, json!({})).await;
    assert_eq!((s, &p["state"]), (StatusCode::OK, &json!("accepted")), "{p}");
    let (s, l) = create().await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    let line_id = l["id"].as_str().unwrap().to_string();

    // A learner of B only: A's staff cannot ask about them.
    award_as(&app, &trainer_b, &theirs, "only-b@example.nl").await;
    let (s, _) =
        app.get(&format!("/api/v1/metro-lines/{line_id}/progress?identity=only-b@example.nl"), Some(&auditor_a)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A shared learner: A sees the partner station done, without the partner badge's URL; B's
    // award that completes the line does not mention A's certificate.
    let mine = award_as(&app, &admin_a, &own, "duo@example.nl").await;
    let partner_badge = award_as(&app, &trainer_b, &theirs, "duo@example.nl").await;
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

    // Ending: new certificates that rely on B stop, the existing one stays valid.
    let (s, p) = app.post(&format!("/api/v1/partnerships/{pid}/end"), &admin_b, json!({})).await;
    assert_eq!((s, &p["state"]), (StatusCode::OK, &json!("ended")), "{p}");
    award_as(&app, &admin_a, &own, "late@example.nl").await;
    award_as(&app, &trainer_b, &theirs, "late@example.nl").await;
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
