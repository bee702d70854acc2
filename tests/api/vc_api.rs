//! Credentials from other issuers, as employers receive them: VCDM 1.1 and 2.0, signed by the
//! reference JavaScript stack (not by our code), judged by `POST /credentials/verify` (W3C
//! VC-API) and `POST /verify` as the reference stack judges them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::awards::{module, recipients};
use crate::harness::{ADMIN, TestApp, both};
use crate::interop::{js_sign, js_verify};

both!(
    vc_api_verifies_other_issuers_credentials,
    vc_api_refuses_what_it_cannot_read,
    open_badges_on_vcdm_1_1,
    did_web_keys_and_status_lists_when_fetching_is_allowed,
    es256_jwts_per_issuer
);

const VC_V1: &str = "https://www.w3.org/2018/credentials/v1";
const VC_V2: &str = "https://www.w3.org/ns/credentials/v2";
const DI_V2: &str = "https://w3id.org/security/data-integrity/v2";

async fn vc_api(app: &TestApp, body: Value) -> (StatusCode, Option<String>, Value) {
    let r = app.client.post(format!("{}/credentials/verify", app.base)).json(&body).send().await.unwrap();
    let status = r.status();
    let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    (status, content_type, r.json().await.unwrap())
}

fn did_document(signed: &Value) -> Value {
    let did = signed["did"].as_str().unwrap();
    let vm = signed["verificationMethod"].as_str().unwrap();
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [{"id": vm, "type": "Multikey", "controller": did,
                                "publicKeyMultibase": signed["publicKeyMultibase"]}],
        "assertionMethod": [vm],
    })
}

fn failed_checks(body: &Value) -> Vec<String> {
    crate::verify::failed_checks(&body["results"])
}

