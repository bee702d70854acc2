//! `cargo bench --bench audit_export`: streams an export of 100 000 audit events over HTTP
//! and reports the process's peak RSS before and after, to show the export runs in constant
//! memory (the events are never all in memory at once).

use std::time::Instant;

use metrobadge::domain::audit::{Actor, NewEvent};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("mb_export_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = metrobadge::store::Store::connect(&format!("sqlite://{}", dir.join("a.db").display())).await.unwrap();
        let actor = Actor::cli();
        for batch in 0..10 {
            let mut tx = store.begin().await.unwrap();
            let events = (0..10_000)
                .map(|i| NewEvent::new(&actor, None, "bench.event", format!("{batch}-{i}"), &serde_json::json!({"i": i})))
                .collect();
            tx.audit(events).await.unwrap();
            tx.commit().await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = metrobadge::App::new(store, metrobadge::master_key::MasterKey::generate(), &base, Some("bench"), 1 << 20);
        tokio::spawn(app.serve(listener, std::future::pending()));
        let before = peak_rss_kib();
        let start = Instant::now();
        let mut resp = reqwest::Client::new()
            .get(format!("{base}/api/v1/audit/events"))
            .bearer_auth("bench")
            .header("accept", "application/x-ndjson")
            .send()
            .await
            .unwrap();
        let (mut bytes, mut lines) = (0usize, 0usize);
        while let Some(chunk) = resp.chunk().await.unwrap() {
            bytes += chunk.len();
            lines += chunk.iter().filter(|b| **b == b'\n').count();
        }
        let after = peak_rss_kib();
        println!(
            "audit export: {lines} events, {:.1} MB streamed in {:.2} s; peak RSS {} MiB before, {} MiB after (+{} MiB)",
            bytes as f64 / 1e6,
            start.elapsed().as_secs_f64(),
            before / 1024,
            after / 1024,
            (after.saturating_sub(before)) / 1024
        );
        assert_eq!(lines, 100_000);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
