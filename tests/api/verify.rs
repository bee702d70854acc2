//! `POST /verify` and the shared corpus on which our verifier and the reference JavaScript stack
//! must agree.

use reqwest::StatusCode;
use serde_json::{Value, json};

use metrobadge::credential::{data_integrity, jwt::JwtSigner};

use crate::awards::{module, recipients};
use crate::harness::{ADMIN, TestApp, both};
use crate::interop::js_verify;

both!(verifier_agrees_with_reference_stack, verify_endpoint_inputs, another_issuers_single_proof_with_did_key);

async fn post_verify(app: &TestApp, body: Value) -> Value {
    let r = app.client.post(format!("{}/verify", app.base)).json(&body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn failed(report: &Value) -> Vec<String> {
    failed_checks(&report["checks"])
}

/// The names of the failed checks in a list of checks (`/verify`'s `checks`, VC-API's `results`).
pub fn failed_checks(checks: &Value) -> Vec<String> {
    checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect()
}

async fn verifier_agrees_with_reference_stack(app: TestApp) {
    let (issuer, nm) = module(&app, None).await;
    let (_, resp) =
        app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, json!({"recipients": recipients(4)})).await;
    let urls: Vec<String> =
        resp["credentials"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect();
    let fetch = |u: String| {
        let c = app.client.clone();
        async move { c.get(u).send().await.unwrap().text().await.unwrap() }
    };
    let good: Value = serde_json::from_str(&fetch(urls[0].clone()).await).unwrap();
    let (_, key) = app.service.active_signing_key(issuer.parse().unwrap()).await.unwrap();
    let issuer_url = good["issuer"]["id"].as_str().unwrap().to_string();
    let vm = good["proof"][0]["verificationMethod"].as_str().unwrap().to_string();
    let unsigned = data_integrity::split(&good).unwrap().0;
    let created = good["proof"][0]["created"].as_str().unwrap().to_string();
    let resign = |doc: &Value, k: &ed25519_dalek::SigningKey| data_integrity::sign(doc, k, &vm, &created).unwrap();

    let mut altered = good.clone();
    altered["credentialSubject"]["achievement"]["description"] = json!("Something else");
    let wrong_key = resign(&unsigned, &ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]));
    let mut expired_doc = unsigned.clone();
    expired_doc["validFrom"] = json!("2020-01-01T00:00:00Z");
    expired_doc["validUntil"] = json!("2021-01-01T00:00:00Z");
    let expired = resign(&expired_doc, &key);
    let revoked: Value = serde_json::from_str(&fetch(urls[1].clone()).await).unwrap();
    let suspended: Value = serde_json::from_str(&fetch(urls[2].clone()).await).unwrap();
    let id_of = |u: &str| u.rsplit('/').next().unwrap().to_string();
    app.post(&format!("/api/v1/credentials/{}/revoke", id_of(&urls[1])), ADMIN, json!({"reason": "test"})).await;
    app.post(&format!("/api/v1/credentials/{}/suspend", id_of(&urls[2])), ADMIN, json!({"reason": "test"})).await;
    let mut unknown_ctx = good.clone();
    unknown_ctx["@context"].as_array_mut().unwrap().push(json!("https://example.org/unknown-context.jsonld"));
    let mut two_proofs = good.clone();
    let bad_proof = wrong_key["proof"][0].clone();
    two_proofs["proof"].as_array_mut().unwrap().push(bad_proof);
    let good_jwt = fetch(format!("{}.jwt", urls[3])).await;
    let mut jti_claims: Value = serde_json::from_str(&fetch(urls[3].clone()).await).unwrap();
    jti_claims.as_object_mut().unwrap().remove("proof");
    let other_jti = {
        // Sign a JWT whose jti names another credential.
        let signer = JwtSigner::new(&key, &vm);
        let token = signer.sign(&jti_claims).unwrap();
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: Value = serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
        payload["jti"] = json!(urls[0]);
        parts[1] = b64.encode(serde_json::to_vec(&payload).unwrap());
        let input = format!("{}.{}", parts[0], parts[1]);
        use ed25519_dalek::Signer;
        format!("{input}.{}", b64.encode(key.sign(input.as_bytes()).to_bytes()))
    };

    // (name, input, expected verified)
    let corpus: Vec<(&str, Value, bool)> = vec![
        ("good", good.clone(), true),
        ("altered", altered, false),
        ("wrong-key", wrong_key, false),
        ("expired", expired, false),
        ("revoked", revoked, false),
        ("suspended", suspended, false),
        ("unknown-context", unknown_ctx, false),
        // One valid proof suffices (OB 3.0; the reference stack agrees).
        ("two-proofs", two_proofs, true),
        ("jwt-good", json!(good_jwt), true),
        ("jwt-other-jti", json!(other_jti), false),
    ];

    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    let (_, jwks) = app.get(&format!("/issuers/{issuer}/jwks.json"), None).await;
    let list_url = good["credentialStatus"]["statusListCredential"].as_str().unwrap().to_string();
    let revocation_list: Value = serde_json::from_str(&fetch(list_url.clone()).await).unwrap();
    let suspension_list: Value = serde_json::from_str(&fetch(format!("{list_url}/suspension")).await).unwrap();
    let cases: Vec<Value> = corpus
        .iter()
        .map(|(name, input, _)| match input {
            Value::String(jwt) => json!({"name": name, "jwt": jwt, "jwks": jwks}),
            c => json!({"name": name, "credential": c}),
        })
        .collect();
    let documents = json!({issuer_url.clone(): profile, list_url.clone(): revocation_list, format!("{list_url}/suspension"): suspension_list});
    let js = js_verify(&json!({"documents": documents, "cases": cases}));

    for ((name, input, expected), (js_name, js_verified, js_errors)) in corpus.iter().zip(js) {
        assert_eq!(*name, js_name);
        let ours = post_verify(&app, json!({"credential": input})).await;
        assert_eq!(ours["verified"], *expected, "ours on {name}: {ours}");
        assert_eq!(js_verified, *expected, "reference stack on {name}: {js_errors:?}");
    }

    // The failing check is the right one.
    let expect_failed = |report: &Value, check: &str| {
        assert!(failed(report).contains(&check.to_string()), "{check} should fail: {report}")
    };
    let report = post_verify(&app, json!({"credential": corpus[3].1})).await;
    expect_failed(&report, "validity");
    assert_eq!(report["credential"]["status"], "expired");
    let report = post_verify(&app, json!({"credential": corpus[4].1})).await;
    expect_failed(&report, "status");
    assert_eq!(report["credential"]["status"], "revoked");
    let report = post_verify(&app, json!({"credential": corpus[5].1})).await;
    assert_eq!(report["credential"]["status"], "suspended");
    expect_failed(&post_verify(&app, json!({"credential": corpus[6].1})).await, "json-ld");
    expect_failed(&post_verify(&app, json!({"credential": corpus[2].1})).await, "proof");
    expect_failed(&post_verify(&app, json!({"credential": corpus[9].1})).await, "proof");
    let good_report = post_verify(&app, good.clone()).await;
    let names: Vec<&str> =
        good_report["checks"].as_array().unwrap().iter().map(|c| c["check"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "format",
            "json-ld",
            "schema",
            "subject",
            "proof",
            "key",
            "controller",
            "key-compromise",
            "validity",
            "status"
        ]
    );
    assert_eq!(good_report["credential"]["issuer"]["name"], "Techniek Twente");
    assert_eq!(good_report["credential"]["achievement"]["name"], "Smeren");
    assert_eq!(good_report["credential"]["status"], "active");

    // Retired keys still verify; a key marked compromised before signing does not.
    app.post(&format!("/api/v1/issuers/{issuer}/keys/rotate"), ADMIN, json!({})).await;
    assert_eq!(post_verify(&app, good.clone()).await["verified"], true, "retired key");
    let (_, keys) = app.get(&format!("/api/v1/issuers/{issuer}/keys"), Some(ADMIN)).await;
    let old = keys["keys"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/issuers/{issuer}/keys/{old}/compromised"),
        ADMIN,
        json!({"since": "2020-01-01T00:00:00Z"}),
    )
    .await;
    let report = post_verify(&app, good.clone()).await;
    assert_eq!(report["verified"], false);
    expect_failed(&report, "key-compromise");
    app.stop().await;
}

