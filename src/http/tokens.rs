//! `/api/v1/tokens`: API tokens with an expiry, listed without secrets, revoked by id.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::issuers::created;
use super::{ApiResult, AppState};
use crate::service::NewToken;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(revoke))
}

/// Create
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "API tokens",
    operation_id = "tokens_create",
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Created),
)]
async fn create(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(req): ApiJson<NewToken>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_api_token(&who, req).await?;
    Ok(created(format!("/api/v1/tokens/{}", view.id), view))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    issuer: Option<Uuid>,
}

/// List
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "API tokens",
    operation_id = "tokens_list",
    params(ListQuery),
    responses(super::openapi::Answers)
)]
async fn list(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"tokens": s.service.api_tokens(&who, q.issuer).await?})))
}

/// Revoke
#[utoipa::path(
    post,
    path = "/tokens/{id}/revoke",
    tag = "API tokens",
    operation_id = "tokens_revoke",
    params(("id" = String, Path, description = "The token's id")),
    responses(super::openapi::Answers),
)]
async fn revoke(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.revoke_api_token(&who, id).await?))
}
