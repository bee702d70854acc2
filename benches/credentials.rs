//! `cargo bench`: hot-path rates on this machine, single core unless stated, each also as a
//! ratio to the raw Ed25519 signing cost measured in the same run.
//!
//! Reports: raw Ed25519 signs/s; RDFC canonicalise+sign credentials/s (general JSON-LD path and
//! the compiled fast path); VC-JWT credentials/s; and an end-to-end 10 000-recipient cohort
//! award through HTTP on SQLite.

use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use metrobadge::credential::{canon, data_integrity, issue, jwt::JwtSigner};
use serde_json::{Value, json};

fn rate(label: &str, n: usize, elapsed: Duration, base: Option<f64>) -> f64 {
    let per_sec = n as f64 / elapsed.as_secs_f64();
    let ratio = base.map(|b| format!("  ({:.1}x the raw Ed25519 sign cost)", b / per_sec)).unwrap_or_default();
    println!("{label:<58} {per_sec:>12.0} /s{ratio}");
    per_sec
}

/// Runs `f` repeatedly for about `budget` and returns (iterations, elapsed).
fn measure(budget: Duration, mut f: impl FnMut()) -> (usize, Duration) {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    (n, start.elapsed())
}

/// A typical ~2 KB nanomodule badge.
fn sample(i: usize) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"],
        "id": format!("https://badges.example.nl/credentials/{i}"),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Smeren van lagers",
        "issuer": {"id": "https://badges.example.nl/issuers/1", "type": ["Profile"], "name": "Techniek Twente", "url": "https://techniektwente.example",
                   "otherIdentifier": [{"type": "IdentifierEntry", "identifier": "12345678", "identifierType": "ext:KvK"}]},
        "validFrom": "2026-11-22T10:00:00Z",
        "validUntil": "2028-11-22T10:00:00Z",
        "awardedDate": "2026-11-22T10:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "hashed": true, "identityHash": format!("sha256${:064x}", i), "identityType": "emailAddress", "salt": "9f86d081884c7d65"}],
            "achievement": {
                "id": "https://badges.example.nl/nanomodules/7/versions/2", "type": ["Achievement"], "name": "Smeren van lagers",
                "description": "Lagers smeren volgens een smeerplan, met aandacht voor veiligheid en vervuiling.",
                "criteria": {"narrative": "De deelnemer heeft een smeerplan gemaakt en toegepast op een machine in het eigen bedrijf."},
                "image": {"id": "https://badges.example.nl/nanomodules/7/versions/2/image.svg", "type": "Image", "caption": "Smeren van lagers"},
                "achievementType": "Course", "creditsAvailable": 3.0, "version": "2", "inLanguage": "nl", "tag": ["onderhoud", "smart maintenance"],
                "creator": {"id": "https://badges.example.nl/issuers/1", "type": ["Profile"], "name": "Techniek Twente"},
                "alignment": [
                    {"type": ["Alignment"], "targetName": "Smeren", "targetUrl": "http://data.europa.eu/esco/skill/0c9f4b2d", "targetFramework": "ESCO", "targetType": "ceasn:Competency"},
                    {"type": ["Alignment"], "targetName": "NLQF level 2", "targetUrl": "https://www.nlqf.nl/", "targetCode": "2", "targetFramework": "NLQF", "targetType": "ext:NLQF"}
                ]
            },
            "creditsEarned": 3.0,
            "activityEndDate": "2026-11-20T00:00:00Z",
            "result": [{"type": ["Result"], "status": "Completed", "value": "goed"}]
        },
        "evidence": [{"type": ["Evidence"], "id": "https://portfolio.example/learner/1", "name": "Smeerplan"}],
        "credentialSchema": [{"id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json", "type": "1EdTechJsonSchemaValidator2019"}],
        "credentialStatus": {"id": format!("https://badges.example.nl/status/1#{i}"), "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                             "statusListIndex": i.to_string(), "statusListCredential": "https://badges.example.nl/status/1"}
    })
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "metrobadge::service=info".into()))
        .with_writer(std::io::stderr)
        .init();
    let budget = Duration::from_secs(3);
    let key = SigningKey::from_bytes(&[42u8; 32]);
    let vm = "https://badges.example.nl/issuers/1#z6Mk";
    let docs: Vec<Value> = (0..512).map(sample).collect();
    println!(
        "metrobadge benchmarks (release, one core unless stated); sample credential {} bytes",
        docs[0].to_string().len()
    );

    let msg = [7u8; 64];
    let (n, t) = measure(budget, || {
        std::hint::black_box(key.sign(std::hint::black_box(&msg)));
    });
    let raw = rate("raw Ed25519 sign (64-byte input)", n, t, None);

    let mut i = 0;
    let (n, t) = measure(budget, || {
        let d = &docs[i % docs.len()];
        i += 1;
        std::hint::black_box(canon::canonicalize_general(d).unwrap());
    });
    rate("RDFC canonicalise, general JSON-LD path (document only)", n, t, Some(raw));

    let mut i = 0;
    let (n, t) = measure(budget, || {
        let d = &docs[i % docs.len()];
        i += 1;
        std::hint::black_box(canon::canonicalize(d).unwrap());
    });
    rate("RDFC canonicalise, fast path (document only)", n, t, Some(raw));

    let (n, t) = measure(budget, || {
        std::hint::black_box(data_integrity::sign(&docs[0], &key, vm, "2026-11-22T10:00:00Z").unwrap());
    });
    rate("eddsa-rdfc-2022 sign, one credential at a time", n, t, Some(raw));

    let batch = &docs[..256];
    let (n, t) = measure(budget, || {
        std::hint::black_box(
            issue::sign_batch(batch, &key, vm, "2026-11-22T10:00:00Z", &JwtSigner::new(&key, vm)).unwrap(),
        );
    });
    rate("issue batch: canonicalise + sign + VC-JWT + serialise", n * batch.len(), t, Some(raw));

    // EdDSA (the default), and ES256 for an issuer that chose P-256 for its VC-JWTs.
    let p256 = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let signers =
        [("VC-JWT sign", JwtSigner::new(&key, vm)), ("VC-JWT sign, ES256", JwtSigner::es256(&p256, vm).unwrap())];
    for (label, signer) in signers {
        let mut i = 0;
        let (n, t) = measure(budget, || {
            let d = &docs[i % docs.len()];
            i += 1;
            std::hint::black_box(signer.sign(d).unwrap());
        });
        rate(label, n, t, Some(raw));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(end_to_end(raw));
}

