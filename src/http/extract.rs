//! Extractors whose rejections are problem+json instead of axum's plain-text defaults.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::domain::access::Principal;

/// The request's media type, lower-cased and without parameters (empty when absent).
pub fn content_type(headers: &axum::http::HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A JSON body: `application/json` (or `+json`), within the body limit, every field known.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let essence = content_type(req.headers());
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected Content-Type application/json, got '{}'",
                if essence.is_empty() { "nothing" } else { &essence }
            )));
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The raw body, with an over-limit body reported as 413.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(super::body_limit())
        } else {
            ApiError::Malformed { detail: format!("could not read the request body: {e}"), field: None }
        }
    })
}

/// Deserialises with the path of the offending field in the error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        let mut field = if path == "." { String::new() } else { path };
        // serde reports an unknown key at its parent's path; name the key itself.
        if let Some(rest) = message.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or_default();
            if field.is_empty() {
                field = name.to_string();
            } else if !field.ends_with(name) {
                field = format!("{field}.{name}");
            }
        }
        match inner.classify() {
            serde_json::error::Category::Data => ApiError::Invalid(crate::domain::validate::Invalid::one(
                field,
                crate::domain::validate::unreadable(message),
            )),
            _ => ApiError::Malformed { detail: format!("body is not valid JSON: {message}"), field: None },
        }
    })?;
    de.end().map_err(|e| ApiError::Malformed { detail: format!("body is not valid JSON: {e}"), field: None })?;
    Ok(value)
}

/// Path parameters; an unparsable id means there is no such resource.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiError::NotFound(format!("no such resource ({})", e.body_text())))
    }
}

/// Query parameters, with bad values reported per parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::Malformed { detail: e.body_text(), field: Some("query".into()) })
    }
}

/// The authenticated caller (`Authorization: Bearer …`).
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = state.guards.client(super::limits::peer(&parts.extensions), &parts.headers);
        if let Some(c) = client {
            state.guards.check_not_locked(c)?;
        }
        let value =
            parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(ApiError::Unauthenticated)?;
        let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthenticated);
        }
        let principal = match state.service.authenticate(token.trim()).await {
            Ok(p) => p,
            // Guessing tokens costs the guesser: a client's failures are counted and, past
            // the limit, it is locked out for a while.
            Err(crate::service::ServiceError::Unauthenticated) => {
                if let Some(c) = client {
                    state.guards.failed_attempt(c)?;
                }
                return Err(ApiError::Unauthenticated);
            }
            Err(e) => return Err(e.into()),
        };
        tracing::Span::current().record("role", principal.role.as_str());
        Ok(Caller(principal))
    }
}
