//! `POST /verify`: anyone may check a credential; failed checks are a 200 report, unreadable
//! input a 4xx problem.

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::extract::{ApiQuery, parse_json, read_body};
use super::{ApiError, ApiResult, AppState};
use crate::credential::verify::Input;

pub fn router() -> Router<AppState> {
    Router::new().route("/verify", post(verify))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyQuery {
    /// An e-mail address (or other identity) to check the hashed recipient against.
    recipient: Option<String>,
}

async fn verify(State(s): State<AppState>, ApiQuery(q): ApiQuery<VerifyQuery>, req: Request) -> ApiResult<impl IntoResponse> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let body = read_body(req, &s).await?;
    let mut recipient = q.recipient;
    let input = match content_type.as_str() {
        "application/json" | "application/ld+json" | "application/vc+ld+json" | "application/vc" => {
            let v: Value = parse_json(&body)?;
            match v {
                Value::String(jwt) => Input::Jwt(jwt),
                Value::Object(mut m) if m.contains_key("credential") && !m.contains_key("@context") => {
                    if let Some(r) = m.remove("recipient").and_then(|r| r.as_str().map(String::from)) {
                        recipient = Some(r);
                    }
                    match m.remove("credential") {
                        Some(Value::String(jwt)) => Input::Jwt(jwt),
                        Some(c @ Value::Object(_)) => Input::Json(c),
                        _ => return Err(ApiError::Malformed { detail: "credential must be a JSON object or a compact JWS string".into(), field: Some("credential".into()) }),
                    }
                }
                other => Input::Json(other),
            }
        }
        "text/plain" | "application/vc+jwt" | "application/jwt" => {
            let text = std::str::from_utf8(&body).map_err(|_| ApiError::Malformed { detail: "a VC-JWT must be UTF-8 text".into(), field: None })?;
            Input::Jwt(text.trim().to_string())
        }
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected application/json (credential), application/vc+jwt or text/plain (VC-JWT); got '{}'",
                if other.is_empty() { "nothing" } else { other }
            )));
        }
    };
    Ok(Json(s.service.verify(input, recipient.as_deref()).await))
}
