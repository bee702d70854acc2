//! Checking issuers' badge artwork before it is stored, served or baked: PNG decoded in full
//! by a maintained decoder, SVG read by a namespace-aware XML parser against an allowlist.
//!
//! SVG is refused rather than rewritten: an issuer learns at upload what was not allowed,
//! and what is stored is exactly what was checked.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// Largest width or height of a PNG badge.
pub const MAX_PNG_SIDE: u32 = 4096;
/// Deepest element nesting and most elements in an SVG badge.
const MAX_SVG_DEPTH: usize = 64;
const MAX_SVG_ELEMENTS: usize = 20_000;

const SVG_NS: &str = "http://www.w3.org/2000/svg";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// Namespaces drawing tools write metadata in; browsers render nothing of them.
const INERT_NS: &[&str] = &[
    "http://www.inkscape.org/namespaces/inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://purl.org/dc/elements/1.1/",
    "http://creativecommons.org/ns#",
];

/// SVG elements that draw or structure, and nothing else: no script, foreignObject, animation
/// (`set`/`animate*` can write attributes), `a`, `image`, `style`, `iframe`.
const ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "defs",
    "title",
    "desc",
    "metadata",
    "path",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "rect",
    "text",
    "tspan",
    "textPath",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "pattern",
    "symbol",
    "use",
    "filter",
    "feGaussianBlur",
    "feOffset",
    "feBlend",
    "feFlood",
    "feComposite",
    "feMerge",
    "feMergeNode",
    "feColorMatrix",
    "feDropShadow",
];

/// Attributes without a namespace that only shape or colour.
const ATTRIBUTES: &[&str] = &[
    "id",
    "class",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "fx",
    "fy",
    "width",
    "height",
    "d",
    "points",
    "pathLength",
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "stroke-dasharray",
    "stroke-dashoffset",
    "stroke-opacity",
    "opacity",
    "transform",
    "viewBox",
    "preserveAspectRatio",
    "version",
    "baseProfile",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "text-anchor",
    "dominant-baseline",
    "alignment-baseline",
    "letter-spacing",
    "word-spacing",
    "dx",
    "dy",
    "rotate",
    "textLength",
    "lengthAdjust",
    "offset",
    "stop-color",
    "stop-opacity",
    "gradientUnits",
    "gradientTransform",
    "spreadMethod",
    "clip-path",
    "clip-rule",
    "clipPathUnits",
    "mask",
    "maskUnits",
    "maskContentUnits",
    "patternUnits",
    "patternContentUnits",
    "patternTransform",
    "display",
    "visibility",
    "color",
    "role",
    "aria-label",
    "aria-hidden",
    "lang",
    "href",
    "style",
    "filter",
    "filterUnits",
    "primitiveUnits",
    "in",
    "in2",
    "result",
    "stdDeviation",
    "mode",
    "operator",
    "values",
    "type",
    "flood-color",
    "flood-opacity",
    "k1",
    "k2",
    "k3",
    "k4",
    "vector-effect",
    "paint-order",
    "shape-rendering",
    "text-rendering",
    "startOffset",
    "method",
    "spacing",
    "refX",
    "refY",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("not a readable PNG: {0}")]
    Png(String),
    #[error("PNG is {0}×{1} pixels; at most {MAX_PNG_SIDE}×{MAX_PNG_SIDE} allowed")]
    PngTooLarge(u32, u32),
    #[error("not a well-formed SVG document: {0}")]
    Xml(String),
    #[error("SVG must not contain {0}")]
    Forbidden(String),
}

/// Decodes a PNG completely (every chunk's CRC, the image data) within the size limits.
pub fn check_png(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    let limits = png::Limits { bytes: 64 * 1024 * 1024 };
    let decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
    let mut reader = decoder.read_info().map_err(|e| ImageError::Png(e.to_string()))?;
    let (w, h) = reader.info().size();
    if w > MAX_PNG_SIDE || h > MAX_PNG_SIDE {
        return Err(ImageError::PngTooLarge(w, h));
    }
    let size = reader.output_buffer_size().ok_or_else(|| ImageError::Png("image too large".into()))?;
    let mut buf = vec![0; size];
    reader.next_frame(&mut buf).map_err(|e| ImageError::Png(e.to_string()))?;
    Ok((w, h))
}

