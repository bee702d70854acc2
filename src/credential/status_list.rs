//! W3C Bitstring Status List v1.0: the list credential and its `encodedList`.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

/// Seconds a verifier may cache a list (`ttl` is in milliseconds in the credential).
pub const TTL_SECONDS: u64 = 300;
/// Refuse to inflate lists beyond this (a gzip bomb guard): 16 Mi entries.
const MAX_LIST_BYTES: u64 = 2 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Revocation,
    Suspension,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
        }
    }
}

/// `u` + base64url(GZIP(bitstring)) with the given indices set; index 0 is the most
/// significant bit of the first byte.
pub fn encode(size: usize, set: impl IntoIterator<Item = usize>) -> String {
    let mut bits = vec![0u8; size.div_ceil(8)];
    for i in set {
        if i < size {
            bits[i / 8] |= 0x80 >> (i % 8);
        }
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&bits).expect("writing to memory cannot fail");
    format!("u{}", URL_SAFE_NO_PAD.encode(gz.finish().expect("writing to memory cannot fail")))
}

/// The bitstring of an `encodedList`, or `None` if it is not valid (or unreasonably large).
pub fn decode(encoded: &str) -> Option<Vec<u8>> {
    let gz = URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u')?).ok()?;
    let mut out = Vec::new();
    GzDecoder::new(gz.as_slice()).take(MAX_LIST_BYTES + 1).read_to_end(&mut out).ok()?;
    (out.len() as u64 <= MAX_LIST_BYTES).then_some(out)
}

pub fn is_set(bits: &[u8], index: usize) -> Option<bool> {
    bits.get(index / 8).map(|b| b & (0x80 >> (index % 8)) != 0)
}

/// Whether the bit an entry names is set in another issuer's (already signature-checked) list
/// credential: the list must be a `BitstringStatusListCredential` for the entry's purpose.
pub fn entry_is_set(list: &Value, entry: &Value) -> Result<bool, String> {
    let types = list["type"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>());
    if !types.is_some_and(|t| t.contains(&"BitstringStatusListCredential")) {
        return Err("the status list is not a BitstringStatusListCredential".into());
    }
    let subject = &list["credentialSubject"];
    let purpose = entry["statusPurpose"].as_str().unwrap_or_default();
    if subject["statusPurpose"].as_str() != Some(purpose) {
        return Err(format!("the status list is not for the entry's purpose ({purpose})"));
    }
    let index = entry["statusListIndex"]
        .as_str()
        .and_then(|i| i.parse::<usize>().ok())
        .ok_or("statusListIndex is not a number")?;
    let bits = subject["encodedList"].as_str().and_then(decode).ok_or("encodedList is not a valid bitstring")?;
    is_set(&bits, index).ok_or_else(|| format!("statusListIndex {index} is beyond the list"))
}

/// The unsigned `BitstringStatusListCredential`.
pub fn credential(url: &str, issuer: &str, purpose: Purpose, encoded_list: &str, valid_from: &str) -> Value {
    json!({
        "@context": [super::contexts::VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.as_str(),
            "encodedList": encoded_list,
            "ttl": TTL_SECONDS * 1000,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_issuers_entry() {
        let list = credential(
            "https://x.example/status/1",
            "did:web:x.example",
            Purpose::Revocation,
            &encode(64, [5]),
            "2026-01-01T00:00:00Z",
        );
        let entry = |i: &str, purpose: &str| json!({"statusPurpose": purpose, "statusListIndex": i});
        assert_eq!(entry_is_set(&list, &entry("5", "revocation")), Ok(true));
        assert_eq!(entry_is_set(&list, &entry("6", "revocation")), Ok(false));
        assert!(entry_is_set(&list, &entry("5", "suspension")).unwrap_err().contains("purpose"));
        assert!(entry_is_set(&list, &entry("999", "revocation")).unwrap_err().contains("beyond"));
        assert!(entry_is_set(&json!({"type": "VerifiableCredential"}), &entry("5", "revocation")).is_err());
    }

    #[test]
    fn spec_example_is_all_zero_16k() {
        let bits = decode("uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA").unwrap();
        assert_eq!(bits.len(), 16_384);
        assert!(bits.iter().all(|b| *b == 0));
    }

    #[test]
    fn msb_first_round_trip() {
        let encoded = encode(131_072, [0, 9, 131_071]);
        let bits = decode(&encoded).unwrap();
        assert_eq!(bits.len(), 16_384);
        assert_eq!(bits[0], 0x80);
        assert_eq!(bits[1], 0x40);
        assert_eq!(is_set(&bits, 131_071), Some(true));
        assert_eq!(is_set(&bits, 1), Some(false));
        assert_eq!(is_set(&bits, 131_072), None);
    }

    #[test]
    fn list_credential_is_strict_json_ld() {
        let c = credential(
            "https://x.example/status/1",
            "https://x.example/issuers/1",
            Purpose::Suspension,
            &encode(8, [1]),
            "2026-01-01T00:00:00Z",
        );
        crate::credential::canon::canonicalize_general(&c).expect("every term defined");
    }
}
