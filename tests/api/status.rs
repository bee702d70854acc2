//! Revocation, suspension and reinstatement; the signed status lists every verifier reads.

use reqwest::StatusCode;
use serde_json::{Value, json};

use metrobadge::credential::{data_integrity, multikey, status_list};

use crate::awards::{module, recipients};
use crate::harness::{ADMIN, TestApp, both};

both!(revoke_suspend_reinstate, who_may_change_status, a_crowded_list_hands_out_only_free_indices);

async fn vc(app: &TestApp, url: &str) -> Value {
    serde_json::from_str(&app.client.get(url).send().await.unwrap().text().await.unwrap()).unwrap()
}

/// (list URL, index) of a credential.
async fn entry(app: &TestApp, url: &str) -> (String, usize) {
    let c = vc(app, url).await;
    (
        c["credentialStatus"]["statusListCredential"].as_str().unwrap().to_string(),
        c["credentialStatus"]["statusListIndex"].as_str().unwrap().parse().unwrap(),
    )
}

/// Fetches a status list, checks its signature against the issuer's published key, and returns
/// the decoded bits with the response's ETag.
async fn bits(app: &TestApp, list_url: &str, issuer: &str) -> (Vec<u8>, String, Value) {
    let resp = app.client.get(list_url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "public, max-age=300");
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(doc["type"], json!(["VerifiableCredential", "BitstringStatusListCredential"]));
    assert_eq!(doc["credentialSubject"]["ttl"], 300_000);
    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    let key = multikey::decode(profile["verificationMethod"][0]["publicKeyMultibase"].as_str().unwrap()).unwrap();
    data_integrity::verify(&doc, &ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap())
        .expect("list is signed by the issuer");
    let decoded = status_list::decode(doc["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap();
    assert_eq!(decoded.len() * 8, 131_072);
    (decoded, etag, doc)
}

async fn revoke_suspend_reinstate(app: TestApp) {
    let (issuer, nm) = module(&app, None).await;
    let (_, resp) =
        app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, json!({"recipients": recipients(4)})).await;
    let urls: Vec<String> =
        resp["credentials"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    let ids: Vec<String> = urls.iter().map(|u| u.rsplit('/').next().unwrap().to_string()).collect();
    let (list, i0) = entry(&app, &urls[0]).await;
    let (_, i1) = entry(&app, &urls[1]).await;
    let (before, etag0, _) = bits(&app, &list, &issuer).await;
    assert!(before.iter().all(|b| *b == 0));
    let not_modified = app.client.get(&list).header("if-none-match", &etag0).send().await.unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);

    let (s, body) = app
        .post(&format!("/api/v1/credentials/{}/revoke", ids[0]), ADMIN, json!({"reason": "Fraud with evidence"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "revoked");
    assert_eq!(body["revocation_reason"], "Fraud with evidence");
    let (after, etag1, _) = bits(&app, &list, &issuer).await;
    assert_ne!(etag0, etag1, "a change re-signs the list");
    assert_eq!(status_list::is_set(&after, i0), Some(true));
    assert_eq!(after.iter().map(|b| b.count_ones()).sum::<u32>(), 1);
    let (s, _) = app.post(&format!("/api/v1/credentials/{}/revoke", ids[0]), ADMIN, json!({"reason": "again"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "revocation is final");
    let (s, _) = app.post(&format!("/api/v1/credentials/{}/reinstate", ids[0]), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Suspension uses its own list at the same index.
    let (s, body) =
        app.post(&format!("/api/v1/credentials/{}/suspend", ids[1]), ADMIN, json!({"reason": "Under review"})).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("suspended")));
    let (suspended, _, sdoc) = bits(&app, &format!("{list}/suspension"), &issuer).await;
    assert_eq!(sdoc["credentialSubject"]["statusPurpose"], "suspension");
    assert_eq!(status_list::is_set(&suspended, i1), Some(true));
    let (revoked, _, _) = bits(&app, &list, &issuer).await;
    assert_eq!(status_list::is_set(&revoked, i1), Some(false));
    let (s, body) = app.post(&format!("/api/v1/credentials/{}/reinstate", ids[1]), ADMIN, json!({})).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("active")));
    let (suspended, _, _) = bits(&app, &format!("{list}/suspension"), &issuer).await;
    assert!(suspended.iter().all(|b| *b == 0));

    // Bulk: all or nothing.
    let unknown = uuid::Uuid::new_v4().to_string();
    let (s, body) = app
        .post("/api/v1/credentials/revoke", ADMIN, json!({"ids": [ids[2], unknown], "reason": "Cohort cancelled"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "ids[1]");
    let (_, st) = app.get(&format!("/api/v1/credentials/{}/status", ids[2]), Some(ADMIN)).await;
    assert_eq!(st["status"], "active", "nothing changed");
    let (s, body) = app
        .post("/api/v1/credentials/revoke", ADMIN, json!({"ids": [ids[2], ids[3]], "reason": "Cohort cancelled"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["credentials"].as_array().unwrap().len(), 2);
    let (s, _) = app.post(&format!("/api/v1/credentials/{}/revoke", ids[1]), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");

    // The 1EdTech revocation list names the revoked credentials with their reasons.
    let (_, vcrl) = app.get(&format!("/issuers/{issuer}/revocations"), None).await;
    assert_eq!(vcrl["type"], "1EdTechRevocationList");
    let revoked: Vec<&str> =
        vcrl["revokedCredential"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(revoked.len(), 3);
    assert!(revoked.contains(&urls[0].as_str()));
    assert_eq!(vcrl["revokedCredential"][0]["revocationReason"], "Fraud with evidence");

    // Every change is in the audit chain; nothing was deleted.
    let events = app.store.audit_page(0, 1000).await.unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("credential.") && *a != "credential.issued")
        .collect();
    assert_eq!(
        kinds,
        [
            "credential.revoked",
            "credential.suspended",
            "credential.reinstated",
            "credential.revoked",
            "credential.revoked"
        ]
    );
    assert!(app.service.audit_check(None).await.unwrap().ok);
    assert_eq!(
        app.client.get(&urls[0]).send().await.unwrap().status(),
        StatusCode::OK,
        "a revoked credential stays published"
    );

    // The reference JavaScript stack accepts the signed status list too.
    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    let (_, _, list_doc) = bits(&app, &list, &issuer).await;
    let results = crate::interop::js_verify(
        &json!({"documents": {profile["id"].as_str().unwrap(): profile}, "cases": [{"name": "list", "credential": list_doc}]}),
    );
    assert!(results[0].1, "{:?}", results[0].2);
    app.stop().await;
}

async fn who_may_change_status(app: TestApp) {
    let (issuer, nm) = module(&app, None).await;
    let trainer = app.member(&issuer, "trainer").await;
    let auditor = app.member(&issuer, "auditor").await;
    let other = app.issuer("Other").await;
    let stranger = app.member(&other, "issuer_admin").await;
    let award = |token: String| {
        let app = &app;
        let nm = nm.clone();
        async move {
            let (_, r) = app
                .post(
                    &format!("/api/v1/nanomodules/{nm}/awards"),
                    &token,
                    json!({"recipients": [{"identity": "learner0@example.nl", "retake": true}]}),
                )
                .await;
            r["credentials"][0]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string()
        }
    };
    let by_trainer = award(trainer.clone()).await;
    let by_admin = award(ADMIN.to_string()).await;
    let reason = json!({"reason": "mistake"});
    assert_eq!(
        app.post(&format!("/api/v1/credentials/{by_admin}/revoke"), &trainer, reason.clone()).await.0,
        StatusCode::FORBIDDEN,
        "not the trainer's own award"
    );
    assert_eq!(
        app.post(&format!("/api/v1/credentials/{by_trainer}/suspend"), &trainer, reason.clone()).await.0,
        StatusCode::FORBIDDEN,
        "trainers only revoke"
    );
    assert_eq!(
        app.post(&format!("/api/v1/credentials/{by_trainer}/revoke"), &auditor, reason.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&format!("/api/v1/credentials/{by_trainer}/revoke"), &stranger, reason.clone()).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/credentials/{by_trainer}/status"), Some(&stranger)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(&format!("/api/v1/credentials/{by_trainer}/revoke"), &trainer, reason.clone()).await.0,
        StatusCode::OK,
        "own award within 24 h"
    );
    assert_eq!(
        app.post(&format!("/api/v1/credentials/{}/revoke", uuid::Uuid::new_v4()), ADMIN, reason).await.0,
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

/// Seven in eight indices of a list are taken: reservations (which draw random candidates and
/// ask which are taken, rather than reading the whole list) get only free ones, all distinct.
async fn a_crowded_list_hands_out_only_free_indices(app: TestApp) {
    let issuer: uuid::Uuid = app.issuer("Druk").await.parse().unwrap();
    let first = app.store.reserve_status_indices(issuer, 1).await.unwrap();
    let (list, taken) = first[0];
    let literal = match app.store.backend() {
        "sqlite" => format!("X'{}'", list.simple()),
        _ => format!("'{list}'"),
    };
    let size = metrobadge::store::STATUS_LIST_SIZE;
    app.store
        .execute_raw(&format!(
            "INSERT INTO status_entry (status_list_id, idx, reserved_epoch) \
             WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {last}) \
             SELECT {literal}, i, 0 FROM s WHERE i % 8 <> 0 AND i <> {taken}",
            last = size - 1
        ))
        .await
        .unwrap();
    app.store
        .execute_raw(&format!(
            "UPDATE status_list SET allocated = (SELECT count(*) FROM status_entry WHERE status_list_id = {literal}) \
             WHERE status_list_id = {literal}"
        ))
        .await
        .unwrap();

    let mut seen = std::collections::HashSet::from([taken]);
    for n in [500, 1, 50] {
        let got = app.store.reserve_status_indices(issuer, n).await.unwrap();
        assert_eq!(got.len(), n);
        for (l, i) in got {
            assert_eq!(l, list, "the crowded list still has room");
            assert_eq!(i % 8, 0, "index {i} was taken");
            assert!(seen.insert(i), "index {i} handed out twice");
        }
    }
}
