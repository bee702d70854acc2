//! `/api/v1/…/nanomodules`: definitions, versions, images.

use axum::Json;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller, read_body};
use super::issuers::{created, object};
use super::{ApiResult, AppState};
use crate::domain::nanomodule::NanomoduleSpec;
use crate::service::NewImage;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_nanomodule, list_nanomodules))
        .routes(routes!(get_nanomodule, update_nanomodule))
        .routes(routes!(get_version))
        .routes(routes!(set_image))
}

/// Create nanomodule
#[utoipa::path(
    post,
    path = "/issuers/{id}/nanomodules",
    tag = "Nanomodules",
    operation_id = "nanomodules_create_nanomodule",
    params(("id" = String, Path, description = "The issuer's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON as schemas/api/nanomodule.schema.json describes"),
    responses(super::openapi::Created),
)]
async fn create_nanomodule(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<NanomoduleSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_nanomodule(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/nanomodules/{}", view.id), view))
}

/// List nanomodules
#[utoipa::path(
    get,
    path = "/issuers/{id}/nanomodules",
    tag = "Nanomodules",
    operation_id = "nanomodules_list_nanomodules",
    params(("id" = String, Path, description = "The issuer's id")),
    responses(super::openapi::Answers),
)]
async fn list_nanomodules(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"nanomodules": s.service.nanomodules(&who, issuer).await?})))
}

/// Get nanomodule
#[utoipa::path(
    get,
    path = "/nanomodules/{id}",
    tag = "Nanomodules",
    operation_id = "nanomodules_get_nanomodule",
    params(("id" = String, Path, description = "The nanomodule's id")),
    responses(super::openapi::Answers),
)]
async fn get_nanomodule(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.nanomodule(&who, id, None).await?))
}

/// Get version
#[utoipa::path(
    get,
    path = "/nanomodules/{id}/versions/{version}",
    tag = "Nanomodules",
    operation_id = "nanomodules_get_version",
    params(("id" = String, Path, description = "The nanomodule's id"), ("version" = String, Path, description = "The version number")),
    responses(super::openapi::Answers),
)]
async fn get_version(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, version)): ApiPath<(Uuid, i64)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.nanomodule(&who, id, Some(version)).await?))
}

/// Update nanomodule
#[utoipa::path(
    patch,
    path = "/nanomodules/{id}",
    tag = "Nanomodules",
    operation_id = "nanomodules_update_nanomodule",
    params(("id" = String, Path, description = "The nanomodule's id")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "JSON"),
    responses(super::openapi::Answers),
)]
async fn update_nanomodule(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_nanomodule(&who, id, &object(patch)?).await?))
}

/// `PUT` the raw PNG or SVG bytes with their Content-Type.
#[utoipa::path(
    put,
    path = "/nanomodules/{id}/image",
    tag = "Nanomodules",
    operation_id = "nanomodules_set_image",
    params(("id" = String, Path, description = "The nanomodule's id")),
    request_body(content = String, description = "a PNG or SVG image"),
    responses(super::openapi::Answers),
)]
async fn set_image(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    req: Request,
) -> ApiResult<impl IntoResponse> {
    let content_type = super::extract::content_type(req.headers());
    let bytes = read_body(req, &s).await?;
    Ok(Json(s.service.set_nanomodule_image(&who, id, NewImage { content_type, bytes: bytes.to_vec() }).await?))
}
