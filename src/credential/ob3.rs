//! Open Badges 3.0 documents built from our domain data: the issuer `Profile` (which doubles as
//! the controller document of the issuer's keys), its did:web document, and `Achievement`s.
//!
//! Every property emitted here is defined by a context the document lists (OB 3.0 §1.1: the VC v2
//! context has no `@vocab`, so undefined terms would silently drop out of signatures).

use serde_json::{Map, Value, json};

pub use crate::credential::multikey::PublicKey;
use crate::domain::issuer::IssuerSpec;
use crate::domain::metro_line::MetroLineSpec;
use crate::domain::nanomodule::NanomoduleSpec;
use crate::domain::skill::{AlignmentSpec, Framework, Level, SkillSpec};

use super::contexts::{DID_V1, MULTIKEY_V1, OB_V3_0_3 as OB_V3, VC_V2};

/// `<base>/issuers/<id>`: the issuer's id in every credential and the key controller.
/// What a signed credential is called, for people: its achievement's name (badges and
/// certificates), else its own `name` (endorsements); empty when it has neither.
pub fn display_name(vc: &Value) -> &str {
    vc["credentialSubject"]["achievement"]["name"].as_str().or(vc["name"].as_str()).unwrap_or_default()
}

pub fn issuer_url(base: &str, issuer_id: uuid::Uuid) -> String {
    format!("{base}/issuers/{issuer_id}")
}

/// The verification method id of a key: `<issuer id>#<multibase>` (resolvable offline by the
/// 1EdTech validator, which reads the key from the fragment).
pub fn verification_method(issuer_id: &str, key: &PublicKey) -> String {
    format!("{issuer_id}#{}", key.multibase())
}

/// The embedded issuer `Profile` as it appears inside credentials (no key material).
pub fn profile(id: &str, spec: &IssuerSpec) -> Value {
    let mut p = Map::new();
    p.insert("id".into(), json!(id));
    p.insert("type".into(), json!(["Profile"]));
    p.insert("name".into(), json!(spec.name()));
    let optional =
        [("url", &spec.url), ("email", &spec.email), ("description", &spec.description), ("phone", &spec.phone)];
    for (k, v) in optional {
        if let Some(v) = v {
            p.insert(k.into(), json!(v));
        }
    }
    if let Some(image) = &spec.image {
        p.insert("image".into(), json!({"id": image, "type": "Image"}));
    }
    if let Some(a) = &spec.address {
        let mut addr = serde_json::to_value(a).expect("address serialises");
        addr["type"] = json!(["Address"]);
        p.insert("address".into(), addr);
    }
    if !spec.other_identifier.is_empty() {
        let ids: Vec<Value> = spec
            .other_identifier
            .iter()
            .map(
                |e| json!({"type": "IdentifierEntry", "identifier": e.identifier, "identifierType": e.identifier_type}),
            )
            .collect();
        p.insert("otherIdentifier".into(), Value::Array(ids));
    }
    Value::Object(p)
}

/// The public issuer document: OB 3.0 Profile plus every key ever used, as `Multikey`
/// verification methods referenced from `assertionMethod`. The DID v1 context comes first: it
/// defines `verificationMethod` and `assertionMethod` (VC v2 defines them only inside proofs),
/// and controller-document checkers treat such documents without re-framing them.
pub fn profile_document(id: &str, spec: &IssuerSpec, keys: &[PublicKey]) -> Value {
    let mut doc = profile(id, spec);
    let methods: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "id": verification_method(id, k),
                "type": "Multikey",
                "controller": id,
                "publicKeyMultibase": k.multibase(),
            })
        })
        .collect();
    let refs: Vec<Value> = keys.iter().map(|k| json!(verification_method(id, k))).collect();
    let obj = doc.as_object_mut().expect("profile is an object");
    obj.insert("@context".into(), json!([DID_V1, VC_V2, OB_V3, MULTIKEY_V1]));
    obj.insert("verificationMethod".into(), Value::Array(methods));
    obj.insert("assertionMethod".into(), Value::Array(refs));
    reorder_context_first(doc)
}

