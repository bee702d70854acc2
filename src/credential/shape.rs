//! The fast path of canonicalisation: JSON-LD processing once per document *shape*.
//!
//! Converting JSON-LD to RDF is where the time goes (processing the large VC and OB contexts),
//! yet credentials of one cohort differ only in string values. So a document is split into its
//! shape — the JSON with every string value replaced by a numbered placeholder IRI
//! (`@context` and `type` values stay, they decide the structure) — and the list of those
//! strings. The shape goes through the general path once; the placeholders are then located in
//! the resulting quads, and each document of that shape is made by putting its own strings back
//! into the quads before RDFC-1.0.
//!
//! This is only sound where a string lands in the RDF verbatim, so the template is checked:
//! every placeholder must appear as a whole IRI or a whole literal and nowhere else, and a value
//! put into an IRI position must be an absolute IRI that JSON-LD leaves unchanged. Anything
//! else returns `None` and the caller takes the general path. A property test compares both
//! paths byte for byte on generated credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};
use sophia::api::MownStr;
use sophia::api::term::IriRef;
use sophia::api::term::SimpleTerm;

use super::canon::{self, CanonError, Quad};

const PLACEHOLDER: &str = "urn:x-metrobadge-slot:";
/// Keys whose string values stay in the shape: they decide structure (`@context`, types) or
/// are `@vocab`-coerced (`proofPurpose`), so they never land in the RDF verbatim.
const STRUCTURAL: &[&str] = &["@context", "type", "@type", "proofPurpose"];
/// Shapes remembered at once; a full cache is simply emptied (shapes are cheap to rebuild).
const CACHE_LIMIT: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotKind {
    Iri,
    Literal,
}

/// Where each slot's value goes in the quads of a shape.
#[derive(Debug)]
pub struct Template {
    quads: Vec<Quad>,
    /// (quad index, position 0..4 = s/p/o/g, slot)
    uses: Vec<(usize, u8, usize)>,
    kinds: Vec<SlotKind>,
}

