//! Learners' private progress pages and the public achievement of each metro line version.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller};
use super::pages::{DocumentKind, private, progress_page, progress_replaced, wants_html};
use super::texts::Preferred;
use super::{ApiResult, AppState, json_ld};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/progress/{token}", get(progress))
        .route("/progress/{token}/map.svg", get(progress_map))
        .route("/progress/{token}/replace", post(replace))
        .route("/metro-lines/{id}/versions/{version}", get(certificate_achievement))
        .route("/metro-lines/{id}/versions/{version}/image.svg", get(certificate_image))
}

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evaluate)).routes(routes!(migrate)).routes(routes!(revoke_link))
}

async fn progress(
    State(s): State<AppState>,
    lang: Preferred,
    headers: HeaderMap,
    ApiPath(token): ApiPath<String>,
) -> ApiResult<Response> {
    let doc = s.service.progress_document(&token).await?;
    if wants_html(&headers) {
        return Ok(progress_page(lang, &doc, &s.service.progress_url(&token)));
    }
    Ok(private(Json(doc).into_response()))
}

async fn progress_map(State(s): State<AppState>, ApiPath(token): ApiPath<String>) -> ApiResult<Response> {
    let svg = s.service.progress_map_svg(&token).await?;
    let mut r = svg.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    Ok(private(r))
}

async fn replace(State(s): State<AppState>, lang: Preferred, ApiPath(token): ApiPath<String>) -> ApiResult<Response> {
    Ok(progress_replaced(lang, &s.service.replace_own_progress_link(&token).await?))
}

async fn certificate_achievement(
    State(s): State<AppState>,
    lang: Preferred,
    headers: HeaderMap,
    ApiPath((id, v)): ApiPath<(Uuid, i64)>,
) -> ApiResult<Response> {
    let doc = crate::credential::ob3::with_context(s.service.certificate_achievement(id, v).await?);
    if wants_html(&headers) {
        return Ok(super::pages::document_page(
            lang,
            DocumentKind::Certificate,
            &doc,
            doc["id"].as_str().unwrap_or_default(),
        ));
    }
    Ok(json_ld(headers.get(header::ACCEPT), &doc))
}

async fn certificate_image(State(s): State<AppState>, ApiPath((id, v)): ApiPath<(Uuid, i64)>) -> ApiResult<Response> {
    let doc = s.service.certificate_achievement(id, v).await?;
    let svg = crate::credential::ob3::default_image_svg(doc["name"].as_str().unwrap_or_default());
    Ok(super::public::image_response("image/svg+xml", svg.into_bytes(), true))
}

/// Evaluate
#[utoipa::path(
    post,
    path = "/metro-lines/{id}/evaluate",
    tag = "Progress",
    operation_id = "progress_evaluate",
    params(("id" = String, Path, description = "The metro line's id")),
    responses(super::openapi::Answers),
)]
async fn evaluate(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.evaluate_line(&who, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LearnerRef {
    identity: String,
    #[serde(default = "email")]
    identity_type: String,
}

fn email() -> String {
    "emailAddress".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrateRequest {
    /// Default: the line's current version.
    to_version: Option<i64>,
    /// Default: everyone on the line.
    learners: Option<Vec<LearnerRef>>,
}

/// Migrate
#[utoipa::path(
    post,
    path = "/metro-lines/{id}/learners/migrate",
    tag = "Progress",
    operation_id = "progress_migrate",
    params(("id" = String, Path, description = "The metro line's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON as schemas/api/learner-migration.schema.json describes"),
    responses(super::openapi::Answers),
)]
async fn migrate(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<MigrateRequest>,
) -> ApiResult<impl IntoResponse> {
    let learners = match req.learners {
        Some(list) => Some(
            list.into_iter()
                .enumerate()
                .map(|(i, l)| s.service.learner(&l.identity_type, &l.identity, &format!("learners[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    Ok(Json(s.service.migrate_line_learners(&who, id, req.to_version, learners).await?))
}

/// Revoke link
#[utoipa::path(
    post,
    path = "/progress-links/revoke",
    tag = "Progress",
    operation_id = "progress_revoke_link",
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn revoke_link(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(req): ApiJson<super::learners::LearnerRequest>,
) -> ApiResult<impl IntoResponse> {
    let n = s.service.revoke_progress_link(&who, &req.identity_type, &req.identity, req.issuer).await?;
    Ok(Json(serde_json::json!({"revoked": true, "links": n})))
}
