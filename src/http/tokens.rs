//! `/api/v1/tokens`: API tokens with an expiry, listed without secrets, revoked by id.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::issuers::created;
use super::{ApiResult, AppState};
use crate::service::NewToken;

pub fn router() -> Router<AppState> {
    Router::new().route("/tokens", post(create).get(list)).route("/tokens/{id}/revoke", post(revoke))
}

async fn create(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(req): ApiJson<NewToken>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_api_token(&who, req).await?;
    Ok(created(format!("/api/v1/tokens/{}", view.id), view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    issuer: Option<Uuid>,
}

async fn list(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"tokens": s.service.api_tokens(&who, q.issuer).await?})))
}

async fn revoke(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.revoke_api_token(&who, id).await?))
}
