//! Other issuers' keys: where a `did:web` or https verification method's document lives, and
//! the key inside a fetched document. Pure functions; the fetching is the service's.

use serde_json::Value;

use super::multikey::PublicKey;
use super::verify::KeyInfo;

/// The URL of the document that holds `verification_method`: a `did:web` DID's `did.json`, or an
/// https controller document (the URL without its fragment). `None` for anything else.
pub fn document_url(verification_method: &str) -> Option<String> {
    let (base, _) = verification_method.split_once('#').unwrap_or((verification_method, ""));
    if base.starts_with("did:web:") {
        return did_web_url(base);
    }
    base.starts_with("https://").then(|| base.to_string())
}

/// `did:web:example.org` → `https://example.org/.well-known/did.json`;
/// `did:web:example.org%3A8443:issuers:1` → `https://example.org:8443/issuers/1/did.json`
/// (did:web method specification).
pub fn did_web_url(did: &str) -> Option<String> {
    let rest = did.strip_prefix("did:web:")?;
    let mut parts = rest.split(':');
    let host = parts.next().filter(|h| !h.is_empty())?.replace("%3A", ":").replace("%3a", ":");
    if host.contains(['/', '?', '#', '@', '%']) {
        return None;
    }
    let path: Vec<&str> = parts.collect();
    if path.iter().any(|p| p.is_empty() || p.contains(['/', '?', '#', '%']) || *p == "." || *p == "..") {
        return None;
    }
    Some(if path.is_empty() {
        format!("https://{host}/.well-known/did.json")
    } else {
        format!("https://{host}/{}/did.json", path.join("/"))
    })
}

/// The key `verification_method` names in `document` (fetched from the method's own URL or
/// DID), which must list it under `assertionMethod` (a key that may not make assertions does not
/// sign credentials). The document must be the one the method names (`id` equal to the URL or
/// DID before the `#`), and the key's controller that document: otherwise a page on one site
/// could claim a key for an issuer on another, and the controller check would believe it.
pub fn key_in_document(document: &Value, verification_method: &str) -> Result<KeyInfo, String> {
    let doc_id = document["id"].as_str().unwrap_or_default();
    let (base, _) = verification_method.split_once('#').unwrap_or((verification_method, ""));
    if doc_id != base {
        return Err(format!("the document's id is {doc_id:?}, not {base}"));
    }
    // Ids may be relative to the document ("#key-1").
    let absolute = |id: &str| if id.starts_with('#') { format!("{doc_id}{id}") } else { id.to_string() };
    let names = |v: &Value| v.as_str().map(absolute).or_else(|| v["id"].as_str().map(absolute));
    let listed = document["assertionMethod"]
        .as_array()
        .is_some_and(|a| a.iter().filter_map(names).any(|id| id == verification_method));
    if !listed {
        return Err(format!("{verification_method} is not listed under assertionMethod"));
    }
    let method = document["verificationMethod"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(document["assertionMethod"].as_array().into_iter().flatten().filter(|v| v.is_object()))
        .find(|m| m["id"].as_str().map(absolute).as_deref() == Some(verification_method))
        .ok_or_else(|| format!("{verification_method} is not in the document"))?;
    let public_key = public_key(method).ok_or_else(|| {
        format!("{verification_method} is not a key this verifier reads (an Ed25519 or P-256 Multikey, or an OKP JsonWebKey)")
    })?;
    let controller = method["controller"].as_str().map(absolute).unwrap_or_else(|| doc_id.to_string());
    if controller != doc_id {
        return Err(format!("the key's controller {controller} is not the document it is published in ({doc_id})"));
    }
    Ok(KeyInfo { public_key, controller, compromised_since: None })
}

/// An Ed25519 or P-256 public key as `publicKeyMultibase` (Multikey, Ed25519VerificationKey2020)
/// or an Ed25519 OKP `publicKeyJwk`.
fn public_key(method: &Value) -> Option<PublicKey> {
    if let Some(mb) = method["publicKeyMultibase"].as_str() {
        return PublicKey::from_multibase(mb);
    }
    let jwk = &method["publicKeyJwk"];
    if jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519" {
        use base64::Engine;
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwk["x"].as_str()?).ok()?;
        return x.try_into().ok().map(PublicKey::Ed25519);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn did_web_urls() {
        assert_eq!(did_web_url("did:web:w3c-ccg.github.io").unwrap(), "https://w3c-ccg.github.io/.well-known/did.json");
        assert_eq!(
            did_web_url("did:web:w3c-ccg.github.io:user:alice").unwrap(),
            "https://w3c-ccg.github.io/user/alice/did.json"
        );
        assert_eq!(did_web_url("did:web:example.com%3A3000:u").unwrap(), "https://example.com:3000/u/did.json");
        for bad in ["did:web:", "did:web:a:..:b", "did:web:a/b", "did:web:user@host", "did:key:z6Mk"] {
            assert_eq!(did_web_url(bad), None, "{bad}");
        }
        assert_eq!(document_url("did:web:x.example#key-1").unwrap(), "https://x.example/.well-known/did.json");
        assert_eq!(document_url("https://x.example/issuers/1#key-1").unwrap(), "https://x.example/issuers/1");
        assert_eq!(document_url("http://x.example/issuers/1#key-1"), None);
    }

    #[test]
    fn keys_in_documents() {
        let key = [7u8; 32];
        let mb = super::super::multikey::encode(&key);
        let doc = json!({
            "id": "did:web:x.example",
            "verificationMethod": [{"id": "#key-1", "type": "Multikey", "controller": "did:web:x.example", "publicKeyMultibase": mb},
                                   {"id": "did:web:x.example#key-2", "type": "JsonWebKey",
                                    "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"}}],
            "assertionMethod": ["#key-1", "did:web:x.example#key-2"],
        });
        let k = key_in_document(&doc, "did:web:x.example#key-1").unwrap();
        assert_eq!((k.public_key, k.controller.as_str()), (PublicKey::Ed25519(key), "did:web:x.example"));
        assert_eq!(key_in_document(&doc, "did:web:x.example#key-2").unwrap().public_key, PublicKey::Ed25519(key));
        assert!(key_in_document(&doc, "did:web:x.example#key-3").unwrap_err().contains("assertionMethod"));
        let mut not_asserting = doc.clone();
        not_asserting["assertionMethod"] = json!(["#key-2"]);
        assert!(key_in_document(&not_asserting, "did:web:x.example#key-1").is_err());
        let mut other_id = doc.clone();
        other_id["id"] = json!("did:web:evil.example");
        assert!(key_in_document(&other_id, "did:web:x.example#key-1").unwrap_err().contains("id"));
        // A page on one site cannot claim a key for an issuer elsewhere.
        let page = json!({"id": "https://evil.example/keys",
            "verificationMethod": [{"id": "https://evil.example/keys#k", "type": "Multikey",
                                    "controller": "https://school.example/issuers/1", "publicKeyMultibase": mb}],
            "assertionMethod": ["https://evil.example/keys#k"]});
        assert!(key_in_document(&page, "https://evil.example/keys#k").unwrap_err().contains("controller"));
        let mut elsewhere = page.clone();
        elsewhere["verificationMethod"][0]["controller"] = json!("https://evil.example/keys");
        assert!(key_in_document(&elsewhere, "https://evil.example/keys#k").is_ok());
        elsewhere["id"] = json!("https://school.example/issuers/1");
        assert!(key_in_document(&elsewhere, "https://evil.example/keys#k").unwrap_err().contains("id"));
    }
}
