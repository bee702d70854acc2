//! Awarding a cohort from the console: pick the module, type or paste the participants (or
//! upload the CSV the API takes), **Check** (the API's dry run, every bad row shown), **Award**
//! (idempotent: the form carries its own key, so a double click or a reload issues once), then
//! the result with every badge link, a CSV of the links, a printable sheet of QR codes, and
//! revocation within the trainer's 24 hours.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::domain::validate::FieldError;
use uuid::Uuid;

use super::{Chrome, Console, form, texts};
use crate::domain::award::{AwardInput, EvidenceInput, RecipientInput, SessionInput, from_csv, from_pasted};
use crate::http::AppState;
use crate::service::{AwardDetails, AwardOutcome, AwardRequest, DryRun, ServiceError, Standing, request_hash};
use crate::store::StatusChange;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/award", get(award_form).post(award_submit))
        .route("/console/awards/{id}", get(award_page))
        .route("/console/awards/{id}/links.csv", get(award_csv))
        .route("/console/awards/{id}/sheet", get(award_sheet))
        .route("/console/credentials/{id}/revoke", post(revoke))
}

/// What the trainer entered, echoed back after **Check**.
#[derive(Default, Clone)]
struct AwardForm {
    csrf: String,
    key: String,
    module: String,
    session_date: String,
    session_location: String,
    rows: String,
    csv: Vec<u8>,
    evidence_url: String,
    narrative: String,
    action: String,
}

/// Most bytes of one form field (the CSV file included).
const MAX_FIELD: usize = 2 * 1024 * 1024;

impl AwardForm {
    async fn read(mut multipart: Multipart) -> Result<AwardForm, String> {
        let mut f = AwardForm::default();
        while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(|e| e.body_text())?;
            if bytes.len() > MAX_FIELD {
                return Err(format!("{name}: too large"));
            }
            let text = || String::from_utf8_lossy(&bytes).into_owned();
            match name.as_str() {
                "csrf" => f.csrf = text(),
                "key" => f.key = text(),
                "module" => f.module = text(),
                "session_date" => f.session_date = text(),
                "session_location" => f.session_location = text(),
                "rows" => f.rows = text(),
                "csv" => f.csv = bytes.to_vec(),
                "evidence_url" => f.evidence_url = text(),
                "narrative" => f.narrative = text(),
                "action" => f.action = text(),
                _ => {}
            }
        }
        Ok(f)
    }

    /// The participants: the uploaded CSV if there is one, else the typed/pasted rows; the
    /// evidence link and narrative for everyone go to each row that has none of its own.
    fn recipients(&self) -> Result<Vec<RecipientInput>, ServiceError> {
        let mut rows = if self.csv.iter().any(|b| !b.is_ascii_whitespace()) {
            from_csv(&self.csv)?
        } else {
            from_pasted(&self.rows)?
        };
        let url = self.evidence_url.trim();
        let narrative = self.narrative.trim();
        for r in &mut rows {
            if !url.is_empty() && r.evidence.is_empty() {
                r.evidence.push(EvidenceInput { id: Some(url.to_string()), ..EvidenceInput::default() });
            }
            if !narrative.is_empty() && r.narrative.is_none() {
                r.narrative = Some(narrative.to_string());
            }
        }
        Ok(rows)
    }

    fn session(&self) -> SessionInput {
        let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        SessionInput { date: some(&self.session_date), location: some(&self.session_location) }
    }
}

struct ModuleOption {
    id: Uuid,
    name: String,
    selected: bool,
}

/// One row as **Check** judged it.
struct CheckedRow {
    n: usize,
    name: String,
    email: String,
    ok: bool,
    verdict: String,
    holds: Option<String>,
}

#[derive(Template)]
#[template(path = "console/award.html")]
struct AwardPage {
    c: Chrome,
    modules: Vec<ModuleOption>,
    form: AwardForm,
    problems: Vec<String>,
    doubles: bool,
    checked: Option<Vec<CheckedRow>>,
}

impl Console {
    async fn award_page_for(
        &self,
        s: &AppState,
        status: StatusCode,
        form: AwardForm,
        problems: Vec<String>,
        checked: Option<Vec<CheckedRow>>,
    ) -> Response {
        let Some(user) = &self.user else { return Redirect::to("/console").into_response() };
        let home = match s.service.console_home(&user.principal, "").await {
            Ok(h) => h,
            Err(e) => return self.fail(e),
        };
        if !home.may_award {
            return self.message(StatusCode::FORBIDDEN, self.t().forbidden);
        }
        let modules = home
            .modules
            .into_iter()
            .map(|m| ModuleOption { selected: m.id.to_string() == form.module, id: m.id, name: m.name })
            .collect();
        let doubles = checked.as_ref().is_some_and(|rows| rows.iter().any(|r| r.holds.is_some()));
        let page = AwardPage { c: self.chrome(self.t().award_title), modules, form, problems, doubles, checked };
        self.page(status, &page)
    }
}

