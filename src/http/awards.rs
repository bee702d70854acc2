//! `POST /api/v1/nanomodules/{id}/awards` (JSON or CSV) and the public credential documents.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, Caller, parse_json, read_body};
use super::{ApiError, ApiResult, AppState};
use crate::domain::award::{AwardInput, SessionInput, from_csv};
use crate::service::{AwardOutcome, AwardRequest, request_hash};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_award))
}

pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/credentials/{id}", get(credential))
        .route("/credentials/{id}/badge.png", get(badge_png))
        .route("/credentials/{id}/badge.svg", get(badge_svg))
}

async fn badge_png(State(s): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    let png = s.service.baked_png(id).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/png"), (header::CONTENT_DISPOSITION, "attachment; filename=\"badge.png\"")],
        png,
    )
        .into_response())
}

async fn badge_svg(State(s): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    let svg = s.service.baked_svg(id).await?;
    let mut r = (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CONTENT_DISPOSITION, "attachment; filename=\"badge.svg\"")],
        svg,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"),
    );
    Ok(r)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AwardQuery {
    #[serde(default)]
    dry_run: bool,
    /// CSV uploads carry the session in the query string.
    session_date: Option<String>,
    session_location: Option<String>,
}

/// Create award
#[utoipa::path(
    post,
    path = "/nanomodules/{id}/awards",
    tag = "Awards",
    operation_id = "awards_create_award",
    params(("id" = String, Path, description = "The nanomodule's id"), AwardQuery),
    request_body(content((serde_json::Value = "application/json"), (String = "text/csv")), description = "JSON as schemas/api/award.schema.json describes, or CSV (text/csv)"),
    responses(super::openapi::Created),
)]
async fn create_award(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<AwardQuery>,
    req: Request,
) -> ApiResult<Response> {
    let headers = req.headers().clone();
    let content_type = super::extract::content_type(&headers);
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let key =
                v.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 255).ok_or_else(|| ApiError::Malformed {
                    detail: "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
                    field: Some("Idempotency-Key".into()),
                })?;
            Some(key.to_string())
        }
    };
    let body = read_body(req, &s).await?;
    let input = match content_type.as_str() {
        "application/json" => parse_json::<AwardInput>(&body)?,
        "text/csv" => AwardInput {
            recipients: from_csv(&body)?,
            session: Some(SessionInput { date: q.session_date.clone(), location: q.session_location.clone() }),
        },
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected application/json or text/csv, got '{}'",
                if other.is_empty() { "nothing" } else { other }
            )));
        }
    };
    let hash = request_hash(&[
        id.as_bytes(),
        content_type.as_bytes(),
        &[q.dry_run as u8],
        q.session_date.as_deref().unwrap_or("").as_bytes(),
        q.session_location.as_deref().unwrap_or("").as_bytes(),
        &body,
    ]);
    let outcome = s
        .service
        .award(&who, id, AwardRequest { input, dry_run: q.dry_run, idempotency_key, request_hash: hash })
        .await?;
    Ok(match outcome {
        AwardOutcome::Checked(dry_run) => (StatusCode::OK, Json(dry_run)).into_response(),
        AwardOutcome::Issued(awarded) => (StatusCode::CREATED, Json(awarded)).into_response(),
    })
}

/// `GET /credentials/{id}` (JSON with embedded proof, or VC-JWT by content negotiation) and
/// `GET /credentials/{id}.jwt`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialQuery {
    /// `json` or `jwt`: a download link's way to pick the form regardless of `Accept`.
    format: Option<String>,
    /// The learner's own view: their progress token (from the award response's `learner_url`).
    learner: Option<String>,
    /// The page's language (read by [`Preferred`](super::texts::Preferred)).
    #[serde(rename = "lang")]
    _lang: Option<String>,
}

async fn credential(
    State(s): State<AppState>,
    lang: super::texts::Preferred,
    headers: HeaderMap,
    ApiPath(raw): ApiPath<String>,
    ApiQuery(q): ApiQuery<CredentialQuery>,
) -> ApiResult<Response> {
    let (id, force_jwt) = match raw.strip_suffix(".jwt") {
        Some(id) => (id, true),
        None => (raw.as_str(), q.format.as_deref() == Some("jwt")),
    };
    let id: Uuid = id.parse().map_err(|_| ApiError::not_found())?;
    if !force_jwt && q.format.is_none() && super::pages::wants_html(&headers) {
        // An endorsement is shown on the page of the badge it endorses.
        if let Some(badge) = s.service.endorsed_by(id).await? {
            return Ok(Redirect::to(&format!("{}#applied", s.service.credential_url(badge))).into_response());
        }
        // A wallet's copy is shown on its original's page.
        if let Some(original) = s.service.wallet_original(id).await? {
            return Ok(Redirect::to(&s.service.credential_url(original)).into_response());
        }
        let (vc, name) = s.service.credential_for_page(id).await?;
        // The holder hid the page; the JSON, the OB 2.0 assertion and verification stay.
        if s.service.page_hidden(id).await? {
            return Ok(super::pages::page_hidden(lang, &s.service.credential_url(id)));
        }
        let report = s.service.verify(crate::credential::verify::Input::Json(vc.clone()), None).await;
        let progress = match &q.learner {
            Some(token) => s.service.progress_link_for_badge(id, token).await,
            None => None,
        };
        let confirmations = s.service.confirmations(id).await?;
        let page = super::pages::badge_page(
            lang,
            &s.service.base_url,
            &id.to_string(),
            &vc,
            name.as_deref(),
            &report,
            progress.as_deref(),
            &confirmations,
        );
        let page = if progress.is_some() { super::pages::private(page) } else { page };
        return Ok(super::error::unavailable_if(report.unavailable, page));
    }
    let accept = if q.format.as_deref() == Some("json") {
        String::new()
    } else {
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase()
    };
    let wants_jwt = force_jwt
        || (accept.contains("application/vc+jwt") || accept.contains("text/plain")) && !accept.contains("json");
    let (body, media) = if wants_jwt {
        let media =
            if accept.contains("application/vc+jwt") || force_jwt { "application/vc+jwt" } else { "text/plain" };
        (s.service.credential_jwt(id).await?, media)
    } else {
        let media = if accept.contains("application/vc+ld+json") || accept.is_empty() || accept.contains("*/*") {
            "application/vc+ld+json"
        } else if accept.contains("application/ld+json") {
            "application/ld+json"
        } else {
            "application/json"
        };
        (s.service.credential_json(id).await?, media)
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(r)
}