/// A 10 000-recipient cohort award through HTTP on a fresh SQLite database (both cores), then
/// verification: in-process on one core, and `/verify` over HTTP on both cores.
async fn end_to_end(raw: f64) {
    let dir = std::env::temp_dir().join(format!("mb_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = metrobadge::store::Store::connect(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // One client address sends everything here: no per-client rate limit.
    let limits = metrobadge::http::limits::Limits { verify_per_minute: u32::MAX, ..Default::default() };
    let service = metrobadge::service::Service::new(
        store.clone(),
        metrobadge::master_key::MasterKey::generate(),
        &base,
        Some("bench"),
    );
    let app = metrobadge::App::with_limits(service, 16 * 1024 * 1024, &limits);
    let service = app.service.clone();
    tokio::spawn(app.serve(listener, std::future::pending()));
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| client.post(format!("{base}{path}")).bearer_auth("bench").json(&body).send();
    let issuer: Value = post("/api/v1/issuers".into(), json!({"name": "Bench"})).await.unwrap().json().await.unwrap();
    let nm: Value = post(
        format!("/api/v1/issuers/{}/nanomodules", issuer["id"].as_str().unwrap()),
        json!({"name": "Smeren", "description": "Lagers smeren", "criteria": {"narrative": "Smeerplan"}, "duration_minutes": 180, "validity_days": 730}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let recipients: Vec<Value> = (0..10_000)
        .map(|i| json!({"identity": format!("learner{i}@example.nl"), "name": format!("Learner {i}")}))
        .collect();
    let start = Instant::now();
    let resp =
        post(format!("/api/v1/nanomodules/{}/awards", nm["id"].as_str().unwrap()), json!({"recipients": recipients}))
            .await
            .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(resp.status(), 201);
    let awarded: Value = resp.json().await.unwrap();
    println!("end to end: 10 000-recipient cohort award over HTTP on SQLite: {:.2} s", elapsed.as_secs_f64());
    rate("end to end award (credentials, 2 cores)", 10_000, elapsed, Some(raw));

    // Verification of our own credentials (full checks: JSON-LD, schema, proof, key, status).
    let mut creds = Vec::new();
    for c in awarded["credentials"].as_array().unwrap().iter().take(200) {
        let text = client.get(c["id"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
        creds.push(serde_json::from_str::<Value>(&text).unwrap());
    }
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(3) {
        let report =
            service.verify(metrobadge::credential::verify::Input::Json(creds[n % creds.len()].clone()), None).await;
        assert!(report.verified);
        n += 1;
    }
    rate("verify eddsa-rdfc-2022 credential in-process, all checks", n, start.elapsed(), Some(raw));

    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(2) {
        let c = &creds[n % creds.len()]["credentialStatus"];
        std::hint::black_box(metrobadge::credential::verify::Resolver::status(&service, c, "x").await);
        n += 1;
    }
    rate("status lookup (one indexed read, SQLite)", n, start.elapsed(), Some(raw));

    let total = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..16 {
        let (client, base, creds, total) = (client.clone(), base.clone(), creds.clone(), total.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while start.elapsed() < Duration::from_secs(4) {
                let r = client.post(format!("{base}/verify")).json(&creds[i % creds.len()]).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                i += 16;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    rate(
        "POST /verify over HTTP (16 clients, 2 cores incl. client)",
        total.load(std::sync::atomic::Ordering::Relaxed),
        start.elapsed(),
        Some(raw),
    );

    // Stacking: 1 000 learners who hold the first module earn the second, completing a line.
    // Above 200 recipients the award answers first and the certificates follow in the
    // background; the clock stops when the queue is empty.
    let issuer_id = issuer["id"].as_str().unwrap();
    let second: Value = post(
        format!("/api/v1/issuers/{issuer_id}/nanomodules"),
        json!({"name": "Trillingen", "description": "Trillingen meten", "criteria": {"narrative": "Meting"}, "duration_minutes": 120}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let map: Value = post(format!("/api/v1/issuers/{issuer_id}/metro-maps"), json!({"name": "Bench"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let line = post(
        format!("/api/v1/issuers/{issuer_id}/metro-lines"),
        json!({"name": "Onderhoud", "metro_map": map["id"], "colour": "#aa3300", "stations": [nm["id"], second["id"]],
               "certificate": {"name": "Deelcertificaat", "description": "d"}}),
    )
    .await
    .unwrap();
    assert_eq!(line.status(), 201);
    let cohort: Vec<Value> = (0..1_000).map(|i| json!({"identity": format!("learner{i}@example.nl")})).collect();
    let start = Instant::now();
    let resp =
        post(format!("/api/v1/nanomodules/{}/awards", second["id"].as_str().unwrap()), json!({"recipients": cohort}))
            .await
            .unwrap();
    assert_eq!(resp.status(), 201);
    while service.queued_jobs().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = start.elapsed();
    let issued = store
        .query_text("SELECT CAST(COUNT(*) AS TEXT) FROM credential WHERE metro_line_id IS NOT NULL")
        .await
        .unwrap();
    assert_eq!(issued, ["1000"]);
    rate("stacking: award of the last module + certificate issued, per learner (SQLite)", 1_000, elapsed, Some(raw));
    let _ = std::fs::remove_dir_all(&dir);
}