/// Splits `doc` into its shape (placeholders in place of strings) and the strings, in a fixed
/// traversal order (object keys sorted, arrays in order).
pub fn split(doc: &Value) -> (Value, Vec<String>) {
    fn walk(v: &Value, key: Option<&str>, values: &mut Vec<String>) -> Value {
        match v {
            Value::String(s) if !matches!(key, Some(k) if STRUCTURAL.contains(&k)) => {
                let n = values.len();
                values.push(s.clone());
                Value::String(format!("{PLACEHOLDER}{n}"))
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| walk(i, key, values)).collect()),
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    let keep = STRUCTURAL.contains(&k.as_str());
                    out.insert(k.clone(), if keep && !v.is_object() { v.clone() } else { walk(v, Some(k), values) });
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
    let mut values = Vec::new();
    let shape = walk(doc, None, &mut values);
    (shape, values)
}

fn slot_of(s: &str) -> Option<usize> {
    s.strip_prefix(PLACEHOLDER)?.parse().ok()
}

/// Runs the general path on a shape and locates every placeholder; `None` if any placeholder
/// is missing, transformed, or used both as an IRI and as a literal.
pub fn template(shape: &Value, slots: usize) -> Result<Option<Template>, CanonError> {
    let quads = canon::to_quads(shape)?;
    let mut kinds: Vec<Option<SlotKind>> = vec![None; slots];
    let mut uses = Vec::new();
    for (qi, q) in quads.iter().enumerate() {
        let terms = [Some(&q.s), Some(&q.p), Some(&q.o), q.g.as_ref()];
        for (pos, term) in terms.into_iter().enumerate() {
            let Some(term) = term else { continue };
            let (text, kind) = match term {
                SimpleTerm::Iri(i) => (i.as_str(), SlotKind::Iri),
                SimpleTerm::LiteralDatatype(lex, dt) => {
                    if dt.as_str().contains(PLACEHOLDER) {
                        return Ok(None);
                    }
                    (lex.as_ref(), SlotKind::Literal)
                }
                SimpleTerm::LiteralLanguage(lex, ..) => (lex.as_ref(), SlotKind::Literal),
                SimpleTerm::BlankNode(_) => continue,
                _ => return Ok(None),
            };
            if !text.contains(PLACEHOLDER) {
                continue;
            }
            let Some(n) = slot_of(text).filter(|n| *n < slots) else { return Ok(None) };
            match kinds[n] {
                Some(k) if k != kind => return Ok(None),
                _ => kinds[n] = Some(kind),
            }
            uses.push((qi, pos as u8, n));
        }
    }
    let Some(kinds) = kinds.into_iter().collect::<Option<Vec<_>>>() else { return Ok(None) };
    Ok(Some(Template { quads, uses, kinds }))
}

/// An absolute IRI that JSON-LD keeps as it is in an `@id` / `@vocab` position.
fn plain_absolute_iri(v: &str) -> bool {
    let scheme_ok =
        ["https://", "http://", "urn:", "did:"].iter().any(|p| v.starts_with(p)) && !v.starts_with(PLACEHOLDER);
    scheme_ok
        && v.len() > 5
        && !v.chars().any(|c| c.is_whitespace() || c.is_control() || "<>\"{}|\\^`".contains(c))
        // Exactly the IRI grammar the RDF terms are checked against later (e.g. U+FFFD is no
        // IRI character): anything else takes the general path, which reports it.
        && IriRef::new(v).is_ok()
}

impl Template {
    /// Canonical N-Quads for a document of this shape with `values`; `None` if a value may not
    /// go where its slot is (the general path then decides).
    pub fn canonicalize(&self, values: &[String]) -> Option<Result<String, CanonError>> {
        if values.len() != self.kinds.len() {
            return None;
        }
        if self.kinds.iter().zip(values).any(|(k, v)| *k == SlotKind::Iri && !plain_absolute_iri(v)) {
            return None;
        }
        let mut quads = self.quads.clone();
        for &(qi, pos, n) in &self.uses {
            let q = &mut quads[qi];
            let term = match pos {
                0 => &mut q.s,
                1 => &mut q.p,
                2 => &mut q.o,
                _ => q.g.as_mut().expect("recorded graph position exists"),
            };
            let value = MownStr::from(values[n].clone());
            *term = match (&*term, self.kinds[n]) {
                (_, SlotKind::Iri) => SimpleTerm::Iri(IriRef::new_unchecked(value)),
                (SimpleTerm::LiteralDatatype(_, dt), SlotKind::Literal) => {
                    SimpleTerm::LiteralDatatype(value, dt.clone())
                }
                (SimpleTerm::LiteralLanguage(_, tag, dir), SlotKind::Literal) => {
                    SimpleTerm::LiteralLanguage(value, tag.clone(), *dir)
                }
                _ => return None,
            };
        }
        Some(canon::canonicalize_quads(&quads))
    }
}

type Cache = Mutex<HashMap<String, Option<Arc<Template>>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Canonicalises through the cached template of `doc`'s shape. `None` means "use the general
/// path" (the shape cannot be templated, or a value does not fit its slot).
pub fn canonicalize_cached(doc: &Value) -> Option<Result<String, CanonError>> {
    let (shape, values) = split(doc);
    let key = shape.to_string();
    let cached = cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
    let template = match cached {
        Some(t) => t?,
        None => {
            let built = match template(&shape, values.len()) {
                Ok(t) => t.map(Arc::new),
                // The shape itself is not valid JSON-LD: let the general path report the error.
                Err(_) => None,
            };
            let mut c = cache().lock().unwrap_or_else(|p| p.into_inner());
            if c.len() >= CACHE_LIMIT {
                c.clear();
            }
            c.insert(key, built.clone());
            built?
        }
    };
    template.canonicalize(&values)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    use super::*;
    use crate::credential::badge::{self, StatusEntry};
    use crate::credential::ob3;
    use crate::domain::award::{EvidenceInput, IdentityType, Recipient, ResultInput};
    use crate::domain::issuer::IssuerSpec;
    use crate::domain::nanomodule::NanomoduleSpec;
    use crate::domain::skill::{AlignmentSpec, Framework, Level, SkillSpec};

    /// Strings that stress escaping and lookalikes of JSON-LD syntax and of our placeholders.
    fn text(rng: &mut StdRng) -> String {
        const PARTS: &[&str] = &[
            "Smeren",
            "lagers",
            " ",
            "é",
            "ß",
            "🙂",
            "\"quoted\"",
            "back\\slash",
            "new\nline",
            "tab\t",
            "@id",
            "_:b0",
            "urn:x-metrobadge-slot:3",
            "http://x",
            "<>",
            "ext:NLQF",
            "0",
            "3.5",
            "true",
            "",
        ];
        let n = rng.gen_range(1..5);
        let s: String = (0..n).map(|_| PARTS[rng.gen_range(0..PARTS.len())]).collect();
        if s.trim().is_empty() { "x".into() } else { s }
    }

    fn url(rng: &mut StdRng) -> String {
        format!("https://ex{}.example/{}", rng.gen_range(0..5), rng.gen_range(0..100_000))
    }

    fn maybe<T>(rng: &mut StdRng, f: impl FnOnce(&mut StdRng) -> T) -> Option<T> {
        rng.gen_bool(0.5).then(|| f(rng))
    }

    fn recipient(
        rng: &mut StdRng,
        kind: IdentityType,
        with_evidence: usize,
        with_result: bool,
        with_narrative: bool,
    ) -> Recipient {
        Recipient {
            identity: if kind == IdentityType::Did {
                format!("did:example:{}", rng.gen_range(0..1_000_000))
            } else {
                text(rng)
            },
            identity_type: kind,
            name: None,
            evidence: (0..with_evidence)
                .map(|_| EvidenceInput {
                    id: Some(url(rng)),
                    name: Some(text(rng)),
                    narrative: Some(text(rng)),
                    description: None,
                    genre: None,
                })
                .collect(),
            result: with_result.then(|| ResultInput {
                value: Some(text(rng)),
                status: Some("Completed".into()),
                achieved_level: None,
            }),
            narrative: with_narrative.then(|| text(rng)),
            retake: false,
            language: None,
            manager: None,
        }
    }

    /// Byte-identical canonical N-Quads from the fast path and the general path, over
    /// generated credentials: many shapes, several documents per shape.
    #[test]
    fn fast_path_equals_general_path() {
        let mut rng = StdRng::seed_from_u64(0x6d62);
        let mut checked = 0;
        let mut fast = 0;
        for _shape in 0..12 {
            let issuer = ob3::profile(
                &url(&mut rng),
                &IssuerSpec {
                    name: Some(text(&mut rng)),
                    url: maybe(&mut rng, url),
                    description: maybe(&mut rng, text),
                    ..Default::default()
                },
            );
            let skills: Vec<ob3::SkillRef> = (0..rng.gen_range(0..3))
                .map(|_| ob3::SkillRef {
                    url: url(&mut rng),
                    spec: SkillSpec {
                        name: Some(text(&mut rng)),
                        description: maybe(&mut rng, text),
                        alignment: maybe(&mut rng, |r| AlignmentSpec {
                            target_url: Some(url(r)),
                            target_code: Some(text(r)),
                            ..Default::default()
                        }),
                        level: None,
                    },
                })
                .collect();
            let spec = NanomoduleSpec {
                name: Some(text(&mut rng)),
                description: Some(text(&mut rng)),
                criteria: Some(crate::domain::nanomodule::CriteriaSpec {
                    narrative: Some(text(&mut rng)),
                    id: maybe(&mut rng, url),
                }),
                duration_minutes: Some(rng.gen_range(1..=240)),
                tags: (0..rng.gen_range(0..3)).map(|_| text(&mut rng)).collect(),
                language: maybe(&mut rng, |_| "nl".to_string()),
                level: maybe(&mut rng, |r| Level { framework: Framework::Nlqf, level: r.gen_range(1..=8) }),
                achievement_type: Some("Course".into()),
                ..Default::default()
            };
            let ctx = ob3::AchievementContext {
                id: url(&mut rng),
                version: rng.gen_range(1..9),
                image_url: url(&mut rng),
                creator: issuer.clone(),
                skills: &skills,
            };
            let achievement = ob3::achievement(&spec, &ctx);
            let valid_until = maybe(&mut rng, |_| "2028-01-01T00:00:00Z".to_string());
            let session = maybe(&mut rng, |_| "2026-11-20T00:00:00Z".to_string());
            let tpl = badge::Template {
                issuer: &issuer,
                achievement: &achievement,
                valid_from: "2026-11-22T10:00:00Z",
                valid_until: valid_until.as_deref(),
                session_date: session.as_deref(),
                hours: spec.hours(),
            };
            let kind = [IdentityType::EmailAddress, IdentityType::Identifier, IdentityType::Did][rng.gen_range(0..3)];
            let (evidence, result, narrative) = (rng.gen_range(0..3), rng.gen_bool(0.5), rng.gen_bool(0.5));
            for _doc in 0..6 {
                let r = recipient(&mut rng, kind, evidence, result, narrative);
                let status = StatusEntry { list_url: url(&mut rng), index: rng.gen_range(0..131_072) };
                let doc = badge::build(&tpl, &url(&mut rng), &r, &format!("{:x}", rng.r#gen::<u64>()), &status);
                let general = canon::canonicalize_general(&doc).expect("general path");
                let (shape, values) = split(&doc);
                let t = template(&shape, values.len()).unwrap().expect("our credentials template");
                let quick = t.canonicalize(&values).expect("values fit").unwrap();
                assert_eq!(quick, general, "fast and general paths differ for {doc}");
                assert_eq!(canon::canonicalize(&doc).unwrap(), general);
                checked += 1;
                fast += 1;
                // The same learner's partial certificate: the badge plus its components as evidence.
                let components: Vec<crate::credential::certificate::Component> = (0..rng.gen_range(1..4))
                    .map(|_| crate::credential::certificate::Component {
                        url: url(&mut rng),
                        name: text(&mut rng),
                        awarded: "2026-11-01".into(),
                        sha256_hex: hex::encode([rng.r#gen::<u8>(); 32]),
                    })
                    .collect();
                let cert = crate::credential::certificate::build(&tpl, &url(&mut rng), &r, "ab", &status, &components);
                let general = canon::canonicalize_general(&cert).expect("general path");
                let (shape, values) = split(&cert);
                let t = template(&shape, values.len()).unwrap().expect("our certificates template");
                assert_eq!(t.canonicalize(&values).expect("values fit").unwrap(), general, "{cert}");
                checked += 1;
                fast += 1;
            }
        }
        assert_eq!(checked, 144);
        assert_eq!(fast, checked);
    }

    #[test]
    fn values_that_do_not_fit_fall_back() {
        let doc = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": "https://x.example/1", "type": ["VerifiableCredential"],
            "issuer": "https://x.example/issuer", "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:1"}
        });
        let (shape, values) = split(&doc);
        let t = template(&shape, values.len()).unwrap().unwrap();
        let mut relative = values.clone();
        let idx = values.iter().position(|v| v == "https://x.example/1").unwrap();
        relative[idx] = "relative/path".into();
        assert!(t.canonicalize(&relative).is_none(), "a relative IRI would be resolved by JSON-LD");
        assert_eq!(canon::canonicalize(&doc).unwrap(), canon::canonicalize_general(&doc).unwrap());
    }
}
