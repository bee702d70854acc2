//! `/api/v1/…/metro-maps`, `/api/v1/…/metro-lines` and learners' progress.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::issuers::{created, object};
use super::{ApiResult, AppState};
use crate::domain::metro_line::{MetroLineSpec, MetroMapSpec};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_map, list_maps))
        .routes(routes!(get_map, update_map))
        .routes(routes!(create_line, list_lines))
        .routes(routes!(get_line, update_line))
        .routes(routes!(get_line_version))
        .routes(routes!(progress))
        .routes(routes!(clr))
}

/// Create map
#[utoipa::path(
    post,
    path = "/issuers/{id}/metro-maps",
    tag = "Metro maps and lines",
    operation_id = "metro_create_map",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Created),
)]
async fn create_map(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<MetroMapSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_metro_map(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/metro-maps/{}", view.id), view))
}

/// List maps
#[utoipa::path(
    get,
    path = "/issuers/{id}/metro-maps",
    tag = "Metro maps and lines",
    operation_id = "metro_list_maps",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list_maps(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"metro_maps": s.service.metro_maps(&who, issuer).await?})))
}

/// Get map
#[utoipa::path(
    get,
    path = "/metro-maps/{id}",
    tag = "Metro maps and lines",
    operation_id = "metro_get_map",
    params(("id" = String, Path, description = "The metro map's id")),
    responses(super::openapi::Answers),
)]
async fn get_map(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_map(&who, id).await?))
}

/// Update map
#[utoipa::path(
    patch,
    path = "/metro-maps/{id}",
    tag = "Metro maps and lines",
    operation_id = "metro_update_map",
    params(("id" = String, Path, description = "The metro map's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn update_map(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_metro_map(&who, id, &object(patch)?).await?))
}

/// Create line
#[utoipa::path(
    post,
    path = "/issuers/{id}/metro-lines",
    tag = "Metro maps and lines",
    operation_id = "metro_create_line",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON as schemas/api/metro-line.schema.json describes"),
    responses(super::openapi::Created),
)]
async fn create_line(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<MetroLineSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_metro_line(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/metro-lines/{}", view.id), view))
}

/// List lines
#[utoipa::path(
    get,
    path = "/issuers/{id}/metro-lines",
    tag = "Metro maps and lines",
    operation_id = "metro_list_lines",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list_lines(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"metro_lines": s.service.metro_lines(&who, issuer).await?})))
}

/// Get line
#[utoipa::path(
    get,
    path = "/metro-lines/{id}",
    tag = "Metro maps and lines",
    operation_id = "metro_get_line",
    params(("id" = String, Path, description = "The metro line's id")),
    responses(super::openapi::Answers),
)]
async fn get_line(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_line(&who, id, None).await?))
}

/// Get line version
#[utoipa::path(
    get,
    path = "/metro-lines/{id}/versions/{version}",
    tag = "Metro maps and lines",
    operation_id = "metro_get_line_version",
    params(("id" = String, Path, description = "The metro line's id"), ("version" = String, Path, description = "The version number")),
    responses(super::openapi::Answers),
)]
async fn get_line_version(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, v)): ApiPath<(Uuid, i64)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_line(&who, id, Some(v)).await?))
}

/// Update line
#[utoipa::path(
    patch,
    path = "/metro-lines/{id}",
    tag = "Metro maps and lines",
    operation_id = "metro_update_line",
    params(("id" = String, Path, description = "The metro line's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn update_line(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_metro_line(&who, id, &object(patch)?).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ProgressQuery {
    identity: String,
    #[serde(default = "email")]
    identity_type: String,
}

fn email() -> String {
    "emailAddress".into()
}

/// A learner's record of the line as a signed CLR 2.0 credential (the line issuer's own
/// credentials only).
#[utoipa::path(
    get,
    path = "/metro-lines/{id}/clr",
    tag = "Metro maps and lines",
    operation_id = "metro_clr",
    params(("id" = String, Path, description = "The metro line's id"), ProgressQuery),
    responses(super::openapi::Answers),
)]
async fn clr(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ProgressQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_line_clr(&who, id, &q.identity_type, &q.identity).await?))
}

/// Progress
#[utoipa::path(
    get,
    path = "/metro-lines/{id}/progress",
    tag = "Metro maps and lines",
    operation_id = "metro_progress",
    params(("id" = String, Path, description = "The metro line's id"), ProgressQuery),
    responses(super::openapi::Answers),
)]
async fn progress(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ProgressQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_line_progress(&who, id, &q.identity_type, &q.identity).await?))
}