#[derive(Deserialize)]
struct AwardQuery {
    #[serde(default)]
    module: String,
}

async fn award_form(State(s): State<AppState>, console: Console, uri: axum::http::Uri) -> Response {
    if let Err(r) = console.require() {
        return r;
    }
    let module = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<AwardQuery>(q).ok())
        .map(|q| q.module)
        .unwrap_or_default();
    let today = console.today;
    let form = AwardForm { key: super::fresh_token(), module, session_date: today.to_string(), ..AwardForm::default() };
    console.award_page_for(&s, StatusCode::OK, form, vec![], None).await
}

/// "recipients[2].identity: not an e-mail address" → "Row 3: e-mail address: not …".
fn row_problem(lang: crate::http::texts::Lang, e: &FieldError) -> (Option<usize>, String) {
    let field = e.field.as_str();
    let t = texts::texts(lang);
    let row =
        field.strip_prefix("recipients[").and_then(|rest| rest.split(']').next()).and_then(|n| n.parse::<usize>().ok());
    match row {
        Some(i) => {
            // "recipients[2].identity" → "Row 3: identity: …"; the row's own errors without a field.
            let inner = field.split_once("].").map(|(_, f)| f).unwrap_or("");
            (Some(i), format!("{} {}: {}", t.row, i + 1, crate::http::problems::problem_at(lang, inner, e)))
        }
        None if field.is_empty() || field == "rows" => (None, crate::http::problems::problem_at(lang, "", e)),
        None => (None, crate::http::problems::problem(lang, e)),
    }
}

async fn award_submit(State(s): State<AppState>, console: Console, multipart: Multipart) -> Response {
    let f = match AwardForm::read(multipart).await {
        Ok(f) => f,
        Err(why) => return console.message(StatusCode::BAD_REQUEST, &why),
    };
    let user = match console.require_form(&f.csrf) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let t = console.t();
    let Ok(module) = f.module.parse::<Uuid>() else {
        let problems = vec![format!("{}: {}", t.module, t.not_found)];
        return console.award_page_for(&s, StatusCode::UNPROCESSABLE_ENTITY, f, problems, None).await;
    };
    let recipients = match f.recipients() {
        Ok(r) => r,
        Err(ServiceError::Invalid(invalid)) => {
            let problems = invalid.0.iter().map(|e| row_problem(console.lang, e).1).collect();
            return console.award_page_for(&s, StatusCode::UNPROCESSABLE_ENTITY, f, problems, None).await;
        }
        Err(e) => return console.fail(e),
    };
    let dry_run = f.action != "award";
    let input = AwardInput { recipients: recipients.clone(), session: Some(f.session()) };
    let body = serde_json::to_vec(&input).expect("award input serialises");
    let hash = request_hash(&[module.as_bytes(), b"console", &[dry_run as u8], &body]);
    // Check runs without a key (nothing is stored); Award uses the form's own key.
    let key = (!dry_run).then(|| format!("console-{}", f.key.chars().take(64).collect::<String>()));
    let req = AwardRequest { input, dry_run, idempotency_key: key, request_hash: hash };
    match s.service.award(&user.principal, module, req).await {
        Ok(AwardOutcome::Checked(checked)) => {
            let rows = checked_rows(t, &recipients, Some(&checked));
            let problems: Vec<String> =
                rows.iter().filter(|r| !r.ok).map(|r| format!("{} {}: {}", t.row, r.n, r.verdict)).collect();
            let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            console.award_page_for(&s, status, f, problems, Some(rows)).await
        }
        Ok(AwardOutcome::Issued(awarded)) => {
            Redirect::to(&format!("/console/awards/{}", awarded.award_id)).into_response()
        }
        Err(ServiceError::Invalid(invalid)) => {
            let mut by_row: Vec<(Option<usize>, String)> =
                invalid.0.iter().map(|e| row_problem(console.lang, e)).collect();
            by_row.sort_by_key(|(row, _)| *row);
            let mut rows = checked_rows(t, &recipients, None);
            for (row, text) in &by_row {
                if let Some(r) = row.and_then(|i| rows.get_mut(i)) {
                    r.ok = false;
                    r.verdict = text.split_once(": ").map(|(_, m)| m.to_string()).unwrap_or_else(|| text.clone());
                }
            }
            let problems = by_row.into_iter().map(|(_, text)| text).collect();
            console.award_page_for(&s, StatusCode::UNPROCESSABLE_ENTITY, f, problems, Some(rows)).await
        }
        Err(e) => console.fail(e),
    }
}

