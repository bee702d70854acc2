//! Issuers, keys, nanomodule versions, public documents, operations endpoints.

use reqwest::StatusCode;
use serde_json::json;

use metrobadge::store::Store;

use crate::harness::{ADMIN, TestApp, both};

both!(
    keys_are_sealed_at_rest,
    keys_rotate_and_stay_published,
    nanomodule_versions_and_achievements,
    health_metrics_request_ids
);

async fn keys_are_sealed_at_rest(app: TestApp) {
    let a = app.issuer("A").await;
    let id: uuid::Uuid = a.parse().unwrap();
    let (_, key) = app.service.active_signing_key(id).await.unwrap();
    let seed = key.to_bytes();
    // The keys API shows public material only.
    let (_, keys) = app.get(&format!("/api/v1/issuers/{a}/keys"), Some(ADMIN)).await;
    let text = keys.to_string();
    assert!(text.contains("z6Mk"));
    assert!(!text.contains(&hex::encode(seed)) && !text.to_lowercase().contains("secret"));
    match app.store.backend() {
        "sqlite" => {
            let mut found = false;
            let mut scanned = 0;
            for f in app.db.sqlite_files() {
                if let Ok(bytes) = std::fs::read(f) {
                    scanned += bytes.len();
                    found |= bytes.windows(32).any(|w| w == seed);
                }
            }
            assert!(scanned > 0, "database files were read");
            assert!(!found, "raw private key bytes found in the SQLite files");
        }
        _ => {
            let rows = app.store.query_text("SELECT t::text FROM signing_key t").await.unwrap();
            assert!(!rows.is_empty());
            assert!(rows.iter().all(|r| !r.contains(&hex::encode(seed))), "raw private key in signing_key");
        }
    }
    app.stop().await;
}

