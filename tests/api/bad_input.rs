//! Bad input is a clear 4xx problem+json naming the field — never a panic or a 500.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ADMIN, TestApp, both};

both!(four_hour_limit, malformed_requests, validation_names_fields);

fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

async fn four_hour_limit(app: TestApp) {
    let a = app.issuer("A").await;
    let path = format!("/api/v1/issuers/{a}/nanomodules");
    for (minutes, want) in [(240, 201), (1, 201), (241, 422), (0, 422), (-30, 422), (480, 422)] {
        let body =
            json!({"name": "M", "description": "D", "criteria": {"narrative": "N"}, "duration_minutes": minutes});
        let (s, resp) = app.post(&path, ADMIN, body).await;
        assert_eq!(s.as_u16(), want, "{minutes}: {resp}");
        if want == 422 {
            assert_eq!(fields(&resp), ["duration_minutes"]);
            assert_eq!(resp["type"], "urn:metrobadge:problem:validation");
            assert!(resp["detail"].as_str().unwrap().contains("4 hours"), "{resp}");
        }
    }
    // A PATCH cannot sneak past the limit either.
    let (_, nm) = app
        .post(
            &path,
            ADMIN,
            json!({"name": "M", "description": "D", "criteria": {"narrative": "N"}, "duration_minutes": 90}),
        )
        .await;
    let (s, resp) = app
        .patch(&format!("/api/v1/nanomodules/{}", nm["id"].as_str().unwrap()), ADMIN, json!({"duration_minutes": 300}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&resp), ["duration_minutes"]);
    app.stop().await;
}

async fn malformed_requests(app: TestApp) {
    let url = format!("{}/api/v1/issuers", app.base);
    let send = |body: Vec<u8>, content_type: &'static str| {
        let c = app.client.clone();
        let url = url.clone();
        async move {
            let resp =
                c.post(url).bearer_auth(ADMIN).header("content-type", content_type).body(body).send().await.unwrap();
            let status = resp.status();
            let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
            let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
            assert_eq!(ct, "application/problem+json");
            assert!(body["detail"].is_string() && body["title"].is_string() && body["status"] == status.as_u16());
            (status, body)
        }
    };
    assert_eq!(send(b"{\"name\": ".to_vec(), "application/json").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(b"{} trailing".to_vec(), "application/json").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(b"{\"name\": \"x\"}".to_vec(), "text/plain").await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(100 * 1024));
    assert_eq!(send(big.into_bytes(), "application/json").await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert!(send(deep.clone().into_bytes(), "application/json").await.0.is_client_error());
    let (s, body) = send(b"[1, 2]".to_vec(), "application/json").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let a = app.issuer("A").await;
    let (s, _) = app.patch(&format!("/api/v1/issuers/{a}"), ADMIN, json!(["not", "an", "object"])).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let resp = app
        .client
        .patch(format!("{}/api/v1/issuers/{a}", app.base))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "nesting beyond the parser's limit");
    for path in [
        "/api/v1/issuers/not-a-uuid",
        "/issuers/123",
        "/nanomodules/zzz",
        "/api/v1/nanomodules/00000000-0000-0000-0000-000000000000/versions/x",
        "/no/such/route",
    ] {
        let (s, body) = app.get(path, Some(ADMIN)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["type"], "urn:metrobadge:problem:not-found");
    }
    let (s, body) = app.call(reqwest::Method::DELETE, &format!("/api/v1/issuers/{a}"), Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let (s, body) = app.get("/api/v1/issuers?limit=lots", Some(ADMIN)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    // A random image content type and a fake PNG are 422s.
    let nm = json!({"name": "M", "description": "D", "criteria": {"narrative": "N"}, "duration_minutes": 30});
    let (_, nm) = app.post(&format!("/api/v1/issuers/{a}/nanomodules"), ADMIN, nm).await;
    let img_url = format!("{}/api/v1/nanomodules/{}/image", app.base, nm["id"].as_str().unwrap());
    for (ct, bytes) in [
        ("image/gif", b"GIF89a".to_vec()),
        ("image/png", b"not a png".to_vec()),
        ("image/svg+xml", b"<svg onload='x()'/>".to_vec()),
    ] {
        let resp =
            app.client.put(&img_url).bearer_auth(ADMIN).header("content-type", ct).body(bytes).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{ct}");
    }
    app.stop().await;
}

async fn validation_names_fields(app: TestApp) {
    let (s, body) = app
        .post(
            "/api/v1/issuers",
            ADMIN,
            json!({"url": "not a url", "email": "nope", "otherIdentifier": [{"identifier": "1", "identifierType": "KvK"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["name", "url", "email", "otherIdentifier[0].identifierType"]);

    let (s, body) = app.post("/api/v1/issuers", ADMIN, json!({"name": "x", "colour": "red"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["colour"]);
    let (s, body) = app.post("/api/v1/issuers", ADMIN, json!({"name": 42})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["name"]);
    let (s, body) = app.post("/api/v1/issuers", ADMIN, json!({"name": "n".repeat(201)})).await;
    assert_eq!((s, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_string()]));

    let a = app.issuer("A").await;
    let (s, body) = app.patch(&format!("/api/v1/issuers/{a}"), ADMIN, json!({"name": null})).await;
    assert_eq!((s, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_string()]));
    let (s, body) = app
        .post(
            &format!("/api/v1/issuers/{a}/members"),
            ADMIN,
            json!({"name": "x", "email": "x@example.nl", "role": "admin"}),
        )
        .await;
    assert_eq!((s, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["role".to_string()]));

    // Skills must exist and belong to the same issuer.
    let b = app.issuer("B").await;
    let (_, other_skill) = app.post(&format!("/api/v1/issuers/{b}/skills"), ADMIN, json!({"name": "B's"})).await;
    let (s, body) = app
        .post(
            &format!("/api/v1/issuers/{a}/nanomodules"),
            ADMIN,
            json!({"name": "M", "description": "D", "criteria": {"narrative": "N"}, "duration_minutes": 30,
                   "skills": [other_skill["id"]], "base_skills": [uuid::Uuid::new_v4()], "tags": vec!["t"; 31]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["tags"]);
    let (s, body) = app
        .post(
            &format!("/api/v1/issuers/{a}/nanomodules"),
            ADMIN,
            json!({"name": "M", "description": "D", "criteria": {"narrative": "N"}, "duration_minutes": 30,
                   "skills": [other_skill["id"]], "base_skills": [uuid::Uuid::new_v4()]}),
        )
        .await;
    assert_eq!(
        (s, fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["skills[0]".to_string(), "base_skills[0]".to_string()])
    );
    let (s, body) = app
        .post(
            &format!("/api/v1/issuers/{a}/keys/{}/compromised", uuid::Uuid::new_v4()),
            ADMIN,
            json!({"since": "yesterday"}),
        )
        .await;
    assert_eq!((s, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["since".to_string()]));
    app.stop().await;
}