/// The rows as the dry run saw them: ready, or already holding a badge of this module.
fn checked_rows(t: &texts::ConsoleTexts, rows: &[RecipientInput], dry_run: Option<&DryRun>) -> Vec<CheckedRow> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let holds = dry_run.and_then(|d| d.credentials.get(i)).and_then(|c| c.already_holds.clone());
            CheckedRow {
                n: i + 1,
                name: r.name.clone().unwrap_or_default(),
                email: r.identity.clone().unwrap_or_default(),
                ok: holds.is_none(),
                verdict: if holds.is_some() { t.already_holds.to_string() } else { t.ready.to_string() },
                holds,
            }
        })
        .collect()
}

struct Line {
    id: Uuid,
    url: String,
    name: String,
    identity: String,
    standing: &'static str,
    valid: bool,
}

fn lines(t: &texts::ConsoleTexts, d: &AwardDetails) -> Vec<Line> {
    d.lines
        .iter()
        .map(|l| Line {
            id: l.credential_id,
            url: l.url.clone(),
            name: l.name.clone().unwrap_or_default(),
            identity: l.identity.clone(),
            standing: match l.standing {
                Standing::Valid => t.valid,
                Standing::Suspended => t.suspended,
                Standing::Revoked => t.revoked,
            },
            valid: l.standing == Standing::Valid,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/awarded.html")]
struct AwardedPage {
    c: Chrome,
    id: Uuid,
    module: String,
    when: String,
    lines: Vec<Line>,
    may_revoke: bool,
}

async fn details(s: &AppState, console: &Console, raw: &str) -> Result<AwardDetails, Response> {
    let user = console.require()?;
    let id = raw.parse::<Uuid>().map_err(|_| console.fail(ServiceError::NotFound))?;
    s.service.award_details(&user.principal, id).await.map_err(|e| console.fail(e))
}

async fn award_page(
    State(s): State<AppState>,
    console: Console,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Response, Response> {
    let d = details(&s, &console, &raw).await?;
    let t = console.t();
    let page = AwardedPage {
        c: console.chrome(&format!("{}: {}", t.awarded_title, d.module)),
        id: d.award_id,
        when: texts::date(console.lang, d.created_at, true),
        lines: lines(t, &d),
        module: d.module,
        may_revoke: d.may_revoke,
    };
    Ok(console.page(StatusCode::OK, &page))
}

/// The links as a spreadsheet: name, e-mail, badge link, status.
async fn award_csv(
    State(s): State<AppState>,
    console: Console,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Response, Response> {
    let d = details(&s, &console, &raw).await?;
    let t = console.t();
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([t.name, t.email, t.badge, t.status]);
    for l in lines(t, &d) {
        let _ = w.write_record([l.name.as_str(), l.identity.as_str(), l.url.as_str(), l.standing]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"award-{}.csv\"", d.award_id)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

struct SheetCard {
    name: String,
    url: String,
    qr: String,
}

#[derive(Template)]
#[template(path = "console/sheet.html")]
struct SheetPage {
    c: Chrome,
    module: String,
    cards: Vec<SheetCard>,
}

/// One card per participant with a QR code of their badge link, to print and hand out.
async fn award_sheet(
    State(s): State<AppState>,
    console: Console,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Response, Response> {
    let d = details(&s, &console, &raw).await?;
    let cards = d
        .lines
        .iter()
        .filter(|l| l.standing == Standing::Valid)
        .map(|l| SheetCard {
            name: l.name.clone().unwrap_or_else(|| l.identity.clone()),
            url: l.url.clone(),
            qr: qr_svg(&l.url),
        })
        .collect();
    let page = SheetPage { c: console.chrome(console.t().print_sheet), module: d.module, cards };
    Ok(console.page(StatusCode::OK, &page))
}

/// A QR code as inline SVG (drawn by us from a URL we made: nothing foreign in it).
pub(crate) fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    award: Option<Uuid>,
}

async fn revoke(
    State(s): State<AppState>,
    console: Console,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    let f: RevokeForm = match form(&console, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let user = match console.require_form(&f.csrf) {
        Ok(u) => u.clone(),
        Err(r) => return r,
    };
    let Ok(id) = raw.parse::<Uuid>() else { return console.fail(ServiceError::NotFound) };
    let reason = Some(f.reason.trim().to_string()).filter(|r| !r.is_empty());
    match s.service.change_status(&user.principal, &[id], StatusChange::Revoke, reason).await {
        Ok(_) => match f.award {
            Some(award) => Redirect::to(&format!("/console/awards/{award}")).into_response(),
            None => Redirect::to("/console").into_response(),
        },
        Err(e) => console.fail(e),
    }
}