async fn vc_api_verifies_other_issuers_credentials(app: TestApp) {
    let v1 = json!({
        "@context": [VC_V1, DI_V2], "type": ["VerifiableCredential"], "id": "urn:uuid:9f1c6e0a-0000-4000-8000-000000000001",
        "issuer": "ISSUER", "issuanceDate": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    });
    let v2 = json!({
        "@context": [VC_V2], "type": ["VerifiableCredential"], "id": "urn:uuid:9f1c6e0a-0000-4000-8000-000000000002",
        "issuer": "ISSUER", "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": [{"id": "did:example:learner"}, {"id": "did:example:colleague"}],
    });
    let mut expired = v1.clone();
    expired["expirationDate"] = json!("2025-01-01T00:00:00Z");
    let signed = js_sign(7, &[v1, v2, expired], None);
    let creds = signed["credentials"].as_array().unwrap().clone();
    let mut altered = creds[0].clone();
    altered["credentialSubject"]["id"] = json!("did:example:someone-else");

    let corpus = [
        ("vcdm-1.1", &creds[0], true),
        ("vcdm-2.0", &creds[1], true),
        ("expired", &creds[2], false),
        ("altered", &altered, false),
    ];
    let cases: Vec<Value> = corpus.iter().map(|(n, c, _)| json!({"name": n, "credential": c})).collect();
    let js = js_verify(&json!({"documents": {signed["did"].as_str().unwrap(): did_document(&signed)}, "cases": cases}));
    for ((name, credential, expected), (js_name, js_verified, js_errors)) in corpus.iter().zip(js) {
        assert_eq!(*name, js_name);
        assert_eq!(js_verified, *expected, "reference stack on {name}: {js_errors:?}");
        let (status, _, body) = vc_api(&app, json!({"verifiableCredential": credential, "options": {}})).await;
        assert_eq!(body["verified"], *expected, "ours on {name}: {body}");
        assert_eq!(status, if *expected { StatusCode::OK } else { StatusCode::BAD_REQUEST }, "{name}: {body}");
        if *expected {
            assert!(body["problemDetails"].as_array().unwrap().is_empty(), "{body}");
            assert!(body["checks"].as_array().unwrap().contains(&json!("proof")), "{body}");
        }
    }
    // The right check fails, and the schema is not forced on credentials that are not badges.
    let (_, _, body) = vc_api(&app, json!({"verifiableCredential": creds[2]})).await;
    assert_eq!(failed_checks(&body), ["validity"], "{body}");
    let (_, _, body) = vc_api(&app, json!({"verifiableCredential": altered})).await;
    assert_eq!(failed_checks(&body), ["proof"], "{body}");
    assert!(body["problemDetails"][0]["type"].as_str().unwrap().ends_with(":proof"), "{body}");
    let (_, _, body) = vc_api(&app, json!({"verifiableCredential": creds[0]})).await;
    let schema = body["results"].as_array().unwrap().iter().find(|c| c["check"] == "schema").unwrap().clone();
    assert!(schema["detail"].as_str().unwrap().starts_with("not applicable"), "{schema}");

    // Our own badge verifies through VC-API too, with the OB 3.0 schema applied.
    let (_, nm) = module(&app, None).await;
    let (_, resp) =
        app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, json!({"recipients": recipients(1)})).await;
    let url = resp["credentials"][0]["id"].as_str().unwrap();
    let ours: Value = app.client.get(url).send().await.unwrap().json().await.unwrap();
    let (status, _, body) = vc_api(&app, json!({"verifiableCredential": ours})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let schema = body["results"].as_array().unwrap().iter().find(|c| c["check"] == "schema").unwrap().clone();
    assert!(schema["detail"].as_str().unwrap().contains("JSON Schema"), "{schema}");
    // And as a VC-JWT string.
    let jwt = app.client.get(format!("{url}.jwt")).send().await.unwrap().text().await.unwrap();
    let (status, _, body) = vc_api(&app, json!({"verifiableCredential": jwt})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn vc_api_refuses_what_it_cannot_read(app: TestApp) {
    // A did:web issuer: its key would have to be fetched, which is off by default. That is
    // "could not check" (a 503 problem without Retry-After: nothing is down), never "invalid".
    let unsigned = json!({
        "@context": [VC_V2], "type": ["VerifiableCredential"], "issuer": "ISSUER",
        "validFrom": "2024-01-01T00:00:00Z", "credentialSubject": {"id": "did:example:learner"},
    });
    let signed =
        js_sign(8, std::slice::from_ref(&unsigned), Some(("did:web:issuer.example", "did:web:issuer.example#key-1")));
    let (status, content_type, body) = vc_api(&app, json!({"verifiableCredential": signed["credentials"][0]})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(body["type"], "urn:metrobadge:problem:could-not-check");
    assert_eq!(body["verified"], false);
    assert!(body["detail"].as_str().unwrap().contains("not available"), "{body}");
    let r = app
        .client
        .post(format!("{}/credentials/verify", app.base))
        .json(&json!({"verifiableCredential": signed["credentials"][0]}))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("retry-after").is_none(), "nothing is down");

    // A context we do not hold: could not check either.
    let mut custom = signed["credentials"][0].clone();
    custom["@context"].as_array_mut().unwrap().push(json!("https://example.org/our-own-terms.jsonld"));
    let (status, _, body) = vc_api(&app, json!({"verifiableCredential": custom})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");

    // Not a credential request at all: 400 problems naming the field.
    for bad in [json!({}), json!({"verifiableCredential": 5}), json!({"verifiableCredential": ""})] {
        let (status, content_type, body) = vc_api(&app, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        assert!(body["detail"].as_str().unwrap().contains("verifiableCredential"), "{body}");
    }
    // A credential without a data model context is invalid (400), not a crash.
    let (status, _, body) = vc_api(&app, json!({"verifiableCredential": {"type": ["VerifiableCredential"]}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["verified"], false);
    let r = app
        .client
        .post(format!("{}/credentials/verify", app.base))
        .body("{}")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn open_badges_on_vcdm_1_1(app: TestApp) {
    // An OB 3.0 credential some issuers still sign on VCDM 1.1: /verify reads it, and says the
    // OB 3.0 JSON Schema (written for VCDM 2.0) does not apply.
    let mut doc: Value = serde_json::from_str(include_str!("../vectors/ob-v3p0/unsigned-credential.json")).unwrap();
    doc["@context"] = json!([VC_V1, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", DI_V2]);
    doc["issuer"]["id"] = json!("ISSUER");
    let o = doc.as_object_mut().unwrap();
    let from = o.remove("validFrom").unwrap();
    o.insert("issuanceDate".into(), from);
    if let Some(until) = o.remove("validUntil") {
        o.insert("expirationDate".into(), until);
    }
    o.remove("credentialStatus");
    let signed = js_sign(9, &[doc], None);
    let vc = &signed["credentials"][0];
    let js = js_verify(&json!({"documents": {signed["did"].as_str().unwrap(): did_document(&signed)},
                               "cases": [{"name": "ob-on-1.1", "credential": vc, "now": "2024-06-01T00:00:00Z"}]}));
    assert!(js[0].1, "reference stack: {:?}", js[0].2);
    let r = app.client.post(format!("{}/verify", app.base)).json(&json!({"credential": vc})).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    let check = |name: &str| report["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).unwrap().clone();
    assert_eq!(check("schema")["detail"].as_str().unwrap().split(':').next(), Some("not applicable"), "{report}");
    assert_eq!(check("proof")["passed"], true, "{report}");
    assert_eq!(check("json-ld")["passed"], true, "{report}");
    let validity = check("validity");
    // The official vector's window may have passed by now; whichever, it was read from the
    // VCDM 1.1 terms rather than reported missing.
    assert!(!validity["detail"].as_str().unwrap().contains("missing"), "{report}");
}

/// A CA and a `localhost` certificate it signed, made with the openssl command: (dir, CA PEM).
fn test_pki() -> (std::path::PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("mb_pki_{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let steps: Vec<Vec<&str>> = vec![
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=metrobadge test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat(),
        [&["req"][..], &ec, &["-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]].concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ],
    ];
    for args in steps {
        let out =
            std::process::Command::new("openssl").args(&args).current_dir(&dir).output().expect("openssl is installed");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    (dir, ca)
}

/// A real HTTPS server (Python's) serving `root`; it records each requested path.
struct HttpsServer {
    child: std::process::Child,
    port: u16,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HttpsServer {
    fn start(root: &std::path::Path, pki: &std::path::Path) -> HttpsServer {
        use std::io::BufRead;
        let script = crate::interop::interop_dir().join("https_server.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(root)
            .arg(pki.join("leaf.pem"))
            .arg(pki.join("leaf.key"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is installed");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let port: u16 = lines.next().unwrap().unwrap().trim().parse().unwrap();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                seen.lock().unwrap().push(line);
            }
        });
        HttpsServer { child, port, requests }
    }

    fn count(&self, path: &str) -> usize {
        self.requests.lock().unwrap().iter().filter(|l| l.as_str() == format!("GET {path}")).count()
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fetcher(mode: metrobadge::fetch::FetchMode, ca: &[u8], local: bool, offline: bool) -> metrobadge::fetch::Fetcher {
    metrobadge::fetch::Fetcher::new(metrobadge::fetch::FetchPolicy {
        mode,
        offline,
        extra_roots_pem: Some(ca.to_vec()),
        allow_private_addresses: local,
    })
    .unwrap()
}

async fn did_web_keys_and_status_lists_when_fetching_is_allowed(app: TestApp) {
    use metrobadge::credential::status_list;
    use metrobadge::fetch::FetchMode;
    let (pki, ca) = test_pki();
    let root = pki.join("site");
    std::fs::create_dir_all(root.join(".well-known")).unwrap();
    std::fs::create_dir_all(root.join("status")).unwrap();
    let server = HttpsServer::start(&root, &pki);
    let origin = format!("https://localhost:{}", server.port);
    let did = format!("did:web:localhost%3A{}", server.port);
    let vm = format!("{did}#key-1");

    // The issuer's lists and credentials, all signed by the reference stack with the did:web key.
    let list = |n: u8, set: usize| {
        json!({"@context": [VC_V2], "id": format!("{origin}/status/{n}"),
               "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": "ISSUER",
               "validFrom": "2024-01-01T00:00:00Z",
               "credentialSubject": {"id": format!("{origin}/status/{n}#list"), "type": "BitstringStatusList",
                                     "statusPurpose": "revocation", "encodedList": status_list::encode(131_072, [set])}})
    };
    let credential = |list: u8, index: &str| {
        json!({"@context": [VC_V2], "type": ["VerifiableCredential"], "issuer": "ISSUER",
               "validFrom": "2024-01-01T00:00:00Z", "credentialSubject": {"id": "did:example:learner"},
               "credentialStatus": {"id": format!("{origin}/status/{list}#{index}"), "type": "BitstringStatusListEntry",
                                    "statusPurpose": "revocation", "statusListIndex": index,
                                    "statusListCredential": format!("{origin}/status/{list}")}})
    };
    // And an Open Badge of this issuer (the official OB 3.0 vector), as an employer receives a link to it.
    let mut badge: Value = serde_json::from_str(include_str!("../vectors/ob-v3p0/unsigned-credential.json")).unwrap();
    badge["issuer"]["id"] = json!("ISSUER");
    badge.as_object_mut().unwrap().remove("credentialStatus");
    let signed = js_sign(
        11,
        &[list(1, 5), list(2, 5), credential(1, "3"), credential(1, "5"), credential(2, "3"), badge],
        Some((&did, &vm)),
    );
    let docs = signed["credentials"].as_array().unwrap().clone();
    let did_doc = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [{"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": signed["publicKeyMultibase"]}],
        "assertionMethod": [vm],
    });
    std::fs::write(root.join(".well-known/did.json"), did_doc.to_string()).unwrap();
    std::fs::write(root.join("status/1"), docs[0].to_string()).unwrap();
    // List 2 was altered after signing (bit 3 set too): its signature no longer holds.
    let mut forged = docs[1].clone();
    forged["credentialSubject"]["encodedList"] = json!(status_list::encode(131_072, [3, 5]));
    std::fs::write(root.join("status/2"), forged.to_string()).unwrap();
    std::fs::write(root.join("badge.json"), docs[5].to_string()).unwrap();
    let badge_link = json!({"credential": format!("{origin}/badge.json")});
    let (good, revoked, forged_status) = (&docs[2], &docs[3], &docs[4]);

    // The reference stack agrees on the good and the revoked one.
    let js = js_verify(&json!({"documents": {did.clone(): did_doc, format!("{origin}/status/1"): docs[0]},
        "cases": [{"name": "good", "credential": good}, {"name": "revoked", "credential": revoked}]}));
    assert_eq!(js.iter().map(|r| r.1).collect::<Vec<_>>(), [true, false], "{js:?}");

    // SSRF protection: fetching on for any host, as in production, will not connect to an
    // address on this machine ("localhost" resolves to loopback).
    let production = app.start_with(|s| s.with_fetcher(fetcher(FetchMode::On, &ca, false, false))).await;
    let (status, _, body) = vc_api(&production, json!({"verifiableCredential": good})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("not a public address"), "{body}");
    let r = production.client.post(format!("{}/verify", production.base)).json(&badge_link).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["outcome"], "could_not_check", "a pasted link is fetched under the same rules: {report}");
    // An allowlist that does not name the host: not fetched either.
    let elsewhere = app
        .start_with(|s| s.with_fetcher(fetcher(FetchMode::Allowlist(vec!["issuer.example".into()]), &ca, true, false)))
        .await;
    let (status, _, body) = vc_api(&elsewhere, json!({"verifiableCredential": good})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("allowlist"), "{body}");
    assert_eq!(server.count("/.well-known/did.json"), 0, "nothing was fetched so far");

    // Allowed: key and status list fetched over HTTPS, the list's own signature checked.
    let allowed = app
        .start_with(|s| s.with_fetcher(fetcher(FetchMode::Allowlist(vec!["localhost".into()]), &ca, true, false)))
        .await;
    let (status, _, body) = vc_api(&allowed, json!({"verifiableCredential": good})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["checks"].as_array().unwrap().contains(&json!("status")), "{body}");
    let (status, _, body) = vc_api(&allowed, json!({"verifiableCredential": revoked})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(failed_checks(&body), ["status"], "{body}");
    let (status, _, body) = vc_api(&allowed, json!({"verifiableCredential": forged_status})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["errors"][0].as_str().unwrap().contains("signature"), "{body}");
    // A pasted link to another issuer's badge is fetched and verified.
    let r = allowed.client.post(format!("{}/verify", allowed.base)).json(&badge_link).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["verified"], true, "{report}");
    // The Open Badges verifier uses the same keys.
    let r = allowed
        .client
        .post(format!("{}/verify", allowed.base))
        .json(&json!({"credential": revoked}))
        .send()
        .await
        .unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["credential"]["status"], "revoked", "{report}");
    // Fetched once, then served from the stored copy (for its cache lifetime).
    assert_eq!(server.count("/.well-known/did.json"), 1, "{:?}", server.requests.lock().unwrap());
    assert_eq!(server.count("/status/1"), 1);

    // A site that does not answer is "could not check", and is not asked again for a minute (a
    // flood of such credentials cannot keep verification waiting on it).
    let dead = js_sign(
        13,
        std::slice::from_ref(&credential(1, "3")),
        Some(("did:web:localhost%3A1", "did:web:localhost%3A1#key-1")),
    );
    let (status, _, first) = vc_api(&allowed, json!({"verifiableCredential": dead["credentials"][0]})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{first}");
    assert!(first["detail"].as_str().unwrap().contains("could not fetch"), "{first}");
    let (_, _, again) = vc_api(&allowed, json!({"verifiableCredential": dead["credentials"][0]})).await;
    assert!(again["detail"].as_str().unwrap().contains("not asked again"), "{again}");

    // Offline: the stored copies answer with the issuer's server gone; what was never fetched is
    // "could not check".
    drop(server);
    let offline = app.start_with(|s| s.with_fetcher(fetcher(FetchMode::Off, &ca, true, true))).await;
    let (status, _, body) = vc_api(&offline, json!({"verifiableCredential": good})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stranger = js_sign(
        12,
        std::slice::from_ref(&credential(1, "3")),
        Some(("did:web:localhost%3A1", "did:web:localhost%3A1#key-1")),
    );
    let (status, _, body) = vc_api(&offline, json!({"verifiableCredential": stranger["credentials"][0]})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("offline"), "{body}");
    for instance in [production, elsewhere, allowed, offline] {
        instance.stop().await;
    }
    let _ = std::fs::remove_dir_all(&pki);
}

/// An issuer that chose ES256: its VC-JWTs are signed with a P-256 key of its own, published in
/// its JWKS and controller document; `jose` (not our code) verifies them; our verifiers agree;
/// switching back to EdDSA keeps the old JWTs verifiable.
async fn es256_jwts_per_issuer(app: TestApp) {
    let (issuer, nm) = module(&app, None).await;
    let (status, body) = app.patch(&format!("/api/v1/issuers/{issuer}"), ADMIN, json!({"jwtAlgorithm": "RS512"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("jwtAlgorithm"), "{body}");
    let (status, body) = app.patch(&format!("/api/v1/issuers/{issuer}"), ADMIN, json!({"jwtAlgorithm": "ES256"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["jwtAlgorithm"], "ES256");
    let (_, keys) = app.get(&format!("/api/v1/issuers/{issuer}/keys"), Some(ADMIN)).await;
    let p256: Vec<&Value> = keys["keys"].as_array().unwrap().iter().filter(|k| k["algorithm"] == "P-256").collect();
    assert_eq!(p256.len(), 1, "{keys}");
    assert!(p256[0]["public_key_multibase"].as_str().unwrap().starts_with("zDn"), "{keys}");

    let (_, resp) =
        app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, json!({"recipients": recipients(1)})).await;
    let url = resp["credentials"][0]["id"].as_str().unwrap().to_string();
    let jwt = app.client.get(format!("{url}.jwt")).send().await.unwrap().text().await.unwrap();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let kid = header.kid.unwrap();
    assert!(kid.ends_with(p256[0]["public_key_multibase"].as_str().unwrap()), "{kid}");
    // The embedded proof is still eddsa-rdfc-2022 by the Ed25519 key.
    let vc: Value = app.client.get(&url).send().await.unwrap().json().await.unwrap();
    assert!(vc["proof"][0]["verificationMethod"].as_str().unwrap().contains("#z6Mk"));

    // Published: as an EC JWK in the JWKS and as a Multikey in the controller document.
    let (_, jwks) = app.get(&format!("/issuers/{issuer}/jwks.json"), None).await;
    let ec = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the kid is in the JWKS")
        .clone();
    assert_eq!(
        (ec["kty"].as_str(), ec["crv"].as_str(), ec["alg"].as_str()),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    let (_, profile) = app.get(&format!("/issuers/{issuer}"), None).await;
    assert!(
        profile["verificationMethod"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == kid.as_str() && m["type"] == "Multikey"),
        "{profile}"
    );
    assert!(profile["assertionMethod"].as_array().unwrap().contains(&json!(kid)), "{profile}");

    // jose verifies it with the published JWK; both our verifiers agree.
    let js = js_verify(&json!({"documents": {}, "cases": [{"name": "es256", "jwt": jwt, "jwks": jwks}]}));
    assert!(js[0].1, "jose: {:?}", js[0].2);
    let r = app.client.post(format!("{}/verify", app.base)).json(&json!({"credential": jwt})).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["verified"], true, "{report}");
    let proof = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "proof").unwrap().clone();
    assert!(proof["detail"].as_str().unwrap().contains("ES256"), "{proof}");
    let (status, _, body) = vc_api(&app, json!({"verifiableCredential": jwt})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A token that claims EdDSA under the P-256 kid is refused, whatever its signature.
    let parts: Vec<&str> = jwt.split('.').collect();
    let forged_header = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        b64.encode(serde_json::to_vec(&json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"})).unwrap())
    };
    let forged = format!("{forged_header}.{}.{}", parts[1], parts[2]);
    let (status, _, body) = vc_api(&app, json!({"verifiableCredential": forged})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Rotation renews both keys; back to EdDSA retires the P-256 key, which stays published.
    let (status, _) = app.post(&format!("/api/v1/issuers/{issuer}/keys/rotate"), ADMIN, json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, keys) = app.get(&format!("/api/v1/issuers/{issuer}/keys"), Some(ADMIN)).await;
    let active_p256 = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["algorithm"] == "P-256" && k["status"] == "active")
        .count();
    assert_eq!(active_p256, 1, "{keys}");
    app.patch(&format!("/api/v1/issuers/{issuer}"), ADMIN, json!({"jwtAlgorithm": "EdDSA"})).await;
    let (_, keys) = app.get(&format!("/api/v1/issuers/{issuer}/keys"), Some(ADMIN)).await;
    assert!(
        keys["keys"].as_array().unwrap().iter().all(|k| k["algorithm"] != "P-256" || k["status"] == "retired"),
        "{keys}"
    );
    let next = json!([{"identity": "someone.else@example.nl", "name": "Someone Else"}]);
    let (_, resp) = app.post(&format!("/api/v1/nanomodules/{nm}/awards"), ADMIN, json!({"recipients": next})).await;
    let later_url = format!("{}.jwt", resp["credentials"][0]["id"].as_str().unwrap());
    let later = app.client.get(later_url).send().await.unwrap().text().await.unwrap();
    assert_eq!(jsonwebtoken::decode_header(&later).unwrap().alg, jsonwebtoken::Algorithm::EdDSA);
    let (status, _, body) = vc_api(&app, json!({"verifiableCredential": jwt})).await;
    assert_eq!(status, StatusCode::OK, "the old ES256 JWT still verifies: {body}");
}
