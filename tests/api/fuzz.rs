//! Issue 11 §6: property-based fuzzing of every parser of untrusted input, through the real
//! HTTP API on both databases. Whatever arrives, the answer is never a 5xx (nor a dropped
//! connection from a panic), and every rejection is problem+json. Inputs come from `proptest`
//! strategies with a fixed seed and a bounded number of cases, so CI runs the same cases each
//! time (`METROBADGE_FUZZ_CASES` raises the count for a longer local run).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRng, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{ADMIN, TestApp, both};

both!(fuzz_untrusted_inputs_never_5xx);

fn cases() -> usize {
    std::env::var("METROBADGE_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(40)
}

/// `n` values of `strategy`, the same on every run.
fn samples<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let rng = TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..n).map(|_| strategy.new_tree(&mut runner).expect("strategy").current()).collect()
}

/// Any JSON value, a few levels deep, with the keys and strings credentials and rules use.
fn json_value() -> impl Strategy<Value = Value> {
    let words = prop_oneof![
        Just("type".to_string()),
        Just("@context".to_string()),
        Just("id".to_string()),
        Just("proof".to_string()),
        Just("nanomodule".to_string()),
        Just("all".to_string()),
        Just("at_least".to_string()),
        Just("within".to_string()),
        "[a-zA-Z_@:/.#-]{0,12}",
        "\\PC{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        words.clone().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(words.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A genuine document with one value somewhere replaced by anything.
fn mutate(doc: &Value, path: &[usize], with: Value) -> Value {
    fn go(v: &mut Value, path: &[usize], with: Value) {
        let Some((&i, rest)) = path.split_first() else {
            *v = with;
            return;
        };
        match v {
            Value::Object(m) if !m.is_empty() => {
                let key = m.keys().nth(i % m.len()).cloned().expect("non-empty");
                go(m.get_mut(&key).expect("key"), rest, with)
            }
            Value::Array(a) if !a.is_empty() => {
                let n = a.len();
                go(&mut a[i % n], rest, with)
            }
            other => *other = with,
        }
    }
    let mut d = doc.clone();
    go(&mut d, path, with);
    d
}

/// Flips, cuts and inserts bytes.
fn damage(bytes: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for &(at, op, val) in edits {
        if b.is_empty() {
            b.push(val);
            continue;
        }
        let i = at % b.len();
        match op % 3 {
            0 => b[i] ^= val.max(1),
            1 => b.truncate(i),
            _ => b.insert(i, val),
        }
    }
    b
}

/// Checks one answer: no 5xx, and a rejection is problem+json.
async fn check(what: &str, resp: reqwest::Result<reqwest::Response>) {
    let resp = resp.unwrap_or_else(|e| panic!("{what}: no answer ({e})"));
    let status = resp.status();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = resp.text().await.unwrap_or_default();
    assert!(!status.is_server_error(), "{what}: {status} {body}");
    if status.is_client_error() {
        assert!(ct.starts_with("application/problem+json"), "{what}: {status} {ct} {body}");
        let p: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what}: unreadable problem {body}"));
        assert!(p["type"].as_str().is_some_and(|t| t.starts_with("urn:metrobadge:problem:")), "{what}: {body}");
    }
}

async fn fuzz_untrusted_inputs_never_5xx(app: TestApp) {
    let n = cases();
    let issuer = app.issuer("Fuzz").await;
    let (_, m) = app
        .post(
            &format!("/api/v1/issuers/{issuer}/nanomodules"),
            ADMIN,
            json!({"name": "M", "description": "d", "criteria": {"narrative": "n"}, "duration_minutes": 60}),
        )
        .await;
    let module = m["id"].as_str().unwrap().to_string();
    let (_, r) = app
        .post(
            &format!("/api/v1/nanomodules/{module}/awards"),
            ADMIN,
            json!({"recipients": [{"identity": "f@example.nl"}]}),
        )
        .await;
    let badge = r["credentials"][0]["id"].as_str().unwrap().to_string();
    let vc: Value = app.client.get(&badge).send().await.unwrap().json().await.unwrap();
    let jwt = app.client.get(format!("{badge}.jwt")).send().await.unwrap().text().await.unwrap();
    let png = app.client.get(format!("{badge}/badge.png")).send().await.unwrap().bytes().await.unwrap().to_vec();
    let svg = app.client.get(format!("{badge}/badge.svg")).send().await.unwrap().bytes().await.unwrap().to_vec();
    let verify = format!("{}/verify", app.base);
    let post = |ct: &'static str, body: Vec<u8>| app.client.post(&verify).header("content-type", ct).body(body).send();

    // /verify, JSON: a genuine credential with anything anywhere, and anything at all.
    let edits = (prop::collection::vec(0usize..64, 0..6), json_value());
    for (path, with) in samples(edits, n) {
        let doc = mutate(&vc, &path, with);
        check("verify json (mutated)", post("application/json", doc.to_string().into_bytes()).await).await;
    }
    for doc in samples(json_value(), n) {
        check("verify json (any)", post("application/json", doc.to_string().into_bytes()).await).await;
    }
    // /verify, VC-JWT: damaged genuine tokens and token-shaped noise.
    let byte_edits = prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6);
    for e in samples(byte_edits.clone(), n) {
        check("verify jwt", post("text/plain", damage(jwt.as_bytes(), &e)).await).await;
    }
    for t in samples("[A-Za-z0-9_.=-]{0,200}", n) {
        check("verify jwt noise", post("application/vc+jwt", t.into_bytes()).await).await;
    }
    // /verify, baked images, raw and as a multipart upload.
    for e in samples(byte_edits.clone(), n) {
        check("verify png", post("image/png", damage(&png, &e)).await).await;
        check("verify svg", post("image/svg+xml", damage(&svg, &e)).await).await;
        let part = reqwest::multipart::Part::bytes(damage(&png, &e)).file_name("badge.png");
        let form = reqwest::multipart::Form::new().part("file", part).text("recipient", "f@example.nl");
        check("verify multipart", app.client.post(&verify).multipart(form).send().await).await;
    }
    for bytes in samples(prop::collection::vec(any::<u8>(), 0..400), n) {
        let boundary_body =
            [b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n".as_slice(), &bytes].concat();
        check(
            "verify multipart noise",
            app.client
                .post(&verify)
                .header("content-type", "multipart/form-data; boundary=x")
                .body(boundary_body)
                .send()
                .await,
        )
        .await;
    }
    // Awards as CSV (dry runs): delimiters, quotes, BOMs, control characters.
    let awards = format!("{}/api/v1/nanomodules/{module}/awards?dry_run=true", app.base);
    let csv = prop_oneof![
        "(identity|name|evidence_url|result_status|[a-z;,\t\"]{0,8})([,;\t](identity|name|narrative|x)){0,4}\n([a-z@.,;\t\"\n ]{0,40}\n){0,5}",
        "\\PC{0,200}",
    ];
    for text in samples(csv, n) {
        let body = if text.len() % 3 == 0 {
            [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat()
        } else {
            text.into_bytes()
        };
        check(
            "csv award",
            app.client.post(&awards).bearer_auth(ADMIN).header("content-type", "text/csv").body(body).send().await,
        )
        .await;
    }
    // Metro line rules.
    let (_, map) = app.post(&format!("/api/v1/issuers/{issuer}/metro-maps"), ADMIN, json!({"name": "Kaart"})).await;
    let lines = format!("{}/api/v1/issuers/{issuer}/metro-lines", app.base);
    for rule in samples(json_value(), n) {
        let line = json!({"name": "L", "metro_map": map["id"], "stations": [module], "rule": rule,
                          "certificate": {"name": "C", "description": "d"}});
        check("rule json", app.client.post(&lines).bearer_auth(ADMIN).json(&line).send().await).await;
    }
    // Image uploads.
    let image = format!("{}/api/v1/nanomodules/{module}/image", app.base);
    for e in samples(byte_edits, n) {
        let put = |ct: &'static str, body: Vec<u8>| {
            app.client.put(&image).bearer_auth(ADMIN).header("content-type", ct).body(body).send()
        };
        check("png upload", put("image/png", damage(&png, &e)).await).await;
        check("svg upload", put("image/svg+xml", damage(&svg, &e)).await).await;
    }
    // The service is still whole afterwards.
    assert_eq!(app.get("/health/ready", None).await.0, StatusCode::OK);
    app.stop().await;
}
