//! Baked badges (OB 3.0 §5.3, OB 2.0 baking): the signed credential inside the badge image.
//!
//! PNG: one uncompressed `iTXt` chunk with keyword `openbadgecredential`, spliced in before
//! `IEND` (the image data is not re-encoded). SVG: `xmlns:openbadges` on the root element and an
//! `<openbadges:credential>` element right after its start tag, the JSON in CDATA. SVG is read
//! and written as XML events (quick-xml), so quotes, comments, escapes and CDATA are the
//! parser's business and the rest of the picture is written back exactly as it came.

use std::io::Write;

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
pub const PNG_KEYWORD: &str = "openbadgecredential";
/// OB 2.0's keyword, read when verifying older badges.
pub const PNG_KEYWORD_OB2: &str = "openbadges";
pub const SVG_NAMESPACE: &str = "https://purl.imsglobal.org/ob/v3p0";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BakeError {
    #[error("not a PNG file")]
    NotPng,
    #[error("the PNG is truncated or a chunk is malformed")]
    BadPng,
    #[error("not an SVG document")]
    NotSvg,
    #[error("the image carries no Open Badges credential")]
    NoCredential,
    #[error("the baked credential is compressed or not UTF-8, which Open Badges forbids")]
    BadPayload,
}

/// What an image carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baked {
    /// OB 3.0: a credential as JSON, or a compact JWS.
    Ob3(String),
    /// OB 2.0: an assertion JSON, a JWS, or the URL of a hosted assertion.
    Ob2(String),
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + data.len());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

/// Iterates `(type, data)` over the chunks of a PNG.
/// A PNG chunk: its type and data.
type Chunk<'a> = ([u8; 4], &'a [u8]);

fn chunks(png: &[u8]) -> Result<Vec<Chunk<'_>>, BakeError> {
    let body = png.strip_prefix(PNG_SIGNATURE.as_slice()).ok_or(BakeError::NotPng)?;
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let len = body.get(at..at + 4).ok_or(BakeError::BadPng)?;
        let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = body.get(at + 4..at + 8).ok_or(BakeError::BadPng)?.try_into().expect("4 bytes");
        let data = body.get(at + 8..at + 8 + len).ok_or(BakeError::BadPng)?;
        body.get(at + 8 + len..at + 12 + len).ok_or(BakeError::BadPng)?;
        out.push((kind, data));
        at += 12 + len;
        if &kind == b"IEND" {
            break;
        }
    }
    if out.last().map(|c| &c.0) != Some(b"IEND") {
        return Err(BakeError::BadPng);
    }
    Ok(out)
}

fn itxt_keyword(data: &[u8]) -> Option<&[u8]> {
    data.iter().position(|b| *b == 0).map(|n| &data[..n])
}

/// Bakes `payload` into `png`, replacing an earlier `openbadgecredential` chunk.
pub fn bake_png(png: &[u8], payload: &str) -> Result<Vec<u8>, BakeError> {
    let mut out = PNG_SIGNATURE.to_vec();
    let mut itxt = PNG_KEYWORD.as_bytes().to_vec();
    // keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translation NUL
    itxt.extend_from_slice(&[0, 0, 0, 0, 0]);
    itxt.extend_from_slice(payload.as_bytes());
    for (kind, data) in chunks(png)? {
        if &kind == b"iTXt" && itxt_keyword(data) == Some(PNG_KEYWORD.as_bytes()) {
            continue;
        }
        if &kind == b"IEND" {
            out.extend(chunk(b"iTXt", &itxt));
        }
        out.extend(chunk(&kind, data));
    }
    Ok(out)
}

