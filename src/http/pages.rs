//! Server-rendered public pages: the badge page, the verify page, issuer and nanomodule pages.
//!
//! Plain semantic HTML, readable on a phone, no JavaScript, every displayed value escaped, and a
//! restrictive Content-Security-Policy (styles from our own stylesheet only).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::AppState;
use crate::credential::ob3::xml_escape as esc;
use crate::credential::verify::Report;

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f6f4;line-height:1.5}\
main{max-width:42rem;margin:0 auto;padding:1rem}\
header.site{background:#16324f;color:#fff;padding:.6rem 1rem}header.site a{color:#fff;text-decoration:none;font-weight:600}\
img.badge{width:10rem;height:10rem;display:block;margin:1rem auto}\
.status{padding:.75rem 1rem;border-radius:.4rem;font-weight:600;margin:1rem 0}\
.valid{background:#dcf5e3;color:#0d4f22}.revoked,.invalid{background:#fde2e1;color:#7a1410}.suspended,.expired{background:#fff1cc;color:#5c4300}.unknown{background:#e4ebf3;color:#16324f}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}\
ul.checks li.fail{color:#7a1410}ul.checks li.pass{color:#0d4f22}\
textarea{width:100%;min-height:8rem;font-family:monospace}\
.actions a{display:inline-block;margin:.25rem .5rem .25rem 0}";

pub fn router() -> Router<AppState> {
    Router::new().route("/verify", get(verify_form)).route("/assets/site.css", get(css))
}

async fn css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css"), (header::CACHE_CONTROL, "public, max-age=86400")], CSS)
}

/// True when a browser asks for a page rather than a machine for JSON.
pub fn wants_html(headers: &axum::http::HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    accept.contains("text/html")
}

/// A whole page with the site's headers.
pub fn page(lang: &str, title: &str, head: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><link rel=\"stylesheet\" href=\"/assets/site.css\">{head}</head>\
<body><header class=\"site\"><a href=\"/verify\">metrobadge</a></header><main>{body}</main></body></html>",
        lang = esc(lang),
        title = esc(title),
    );
    let mut r = html.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src 'self' https: data:; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    r
}

/// A link to a URL from a credential (someone else's data): only `http:` and `https:` become
/// links, anything else (`javascript:`, `data:`, …, from credentials issued before such values
/// were refused) is shown as text.
fn link(url: &str, text: &str) -> String {
    let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
    if (scheme == "https" || scheme == "http") && url.contains("://") {
        format!("<a href=\"{}\" rel=\"nofollow noopener\">{}</a>", esc(url), esc(text))
    } else {
        esc(text)
    }
}

fn banner(report: &Report) -> (&'static str, String) {
    let status = report.credential.as_ref().and_then(|c| c["status"].as_str()).unwrap_or("");
    let failed: Vec<&str> = report.checks.iter().filter(|c| !c.passed).map(|c| c.check).collect();
    if report.verified {
        return ("valid", "Valid — this badge is genuine and in force.".into());
    }
    if report.outcome == crate::credential::verify::Outcome::CouldNotCheck {
        let why = report.checks.iter().find(|c| c.could_not_check).map(|c| c.detail.clone()).unwrap_or_default();
        return ("unknown", format!("Could not check — this says nothing against the badge; try again later ({why})."));
    }
    let reason =
        report.checks.iter().find(|c| c.check == "status" && !c.passed).map(|c| c.detail.clone()).unwrap_or_default();
    match status {
        "revoked" => (
            "revoked",
            format!("Revoked by the issuer ({}).", reason.trim_start_matches("revoked").trim_start_matches(": ")),
        ),
        "suspended" => (
            "suspended",
            format!("Suspended by the issuer ({}).", reason.trim_start_matches("suspended").trim_start_matches(": ")),
        ),
        "expired" => ("expired", "Expired — this badge is no longer valid.".into()),
        _ => ("invalid", format!("Not valid: failed check(s) {}.", failed.join(", "))),
    }
}

fn checks_list(report: &Report) -> String {
    let items: String = report
        .checks
        .iter()
        .map(|c| {
            format!(
                "<li class=\"{}\"><strong>{}</strong> — {}: {}</li>",
                if c.passed { "pass" } else { "fail" },
                esc(c.check),
                if c.passed { "passed" } else { "failed" },
                esc(&c.detail)
            )
        })
        .collect();
    format!("<ul class=\"checks\">{items}</ul>")
}

/// The badge page of one of our credentials.
/// The public badge page. `progress` is the learner's private progress link, shown only when
/// the learner opened their own view of the page.
pub fn badge_page(
    base: &str,
    id: &str,
    vc: &Value,
    recipient_name: Option<&str>,
    report: &Report,
    progress: Option<&str>,
) -> Response {
    let a = &vc["credentialSubject"]["achievement"];
    let name = a["name"].as_str().unwrap_or("Badge");
    let description = a["description"].as_str().unwrap_or("");
    let issuer = &vc["issuer"];
    let issuer_name = issuer["name"].as_str().unwrap_or("");
    let issuer_id = issuer["id"].as_str().unwrap_or("");
    let image = a["image"]["id"].as_str().unwrap_or("");
    let lang = a["inLanguage"].as_str().unwrap_or("en");
    let url = format!("{base}/credentials/{id}");
    let issued = vc["validFrom"].as_str().unwrap_or("");
    let (class, text) = banner(report);
    let skills: String = a["alignment"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!("<li>{}</li>", link(s["targetUrl"].as_str().unwrap_or(""), s["targetName"].as_str().unwrap_or("")))
        })
        .collect();
    let evidence: String = vc["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| match e["id"].as_str() {
            Some(url) => format!("<li>{}</li>", link(url, e["name"].as_str().unwrap_or(url))),
            None => format!("<li>{}</li>", esc(e["narrative"].as_str().or(e["name"].as_str()).unwrap_or(""))),
        })
        .collect();
    let (year, month) =
        (issued.get(0..4).unwrap_or(""), issued.get(5..7).map(|m| m.trim_start_matches('0')).unwrap_or(""));
    let mut linkedin = format!(
        "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name={}&organizationName={}&issueYear={}&issueMonth={}&certUrl={}&certId={}",
        form(name),
        form(issuer_name),
        form(year),
        form(month),
        form(&url),
        form(id)
    );
    if let Some(until) = vc["validUntil"].as_str() {
        linkedin.push_str(&format!(
            "&expirationYear={}&expirationMonth={}",
            form(until.get(0..4).unwrap_or("")),
            form(until.get(5..7).map(|m| m.trim_start_matches('0')).unwrap_or(""))
        ));
    }
    let head = format!(
        "<meta property=\"og:type\" content=\"website\"><meta property=\"og:title\" content=\"{t}\"><meta property=\"og:description\" content=\"{d}\">\
<meta property=\"og:image\" content=\"{i}\"><meta property=\"og:url\" content=\"{u}\"><meta name=\"description\" content=\"{d}\">\
<link rel=\"alternate\" type=\"application/ld+json\" href=\"{u}?format=json\">",
        t = esc(&format!("{name} — {issuer_name}")),
        d = esc(description),
        i = esc(image),
        u = esc(&url),
    );
    let recipient = recipient_name.map(|n| format!("<dt>Awarded to</dt><dd>{}</dd>", esc(n))).unwrap_or_default();
    let body = format!(
        "<article><h1>{name}</h1><p class=\"status {class}\" role=\"status\" id=\"status\">{text}</p>\
<img class=\"badge\" src=\"{image}\" alt=\"{name}\"><p>{description}</p>\
<dl><dt>Issued by</dt><dd><a href=\"{issuer_id}\">{issuer_name}</a></dd>{recipient}<dt>Issued on</dt><dd><time datetime=\"{issued}\">{issued_day}</time></dd>\
<dt>Criteria</dt><dd>{criteria}</dd></dl>\
{skills}{evidence}\
<h2>Download or share</h2><p class=\"actions\"><a href=\"{url}?format=json\" download>JSON</a><a href=\"{url}.jwt\" download>VC-JWT</a>\
<a href=\"{url}/badge.png\" download>Badge (PNG)</a><a href=\"{url}/badge.svg\" download>Badge (SVG)</a><a href=\"{linkedin}\">Add to LinkedIn profile</a></p>\
{progress}<details><summary>Verification details</summary>{checks}</details></article>",
        progress = progress
            .map(|p| format!(
                "<h2>Your progress</h2><p><a href=\"{}\" id=\"progress\">See your metro lines and certificates</a> \
(a private link: share this page's address without <code>?learner=…</code>).</p>",
                esc(p)
            ))
            .unwrap_or_default(),
        name = esc(name),
        image = esc(image),
        description = esc(description),
        issuer_id = esc(issuer_id),
        issuer_name = esc(issuer_name),
        issued = esc(issued),
        issued_day = esc(issued.get(0..10).unwrap_or(issued)),
        criteria = esc(a["criteria"]["narrative"].as_str().unwrap_or("")),
        skills = if skills.is_empty() { String::new() } else { format!("<h2>Skills</h2><ul>{skills}</ul>") },
        evidence = if evidence.is_empty() { String::new() } else { format!("<h2>Evidence</h2><ul>{evidence}</ul>") },
        url = esc(&url),
        linkedin = esc(&linkedin),
        checks = checks_list(report),
        text = esc(&text),
    );
    page(lang, &format!("{name} — {issuer_name}"), &head, &body)
}

