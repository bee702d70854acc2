//! What the benchmarks share: the raw Ed25519 signing rate every figure is compared with, and
//! a served app on a fresh SQLite database.

use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};

/// Signatures of a 64-byte input per second, over two seconds.
pub fn raw_sign_rate() -> f64 {
    let key = SigningKey::from_bytes(&[7; 32]);
    let msg = [1u8; 64];
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < Duration::from_secs(2) {
        std::hint::black_box(key.sign(std::hint::black_box(&msg)));
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The admin token of [`serve`]'s app.
#[allow(dead_code)]
pub const ADMIN: &str = "bench-admin-token-bench-admin-token";

/// Serves the app on a fresh SQLite database in `dir` (bodies up to `body_limit` bytes) on a
/// free local port; returns its base URL and service.
#[allow(dead_code)]
pub async fn serve(dir: &std::path::Path, body_limit: usize) -> (String, metrobadge::service::Service) {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = metrobadge::store::Store::connect(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let key = metrobadge::master_key::MasterKey::generate();
    let app = metrobadge::App::new(store, key, &base, Some(ADMIN), body_limit);
    let service = app.service.clone();
    tokio::spawn(app.serve(listener, std::future::pending()));
    (base, service)
}
