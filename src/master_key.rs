//! The master key that seals issuers' private signing keys at rest.
//!
//! Private keys are stored as `1 ‖ nonce(24) ‖ XChaCha20-Poly1305(seed)` with the key's id as
//! associated data, so a sealed blob cannot be moved to another key row. The master key never
//! leaves this process; its `Debug` output is redacted.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

const PREFIX: &str = "metrobadge-master-key-v1:";
const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("cannot read master key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot create master key file {path}: {source}")]
    Create { path: String, source: std::io::Error },
    #[error("master key file {0} is malformed: expected one line '{PREFIX}<base64 of 32 bytes>' (see keys.example)")]
    Malformed(String),
    #[error("a sealed key could not be opened: wrong master key, or the stored key was altered")]
    Open,
}

pub struct MasterKey {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> MasterKey {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        MasterKey { key }
    }

    /// Parses the file format shown in `keys.example` (comment lines start with `#`).
    pub fn parse(text: &str, path: &str) -> Result<MasterKey, MasterKeyError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| MasterKeyError::Malformed(path.into()))?;
        let b64 = line.strip_prefix(PREFIX).ok_or_else(|| MasterKeyError::Malformed(path.into()))?;
        let bytes = Zeroizing::new(STANDARD.decode(b64).map_err(|_| MasterKeyError::Malformed(path.into()))?);
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| MasterKeyError::Malformed(path.into()))?;
        Ok(MasterKey { key: Zeroizing::new(key) })
    }

    /// Loads the key at `path`; if the file does not exist and `create` is set, writes a new
    /// one with mode 0600 and returns it (the caller logs the warning).
    pub fn load_or_create(path: &Path, create: bool) -> Result<(MasterKey, bool), MasterKeyError> {
        let shown = path.display().to_string();
        match fs::read_to_string(path) {
            Ok(text) => Ok((MasterKey::parse(&text, &shown)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let key = MasterKey::generate();
                let mut options = fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file =
                    options.open(path).map_err(|source| MasterKeyError::Create { path: shown.clone(), source })?;
                file.write_all(key.to_file_text().as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(|source| MasterKeyError::Create { path: shown, source })?;
                Ok((key, true))
            }
            Err(source) => Err(MasterKeyError::Read { path: shown, source }),
        }
    }

    fn to_file_text(&self) -> String {
        format!(
            "# metrobadge master key: seals the issuers' private signing keys. Keep it secret and backed up;\n\
             # without it no stored signing key can be used.\n{PREFIX}{}\n",
            STANDARD.encode(self.key.as_ref())
        )
    }

    pub fn seal(&self, secret: &[u8], context: &[u8]) -> Vec<u8> {
        seal_with(&self.key, secret, context)
    }

    /// A key derived for `purpose` (HMAC-SHA256 of the purpose under the master key): secrets
    /// such as learners' progress-link tokens are HMACs under it. Stored sealed (see
    /// `sealed_secret`), it keeps deriving the same values after the master key is rotated.
    pub fn subkey(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(hmac_sha256(&self.key, purpose.as_bytes()))
    }

    /// Writes a new key to `path` (which must not exist yet), mode 0600.
    pub fn create_file(path: &Path) -> Result<MasterKey, MasterKeyError> {
        match MasterKey::load_or_create(path, true)? {
            (key, true) => Ok(key),
            (_, false) => Err(MasterKeyError::Create {
                path: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "exists"),
            }),
        }
    }

    /// Whether two keys are the same (constant time).
    pub fn same_as(&self, other: &MasterKey) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.key.as_ref().ct_eq(other.key.as_ref()))
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
        open_with(&self.key, sealed, context)
    }
}

/// Seals `secret` under `key` (XChaCha20-Poly1305, a random nonce, `context` authenticated):
/// the master key's own sealing, also used with data keys that are themselves sealed under it.
pub fn seal_with(key: &[u8; 32], secret: &[u8], context: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad: context })
        .expect("XChaCha20-Poly1305 encryption cannot fail for messages this size");
    let mut out = Vec::with_capacity(1 + 24 + ct.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

/// Opens what [`seal_with`] sealed under the same key and context.
pub fn open_with(key: &[u8; 32], sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
    if sealed.len() < 1 + 24 + 16 || sealed[0] != VERSION {
        return Err(MasterKeyError::Open);
    }
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(XNonce::from_slice(&sealed[1..25]), Payload { msg: &sealed[25..], aad: context })
        .map(Zeroizing::new)
        .map_err(|_| MasterKeyError::Open)
}

/// RFC 2104 HMAC with SHA-256 (keys here are 32 bytes, shorter than the block).
pub fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let inner_pad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&inner_pad).chain_update(message).finalize();
    Sha256::new().chain_update(&outer_pad).chain_update(inner).finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_shape() {
        // RFC 4231 test case 2 uses a 4-byte key ("Jefe"), zero-padded to our 32 bytes: HMAC
        // pads short keys with zeros to the block size, so the result is the same.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac_sha256(&key, b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn seal_open_round_trip_and_binding() {
        let mk = MasterKey::generate();
        let sealed = mk.seal(b"secret seed", b"key-1");
        assert!(!sealed.windows(11).any(|w| w == b"secret seed"));
        assert_eq!(mk.open(&sealed, b"key-1").unwrap().as_slice(), b"secret seed");
        assert!(mk.open(&sealed, b"key-2").is_err(), "bound to its context");
        assert!(MasterKey::generate().open(&sealed, b"key-1").is_err(), "wrong master key");
    }

    #[test]
    fn file_format_round_trips() {
        let mk = MasterKey::generate();
        let parsed = MasterKey::parse(&mk.to_file_text(), "f").unwrap();
        assert_eq!(parsed.key.as_ref(), mk.key.as_ref());
        assert!(MasterKey::parse("nonsense", "f").is_err());
        assert!(MasterKey::parse(&format!("{PREFIX}AAAA"), "f").is_err());
        assert_eq!(format!("{mk:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn example_file_parses() {
        let text = include_str!("../keys.example");
        assert!(MasterKey::parse(text, "keys.example").is_ok());
    }
}
