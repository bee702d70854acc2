//! VC-JWT as profiled by Open Badges 3.0 (§ "VC-JWT Proof Format"): the payload is the
//! credential itself (no `vc` wrapper, no `proof`) plus `iss`, `jti`, `nbf`, `sub`, `exp`;
//! the JOSE header carries only `alg`, `kid` and `typ: JWT`.

use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("credential lacks {0}")]
    Missing(&'static str),
    #[error("JWT signing failed: {0}")]
    Sign(String),
}

/// PKCS#8 v1 DER of an Ed25519 key: a fixed prefix (RFC 8410) and the 32-byte seed.
fn pkcs8(key: &SigningKey) -> Vec<u8> {
    const PREFIX: [u8; 16] =
        [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    let mut der = PREFIX.to_vec();
    der.extend_from_slice(&key.to_bytes());
    der
}

/// A key prepared once for signing many JWTs.
#[derive(Clone)]
pub struct JwtSigner {
    key: SignWith,
    kid: String,
    alg: Algorithm,
}

/// How the signature is made.
#[derive(Clone)]
enum SignWith {
    Jsonwebtoken(EncodingKey),
    /// ES256 straight through `p256`: `jsonwebtoken` re-reads the PKCS#8 key on every call,
    /// which made an ES256 issuer's cohort award almost three times slower (`cargo bench`).
    P256(p256::ecdsa::SigningKey),
}

impl JwtSigner {
    /// EdDSA with the issuer's Ed25519 key (the one that signs Data Integrity proofs).
    pub fn new(key: &SigningKey, kid: &str) -> JwtSigner {
        let key = SignWith::Jsonwebtoken(EncodingKey::from_ed_der(&pkcs8(key)));
        JwtSigner { key, kid: kid.to_string(), alg: Algorithm::EdDSA }
    }

    /// ES256 with a P-256 key, for verifiers that accept only RS256/ES256.
    pub fn es256(key: &p256::SecretKey, kid: &str) -> Result<JwtSigner, JwtError> {
        let key = SignWith::P256(p256::ecdsa::SigningKey::from(key.clone()));
        Ok(JwtSigner { key, kid: kid.to_string(), alg: Algorithm::ES256 })
    }

    /// Signs `credential` (without `proof`) as an OB 3.0 VC-JWT.
    pub fn sign(&self, credential: &Value) -> Result<String, JwtError> {
        let mut claims = credential.as_object().cloned().ok_or(JwtError::Missing("an object body"))?;
        claims.remove("proof");
        let iss = credential["issuer"]["id"]
            .as_str()
            .or(credential["issuer"].as_str())
            .ok_or(JwtError::Missing("issuer.id"))?;
        let jti = credential["id"].as_str().ok_or(JwtError::Missing("id"))?;
        let nbf = seconds(credential["validFrom"].as_str().ok_or(JwtError::Missing("validFrom"))?)?;
        claims.insert("iss".into(), iss.into());
        claims.insert("jti".into(), jti.into());
        claims.insert("nbf".into(), nbf.into());
        // `sub` is the subject's id; a hashed-identity subject has none to give.
        if let Some(sub) = credential["credentialSubject"]["id"].as_str() {
            claims.insert("sub".into(), sub.into());
        }
        if let Some(until) = credential["validUntil"].as_str() {
            claims.insert("exp".into(), seconds(until)?.into());
        }
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        match &self.key {
            SignWith::Jsonwebtoken(key) => {
                jsonwebtoken::encode(&header, &Value::Object(claims), key).map_err(|e| JwtError::Sign(e.to_string()))
            }
            SignWith::P256(key) => {
                // RFC 7515 compact serialisation; RFC 7518 §3.4: the signature is R ‖ S.
                use base64::Engine;
                use p256::ecdsa::signature::Signer;
                let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let sign_err = |e: serde_json::Error| JwtError::Sign(e.to_string());
                let header = serde_json::to_vec(&header).map_err(sign_err)?;
                let payload = serde_json::to_vec(&Value::Object(claims)).map_err(sign_err)?;
                let input = format!("{}.{}", b64.encode(header), b64.encode(payload));
                let signature: p256::ecdsa::Signature = key.sign(input.as_bytes());
                Ok(format!("{input}.{}", b64.encode(signature.to_bytes())))
            }
        }
    }
}

fn seconds(datetime: &str) -> Result<i64, JwtError> {
    crate::domain::time::parse_rfc3339(datetime)
        .map(|t| t.unix_timestamp())
        .ok_or(JwtError::Missing("a valid date-time"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn round_trip_with_claims() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let signer = JwtSigner::new(&key, "https://x.example/issuers/1#z6Mk");
        let cred = serde_json::json!({
            "id": "https://x.example/credentials/1", "issuer": {"id": "https://x.example/issuers/1"},
            "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2028-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:123"}, "proof": {"type": "x"}
        });
        let jwt = signer.sign(&cred).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some("https://x.example/issuers/1#z6Mk"));
        let mut v = Validation::new(Algorithm::EdDSA);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Value>(&jwt, &DecodingKey::from_ed_der(&key.verifying_key().to_bytes()), &v)
            .unwrap();
        assert_eq!(data.claims["iss"], "https://x.example/issuers/1");
        assert_eq!(data.claims["jti"], "https://x.example/credentials/1");
        assert_eq!(data.claims["sub"], "did:example:123");
        assert_eq!(data.claims["nbf"], 1767225600);
        assert!(data.claims.get("proof").is_none());
    }

    #[test]
    fn es256_round_trip() {
        let key = p256::SecretKey::from_slice(&[5u8; 32]).unwrap();
        let signer = JwtSigner::es256(&key, "https://x.example/issuers/1#zDn").unwrap();
        let cred = serde_json::json!({"id": "urn:x", "issuer": "https://x.example/issuers/1", "validFrom": "2026-01-01T00:00:00Z"});
        let jwt = signer.sign(&cred).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&jwt).unwrap().alg, Algorithm::ES256);
        let point = crate::credential::multikey::PublicKey::P256(
            p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), true)
                .as_bytes()
                .try_into()
                .unwrap(),
        );
        let crate::credential::multikey::PublicKey::P256(c) = point else { unreachable!() };
        let (x, y) = crate::credential::multikey::p256_coordinates(&c).unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let data = jsonwebtoken::decode::<Value>(&jwt, &DecodingKey::from_ec_components(&x, &y).unwrap(), &v).unwrap();
        assert_eq!(data.claims["jti"], "urn:x");
    }
}