/// The first Open Badges payload in a PNG.
pub fn extract_png(png: &[u8]) -> Result<Baked, BakeError> {
    for (kind, data) in chunks(png)? {
        let (keyword, text) = match &kind {
            b"iTXt" => {
                let Some(k) = itxt_keyword(data) else { continue };
                let rest = &data[k.len() + 1..];
                if rest.len() < 2 {
                    return Err(BakeError::BadPayload);
                }
                let compressed = rest[0] != 0;
                // Skip the language tag and translated keyword (both NUL-terminated).
                let mut parts = rest[2..].splitn(3, |b| *b == 0);
                let (_, _, text) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
                if compressed && (k == PNG_KEYWORD.as_bytes() || k == PNG_KEYWORD_OB2.as_bytes()) {
                    return Err(BakeError::BadPayload);
                }
                (k, text)
            }
            b"tEXt" => match itxt_keyword(data) {
                Some(k) => (k, &data[k.len() + 1..]),
                None => continue,
            },
            _ => continue,
        };
        let text = || std::str::from_utf8(text).map(str::to_string).map_err(|_| BakeError::BadPayload);
        if keyword == PNG_KEYWORD.as_bytes() {
            return Ok(Baked::Ob3(text()?));
        }
        if keyword == PNG_KEYWORD_OB2.as_bytes() {
            return Ok(Baked::Ob2(text()?));
        }
    }
    Err(BakeError::NoCredential)
}

