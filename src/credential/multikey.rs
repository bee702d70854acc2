//! Public keys as Multikey (`z6Mk…` Ed25519, `zDn…` P-256), JWK and did:key material.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Multicodec prefix of an Ed25519 public key (varint 0xed).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// `z` + base58btc(0xed01 ‖ key): always starts with `z6Mk`.
pub fn encode(public_key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&ED25519_PUB);
    bytes.extend_from_slice(public_key);
    format!("z{}", bs58::encode(bytes).into_string())
}

/// Decodes a Multikey value; any other codec or encoding is rejected.
pub fn decode(multibase: &str) -> Option<[u8; 32]> {
    let b58 = multibase.strip_prefix('z')?;
    let bytes = bs58::decode(b58).into_vec().ok()?;
    let key = bytes.strip_prefix(&ED25519_PUB[..])?;
    key.try_into().ok()
}

/// Multicodec prefix of a compressed P-256 public key (varint 0x1200).
const P256_PUB: [u8; 2] = [0x80, 0x24];

/// A public key of one of the algorithms the service signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKey {
    /// Data Integrity proofs and EdDSA VC-JWTs.
    Ed25519([u8; 32]),
    /// ES256 VC-JWTs: the SEC1 compressed point.
    P256([u8; 33]),
}

impl PublicKey {
    /// From stored bytes: 32 are Ed25519, 33 a compressed P-256 point.
    pub fn from_bytes(bytes: &[u8]) -> Option<PublicKey> {
        match bytes.len() {
            32 => bytes.try_into().ok().map(PublicKey::Ed25519),
            33 => p256::PublicKey::from_sec1_bytes(bytes).ok().and_then(|_| bytes.try_into().ok()).map(PublicKey::P256),
            _ => None,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            PublicKey::Ed25519(k) => k,
            PublicKey::P256(k) => k,
        }
    }

    pub fn ed25519(&self) -> Option<[u8; 32]> {
        match self {
            PublicKey::Ed25519(k) => Some(*k),
            PublicKey::P256(_) => None,
        }
    }

    /// `z6Mk…` or `zDn…`.
    pub fn multibase(&self) -> String {
        match self {
            PublicKey::Ed25519(k) => encode(k),
            PublicKey::P256(k) => format!("z{}", bs58::encode([&P256_PUB[..], k].concat()).into_string()),
        }
    }

    /// Decodes a Multikey value of either codec.
    pub fn from_multibase(multibase: &str) -> Option<PublicKey> {
        if let Some(k) = decode(multibase) {
            return Some(PublicKey::Ed25519(k));
        }
        let bytes = bs58::decode(multibase.strip_prefix('z')?).into_vec().ok()?;
        PublicKey::from_bytes(bytes.strip_prefix(&P256_PUB[..])?).filter(|k| matches!(k, PublicKey::P256(_)))
    }

    /// The key as a JWK (RFC 8037 OKP for Ed25519, RFC 7518 EC for P-256) with its `alg`.
    pub fn jwk(&self, kid: &str) -> serde_json::Value {
        match self {
            PublicKey::Ed25519(k) => jwk(k, kid),
            PublicKey::P256(k) => {
                let (x, y) = p256_coordinates(k).unwrap_or_default();
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"})
            }
        }
    }
}

/// The base64url x and y of a compressed P-256 point.
pub fn p256_coordinates(compressed: &[u8; 33]) -> Option<(String, String)> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let point = p256::PublicKey::from_sec1_bytes(compressed).ok()?.to_encoded_point(false);
    Some((URL_SAFE_NO_PAD.encode(point.x()?), URL_SAFE_NO_PAD.encode(point.y()?)))
}

/// The public key as an RFC 8037 OKP JWK.
pub fn jwk(public_key: &[u8; 32], kid: &str) -> serde_json::Value {
    serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(public_key),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ob_test_vector_key() {
        // OB 3.0 implementation guide test vector.
        let public = hex::decode("4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5").unwrap();
        let public: [u8; 32] = public.try_into().unwrap();
        assert_eq!(encode(&public), "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi");
        assert_eq!(decode("z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"), Some(public));
        assert_eq!(decode("u6MkjZRZ"), None);
        assert_eq!(
            PublicKey::from_multibase("z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"),
            Some(PublicKey::Ed25519(public))
        );
    }

    #[test]
    fn p256_multikey_and_jwk() {
        // The Multikey example of the W3C Controlled Identifiers spec (a P-256 key).
        let mb = "zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169";
        let key = PublicKey::from_multibase(mb).expect("a P-256 Multikey");
        assert!(matches!(key, PublicKey::P256(_)));
        assert_eq!(key.multibase(), mb);
        assert_eq!(PublicKey::from_bytes(key.bytes()), Some(key));
        let jwk = key.jwk("k");
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str(), jwk["alg"].as_str()),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert_eq!(jwk["x"].as_str().unwrap().len(), 43);
        assert_eq!(PublicKey::from_multibase("zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU216"), None);
    }
}