/// Checks an SVG document against the allowlist: an `<svg>` root in the SVG namespace, only
/// drawing elements (metadata of drawing tools aside), only presentation attributes, links only
/// to fragments of the same document, no DTD, entities or processing instructions.
pub fn check_svg(text: &str) -> Result<(), ImageError> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut seen_root = false;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| ImageError::Xml(e.to_string()))?;
        let ns = match ns {
            ResolveResult::Bound(n) => Some(n.into_inner().to_string()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => return Err(ImageError::Xml(format!("unknown namespace prefix {p}"))),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                elements += 1;
                if elements > MAX_SVG_ELEMENTS {
                    return Err(ImageError::Forbidden(format!("more than {MAX_SVG_ELEMENTS} elements")));
                }
                let local = e.local_name().into_inner().to_string();
                if !seen_root && (ns.as_deref() != Some(SVG_NS) || local != "svg") {
                    return Err(ImageError::Forbidden("a root other than <svg> in the SVG namespace".into()));
                }
                seen_root = true;
                check_element(&reader, ns.as_deref(), &local, e)?;
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    if depth > MAX_SVG_DEPTH {
                        return Err(ImageError::Forbidden(format!("nesting deeper than {MAX_SVG_DEPTH}")));
                    }
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::DocType(_) => return Err(ImageError::Forbidden("a DOCTYPE (entity declarations)".into())),
            Event::PI(_) => return Err(ImageError::Forbidden("processing instructions".into())),
            Event::GeneralRef(r) => {
                let name = r.to_string();
                if !["amp", "lt", "gt", "quot", "apos"].contains(&name.as_str()) && !name.starts_with('#') {
                    return Err(ImageError::Forbidden(format!("the entity &{name};")));
                }
            }
            Event::Eof => break,
            Event::Text(_) | Event::CData(_) | Event::Comment(_) | Event::Decl(_) => {}
        }
    }
    if !seen_root {
        return Err(ImageError::Xml("no <svg> element".into()));
    }
    Ok(())
}

fn check_element(reader: &NsReader<&[u8]>, ns: Option<&str>, local: &str, e: &BytesStart) -> Result<(), ImageError> {
    let inert = ns.is_some_and(|n| INERT_NS.contains(&n));
    if ns != Some(SVG_NS) && !inert {
        return Err(ImageError::Forbidden(format!(
            "the element <{local}> outside the SVG namespace ({})",
            ns.unwrap_or("none")
        )));
    }
    if !inert && !ELEMENTS.contains(&local) {
        return Err(ImageError::Forbidden(format!("the element <{local}>")));
    }
    for attr in e.attributes().with_checks(true) {
        let attr = attr.map_err(|e| ImageError::Xml(e.to_string()))?;
        let key = attr.key;
        if key.as_namespace_binding().is_some() {
            continue; // xmlns and xmlns:prefix declarations
        }
        let (ans, name) = reader.resolver().resolve_attribute(key);
        let name = name.into_inner().to_string();
        let value =
            attr.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| ImageError::Xml(e.to_string()))?;
        let allowed = match ans {
            ResolveResult::Unbound => ATTRIBUTES.contains(&name.as_str()),
            ResolveResult::Bound(n) if n.into_inner() == XLINK_NS => name == "href" || name == "title",
            ResolveResult::Bound(n) if n.into_inner() == XML_NS => name == "space" || name == "lang",
            ResolveResult::Bound(n) => INERT_NS.contains(&n.into_inner()),
            ResolveResult::Unknown(p) => return Err(ImageError::Xml(format!("unknown namespace prefix {p}"))),
        };
        if !allowed {
            return Err(ImageError::Forbidden(format!("the attribute {name} on <{local}>")));
        }
        check_value(local, &name, &value)?;
    }
    Ok(())
}

