//! Cohort awards: signed OB 3.0 credentials, all-or-nothing, CSV, dry runs, idempotency.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use metrobadge::credential::{data_integrity, multikey, schema};

use crate::harness::{ADMIN, TestApp, both};

both!(
    award_a_cohort,
    bad_rows_reject_everything,
    csv_and_dry_run,
    idempotent_retries,
    who_may_award,
    status_indices_never_repeat
);

/// An issuer with a nanomodule; returns (issuer id, nanomodule id).
pub async fn module(app: &TestApp, validity_days: Option<i64>) -> (String, String) {
    let a = app.issuer("Techniek Twente").await;
    let (_, skill) = app
        .post(
            &format!("/api/v1/issuers/{a}/skills"),
            ADMIN,
            json!({"name": "Lubrication", "alignment": {"targetUrl": "http://data.europa.eu/esco/skill/x"}}),
        )
        .await;
    let mut body = json!({"name": "Smeren", "description": "Smeren van lagers", "criteria": {"narrative": "Smeerplan gemaakt"},
        "duration_minutes": 180, "skills": [skill["id"]], "level": {"framework": "NLQF", "level": 2}, "tags": ["onderhoud"], "language": "nl"});
    if let Some(d) = validity_days {
        body["validity_days"] = json!(d);
    }
    let (s, nm) = app.post(&format!("/api/v1/issuers/{a}/nanomodules"), ADMIN, body).await;
    assert_eq!(s, StatusCode::CREATED, "{nm}");
    (a, nm["id"].as_str().unwrap().to_string())
}

pub fn recipients(n: usize) -> Value {
    let list: Vec<Value> =
        (0..n).map(|i| json!({"identity": format!("learner{i}@example.nl"), "name": format!("Learner {i}")})).collect();
    json!(list)
}

async fn credential_count(app: &TestApp) -> usize {
    app.store.query_text("SELECT CAST(COUNT(*) AS TEXT) FROM credential").await.unwrap()[0].parse().unwrap()
}

