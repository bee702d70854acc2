//! `/api/v1/issuers…`: issuers, their members and signing keys.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::{ApiError, ApiResult, AppState};
use crate::domain::issuer::IssuerSpec;
use crate::service::NewMember;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_issuer, list_issuers))
        .routes(routes!(get_issuer, update_issuer))
        .routes(routes!(add_member, list_members))
        .routes(routes!(remove_member))
        .routes(routes!(reset_member))
        .routes(routes!(list_keys))
        .routes(routes!(rotate_key))
        .routes(routes!(mark_compromised))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

fn default_limit() -> i64 {
    100
}

impl Page {
    /// Clamped to 1..=500 and a non-negative offset.
    fn bounds(&self) -> (i64, i64) {
        (self.limit.clamp(1, 500), self.offset.max(0))
    }
}

/// 201 with a Location header pointing at the new resource.
pub(super) fn created<T: serde::Serialize>(location: String, body: T) -> impl IntoResponse {
    (StatusCode::CREATED, [(header::LOCATION, location)], Json(body))
}

/// Create issuer
#[utoipa::path(
    post,
    path = "/issuers",
    tag = "Issuers and members",
    operation_id = "issuers_create_issuer",
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON as schemas/api/issuer.schema.json describes"),
    responses(super::openapi::Created),
)]
async fn create_issuer(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(spec): ApiJson<IssuerSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_issuer(&who, spec).await?;
    Ok(created(format!("/api/v1/issuers/{}", view.id), view))
}

/// List issuers
#[utoipa::path(
    get,
    path = "/issuers",
    tag = "Issuers and members",
    operation_id = "issuers_list_issuers",
    params(Page),
    responses(super::openapi::Answers)
)]
async fn list_issuers(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<impl IntoResponse> {
    let (limit, offset) = page.bounds();
    Ok(Json(serde_json::json!({"issuers": s.service.issuers(&who, limit, offset).await?})))
}

/// Get issuer
#[utoipa::path(
    get,
    path = "/issuers/{id}",
    tag = "Issuers and members",
    operation_id = "issuers_get_issuer",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn get_issuer(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.issuer(&who, id).await?))
}

/// Update issuer
#[utoipa::path(
    patch,
    path = "/issuers/{id}",
    tag = "Issuers and members",
    operation_id = "issuers_update_issuer",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn update_issuer(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_issuer(&who, id, &object(patch)?).await?))
}

/// PATCH bodies are JSON merge patches and must be objects.
pub(super) fn object(v: Value) -> ApiResult<Value> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::Malformed { detail: "a PATCH body must be a JSON object (merge patch)".into(), field: None })
    }
}

/// Add member
#[utoipa::path(
    post,
    path = "/issuers/{id}/members",
    tag = "Issuers and members",
    operation_id = "issuers_add_member",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON as schemas/api/member.schema.json describes"),
    responses(super::openapi::Answers),
)]
async fn add_member(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NewMember>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.add_member(&who, id, input).await?;
    Ok(created(format!("/api/v1/issuers/{id}/members/{}", view.id), view))
}

/// List members
#[utoipa::path(
    get,
    path = "/issuers/{id}/members",
    tag = "Issuers and members",
    operation_id = "issuers_list_members",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list_members(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"members": s.service.members(&who, id).await?})))
}

/// Remove member
#[utoipa::path(
    delete,
    path = "/issuers/{id}/members/{member_id}",
    tag = "Issuers and members",
    operation_id = "issuers_remove_member",
    params(("id" = String, Path, description = "The issuer's id"), ("member_id" = String, Path, description = "The member's id")),
    responses(super::openapi::Answers),
)]
async fn remove_member(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, member)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<impl IntoResponse> {
    s.service.remove_member(&who, id, member).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password reset: a new one-time console link, shown once; the old password stops working.
#[utoipa::path(
    post,
    path = "/issuers/{id}/members/{member_id}/invitation",
    tag = "Issuers and members",
    operation_id = "issuers_reset_member",
    params(("id" = String, Path, description = "The issuer's id"), ("member_id" = String, Path, description = "The member's id")),
    responses(super::openapi::Answers),
)]
async fn reset_member(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, member)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<impl IntoResponse> {
    let invitation = s.service.reset_member_password(&who, id, member).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "invitation_url": invitation.url,
            "invitation_expires_at": crate::domain::time::rfc3339(invitation.expires_at),
        })),
    ))
}

/// List keys
#[utoipa::path(
    get,
    path = "/issuers/{id}/keys",
    tag = "Issuers and members",
    operation_id = "issuers_list_keys",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list_keys(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"keys": s.service.keys(&who, id).await?})))
}

/// Rotate key
#[utoipa::path(
    post,
    path = "/issuers/{id}/keys/rotate",
    tag = "Issuers and members",
    operation_id = "issuers_rotate_key",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn rotate_key(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let key = s.service.rotate_key(&who, id).await?;
    Ok(created(format!("/api/v1/issuers/{id}/keys"), key))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Compromise {
    /// RFC 3339 time from which the key must no longer be trusted.
    since: String,
}

/// Mark compromised
#[utoipa::path(
    post,
    path = "/issuers/{id}/keys/{key_id}/compromised",
    tag = "Issuers and members",
    operation_id = "issuers_mark_compromised",
    params(("id" = String, Path, description = "The issuer's id"), ("key_id" = String, Path, description = "The key's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn mark_compromised(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, key)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<Compromise>,
) -> ApiResult<impl IntoResponse> {
    let since = crate::domain::time::parse_rfc3339(&body.since).ok_or_else(|| {
        crate::domain::validate::Invalid::one(
            "since",
            crate::problem!("not-a-date-time", "must be an RFC 3339 date-time, e.g. 2026-11-01T00:00:00Z"),
        )
    })?;
    Ok(Json(serde_json::json!({"keys": s.service.mark_compromised(&who, id, key, since).await?})))
}
