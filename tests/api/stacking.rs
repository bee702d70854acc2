//! Stacking badges into partial certificates: issuance exactly once, evidence, the cascade,
//! versions, learners' progress links, and the durable queue.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{ADMIN, TestApp, both};
use crate::interop::js_verify;

both!(certificate_lifecycle);
both!(concurrent_last_modules_issue_one_certificate);
both!(queue_history_and_versions);
both!(large_cohort_stacks_in_background_batches);
both!(ten_thousand_learners_complete_a_line);
both!(one_failing_learner_holds_up_nobody);
both!(revoked_component_supersedes_when_the_rule_still_holds);
both!(a_batch_locks_each_learner_with_one_statement);
both!(certificates_signed_ahead_are_used_only_if_the_plan_holds);
both!(learner_batches_are_read_through_the_identity_first_indexes);

pub struct Line {
    pub issuer: String,
    pub map: String,
    pub id: String,
    pub a: String,
    pub b: String,
}

/// An issuer with modules A and B and a line whose rule is "all stations".
pub async fn line(app: &TestApp) -> Line {
    let issuer = app.issuer("ROC Techniek").await;
    line_of(app, &issuer).await
}

/// [`line`] for an issuer the test already has.
pub async fn line_of(app: &TestApp, issuer: &str) -> Line {
    let issuer = issuer.to_string();
    let a = app.module(&issuer, "Smeren").await;
    let b = app.module(&issuer, "Trillingen meten").await;
    let (_, map) =
        app.post(&format!("/api/v1/issuers/{issuer}/metro-maps"), ADMIN, json!({"name": "Smart Maintenance"})).await;
    let map = map["id"].as_str().unwrap().to_string();
    let (s, l) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/metro-lines"),
            ADMIN,
            json!({"name": "Onderhoud basis", "description": "Twee modules", "metro_map": map, "colour": "#aa3300",
                   "stations": [a, b],
                   "certificate": {"name": "Deelcertificaat Onderhoud", "description": "MBO deelcertificaat",
                                   "criteria": {"narrative": "Beide modules"},
                                   "alignment": [{"targetName": "Monteur mechatronica", "targetCode": "25123", "targetFramework": "MBO crebo", "targetUrl": "https://example.nl/crebo/25123"}],
                                   "credits": 6}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    Line { issuer, map, id: l["id"].as_str().unwrap().to_string(), a, b }
}

fn last_segment(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

async fn status_of(app: &TestApp, credential_url: &str) -> Value {
    let (s, st) = app.get(&format!("/api/v1/credentials/{}/status", last_segment(credential_url)), Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK, "{st}");
    st
}

async fn progress(app: &TestApp, line: &str, who: &str) -> Value {
    let (s, p) = app.get(&format!("/api/v1/metro-lines/{line}/progress?identity={who}"), Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    p
}

/// What a public verifier answers for the certificate (signature and status lists).
async fn verdict(app: &TestApp, credential_url: &str) -> Value {
    let vc = app.client.get(credential_url).send().await.unwrap().text().await.unwrap();
    let r = app.client.post(format!("{}/verify", app.base)).header("content-type", "application/json").body(vc);
    let v: Value = r.send().await.unwrap().json().await.unwrap();
    v["credential"].clone()
}

async fn certificate_lifecycle(app: TestApp) {
    let l = line(&app).await;
    let jan = "jan@example.nl";

    // One module: no certificate yet.
    let first = app.award_one(&l.a, jan).await;
    assert_eq!(first["stacking"], "done", "{first}");
    assert_eq!(first["certificates"], json!([]));
    let a1 = first["credentials"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(progress(&app, &l.id, jan).await["certificate"], Value::Null);

    // The second completes the line: exactly one certificate, in the award's answer.
    let second = app.award_one(&l.b, jan).await;
    let b1 = second["credentials"][0]["id"].as_str().unwrap().to_string();
    let issued = second["certificates"].as_array().unwrap();
    assert_eq!(issued.len(), 1, "{second}");
    assert_eq!(issued[0]["action"], "issued");
    assert_eq!(issued[0]["version"], 1);
    let cert = issued[0]["certificate"].as_str().unwrap().to_string();

    // A full OB 3.0 credential naming its components with the digest of what they serve.
    let text = app.client.get(&cert).send().await.unwrap().text().await.unwrap();
    let vc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(metrobadge::credential::schema::ob_violations(&vc), Vec::<String>::new());
    let achievement = &vc["credentialSubject"]["achievement"];
    assert_eq!(achievement["achievementType"], "Certificate");
    assert_eq!(achievement["version"], "1");
    assert_eq!(achievement["id"], format!("{}/metro-lines/{}/versions/1", app.base, l.id));
    assert_eq!(achievement["creditsAvailable"], 6.0);
    assert_eq!(achievement["alignment"][0]["targetCode"], "25123");
    assert_eq!(vc["credentialSubject"]["identifier"][0]["identityType"], "emailAddress");
    assert!(vc["proof"].is_array());
    let evidence = vc["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 2);
    for (e, url) in evidence.iter().zip([&a1, &b1]) {
        assert_eq!(e["id"], url.as_str());
        let served = app.client.get(url).send().await.unwrap().bytes().await.unwrap();
        let expect =
            metrobadge::credential::certificate::digest_multibase(&hex::encode(Sha256::digest(&served))).unwrap();
        assert_eq!(e["digestMultibase"], expect.as_str(), "digest of the served component");
    }
    let (s, doc) = app.get(&format!("/metro-lines/{}/versions/1", l.id), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["achievementType"], "Certificate");
    let png = app.client.get(format!("{cert}/badge.png")).send().await.unwrap();
    assert_eq!(png.status(), StatusCode::OK, "baked like any badge");

    // The reference JavaScript stack verifies it, and rejects a changed evidence digest.
    let issuer_url = vc["issuer"]["id"].as_str().unwrap().to_string();
    let (_, profile) = app.get(&format!("/issuers/{}", l.issuer), None).await;
    let mut altered = vc.clone();
    altered["evidence"][0]["digestMultibase"] = json!("uEiAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let results = js_verify(&json!({"documents": {issuer_url: profile}, "cases": [
        {"name": "certificate", "credential": vc}, {"name": "altered", "credential": altered}]}));
    assert_eq!(
        results.iter().map(|r| (r.0.as_str(), r.1)).collect::<Vec<_>>(),
        [("certificate", true), ("altered", false)],
        "{results:?}"
    );

    // Another badge of a station and a re-evaluation issue nothing more.
    let again = app.award_one(&l.b, jan).await;
    assert_eq!(again["certificates"], json!([]));
    let (s, ev) = app.post(&format!("/api/v1/metro-lines/{}/evaluate", l.id), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    assert_eq!(ev["issued"], json!([]));
    assert_eq!(ev["learners_evaluated"], 1);

    // Suspending a component suspends the certificate (reason names it); reinstating brings it back.
    app.post(&format!("/api/v1/credentials/{}/suspend", last_segment(&a1)), ADMIN, json!({"reason": "onderzoek"}))
        .await;
    let st = status_of(&app, &cert).await;
    assert_eq!(st["status"], "suspended", "{st}");
    assert!(st["suspension_reason"].as_str().unwrap().contains(&a1), "{st}");
    assert!(st["suspension_reason"].as_str().unwrap().contains("Smeren"), "{st}");
    assert_eq!(verdict(&app, &cert).await["status"], "suspended");
    app.post(&format!("/api/v1/credentials/{}/reinstate", last_segment(&a1)), ADMIN, json!({})).await;
    assert_eq!(status_of(&app, &cert).await["status"], "active");
    assert_eq!(verdict(&app, &cert).await["status"], "active");

    // Revoking a component revokes the certificate for every verifier, naming the component.
    app.post(&format!("/api/v1/credentials/{}/revoke", last_segment(&a1)), ADMIN, json!({"reason": "fraude"})).await;
    let st = status_of(&app, &cert).await;
    assert_eq!(st["status"], "revoked");
    assert!(st["revocation_reason"].as_str().unwrap().contains(&a1), "{st}");
    assert_eq!(verdict(&app, &cert).await["status"], "revoked");

    // Earning the module again earns a new certificate resting on the new badge.
    let redo = app.award_one(&l.a, jan).await;
    let a2 = redo["credentials"][0]["id"].as_str().unwrap().to_string();
    let issued = redo["certificates"].as_array().unwrap();
    assert_eq!(issued.len(), 1, "{redo}");
    let cert2 = issued[0]["certificate"].as_str().unwrap().to_string();
    assert_ne!(cert2, cert);
    let vc2: Value = app.client.get(&cert2).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = vc2["evidence"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&a2.as_str()) && !ids.contains(&a1.as_str()), "{ids:?}");
    let p = progress(&app, &l.id, jan).await;
    assert_eq!(p["certificate"]["id"], cert2.as_str());
    assert_eq!(p["certificate"]["status"], "active");

    // A person's revocation of a certificate stands: no automatic re-issue.
    app.post(&format!("/api/v1/credentials/{}/revoke", last_segment(&cert2)), ADMIN, json!({"reason": "ingetrokken"}))
        .await;
    let (_, ev) = app.post(&format!("/api/v1/metro-lines/{}/evaluate", l.id), ADMIN, json!({})).await;
    assert_eq!(ev["issued"], json!([]), "{ev}");

    // All of it is in the audit chain, by the service, and the chain verifies.
    let events = app.store.audit_page(0, 10_000).await.unwrap();
    let by_service = |action: &str| events.iter().filter(|e| e.action == action && e.actor_role == "system").count();
    assert_eq!(by_service("certificate.issued"), 2);
    assert_eq!(by_service("credential.suspended"), 1);
    assert_eq!(by_service("credential.reinstated"), 1);
    assert_eq!(by_service("credential.revoked"), 1);
    // Each cascade names its component in clear, right after the change.
    let causes: Vec<&str> =
        events.iter().filter(|e| e.action == "cascade.component").map(|e| e.subject_id.as_str()).collect();
    let a1_id = last_segment(&a1);
    assert_eq!(causes, [a1_id.as_str(), a1_id.as_str()], "suspension and revocation, both caused by A");
    let (_, check) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(check["ok"], true, "{check}");
    let (_, report) = app.get(&format!("/api/v1/reports/issuance?issuer={}&group=month", l.issuer), Some(ADMIN)).await;
    assert_eq!(report["totals"]["certificates"], 2, "{report}");
    let (_, by_module) =
        app.get(&format!("/api/v1/reports/issuance?issuer={}&group=nanomodule", l.issuer), Some(ADMIN)).await;
    let groups = by_module["groups"].as_array().unwrap();
    let line_row = groups.iter().find(|g| g["group"] == "Onderhoud basis (metro line)").expect("a row for the line");
    assert_eq!(line_row["certificates"], 2);
    assert_eq!(line_row["revocations"], 2, "one by the cascade, one by a person");

    // The learner's private progress link: in the award answer, on their view of the badge page.
    let progress_url = redo["credentials"][0]["progress_url"].as_str().unwrap().to_string();
    let learner_url = redo["credentials"][0]["learner_url"].as_str().unwrap().to_string();
    assert_eq!(first["credentials"][0]["progress_url"], progress_url.as_str(), "one link per learner");
    let doc: Value = app.client.get(&progress_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["metro_lines"][0]["name"], "Onderhoud basis");
    assert_eq!(doc["metro_lines"][0]["stations"][0]["done"], true);
    assert_eq!(doc["badges"].as_array().unwrap().len(), 4);
    let page = app.client.get(&progress_url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.headers()["cache-control"].to_str().unwrap().contains("no-store"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Onderhoud basis") && html.contains("Smeren"));
    let own = app.client.get(&learner_url).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(own.contains(&progress_url), "the learner's view of the badge page links their progress");
    let public = app.client.get(&a2).header("accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(!public.contains("/progress/"), "the public badge page does not");
    let svg = app.client.get(format!("{progress_url}/map.svg")).send().await.unwrap().text().await.unwrap();
    assert_eq!(svg.matches("class=\"station done\"").count(), 2, "{svg}");
    assert!(svg.contains("fill=\"#aa3300\""));

    // Replacing the link kills the old one.
    let resp = app.client.post(format!("{progress_url}/replace")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert_eq!(app.client.get(&progress_url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let token = progress_url.rsplit('/').next().unwrap();
    let new_url = html
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("/progress/") && !h.contains(token))
        .unwrap();
    assert_eq!(app.client.get(new_url).send().await.unwrap().status(), StatusCode::OK);
    let next = app.award_one(&l.b, jan).await;
    assert_eq!(next["credentials"][0]["progress_url"], new_url, "later awards give the current link");
    // Staff can revoke it too.
    let (s, _) = app.post("/api/v1/progress-links/revoke", ADMIN, json!({"identity": "JAN@example.nl"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.client.get(new_url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/progress/mbp_nonsense", None).await.0, StatusCode::NOT_FOUND);
    let _ = l.map;
    app.stop().await;
}

async fn concurrent_last_modules_issue_one_certificate(app: TestApp) {
    let l = line(&app).await;
    for i in 0..4 {
        let who = format!("learner{i}@example.nl");
        let (x, y) = tokio::join!(app.award_one(&l.a, &who), app.award_one(&l.b, &who));
        let issued = x["certificates"].as_array().unwrap().len() + y["certificates"].as_array().unwrap().len();
        assert_eq!(issued, 1, "{x} {y}");
        let p = progress(&app, &l.id, &who).await;
        assert_eq!(p["certificate"]["status"], "active");
    }
    // Many learners completing at once (more than the SQLite pool's connections): each
    // request's stacking round must not wait on the others.
    let cohort: Vec<String> = (0..12).map(|i| format!("cohort{i}@example.nl")).collect();
    for who in &cohort {
        app.award_one(&l.a, who).await;
    }
    let answers = futures_util::future::join_all(cohort.iter().map(|who| app.award_one(&l.b, who))).await;
    let issued: usize = answers.iter().map(|a| a["certificates"].as_array().unwrap().len()).sum();
    assert_eq!(issued, 12);
    let certs = app
        .store
        .query_text("SELECT CAST(COUNT(*) AS TEXT) FROM credential WHERE metro_line_id IS NOT NULL")
        .await
        .unwrap();
    assert_eq!(certs, ["16"]);
    app.stop().await;
}

async fn queue_history_and_versions(app: TestApp) {
    let issuer = app.issuer("Sector").await;
    let a = app.module(&issuer, "A").await;
    let b = app.module(&issuer, "B").await;
    let c = app.module(&issuer, "C").await;
    // History first: badges awarded before the line existed.
    for who in ["old@example.nl", "crash@example.nl"] {
        app.award_one(&a, who).await;
        app.award_one(&b, who).await;
    }
    let (_, map) = app.post(&format!("/api/v1/issuers/{issuer}/metro-maps"), ADMIN, json!({"name": "M"})).await;
    let (_, line) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/metro-lines"),
            ADMIN,
            json!({"name": "L", "metro_map": map["id"], "colour": "#123456", "stations": [a, b],
                   "certificate": {"name": "Cert", "description": "d"}}),
        )
        .await;
    let id = line["id"].as_str().unwrap().to_string();

    // A learner queued by a transaction whose process then died: the worker finishes the job.
    let mut tx = app.store.begin().await.unwrap();
    let crashed =
        metrobadge::store::Learner { identity_type: "emailAddress".into(), identity: "crash@example.nl".into() };
    tx.enqueue_learners(std::slice::from_ref(&crashed), "test").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.store.queued_jobs().await.unwrap(), 1);
    let handled = app.service.stack_tick(app.service.now()).await.unwrap();
    assert_eq!(handled, 1);
    assert_eq!(app.store.queued_jobs().await.unwrap(), 0);
    assert_eq!(progress(&app, &id, "crash@example.nl").await["certificate"]["status"], "active");

    // Importing history: evaluate issues for everyone who already qualifies.
    let (s, ev) = app.post(&format!("/api/v1/metro-lines/{id}/evaluate"), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    assert_eq!(ev["issued"].as_array().unwrap().len(), 1, "{ev}");
    let trainer = app.member(&issuer, "trainer").await;
    assert_eq!(
        app.post(&format!("/api/v1/metro-lines/{id}/evaluate"), &trainer, json!({})).await.0,
        StatusCode::FORBIDDEN
    );

    // Versions: a learner who started on version 1 keeps it; a new learner starts on 2.
    app.award_one(&a, "started@example.nl").await;
    let (_, v2) = app.patch(&format!("/api/v1/metro-lines/{id}"), ADMIN, json!({"stations": [a, b, c]})).await;
    assert_eq!(v2["version"], 2);
    app.award_one(&a, "new@example.nl").await;
    let r = app.award_one(&b, "started@example.nl").await;
    assert_eq!(r["certificates"][0]["version"], 1, "evaluated against the version they started on: {r}");
    let r = app.award_one(&b, "new@example.nl").await;
    assert_eq!(r["certificates"], json!([]), "version 2 also needs C");
    assert_eq!(progress(&app, &id, "new@example.nl").await["version"], 2);
    // Certificates already issued keep their version; migrating moves learners in progress.
    assert_eq!(progress(&app, &id, "old@example.nl").await["version"], 1);
    app.award_one(&a, "mover@example.nl").await;
    let (_, v3) = app.patch(&format!("/api/v1/metro-lines/{id}"), ADMIN, json!({"stations": [a]})).await;
    assert_eq!(v3["version"], 3);
    assert_eq!(progress(&app, &id, "mover@example.nl").await["version"], 2);
    let (s, m) = app
        .post(
            &format!("/api/v1/metro-lines/{id}/learners/migrate"),
            ADMIN,
            json!({"to_version": 3, "learners": [{"identity": "mover@example.nl"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["issued"].as_array().unwrap().len(), 1, "version 3 needs only A: {m}");
    let (s, bad) =
        app.post(&format!("/api/v1/metro-lines/{id}/learners/migrate"), ADMIN, json!({"to_version": 9})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    // Expiry changes nothing in the database; the worker finds it by time and suspends.
    let before = progress(&app, &id, "old@example.nl").await;
    assert_eq!(before["certificate"]["status"], "active");
    app.store
        .execute_raw("UPDATE credential SET valid_until = created_at WHERE identity = 'old@example.nl' AND nanomodule_id IS NOT NULL")
        .await
        .unwrap();
    app.service.stack_tick(app.service.now() - time::Duration::hours(1)).await.unwrap();
    let after = progress(&app, &id, "old@example.nl").await;
    assert_eq!(after["certificate"]["status"], "suspended", "{after}");
    assert!(after["certificate"]["suspension_reason"].as_str().unwrap().contains("expired on"), "{after}");

    // A station of another issuer the line accepts counts; the line's issuer signs.
    let partner = app.issuer("Partner").await;
    let foreign = app.module(&partner, "Veilig werken").await;
    app.partnership(&issuer, &partner).await;
    let (s, l2) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/metro-lines"),
            ADMIN,
            json!({"name": "Samen", "metro_map": map["id"], "colour": "#654321", "stations": [a, foreign],
                   "accepts_issuers": [partner], "certificate": {"name": "Samen", "description": "d"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{l2}");
    app.award_one(&foreign, "duo@example.nl").await;
    let r = app.award_one(&a, "duo@example.nl").await;
    let cert = r["certificates"][0]["certificate"].as_str().expect("certificate issued").to_string();
    let vc: Value = app.client.get(&cert).send().await.unwrap().json().await.unwrap();
    assert_eq!(vc["issuer"]["id"], format!("{}/issuers/{issuer}", app.base));
    assert_eq!(verdict(&app, &cert).await["status"], "active");
    app.stop().await;
}

async fn cohort_award(app: &TestApp, module: &str, learners: &[String]) -> Value {
    let recipients: Vec<Value> = learners.iter().map(|who| json!({"identity": who})).collect();
    let (s, r) =
        app.post(&format!("/api/v1/nanomodules/{module}/awards"), ADMIN, json!({"recipients": recipients})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r
}

async fn queue_drained(app: &TestApp) {
    queue_drained_within(app, 60).await
}

/// Waits for the queue to empty (a condition on the database, which the test's clock does not
/// drive), failing after `seconds`.
async fn queue_drained_within(app: &TestApp, seconds: u64) {
    for _ in 0..seconds * 20 {
        if app.store.queued_jobs().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the stacking queue did not drain within {seconds} s");
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.store.query_text(sql).await.unwrap()[0].parse().unwrap()
}

/// Up to 1 000 learners the award is stacked before it answers, in batches of several learners
/// per transaction, and lists every certificate; exactly one per learner, each audited. (Over
/// 1 000 the answer says "background": `ten_thousand_learners_complete_a_line`.)
async fn large_cohort_stacks_in_background_batches(app: TestApp) {
    let l = line(&app).await;
    let cohort: Vec<String> = (0..230).map(|i| format!("groep{i}@example.nl")).collect();
    let started = cohort_award(&app, &l.a, &cohort).await;
    assert_eq!(started["stacking"], "done", "{started}");
    assert_eq!(started["certificates"], json!([]), "the line is not complete yet");
    queue_drained(&app).await;
    let finished = cohort_award(&app, &l.b, &cohort).await;
    assert_eq!(finished["stacking"], "done");
    let listed = finished["certificates"].as_array().unwrap();
    assert_eq!(listed.len(), 230);
    assert!(listed.iter().all(|c| c["action"] == "issued"));
    queue_drained(&app).await;
    let certificates = "SELECT CAST(COUNT(*) AS TEXT) FROM credential WHERE metro_line_id IS NOT NULL";
    assert_eq!(count(&app, certificates).await, 230);
    let learners = "SELECT CAST(COUNT(DISTINCT identity) AS TEXT) FROM credential WHERE metro_line_id IS NOT NULL";
    assert_eq!(count(&app, learners).await, 230, "one certificate per learner");
    let events = "SELECT CAST(COUNT(*) AS TEXT) FROM audit_event WHERE action = 'certificate.issued'";
    assert_eq!(count(&app, events).await, 230);
    let p = progress(&app, &l.id, "groep229@example.nl").await;
    assert_eq!(p["certificate"]["status"], "active", "{p}");

    // A small cohort: stacked before answering, and listed.
    let few: Vec<String> = (0..3).map(|i| format!("klein{i}@example.nl")).collect();
    cohort_award(&app, &l.a, &few).await;
    let done = cohort_award(&app, &l.b, &few).await;
    assert_eq!(done["stacking"], "done");
    let listed = done["certificates"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{done}");
    assert!(listed.iter().all(|c| c["action"] == "issued"));

    // Judging everyone again in batches changes nothing.
    let (s, ev) = app.post(&format!("/api/v1/metro-lines/{}/evaluate", l.id), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    assert_eq!(ev["learners_evaluated"], 233);
    assert_eq!(ev["issued"], json!([]));
    assert_eq!(count(&app, certificates).await, 233);
    let (_, check) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(check["ok"], true, "{check}");
    app.stop().await;
}

/// Issue 13's scale: 10 000 learners who hold a line's first module get the second in one
/// award. The answer says the certificates follow in the background; then every learner has
/// exactly one certificate, each with one audit event, and the chain verifies.
async fn ten_thousand_learners_complete_a_line(app: TestApp) {
    let l = line(&app).await;
    let cohort: Vec<String> = (0..10_000).map(|i| format!("l{i}@example.nl")).collect();
    // Straight to the use case: the test server takes bodies of 64 KiB, this one is 300 KiB.
    let admin = app.service.authenticate(ADMIN).await.unwrap();
    let award_all = |module: &str| {
        let input = serde_json::from_value(
            json!({"recipients": cohort.iter().map(|who| json!({"identity": who})).collect::<Vec<_>>()}),
        )
        .unwrap();
        let req = metrobadge::service::AwardRequest {
            input,
            dry_run: false,
            idempotency_key: None,
            request_hash: String::new(),
        };
        app.service.award(&admin, module.parse().unwrap(), req)
    };
    award_all(&l.a).await.unwrap();
    queue_drained_within(&app, 900).await;
    let finished = match award_all(&l.b).await.unwrap() {
        metrobadge::service::AwardOutcome::Issued(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        finished.stacking,
        Some(metrobadge::service::Stacking::Background),
        "over 1 000 learners the answer does not wait"
    );
    assert!(finished.certificates.is_none());
    queue_drained_within(&app, 900).await;
    let certificates = "SELECT CAST(COUNT(*) AS TEXT) FROM credential WHERE metro_line_id IS NOT NULL";
    assert_eq!(count(&app, certificates).await, 10_000);
    let learners = "SELECT CAST(COUNT(DISTINCT identity) AS TEXT) FROM credential WHERE metro_line_id IS NOT NULL";
    assert_eq!(count(&app, learners).await, 10_000, "one certificate per learner");
    let events = "SELECT CAST(COUNT(*) AS TEXT) FROM audit_event WHERE action = 'certificate.issued'";
    assert_eq!(count(&app, events).await, 10_000);
    let audited =
        "SELECT CAST(COUNT(DISTINCT subject_id) AS TEXT) FROM audit_event WHERE action = 'certificate.issued'";
    assert_eq!(count(&app, audited).await, 10_000, "each certificate's own event");
    let (_, check) = app.get("/api/v1/audit/verify", Some(ADMIN)).await;
    assert_eq!(check["ok"], true, "{check}");
    app.stop().await;
}

/// A learner whose round fails (here: a badge whose stored module version no longer reads)
/// sinks the batch they are in; the others are judged one by one and get their certificates,
/// and the learner stays queued until the fault is repaired.
async fn one_failing_learner_holds_up_nobody(app: TestApp) {
    let l = line(&app).await;
    let odd = app.module(&l.issuer, "Kapotte module").await;
    let stuck = "stuck@example.nl".to_string();
    cohort_award(&app, &odd, std::slice::from_ref(&stuck)).await;
    let spec = app.store.query_text("SELECT spec FROM nanomodule_version WHERE spec LIKE '%Kapotte module%'");
    let spec = spec.await.unwrap().remove(0);
    let broken = "UPDATE nanomodule_version SET spec = 'not json' WHERE spec LIKE '%Kapotte module%'";
    assert_eq!(app.store.execute_raw(broken).await.unwrap(), 1);

    let cohort: Vec<String> =
        ["a@example.nl", "b@example.nl", &stuck, "c@example.nl"].iter().map(|s| s.to_string()).collect();
    cohort_award(&app, &l.a, &cohort).await;
    let done = cohort_award(&app, &l.b, &cohort).await;
    assert_eq!(done["stacking"], "done");
    assert_eq!(done["certificates"].as_array().unwrap().len(), 3, "{done}");
    assert!(app.store.queued_jobs().await.unwrap() >= 1, "the failing learner stays queued");
    assert_eq!(progress(&app, &l.id, "a@example.nl").await["certificate"]["status"], "active");

    let repair = format!("UPDATE nanomodule_version SET spec = '{}' WHERE spec = 'not json'", spec.replace('\'', "''"));
    assert_eq!(app.store.execute_raw(&repair).await.unwrap(), 1);
    let (s, ev) = app.post(&format!("/api/v1/metro-lines/{}/evaluate", l.id), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    assert_eq!(ev["issued"].as_array().unwrap().len(), 1, "{ev}");
    assert_eq!(progress(&app, &l.id, &stuck).await["certificate"]["status"], "active");
    assert_eq!(app.store.queued_jobs().await.unwrap(), 0);
    app.stop().await;
}

/// A revoked component whose line still holds through the learner's other badges: the
/// certificate is superseded (revoked, naming its successor) and a new one rests only on valid
/// badges, in one transaction, audited; no valid certificate points at a revoked badge.
async fn revoked_component_supersedes_when_the_rule_still_holds(app: TestApp) {
    let issuer = app.issuer("ROC Techniek").await;
    let (a, b, c) = (
        app.module(&issuer, "Veilig werken").await,
        app.module(&issuer, "Smeren").await,
        app.module(&issuer, "Uitlijnen").await,
    );
    let (_, map) = app.post(&format!("/api/v1/issuers/{issuer}/metro-maps"), ADMIN, json!({"name": "Kaart"})).await;
    let (s, l) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/metro-lines"),
            ADMIN,
            json!({"name": "Keuze", "metro_map": map["id"], "stations": [a, b, c],
                   "rule": {"all": [{"nanomodule": a}, {"at_least": {"n": 1, "of": [{"nanomodule": b}, {"nanomodule": c}]}}]},
                   "certificate": {"name": "Deelcertificaat Keuze", "description": "d"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    let line = l["id"].as_str().unwrap().to_string();
    let jan = "jan@example.nl";
    let a1 = app.award_one(&a, jan).await["credentials"][0]["id"].as_str().unwrap().to_string();
    let second = app.award_one(&b, jan).await;
    let b1 = second["credentials"][0]["id"].as_str().unwrap().to_string();
    let old = second["certificates"][0]["certificate"].as_str().unwrap().to_string();
    let third = app.award_one(&c, jan).await;
    let c1 = third["credentials"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(third["certificates"], json!([]), "the line was already complete");

    app.post(&format!("/api/v1/credentials/{}/revoke", last_segment(&b1)), ADMIN, json!({"reason": "fout"})).await;
    let p = progress(&app, &line, jan).await;
    let new = p["certificate"]["id"].as_str().unwrap().to_string();
    assert_ne!(new, old, "a new certificate: {p}");
    assert_eq!(p["certificate"]["status"], "active");
    let st = status_of(&app, &old).await;
    assert_eq!(st["status"], "revoked");
    assert_eq!(st["revocation_reason"], format!("superseded by {new}"));
    assert_eq!(verdict(&app, &old).await["status"], "revoked");
    assert_eq!(verdict(&app, &new).await["status"], "active");
    let vc: Value = app.client.get(&new).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = vc["evidence"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a1.as_str(), c1.as_str()], "only valid components");

    // A re-evaluation changes nothing more; the trail tells the whole story and verifies.
    let (_, ev) = app.post(&format!("/api/v1/metro-lines/{line}/evaluate"), ADMIN, json!({})).await;
    assert_eq!((ev["issued"].clone(), ev["superseded"].clone()), (json!([]), json!([])), "{ev}");
    let events = app.store.audit_page(0, 10_000).await.unwrap();
    let issued: Vec<&str> =
        events.iter().filter(|e| e.action == "certificate.issued").map(|e| e.subject_id.as_str()).collect();
    assert_eq!(issued, [last_segment(&old), last_segment(&new)]);
    let revoked = events.iter().position(|e| e.action == "credential.revoked" && e.subject_id == last_segment(&old));
    let cause = events.iter().position(|e| e.action == "cascade.component" && e.subject_id == last_segment(&b1));
    assert!(revoked.is_some() && cause == revoked.map(|r| r + 1), "the cause right after the change");
    assert!(app.service.audit_check(None).await.unwrap().ok);
    app.stop().await;
}

both!(award_replay_answers_the_certificates_too);

/// An award that completes a line answers its certificate; a retry with the same
/// Idempotency-Key answers exactly the same, certificate included, and issues nothing.
async fn award_replay_answers_the_certificates_too(app: TestApp) {
    let l = line(&app).await;
    app.award_one(&l.a, "jan@example.nl").await;
    let send = || {
        app.client
            .post(format!("{}/api/v1/nanomodules/{}/awards", app.base, l.b))
            .bearer_auth(ADMIN)
            .header("idempotency-key", "sessie-12")
            .json(&json!({"recipients": [{"identity": "jan@example.nl"}]}))
            .send()
    };
    let first: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first["stacking"], "done");
    assert_eq!(first["certificates"].as_array().unwrap().len(), 1, "{first}");
    let replay: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(first, replay, "a replay answers exactly what the first call answered");
    assert_eq!(count(&app, "SELECT CAST(COUNT(*) AS TEXT) FROM credential WHERE metro_line_id IS NOT NULL").await, 1);
    app.stop().await;
}

/// A judging round locks its learners in one statement: on PostgreSQL one advisory lock per
/// learner, held until the round commits, which another round touching any of them waits for
/// (on SQLite the round's write lock does the same).
async fn a_batch_locks_each_learner_with_one_statement(app: TestApp) {
    use metrobadge::store::Learner;
    let learner = |n: &str| Learner { identity_type: "emailAddress".into(), identity: format!("{n}@slot.example") };
    let batch = vec![learner("ann"), learner("bob"), learner("cas")];
    let postgres = app.store.backend() == "postgres";
    let held = "SELECT CAST(COUNT(*) AS TEXT) FROM pg_locks WHERE locktype = 'advisory' AND classid = 5461067 AND objsubid = 2";
    let mut first = app.store.begin().await.unwrap();
    first.lock_learners(&batch).await.unwrap();
    if postgres {
        assert_eq!(count(&app, &format!("{held} AND granted")).await, 3, "one lock per learner");
    }
    // A second round for bob (and someone new) waits for the first.
    let store = app.store.clone();
    let second = tokio::spawn(async move {
        let mut tx = store.begin().await.unwrap();
        tx.lock_learners(&[learner("bob"), learner("dan")]).await.unwrap();
        tx.commit().await.unwrap();
    });
    if postgres {
        // Waiting on a database condition (the clock does not drive it).
        let mut waiting = false;
        for _ in 0..200 {
            if count(&app, &format!("{held} AND NOT granted")).await == 1 {
                waiting = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(waiting, "the second round waits for bob's lock");
        assert!(!second.is_finished());
    }
    first.commit().await.unwrap();
    second.await.unwrap();
    if postgres {
        assert_eq!(count(&app, held).await, 0, "transaction locks end with their transaction");
    }
    app.stop().await;
}

/// A batch is judged and its certificates signed before its lock (while the batch before it
/// holds the write lock), then judged again under the lock: a certificate signed early is
/// stored only if its plan still holds and its status slot is still free; otherwise it is
/// signed again, or not issued at all when the learner no longer qualifies.
async fn certificates_signed_ahead_are_used_only_if_the_plan_holds(app: TestApp) {
    use metrobadge::store::Learner;
    let issuer = app.issuer("ROC Techniek").await;
    let a = app.module(&issuer, "Smeren").await;
    let b = app.module(&issuer, "Trillingen meten").await;
    let learner = |who: &str| Learner { identity_type: "emailAddress".into(), identity: who.into() };
    let (ann, bob, cas) = ("ann@ahead.example", "bob@ahead.example", "cas@ahead.example");
    // The modules are earned before they are stations of a line: nothing is stacked yet.
    let mut bobs_b = String::new();
    for who in [ann, bob, cas] {
        app.award_one(&a, who).await;
        let r = app.award_one(&b, who).await;
        if who == bob {
            bobs_b = r["credentials"][0]["id"].as_str().unwrap().to_string();
        }
    }
    let (_, map) = app.post(&format!("/api/v1/issuers/{issuer}/metro-maps"), ADMIN, json!({"name": "Kaart"})).await;
    let (s, l) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/metro-lines"),
            ADMIN,
            json!({"name": "Vooruit", "metro_map": map["id"], "stations": [a, b],
                   "certificate": {"name": "Deelcertificaat Vooruit", "description": "Beide modules"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{l}");
    let line = l["id"].as_str().unwrap().to_string();

    let ahead = app.service.speculate(&[learner(ann), learner(bob)]).await.unwrap();
    assert_eq!(ahead.signed(), 2, "both learners qualify on what is stored");
    // Bob's second badge is revoked before the batch takes its lock.
    let (s, r) = app
        .post(&format!("/api/v1/credentials/{}/revoke", last_segment(&bobs_b)), ADMIN, json!({"reason": "fout"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let settled = app.service.settle(ahead).await.unwrap();
    assert_eq!((settled.signed_early, settled.signed_late), (1, 0), "ann's early signature is used");
    assert_eq!(settled.outcomes.len(), 1);
    let cert = settled.outcomes[0].certificate.clone();
    assert_eq!(progress(&app, &line, ann).await["certificate"]["status"], "active");
    assert_eq!(verdict(&app, &cert).await["status"], "active", "the early-signed certificate verifies");
    assert_eq!(progress(&app, &line, bob).await["certificate"], Value::Null, "bob no longer qualifies");

    // No list with room when the batch is read: nothing is signed early; the transaction
    // reserves a slot (opening a list) and signs there.
    assert!(app.store.execute_raw("UPDATE status_list SET allocated = size").await.unwrap() >= 1);
    let ahead = app.service.speculate(&[learner(cas)]).await.unwrap();
    assert_eq!(ahead.signed(), 0);
    let settled = app.service.settle(ahead).await.unwrap();
    assert_eq!((settled.signed_early, settled.signed_late), (0, 1));
    let cert = settled.outcomes[0].certificate.clone();
    assert_eq!(verdict(&app, &cert).await["status"], "active");
    assert_eq!(count(&app, "SELECT CAST(COUNT(*) AS TEXT) FROM status_list").await, 2, "a new list was opened");
    assert_eq!(app.store.queued_jobs().await.unwrap(), 0);
    app.stop().await;
}

/// A batch of learners is read through the indexes that lead with the identity, even on a table
/// PostgreSQL has never analysed: 20 000 enrolments and jobs written straight into the tables
/// (no statistics), then the statement shape the store uses for a batch. With the type first
/// (migration 0027 turned the indexes round) the planner used the type alone and filtered
/// every learner of that type. On SQLite the same read answers exactly the batch's rows.
async fn learner_batches_are_read_through_the_identity_first_indexes(app: TestApp) {
    use metrobadge::store::Learner;
    let l = line(&app).await;
    let postgres = app.store.backend() == "postgres";
    let (line_id, job_id) = if postgres {
        (format!("'{}'", l.id), "gen_random_uuid()")
    } else {
        (format!("X'{}'", l.id.replace('-', "")), "randomblob(16)")
    };
    let numbers = if postgres {
        "SELECT g AS n FROM generate_series(1, 20000) g"
    } else {
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000) SELECT n FROM s"
    };
    let at = "'2026-12-07T10:00:00Z'";
    for (table, columns, values) in [
        (
            "line_learner",
            "metro_line_id, identity_type, identity, version, started_at",
            format!("{line_id}, 'emailAddress', 'l' || n || '@plan.example', 1, {at}"),
        ),
        (
            "stack_job",
            "job_id, identity_type, identity, cause, not_before, created_at",
            format!("{job_id}, 'emailAddress', 'l' || n || '@plan.example', 'test', {at}, {at}"),
        ),
    ] {
        let sql = format!("INSERT INTO {table} ({columns}) SELECT {values} FROM ({numbers}) AS numbers");
        app.store.execute_raw(&sql).await.unwrap();
    }
    let batch: Vec<Learner> = (1..=50)
        .map(|n| Learner { identity_type: "emailAddress".into(), identity: format!("l{}@plan.example", n * 400) })
        .collect();
    if postgres {
        let list: Vec<String> = batch.iter().map(|l| format!("'{}'", l.identity)).collect();
        for table in ["line_learner", "stack_job"] {
            let plan = app
                .store
                .query_text(&format!(
                    "EXPLAIN ANALYZE SELECT * FROM {table} WHERE identity_type = 'emailAddress' AND identity IN ({})",
                    list.join(", ")
                ))
                .await
                .unwrap()
                .join("\n");
            assert!(plan.contains("Index Cond: ((identity = ANY"), "{table} is read by identity:\n{plan}");
            assert!(!plan.contains("Rows Removed"), "{table}: no other learner's rows are read:\n{plan}");
        }
    }
    let mut tx = app.store.begin().await.unwrap();
    let rows = tx.learners_rows(&batch).await.unwrap();
    assert_eq!(rows.len(), 50);
    assert!(rows.values().all(|r| r.enrolments.len() == 1 && r.jobs.len() == 1), "each learner's own rows, once");
    drop(tx);
    app.stop().await;
}
