//! `/api/v1/…/peer-groups`: a metro line's run for a group of participants, and their progress.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller};
use super::issuers::created;
use super::{ApiResult, AppState};
use crate::domain::peer_group::PeerGroupSpec;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/issuers/{id}/peer-groups", post(create).get(list))
        .route("/peer-groups/{id}", get(one).patch(update))
        .route("/peer-groups/{id}/progress", get(progress))
}

async fn create(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<PeerGroupSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_peer_group(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/peer-groups/{}", view.id), view))
}

async fn list(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"peer_groups": s.service.peer_groups(&who, issuer).await?})))
}

async fn one(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.peer_group(&who, id).await?))
}

async fn update(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_peer_group(&who, id, &patch).await?))
}

async fn progress(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.peer_group_progress(&who, id).await?))
}
