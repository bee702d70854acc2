//! Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C VC-DI-EdDSA §3.3).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::canon::{self, CanonError};

pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error(transparent)]
    Canon(#[from] CanonError),
    #[error("the document is not a JSON object")]
    NotAnObject,
    #[error("the document has no proof")]
    NoProof,
    #[error("proof is malformed: {0}")]
    Malformed(&'static str),
    #[error("signature does not match")]
    BadSignature,
}

/// The proof options (VC-DI-EdDSA 3.3.1 step 1): everything but `proofValue`.
pub fn proof_options(verification_method: &str, created: &str) -> Value {
    json!({
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    })
}

/// `SHA-256(canonical proof config) ‖ SHA-256(canonical document)` — proof hash first
/// (VC-DI-EdDSA 3.3.4). `document` must not contain `proof`; `options` must not contain
/// `proofValue`. The proof config gets the document's `@context`.
pub fn hash_data(document: &Value, options: &Value) -> Result<[u8; 64], ProofError> {
    let canonical_document = canon::canonicalize(document)?;
    let canonical_config = canon::canonicalize(&proof_config(document, options)?)?;
    Ok(combine(&canonical_config, &canonical_document))
}

/// The proof configuration: options plus the document's `@context`.
pub fn proof_config(document: &Value, options: &Value) -> Result<Value, ProofError> {
    let mut config = options.as_object().cloned().ok_or(ProofError::Malformed("proof is not an object"))?;
    config.remove("proofValue");
    let ctx = document.get("@context").cloned().ok_or(ProofError::Malformed("document has no @context"))?;
    config.insert("@context".into(), ctx);
    Ok(Value::Object(config))
}

pub fn combine(canonical_config: &str, canonical_document: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&Sha256::digest(canonical_config.as_bytes()));
    out[32..].copy_from_slice(&Sha256::digest(canonical_document.as_bytes()));
    out
}

/// `z` + base58btc of the signature over the hash data.
pub fn proof_value(key: &SigningKey, hash_data: &[u8; 64]) -> String {
    format!("z{}", bs58::encode(key.sign(hash_data).to_bytes()).into_string())
}

/// Adds a proof to `document` (which must not already carry one).
pub fn sign(document: &Value, key: &SigningKey, verification_method: &str, created: &str) -> Result<Value, ProofError> {
    let options = proof_options(verification_method, created);
    let data = hash_data(document, &options)?;
    let mut proof = options;
    proof["proofValue"] = json!(proof_value(key, &data));
    let mut signed: Map<String, Value> = document.as_object().cloned().ok_or(ProofError::NotAnObject)?;
    signed.insert("proof".into(), Value::Array(vec![proof]));
    Ok(Value::Object(signed))
}

/// Splits a signed document into the unsecured document and its single proof object.
pub fn split(signed: &Value) -> Result<(Value, Map<String, Value>), ProofError> {
    let mut doc = signed.as_object().cloned().ok_or(ProofError::NotAnObject)?;
    let proof = match doc.remove("proof").ok_or(ProofError::NoProof)? {
        Value::Object(p) => p,
        Value::Array(mut ps) if ps.len() == 1 => match ps.remove(0) {
            Value::Object(p) => p,
            _ => return Err(ProofError::Malformed("proof is not an object")),
        },
        Value::Array(_) => return Err(ProofError::Malformed("expected exactly one proof")),
        _ => return Err(ProofError::Malformed("proof is not an object")),
    };
    Ok((Value::Object(doc), proof))
}

/// Checks the cryptography of a document's single `eddsa-rdfc-2022` proof against a known
/// public key. (Who the key belongs to, and whether the purpose fits, is the verifier's business.)
pub fn verify(signed: &Value, public_key: &VerifyingKey) -> Result<(), ProofError> {
    let (doc, proof) = split(signed)?;
    verify_proof(&doc, &proof, public_key)
}

/// Checks one proof object over the unsecured document (the document without `proof`).
pub fn verify_proof(
    unsecured: &Value,
    proof: &Map<String, Value>,
    public_key: &VerifyingKey,
) -> Result<(), ProofError> {
    verify_proof_canonical(unsecured, None, proof, public_key)
}

