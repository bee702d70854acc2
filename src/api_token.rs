//! Bearer tokens for the JSON API.
//!
//! A token is `mbt_` + base64url(32 random bytes). Only its SHA-256 is stored, next to a short
//! lookup prefix so a request finds its row without comparing secrets in SQL; the final
//! comparison of hashes is constant-time. High-entropy tokens need no slow password hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "mbt_";
/// Characters of the token (after `mbt_`) kept in clear for lookup: 48 of 256 bits.
const LOOKUP_LEN: usize = 8;

/// A freshly minted token: `secret` is shown once, the rest is stored.
pub struct Minted {
    pub secret: String,
    pub lookup: String,
    pub hash: Vec<u8>,
}

pub fn mint() -> Minted {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(raw));
    let lookup = lookup_of(&secret).expect("a minted token is well-formed").to_string();
    Minted { hash: hash(&secret), lookup, secret }
}

/// The stored lookup prefix of a presented token, or `None` if it is not shaped like one.
pub fn lookup_of(token: &str) -> Option<&str> {
    let body = token.strip_prefix(PREFIX)?;
    (body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| &body[..LOOKUP_LEN])
}

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Constant-time check of a presented token against a stored hash.
pub fn matches(presented: &str, stored_hash: &[u8]) -> bool {
    hash(presented).ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_and_match() {
        let m = mint();
        assert!(m.secret.starts_with("mbt_"));
        assert_eq!(lookup_of(&m.secret), Some(m.lookup.as_str()));
        assert!(matches(&m.secret, &m.hash));
        assert!(!matches(&format!("{}x", m.secret), &m.hash));
        assert_eq!(lookup_of("mbt_short"), None);
        assert_eq!(lookup_of("Bearer whatever"), None);
    }
}