/// Attribute values that could reach outside the document: links only to `#fragments`,
/// `url(...)` only to fragments, styles without escapes or imports.
fn check_value(element: &str, name: &str, value: &str) -> Result<(), ImageError> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if name == "href" && !compact.starts_with('#') {
        return Err(ImageError::Forbidden(format!("a link to anything but this document (href on <{element}>)")));
    }
    let mut rest = compact.as_str();
    while let Some(at) = rest.find("url(") {
        rest = &rest[at + 4..];
        let target = rest.trim_start_matches(['"', '\'']);
        if !target.starts_with('#') {
            return Err(ImageError::Forbidden(format!(
                "a url() to anything but this document ({name} on <{element}>)"
            )));
        }
    }
    if name == "style" && (compact.contains('\\') || compact.contains("@import") || compact.contains("expression(")) {
        return Err(ImageError::Forbidden(format!("escapes or imports in a style ({name} on <{element}>)")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" viewBox=\"0 0 10 10\">\
<defs><linearGradient id=\"g\"><stop offset=\"0\" stop-color=\"#fff\"/></linearGradient></defs>\
<circle r=\"4\" fill=\"url(#g)\"/><use xlink:href=\"#g\"/><text x=\"1\">A &amp; B</text></svg>";

    fn refused(svg: &str) -> bool {
        check_svg(svg).is_err()
    }

    #[test]
    fn drawings_pass() {
        check_svg(OK).unwrap();
        check_svg(&crate::credential::ob3::default_image_svg("Smeren & olie")).unwrap();
    }

    /// Issue 11 §5: each of these got through the old string scan, or must never.
    #[test]
    fn active_content_is_refused() {
        let wrap = |inner: &str| {
            format!("<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:h=\"http://www.w3.org/1999/xhtml\">{inner}</svg>")
        };
        for bad in [
            wrap("<h:script>alert(1)</h:script>"),
            wrap("<script>alert(1)</script>"),
            wrap("<a href=\"&#106;avascript:alert(1)\"><text>x</text></a>"),
            wrap("<use href=\"java\tscript:alert(1)\"/>"),
            wrap("<use href=\"&#x6A;avascript:alert(1)\"/>"),
            wrap("<set attributeName=\"onmouseover\" to=\"alert(1)\"/>"),
            wrap("<animate attributeName=\"href\" to=\"javascript:alert(1)\"/>"),
            wrap("<circle onload=\"alert(1)\"/>"),
            wrap("<foreignObject><h:iframe/></foreignObject>"),
            wrap("<image href=\"https://tracker.example/x.png\"/>"),
            wrap("<rect style=\"fill:url(https://x.example/a)\"/>"),
            wrap("<rect fill=\"url( 'https://x.example/a')\"/>"),
            wrap("<style>@import url(https://x.example/a.css)</style>"),
            wrap("<metadata><h:script>alert(1)</h:script></metadata>"),
            "<!DOCTYPE svg [<!ENTITY x \"y\">]><svg xmlns=\"http://www.w3.org/2000/svg\">&x;</svg>".into(),
            "<?xml-stylesheet href=\"https://x.example/a.css\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>".into(),
            "<svg><circle r=\"1\"/></svg>".into(),
            "<html xmlns=\"http://www.w3.org/1999/xhtml\"/>".into(),
            "<svg xmlns=\"http://www.w3.org/2000/svg\"><g></svg>".into(),
            "not xml at all".into(),
        ] {
            assert!(refused(&bad), "{bad}");
        }
    }

    #[test]
    fn pngs_are_decoded_in_full() {
        assert!(matches!(check_png(b"\x89PNG\r\n\x1a\n"), Err(ImageError::Png(_))));
        let good = crate::credential::bake::solid_png(8, [1, 2, 3]);
        assert_eq!(check_png(&good).unwrap(), (8, 8));
        let mut broken = good.clone();
        let n = broken.len();
        broken[n - 20] ^= 0xff; // inside the image data: its CRC no longer matches
        assert!(check_png(&broken).is_err());
        assert!(check_png(&good[..good.len() / 2]).is_err());
    }
}
