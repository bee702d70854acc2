//! `/api/v1/…/partnerships`: consent between issuers to share nanomodules as stations.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller};
use super::issuers::created;
use super::{ApiResult, AppState};
use crate::service::PartnershipStep;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request, list)).routes(routes!(step))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnershipRequest {
    /// The issuer whose nanomodules this issuer wants as stations.
    partner: Uuid,
}

/// Request
#[utoipa::path(
    post,
    path = "/issuers/{id}/partnerships",
    tag = "Partnerships",
    operation_id = "partnerships_request",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn request(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(req): ApiJson<PartnershipRequest>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.request_partnership(&who, issuer, req.partner).await?;
    Ok(created(format!("/api/v1/issuers/{issuer}/partnerships"), view))
}

/// List
#[utoipa::path(
    get,
    path = "/issuers/{id}/partnerships",
    tag = "Partnerships",
    operation_id = "partnerships_list",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"partnerships": s.service.partnerships(&who, issuer).await?})))
}

/// `accept` or `decline` (the partner), `end` (either side); any other step is no route.
#[utoipa::path(
    post,
    path = "/partnerships/{id}/{step}",
    tag = "Partnerships",
    operation_id = "partnerships_step",
    params(("id" = String, Path, description = "The partnership's id"), ("step" = String, Path, description = "accept, decline or end")),
    responses(super::openapi::Answers),
)]
async fn step(
    State(s): State<AppState>,
    ApiPath((id, step)): ApiPath<(Uuid, PartnershipStep)>,
    Caller(who): Caller,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.partnership_step(&who, id, step).await?))
}