/// `did:web` identifier for `<base>/issuers/<id>` (the port's colon is percent-encoded).
pub fn did_web(base: &str, issuer_id: uuid::Uuid) -> String {
    let rest = base.split_once("://").map(|(_, r)| r).unwrap_or(base);
    let mut parts = rest.trim_end_matches('/').splitn(2, '/');
    let host = parts.next().unwrap_or_default().replace(':', "%3A");
    let path: Vec<&str> = parts.next().map(|p| p.split('/').filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let mut did = format!("did:web:{host}");
    for seg in path {
        did.push(':');
        did.push_str(seg);
    }
    format!("{did}:issuers:{issuer_id}")
}

pub fn did_document(did: &str, keys: &[PublicKey]) -> Value {
    let methods: Vec<Value> = keys
        .iter()
        .map(|k| json!({"id": format!("{did}#{}", k.multibase()), "type": "Multikey", "controller": did, "publicKeyMultibase": k.multibase()}))
        .collect();
    let refs: Vec<Value> = keys.iter().map(|k| json!(format!("{did}#{}", k.multibase()))).collect();
    json!({
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "authentication": refs.clone(),
        "assertionMethod": refs,
    })
}

/// A skill as it appears in an achievement's `alignment`.
#[derive(Debug, Clone)]
pub struct SkillRef {
    /// Our public URL of the skill, used as `targetUrl` when it has no external alignment.
    pub url: String,
    pub spec: SkillSpec,
}

/// Everything an Achievement needs besides the module's own spec.
pub struct AchievementContext<'a> {
    pub id: String,
    pub version: i64,
    pub image_url: String,
    pub creator: Value,
    pub skills: &'a [SkillRef],
}

/// OB 3.0 `Achievement` for one nanomodule version (without `@context`, as embedded in a
/// credential; [`with_context`] makes it a standalone document).
pub fn achievement(spec: &NanomoduleSpec, ctx: &AchievementContext<'_>) -> Value {
    let mut a = Map::new();
    a.insert("id".into(), json!(ctx.id));
    a.insert("type".into(), json!(["Achievement"]));
    a.insert("name".into(), json!(spec.name));
    a.insert("description".into(), json!(spec.description));
    let mut criteria = Map::new();
    if let Some(c) = &spec.criteria {
        if let Some(id) = &c.id {
            criteria.insert("id".into(), json!(id));
        }
        if let Some(n) = &c.narrative {
            criteria.insert("narrative".into(), json!(n));
        }
    }
    a.insert("criteria".into(), Value::Object(criteria));
    a.insert("image".into(), json!({"id": ctx.image_url, "type": "Image", "caption": spec.name}));
    a.insert("achievementType".into(), json!(spec.achievement_type.as_deref().unwrap_or("Course")));
    a.insert("creditsAvailable".into(), json!(spec.hours()));
    a.insert("creator".into(), ctx.creator.clone());
    a.insert("version".into(), json!(ctx.version.to_string()));
    if let Some(lang) = &spec.language {
        a.insert("inLanguage".into(), json!(lang));
    }
    if !spec.tags.is_empty() {
        a.insert("tag".into(), json!(spec.tags));
    }
    let mut alignment: Vec<Value> = ctx.skills.iter().map(skill_alignment).collect();
    if let Some(level) = &spec.level {
        alignment.push(level_alignment(level));
    }
    if !alignment.is_empty() {
        a.insert("alignment".into(), Value::Array(alignment));
    }
    if let Some(mc) = &spec.micro_credential {
        a.insert("euMicroCredential".into(), micro_credential(mc, spec.hours()));
    }
    Value::Object(a)
}

/// The EU micro-credential elements Open Badges has no property for, in our own context
/// ([`super::contexts::EU_MICROCREDENTIAL_V1`]); the rest are OB properties of the achievement
/// (`achievementType`, `creditsAvailable`, `alignment`, `inLanguage`) and issuer (`address`).
fn micro_credential(mc: &crate::domain::nanomodule::MicroCredentialSpec, hours: f64) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!("EuMicroCredential"));
    m.insert("learningOutcome".into(), json!(mc.learning_outcomes));
    m.insert("workloadHours".into(), json!(hours));
    m.insert("ects".into(), json!(mc.ects(hours)));
    m.insert("hoursPerEcts".into(), json!(mc.hours_per_ects.unwrap_or(crate::domain::nanomodule::HOURS_PER_ECTS)));
    for (k, v) in [
        ("assessmentType", &mc.assessment_type),
        ("participationForm", &mc.participation),
        ("qualityAssurance", &mc.quality_assurance),
        ("prerequisites", &mc.prerequisites),
        ("supervisionAndIdentityVerification", &mc.supervision),
        ("gradingScheme", &mc.grading),
        ("integrationAndStackability", &mc.integration),
        ("furtherInformation", &mc.further_information),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    Value::Object(m)
}

