//! A wallet's proof of possession (OpenID4VCI 1.0, proof type `jwt`) and the holder-bound copy
//! of a credential issued to that key.
//!
//! Only Ed25519 holder keys are accepted (`alg` `EdDSA`), named either by a `jwk` header or by a
//! `did:key` `kid`; the holder is identified by its `did:key` either way, since an OB 3.0
//! `credentialSubject.id` must be a URI.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::Value;

use super::multikey;

pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolderProofError {
    #[error("the proof is not a compact JWT: {0}")]
    Malformed(String),
    #[error("the proof's typ must be {PROOF_TYP}")]
    Typ,
    #[error("only EdDSA (Ed25519) holder keys are supported")]
    Alg,
    #[error("the proof names its key by an Ed25519 jwk or a did:key kid (exactly one)")]
    Key,
    #[error("the proof's signature does not verify")]
    Signature,
}

/// What a verified proof says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderProof {
    /// `did:key:z6Mk…` of the holder's key.
    pub holder: String,
    pub aud: Option<String>,
    pub nonce: Option<String>,
    pub iat: Option<i64>,
}

fn part(s: &str) -> Result<Value, HolderProofError> {
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|e| HolderProofError::Malformed(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| HolderProofError::Malformed(e.to_string()))
}

/// Verifies a proof-of-possession JWT against the key it names.
pub fn verify_proof(jwt: &str) -> Result<HolderProof, HolderProofError> {
    let mut parts = jwt.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(HolderProofError::Malformed("expected three dot-separated parts".into()));
    };
    let header = part(h)?;
    let payload = part(p)?;
    if header["typ"] != PROOF_TYP {
        return Err(HolderProofError::Typ);
    }
    if header["alg"] != "EdDSA" && header["alg"] != "Ed25519" {
        return Err(HolderProofError::Alg);
    }
    let key: [u8; 32] = match (header.get("jwk"), header["kid"].as_str()) {
        (Some(jwk), None) if jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519" && jwk.get("d").is_none() => jwk["x"]
            .as_str()
            .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
            .and_then(|x| x.try_into().ok())
            .ok_or(HolderProofError::Key)?,
        (None, Some(kid)) => {
            let did = kid.split('#').next().unwrap_or_default();
            did.strip_prefix("did:key:").and_then(multikey::decode).ok_or(HolderProofError::Key)?
        }
        _ => return Err(HolderProofError::Key),
    };
    let verifying = VerifyingKey::from_bytes(&key).map_err(|_| HolderProofError::Key)?;
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or(HolderProofError::Signature)?;
    verifying.verify(format!("{h}.{p}").as_bytes(), &signature).map_err(|_| HolderProofError::Signature)?;
    Ok(HolderProof {
        holder: format!("did:key:{}", multikey::encode(&key)),
        aud: payload["aud"].as_str().map(str::to_string),
        nonce: payload["nonce"].as_str().map(str::to_string),
        iat: payload["iat"].as_i64(),
    })
}

/// The unsigned holder-bound copy of a signed credential: a new `id`, the holder's DID as
/// `credentialSubject.id`, everything else (issuer, achievement, dates, evidence, status entry)
/// as issued, so the copy shares the original's status.
pub fn holder_copy(original: &Value, id: &str, holder: &str) -> Option<Value> {
    let mut doc = original.as_object()?.clone();
    doc.remove("proof");
    doc.insert("id".into(), Value::String(id.into()));
    let subject = doc.get_mut("credentialSubject")?.as_object_mut()?;
    subject.insert("id".into(), Value::String(holder.into()));
    Some(Value::Object(doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};
    use serde_json::json;

    fn jwt(key: &SigningKey, header: Value, payload: Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(payload.to_string());
        let sig = key.sign(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    #[test]
    fn jwk_and_did_key_proofs_name_the_same_holder() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let public = key.verifying_key().to_bytes();
        let x = URL_SAFE_NO_PAD.encode(public);
        let payload = json!({"aud": "https://issuer.example", "nonce": "n1", "iat": 1_800_000_000});
        let by_jwk = jwt(
            &key,
            json!({"typ": PROOF_TYP, "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": x}}),
            payload.clone(),
        );
        let p = verify_proof(&by_jwk).unwrap();
        assert!(p.holder.starts_with("did:key:z6Mk"));
        assert_eq!(
            (p.aud.as_deref(), p.nonce.as_deref(), p.iat),
            (Some("https://issuer.example"), Some("n1"), Some(1_800_000_000))
        );
        let kid = format!("{}#{}", p.holder, &p.holder[8..]);
        let by_kid = jwt(&key, json!({"typ": PROOF_TYP, "alg": "EdDSA", "kid": kid}), payload.clone());
        assert_eq!(verify_proof(&by_kid).unwrap().holder, p.holder);

        let wrong_typ = jwt(&key, json!({"typ": "JWT", "alg": "EdDSA", "kid": kid}), payload.clone());
        assert_eq!(verify_proof(&wrong_typ), Err(HolderProofError::Typ));
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let forged = jwt(&other, json!({"typ": PROOF_TYP, "alg": "EdDSA", "kid": kid}), payload.clone());
        assert_eq!(verify_proof(&forged), Err(HolderProofError::Signature));
        let es256 = jwt(&key, json!({"typ": PROOF_TYP, "alg": "ES256", "kid": kid}), payload);
        assert_eq!(verify_proof(&es256), Err(HolderProofError::Alg));
        assert!(matches!(verify_proof("a.b"), Err(HolderProofError::Malformed(_))));
    }

    #[test]
    fn copy_keeps_everything_but_id_subject_id_and_proof() {
        let original = json!({"id": "https://x/credentials/1", "credentialStatus": {"id": "s#1"},
            "credentialSubject": {"type": ["AchievementSubject"], "identifier": [{"salt": "s"}]}, "proof": [{}]});
        let copy = holder_copy(&original, "https://x/credentials/2", "did:key:z6Mk1").unwrap();
        assert_eq!(copy["id"], "https://x/credentials/2");
        assert_eq!(copy["credentialSubject"]["id"], "did:key:z6Mk1");
        assert_eq!(copy["credentialSubject"]["identifier"], original["credentialSubject"]["identifier"]);
        assert_eq!(copy["credentialStatus"], original["credentialStatus"]);
        assert!(copy.get("proof").is_none());
    }
}
