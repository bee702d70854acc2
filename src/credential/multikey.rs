//! Ed25519 public keys as Multikey (`z6Mk…`), JWK and did:key material.

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
    }
}
