//! `/api/v1/…/nanomodules`: definitions, versions, images.

use axum::extract::{Request, State};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::Value;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Caller, read_body};
use super::issuers::{created, object};
use super::{ApiResult, AppState};
use crate::domain::nanomodule::NanomoduleSpec;
use crate::service::NewImage;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/issuers/{id}/nanomodules", post(create_nanomodule).get(list_nanomodules))
        .route("/nanomodules/{id}", get(get_nanomodule).patch(update_nanomodule))
        .route("/nanomodules/{id}/versions/{version}", get(get_version))
        .route("/nanomodules/{id}/image", put(set_image))
}

async fn create_nanomodule(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<NanomoduleSpec>,
) -> ApiResult<impl IntoResponse> {
    let view = s.service.create_nanomodule(&who, issuer, spec).await?;
    Ok(created(format!("/api/v1/nanomodules/{}", view.id), view))
}

async fn list_nanomodules(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(issuer): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(serde_json::json!({"nanomodules": s.service.nanomodules(&who, issuer).await?})))
}

async fn get_nanomodule(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.nanomodule(&who, id, None).await?))
}

async fn get_version(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath((id, version)): ApiPath<(Uuid, i64)>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.nanomodule(&who, id, Some(version)).await?))
}

async fn update_nanomodule(
    State(s): State<AppState>,
    Caller(who): Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.update_nanomodule(&who, id, &object(patch)?).await?))
}

/// `PUT` the raw PNG or SVG bytes with their Content-Type.
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
