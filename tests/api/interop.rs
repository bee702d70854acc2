//! Interoperability: credentials we issue verify with the reference JavaScript stack
//! (@digitalbazaar/vc + eddsa-rdfc-2022 cryptosuite; jose for VC-JWT), offline, and an altered
//! credential fails there too.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::awards::{module, recipients};
use crate::harness::{ADMIN, TestApp, both};

both!(reference_stack_verifies_our_credentials);

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Installs the pinned npm packages (committed lockfile) the first time a test needs them.
pub fn ensure_npm() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    let installed = ["@digitalbazaar/vc", "playwright-core", "axe-core", "jsqr", "pngjs", "@openid4vc/openid4vci"]
        .iter()
        .all(|p| interop_dir().join("node_modules").join(p).exists());
    if *done || installed {
        *done = true;
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(interop_dir())
        .status()
        .expect("npm is installed");
    assert!(status.success(), "npm ci in tests/interop failed");
    *done = true;
}

/// Runs one of the interop scripts on `input` (written to a file) and returns its stdout.
pub fn run_node(script: &str, input: &Value) -> String {
    ensure_npm();
    let file = std::env::temp_dir().join(format!("mb_interop_{}.json", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, serde_json::to_vec(input).unwrap()).unwrap();
    let out = Command::new("node").arg(interop_dir().join(script)).arg(&file).output().expect("node is installed");
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "{script} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the JavaScript verifier on `input` and returns name → (verified, errors).
pub fn js_verify(input: &Value) -> Vec<(String, bool, Vec<String>)> {
    run_node("verify.mjs", input)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let errors =
                v["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap_or_default().to_string()).collect();
            (v["name"].as_str().unwrap().to_string(), v["verified"].as_bool().unwrap(), errors)
        })
        .collect()
}

/// Signs `credentials` with the reference stack as another issuer would (did:key from `seed`,
/// or the given controller and verification method): {"did", "verificationMethod",
/// "publicKeyMultibase", "credentials"}.
pub fn js_sign(seed: u8, credentials: &[Value], controller: Option<(&str, &str)>) -> Value {
    let mut input = json!({"seed": hex::encode([seed; 32]), "credentials": credentials});
    if let Some((did, vm)) = controller {
        input["controller"] = json!(did);
        input["verificationMethod"] = json!(vm);
    }
    serde_json::from_str(&run_node("sign.mjs", &input)).unwrap()
}

/// Changes one character of a string value deep inside a credential.
fn alter_one_char(vc: &Value) -> Value {
    let mut bad = vc.clone();
    let name = bad["credentialSubject"]["achievement"]["name"].as_str().unwrap().to_string();
    let mut chars: Vec<char> = name.chars().collect();
    chars[0] = if chars[0] == 'X' { 'Y' } else { 'X' };
    bad["credentialSubject"]["achievement"]["name"] = json!(chars.into_iter().collect::<String>());
    bad
}

async fn reference_stack_verifies_our_credentials(app: TestApp) {
    let (issuer, nm) = module(&app, Some(365)).await;
    let mut list = recipients(2).as_array().unwrap().clone();
    list.push(json!({"identity": "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi", "identity_type": "did",
        "evidence": [{"id": "https://portfolio.example/1", "narrative": "Plan"}], "result": {"status": "Completed", "value": "8"}}));
    let (s, mut resp) = app
        .post(
            &format!("/api/v1/nanomodules/{nm}/awards"),
            ADMIN,
            json!({"recipients": list, "session": {"date": "2026-11-20"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{resp}");
    // A module whose study load is not a whole number of hours (200 minutes = 3.333… h): the
    // double's canonical lexical form must agree between implementations.
    let (_, odd) = app
        .post(&format!("/api/v1/issuers/{issuer}/nanomodules"), ADMIN,
            json!({"name": "Trillingen meten", "description": "d", "criteria": {"narrative": "n"}, "duration_minutes": 200}))
        .await;
    let (s, more) = app
        .post(
            &format!("/api/v1/nanomodules/{}/awards", odd["id"].as_str().unwrap()),
            ADMIN,
            json!({"recipients": recipients(1)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{more}");
    resp["credentials"].as_array_mut().unwrap().extend(more["credentials"].as_array().unwrap().iter().cloned());
    // Rotate after issuing: old credentials must still verify against the published old key.
    app.post(&format!("/api/v1/issuers/{issuer}/keys/rotate"), ADMIN, json!({})).await;

    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    let (_, jwks) = app.get(&format!("/issuers/{issuer}/jwks.json"), None).await;
    let mut cases = Vec::new();
    for (i, c) in resp["credentials"].as_array().unwrap().iter().enumerate() {
        let url = c["id"].as_str().unwrap();
        let text = app.client.get(url).send().await.unwrap().text().await.unwrap();
        let vc: Value = serde_json::from_str(&text).unwrap();
        cases.push(json!({"name": format!("good-{i}"), "credential": vc}));
        cases.push(json!({"name": format!("altered-{i}"), "credential": alter_one_char(&vc)}));
        let jwt = app.client.get(format!("{url}.jwt")).send().await.unwrap().text().await.unwrap();
        cases.push(json!({"name": format!("jwt-{i}"), "jwt": jwt, "jwks": jwks, "expect_jti": url, "expect_iss": profile["id"]}));
        let mut parts: Vec<String> = jwt.split('.').map(String::from).collect();
        let mut payload: Vec<char> = parts[1].chars().collect();
        payload[10] = if payload[10] == 'A' { 'B' } else { 'A' };
        parts[1] = payload.into_iter().collect();
        cases.push(json!({"name": format!("jwt-altered-{i}"), "jwt": parts.join("."), "jwks": jwks, "expect_jti": url, "expect_iss": profile["id"]}));
    }
    let input = json!({"documents": {profile["id"].as_str().unwrap(): profile}, "cases": cases});
    let results = js_verify(&input);
    assert_eq!(results.len(), 16);
    for (name, verified, errors) in results {
        let expected = !name.contains("altered");
        assert_eq!(verified, expected, "{name}: {errors:?}");
    }
    app.stop().await;
}
