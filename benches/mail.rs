//! `cargo bench --bench mail`: the outbox against a real local SMTP server (aiosmtpd from
//! `tests/smtp/.venv`, created by the test suite or by `.ci/run`).
//!
//! - what writing the messages costs an award: a 10 000-recipient cohort with e-mail addresses
//!   (10 000 messages written in the award's transaction) against the same cohort with
//!   identifiers (no messages), in the same run;
//! - outbox throughput: those 10 000 messages drained by one sender into the SMTP server;
//! - the time from an award's answer to its first message arriving at the server, with the
//!   sender worker running as `metrobadge serve` runs it.
//!
//! Rates are also given as a ratio to raw Ed25519 signing measured in the same run.

mod common;
use common::raw_sign_rate;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn main() {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/.venv/bin/python");
    if !python.exists() {
        eprintln!("tests/smtp/.venv is missing: run `cargo test --test api mail_` (or .ci/run) once first");
        std::process::exit(1);
    }
    let raw = raw_sign_rate();
    println!("{:<70} {raw:>10.0} /s", "raw Ed25519 sign of a 64-byte input");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run(raw, &python));
}

fn received(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "json")).count())
        .unwrap_or(0)
}

async fn run(raw: f64, python: &Path) {
    let dir = std::env::temp_dir().join(format!("mb_mailbench_{}", std::process::id()));
    let mail_dir = dir.join("received");
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut smtp = Command::new(python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py"))
        .arg(port.to_string())
        .arg(&mail_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(smtp.stdout.take().unwrap()).read_line(&mut line).unwrap();

    let (base, service) = common::serve(&dir, 8 * 1024 * 1024).await;
    let admin = common::ADMIN;
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| client.post(format!("{base}{path}")).bearer_auth(admin).json(&body).send();
    let issuer: Value = post("/api/v1/issuers".into(), json!({"name": "Bench"})).await.unwrap().json().await.unwrap();
    let module = |name: &'static str| {
        post(
            format!("/api/v1/issuers/{}/nanomodules", issuer["id"].as_str().unwrap()),
            json!({"name": name, "description": "Lagers smeren", "criteria": {"narrative": "Smeerplan"}, "duration_minutes": 180}),
        )
    };
    let award = |nm: &Value, recipients: Vec<Value>| {
        post(format!("/api/v1/nanomodules/{}/awards", nm["id"].as_str().unwrap()), json!({"recipients": recipients}))
    };

    // 1. What the messages cost an award of 10 000.
    for (label, kind) in
        [("identifiers (no messages)", "identifier"), ("e-mail addresses (10 000 messages)", "emailAddress")]
    {
        let nm: Value = module("Smeren").await.unwrap().json().await.unwrap();
        let recipients: Vec<Value> = (0..10_000)
            .map(|i| json!({"identity": format!("l{i}-{kind}@example.nl"), "identity_type": kind, "name": format!("Learner {i}")}))
            .collect();
        let start = Instant::now();
        let r = award(&nm, recipients).await.unwrap();
        assert_eq!(r.status(), 201);
        let took = start.elapsed().as_secs_f64();
        let rate = 10_000.0 / took;
        println!(
            "{:<70} {:>7.2} s ({rate:.0} credentials/s, ×{:.1} raw sign)",
            format!("award of 10 000 over HTTP on SQLite, {label}"),
            took,
            raw / rate
        );
    }

    // 2. Outbox throughput: the award's 10 000 queued messages to the local SMTP server, one
    // sender (four SMTP conversations at once).
    let mailer =
        metrobadge::mailer::Mailer::new(&format!("smtp://127.0.0.1:{port}"), "bench@example.org", None).unwrap();
    let sender = service.clone().with_mailer(mailer);
    let start = Instant::now();
    let mut sent = 0;
    loop {
        let round = sender.send_mail_round().await.unwrap();
        sent += round.sent;
        if round.sent == 0 {
            break;
        }
    }
    let took = start.elapsed().as_secs_f64();
    assert_eq!(received(&mail_dir), sent);
    let rate = sent as f64 / took;
    println!(
        "{:<70} {rate:>10.0} /s (×{:.0} raw sign)",
        format!("outbox → local SMTP server ({sent} messages, one sender)"),
        raw / rate
    );

    // 3. From an award's answer to its first message at the server, worker running.
    let worker = tokio::spawn(sender.clone().run_mail_worker(Duration::from_secs(3600)));
    let nm: Value = module("Lagers").await.unwrap().json().await.unwrap();
    let mut times = Vec::new();
    for i in 0..10 {
        let before = received(&mail_dir);
        let r = award(&nm, vec![json!({"identity": format!("first{i}@example.nl")})]).await.unwrap();
        assert_eq!(r.status(), 201);
        let answered = Instant::now();
        while received(&mail_dir) == before {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(answered.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{:<70} {:>7.1} ms median, {:.1} ms worst of 10",
        "award answered → first message received by the SMTP server",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    worker.abort();
    let _ = Command::new("kill").arg(smtp.id().to_string()).status();
    let _ = smtp.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