async fn keys_rotate_and_stay_published(app: TestApp) {
    let a = app.issuer("A").await;
    let (_, before) = app.get(&format!("/issuers/{a}"), None).await;
    let first_vm = before["assertionMethod"][0].as_str().unwrap().to_string();
    assert!(first_vm.starts_with(&format!("{}/issuers/{a}#z6Mk", app.base)));
    assert_eq!(before["verificationMethod"][0]["type"], "Multikey");
    assert_eq!(before["verificationMethod"][0]["controller"], before["id"]);
    assert_eq!(before["type"], json!(["Profile"]));

    let (s, new_key) = app.post(&format!("/api/v1/issuers/{a}/keys/rotate"), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{new_key}");
    assert_eq!(new_key["status"], "active");
    let (_, after) = app.get(&format!("/issuers/{a}"), None).await;
    assert_eq!(after["verificationMethod"].as_array().unwrap().len(), 2);
    assert_eq!(after["assertionMethod"][0], first_vm.as_str(), "the old key stays published");
    let (_, jwks) = app.get(&format!("/issuers/{a}/jwks.json"), None).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    assert_eq!(jwks["keys"][0]["kid"], first_vm.as_str());
    assert!(jwks["keys"][0].get("d").is_none());
    let (_, did) = app.get(&format!("/issuers/{a}/did.json"), None).await;
    let port = app.base.rsplit(':').next().unwrap();
    assert_eq!(did["id"], format!("did:web:127.0.0.1%3A{port}:issuers:{a}"));
    assert_eq!(did["assertionMethod"].as_array().unwrap().len(), 2);

    // Marking the active key compromised retires it and makes a fresh active key.
    let active = new_key["id"].as_str().unwrap();
    let (s, keys) = app
        .post(
            &format!("/api/v1/issuers/{a}/keys/{active}/compromised"),
            ADMIN,
            json!({"since": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{keys}");
    let statuses: Vec<&str> = keys["keys"].as_array().unwrap().iter().map(|k| k["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["retired", "compromised", "active"]);
    assert_eq!(keys["keys"][1]["compromised_since"], "2026-01-01T00:00:00Z");
    let (s, _) = app
        .post(
            &format!("/api/v1/issuers/{a}/keys/{}/compromised", uuid::Uuid::new_v4()),
            ADMIN,
            json!({"since": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The profile edit shows in the public document.
    let (s, _) = app
        .patch(&format!("/api/v1/issuers/{a}"), ADMIN, json!({"url": "https://a.example", "email": "info@a.example"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let resp = app.client.get(format!("{}/issuers/{a}", app.base)).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/ld+json");
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(doc["url"], "https://a.example");
    assert_eq!(doc["@context"][0], "https://www.w3.org/ns/did/v1");
    assert_eq!(doc["@context"][1], "https://www.w3.org/ns/credentials/v2");
    app.stop().await;
}

async fn nanomodule_versions_and_achievements(app: TestApp) {
    let a = app.issuer("Techniek Twente").await;
    let (_, skill) = app
        .post(
            &format!("/api/v1/issuers/{a}/skills"),
            ADMIN,
            json!({"name": "Lubrication", "alignment": {"targetUrl": "http://data.europa.eu/esco/skill/123", "targetFramework": "ESCO"}}),
        )
        .await;
    let (s, profile) = app
        .post(
            &format!("/api/v1/issuers/{a}/skills-profiles"),
            ADMIN,
            json!({"name": "Smart Maintenance", "skills": [skill["id"]]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{profile}");
    let (s, nm) = app
        .post(
            &format!("/api/v1/issuers/{a}/nanomodules"),
            ADMIN,
            json!({"name": "Smeren", "description": "Smeren van lagers", "criteria": {"narrative": "Smeerplan gemaakt"},
                   "duration_minutes": 180, "skills": [skill["id"]], "level": {"framework": "NLQF", "level": 2},
                   "tags": ["onderhoud"], "language": "nl", "validity_days": 730}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{nm}");
    assert_eq!(nm["version"], 1);
    assert_eq!(nm["achievement_type"], "Course");
    let id = nm["id"].as_str().unwrap().to_string();

    let (s, v2) =
        app.patch(&format!("/api/v1/nanomodules/{id}"), ADMIN, json!({"name": "Smeren en lagers", "tags": null})).await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["duration_minutes"], 180, "unpatched fields kept");
    assert!(v2.get("tags").is_none(), "null removes a field");
    let (_, v1) = app.get(&format!("/api/v1/nanomodules/{id}/versions/1"), Some(ADMIN)).await;
    assert_eq!(v1["name"], "Smeren");
    assert_eq!(v1["current_version"], 2);
    assert_eq!(app.get(&format!("/api/v1/nanomodules/{id}/versions/9"), Some(ADMIN)).await.0, StatusCode::NOT_FOUND);

    // Public Achievement documents, per version.
    let (s, old) = app.get(&format!("/nanomodules/{id}/versions/1"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(old["name"], "Smeren");
    assert_eq!(old["id"], format!("{}/nanomodules/{id}/versions/1", app.base));
    let (_, current) = app.get(&format!("/nanomodules/{id}"), None).await;
    assert_eq!(current["name"], "Smeren en lagers");
    assert_eq!(current["type"], json!(["Achievement"]));
    assert_eq!(current["achievementType"], "Course");
    assert_eq!(current["creditsAvailable"], 3.0);
    assert_eq!(current["criteria"]["narrative"], "Smeerplan gemaakt");
    assert_eq!(current["creator"]["name"], "Techniek Twente");
    assert_eq!(current["inLanguage"], "nl");
    let alignment = current["alignment"].as_array().unwrap();
    assert_eq!(alignment[0]["targetUrl"], "http://data.europa.eu/esco/skill/123");
    assert_eq!(alignment[1]["targetType"], "ext:NLQF");
    // Default image is a generated SVG.
    let image = current["image"]["id"].as_str().unwrap();
    let resp = app.client.get(image).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    assert!(resp.text().await.unwrap().contains("<svg"));

    // Uploading a PNG makes version 3 with the uploaded image.
    let png = metrobadge::credential::bake::solid_png(16, [10, 80, 160]);
    let resp = app.put_image(&id, "image/png", png.clone()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let v3: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v3["version"], 3);
    let img = app.client.get(v3["image_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.bytes().await.unwrap().as_ref(), png.as_slice());
    let (_, list) = app.get(&format!("/api/v1/issuers/{a}/nanomodules"), Some(ADMIN)).await;
    assert_eq!(list["nanomodules"].as_array().unwrap().len(), 1);
    let (s, public_skill) = app.get(&format!("/skills/{}", skill["id"].as_str().unwrap()), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(public_skill["skill"]["name"], "Lubrication");
    app.stop().await;
}

async fn health_metrics_request_ids(app: TestApp) {
    let resp = app.client.get(format!("{}/health", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("x-request-id").is_some());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let resp = app.client.get(format!("{}/health", app.base)).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123", "a caller's request id is kept");
    app.get("/api/v1/issuers/nope", Some(ADMIN)).await;
    let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("metrobadge_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"),
        "{text}"
    );
    assert!(text.contains("route=\"/api/v1/issuers/{id}\",status=\"404\""), "{text}");
    assert!(text.contains("metrobadge_http_request_duration_seconds_bucket"));
    assert!(text.contains("metrobadge_stack_queue_jobs 0"), "{text}");
    app.stop().await;
}

both!(metrics_on_a_listener_of_their_own);

/// With `METROBADGE_METRICS_BIND`, `/metrics` answers only on its own listener.
async fn metrics_on_a_listener_of_their_own(app: TestApp) {
    let store = Store::connect(&app.db.url).await.unwrap();
    let key = metrobadge::master_key::MasterKey::parse(crate::harness::TEST_MASTER_KEY, "test").unwrap();
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", public.local_addr().unwrap());
    let service = metrobadge::service::Service::new(store, key, &base, Some(ADMIN));
    let mut apart = metrobadge::App::with_options(service, 64 * 1024, &Default::default(), true);
    let metrics = apart.take_metrics().expect("built apart");
    let monitoring = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let monitoring_url = format!("http://{}/metrics", monitoring.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(monitoring, metrics).await.unwrap() });
    tokio::spawn(apart.serve(public, std::future::pending()));

    assert_eq!(app.client.get(format!("{base}/health")).send().await.unwrap().status(), StatusCode::OK);
    let r = app.client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "not on the public port");
    let text = app.client.get(&monitoring_url).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains("metrobadge_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("metrobadge_stack_queue_jobs 0"), "{text}");
    app.stop().await;
}