async fn fetch(app: &TestApp, url: &str, accept: &str) -> (StatusCode, String, String) {
    let resp = app.client.get(url).header("accept", accept).send().await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

async fn award_a_cohort(app: TestApp) {
    let (issuer, nm) = module(&app, Some(365)).await;
    let body = json!({
        "recipients": [
            {"identity": "Jan@Example.nl ", "name": "Jan Jansen", "evidence": [{"id": "https://portfolio.example/jan/1", "name": "Smeerplan"}],
             "result": {"status": "Completed", "value": "goed"}, "narrative": "Heeft het smeerplan ingevoerd."},
            {"identity": "eduid-pseudonym-123", "identity_type": "identifier"},
            {"identity": "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi", "identity_type": "did"}
        ],
        "session": {"date": "2026-11-20", "location": "Hengelo"}
    });
    let (s, resp) = app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, body).await;
    assert_eq!(s, StatusCode::CREATED, "{resp}");
    let creds = resp["credentials"].as_array().unwrap();
    let order: Vec<&str> = creds.iter().map(|c| c["recipient"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        ["jan@example.nl", "eduid-pseudonym-123", "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"]
    );

    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    let public = multikey::decode(profile["verificationMethod"][0]["publicKeyMultibase"].as_str().unwrap()).unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();

    for c in creds {
        let url = c["id"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/credentials/", app.base)));
        let (s, ct, text) = fetch(&app, url, "application/vc+ld+json").await;
        assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/vc+ld+json"));
        let (_, _, again) = fetch(&app, url, "application/json").await;
        assert_eq!(text, again, "served byte for byte");
        let vc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(vc["id"], url);
        assert_eq!(vc["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
        assert_eq!(vc["@context"][1], "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json");
        assert_eq!(vc["issuer"]["id"], profile["id"]);
        assert_eq!(vc["issuer"]["name"], "Techniek Twente");
        let achievement = &vc["credentialSubject"]["achievement"];
        assert_eq!(achievement["name"], "Smeren");
        assert_eq!(achievement["creditsAvailable"], 3.0);
        assert_eq!(achievement["alignment"][0]["targetUrl"], "http://data.europa.eu/esco/skill/x");
        assert!(vc["validUntil"].is_string(), "validity period gives validUntil");
        assert_eq!(vc["credentialSubject"]["activityEndDate"], "2026-11-20T00:00:00Z");
        let status = &vc["credentialStatus"];
        assert_eq!(status["type"], "BitstringStatusListEntry");
        assert_eq!(status["statusPurpose"], "revocation");
        assert!(status["statusListIndex"].as_str().unwrap().parse::<u32>().unwrap() < 131_072);
        assert_eq!(vc["proof"][0]["cryptosuite"], "eddsa-rdfc-2022");
        assert_eq!(vc["proof"][0]["verificationMethod"], profile["assertionMethod"][0]);
        data_integrity::verify(&vc, &public).expect("proof verifies with the published key");
        let mut tampered = vc.clone();
        tampered["credentialSubject"]["achievement"]["name"] = json!("Smeren!");
        assert!(data_integrity::verify(&tampered, &public).is_err());
        assert_eq!(schema::ob_violations(&vc), Vec::<String>::new(), "OB 3.0 JSON Schema");
        // The plain identity never appears in the public credential.
        assert!(!text.contains("jan@example.nl") && !text.contains("eduid-pseudonym-123"));

        // VC-JWT form.
        let (s, ct, jwt) = fetch(&app, url, "application/vc+jwt").await;
        assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/vc+jwt"));
        let (_, _, jwt2) = fetch(&app, &format!("{url}.jwt"), "*/*").await;
        assert_eq!(jwt, jwt2);
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.kid.as_deref(), vc["proof"][0]["verificationMethod"].as_str());
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(
            &jwt,
            &jsonwebtoken::DecodingKey::from_ed_der(public.as_bytes()),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["jti"], vc["id"]);
        assert_eq!(claims["iss"], vc["issuer"]["id"]);
        assert!(claims.get("proof").is_none());
    }
    let (_, _, jan) = fetch(&app, creds[0]["id"].as_str().unwrap(), "application/json").await;
    let jan: Value = serde_json::from_str(&jan).unwrap();
    let identity = &jan["credentialSubject"]["identifier"][0];
    assert_eq!(identity["identityType"], "emailAddress");
    assert_eq!(identity["hashed"], true);
    let salt = identity["salt"].as_str().unwrap();
    assert_eq!(identity["identityHash"], metrobadge::credential::badge::identity_hash("jan@example.nl", salt));
    assert_eq!(jan["evidence"][0]["id"], "https://portfolio.example/jan/1");
    assert_eq!(jan["credentialSubject"]["result"][0]["status"], "Completed");
    let (_, _, did) = fetch(&app, creds[2]["id"].as_str().unwrap(), "application/json").await;
    let did: Value = serde_json::from_str(&did).unwrap();
    assert_eq!(did["credentialSubject"]["id"], "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi");

    // The award and every credential are in the audit chain with the credential's digest.
    let events = app.store.audit_page(0, 1000).await.unwrap();
    let issued: Vec<_> = events.iter().filter(|e| e.action == "credential.issued").collect();
    assert_eq!(issued.len(), 3);
    let (_, _, text) = fetch(&app, creds[1]["id"].as_str().unwrap(), "application/json").await;
    let digest = metrobadge::domain::audit::sha256_hex(text.as_bytes());
    assert!(issued.iter().any(|e| e.change_digest == digest));
    assert!(events.iter().any(|e| e.action == "award.created" && e.actor_role == "admin"));
    assert!(app.service.audit_check(None).await.unwrap().ok);
    assert_eq!(
        fetch(&app, &format!("{}/credentials/{}", app.base, uuid::Uuid::new_v4()), "*/*").await.0,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

async fn bad_rows_reject_everything(app: TestApp) {
    let (_, nm) = module(&app, None).await;
    let before = app.store.audit_page(0, 1000).await.unwrap().len();
    let body = json!({"recipients": [
        {"identity": "ok@example.nl"},
        {"identity": "broken"},
        {"identity": "fine@example.nl", "evidence": [{"id": "not a url"}]},
        {"identity": "ok@example.nl"}
    ]});
    let (s, resp) = app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{resp}");
    let fields: Vec<&str> = resp["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["recipients[1].identity", "recipients[2].evidence[0].id", "recipients[3].identity"]);
    assert_eq!(credential_count(&app).await, 0, "nothing written");
    assert_eq!(app.store.audit_page(0, 1000).await.unwrap().len(), before);
    let (s, _) = app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, json!({"recipients": []})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) =
        app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, json!({"recipients": recipients(10_001)})).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "the test server's 64 KiB body limit comes first");
    app.stop().await;
}

async fn csv_and_dry_run(app: TestApp) {
    let (_, nm) = module(&app, None).await;
    let url = format!("{}/api/v1/nanomodules/{nm}/awards", app.base);
    let csv = "identity,name,evidence_url,narrative,result_status\njan@example.nl,Jan,https://ex.nl/e/1,Goed gedaan,Completed\npiet@example.nl,Piet,,,\n";
    let dry = app
        .client
        .post(format!("{url}?dry_run=true"))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status(), StatusCode::OK);
    let dry: Value = dry.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["would_issue"], 2);
    assert_eq!(dry["credentials"][0]["credential"]["credentialSubject"]["achievement"]["name"], "Smeren");
    assert_eq!(credential_count(&app).await, 0, "a dry run issues nothing");

    let resp = app
        .client
        .post(format!("{url}?session_date=2026-11-01&session_location=Enschede"))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["credentials"].as_array().unwrap().len(), 2);
    let (_, _, text) = fetch(&app, body["credentials"][0]["id"].as_str().unwrap(), "application/json").await;
    let vc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(vc["evidence"][0]["id"], "https://ex.nl/e/1");
    assert_eq!(vc["credentialSubject"]["activityEndDate"], "2026-11-01T00:00:00Z");

    // As Dutch Excel saves it (BOM, `;`, Dutch column names, CRLF), and as Excel on Windows
    // saves it (Windows-1252): both award, names intact.
    for (n, csv) in [
        b"\xEF\xBB\xBFNaam;E-mail\r\nJos\xC3\xA9 Jansen;jose@example.nl\r\n".to_vec(),
        b"naam;e-mail\r\nJos\xE9 Jansen;jose.w@example.nl\r\n".to_vec(),
    ]
    .into_iter()
    .enumerate()
    {
        let resp =
            app.client.post(&url).bearer_auth(ADMIN).header("content-type", "text/csv").body(csv).send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "file {n}: {body}");
        let id = body["credentials"][0]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        let page = fetch(&app, &format!("{}/credentials/{id}", app.base), "text/html").await.2;
        assert!(page.contains("José Jansen"), "file {n}: the name as written");
    }

    let bad = app
        .client
        .post(&url)
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv")
        .body("emial\nx@y.nl\n")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let other = app
        .client
        .post(&url)
        .bearer_auth(ADMIN)
        .header("content-type", "application/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    app.stop().await;
}

