//! Public documents, no authentication: issuer Profile / controller document, JWKS, did:web,
//! Achievements, skills and images.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use uuid::Uuid;

use super::extract::ApiPath;
use super::{ApiResult, AppState, json_ld};
use crate::service::Ob2;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/issuers/{id}", get(profile))
        .route("/issuers/{id}/jwks.json", get(jwks))
        .route("/issuers/{id}/did.json", get(did))
        .route("/nanomodules/{id}", get(achievement))
        .route("/nanomodules/{id}/versions/{version}", get(achievement_version))
        .route("/nanomodules/{id}/versions/{version}/image.svg", get(default_image))
        .route("/skills/{id}", get(skill))
        .route("/images/{id}", get(image))
        .route("/contexts/eu-microcredential-v1.jsonld", get(micro_credential_context))
        .route("/metro-maps/{id}/map.svg", get(map_svg))
        .route("/ob2/assertions/{id}", get(ob2_assertion))
        .route("/ob2/badges/{id}/{version}", get(ob2_badge))
        .route("/ob2/issuers/{id}", get(ob2_issuer))
}

async fn map_svg(State(s): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    let svg = s.service.metro_map_svg(id).await?;
    let mut r = image_response("image/svg+xml", svg.into_bytes(), false);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(r)
}

async fn ob2_assertion(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    Ok(match s.service.ob2_assertion(id).await? {
        Ob2::Live(doc) => json_ld(headers.get(header::ACCEPT), &doc),
        Ob2::Gone(doc) => {
            let mut r = json_ld(headers.get(header::ACCEPT), &doc);
            *r.status_mut() = axum::http::StatusCode::GONE;
            r
        }
    })
}

async fn ob2_badge(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiPath((id, v)): ApiPath<(Uuid, i64)>,
) -> ApiResult<Response> {
    Ok(json_ld(headers.get(header::ACCEPT), &s.service.ob2_badge_class(id, v).await?))
}

async fn ob2_issuer(State(s): State<AppState>, headers: HeaderMap, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    Ok(json_ld(headers.get(header::ACCEPT), &s.service.ob2_issuer(id).await?))
}

async fn profile(
    State(s): State<AppState>,
    lang: super::texts::Preferred,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let doc = s.service.profile_document(id).await?;
    if super::pages::wants_html(&headers) {
        return Ok(super::pages::document_page(
            lang,
            super::pages::DocumentKind::Issuer,
            &doc,
            &format!("{}/issuers/{id}", s.service.base_url),
        ));
    }
    Ok(json_ld(headers.get(header::ACCEPT), &doc))
}

async fn jwks(State(s): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<impl IntoResponse> {
    let doc = s.service.jwks(id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/jwk-set+json"), (header::CACHE_CONTROL, "public, max-age=300")],
        doc.to_string(),
    ))
}

async fn did(State(s): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<impl IntoResponse> {
    let doc = s.service.did_document(id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/did+ld+json"), (header::CACHE_CONTROL, "public, max-age=300")],
        doc.to_string(),
    ))
}

async fn achievement(
    State(s): State<AppState>,
    lang: super::texts::Preferred,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let doc = s.service.achievement_document(id, None).await?;
    if super::pages::wants_html(&headers) {
        return Ok(super::pages::document_page(
            lang,
            super::pages::DocumentKind::Nanomodule,
            &doc,
            doc["id"].as_str().unwrap_or_default(),
        ));
    }
    Ok(json_ld(headers.get(header::ACCEPT), &doc))
}

async fn achievement_version(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiPath((id, v)): ApiPath<(Uuid, i64)>,
) -> ApiResult<Response> {
    Ok(json_ld(headers.get(header::ACCEPT), &s.service.achievement_document(id, Some(v)).await?))
}

async fn skill(State(s): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<impl IntoResponse> {
    Ok(Json(s.service.public_skill(id).await?))
}

/// Our JSON-LD context for the EU micro-credential elements (the bundled document, byte for
/// byte); versioned in its name, so it never changes and may be cached for good.
async fn micro_credential_context() -> Response {
    let mut r = crate::credential::contexts::EU_MICROCREDENTIAL_V1_DOC.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/ld+json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    r
}

/// Images are served inert: SVG gets a CSP that forbids scripts even if one slipped through.
pub(super) fn image_response(content_type: &str, body: Vec<u8>, immutable: bool) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "public, max-age=3600" };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

async fn default_image(State(s): State<AppState>, ApiPath((id, v)): ApiPath<(Uuid, i64)>) -> ApiResult<Response> {
    let svg = s.service.default_image(id, v).await?;
    Ok(image_response("image/svg+xml", svg.into_bytes(), true))
}

async fn image(State(s): State<AppState>, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Response> {
    let img = s.service.image(id).await?;
    Ok(image_response(&img.content_type, img.bytes, true))
}
