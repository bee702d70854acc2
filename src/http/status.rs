//! Revocation, suspension and reinstatement (API) and the public status lists.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller};
use super::{ApiResult, AppState};
use crate::credential::status_list::{Purpose, TTL_SECONDS};
use crate::store::StatusChange;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_status)).routes(routes!(change_one)).routes(routes!(change_many))
}

pub fn public_router() -> Router<AppState> {
    Router::new()
        .route("/status/{list}", get(revocation_list))
        .route("/status/{list}/suspension", get(suspension_list))
        .route("/issuers/{id}/revocations", get(vcrl))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct One {
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Many {
    #[serde(default)]
    ids: Vec<Uuid>,
    #[serde(default)]
    reason: Option<String>,
}

fn change_of(action: &str) -> ApiResult<StatusChange> {
    match action {
        "revoke" => Ok(StatusChange::Revoke),
        "suspend" => Ok(StatusChange::Suspend),
        "reinstate" => Ok(StatusChange::Reinstate),
        _ => Err(super::ApiError::NotFound("no such route".into())),
    }
}

/// Change one
#[utoipa::path(
    post,
    path = "/credentials/{id}/{action}",
    tag = "Credential status",
    operation_id = "status_change_one",
    params(("id" = String, Path, description = "The credential's id"), ("action" = String, Path, description = "revoke, suspend or reinstate")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn change_one(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, action)): ApiPath<(Uuid, String)>,
    ApiJson(body): ApiJson<One>,
) -> ApiResult<impl IntoResponse> {
    let mut out = s.service.change_status(&who, &[id], change_of(&action)?, body.reason).await?;
    Ok(Json(out.remove(0)))
}

/// Change many
#[utoipa::path(
    post,
    path = "/credentials/{action}",
    tag = "Credential status",
    operation_id = "status_change_many",
    params(("action" = String, Path, description = "revoke, suspend or reinstate")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn change_many(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(action): ApiPath<String>,
    ApiJson(body): ApiJson<Many>,
) -> ApiResult<impl IntoResponse> {
    let out = s.service.change_status(&who, &body.ids, change_of(&action)?, body.reason).await?;
    Ok(Json(serde_json::json!({"credentials": out})))
}

/// Get status
#[utoipa::path(
    get,
    path = "/credentials/{id}/status",
    tag = "Credential status",
    operation_id = "status_get_status",
    params(("id" = String, Path, description = "The credential's id")),
    responses(super::openapi::Answers),
)]
async fn get_status(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.credential_status_for(&who, id).await?))
}

async fn list(s: &AppState, headers: &HeaderMap, list: Uuid, purpose: Purpose) -> ApiResult<Response> {
    let doc = s.service.status_list_document(list, purpose).await?;
    let etag = format!("\"{}\"", crate::domain::audit::sha256_hex(doc.as_bytes()));
    let cache = format!("public, max-age={TTL_SECONDS}");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { doc.into_response() };
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vc+ld+json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_str(&cache).expect("ascii"));
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex is ascii"));
    Ok(r)
}

async fn revocation_list(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    list(&s, &headers, id, Purpose::Revocation).await
}

async fn suspension_list(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    list(&s, &headers, id, Purpose::Suspension).await
}

async fn vcrl(State(s): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.revocation_list(id).await?))
}
