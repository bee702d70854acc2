//! What every benchmark reports against: raw Ed25519 signing on this machine, in this run.

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
