//! The auditor's console: the trail with filters (dates, action, actor, subject), each event's
//! detail, verification of the chain with its result, and the exports as downloads. Read-only;
//! the same scope rules as the API (an issuer's auditors and admins their issuer's chain, the
//! platform admin every chain).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Chrome, Console, texts};
use crate::http::AppState;
use crate::http::audit::{Format, export};
use crate::service::{AuditFilter, AuditReport};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/audit", get(events))
        .route("/console/audit/verify", get(verify))
        .route("/console/audit/export.csv", get(export_csv))
        .route("/console/audit/export.ndjson", get(export_ndjson))
}

/// The part of the trail this person may read (their issuer's chain; all for the admin).
fn scope_of(s: &AppState, console: &Console) -> Result<Option<uuid::Uuid>, Response> {
    let user = console.require()?;
    s.service.audit_scope(&user.principal, None).map_err(|e| console.fail(e))
}

/// Events one page lists.
const PAGE: usize = 50;

#[derive(Deserialize, Default)]
struct Query {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    after: i64,
}

impl Query {
    /// The filter, or the fields that are not dates.
    fn filter(&self, t: &texts::ConsoleTexts) -> Result<AuditFilter, Vec<String>> {
        let date = time::macros::format_description!("[year]-[month]-[day]");
        let mut problems = vec![];
        let mut day = |label: &str, v: &str| -> Option<time::Date> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            time::Date::parse(v, &date).map_err(|_| problems.push(format!("{label}: YYYY-MM-DD"))).ok()
        };
        let from = day(t.from_date, &self.from).map(|d| d.midnight().assume_utc());
        let to = day(t.to_date, &self.to).map(|d| d.midnight().assume_utc() + time::Duration::days(1));
        let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        if problems.is_empty() {
            Ok(AuditFilter {
                from,
                to,
                action: text(&self.action),
                actor: text(&self.actor),
                subject: text(&self.subject),
            })
        } else {
            Err(problems)
        }
    }

    fn next_link(&self, after: i64) -> String {
        let pairs = [
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("subject", self.subject.as_str()),
        ];
        let mut q: Vec<(&str, String)> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (*k, v.to_string())).collect();
        q.push(("after", after.to_string()));
        format!("/console/audit?{}", serde_urlencoded::to_string(q).unwrap_or_default())
    }
}

struct Row {
    when: String,
    e: crate::domain::audit::Event,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    c: Chrome,
    q: Query,
    problems: Vec<String>,
    rows: Vec<Row>,
    next: Option<String>,
}

async fn events(State(s): State<AppState>, console: Console, uri: axum::http::Uri) -> Response {
    let scope = match scope_of(&s, &console) {
        Ok(scope) => scope,
        Err(r) => return r,
    };
    let q: Query = uri.query().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    let t = console.t();
    let (problems, rows, next) = match q.filter(t) {
        Err(problems) => (problems, vec![], None),
        Ok(filter) => match s.service.audit_search(scope, &filter, q.after.max(0), PAGE).await {
            Ok((events, next)) => {
                let rows = events
                    .into_iter()
                    .map(|e| Row {
                        when: crate::domain::time::parse_rfc3339(&e.occurred_at)
                            .map(|at| texts::date(console.lang, at, true))
                            .unwrap_or_else(|| e.occurred_at.clone()),
                        e,
                    })
                    .collect();
                (vec![], rows, next.map(|n| q.next_link(n)))
            }
            Err(e) => return console.fail(e),
        },
    };
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = AuditPage { c: console.chrome(t.audit_title), q, problems, rows, next };
    console.page(status, &page)
}

#[derive(Template)]
#[template(path = "console/audit_verify.html")]
struct VerifyPage {
    c: Chrome,
    report: AuditReport,
}

async fn verify(State(s): State<AppState>, console: Console) -> Response {
    let user = match console.require() {
        Ok(u) => u,
        Err(r) => return r,
    };
    match s.service.audit_verify(&user.principal, None).await {
        Ok(report) => {
            let page = VerifyPage { c: console.chrome(console.t().verify_chain), report };
            console.page(StatusCode::OK, &page)
        }
        Err(e) => console.fail(e),
    }
}

async fn download(s: AppState, console: Console, format: Format, file: &str) -> Response {
    let scope = match scope_of(&s, &console) {
        Ok(scope) => scope,
        Err(r) => return r,
    };
    match export(s.service.clone(), scope, 0, format).await {
        Ok(mut r) => {
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(e) => e.into_response(),
    }
}

async fn export_csv(State(s): State<AppState>, console: Console) -> Response {
    download(s, console, Format::Csv, "audit-trail.csv").await
}

async fn export_ndjson(State(s): State<AppState>, console: Console) -> Response {
    download(s, console, Format::Ndjson, "audit-trail.ndjson").await
}
