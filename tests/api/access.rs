//! The authorisation matrix: admin, issuer_admin, trainer, auditor, and another issuer's staff.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{ADMIN, TestApp, both};

both!(authorisation_matrix, removed_member_token_stops_working, unauthenticated_requests);

async fn authorisation_matrix(app: TestApp) {
    let a = app.issuer("Issuer A").await;
    let b = app.issuer("Issuer B").await;
    let ia = app.member(&a, "issuer_admin").await;
    let trainer = app.member(&a, "trainer").await;
    let auditor = app.member(&a, "auditor").await;
    let b_admin = app.member(&b, "issuer_admin").await;

    // Resources of A made by its admin, and one of B.
    let (s, skill) = app.post(&format!("/api/v1/issuers/{a}/skills"), &ia, json!({"name": "Greasing"})).await;
    assert_eq!(s, StatusCode::CREATED, "{skill}");
    let skill = skill["id"].as_str().unwrap().to_string();
    let module = json!({"name": "M", "description": "D", "criteria": {"narrative": "N"}, "duration_minutes": 60});
    let (s, nm) = app.post(&format!("/api/v1/issuers/{a}/nanomodules"), &ia, module.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{nm}");
    let nm = nm["id"].as_str().unwrap().to_string();
    let (_, nm_b) = app.post(&format!("/api/v1/issuers/{b}/nanomodules"), &b_admin, module.clone()).await;
    let nm_b = nm_b["id"].as_str().unwrap().to_string();

    let member = json!({"name": "New", "email": "new@example.nl", "role": "trainer"});
    // (method, path, body, expected for [admin, issuer_admin, trainer, auditor])
    let cases: Vec<(Method, String, Option<serde_json::Value>, [u16; 4])> = vec![
        (Method::POST, "/api/v1/issuers".into(), Some(json!({"name": "C"})), [201, 403, 403, 403]),
        (Method::GET, format!("/api/v1/issuers/{a}"), None, [200, 200, 200, 200]),
        (Method::GET, format!("/api/v1/issuers/{b}"), None, [200, 404, 404, 404]),
        (Method::PATCH, format!("/api/v1/issuers/{a}"), Some(json!({"description": "x"})), [200, 200, 403, 403]),
        (Method::PATCH, format!("/api/v1/issuers/{b}"), Some(json!({"description": "x"})), [200, 404, 404, 404]),
        (Method::GET, format!("/api/v1/issuers/{a}/members"), None, [200, 200, 200, 200]),
        (Method::POST, format!("/api/v1/issuers/{a}/members"), Some(member.clone()), [201, 201, 403, 403]),
        (Method::POST, format!("/api/v1/issuers/{b}/members"), Some(member.clone()), [201, 404, 404, 404]),
        (Method::GET, format!("/api/v1/issuers/{a}/keys"), None, [200, 200, 200, 200]),
        (Method::POST, format!("/api/v1/issuers/{a}/keys/rotate"), None, [201, 201, 403, 403]),
        (Method::POST, format!("/api/v1/issuers/{b}/keys/rotate"), None, [201, 404, 404, 404]),
        (Method::POST, format!("/api/v1/issuers/{a}/skills"), Some(json!({"name": "S"})), [201, 201, 403, 403]),
        (Method::PATCH, format!("/api/v1/skills/{skill}"), Some(json!({"description": "d"})), [200, 200, 403, 403]),
        (Method::GET, format!("/api/v1/skills/{skill}"), None, [200, 200, 200, 200]),
        (
            Method::POST,
            format!("/api/v1/issuers/{a}/skills-profiles"),
            Some(json!({"name": "P", "skills": [skill]})),
            [201, 201, 403, 403],
        ),
        (Method::POST, format!("/api/v1/issuers/{a}/nanomodules"), Some(module.clone()), [201, 201, 403, 403]),
        (Method::POST, format!("/api/v1/issuers/{b}/nanomodules"), Some(module.clone()), [201, 404, 404, 404]),
        (Method::GET, format!("/api/v1/issuers/{a}/nanomodules"), None, [200, 200, 200, 200]),
        (Method::GET, format!("/api/v1/nanomodules/{nm}"), None, [200, 200, 200, 200]),
        (Method::GET, format!("/api/v1/nanomodules/{nm_b}"), None, [200, 404, 404, 404]),
        (Method::PATCH, format!("/api/v1/nanomodules/{nm}"), Some(json!({"name": "M2"})), [200, 200, 403, 403]),
        (Method::PATCH, format!("/api/v1/nanomodules/{nm_b}"), Some(json!({"name": "M2"})), [200, 404, 404, 404]),
    ];
    for (method, path, body, expected) in cases {
        for (token, want) in [ADMIN, ia.as_str(), trainer.as_str(), auditor.as_str()].into_iter().zip(expected) {
            let (status, resp) = app.call(method.clone(), &path, Some(token), body.clone()).await;
            assert_eq!(status.as_u16(), want, "{method} {path} as {token}: {resp}");
            if status.is_client_error() {
                assert!(resp["type"].as_str().unwrap().starts_with("urn:metrobadge:problem:"), "{resp}");
            }
        }
    }

    // A's staff list only A.
    let (_, list) = app.get("/api/v1/issuers", Some(&trainer)).await;
    let ids: Vec<&str> = list["issuers"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a.as_str()]);
    let (_, list) = app.get("/api/v1/issuers", Some(ADMIN)).await;
    assert!(list["issuers"].as_array().unwrap().len() >= 3);
    app.stop().await;
}

async fn removed_member_token_stops_working(app: TestApp) {
    let a = app.issuer("A").await;
    let (s, m) = app
        .post(
            &format!("/api/v1/issuers/{a}/members"),
            ADMIN,
            json!({"name": "T", "email": "T@Example.nl", "role": "trainer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(m["email"], "t@example.nl");
    let token = m["token"].as_str().unwrap().to_string();
    assert_eq!(app.get(&format!("/api/v1/issuers/{a}"), Some(&token)).await.0, StatusCode::OK);
    let (_, list) = app.get(&format!("/api/v1/issuers/{a}/members"), Some(ADMIN)).await;
    assert!(list["members"][0].get("token").is_none(), "tokens are shown only once");
    let mid = m["id"].as_str().unwrap();
    let (s, _) = app.call(Method::DELETE, &format!("/api/v1/issuers/{a}/members/{mid}"), Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = app.get(&format!("/api/v1/issuers/{a}"), Some(&token)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    let (s, _) = app.call(Method::DELETE, &format!("/api/v1/issuers/{a}/members/{mid}"), Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "removing twice");
    app.stop().await;
}

async fn unauthenticated_requests(app: TestApp) {
    let a = app.issuer("A").await;
    for token in [None, Some("wrong"), Some("mbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")] {
        let (s, body) = app.get(&format!("/api/v1/issuers/{a}"), token).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(body["type"], "urn:metrobadge:problem:unauthenticated");
    }
    let resp = app
        .client
        .get(format!("{}/api/v1/issuers", app.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    app.stop().await;
}