/// [`verify_proof`] reusing the document's canonical form when the caller already has it.
pub fn verify_proof_canonical(
    unsecured: &Value,
    canonical_document: Option<&str>,
    proof: &Map<String, Value>,
    public_key: &VerifyingKey,
) -> Result<(), ProofError> {
    if proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof")
        || proof.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE)
    {
        return Err(ProofError::Malformed("not a DataIntegrityProof with eddsa-rdfc-2022"));
    }
    if proof.get("proofPurpose").and_then(Value::as_str) != Some("assertionMethod") {
        return Err(ProofError::Malformed("proofPurpose must be assertionMethod"));
    }
    let value = proof.get("proofValue").and_then(Value::as_str).ok_or(ProofError::Malformed("no proofValue"))?;
    let bytes = value
        .strip_prefix('z')
        .and_then(|b| bs58::decode(b).into_vec().ok())
        .ok_or(ProofError::Malformed("proofValue is not base58btc multibase"))?;
    let signature = Signature::from_slice(&bytes).map_err(|_| ProofError::Malformed("proofValue is not 64 bytes"))?;
    let data = match canonical_document {
        Some(doc) => combine(&canon::canonicalize(&proof_config(unsecured, &Value::Object(proof.clone()))?)?, doc),
        None => hash_data(unsecured, &Value::Object(proof.clone()))?,
    };
    public_key.verify(&data, &signature).map_err(|_| ProofError::BadSignature)
}

/// Every proof object of a signed document (a single object or an array), and the document
/// without them.
pub fn proofs(signed: &Value) -> (Value, Vec<Map<String, Value>>) {
    let mut doc = signed.as_object().cloned().unwrap_or_default();
    let proofs = match doc.remove("proof") {
        Some(Value::Object(p)) => vec![p],
        Some(Value::Array(ps)) => {
            ps.into_iter().filter_map(|p| if let Value::Object(o) = p { Some(o) } else { None }).collect()
        }
        _ => vec![],
    };
    (Value::Object(doc), proofs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::canon::tests::read;

    const EXAMPLES_V2: (&str, &str) = (
        "https://www.w3.org/ns/credentials/examples/v2",
        r#"{"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}"#,
    );

    fn json(path: &str) -> Value {
        serde_json::from_str(&read(path)).unwrap()
    }

    #[test]
    fn ob_vector_reproduces_exactly() {
        let doc = json("ob-v3p0/unsigned-credential.json");
        let seed: [u8; 32] = hex::decode("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4")
            .unwrap()
            .try_into()
            .unwrap();
        let key = SigningKey::from_bytes(&seed);
        let vm = "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi";
        let options = proof_options(vm, "2010-01-01T19:23:24Z");
        let canonical_config = canon::canonicalize(&proof_config(&doc, &options).unwrap()).unwrap();
        assert_eq!(canonical_config, read("ob-v3p0/proof-canon.nq"));
        let data = hash_data(&doc, &options).unwrap();
        assert_eq!(hex::encode(&data[..32]), "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19");
        assert_eq!(hex::encode(&data[32..]), "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773");
        let signed = sign(&doc, &key, vm, "2010-01-01T19:23:24Z").unwrap();
        assert_eq!(
            signed["proof"][0]["proofValue"],
            "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr"
        );
        verify(&signed, &key.verifying_key()).unwrap();
        let mut tampered = signed.clone();
        tampered["name"] = json!("Teamwork Badgf");
        assert!(matches!(verify(&tampered, &key.verifying_key()), Err(ProofError::BadSignature)));
    }

    #[test]
    fn w3c_eddsa_rdfc_2022_vector() {
        let doc = json("vc-di-eddsa/unsigned.json");
        let options = json("vc-di-eddsa/eddsa-rdfc-2022/proofConfigDataInt.json");
        let extra = [EXAMPLES_V2];
        let canonical_document = canon::canonicalize_with_extra(&doc, &extra).unwrap();
        assert_eq!(canonical_document, read("vc-di-eddsa/eddsa-rdfc-2022/canonDocDataInt.txt"));
        let canonical_config = canon::canonicalize_with_extra(&proof_config(&doc, &options).unwrap(), &extra).unwrap();
        assert_eq!(canonical_config, read("vc-di-eddsa/eddsa-rdfc-2022/proofCanonDataInt.txt"));
        let data = combine(&canonical_config, &canonical_document);
        assert_eq!(hex::encode(&data[..32]), read("vc-di-eddsa/eddsa-rdfc-2022/proofHashDataInt.txt").trim());
        assert_eq!(hex::encode(&data[32..]), read("vc-di-eddsa/eddsa-rdfc-2022/docHashDataInt.txt").trim());
        // privateKeyMultibase = z + base58(0x8026 ‖ seed)
        let keys = json("vc-di-eddsa/keyPair.json");
        let raw = bs58::decode(&keys["privateKeyMultibase"].as_str().unwrap()[1..]).into_vec().unwrap();
        assert_eq!(&raw[..2], &[0x80, 0x26]);
        let key = SigningKey::from_bytes(&raw[2..34].try_into().unwrap());
        assert_eq!(
            crate::credential::multikey::encode(&key.verifying_key().to_bytes()),
            keys["publicKeyMultibase"].as_str().unwrap()
        );
        assert_eq!(proof_value(&key, &data), read("vc-di-eddsa/eddsa-rdfc-2022/sigBTC58DataInt.txt").trim());
    }
}
