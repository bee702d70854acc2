//! Into a wallet: an independent OpenID4VCI 1.0 client library from npm (@openid4vc/openid4vci,
//! driven by tests/interop/wallet.mjs) takes a learner's badge from the running service with
//! the pre-authorised code flow; the holder-bound copy verifies in our verifier and in the
//! reference JavaScript stack, and shares its original's status.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::awards::module;
use crate::harness::{ADMIN, TestApp, both};
use crate::impact::{csrf_of, learner_post, learner_session, my_page};
use crate::interop::{ensure_npm, interop_dir, js_verify};
use crate::mail::SmtpServer;

both!(wallet_takes_a_badge_with_openid4vci, wallet_codes_are_single_use_and_guarded);

/// Runs the npm wallet; `Ok(output)` when it received a credential. On the blocking pool: the
/// wallet talks to the server this test's runtime serves, which must keep running meanwhile.
async fn wallet(offer: &str, tx_code: &str, extra: &[&str]) -> Result<Value, String> {
    let args: Vec<String> = [offer, tx_code].iter().chain(extra).map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        ensure_npm();
        Command::new("node").arg(interop_dir().join("wallet.mjs")).args(&args).output().expect("node is installed")
    })
    .await
    .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("one JSON line"))
}

/// The JSON as a verifier reads it: every number a double (a JavaScript wallet writes `3.0` as
/// `3`; the signed document is the same).
fn numbers_as_doubles(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(numbers_as_doubles).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), numbers_as_doubles(v))).collect()),
        other => other.clone(),
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/").replace("&#47;", "/").replace("&quot;", "\"").replace("&#x27;", "'").replace("&amp;", "&")
}

