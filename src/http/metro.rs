//! `/api/v1/…/metro-maps`, `/api/v1/…/metro-lines` and learners' progress.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::issuers::{created, object};
use super::{ApiResult, AppState};
use crate::domain::metro_line::{MetroLineSpec, MetroMapSpec};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/issuers/{id}/metro-maps", post(create_map).get(list_maps))
        .route("/metro-maps/{id}", get(get_map).patch(update_map))
        .route("/issuers/{id}/metro-lines", post(create_line).get(list_lines))
        .route("/metro-lines/{id}", get(get_line).patch(update_line))
        .route("/metro-lines/{id}/versions/{version}", get(get_line_version))
        .route("/metro-lines/{id}/progress", get(progress))
        .route("/metro-lines/{id}/clr", get(clr))
}

async fn create_map(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<MetroMapSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_metro_map(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/metro-maps/{}", view.id), view))
}

async fn list_maps(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"metro_maps": s.service.metro_maps(&who, issuer).await?})))
}

async fn get_map(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_map(&who, id).await?))
}

async fn update_map(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_metro_map(&who, id, &object(patch)?).await?))
}

async fn create_line(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<MetroLineSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_metro_line(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/metro-lines/{}", view.id), view))
}

async fn list_lines(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"metro_lines": s.service.metro_lines(&who, issuer).await?})))
}

async fn get_line(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_line(&who, id, None).await?))
}

async fn get_line_version(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, v)): ApiPath<(Uuid, i64)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_line(&who, id, Some(v)).await?))
}

async fn update_line(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_metro_line(&who, id, &object(patch)?).await?))
}

#[derive(Deserialize)]
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
async fn clr(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ProgressQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_line_clr(&who, id, &q.identity_type, &q.identity).await?))
}

async fn progress(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ProgressQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.metro_line_progress(&who, id, &q.identity_type, &q.identity).await?))
}