/// A plain square PNG of one colour, for badges whose artwork is SVG.
pub fn solid_png(size: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    // Each scanline: filter type 0, then the pixels.
    let row: Vec<u8> = std::iter::once(0).chain(rgb.iter().copied().cycle().take(size as usize * 3)).collect();
    let raw = row.repeat(size as usize);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("memory");
    let idat = z.finish().expect("memory");
    let mut out = PNG_SIGNATURE.to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    out.extend(chunk(b"IDAT", &idat));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// The qualified names of the baked element: OB 3.0's, and OB 2.0's read when verifying.
const SVG_CREDENTIAL: &str = "openbadges:credential";
const SVG_ASSERTION: &str = "openbadges:assertion";

/// An XML reader that hands back the document as written (no trimming), so events written
/// out again reproduce it byte for byte.
fn svg_reader(svg: &str) -> quick_xml::Reader<&[u8]> {
    let mut reader = quick_xml::Reader::from_str(svg);
    reader.config_mut().check_end_names = true;
    reader
}

/// Bakes a credential (JSON) into an SVG document: every event of the document is written
/// out unchanged, except the root's start tag (gains `xmlns:openbadges`) and an earlier
/// credential element (dropped: one credential per image).
pub fn bake_svg(svg: &str, credential_json: &str) -> Result<String, BakeError> {
    use quick_xml::events::{BytesCData, BytesEnd, BytesStart, Event};
    let mut reader = svg_reader(svg);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(svg.len() + credential_json.len() + 128));
    let mut seen_root = false;
    let mut skipping = 0usize;
    let write = |w: &mut quick_xml::Writer<Vec<u8>>, e: Event| w.write_event(e).map_err(|_| BakeError::NotSvg);
    loop {
        let event = reader.read_event().map_err(|_| BakeError::NotSvg)?;
        if skipping > 0 {
            match event {
                Event::Start(_) => skipping += 1,
                Event::End(_) => skipping -= 1,
                Event::Eof => return Err(BakeError::NotSvg),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(_) | Event::Empty(_) if !seen_root => {
                let self_closing = matches!(event, Event::Empty(_));
                let (Event::Start(e) | Event::Empty(e)) = event else { unreachable!("matched above") };
                if e.name().into_inner() != "svg" {
                    return Err(BakeError::NotSvg);
                }
                seen_root = true;
                let mut root: BytesStart = e.into_owned();
                if root.try_get_attribute("xmlns:openbadges").ok().flatten().is_none() {
                    root.push_attribute(("xmlns:openbadges", SVG_NAMESPACE));
                }
                write(&mut writer, Event::Start(root.borrow()))?;
                write(&mut writer, Event::Start(BytesStart::new("openbadges:credential")))?;
                // "]]>" cannot stand inside CDATA: it is split over two sections.
                let parts: Vec<&str> = credential_json.split("]]>").collect();
                for (i, part) in parts.iter().enumerate() {
                    let head = if i > 0 { ">" } else { "" };
                    let tail = if i + 1 < parts.len() { "]]" } else { "" };
                    write(&mut writer, Event::CData(BytesCData::new(format!("{head}{part}{tail}"))))?;
                }
                write(&mut writer, Event::End(BytesEnd::new("openbadges:credential")))?;
                if self_closing {
                    write(&mut writer, Event::End(BytesEnd::new("svg")))?;
                }
            }
            Event::Start(e) if e.name().into_inner() == SVG_CREDENTIAL => skipping = 1,
            Event::Empty(e) if e.name().into_inner() == SVG_CREDENTIAL => {}
            Event::Eof => break,
            other => write(&mut writer, other)?,
        }
    }
    if !seen_root {
        return Err(BakeError::NotSvg);
    }
    String::from_utf8(writer.into_inner()).map_err(|_| BakeError::NotSvg)
}

/// The credential baked into an SVG (OB 3.0 element, or OB 2.0 `openbadges:assertion`): the
/// `verify` attribute (a JWS), or the element's text and CDATA.
pub fn extract_svg(svg: &str) -> Result<Baked, BakeError> {
    use quick_xml::events::Event;
    let mut reader = svg_reader(svg);
    let mut seen_root = false;
    // (OB 3.0?, text so far) while inside a credential element.
    let mut inside: Option<(bool, String)> = None;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(_) if !seen_root => return Err(BakeError::NotSvg),
            Err(_) => return Err(BakeError::BadPayload),
        };
        match event {
            Event::Start(e) | Event::Empty(e) if !seen_root => {
                if e.name().into_inner() != "svg" {
                    return Err(BakeError::NotSvg);
                }
                seen_root = true;
            }
            Event::Start(ref e) | Event::Empty(ref e)
                if inside.is_none() && [SVG_CREDENTIAL, SVG_ASSERTION].contains(&e.name().into_inner()) =>
            {
                let ob3 = e.name().into_inner() == SVG_CREDENTIAL;
                let verify = e.try_get_attribute("verify").map_err(|_| BakeError::BadPayload)?;
                if let Some(v) = verify {
                    let v =
                        v.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|_| BakeError::BadPayload)?;
                    return Ok(if ob3 { Baked::Ob3(v.into_owned()) } else { Baked::Ob2(v.into_owned()) });
                }
                if matches!(event, Event::Start(_)) {
                    inside = Some((ob3, String::new()));
                }
            }
            // The reader hands text, CDATA and entity references (`&quot;`, `&#34;`) apart.
            Event::Text(t) if inside.is_some() => {
                inside.as_mut().expect("checked").1.push_str(&t.xml10_content());
            }
            Event::CData(c) if inside.is_some() => {
                inside.as_mut().expect("checked").1.push_str(&c.into_inner());
            }
            Event::GeneralRef(r) if inside.is_some() => {
                let text = match r.resolve_char_ref().map_err(|_| BakeError::BadPayload)? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r.into_inner())
                        .ok_or(BakeError::BadPayload)?
                        .to_string(),
                };
                inside.as_mut().expect("checked").1.push_str(&text);
            }
            Event::End(_) if inside.is_some() => {
                let (ob3, text) = inside.take().expect("checked");
                let payload = text.trim().to_string();
                return Ok(if ob3 { Baked::Ob3(payload) } else { Baked::Ob2(payload) });
            }
            Event::Eof if !seen_root => return Err(BakeError::NotSvg),
            Event::Eof => return Err(BakeError::NoCredential),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_replaces_and_keeps_image() {
        let png = solid_png(4, [10, 20, 30]);
        let baked = bake_png(&png, r#"{"id":"x"}"#).unwrap();
        assert_eq!(extract_png(&baked).unwrap(), Baked::Ob3(r#"{"id":"x"}"#.into()));
        let again = bake_png(&baked, "second").unwrap();
        assert_eq!(extract_png(&again).unwrap(), Baked::Ob3("second".into()));
        let count = chunks(&again).unwrap().iter().filter(|(k, _)| k == b"iTXt").count();
        assert_eq!(count, 1, "baked at most once");
        // Every non-badge chunk is kept byte for byte.
        let kinds: Vec<[u8; 4]> = chunks(&again).unwrap().iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [*b"IHDR", *b"IDAT", *b"iTXt", *b"IEND"]);
        assert_eq!(extract_png(&png), Err(BakeError::NoCredential));
        assert_eq!(extract_png(b"GIF89a"), Err(BakeError::NotPng));
        assert_eq!(extract_png(&png[..20]), Err(BakeError::BadPng));
    }

    #[test]
    fn svg_round_trip() {
        let svg = "<?xml version=\"1.0\"?>\n<!-- art --><svg xmlns=\"http://www.w3.org/2000/svg\" data-x=\"a>b\"><circle r=\"4\"/></svg>";
        let json = r#"{"name":"tricky ]]> text"}"#;
        let baked = bake_svg(svg, json).unwrap();
        assert!(baked.contains("xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\""));
        assert!(
            baked.contains(
                "data-x=\"a>b\" xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential>"
            ),
            "{baked}"
        );
        assert_eq!(extract_svg(&baked).unwrap(), Baked::Ob3(json.into()));
        let rebaked = bake_svg(&baked, "{}").unwrap();
        assert_eq!(rebaked.matches("<openbadges:credential>").count(), 1);
        assert_eq!(extract_svg(&rebaked).unwrap(), Baked::Ob3("{}".into()));
        assert_eq!(
            bake_svg("<svg/>", "{}").unwrap(),
            format!(
                "<svg xmlns:openbadges=\"{SVG_NAMESPACE}\"><openbadges:credential><![CDATA[{{}}]]></openbadges:credential></svg>"
            )
        );
        assert_eq!(extract_svg("<svg></svg>"), Err(BakeError::NoCredential));
        assert_eq!(extract_svg("<html></html>"), Err(BakeError::NotSvg));
        let jws = "<svg><openbadges:credential verify=\"a.b.c\"/></svg>";
        assert_eq!(extract_svg(jws).unwrap(), Baked::Ob3("a.b.c".into()));
        // Read as XML, not as a string: escapes in text and attributes, OB 2.0's element, a
        // root in single quotes, a credential after other content, a comment that looks like one.
        let escaped = "<svg><!-- <openbadges:credential>no</openbadges:credential> --><g/>\
                       <openbadges:credential>{&quot;a&quot;:&#34;&amp;&#x22;}</openbadges:credential></svg>";
        assert_eq!(extract_svg(escaped).unwrap(), Baked::Ob3(r#"{"a":"&"}"#.into()));
        let ob2 =
            "<svg xmlns='http://www.w3.org/2000/svg'><openbadges:assertion verify='https://x.nl/a?b=1&amp;c=2'/></svg>";
        assert_eq!(extract_svg(ob2).unwrap(), Baked::Ob2("https://x.nl/a?b=1&c=2".into()));
        assert_eq!(extract_svg("<svg><openbadges:credential>{</svg>"), Err(BakeError::BadPayload));
        assert_eq!(bake_svg("<svg><g></svg>", "{}"), Err(BakeError::NotSvg), "mismatched tags are refused");
        assert_eq!(bake_svg("<html/>", "{}"), Err(BakeError::NotSvg));
        // A credential element deeper in the picture is also the one replaced.
        let nested = bake_svg("<svg><g><openbadges:credential>old</openbadges:credential></g></svg>", "new").unwrap();
        assert_eq!(nested.matches("openbadges:credential>").count(), 2, "{nested}");
        assert_eq!(extract_svg(&nested).unwrap(), Baked::Ob3("new".into()));
    }
}