/// `application/x-www-form-urlencoded` encoding of a query value.
fn form(v: &str) -> String {
    serde_urlencoded::to_string([("v", v)]).map(|s| s[2..].to_string()).unwrap_or_default()
}

const VERIFY_FORM: &str = "<h1>Verify a badge</h1><p>Upload a badge image (PNG or SVG) or paste a badge (JSON or VC-JWT). No account needed; nothing is stored.</p>\
<form method=\"post\" action=\"/verify\" enctype=\"multipart/form-data\">\
<p><label for=\"file\">Badge file</label><br><input type=\"file\" id=\"file\" name=\"file\" accept=\"image/png,image/svg+xml,application/json,.json,.jwt\"></p>\
<p><label for=\"credential\">…or paste it here</label><br><textarea id=\"credential\" name=\"credential\"></textarea></p>\
<p><label for=\"recipient\">E-mail address of the holder (optional)</label><br><input type=\"email\" id=\"recipient\" name=\"recipient\"></p>\
<p><button type=\"submit\">Verify</button></p></form>";

async fn verify_form() -> Response {
    page("en", "Verify a badge", "", VERIFY_FORM)
}

/// The verify page showing a report in plain words.
pub fn verify_result(_state: &AppState, report: &Report) -> Response {
    let (class, text) = banner(report);
    let summary = report
        .credential
        .as_ref()
        .map(|c| {
            format!(
                "<dl><dt>Badge</dt><dd>{}</dd><dt>Issuer</dt><dd>{}</dd><dt>Valid from</dt><dd>{}</dd></dl>",
                esc(c["achievement"]["name"].as_str().unwrap_or("")),
                esc(c["issuer"]["name"].as_str().or(c["issuer"]["id"].as_str()).unwrap_or("")),
                esc(c["validFrom"].as_str().or(c["issuedOn"].as_str()).unwrap_or("")),
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Verification result</h1><p class=\"status {class}\" role=\"status\" id=\"status\">{}</p>{summary}<h2>Checks</h2>{}<p><a href=\"/verify\">Verify another badge</a></p>",
        esc(&text),
        checks_list(report)
    );
    page("en", "Verification result", "", &body)
}

/// A simple HTML view of a public JSON-LD document (issuer, nanomodule).
pub fn document_page(kind: &str, doc: &Value, json_url: &str) -> Response {
    let name = doc["name"].as_str().unwrap_or(kind);
    let mut rows = String::new();
    for (label, key) in [
        ("Description", "description"),
        ("Website", "url"),
        ("E-mail", "email"),
        ("Achievement type", "achievementType"),
        ("Study load (hours)", "creditsAvailable"),
    ] {
        if let Some(v) = doc.get(key).filter(|v| !v.is_null()) {
            let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            rows.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(label), esc(&text)));
        }
    }
    if let Some(c) = doc["criteria"]["narrative"].as_str() {
        rows.push_str(&format!("<dt>Criteria</dt><dd>{}</dd>", esc(c)));
    }
    let image = doc["image"]["id"]
        .as_str()
        .map(|i| format!("<img class=\"badge\" src=\"{}\" alt=\"{}\">", esc(i), esc(name)))
        .unwrap_or_default();
    let head = format!("<link rel=\"alternate\" type=\"application/ld+json\" href=\"{}\">", esc(json_url));
    let body = format!(
        "<h1>{}</h1><p>{}</p>{image}<dl>{rows}</dl><p><a href=\"{}\">JSON-LD</a></p>",
        esc(name),
        esc(kind),
        esc(json_url)
    );
    page(doc["inLanguage"].as_str().unwrap_or("en"), name, &head, &body)
}

