//! Baked badges (OB 3.0 §5.3, OB 2.0 baking): the signed credential inside the badge image.
//!
//! PNG: one uncompressed `iTXt` chunk with keyword `openbadgecredential`, spliced in before
//! `IEND` (the image data is not re-encoded). SVG: `xmlns:openbadges` on the root element and an
//! `<openbadges:credential>` element right after its start tag, the JSON in CDATA.

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

/// Byte range of the root `<svg …>` start tag (quotes respected), and whether it self-closes.
fn svg_root(svg: &str) -> Option<(usize, usize, bool)> {
    let mut from = 0;
    loop {
        let start = from + svg[from..].find('<')?;
        let rest = &svg[start..];
        if rest.starts_with("<?") {
            from = start + rest.find("?>")? + 2;
        } else if rest.starts_with("<!--") {
            from = start + rest.find("-->")? + 3;
        } else if rest.starts_with("<!") {
            from = start + rest.find('>')? + 1;
        } else if rest.starts_with("<svg") && rest[4..].starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/')
        {
            let mut quote = None;
            for (i, c) in rest.char_indices().skip(4) {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '"' | '\'') => quote = Some(c),
                    (None, '>') => return Some((start, start + i + 1, rest[..i].ends_with('/'))),
                    _ => {}
                }
            }
            return None;
        } else {
            return None;
        }
    }
}

/// Bakes a credential (JSON) into an SVG document.
pub fn bake_svg(svg: &str, credential_json: &str) -> Result<String, BakeError> {
    let (start, end, self_closing) = svg_root(svg).ok_or(BakeError::NotSvg)?;
    let mut tag = svg[start..end].trim_end_matches('>').trim_end_matches('/').to_string();
    if !tag.contains("xmlns:openbadges=") {
        tag.push_str(&format!(" xmlns:openbadges=\"{SVG_NAMESPACE}\""));
    }
    let cdata = credential_json.replace("]]>", "]]]]><![CDATA[>");
    let element = format!("<openbadges:credential><![CDATA[{cdata}]]></openbadges:credential>");
    let mut rest = if self_closing { "</svg>".to_string() } else { svg[end..].to_string() };
    // Only one credential element: drop an earlier one right after the root.
    if let Some(old_end) = rest
        .trim_start()
        .strip_prefix("<openbadges:credential")
        .and_then(|r| r.find("</openbadges:credential>").map(|i| i + "</openbadges:credential>".len()))
    {
        let offset = rest.len() - rest.trim_start().len() + "<openbadges:credential".len() + old_end;
        rest = rest[offset..].to_string();
    }
    Ok(format!("{}{tag}>{element}{rest}", &svg[..start]))
}

/// The credential baked into an SVG (OB 3.0 element, or OB 2.0 `openbadges:assertion`).
pub fn extract_svg(svg: &str) -> Result<Baked, BakeError> {
    svg_root(svg).ok_or(BakeError::NotSvg)?;
    for (name, ob3) in [("openbadges:credential", true), ("openbadges:assertion", false)] {
        let Some(at) = svg.find(&format!("<{name}")) else { continue };
        let rest = &svg[at..];
        let tag_end = rest.find('>').ok_or(BakeError::BadPayload)?;
        let tag = &rest[..tag_end];
        let payload = if let Some(v) = attribute(tag, "verify") {
            v
        } else {
            let close = rest.find(&format!("</{name}>")).ok_or(BakeError::BadPayload)?;
            let inner = &rest[tag_end + 1..close];
            let mut text = String::new();
            let mut s = inner;
            while let Some(i) = s.find("<![CDATA[") {
                text.push_str(&s[..i]);
                let after = &s[i + 9..];
                let j = after.find("]]>").ok_or(BakeError::BadPayload)?;
                text.push_str(&after[..j]);
                s = &after[j + 3..];
            }
            text.push_str(s);
            text.trim().to_string()
        };
        return Ok(if ob3 { Baked::Ob3(payload) } else { Baked::Ob2(payload) });
    }
    Err(BakeError::NoCredential)
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}="))? + name.len() + 2;
    let quote = tag[at..].chars().next()?;
    let value = &tag[at + 1..];
    value.find(quote).map(|end| value[..end].replace("&quot;", "\"").replace("&amp;", "&"))
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
    }
}
