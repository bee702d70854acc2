//! `/api/v1/learners/…`: a learner's data, exported or erased on request (GDPR/AVG). The
//! identity travels in the body, never in a URL that logs would keep.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, Caller};
use super::{ApiResult, AppState};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export)).routes(routes!(erase))
}

/// One learner, as staff name them, and (for the platform admin) optionally one issuer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerRequest {
    pub identity: String,
    #[serde(default = "email")]
    pub identity_type: String,
    /// For the platform admin: only this issuer's data (default: every issuer's). Issuer staff
    /// always act for their own issuer.
    pub issuer: Option<Uuid>,
}

fn email() -> String {
    "emailAddress".into()
}

/// Export
#[utoipa::path(
    post,
    path = "/learners/export",
    tag = "Learners",
    operation_id = "learners_export",
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn export(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(req): ApiJson<LearnerRequest>,
) -> ApiResult<impl IntoResponse> {
    let learner = s.service.learner(&req.identity_type, &req.identity, "")?;
    let doc = s.service.export_learner(&who, &learner, req.issuer).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Json(doc)))
}

/// Erase
#[utoipa::path(
    post,
    path = "/learners/erase",
    tag = "Learners",
    operation_id = "learners_erase",
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn erase(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(req): ApiJson<LearnerRequest>,
) -> ApiResult<impl IntoResponse> {
    let learner = s.service.learner(&req.identity_type, &req.identity, "")?;
    Ok(Json(s.service.erase_learner(&who, &learner, req.issuer).await?))
}
