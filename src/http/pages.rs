//! Server-rendered public pages: the badge page, the verify page, issuer and nanomodule pages.
//!
//! Plain semantic HTML, readable on a phone, no JavaScript, every displayed value escaped, and a
//! restrictive Content-Security-Policy (styles from our own stylesheet only).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use askama::Template;

use super::AppState;
use super::texts::{Lang, Preferred, Texts};
use crate::credential::verify::Report;

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f6f4;line-height:1.5}\
main{max-width:42rem;margin:0 auto;padding:1rem}\
header.site{background:#16324f;color:#fff;padding:.6rem 1rem}header.site a{color:#fff;text-decoration:none;font-weight:600}\
img.badge{width:10rem;height:10rem;display:block;margin:1rem auto}\
figure.map{margin:1rem 0}figure.map img{width:100%;height:auto;border:1px solid #ccc}\
.status{padding:.75rem 1rem;border-radius:.4rem;font-weight:600;margin:1rem 0}\
.valid{background:#dcf5e3;color:#0d4f22}.revoked,.invalid{background:#fde2e1;color:#7a1410}.suspended,.expired{background:#fff1cc;color:#5c4300}.unknown{background:#e4ebf3;color:#16324f}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}\
ul.checks li.fail{color:#7a1410}ul.checks li.pass{color:#0d4f22}\
textarea{width:100%;min-height:8rem;font-family:monospace}\
.actions a{display:inline-block;margin:.25rem .5rem .25rem 0}\
a{color:#0b4f8a}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #c75000;outline-offset:2px}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;color:#16324f;padding:.3rem .6rem;z-index:2}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
header.site{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between}header.site nav{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}\
form.inline{display:inline}button.link{background:none;border:0;color:#fff;text-decoration:underline;font:inherit;padding:0;cursor:pointer}\
input,select,textarea{font:inherit;max-width:100%;box-sizing:border-box;padding:.4rem;border:1px solid #5a5a5a;border-radius:.25rem;background:#fff;color:#1b1b1b}\
input[type=email],input[type=password],input[type=text],input[type=url],input[type=search],select{width:100%}input.position,input#n,input#hours,input#days{width:5rem}\
button,a.button{font:inherit;display:inline-block;padding:.45rem .9rem;border-radius:.3rem;border:1px solid #16324f;background:#fff;color:#16324f;text-decoration:none;cursor:pointer}\
button.primary{background:#16324f;color:#fff}\
.hint{color:#4a4a4a;font-size:.95rem}.notice{background:#dcf5e3;color:#0d4f22;padding:.6rem 1rem;border-radius:.3rem}\
.error,.problems{background:#fde2e1;color:#7a1410;padding:.6rem 1rem;border-radius:.3rem}\
ul.rows,ol.cards,ul.marks{list-style:none;padding:0}ul.rows li{display:flex;flex-wrap:wrap;gap:.25rem 1rem;justify-content:space-between;align-items:center;padding:.5rem 0;border-bottom:1px solid #d0d0d0}\
ol.cards li{background:#fff;border:1px solid #d0d0d0;border-left-width:.4rem;border-radius:.3rem;padding:.6rem .8rem;margin:.5rem 0}ol.cards li.ok{border-left-color:#1e7a3c}ol.cards li.bad{border-left-color:#b3261e}\
.wrap{overflow-wrap:anywhere;word-break:break-word}ul.tabs{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem 1rem}ul.tabs a[aria-current]{font-weight:700;text-decoration:none}form.revoke{margin-top:.4rem}form.revoke input{width:auto;max-width:100%}\
ul.sheet{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:1rem}ul.sheet li{background:#fff;border:1px dashed #5a5a5a;padding:.75rem;break-inside:avoid}\
.depth-1{margin-left:1rem}.depth-2{margin-left:2rem}.depth-3{margin-left:3rem}.depth-4{margin-left:4rem}\
.table-wrap{overflow-x:auto}table.report{border-collapse:collapse;width:100%}table.report th,table.report td{border-bottom:1px solid #d0d0d0;padding:.3rem .5rem;text-align:left}.key.badges{color:#16324f}.key.certificates{color:#1e7a3c}\
ul.sheet figure{margin:0;text-align:center}.qr svg{width:12rem;height:12rem}\
@media print{header.site,.skip{display:none}body{background:#fff}}";

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

/// What every page's layout needs: its language, title and texts.
pub struct Layout {
    pub lang: &'static str,
    /// The other language's code, for the switch link.
    pub other: &'static str,
    pub title: String,
    pub t: &'static Texts,
    /// The language switch's link when `?lang=` alone would lose the page's own query.
    pub switch: Option<String>,
}

impl Layout {
    pub fn new(lang: Lang, title: impl Into<String>) -> Layout {
        Layout { lang: lang.code(), other: lang.other().code(), title: title.into(), t: lang.texts(), switch: None }
    }
}

/// The Content-Security-Policy of every page (public pages and the console): our stylesheet,
/// images, forms to ourselves, no script, no framing.
pub const PAGE_CSP: &str = "default-src 'none'; img-src 'self' https: data:; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A page of another module (the API description) with the site's headers.
pub(super) fn render(template: &impl Template) -> Response {
    page(template)
}

/// A rendered page with the site's headers.
fn page(template: &impl Template) -> Response {
    let html = match template.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "page template failed");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut r = html.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    h.insert(header::VARY, HeaderValue::from_static("Accept, Accept-Language"));
    r
}

/// A link to a URL from a credential (someone else's data): only `http:` and `https:` become
/// links, anything else (`javascript:`, `data:`, …, from credentials issued before such values
/// were refused) is shown as text.
pub struct Link {
    pub href: Option<String>,
    pub text: String,
}

fn link(url: &str, text: &str) -> Link {
    let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
    let safe = (scheme == "https" || scheme == "http") && url.contains("://");
    Link { href: safe.then(|| url.to_string()), text: text.to_string() }
}

/// The status banner: its CSS class and its sentence.
fn banner(t: &Texts, report: &Report) -> (&'static str, String) {
    let status = report.credential.as_ref().and_then(|c| c["status"].as_str()).unwrap_or("");
    let failed: Vec<&str> = report.checks.iter().filter(|c| !c.passed).map(|c| c.check).collect();
    if report.verified {
        return ("valid", t.valid.into());
    }
    if report.outcome == crate::credential::verify::Outcome::CouldNotCheck {
        let why = report.checks.iter().find(|c| c.could_not_check).map(|c| c.detail.clone()).unwrap_or_default();
        return ("unknown", format!("{} ({why}).", t.could_not_check));
    }
    let reason =
        report.checks.iter().find(|c| c.check == "status" && !c.passed).map(|c| c.detail.clone()).unwrap_or_default();
    match status {
        "revoked" => {
            ("revoked", format!("{} ({}).", t.revoked, reason.trim_start_matches("revoked").trim_start_matches(": ")))
        }
        "suspended" => (
            "suspended",
            format!("{} ({}).", t.suspended, reason.trim_start_matches("suspended").trim_start_matches(": ")),
        ),
        "expired" => ("expired", t.expired.into()),
        _ => ("invalid", format!("{} {}.", t.not_valid, failed.join(", "))),
    }
}

#[derive(Template)]
#[template(path = "badge.html")]
struct BadgePage<'a> {
    l: Layout,
    content_lang: &'a str,
    name: &'a str,
    description: &'a str,
    image: &'a str,
    url: String,
    issuer_id: &'a str,
    issuer_name: &'a str,
    recipient: Option<&'a str>,
    issued: &'a str,
    issued_day: &'a str,
    /// The module's study load in hours, as the reader writes numbers.
    study_hours: Option<String>,
    criteria: &'a str,
    skills: Vec<Link>,
    evidence: Vec<Link>,
    linkedin: String,
    progress: Option<&'a str>,
    banner: (&'static str, String),
    report: &'a Report,
    /// "Applied at work — confirmed by …", one line per standing endorsement.
    applied: Vec<(String, String)>,
    micro: Option<MicroBlock>,
}

/// The EU micro-credential elements of a badge, as the page shows them.
struct MicroBlock {
    outcomes: Vec<String>,
    workload: String,
    level: Option<String>,
    assessment: String,
    participation: String,
    quality: String,
    country: Option<String>,
    prerequisites: Option<String>,
    supervision: Option<String>,
    grading: Option<String>,
    integration: Option<String>,
    further: Option<String>,
}

impl MicroBlock {
    /// From the achievement's `euMicroCredential` node (and its OB properties: level alignment,
    /// issuer address); `None` for a badge that is not a micro-credential.
    fn of(vc: &Value, lang: Lang) -> Option<MicroBlock> {
        let a = &vc["credentialSubject"]["achievement"];
        let mc = a.get("euMicroCredential")?;
        let t = lang.texts();
        let text = |k: &str| mc[k].as_str().map(str::to_string);
        let hours = mc["workloadHours"].as_f64().unwrap_or_default();
        let ects = mc["ects"].as_f64().unwrap_or_default();
        let participation = match mc["participationForm"].as_str().unwrap_or_default() {
            "onsite" => t.mc_onsite.to_string(),
            "online" => t.mc_online.to_string(),
            "blended" => t.mc_blended.to_string(),
            other => other.to_string(),
        };
        let address = &vc["issuer"]["address"];
        Some(MicroBlock {
            outcomes: mc["learningOutcome"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o.as_str().map(str::to_string))
                .collect(),
            workload: format!(
                "{} {} · {} ECTS ({} {} = 1 ECTS)",
                super::texts::number(lang, hours),
                t.mc_hours,
                super::texts::number(lang, ects),
                mc["hoursPerEcts"],
                t.mc_hours
            ),
            level: a["alignment"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|al| matches!(al["targetFramework"].as_str(), Some("EQF" | "NLQF")))
                .and_then(|al| al["targetName"].as_str().map(str::to_string)),
            assessment: text("assessmentType").unwrap_or_default(),
            participation,
            quality: text("qualityAssurance").unwrap_or_default(),
            country: address["addressCountry"].as_str().or(address["addressCountryCode"].as_str()).map(str::to_string),
            prerequisites: text("prerequisites"),
            supervision: text("supervisionAndIdentityVerification"),
            grading: text("gradingScheme"),
            integration: text("integrationAndStackability"),
            further: text("furtherInformation"),
        })
    }
}

/// The public badge page. `progress` is the learner's private progress link, shown only when
/// the learner opened their own view of the page. The reader's language wins; without one the
/// page speaks the badge's language.
#[allow(clippy::too_many_arguments)] // each is one part of the page; a struct would only rename them
pub fn badge_page(
    lang: Preferred,
    base: &str,
    id: &str,
    vc: &Value,
    recipient: Option<&str>,
    report: &Report,
    progress: Option<&str>,
    confirmations: &[crate::service::Confirmation],
) -> Response {
    let a = &vc["credentialSubject"]["achievement"];
    let name = a["name"].as_str().unwrap_or("Badge");
    let issuer = &vc["issuer"];
    let issuer_name = issuer["name"].as_str().unwrap_or("");
    let content_lang = a["inLanguage"].as_str().unwrap_or("en");
    let lang = lang.or(Lang::parse(content_lang).unwrap_or(Lang::En));
    let url = format!("{base}/credentials/{id}");
    let issued = vc["validFrom"].as_str().unwrap_or("");
    let skills = a["alignment"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| link(s["targetUrl"].as_str().unwrap_or(""), s["targetName"].as_str().unwrap_or("")))
        .collect();
    let evidence = vc["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| match e["id"].as_str() {
            Some(url) => link(url, e["name"].as_str().unwrap_or(url)),
            None => Link { href: None, text: e["narrative"].as_str().or(e["name"].as_str()).unwrap_or("").into() },
        })
        .collect();
    let linkedin = crate::credential::share::linkedin_add_url(vc, &url, id);
    page(&BadgePage {
        micro: MicroBlock::of(vc, lang),
        banner: banner(lang.texts(), report),
        l: Layout::new(lang, format!("{name} — {issuer_name}")),
        content_lang,
        name,
        description: a["description"].as_str().unwrap_or(""),
        image: a["image"]["id"].as_str().unwrap_or(""),
        url,
        issuer_id: issuer["id"].as_str().unwrap_or(""),
        issuer_name,
        recipient,
        issued,
        issued_day: &crate::domain::time::parse_rfc3339(issued)
            .map(|t| super::texts::long_date(lang, t, false))
            .unwrap_or_else(|| issued.get(0..10).unwrap_or(issued).to_string()),
        study_hours: vc["credentialSubject"]["creditsEarned"].as_f64().map(|h| super::texts::number(lang, h)),
        criteria: a["criteria"]["narrative"].as_str().unwrap_or(""),
        skills,
        evidence,
        linkedin,
        progress,
        report,
        applied: confirmations
            .iter()
            .map(|c| {
                let who = [c.manager.as_deref(), c.company.as_deref()].into_iter().flatten().collect::<Vec<_>>();
                let said = format!(
                    "{} {}, {}",
                    lang.texts().impact_confirmed_by,
                    if who.is_empty() { "—".to_string() } else { who.join(", ") },
                    super::texts::long_date(lang, c.date, false)
                );
                (said, format!("{}?format=json", c.endorsement))
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "verify_form.html")]
struct VerifyForm {
    l: Layout,
    /// Why the last submission could not be read, in the reader's language.
    problems: Vec<String>,
}

async fn verify_form(lang: Preferred) -> Response {
    let lang = lang.or(Lang::En);
    page(&VerifyForm { l: Layout::new(lang, lang.texts().verify_title), problems: vec![] })
}

/// The verify form again for a person whose upload could not be read (nothing chosen, not a
/// badge file), with the problems next to it; `None` for errors that are no input problem.
pub fn verify_refused(lang: Preferred, e: &super::ApiError) -> Option<Response> {
    let lang = lang.or(Lang::En);
    let problems = match e {
        super::ApiError::Invalid(invalid) => invalid.0.iter().map(|f| super::problems::problem(lang, f)).collect(),
        super::ApiError::Malformed { field, detail } => {
            let f = crate::domain::validate::FieldError::new(
                field.clone().unwrap_or_default(),
                crate::domain::validate::unreadable(detail),
            );
            vec![super::problems::problem(lang, &f)]
        }
        _ => return None,
    };
    let mut r = page(&VerifyForm { l: Layout::new(lang, lang.texts().verify_title), problems });
    *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Some(r)
}

#[derive(Template)]
#[template(path = "verify_result.html")]
struct VerifyResult<'a> {
    l: Layout,
    banner: (&'static str, String),
    /// Badge name, issuer, valid from.
    summary: Option<(String, String, String)>,
    report: &'a Report,
}

/// The verify page showing a report in plain words.
pub fn verify_result(lang: Preferred, report: &Report) -> Response {
    let lang = lang.or(Lang::En);
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let summary = report.credential.as_ref().map(|c| {
        (
            text(&c["achievement"]["name"]),
            text(if c["issuer"]["name"].is_string() { &c["issuer"]["name"] } else { &c["issuer"]["id"] }),
            text(if c["validFrom"].is_string() { &c["validFrom"] } else { &c["issuedOn"] }),
        )
    });
    page(&VerifyResult {
        l: Layout::new(lang, lang.texts().result_title),
        banner: banner(lang.texts(), report),
        summary,
        report,
    })
}

/// Which public document a page shows.
#[derive(Debug, Clone, Copy)]
pub enum DocumentKind {
    Issuer,
    Nanomodule,
    Certificate,
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage<'a> {
    l: Layout,
    name: &'a str,
    kind: &'static str,
    image: Option<&'a str>,
    rows: Vec<(&'static str, String)>,
    json_url: &'a str,
}

/// A simple HTML view of a public JSON-LD document (issuer, nanomodule, certificate).
pub fn document_page(lang: Preferred, kind: DocumentKind, doc: &Value, json_url: &str) -> Response {
    let lang = lang.or(doc["inLanguage"].as_str().and_then(Lang::parse).unwrap_or(Lang::En));
    let t = lang.texts();
    let kind = match kind {
        DocumentKind::Issuer => t.kind_issuer,
        DocumentKind::Nanomodule => t.kind_nanomodule,
        DocumentKind::Certificate => t.kind_certificate,
    };
    let name = doc["name"].as_str().unwrap_or(kind);
    let mut rows = Vec::new();
    for (label, key) in [
        (t.description, "description"),
        (t.website, "url"),
        (t.email, "email"),
        (t.achievement_type, "achievementType"),
        (t.study_load, "creditsAvailable"),
    ] {
        if let Some(v) = doc.get(key).filter(|v| !v.is_null()) {
            rows.push((label, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())));
        }
    }
    if let Some(c) = doc["criteria"]["narrative"].as_str() {
        rows.push((t.criteria, c.to_string()));
    }
    page(&DocumentPage { l: Layout::new(lang, name), name, kind, image: doc["image"]["id"].as_str(), rows, json_url })
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

struct LineView {
    name: String,
    certificate: Option<CertificateView>,
    /// Station name, done.
    stations: Vec<(String, bool)>,
    /// Sentence, satisfied, depth.
    words: Vec<(String, bool, i64)>,
}

struct CertificateView {
    class: &'static str,
    url: String,
    status: &'static str,
}

struct BadgeView {
    url: String,
    name: String,
    day: String,
    status: String,
}

#[derive(Template)]
#[template(path = "progress.html")]
struct ProgressPage<'a> {
    l: Layout,
    url: &'a str,
    lines: Vec<LineView>,
    badges: Vec<BadgeView>,
}

fn status_word(t: &Texts, status: &str) -> &'static str {
    match status {
        "active" => t.status_active,
        "suspended" => t.status_suspended,
        _ => t.status_revoked,
    }
}

/// The learner's private progress page.
pub fn progress_page(lang: Preferred, doc: &Value, self_url: &str) -> Response {
    let lang = lang.or(Lang::Nl);
    let t = lang.texts();
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let lines = doc["metro_lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| LineView {
            name: text(&l["name"]),
            certificate: l["certificate"]["id"].as_str().map(|url| {
                let status = l["certificate"]["status"].as_str().unwrap_or("");
                CertificateView {
                    class: match status {
                        "active" => "valid",
                        "suspended" => "suspended",
                        _ => "revoked",
                    },
                    url: url.to_string(),
                    status: status_word(t, status),
                }
            }),
            stations: l["stations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| (text(&s["name"]), s["done"] == true))
                .collect(),
            words: l["explanation"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| (text(&w["text"]), w["satisfied"] == true, w["depth"].as_i64().unwrap_or(0)))
                .collect(),
        })
        .collect();
    let badges = doc["badges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| BadgeView {
            url: text(&b["id"]),
            name: text(&b["name"]),
            day: b["awarded"].as_str().unwrap_or("").get(0..10).unwrap_or("").to_string(),
            status: status_word(t, b["status"].as_str().unwrap_or("")).to_string(),
        })
        .collect();
    private(page(&ProgressPage { l: Layout::new(lang, t.your_progress), url: self_url, lines, badges }))
}

#[derive(Template)]
#[template(path = "progress_replaced.html")]
struct ProgressReplaced<'a> {
    l: Layout,
    url: &'a str,
}

/// Shown once after the learner replaced their link.
pub fn progress_replaced(lang: Preferred, new_url: &str) -> Response {
    let lang = lang.or(Lang::Nl);
    private(page(&ProgressReplaced { l: Layout::new(lang, lang.texts().new_link_title), url: new_url }))
}

#[derive(Template)]
#[template(path = "me_sign_in.html")]
struct MeSignIn<'a> {
    l: Layout,
    notice: Option<&'static str>,
    error: Option<String>,
    email: &'a str,
    next: &'a str,
}

/// "My badges" before signing in: the address form, with what just happened. `next` (may be
/// empty) is where the mailed link returns to.
pub fn me_sign_in_page(
    lang: Lang,
    notice: Option<&'static str>,
    error: Option<String>,
    email: &str,
    next: &str,
) -> Response {
    private(page(&MeSignIn { l: Layout::new(lang, lang.texts().me_title), notice, error, email, next }))
}

#[derive(Template)]
#[template(path = "me_link.html")]
struct MeLink<'a> {
    l: Layout,
    action: &'a str,
}

/// The page a sign-in link opens: one button, so a mail scanner opening links uses nothing up.
pub fn me_link_page(lang: Lang, action: &str) -> Response {
    private(page(&MeLink { l: Layout::new(lang, lang.texts().me_link_title), action }))
}

pub struct MeItem {
    pub id: String,
    pub url: String,
    pub name: String,
    pub issuer: String,
    pub certificate: bool,
    pub issued: String,
    pub standing: &'static str,
    pub standing_class: &'static str,
    pub hidden: bool,
    pub linkedin: String,
}

/// One impact review on the learner's page.
pub struct MeReview {
    pub id: String,
    pub module: String,
    pub credential: String,
    /// Who was asked: name and company as the trainer or learner gave them.
    pub manager: String,
    /// Where it stands, in words, until answered.
    pub state: Option<String>,
    pub answer: Option<&'static str>,
    pub example: Option<String>,
    pub follow_up: Option<String>,
    pub comment: Option<String>,
    pub seen: bool,
    pub endorsement: Option<String>,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage<'a> {
    l: Layout,
    notice: Option<String>,
    email: &'a str,
    csrf: &'a str,
    items: Vec<MeItem>,
    reviews: Vec<MeReview>,
    addresses: Vec<String>,
    lines: Vec<crate::service::MyLine>,
    apps: Vec<crate::service::MyApp>,
}

/// What the learner's own page lists.
pub struct MeContent {
    pub items: Vec<MeItem>,
    pub reviews: Vec<MeReview>,
    /// Every address of the learner's account, the one they signed up with first.
    pub addresses: Vec<String>,
    pub lines: Vec<crate::service::MyLine>,
    /// Apps that can read the learner's badges (OB 3.0 API).
    pub apps: Vec<crate::service::MyApp>,
}

/// The learner's own page: every credential of their addresses and their managers' reviews.
pub fn me_page(lang: Lang, notice: Option<String>, email: &str, csrf: &str, content: MeContent) -> Response {
    let MeContent { items, reviews, addresses, lines, apps } = content;
    let l = Layout::new(lang, lang.texts().me_title);
    private(page(&MePage { l, notice, email, csrf, items, reviews, addresses, lines, apps }))
}

#[derive(Template)]
#[template(path = "me_wallet_start.html")]
struct WalletStart<'a> {
    l: Layout,
    action: String,
    csrf: &'a str,
}

/// From the e-mail's "Add to a wallet app": one button (opening a link changes nothing).
pub fn wallet_start_page(lang: Lang, credential: uuid::Uuid, csrf: &str) -> Response {
    let l = Layout::new(lang, lang.texts().wallet_title);
    private(page(&WalletStart { l, action: format!("/me/credentials/{credential}/wallet"), csrf }))
}

#[derive(Template)]
#[template(path = "me_wallet.html")]
struct WalletPage<'a> {
    l: Layout,
    name: &'a str,
    url: &'a str,
    qr: String,
    tx_code: &'a str,
    expires: String,
}

/// An offer for the learner's wallet: QR code, link and transaction code.
pub fn wallet_page(lang: Lang, offer: &crate::service::WalletOffer) -> Response {
    let t = lang.texts();
    private(page(&WalletPage {
        l: Layout::new(lang, t.wallet_title),
        name: &offer.name,
        url: &offer.url,
        qr: super::console::qr_svg(&offer.url),
        tx_code: &offer.tx_code,
        expires: t.wallet_expires.fill(&[("date", &super::texts::long_date(lang, offer.expires, true))]),
    }))
}

#[derive(Template)]
#[template(path = "impact_review.html")]
struct ReviewForm<'a> {
    l: Layout,
    intro: String,
    note: String,
    until: Option<String>,
    /// The thank-you or "closed" line instead of the form.
    done: Option<String>,
    errors: Vec<(String, String)>,
    answer: &'a str,
    example: &'a str,
    follow_up: &'a str,
}

/// The variables of the review page's sentences.
pub fn review_args(r: &crate::service::ReviewPage) -> [(&'static str, &str); 3] {
    [("learner", &r.learner), ("module", &r.module), ("issuer", &r.issuer)]
}

/// The manager's page of one impact review: the form, or what became of it.
#[allow(clippy::too_many_arguments)]
pub fn review_page(
    lang: Lang,
    r: &crate::service::ReviewPage,
    done: Option<String>,
    errors: Vec<(String, String)>,
    answer: &str,
    example: &str,
    follow_up: &str,
) -> Response {
    let t = lang.texts();
    let args = review_args(r);
    let until = r.expires.map(|e| t.review_until.fill(&[("date", &super::texts::long_date(lang, e, false))]));
    private(page(&ReviewForm {
        l: Layout::new(lang, t.review_title),
        intro: t.review_intro.fill(&args),
        note: t.review_public_note.fill(&args),
        until,
        done,
        errors,
        answer,
        example,
        follow_up,
    }))
}

#[derive(Template)]
#[template(path = "page_hidden.html")]
struct PageHidden<'a> {
    l: Layout,
    url: &'a str,
}

/// What a hidden credential's public page says instead (404: there is no page to show).
pub fn page_hidden(lang: Preferred, url: &str) -> Response {
    let lang = lang.or(Lang::Nl);
    let mut r = page(&PageHidden { l: Layout::new(lang, lang.texts().page_hidden_title), url });
    *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
    r
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage<'a> {
    l: Layout,
    title: String,
    question: String,
    done: Option<String>,
    opted_out: bool,
    action: &'a str,
}

/// The page behind an e-mail's unsubscribe link: what it does before, and what was done after
/// (`changed`). Never cached, never indexed.
pub fn unsubscribe_page(lang: Preferred, sub: &crate::service::Subscription, action: &str, changed: bool) -> Response {
    let lang = lang.or(Lang::Nl);
    let t = lang.texts();
    let args = [("issuer", sub.issuer_name.as_str())];
    let done = changed.then(|| if sub.opted_out { t.unsubscribed } else { t.resubscribed }.fill(&args));
    let title = t.unsubscribe_title.fill(&args);
    private(page(&UnsubscribePage {
        l: Layout::new(lang, title.clone()),
        title,
        question: t.unsubscribe_question.fill(&args),
        done: done.or_else(|| sub.opted_out.then(|| t.unsubscribed.fill(&args))),
        opted_out: sub.opted_out,
        action,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_http_urls_become_links() {
        assert_eq!(super::link("https://a.nl/x", "A").href.as_deref(), Some("https://a.nl/x"));
        for hostile in ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,x", "urn:x:y", "vbscript:x"] {
            assert_eq!(super::link(hostile, "A").href, None, "{hostile}");
        }
    }
}

#[derive(Template)]
#[template(path = "me_authorize.html")]
struct Consent<'a> {
    l: Layout,
    asks: String,
    returns: String,
    scopes: Vec<&'static str>,
    host: String,
    client_uri: &'a str,
    tos_uri: &'a str,
    policy_uri: &'a str,
    csrf: &'a str,
    fields: Vec<(&'static str, String)>,
}

/// An app asks the signed-in learner for access: what it wants, who it is, allow or not.
/// The form may be answered with a redirect to the app, so the page's `form-action` names
/// the app's origin too (browsers apply it to a form's redirects).
pub fn consent_page(lang: Lang, pending: &crate::service::PendingAuthorization, query: &str, csrf: &str) -> Response {
    use crate::domain::oauth::{OFFLINE_ACCESS, SCOPE_CREDENTIAL_READ, SCOPE_PROFILE_READ};
    let t = lang.texts();
    let a = &pending.request;
    let c = &pending.client;
    let scopes = a
        .scopes
        .iter()
        .filter_map(|s| match s.as_str() {
            SCOPE_CREDENTIAL_READ => Some(t.oauth_scope_credentials),
            SCOPE_PROFILE_READ => Some(t.oauth_scope_profile),
            OFFLINE_ACCESS => Some(t.oauth_scope_offline),
            _ => None,
        })
        .collect();
    let target = url::Url::parse(&a.redirect_uri).ok();
    let host = target.as_ref().and_then(|u| u.host_str()).unwrap_or_default().to_string();
    let fields = vec![
        ("response_type", "code".to_string()),
        ("client_id", a.client_id.clone()),
        ("redirect_uri", a.redirect_uri.clone()),
        ("scope", a.scopes.join(" ")),
        ("state", a.state.clone()),
        ("code_challenge", a.challenge.clone()),
        ("code_challenge_method", "S256".to_string()),
    ];
    let mut l = Layout::new(lang, t.oauth_title);
    l.switch = Some(format!("/me/authorize?{query}&lang={}", lang.other().code()));
    let mut r = private(page(&Consent {
        l,
        asks: t.oauth_asks.fill(&[("app", &c.client_name)]),
        returns: t.oauth_return.fill(&[("host", &host)]),
        scopes,
        host,
        client_uri: &c.client_uri,
        tos_uri: &c.tos_uri,
        policy_uri: &c.policy_uri,
        csrf,
        fields,
    }));
    let origin = target.map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    let csp = PAGE_CSP.replace("form-action 'self';", &format!("form-action 'self' {origin};"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

#[derive(Template)]
#[template(path = "oauth_broken.html")]
struct OAuthBroken<'a> {
    l: Layout,
    reason: &'a str,
}

/// An authorization request that cannot go back to its app (unknown app or return address).
pub fn oauth_broken_page(lang: Lang, reason: &str) -> Response {
    let mut r = private(page(&OAuthBroken { l: Layout::new(lang, lang.texts().oauth_broken), reason }));
    *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    r
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct Privacy {
    l: Layout,
}

/// What the service keeps about learners and who sees it (the OB 3.0 API's privacy policy).
pub fn privacy_page(lang: Lang) -> Response {
    page(&Privacy { l: Layout::new(lang, lang.texts().privacy_title) })
}
