//! JSON-LD → RDF → RDFC-1.0 canonical N-Quads. The only module that imports the RDF crates.
//!
//! Expansion runs under the strictest policy (an undefined term is an error, never silently
//! dropped from what a signature covers) with a loader that knows only the bundled contexts.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use json_syntax::Parse;
use locspan::Location;
use sophia::api::dataset::MutableDataset;
use sophia::api::quad::Quad as _;
use sophia::api::source::QuadSource;
use sophia::api::term::{SimpleTerm, Term};
use sophia::c14n::rdfc10;
use sophia::inmem::dataset::LightDataset;
use sophia::iri::Iri;
use sophia::jsonld::loader::StaticLoader;
use sophia::jsonld::{JsonLdOptions, JsonLdParser, Policy};

use super::contexts;

#[derive(Debug, thiserror::Error)]
pub enum CanonError {
    #[error("JSON-LD processing failed: {0}")]
    JsonLd(String),
    #[error("RDF canonicalisation failed: {0}")]
    C14n(String),
}

type Loader = StaticLoader<Iri<Arc<str>>, locspan::Span>;

/// The bundled contexts, parsed once.
fn loader() -> &'static Loader {
    static LOADER: OnceLock<Loader> = OnceLock::new();
    LOADER.get_or_init(|| {
        contexts::BUNDLED.iter().fold(StaticLoader::new(), |l, (url, doc)| {
            let iri = Iri::new_unchecked(Arc::<str>::from(*url));
            let value = json_syntax::Value::parse_str(doc, |span| Location::new(iri.clone(), span))
                .expect("bundled contexts are valid JSON (checked by a test)");
            l.with(iri, value)
        })
    })
}

/// Canonical N-Quads of a JSON-LD document (RDFC-1.0, SHA-256), through the shape cache
/// ([`super::shape`]) when it applies and the general path otherwise. Both give the same bytes.
pub fn canonicalize(doc: &serde_json::Value) -> Result<String, CanonError> {
    match super::shape::canonicalize_cached(doc) {
        Some(result) => result,
        None => canonicalize_general(doc),
    }
}

/// The general path: full JSON-LD 1.1 expansion and toRdf by the `json-ld` crate, then RDFC-1.0.
pub fn canonicalize_general(doc: &serde_json::Value) -> Result<String, CanonError> {
    canonicalize_with(doc, loader().clone())
}

/// One RDF quad with owned terms.
#[derive(Debug, Clone)]
pub struct Quad {
    pub s: SimpleTerm<'static>,
    pub p: SimpleTerm<'static>,
    pub o: SimpleTerm<'static>,
    pub g: Option<SimpleTerm<'static>>,
}

/// JSON-LD → RDF quads (not canonicalised), general path.
pub fn to_quads(doc: &serde_json::Value) -> Result<Vec<Quad>, CanonError> {
    let text = doc.to_string();
    let options = JsonLdOptions::new().with_expansion_policy(Policy::Strictest).with_document_loader(loader().clone());
    let parser = JsonLdParser::new_with_options(options);
    let mut source = block_on_ready(parser.async_parse_str(&text));
    let mut out = Vec::new();
    source
        .try_for_each_quad(|q| {
            out.push(Quad {
                s: q.s().into_term(),
                p: q.p().into_term(),
                o: q.o().into_term(),
                g: q.g().map(|g| g.into_term()),
            });
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(|e| CanonError::JsonLd(e.to_string()))?;
    Ok(out)
}

/// RDFC-1.0 canonical N-Quads of a set of quads (duplicates collapse, as in any RDF dataset).
pub fn canonicalize_quads(quads: &[Quad]) -> Result<String, CanonError> {
    let mut dataset = LightDataset::new();
    for q in quads {
        dataset.insert(&q.s, &q.p, &q.o, q.g.as_ref()).map_err(|e| CanonError::C14n(e.to_string()))?;
    }
    let mut out = Vec::with_capacity(4096);
    rdfc10::normalize(&dataset, &mut out).map_err(|e| CanonError::C14n(e.to_string()))?;
    String::from_utf8(out).map_err(|e| CanonError::C14n(e.to_string()))
}

/// Like [`canonicalize`], with extra documents (tests use the W3C examples context).
#[cfg(test)]
pub(crate) fn canonicalize_with_extra(doc: &serde_json::Value, extra: &[(&str, &str)]) -> Result<String, CanonError> {
    let l = extra.iter().fold(loader().clone(), |l, (url, doc)| {
        let iri = Iri::new_unchecked(Arc::<str>::from(*url));
        let value = json_syntax::Value::parse_str(doc, |span| Location::new(iri.clone(), span)).unwrap();
        l.with(iri, value)
    });
    canonicalize_with(doc, l)
}

fn canonicalize_with(doc: &serde_json::Value, loader: Loader) -> Result<String, CanonError> {
    let text = doc.to_string();
    let options = JsonLdOptions::new().with_expansion_policy(Policy::Strictest).with_document_loader(loader);
    let parser = JsonLdParser::new_with_options(options);
    let quads = block_on_ready(parser.async_parse_str(&text));
    let dataset: LightDataset = quads.collect_quads().map_err(|e| CanonError::JsonLd(e.to_string()))?;
    let mut out = Vec::with_capacity(4096);
    rdfc10::normalize(&dataset, &mut out).map_err(|e| CanonError::C14n(e.to_string()))?;
    String::from_utf8(out).map_err(|e| CanonError::C14n(e.to_string()))
}

/// Drives a future that never waits on I/O (our loader answers from memory) to completion on
/// the current thread, so canonicalisation needs no async runtime of its own.
fn block_on_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");

    pub(crate) fn read(path: &str) -> String {
        std::fs::read_to_string(format!("{VECTORS}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn ob_vector_document_canon() {
        let doc: serde_json::Value = serde_json::from_str(&read("ob-v3p0/unsigned-credential.json")).unwrap();
        assert_eq!(canonicalize(&doc).unwrap(), read("ob-v3p0/document-canon.nq"));
    }

    #[test]
    fn unknown_context_is_an_error_not_a_fetch() {
        let doc = serde_json::json!({"@context": ["https://example.org/ctx.json"], "name": "x"});
        let err = canonicalize(&doc).unwrap_err();
        assert!(err.to_string().contains("example.org"), "{err}");
    }

    #[test]
    fn undefined_term_is_an_error() {
        let doc = serde_json::json!({"@context": [contexts::VC_V2], "type": ["VerifiableCredential"], "colour": "red"});
        assert!(canonicalize(&doc).is_err());
    }
}