/// Adds the contexts that define an embedded document's terms, first.
pub fn with_context(doc: Value) -> Value {
    let mut doc = doc;
    doc.as_object_mut().expect("object").insert("@context".into(), json!([VC_V2, OB_V3]));
    reorder_context_first(doc)
}

fn reorder_context_first(doc: Value) -> Value {
    let Value::Object(mut m) = doc else { return doc };
    let mut out = Map::new();
    if let Some(ctx) = m.remove("@context") {
        out.insert("@context".into(), ctx);
    }
    out.extend(m);
    Value::Object(out)
}

fn skill_alignment(skill: &SkillRef) -> Value {
    let s = &skill.spec;
    let ext = s.alignment.clone().unwrap_or_default();
    alignment(&ext, s.name.as_deref(), &skill.url, s.description.as_deref(), "ceasn:Competency")
}

/// An OB `Alignment` from an issuer's alignment fields, with fallbacks for what they left out.
fn alignment(
    ext: &AlignmentSpec,
    name: Option<&str>,
    url: &str,
    description: Option<&str>,
    default_type: &str,
) -> Value {
    let mut a = Map::new();
    a.insert("type".into(), json!(["Alignment"]));
    a.insert("targetName".into(), json!(ext.target_name.as_deref().or(name).unwrap_or_default()));
    a.insert("targetUrl".into(), json!(ext.target_url.as_deref().unwrap_or(url)));
    let desc = ext.target_description.as_deref().or(description);
    for (k, v) in [
        ("targetCode", ext.target_code.as_deref()),
        ("targetFramework", ext.target_framework.as_deref()),
        ("targetDescription", desc),
    ] {
        if let Some(v) = v {
            a.insert(k.into(), json!(v));
        }
    }
    a.insert("targetType".into(), json!(ext.target_type.as_deref().unwrap_or(default_type)));
    Value::Object(a)
}

/// What a partial certificate's achievement needs besides the line's definition.
pub struct CertificateContext {
    /// The public URL of this line version's achievement.
    pub id: String,
    pub version: i64,
    pub image_url: String,
    pub creator: Value,
    /// Where the line is described (fallback alignment target).
    pub line_url: String,
}

/// OB 3.0 `Achievement` of type `Certificate` that completing a metro line version earns.
/// `version` says which line version decided it.
pub fn certificate_achievement(line: &MetroLineSpec, ctx: &CertificateContext) -> Value {
    let cert = line.certificate.clone().unwrap_or_default();
    let name = cert.name.clone().or_else(|| line.name.clone()).unwrap_or_default();
    let mut a = Map::new();
    a.insert("id".into(), json!(ctx.id));
    a.insert("type".into(), json!(["Achievement"]));
    a.insert("name".into(), json!(name));
    a.insert("description".into(), json!(cert.description.as_deref().or(line.description.as_deref()).unwrap_or(&name)));
    let mut criteria = Map::new();
    let narrative = cert.criteria.as_ref().and_then(|c| c.narrative.clone()).unwrap_or_else(|| {
        format!("Earn the badges of the metro line \"{}\" as its rule requires.", line.name.as_deref().unwrap_or(&name))
    });
    if let Some(id) = cert.criteria.as_ref().and_then(|c| c.id.clone()) {
        criteria.insert("id".into(), json!(id));
    }
    criteria.insert("narrative".into(), json!(narrative));
    a.insert("criteria".into(), Value::Object(criteria));
    a.insert("image".into(), json!({"id": ctx.image_url, "type": "Image", "caption": name}));
    let kind = if cert.micro_credential.is_some() { "MicroCredential" } else { "Certificate" };
    a.insert("achievementType".into(), json!(kind));
    if let Some(credits) = cert.credits {
        a.insert("creditsAvailable".into(), json!(credits));
    }
    a.insert("creator".into(), ctx.creator.clone());
    a.insert("version".into(), json!(ctx.version.to_string()));
    let aligned: Vec<Value> =
        cert.alignment.iter().map(|al| alignment(al, Some(&name), &ctx.line_url, None, "ceterms:Credential")).collect();
    if !aligned.is_empty() {
        a.insert("alignment".into(), Value::Array(aligned));
    }
    if let Some(mc) = &cert.micro_credential {
        a.insert("euMicroCredential".into(), micro_credential(mc, cert.credits.unwrap_or_default()));
    }
    Value::Object(a)
}

