//! `/api/v1/…/partnerships`: consent between issuers to share nanomodules as stations.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller};
use super::issuers::created;
use super::{ApiResult, AppState};
use crate::service::PartnershipStep;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/issuers/{id}/partnerships", post(request).get(list))
        .route("/partnerships/{id}/{step}", post(step))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnershipRequest {
    /// The issuer whose nanomodules this issuer wants as stations.
    partner: Uuid,
}

async fn request(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(req): ApiJson<PartnershipRequest>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.request_partnership(&who, issuer, req.partner).await?;
    Ok(created(format!("/api/v1/issuers/{issuer}/partnerships"), view))
}

async fn list(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"partnerships": s.service.partnerships(&who, issuer).await?})))
}

/// `accept` or `decline` (the partner), `end` (either side); any other step is no route.
async fn step(
    State(s): State<AppState>,
    ApiPath((id, step)): ApiPath<(Uuid, PartnershipStep)>,
    Caller(who): Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.partnership_step(&who, id, step).await?))
}