async fn verify_endpoint_inputs(app: TestApp) {
    let (_, nm) = module(&app, None).await;
    let (_, resp) = app
        .post(
            &format!("/api/v1/nanomodules/{nm}/awards"),
            ADMIN,
            json!({"recipients": [{"identity": "Jan@Example.nl"}]}),
        )
        .await;
    let url = resp["credentials"][0]["id"].as_str().unwrap();
    let jwt = app.client.get(format!("{url}.jwt")).send().await.unwrap().text().await.unwrap();
    let r = app
        .client
        .post(format!("{}/verify", app.base))
        .header("content-type", "application/vc+jwt")
        .body(jwt.clone())
        .send()
        .await
        .unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["checks"][0]["detail"], "VC-JWT (compact JWS)");
    let text = app.client.get(url).send().await.unwrap().text().await.unwrap();
    let vc: Value = serde_json::from_str(&text).unwrap();
    let r = app.client.post(format!("{}/verify?recipient=jan@example.nl", app.base)).json(&vc).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["checks"].as_array().unwrap().last().unwrap()["check"], "recipient");
    let report = post_verify(&app, json!({"credential": vc, "recipient": "piet@example.nl"})).await;
    assert_eq!(report["verified"], false);
    assert_eq!(failed(&report), ["recipient"]);
    // Unreadable input is a 4xx problem; a readable but bad credential is a report.
    let r = app
        .client
        .post(format!("{}/verify", app.base))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .client
        .post(format!("{}/verify", app.base))
        .header("content-type", "application/pdf")
        .body("%PDF")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let report = post_verify(&app, json!({"credential": "not.a.jwt"})).await;
    assert_eq!(report["verified"], false);
    let report = post_verify(&app, json!({"hello": "world"})).await;
    assert_eq!(report["verified"], false);
    // Untrusted input is bounded before any JSON-LD work.
    let mut huge = vc.clone();
    huge["credentialSubject"]["achievement"]["tag"] = json!(vec!["t"; 6000]);
    let report = post_verify(&app, json!({"credential": huge})).await;
    assert_eq!(report["verified"], false);
    assert_eq!(failed(&report), ["format"]);
    app.stop().await;
}