async fn idempotent_retries(app: TestApp) {
    let (_, nm) = module(&app, None).await;
    let url = format!("{}/api/v1/nanomodules/{nm}/awards", app.base);
    let body = json!({"recipients": recipients(3)});
    let send = |key: &'static str, body: Value| {
        let (client, url) = (app.client.clone(), url.clone());
        async move {
            let r =
                client.post(url).bearer_auth(ADMIN).header("idempotency-key", key).json(&body).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (s1, first) = send("award-2026-11-20", body.clone()).await;
    assert_eq!(s1, StatusCode::CREATED);
    let (s2, second) = send("award-2026-11-20", body.clone()).await;
    assert_eq!(s2, StatusCode::CREATED);
    assert_eq!(first, second, "a retry answers the original result");
    assert_eq!(credential_count(&app).await, 3, "and issues nothing new");
    let (s3, conflict) = send("award-2026-11-20", json!({"recipients": recipients(4)})).await;
    assert_eq!(s3, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["type"], "urn:metrobadge:problem:conflict");
    // Concurrent retries with a fresh key still issue once (the same learners again: retakes).
    let retakes: Vec<Value> =
        recipients(3).as_array().unwrap().iter().map(|r| json!({"identity": r["identity"], "retake": true})).collect();
    let body = json!({"recipients": retakes});
    let (a, b) = tokio::join!(send("parallel", body.clone()), send("parallel", body.clone()));
    assert_eq!(a.1, b.1);
    assert_eq!(credential_count(&app).await, 6);
    app.stop().await;
}

async fn who_may_award(app: TestApp) {
    let (issuer, nm) = module(&app, None).await;
    let trainer = app.member(&issuer, "trainer").await;
    let auditor = app.member(&issuer, "auditor").await;
    let other = app.issuer("Other").await;
    let stranger = app.member(&other, "issuer_admin").await;
    let path = format!("/api/v1/nanomodules/{nm}/awards");
    let body = json!({"recipients": recipients(1)});
    assert_eq!(app.post(&path, &trainer, body.clone()).await.0, StatusCode::CREATED);
    assert_eq!(app.post(&path, &auditor, body.clone()).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&path, &stranger, body.clone()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call(reqwest::Method::POST, &path, None, Some(body)).await.0, StatusCode::UNAUTHORIZED);
    // The trainer is recorded as the awarding member, with its role.
    let events = app.store.audit_page(0, 1000).await.unwrap();
    assert!(events.iter().any(|e| e.action == "award.created" && e.actor_role == "trainer"));
    app.stop().await;
}

/// Indices are random, unique and in range, also when two instances award concurrently.
async fn status_indices_never_repeat(app: TestApp) {
    let (_, nm) = module(&app, None).await;
    let other = TestApp::start(app.db.clone(), crate::harness::TEST_MASTER_KEY).await;
    let mut tasks = Vec::new();
    for (n, instance) in [&app, &other].into_iter().enumerate() {
        for round in 0..3 {
            let list: Vec<Value> =
                (0..40).map(|i| json!({"identity": format!("p{n}-{round}-{i}@example.nl")})).collect();
            let (client, url) = (instance.client.clone(), format!("{}/api/v1/nanomodules/{nm}/awards", instance.base));
            tasks.push(tokio::spawn(async move {
                let r = client.post(url).bearer_auth(ADMIN).json(&json!({"recipients": list})).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
                r.json::<Value>().await.unwrap()
            }));
        }
    }
    let mut seen = HashSet::new();
    for t in tasks {
        let body = t.await.unwrap();
        for c in body["credentials"].as_array().unwrap() {
            let (_, _, text) = fetch(&app, c["id"].as_str().unwrap(), "application/json").await;
            let vc: Value = serde_json::from_str(&text).unwrap();
            let entry = (
                vc["credentialStatus"]["statusListCredential"].as_str().unwrap().to_string(),
                vc["credentialStatus"]["statusListIndex"].as_str().unwrap().to_string(),
            );
            assert!(seen.insert(entry), "index reused");
        }
    }
    assert_eq!(seen.len(), 240);
    let indices: Vec<u32> = seen.iter().map(|(_, i)| i.parse().unwrap()).collect();
    assert!(indices.iter().any(|i| *i > 1000), "indices are spread, not sequential");
    assert!(app.service.audit_check(None).await.unwrap().ok);
    other.stop().await;
    app.stop().await;
}

both!(a_full_list_opens_a_new_one);

/// 131 072 indices fill a list; the next reservation starts a new list, and no index repeats.
async fn a_full_list_opens_a_new_one(app: TestApp) {
    let issuer: uuid::Uuid = app.issuer("Busy issuer").await.parse().unwrap();
    let store = &app.store;
    let first = store.reserve_status_indices(issuer, 131_072 - 5).await.unwrap();
    let list = first[0].0;
    assert!(first.iter().all(|(l, _)| *l == list));
    let more = store.reserve_status_indices(issuer, 10).await.unwrap();
    assert_eq!(more.iter().filter(|(l, _)| *l == list).count(), 5, "the first list is filled up");
    let other: HashSet<uuid::Uuid> = more.iter().map(|(l, _)| *l).filter(|l| *l != list).collect();
    assert_eq!(other.len(), 1, "then a new list");
    let mut seen: HashSet<(uuid::Uuid, i64)> = first.into_iter().collect();
    for e in more {
        assert!(seen.insert(e), "index reused");
    }
    assert_eq!(seen.iter().filter(|(l, _)| *l == list).count(), 131_072);
    app.stop().await;
}

both!(no_accidental_doubles);

/// A second award of a module to someone who holds a standing badge of it is refused (the dry
/// run flags it) unless the row says it is a retake; a revoked badge does not count.
async fn no_accidental_doubles(app: TestApp) {
    let (_, nm) = module(&app, None).await;
    let path = format!("/api/v1/nanomodules/{nm}/awards");
    let (_, first) = app.post(&path, ADMIN, json!({"recipients": [{"identity": "jan@example.nl"}]})).await;
    let held = first["credentials"][0]["id"].as_str().unwrap().to_string();
    let cohort = json!({"recipients": [{"identity": "JAN@example.nl"}, {"identity": "piet@example.nl"}]});
    let (s, dry) = app.post(&format!("{path}?dry_run=true"), ADMIN, cohort.clone()).await;
    assert_eq!(s, StatusCode::OK, "{dry}");
    assert_eq!(dry["would_issue"], 1);
    assert_eq!(dry["doubles"], json!([{"row": 0, "field": "recipients[0]", "already_holds": held}]));
    assert_eq!(dry["credentials"][0]["already_holds"], held.as_str());
    let (s, refused) = app.post(&path, ADMIN, cohort).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "recipients[0]");
    assert!(refused["errors"][0]["message"].as_str().unwrap().contains(&held), "{refused}");
    assert_eq!(credential_count(&app).await, 1, "nothing issued");
    // The same file again from Dutch Excel, marked as a retake.
    let csv = "e-mail;herkansing\njan@example.nl;ja\npiet@example.nl;\n";
    let r = app.client.post(format!("{}{path}", app.base)).bearer_auth(ADMIN).header("content-type", "text/csv");
    let r = r.body(csv).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let piet = r.json::<Value>().await.unwrap()["credentials"][1]["id"].as_str().unwrap().to_string();
    // Once revoked, a badge is no reason to refuse.
    let piet_id = piet.rsplit('/').next().unwrap();
    app.post(&format!("/api/v1/credentials/{piet_id}/revoke"), ADMIN, json!({"reason": "x"})).await;
    let (s, again) = app.post(&path, ADMIN, json!({"recipients": [{"identity": "piet@example.nl"}]})).await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    let (s, bad) =
        app.post(&path, ADMIN, json!({"recipients": [{"identity": "jan@example.nl", "retake": "misschien"}]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    app.stop().await;
}
