//! The partial certificate credential: an OB 3.0 credential like a badge, whose `evidence`
//! names every component credential with the digest of its signed document, so a verifier can
//! fetch each one and know it is the document the certificate was decided on.

use base64::Engine;
use serde_json::{Value, json};

use super::badge::{self, StatusEntry, Template};
use crate::domain::award::Recipient;

/// One credential the certificate rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub url: String,
    pub name: String,
    /// Date the badge was awarded (`YYYY-MM-DD`).
    pub awarded: String,
    /// Hex SHA-256 of the component's signed JSON as served.
    pub sha256_hex: String,
}

/// VC DM 2.0 `digestMultibase`: base64url (no padding, multibase prefix `u`) of the
/// sha2-256 multihash (`0x12 0x20` ‖ digest).
pub fn digest_multibase(sha256_hex: &str) -> Option<String> {
    let digest = hex::decode(sha256_hex).ok().filter(|d| d.len() == 32)?;
    let mut multihash = vec![0x12, 0x20];
    multihash.extend(digest);
    Some(format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(multihash)))
}

/// Builds the unsigned certificate credential.
pub fn build(
    t: &Template<'_>,
    id: &str,
    recipient: &Recipient,
    salt: &str,
    status: &StatusEntry,
    components: &[Component],
) -> Value {
    let mut doc = badge::build(t, id, recipient, salt, status);
    let evidence: Vec<Value> = components
        .iter()
        .map(|c| {
            let mut e = json!({
                "id": c.url,
                "type": ["Evidence"],
                "name": c.name,
                "description": format!("Badge awarded on {}", c.awarded),
                "genre": "Open Badge",
            });
            if let Some(d) = digest_multibase(&c.sha256_hex) {
                e["digestMultibase"] = json!(d);
            }
            e
        })
        .collect();
    doc["evidence"] = Value::Array(evidence);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_multibase_is_a_sha256_multihash() {
        // SHA-256 of the empty string.
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d = digest_multibase(hex).unwrap();
        assert!(d.starts_with("uEiD"), "0x12 0x20 prefix encodes as EiD: {d}");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&d[1..]).unwrap();
        assert_eq!(hex::encode(&raw[2..]), hex);
        assert_eq!(digest_multibase("zz"), None);
    }
}
