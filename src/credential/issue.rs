//! Signing a batch of credentials: the hot path of a cohort award.
//!
//! Every credential of a batch shares the proof options (key, `created`) and `@context`, so the
//! canonical proof configuration — half of the RDFC work — is computed once per batch.

use ed25519_dalek::SigningKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::canon;
use super::data_integrity::{self, ProofError};
use super::jwt::{JwtError, JwtSigner};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error(transparent)]
    Canon(#[from] canon::CanonError),
}

/// One signed credential in both forms.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The JSON with its Data Integrity proof, exactly as stored and served.
    pub signed: String,
    /// The same credential as an OB 3.0 VC-JWT.
    pub jwt: String,
    /// Hex SHA-256 of `signed`.
    pub sha256: String,
}

/// Signs `docs` (unsigned credentials sharing one `@context`) with `key`, and each as a VC-JWT
/// with `jwt` (the same key with EdDSA, or the issuer's ES256 key).
pub fn sign_batch(
    docs: &[Value],
    key: &SigningKey,
    verification_method: &str,
    created: &str,
    jwt: &JwtSigner,
) -> Result<Vec<Issued>, IssueError> {
    let Some(first) = docs.first() else { return Ok(vec![]) };
    let options = data_integrity::proof_options(verification_method, created);
    let canonical_config = canon::canonicalize(&data_integrity::proof_config(first, &options)?)?;
    docs.iter()
        .map(|doc| {
            debug_assert_eq!(doc.get("@context"), first.get("@context"));
            let canonical_document = canon::canonicalize(doc)?;
            let data = data_integrity::combine(&canonical_config, &canonical_document);
            let mut proof = options.clone();
            proof["proofValue"] = Value::String(data_integrity::proof_value(key, &data));
            let mut signed = doc.as_object().cloned().ok_or(ProofError::NotAnObject)?;
            // The OB 3.0 JSON Schema (plain-JSON flavour) wants every collection as an array.
            signed.insert("proof".into(), Value::Array(vec![proof]));
            let signed = serde_json::to_string(&Value::Object(signed)).expect("JSON values serialise");
            Ok(Issued { sha256: hex::encode(Sha256::digest(signed.as_bytes())), jwt: jwt.sign(doc)?, signed })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_signatures_verify() {
        let doc: Value = serde_json::from_str(&canon::tests::read("ob-v3p0/unsigned-credential.json")).unwrap();
        let mut other = doc.clone();
        other["name"] = "Other".into();
        let key = SigningKey::from_bytes(&[9u8; 32]);
        let vm = "https://example.edu/issuers/565049#z6Mk";
        let out = sign_batch(&[doc, other], &key, vm, "2026-01-01T00:00:00Z", &JwtSigner::new(&key, vm)).unwrap();
        assert_eq!(out.len(), 2);
        for issued in &out {
            let signed: Value = serde_json::from_str(&issued.signed).unwrap();
            data_integrity::verify(&signed, &key.verifying_key()).unwrap();
            assert_eq!(issued.jwt.split('.').count(), 3);
        }
    }
}
