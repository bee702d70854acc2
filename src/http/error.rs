//! The HTTP error type: every failure leaves as RFC 9457 `application/problem+json`.
//!
//! `type` values are stable URNs (`urn:metrobadge:problem:<slug>`, listed in docs/errors.md) so
//! clients can match on them; internal causes are logged with their chain and never echoed.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::validate::{FieldError, Invalid};
use crate::service::ServiceError;

/// What a 503 (database unavailable, service not ready) tells clients to wait, in seconds.
pub const RETRY_AFTER_SECONDS: &str = "5";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid bearer token")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("invalid input")]
    Invalid(Invalid),
    #[error("{detail}")]
    Malformed { detail: String, field: Option<String> },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Conflict(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Gone(String),
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn not_found() -> ApiError {
        ApiError::NotFound("no such resource".into())
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation", "Invalid input"),
            ApiError::Malformed { .. } => (StatusCode::BAD_REQUEST, "malformed-request", "Malformed request"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
            }
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
            ApiError::Gone(_) => (StatusCode::GONE, "gone", "Gone"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too-many-requests", "Too many requests")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Unauthenticated => ApiError::Unauthenticated,
            ServiceError::NotFound => ApiError::not_found(),
            ServiceError::Forbidden => ApiError::Forbidden,
            ServiceError::Invalid(i) => ApiError::Invalid(i),
            ServiceError::Conflict(what) => {
                ApiError::Conflict(format!("conflicts with existing data ({})", what.english))
            }
            ServiceError::Gone(what) => ApiError::Gone(what),
            ServiceError::Busy(what) => {
                ApiError::TooManyRequests { detail: format!("{what}; try again shortly"), retry_after: 1 }
            }
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %chain(&cause), "database unavailable");
                ApiError::Unavailable("the database is unavailable; try again shortly".into())
            }
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> Self {
        ApiError::Invalid(i)
    }
}

/// The error and its causes, one per line, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %chain(cause.as_ref()), "request failed");
        }
        let detail = match &self {
            ApiError::Invalid(Invalid(errors)) => format!(
                "{} field(s) invalid: {}",
                errors.len(),
                errors.iter().map(|e| format!("{} {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
            ),
            ApiError::Internal(_) => "the server could not complete the request; it has been logged".into(),
            other => other.to_string(),
        };
        let mut body = json!({
            "type": format!("urn:metrobadge:problem:{slug}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
        });
        let errors: Option<Vec<FieldError>> = match self {
            ApiError::Invalid(Invalid(errors)) => Some(errors),
            ApiError::Malformed { field: Some(field), detail } => {
                Some(vec![FieldError::new(field, crate::domain::validate::unreadable(detail))])
            }
            _ => None,
        };
        if let Some(errors) = errors {
            body["errors"] = serde_json::to_value(errors).expect("field errors serialise");
        }
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Turns a response whose content came out incomplete because the database was unavailable (a
/// verification report saying "could not check") into a 503 with `Retry-After`.
pub(crate) fn unavailable_if(unavailable: bool, mut response: Response) -> Response {
    if unavailable {
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
    }
    response
}