/// Makes an offer on the learner's page: (offer URL, transaction code, page).
async fn offer(app: &TestApp, session: &str, credential_id: &str) -> (String, String, String) {
    let page = my_page(app, session).await;
    assert!(page.contains("Add to wallet"), "{page}");
    let r = learner_post(
        app,
        session,
        &format!("{}/me/credentials/{credential_id}/wallet?lang=en", app.base),
        &format!("csrf={}", csrf_of(&page)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let url = unescape(
        html.split("id=\"offer\"").next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap(),
    );
    let url = if url.starts_with("openid-credential-offer://") {
        url
    } else {
        unescape(html.split("<a href=\"").nth(1).unwrap().split('"').next().unwrap())
    };
    let tx = html.split("id=\"tx-code\" class=\"code\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert!(url.starts_with("openid-credential-offer://?credential_offer="), "{url}");
    assert_eq!(tx.len(), 6, "{html}");
    (url, tx, html)
}

async fn wallet_takes_a_badge_with_openid4vci(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (issuer, nm) = module(&app, None).await;
    let answer = app.award(&nm, json!([{"identity": "ann@example.nl", "name": "Ann"}])).await;
    let badge = answer["credentials"][0]["id"].as_str().unwrap().to_string();
    let badge_id = badge.rsplit('/').next().unwrap().to_string();

    // The metadata a wallet reads.
    let (s, meta) = app.get("/.well-known/openid-credential-issuer", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(meta["credential_issuer"], json!(app.base));
    let config = &meta["credential_configurations_supported"]["OpenBadgeCredential_ldp_vc"];
    assert_eq!(config["format"], "ldp_vc");
    assert_eq!(config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"], json!(["EdDSA"]));
    let (s, server) = app.get("/.well-known/oauth-authorization-server", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(server["token_endpoint"], json!(format!("{}/oauth/token", app.base)));

    // Ann signs in, makes an offer; the page shows a QR code, the link and the code.
    let session = learner_session(&app, &smtp, &sender, "ann@example.nl").await;
    // The badge e-mail leads there too: its wallet link asks to sign in, or offers the button.
    let from_mail = format!("{}/me/wallet/{badge_id}", app.base);
    let mail = smtp.received().into_iter().find(|m| m.to() == "ann@example.nl" && m.subject().contains("Smeren"));
    assert!(mail.expect("the badge mail").text().contains(&from_mail));
    let page = app.client.get(format!("{from_mail}?lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Sign in to your badges page first"), "{page}");
    let page = app.client.get(&from_mail).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("action=\"/me/credentials/{badge_id}/wallet\"")), "{page}");
    let (url, tx, html) = offer(&app, &session, &badge_id).await;
    assert!(html.contains("<svg") && html.contains("aria-label=\"QR code of the offer for your wallet\""), "{html}");

    // The wallet library takes it, proving possession of its own key.
    let got = wallet(&url, &tx, &[]).await.unwrap_or_else(|e| panic!("the wallet failed: {e}"));
    assert_eq!(got["format"], "ldp_vc");
    let vc = got["response"]["credentials"][0]["credential"].clone();
    let x =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, got["jwk"]["x"].as_str().unwrap())
            .unwrap();
    let holder = format!("did:key:{}", metrobadge::credential::multikey::encode(&x.try_into().unwrap()));
    assert_eq!(vc["credentialSubject"]["id"], json!(holder), "bound to the wallet's key");
    assert_ne!(vc["id"], json!(badge), "a copy of its own");
    let (_, original) = app.get(&format!("/credentials/{badge_id}"), None).await;
    for k in ["issuer", "validFrom", "credentialStatus", "name"] {
        assert_eq!(vc[k], original[k], "{k} as issued");
    }
    assert_eq!(
        numbers_as_doubles(&vc["credentialSubject"]["achievement"]),
        numbers_as_doubles(&original["credentialSubject"]["achievement"])
    );
    let copy_url = vc["id"].as_str().unwrap().to_string();
    let copy_id = copy_url.rsplit('/').next().unwrap().to_string();
    let (s, served) = app.get(&format!("/credentials/{copy_id}"), None).await;
    assert_eq!((s, numbers_as_doubles(&served)), (StatusCode::OK, numbers_as_doubles(&vc)), "served at its own URL");

    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(&copy_url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "its page is the original's");
    assert_eq!(page.headers()["location"], badge.as_str());

    // Our verifier and the reference stack accept it.
    let (s, report) = app.call(reqwest::Method::POST, "/verify", None, Some(json!({"credential": vc}))).await;
    assert_eq!((s, &report["verified"]), (StatusCode::OK, &json!(true)), "{report}");
    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    let results = js_verify(&json!({"documents": {profile["id"].as_str().unwrap(): profile},
        "cases": [{"name": "wallet-copy", "credential": vc}]}));
    assert!(results[0].1, "reference stack: {results:?}");

    // The offer worked once.
    let again = wallet(&url, &tx, &[]).await;
    assert!(again.is_err(), "a used offer is refused");
    assert!(again.unwrap_err().contains("invalid_grant"));

    // It never counts twice: the learner still holds one badge of the module.
    let (s, body) = app
        .post(
            &format!("/api/v1/nanomodules/{nm}/awards?dry_run=true"),
            ADMIN,
            json!({"recipients": [{"identity": "ann@example.nl"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["doubles"].as_array().unwrap().len(), 1);
    assert_eq!(body["doubles"][0]["already_holds"], json!(badge));

    // The copy joins Ann's export with the holder's key.
    let (_, export) = app.post("/api/v1/learners/export", ADMIN, json!({"identity": "ann@example.nl"})).await;
    assert_eq!(export["wallet_credentials"][0]["holder"], json!(holder), "{export}");

    // Shared status: suspending the copy suspends the original, and both verify as such.
    let (s, body) =
        app.post(&format!("/api/v1/credentials/{copy_id}/suspend"), ADMIN, json!({"reason": "checking"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, status) = app.get(&format!("/api/v1/credentials/{badge_id}/status"), Some(ADMIN)).await;
    assert_eq!(status["status"], "suspended");
    let (_, report) = app.call(reqwest::Method::POST, "/verify", None, Some(json!({"credential": copy_url}))).await;
    assert_eq!(report["verified"], false, "{report}");
    let (s, _) = app.post(&format!("/api/v1/credentials/{badge_id}/reinstate"), ADMIN, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, report) = app.call(reqwest::Method::POST, "/verify", None, Some(json!({"credential": copy_url}))).await;
    assert_eq!(report["verified"], true, "{report}");
    let (s, _) = app.post(&format!("/api/v1/credentials/{badge_id}/revoke"), ADMIN, json!({"reason": "error"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, report) = app.call(reqwest::Method::POST, "/verify", None, Some(json!({"credential": vc}))).await;
    assert_eq!(report["verified"], false, "revoking the original revokes the copy: {report}");

    // Erasure forgets the copy and its holder key.
    let (s, _) = app.post("/api/v1/learners/erase", ADMIN, json!({"identity": "ann@example.nl"})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(app.store.query_text("SELECT holder FROM wallet_credential").await.unwrap().is_empty());
}

async fn token(app: &TestApp, code: &str, tx: &str) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}/oid4vci/token", app.base))
        .form(&[
            ("grant_type", metrobadge::service::PRE_AUTHORIZED_GRANT),
            ("pre-authorized_code", code),
            ("tx_code", tx),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    (r.status(), r.json().await.unwrap())
}

/// A request to the credential endpoint, with or without an access token.
async fn credential_request(app: &TestApp, token: Option<&str>, body: &Value) -> reqwest::Response {
    let request = app.client.post(format!("{}/oid4vci/credential", app.base)).json(body);
    let request = match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    };
    request.send().await.unwrap()
}

fn code_of(url: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    let offer: Value = serde_json::from_str(&pairs[0].1).unwrap();
    offer["grants"][metrobadge::service::PRE_AUTHORIZED_GRANT]["pre-authorized_code"].as_str().unwrap().to_string()
}

async fn wallet_codes_are_single_use_and_guarded(app: TestApp) {
    let smtp = SmtpServer::start();
    let sender = app.service.clone().with_mailer(smtp.mailer());
    let (_, nm) = module(&app, None).await;
    let answer = app.award(&nm, json!([{"identity": "bo@example.nl"}, {"identity": "cy@example.nl"}])).await;
    let bo = answer["credentials"][0]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let cy = answer["credentials"][1]["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let session = learner_session(&app, &smtp, &sender, "bo@example.nl").await;

    // Someone else's credential cannot be offered.
    let page = my_page(&app, &session).await;
    let foreign = learner_post(
        &app,
        &session,
        &format!("{}/me/credentials/{cy}/wallet", app.base),
        &format!("csrf={}", csrf_of(&page)),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // Wrong transaction codes burn the offer after five tries.
    let (url, tx, _) = offer(&app, &session, &bo).await;
    let code = code_of(&url);
    let wrong = if tx == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (s, body) = token(&app, &code, wrong).await;
        assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
    }
    let (s, body) = token(&app, &code, &tx).await;
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "burnt: {body}");
    let (s, body) = token(&app, "mbp_unknown", &tx).await;
    assert_eq!((s, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let r = app
        .client
        .post(format!("{}/oid4vci/token", app.base))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unsupported_grant_type");
    // The OB 3.0 API's grants share the endpoint and want a registered client.
    let r = app
        .client
        .post(format!("{}/oid4vci/token", app.base))
        .form(&[("grant_type", "authorization_code"), ("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");

    // Offers expire after ten minutes.
    let (url, tx, _) = offer(&app, &session, &bo).await;
    app.service.clock().advance(time::Duration::minutes(11));
    let (s, _) = token(&app, &code_of(&url), &tx).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The credential endpoint: no token is 401; a bad proof is invalid_proof and leaves the
    // token usable; without a proof the wallet gets the credential as issued.
    let session = learner_session(&app, &smtp, &sender, "bo@example.nl").await;
    let (url, tx, _) = offer(&app, &session, &bo).await;
    let (s, grant) = token(&app, &code_of(&url), &tx).await;
    assert_eq!(s, StatusCode::OK, "{grant}");
    let access = grant["access_token"].as_str().unwrap();
    let request = json!({"credential_configuration_id": "OpenBadgeCredential_ldp_vc", "proofs": {"jwt": ["a.b.c"]}});
    let r = credential_request(&app, None, &request).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    let r = credential_request(&app, Some(access), &request).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_proof");
    let r = credential_request(&app, Some(access), &json!({"credential_configuration_id": "Other"})).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "unknown_credential_configuration");
    let r =
        credential_request(&app, Some(access), &json!({"credential_configuration_id": "OpenBadgeCredential_ldp_vc"}))
            .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, original) = app.get(&format!("/credentials/{bo}"), None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["credentials"][0]["credential"], original);
    let r =
        credential_request(&app, Some(access), &json!({"credential_configuration_id": "OpenBadgeCredential_ldp_vc"}))
            .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "one credential per offer");

    // The library's own run without a proof gets the original too.
    let (url, tx, _) = offer(&app, &session, &bo).await;
    let got = wallet(&url, &tx, &["--no-proof"]).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(numbers_as_doubles(&got["response"]["credentials"][0]["credential"]), numbers_as_doubles(&original));
}
