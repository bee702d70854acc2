//! `cargo bench --bench abuse`: what hostile input costs. The worst time to reject or verify
//! crafted credentials of at most 1 MB (in-process), ordinary verification in the same run as a
//! rate and a ratio to raw Ed25519 signing, and `/health` latency while 16 clients flood
//! `POST /verify` with the crafted 83 KB credential. Uses only APIs that also existed before
//! the limits, so the same file measures the code before and after (docs/performance.md).

mod common;
use common::raw_sign_rate;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn main() {
    let raw = raw_sign_rate();
    println!("{:<62} {raw:>10.0} /s", "raw Ed25519 sign of a 64-byte input");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run(raw));
}

/// The crafted inputs, each at most 1 MB, built on a genuine credential.
fn crafted(genuine: &Value) -> Vec<(&'static str, Value)> {
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = genuine.clone();
        f(&mut v);
        v
    };
    let nest = |n: usize| (0..n).fold(json!("x"), |inner, _| json!({"a": inner}));
    vec![
        (
            "one evidence node with 3 000 types (83 KB)",
            with(&|v| {
                let types: Vec<Value> = (0..3000).map(|i| json!(format!("Evidence{i:05}xyzxyzxyzxyz"))).collect();
                v["evidence"] = json!([{"id": "https://e.example/1", "type": types}]);
            }),
        ),
        (
            "240 evidence nodes",
            with(&|v| {
                let ev: Vec<Value> = (0..240)
                    .map(|i| json!({"id": format!("https://e.example/{i}"), "type": ["Evidence"], "name": format!("Bewijs {i}")}))
                    .collect();
                v["evidence"] = json!(ev);
            }),
        ),
        (
            "a 900 KB description",
            with(&|v| v["credentialSubject"]["achievement"]["description"] = json!("x".repeat(900_000))),
        ),
        (
            "4 900 tags",
            with(&|v| {
                let tags: Vec<Value> = (0..4900).map(|i| json!(format!("t{i}"))).collect();
                v["credentialSubject"]["achievement"]["tag"] = json!(tags);
            }),
        ),
        ("nested 100 levels deep", with(&|v| v["credentialSubject"]["x"] = nest(100))),
    ]
}

async fn run(raw: f64) {
    let dir = std::env::temp_dir().join(format!("mb_abuse_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (base, service) = common::serve(&dir, 2 * 1024 * 1024).await;
    let admin = common::ADMIN;
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| client.post(format!("{base}{path}")).bearer_auth(admin).json(&body).send();
    let issuer: Value = post("/api/v1/issuers".into(), json!({"name": "Bench"})).await.unwrap().json().await.unwrap();
    let nm: Value = post(
        format!("/api/v1/issuers/{}/nanomodules", issuer["id"].as_str().unwrap()),
        json!({"name": "Smeren", "description": "Lagers smeren", "criteria": {"narrative": "Smeerplan"}, "duration_minutes": 180}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let awarded: Value = post(
        format!("/api/v1/nanomodules/{}/awards", nm["id"].as_str().unwrap()),
        json!({"recipients": [{"identity": "a@example.nl"}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let genuine: Value =
        client.get(awarded["credentials"][0]["id"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();

    // Worst case: each crafted input verified in-process (a few times; the slowest mean counts).
    let mut worst = (0.0f64, "");
    for (label, doc) in crafted(&genuine) {
        assert!(doc.to_string().len() <= 1024 * 1024, "{label}");
        let start = Instant::now();
        let mut n = 0;
        while n < 3 || (start.elapsed() < Duration::from_millis(500) && n < 50) {
            std::hint::black_box(service.verify(metrobadge::credential::verify::Input::Json(doc.clone()), None).await);
            n += 1;
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
        println!("{:<62} {ms:>10.2} ms each", format!("reject or verify: {label}"));
        if ms > worst.0 {
            worst = (ms, label);
        }
    }
    println!("{:<62} {:>10.2} ms ({})", "worst case of the crafted inputs", worst.0, worst.1);

    // Ordinary verification, one core.
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(3) {
        let r = service.verify(metrobadge::credential::verify::Input::Json(genuine.clone()), None).await;
        assert!(r.verified);
        n += 1;
    }
    let per_sec = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "{:<62} {per_sec:>10.0} /s  ({:.1}x the raw Ed25519 sign cost)",
        "verify a genuine credential in-process, all checks",
        raw / per_sec
    );

    // /health while 16 clients flood POST /verify with the 83 KB crafted credential.
    let flood_body = crafted(&genuine).remove(0).1.to_string();
    let statuses = Arc::new([(); 6].map(|_| AtomicUsize::new(0)));
    let stop = Instant::now() + Duration::from_secs(6);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, base, body, statuses) =
            (reqwest::Client::new(), base.clone(), flood_body.clone(), statuses.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop {
                let r = client
                    .post(format!("{base}/verify"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let code = r.map(|r| r.status().as_u16()).unwrap_or(0);
                statuses[(code / 100) as usize % 6].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let prober = reqwest::Client::new();
    let mut latencies = Vec::new();
    tokio::time::sleep(Duration::from_millis(500)).await;
    while Instant::now() < stop {
        let t = Instant::now();
        let r = prober.get(format!("{base}/health")).send().await.unwrap();
        r.bytes().await.unwrap();
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{:<62} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} probes)",
        "/health while /verify is flooded (16 clients, crafted 83 KB)",
        pct(0.5),
        pct(0.99),
        latencies.last().unwrap(),
        latencies.len()
    );
    let count = |i: usize| statuses[i].load(Ordering::Relaxed);
    println!(
        "{:<62} 2xx {}, 4xx {}, 5xx {}, failed {}",
        "flood answers in 6 s",
        count(2),
        count(4),
        count(5),
        count(0)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
