//! `/api/v1/…/peer-groups`: a metro line's run for a group of participants, and their progress.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller};
use super::issuers::created;
use super::{ApiResult, AppState};
use crate::domain::peer_group::PeerGroupSpec;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(one, update)).routes(routes!(progress))
}

/// Create
#[utoipa::path(
    post,
    path = "/issuers/{id}/peer-groups",
    tag = "Peer groups",
    operation_id = "peer_groups_create",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Created),
)]
async fn create(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<PeerGroupSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_peer_group(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/peer-groups/{}", view.id), view))
}

/// List
#[utoipa::path(
    get,
    path = "/issuers/{id}/peer-groups",
    tag = "Peer groups",
    operation_id = "peer_groups_list",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"peer_groups": s.service.peer_groups(&who, issuer).await?})))
}

/// One
#[utoipa::path(
    get,
    path = "/peer-groups/{id}",
    tag = "Peer groups",
    operation_id = "peer_groups_one",
    params(("id" = String, Path, description = "The peer group's id")),
    responses(super::openapi::Answers),
)]
async fn one(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.peer_group(&who, id).await?))
}

/// Update
#[utoipa::path(
    patch,
    path = "/peer-groups/{id}",
    tag = "Peer groups",
    operation_id = "peer_groups_update",
    params(("id" = String, Path, description = "The peer group's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn update(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_peer_group(&who, id, &patch).await?))
}

/// Progress
#[utoipa::path(
    get,
    path = "/peer-groups/{id}/progress",
    tag = "Peer groups",
    operation_id = "peer_groups_progress",
    params(("id" = String, Path, description = "The peer group's id")),
    responses(super::openapi::Answers),
)]
async fn progress(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.peer_group_progress(&who, id).await?))
}
