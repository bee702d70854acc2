//! `/api/v1/learners/…`: a learner's data, exported or erased on request (GDPR/AVG). The
//! identity travels in the body, never in a URL that logs would keep.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, Caller};
use super::{ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/learners/export", post(export)).route("/learners/erase", post(erase))
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

async fn export(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(req): ApiJson<LearnerRequest>,
) -> ApiResult<impl IntoResponse> {
    let learner = s.service.learner(&req.identity_type, &req.identity, "")?;
    let doc = s.service.export_learner(&who, &learner, req.issuer).await?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Json(doc)))
}

async fn erase(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(req): ApiJson<LearnerRequest>,
) -> ApiResult<impl IntoResponse> {
    let learner = s.service.learner(&req.identity_type, &req.identity, "")?;
    Ok(Json(s.service.erase_learner(&who, &learner, req.issuer).await?))
}
