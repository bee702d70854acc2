//! `/api/v1/audit/…`: the trail's events (JSON pages, or an NDJSON / CSV export streamed page by
//! page so any size fits in constant memory; the NDJSON export ends with the proof that makes it
//! checkable offline) and its verification.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiQuery, Caller};
use super::{ApiResult, AppState};
use crate::domain::audit::Event;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Events per page when exporting.
const EXPORT_PAGE: i64 = 1000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(verify))
        .routes(routes!(checkpoint))
        .routes(routes!(report))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    issuer: Uuid,
    /// RFC 3339 date-time or YYYY-MM-DD; default: the beginning.
    from: Option<String>,
    /// Exclusive end; default: now.
    to: Option<String>,
    /// `month`, `nanomodule` or `trainer`; default `month`.
    #[serde(default = "month")]
    #[param(value_type = Option<String>)]
    group: crate::service::ReportGroup,
}

fn month() -> crate::service::ReportGroup {
    crate::service::ReportGroup::Month
}

fn when(field: &str, v: &Option<String>, default: time::OffsetDateTime) -> ApiResult<time::OffsetDateTime> {
    let Some(v) = v else { return Ok(default) };
    let date = time::macros::format_description!("[year]-[month]-[day]");
    crate::domain::time::parse_rfc3339(v)
        .or_else(|| time::Date::parse(v, &date).ok().map(|d| d.midnight().assume_utc()))
        .ok_or_else(|| {
            crate::domain::validate::Invalid::one(
                field,
                crate::problem!("not-a-date-or-time", "must be YYYY-MM-DD or an RFC 3339 date-time"),
            )
            .into()
        })
}

/// Report
#[utoipa::path(
    get,
    path = "/reports/issuance",
    tag = "Audit and reports",
    operation_id = "audit_report",
    params(ReportQuery),
    responses(super::openapi::Answers)
)]
async fn report(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<impl IntoResponse> {
    let from = when("from", &q.from, time::OffsetDateTime::UNIX_EPOCH)?;
    let to = when("to", &q.to, s.service.now() + time::Duration::seconds(1))?;
    Ok(Json(s.service.issuance_report(&who, q.issuer, from, to, q.group).await?))
}

/// Public: the checkpoint key and the checkpoints (they reveal nothing but hashes).
pub fn public_router() -> Router<AppState> {
    Router::new().route("/audit/key", get(key)).route("/audit/checkpoints", get(checkpoints))
}

/// Checkpoint
#[utoipa::path(
    post,
    path = "/audit/checkpoints",
    tag = "Audit and reports",
    operation_id = "audit_checkpoint",
    responses(super::openapi::Answers)
)]
async fn checkpoint(State(s): State<AppState>, Caller(who): Caller) -> ApiResult<Response> {
    Ok(match s.service.create_checkpoint(Some(&who)).await? {
        Some(c) => (axum::http::StatusCode::CREATED, Json(c)).into_response(),
        None => (
            axum::http::StatusCode::OK,
            Json(serde_json::json!({"detail": "every chain head is already signed by the newest checkpoint"})),
        )
            .into_response(),
    })
}

async fn key(State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    let multibase = s.service.audit_public_key().await?;
    let public = crate::credential::multikey::decode(&multibase).expect("we encoded it");
    Ok(Json(
        serde_json::json!({"publicKeyMultibase": multibase, "jwk": crate::credential::multikey::jwk(&public, "audit-checkpoints")}),
    ))
}

async fn checkpoints(State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({
        "checkpoints": s.service.tree_heads().await?,
        "legacy_checkpoints": s.service.checkpoints().await?,
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    issuer: Option<Uuid>,
    #[serde(default)]
    after: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

#[derive(Clone, Copy)]
pub(super) enum Format {
    Ndjson,
    Csv,
}

fn csv_line(e: &Event) -> String {
    let field =
        |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    format!(
        "{},{},{},{},{},{},{},{},{},{},{}\n",
        e.seq,
        field(&e.occurred_at),
        field(&e.actor_token),
        field(&e.actor_role),
        field(e.issuer_id.as_deref().unwrap_or("")),
        field(&e.action),
        field(&e.subject_id),
        e.change_digest,
        e.prev_hash,
        e.hash,
        field(&e.chain)
    )
}

/// Events
#[utoipa::path(
    get,
    path = "/audit/events",
    tag = "Audit and reports",
    operation_id = "audit_events",
    params(EventsQuery),
    responses(super::openapi::Answers)
)]
async fn events(
    State(s): State<AppState>,
    Caller(who): Caller,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Response> {
    let scope = s.service.audit_scope(&who, q.issuer)?;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = if accept.contains("application/x-ndjson") {
        Some(Format::Ndjson)
    } else if accept.contains("text/csv") {
        Some(Format::Csv)
    } else {
        None
    };
    let Some(format) = format else {
        let page = s.service.audit_events(scope, q.after.max(0), q.limit.clamp(1, 1000)).await?;
        let next = page.last().map(|e| e.position);
        return Ok(Json(serde_json::json!({"events": page, "next_after": next})).into_response());
    };
    export(s.service.clone(), scope, q.after.max(0), format).await
}

/// A whole export of the caller's part of the trail, streamed one page at a time (constant
/// memory at any size); the NDJSON form ends with the proof that makes it checkable offline.
/// The API and the console's download both answer with this.
pub(super) async fn export(
    service: crate::service::Service,
    scope: Option<Uuid>,
    after: i64,
    format: Format,
) -> ApiResult<Response> {
    // The proof is read before the events, so every head it signs is in the export.
    let proof = match format {
        Format::Ndjson => service.export_proof(scope, after).await?,
        Format::Csv => None,
    };
    // Stream the export: one page in memory at a time.
    let header_line = matches!(format, Format::Csv).then(|| {
        "seq,occurred_at,actor_token,actor_role,issuer_id,action,subject_id,change_digest,prev_hash,hash,chain\n"
            .to_string()
    });
    let start = futures_util::stream::iter(header_line.map(Ok::<_, std::io::Error>));
    let pages = futures_util::stream::unfold(Some(after), move |after| {
        let service = service.clone();
        async move {
            let after = after?;
            match service.audit_events(scope, after, EXPORT_PAGE).await {
                Ok(page) if page.is_empty() => None,
                Ok(page) => {
                    let next = page.last().map(|e| e.position);
                    let text: String = page
                        .iter()
                        .map(|e| match format {
                            Format::Ndjson => format!("{}\n", serde_json::to_string(e).expect("events serialise")),
                            Format::Csv => csv_line(e),
                        })
                        .collect();
                    Some((Ok(text), next))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let end = futures_util::stream::iter(proof.map(|p| Ok(format!("{}\n", serde_json::json!({"proof": p})))));
    let media = match format {
        Format::Ndjson => "application/x-ndjson",
        Format::Csv => "text/csv; charset=utf-8",
    };
    Ok(([(header::CONTENT_TYPE, media)], Body::from_stream(start.chain(pages).chain(end))).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct VerifyQuery {
    issuer: Option<Uuid>,
}

/// Verify
#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "Audit and reports",
    operation_id = "audit_verify",
    params(VerifyQuery),
    responses(super::openapi::Answers)
)]
async fn verify(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<VerifyQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.audit_verify(&who, q.issuer).await?))
}
