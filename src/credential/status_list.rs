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
