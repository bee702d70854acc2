//! The bundled JSON-LD context documents: the only place that knows context URLs.
//!
//! JSON-LD processing never fetches anything: a context that is not in this table is an error.
//! Sources and SHA-256 digests of the files are listed in `schemas/contexts/SOURCES.md` and
//! checked by a test, so a silent edit cannot change what our signatures cover.

pub const VC_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// VCDM 1.1, for verifying other issuers' older credentials (we issue on 2.0 only).
pub const VC_V1: &str = "https://www.w3.org/2018/credentials/v1";
pub const OB_V3_0_3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
pub const OB_EXTENSIONS: &str = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json";
/// CLR 2.0, as published at the version-independent address (the only copy we could verify).
pub const CLR_V2: &str = "https://purl.imsglobal.org/spec/clr/v2p0/context.json";
pub const MULTIKEY_V1: &str = "https://w3id.org/security/multikey/v1";
pub const DATA_INTEGRITY_V2: &str = "https://w3id.org/security/data-integrity/v2";
pub const DID_V1: &str = "https://www.w3.org/ns/did/v1";
/// Our own context (version 1) for the EU micro-credential elements Open Badges has no
/// property for. An identifier that does not depend on where a service runs; each service also
/// serves the document at `/contexts/eu-microcredential-v1.jsonld`.
pub const EU_MICROCREDENTIAL_V1: &str = "https://w3id.org/metrobadge/contexts/eu-microcredential-v1.jsonld";
/// The bundled document of [`EU_MICROCREDENTIAL_V1`].
pub const EU_MICROCREDENTIAL_V1_DOC: &str = include_str!("../../schemas/contexts/eu-microcredential-v1.jsonld");

/// (URL, document) of every context we can process.
pub const BUNDLED: &[(&str, &str)] = &[
    (VC_V2, include_str!("../../schemas/contexts/credentials-v2.jsonld")),
    (VC_V1, include_str!("../../schemas/contexts/credentials-v1.jsonld")),
    (OB_V3_0_3, include_str!("../../schemas/contexts/ob-v3p0-context-3.0.3.json")),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        include_str!("../../schemas/contexts/ob-v3p0-context-3.0.2.json"),
    ),
    (
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        include_str!("../../schemas/contexts/ob-v3p0-context-3.0.1.json"),
    ),
    (OB_EXTENSIONS, include_str!("../../schemas/contexts/ob-v3p0-extensions.json")),
    (MULTIKEY_V1, include_str!("../../schemas/contexts/multikey-v1.jsonld")),
    (DATA_INTEGRITY_V2, include_str!("../../schemas/contexts/data-integrity-v2.jsonld")),
    (DID_V1, include_str!("../../schemas/contexts/did-v1.jsonld")),
    (EU_MICROCREDENTIAL_V1, EU_MICROCREDENTIAL_V1_DOC),
    (CLR_V2, include_str!("../../schemas/contexts/clr-v2p0-context.json")),
];

/// The bundled document for `url`, if any.
pub fn lookup(url: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(u, _)| *u == url).map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digests recorded in schemas/contexts/SOURCES.md.
    #[test]
    fn bundled_contexts_match_recorded_digests() {
        let sources = include_str!("../../schemas/contexts/SOURCES.md");
        for (url, doc) in BUNDLED {
            let digest = crate::domain::audit::sha256_hex(doc.as_bytes());
            assert!(sources.contains(&digest), "{url}: digest {digest} not recorded in SOURCES.md");
            let parsed: serde_json::Value = serde_json::from_str(doc).unwrap();
            assert!(parsed.get("@context").is_some(), "{url}");
        }
    }

    #[test]
    fn vc_v2_has_no_vocab() {
        // Why every term must be defined: VC v2 dropped @vocab.
        let doc: serde_json::Value = serde_json::from_str(lookup(VC_V2).unwrap()).unwrap();
        assert!(doc["@context"].get("@vocab").is_none());
    }
}