/// What an employer receives from another issuer: a credential signed by a `did:key` issuer
/// with one `proof` object (not an array), as the official OB 3.0 test vector has it. Both our
/// verifier and the reference stack accept it; a changed word fails both.
async fn another_issuers_single_proof_with_did_key(app: TestApp) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
    let multikey = metrobadge::credential::multikey::encode(&key.verifying_key().to_bytes());
    let did = format!("did:key:{multikey}");
    let vm = format!("{did}#{multikey}");
    // The official OB 3.0 test vector's credential, issued by the did:key instead.
    let mut doc: Value = serde_json::from_str(include_str!("../vectors/ob-v3p0/unsigned-credential.json")).unwrap();
    doc["issuer"]["id"] = json!(did);
    let signed = metrobadge::credential::issue::sign_batch(
        &[doc],
        &key,
        &vm,
        "2024-01-01T00:00:00Z",
        &JwtSigner::new(&key, &vm),
    )
    .unwrap()
    .remove(0);
    let mut vc: Value = serde_json::from_str(&signed.signed).unwrap();
    vc["proof"] = vc["proof"][0].clone();
    assert!(vc["proof"].is_object());

    let report = post_verify(&app, json!({"credential": vc})).await;
    assert_eq!(report["verified"], true, "{report}");
    let mut changed = vc.clone();
    changed["name"] = json!("Something else");
    let report = post_verify(&app, json!({"credential": changed})).await;
    assert_eq!(report["verified"], false);

    let did_document = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [{"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": multikey}],
        "assertionMethod": [vm],
    });
    let results = js_verify(&json!({"documents": {did.clone(): did_document},
        "cases": [{"name": "single-proof", "credential": vc}, {"name": "changed", "credential": changed}]}));
    assert_eq!(
        results.iter().map(|r| (r.0.as_str(), r.1)).collect::<Vec<_>>(),
        [("single-proof", true), ("changed", false)],
        "{results:?}"
    );
}