/// Headers that keep a private page private: not cached by shared caches, not indexed, and no
/// `Referer` carrying the token to the sites its links lead to.
pub fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    r
}

/// The learner's private progress page.
pub fn progress_page(doc: &Value, self_url: &str) -> Response {
    let mut lines = String::new();
    for l in doc["metro_lines"].as_array().into_iter().flatten() {
        let stations: String = l["stations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let done = s["done"] == true;
                format!(
                    "<li class=\"{}\">{} {}</li>",
                    if done { "pass" } else { "todo" },
                    if done { "&#10003;" } else { "&#9675;" },
                    esc(s["name"].as_str().unwrap_or(""))
                )
            })
            .collect();
        let words: String = l["explanation"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                format!(
                    "<li class=\"{}\" data-depth=\"{}\">{}</li>",
                    if w["satisfied"] == true { "pass" } else { "fail" },
                    w["depth"],
                    esc(w["text"].as_str().unwrap_or(""))
                )
            })
            .collect();
        let cert = &l["certificate"];
        let certificate = match cert["id"].as_str() {
            Some(url) => format!(
                "<p class=\"status {}\">Certificate: <a href=\"{}\">{}</a></p>",
                match cert["status"].as_str() {
                    Some("active") => "valid",
                    Some("suspended") => "suspended",
                    _ => "revoked",
                },
                esc(url),
                esc(cert["status"].as_str().unwrap_or(""))
            ),
            None => String::new(),
        };
        lines.push_str(&format!(
            "<section class=\"line\"><h2>{name}</h2>{certificate}<h3>Stations</h3><ul class=\"checks\">{stations}</ul>\
<h3>Where you stand</h3><ul class=\"checks\">{words}</ul></section>",
            name = esc(l["name"].as_str().unwrap_or("")),
        ));
    }
    if lines.is_empty() {
        lines = "<p>None of your badges is part of a metro line yet.</p>".into();
    }
    let badges: String = doc["badges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            format!(
                "<li><a href=\"{}\">{}</a> — {} ({})</li>",
                esc(b["id"].as_str().unwrap_or("")),
                esc(b["name"].as_str().unwrap_or("")),
                esc(b["awarded"].as_str().unwrap_or("").get(0..10).unwrap_or("")),
                esc(b["status"].as_str().unwrap_or(""))
            )
        })
        .collect();
    let body = format!(
        "<h1>Your progress</h1><p>This page is private: anyone with its link can see it. Share your badges' own links instead.</p>\
<img src=\"{url}/map.svg\" alt=\"Your metro lines\">{lines}<h2>Your badges</h2><ul>{badges}</ul>\
<form method=\"post\" action=\"{url}/replace\"><p>Link shared by mistake? <button type=\"submit\">Replace this link</button> \
(the old one stops working at once).</p></form>",
        url = esc(self_url),
    );
    private(page("en", "Your progress", "<meta name=\"robots\" content=\"noindex\">", &body))
}

/// Shown once after the learner replaced their link.
pub fn progress_replaced(new_url: &str) -> Response {
    let body = format!(
        "<h1>Your new progress link</h1><p>The old link no longer works. Keep this one:</p><p><a href=\"{u}\">{u}</a></p>",
        u = esc(new_url)
    );
    private(page("en", "Your new progress link", "<meta name=\"robots\" content=\"noindex\">", &body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_http_urls_become_links() {
        assert!(super::link("https://a.nl/x", "A").starts_with("<a href=\"https://a.nl/x\""));
        for hostile in ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "urn:x:y", "vbscript:x"] {
            assert_eq!(super::link(hostile, "A"), "A", "{hostile}");
        }
    }
}
