//! Stacking throughput (issue 13 §3): a cohort that already holds a line's first module is
//! awarded the second, completing the line; the clock runs from the award's answer until every
//! learner's certificate is judged, signed, stored and audited (the queue is empty). On SQLite
//! with one instance, then on PostgreSQL with two instances on one database awarding half the
//! cohort each at the same moment.
//!
//! `MB_BENCH_LEARNERS` sets the cohort (default 10 000); `MB_BENCH_POSTGRES` the PostgreSQL
//! server (default `postgres://postgres@127.0.0.1:5432`; `off` skips it); `MB_BENCH_KEEP=1`
//! keeps the PostgreSQL database afterwards (to `EXPLAIN` its statements); `MB_BENCH_SPANS=1`
//! logs every span's busy and idle time (with `RUST_LOG=metrobadge=debug`).

mod common;

use std::time::{Duration, Instant};

use metrobadge::service::Service;
use serde_json::{Value, json};

const TOKEN: &str = "bench-stacking-admin";

/// The same master key for every instance (they share the sealed signing keys).
fn master_key() -> metrobadge::master_key::MasterKey {
    let text = include_str!("../keys.example");
    metrobadge::master_key::MasterKey::parse(text, "keys.example").unwrap()
}

/// One served instance on `url`; returns its base URL and service.
async fn instance(url: &str) -> (String, Service) {
    let store = metrobadge::store::Store::connect(url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service = Service::new(store, master_key(), &base, Some(TOKEN));
    let app = metrobadge::App::with_limits(service, 64 * 1024 * 1024, &Default::default());
    let service = app.service.clone();
    tokio::spawn(app.serve(listener, std::future::pending()));
    (base, service)
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    let r = client.post(url).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

async fn drained(service: &Service) {
    while service.queued_jobs().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sets up a two-station line on the first instance, gives the cohort the first module, then
/// awards the second through `instances` (a slice of the cohort each, all at once) and reports.
async fn run(label: &str, instances: &[(String, Service)], learners: usize, raw: f64) {
    let client = reqwest::Client::new();
    let base = &instances[0].0;
    let issuer = post(&client, format!("{base}/api/v1/issuers"), json!({"name": "Bench"})).await;
    let issuer = issuer["id"].as_str().unwrap().to_string();
    let mut modules = Vec::new();
    for name in ["Smeren", "Trillingen"] {
        let m = post(
            &client,
            format!("{base}/api/v1/issuers/{issuer}/nanomodules"),
            json!({"name": name, "description": name, "criteria": {"narrative": "n"}, "duration_minutes": 120}),
        )
        .await;
        modules.push(m["id"].as_str().unwrap().to_string());
    }
    let map = post(&client, format!("{base}/api/v1/issuers/{issuer}/metro-maps"), json!({"name": "Bench"})).await;
    post(
        &client,
        format!("{base}/api/v1/issuers/{issuer}/metro-lines"),
        json!({"name": "Onderhoud", "metro_map": map["id"], "colour": "#aa3300", "stations": modules,
               "certificate": {"name": "Deelcertificaat", "description": "d"}}),
    )
    .await;
    let cohort: Vec<Value> = (0..learners).map(|i| json!({"identity": format!("learner{i}@example.nl")})).collect();
    post(&client, format!("{base}/api/v1/nanomodules/{}/awards", modules[0]), json!({"recipients": cohort})).await;
    for (_, s) in instances {
        drained(s).await;
    }

    let share = learners.div_ceil(instances.len());
    let start = Instant::now();
    let awards = instances.iter().zip(cohort.chunks(share)).map(|((base, _), part)| {
        post(&client, format!("{base}/api/v1/nanomodules/{}/awards", modules[1]), json!({"recipients": part}))
    });
    futures_util::future::join_all(awards).await;
    let answered = start.elapsed();
    for (_, s) in instances {
        drained(s).await;
    }
    let done = start.elapsed();
    let after = done - answered;
    println!(
        "{label}: {learners} learners; award answered in {:.2} s; certificates {:.2} s later: {:.0} learners/s \
         after the answer ({:.1}× raw sign per learner), {:.0} learners/s award included",
        answered.as_secs_f64(),
        after.as_secs_f64(),
        learners as f64 / after.as_secs_f64(),
        raw / (learners as f64 / after.as_secs_f64()),
        learners as f64 / done.as_secs_f64(),
    );
}

fn main() {
    // `MB_BENCH_SPANS=1` logs how long every span (use case, store call) was busy and idle.
    let spans = if std::env::var_os("MB_BENCH_SPANS").is_some() {
        tracing_subscriber::fmt::format::FmtSpan::CLOSE
    } else {
        tracing_subscriber::fmt::format::FmtSpan::NONE
    };
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_span_events(spans)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let learners: usize = std::env::var("MB_BENCH_LEARNERS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let raw = common::raw_sign_rate();
    println!("raw Ed25519 sign (64-byte input): {raw:.0} /s");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("mb_bench_stacking_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        run("stacking, SQLite, one instance", &[instance(&url).await], learners, raw).await;
        let _ = std::fs::remove_dir_all(&dir);

        let server = std::env::var("MB_BENCH_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        if server == "off" {
            return;
        }
        let db = format!("mb_bench_stacking_{}", std::process::id());
        let admin = sqlx::PgPool::connect(&format!("{server}/postgres")).await.expect("PostgreSQL for the bench");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&admin).await.unwrap();
        let url = format!("{server}/{db}");
        let two = [instance(&url).await, instance(&url).await];
        run("stacking, PostgreSQL, two instances awarding at once", &two, learners, raw).await;
        for (_, s) in &two {
            s.close().await;
        }
        if std::env::var_os("MB_BENCH_KEEP").is_none() {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)"))).execute(&admin).await.unwrap();
        }
    });
}