fn level_alignment(level: &Level) -> Value {
    let (name, url) = match level.framework {
        Framework::Eqf => ("EQF", "https://europass.europa.eu/en/description-eight-eqf-levels"),
        Framework::Nlqf => ("NLQF", "https://www.nlqf.nl/"),
    };
    json!({
        "type": ["Alignment"],
        "targetName": format!("{name} level {}", level.level),
        "targetUrl": url,
        "targetCode": level.level.to_string(),
        "targetFramework": level.framework.as_str(),
        "targetType": format!("ext:{name}"),
    })
}

/// A plain default badge image for modules without artwork: a coloured disc with the initials.
pub fn default_image_svg(name: &str) -> String {
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphanumeric())
        .take(3)
        .collect::<String>()
        .to_uppercase();
    let digest = crate::domain::audit::sha256_hex(name.as_bytes());
    let hue = u32::from_str_radix(&digest[..4], 16).unwrap_or(0) % 360;
    askama::Template::render(&DefaultBadge { label: name, hue, initials: &initials })
        .expect("the badge template renders")
}

#[derive(askama::Template)]
#[template(path = "default_badge.svg")]
struct DefaultBadge<'a> {
    label: &'a str,
    hue: u32,
    initials: &'a str,
}

/// An SVG wrapping a PNG, so a PNG-only badge can be baked as SVG too.
pub fn png_in_svg(label: &str, png: &[u8]) -> String {
    use base64::Engine;
    let png_base64 = base64::engine::general_purpose::STANDARD.encode(png);
    askama::Template::render(&PngInSvg { label, png_base64: &png_base64 }).expect("the wrapper template renders")
}

#[derive(askama::Template)]
#[template(path = "png_in_svg.svg")]
struct PngInSvg<'a> {
    label: &'a str,
    png_base64: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_document_is_valid_strict_json_ld() {
        let spec: IssuerSpec = serde_json::from_value(json!({
            "name": "A", "url": "https://a.example", "email": "a@a.example", "description": "d", "phone": "+31 1",
            "image": "https://a.example/logo.png", "address": {"addressLocality": "Enschede", "addressCountryCode": "NL"},
            "otherIdentifier": [{"identifier": "1", "identifierType": "ext:KvK"}]
        }))
        .unwrap();
        let doc = profile_document("https://a.example/issuers/1", &spec, &[PublicKey::Ed25519([1; 32])]);
        let nquads = crate::credential::canon::canonicalize(&doc).expect("every term is defined");
        assert!(nquads.contains("<https://w3id.org/security#assertionMethod>"), "{nquads}");
        assert!(nquads.contains("<https://w3id.org/security#publicKeyMultibase>"), "{nquads}");
        assert!(nquads.contains("https://purl.imsglobal.org/spec/vc/ob/vocab.html#Profile"), "{nquads}");
    }

    #[test]
    fn did_web_encodes_port_and_path() {
        let id = uuid::Uuid::nil();
        assert_eq!(did_web("http://127.0.0.1:8080", id), format!("did:web:127.0.0.1%3A8080:issuers:{id}"));
        assert_eq!(did_web("https://badges.example.nl/mb", id), format!("did:web:badges.example.nl:mb:issuers:{id}"));
    }

    #[test]
    fn default_image_escapes() {
        let svg = default_image_svg("<script> & co");
        assert!(svg.contains("&#60;script&#62; &#38; co"), "{svg}");
        assert!(!svg.contains("<script>"));
        crate::credential::image::check_svg(&svg).expect("a clean SVG");
    }
}
