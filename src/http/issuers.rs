//! `/api/v1/issuers…`: issuers, their members and signing keys.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::{ApiError, ApiResult, AppState};
use crate::domain::issuer::IssuerSpec;
use crate::service::NewMember;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/issuers", post(create_issuer).get(list_issuers))
        .route("/issuers/{id}", get(get_issuer).patch(update_issuer))
        .route("/issuers/{id}/members", post(add_member).get(list_members))
        .route("/issuers/{id}/members/{member_id}", delete(remove_member))
        .route("/issuers/{id}/members/{member_id}/invitation", post(reset_member))
        .route("/issuers/{id}/keys", get(list_keys))
        .route("/issuers/{id}/keys/rotate", post(rotate_key))
        .route("/issuers/{id}/keys/{key_id}/compromised", post(mark_compromised))
}

#[derive(Deserialize)]
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

async fn create_issuer(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiJson(spec): ApiJson<IssuerSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_issuer(&who, spec).await?;
    Ok(created(format!("/api/v1/issuers/{}", view.id), view))
}

async fn list_issuers(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiQuery(page): ApiQuery<Page>,
) -> ApiResult<impl IntoResponse> {
    let (limit, offset) = page.bounds();
    Ok(Json(serde_json::json!({"issuers": s.service.issuers(&who, limit, offset).await?})))
}

async fn get_issuer(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.issuer(&who, id).await?))
}

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

async fn add_member(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<NewMember>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.add_member(&who, id, input).await?;
    Ok(created(format!("/api/v1/issuers/{id}/members/{}", view.id), view))
}

async fn list_members(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"members": s.service.members(&who, id).await?})))
}

async fn remove_member(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, member)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<impl IntoResponse> {
    s.service.remove_member(&who, id, member).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A password reset: a new one-time console link, shown once; the old password stops working.
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

async fn list_keys(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"keys": s.service.keys(&who, id).await?})))
}

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

async fn mark_compromised(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, key)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<Compromise>,
) -> ApiResult<impl IntoResponse> {
    let since = crate::domain::time::parse_rfc3339(&body.since).ok_or_else(|| {
        crate::domain::validate::Invalid::one("since", "must be an RFC 3339 date-time, e.g. 2026-11-01T00:00:00Z")
    })?;
    Ok(Json(serde_json::json!({"keys": s.service.mark_compromised(&who, id, key, since).await?})))
}
