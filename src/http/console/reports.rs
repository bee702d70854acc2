//! Issuance reports for auditors and issuer admins: a table per month, nanomodule (or metro
//! line) or trainer, and a bar chart of the same numbers drawn on the server as SVG (no script;
//! the table carries the numbers for screen readers).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::{Chrome, Console, Fields};
use crate::domain::access::Role;
use crate::http::AppState;
use crate::service::{IssuanceReport, ReportGroup, ServiceError};

pub fn router() -> Router<AppState> {
    Router::new().route("/console/reports", get(report))
}

/// One bar of the chart, in the chart's coordinates.
struct Bar {
    y: usize,
    label: String,
    badges_width: usize,
    certificates_x: usize,
    certificates_width: usize,
    value: usize,
}

#[derive(Template)]
#[template(path = "console/reports.html")]
struct ReportPage {
    c: Chrome,
    group: &'static str,
    from: String,
    to: String,
    report: IssuanceReport,
    bars: Vec<Bar>,
    height: usize,
    problems: Vec<String>,
    impact: Vec<crate::service::ModuleImpact>,
}

/// Bars start here and are at most this wide (the chart is 600 wide; labels sit left of it).
const BAR_X: usize = 210;
const BAR_MAX: usize = 330;
const ROW: usize = 28;

fn bars(report: &IssuanceReport) -> Vec<Bar> {
    let most = report.groups.iter().map(|g| g.counts.credentials + g.counts.certificates).max().unwrap_or(0).max(1);
    report
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let scale = |n: usize| n * BAR_MAX / most;
            let label: String = if g.group.chars().count() > 28 {
                format!("{}…", g.group.chars().take(27).collect::<String>())
            } else {
                g.group.clone()
            };
            Bar {
                y: 10 + i * ROW,
                label,
                badges_width: scale(g.counts.credentials),
                certificates_x: BAR_X + scale(g.counts.credentials),
                certificates_width: scale(g.counts.certificates),
                value: g.counts.credentials + g.counts.certificates,
            }
        })
        .collect()
}

fn day(v: &str) -> Option<time::OffsetDateTime> {
    time::Date::parse(v.trim(), time::macros::format_description!("[year]-[month]-[day]"))
        .ok()
        .map(|d| d.midnight().assume_utc())
}

async fn report(State(s): State<AppState>, console: Console, uri: axum::http::Uri) -> Result<Response, Response> {
    let user = console.require()?.clone();
    let issuer = match user.principal.issuer_id {
        Some(i) if user.principal.role != Role::Trainer => i,
        _ => return Err(console.fail(ServiceError::Forbidden)),
    };
    let q = Fields::query(&uri);
    let field = |k: &str| q.get(k).to_string();
    let (group, group_name) = match field("group").as_str() {
        "nanomodule" => (ReportGroup::Nanomodule, "nanomodule"),
        "trainer" => (ReportGroup::Trainer, "trainer"),
        _ => (ReportGroup::Month, "month"),
    };
    let t = console.t();
    let mut problems = vec![];
    let from = match field("from").trim() {
        "" => time::OffsetDateTime::UNIX_EPOCH,
        v => day(v).unwrap_or_else(|| {
            problems.push(format!("{}: YYYY-MM-DD", t.from_date));
            time::OffsetDateTime::UNIX_EPOCH
        }),
    };
    let to = match field("to").trim() {
        "" => s.service.now() + time::Duration::seconds(1),
        v => day(v).map(|d| d + time::Duration::days(1)).unwrap_or_else(|| {
            problems.push(format!("{}: YYYY-MM-DD", t.to_date));
            s.service.now()
        }),
    };
    let report =
        s.service.issuance_report(&user.principal, issuer, from, to, group).await.map_err(|e| console.fail(e))?;
    let impact = s.service.impact(&user.principal, issuer).await.map_err(|e| console.fail(e))?;
    let bars = bars(&report);
    let height = 20 + bars.len() * ROW;
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ReportPage {
        c: console.chrome(t.reports_title),
        group: group_name,
        from: field("from"),
        to: field("to"),
        report,
        bars,
        height,
        problems,
        impact,
    };
    Ok(console.page(status, &page))
}
