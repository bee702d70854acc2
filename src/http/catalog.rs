//! `/api/v1/…/skills` and `/api/v1/…/skills-profiles`.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller};
use super::issuers::{created, object};
use super::{ApiResult, AppState};
use crate::domain::skill::{SkillSpec, SkillsProfileSpec};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_skill, list_skills))
        .routes(routes!(get_skill, update_skill))
        .routes(routes!(create_profile, list_profiles))
        .routes(routes!(get_profile, update_profile))
}

/// Create skill
#[utoipa::path(
    post,
    path = "/issuers/{id}/skills",
    tag = "Skills",
    operation_id = "catalog_create_skill",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON as schemas/api/skill.schema.json describes"),
    responses(super::openapi::Created),
)]
async fn create_skill(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<SkillSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_skill(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/skills/{}", view.id), view))
}

/// List skills
#[utoipa::path(
    get,
    path = "/issuers/{id}/skills",
    tag = "Skills",
    operation_id = "catalog_list_skills",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list_skills(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"skills": s.service.skills(&who, issuer).await?})))
}

/// Get skill
#[utoipa::path(
    get,
    path = "/skills/{id}",
    tag = "Skills",
    operation_id = "catalog_get_skill",
    params(("id" = String, Path, description = "The skill's id")),
    responses(super::openapi::Answers),
)]
async fn get_skill(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.skill(&who, id).await?))
}

/// Update skill
#[utoipa::path(
    patch,
    path = "/skills/{id}",
    tag = "Skills",
    operation_id = "catalog_update_skill",
    params(("id" = String, Path, description = "The skill's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn update_skill(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_skill(&who, id, &object(patch)?).await?))
}

/// Create profile
#[utoipa::path(
    post,
    path = "/issuers/{id}/skills-profiles",
    tag = "Skills",
    operation_id = "catalog_create_profile",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON as schemas/api/skills-profile.schema.json describes"),
    responses(super::openapi::Created),
)]
async fn create_profile(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<SkillsProfileSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_skills_profile(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/skills-profiles/{}", view.id), view))
}

/// List profiles
#[utoipa::path(
    get,
    path = "/issuers/{id}/skills-profiles",
    tag = "Skills",
    operation_id = "catalog_list_profiles",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list_profiles(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"skills_profiles": s.service.skills_profiles(&who, issuer).await?})))
}

/// Get profile
#[utoipa::path(
    get,
    path = "/skills-profiles/{id}",
    tag = "Skills",
    operation_id = "catalog_get_profile",
    params(("id" = String, Path, description = "The skills profile's id")),
    responses(super::openapi::Answers),
)]
async fn get_profile(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.skills_profile(&who, id).await?))
}

/// Update profile
#[utoipa::path(
    patch,
    path = "/skills-profiles/{id}",
    tag = "Skills",
    operation_id = "catalog_update_profile",
    params(("id" = String, Path, description = "The skills profile's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn update_profile(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_skills_profile(&who, id, &object(patch)?).await?))
}
