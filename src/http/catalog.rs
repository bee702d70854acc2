//! `/api/v1/…/skills` and `/api/v1/…/skills-profiles`.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller};
use super::issuers::{created, object};
use super::{ApiResult, AppState};
use crate::domain::skill::{SkillSpec, SkillsProfileSpec};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/issuers/{id}/skills", post(create_skill).get(list_skills))
        .route("/skills/{id}", get(get_skill).patch(update_skill))
        .route("/issuers/{id}/skills-profiles", post(create_profile).get(list_profiles))
        .route("/skills-profiles/{id}", get(get_profile).patch(update_profile))
}

async fn create_skill(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<SkillSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_skill(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/skills/{}", view.id), view))
}

async fn list_skills(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"skills": s.service.skills(&who, issuer).await?})))
}

async fn get_skill(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.skill(&who, id).await?))
}

async fn update_skill(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_skill(&who, id, &object(patch)?).await?))
}

async fn create_profile(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<SkillsProfileSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_skills_profile(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/skills-profiles/{}", view.id), view))
}

async fn list_profiles(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"skills_profiles": s.service.skills_profiles(&who, issuer).await?})))
}

async fn get_profile(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.skills_profile(&who, id).await?))
}

async fn update_profile(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_skills_profile(&who, id, &object(patch)?).await?))
}
