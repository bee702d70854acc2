//! `POST /verify`: anyone may check a credential — JSON, VC-JWT, a baked PNG or SVG (raw or as a
//! multipart upload, as the HTML form sends it), or an OB 2.0 hosted assertion of this service.
//! Failed checks are a 200 report; unreadable input is a 4xx problem.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::extract::{ApiQuery, parse_json, read_body};
use super::{ApiError, ApiResult, AppState};
use crate::credential::bake::{self, Baked};
use crate::credential::verify::{Input, Report};
use crate::domain::validate::Invalid;

pub fn router(guards: std::sync::Arc<super::limits::Guards>) -> Router<AppState> {
    Router::new()
        .route("/verify", post(verify))
        .route_layer(axum::middleware::from_fn_with_state(guards, super::limits::limit_verify))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyQuery {
    /// An e-mail address (or other identity) to check the hashed recipient against.
    recipient: Option<String>,
    /// The result page's language (read by [`Preferred`](super::texts::Preferred)).
    #[serde(rename = "lang")]
    _lang: Option<String>,
}

/// What was submitted, once unwrapped.
pub enum Submitted {
    Ob3(Input),
    Ob2(String),
    /// A link, as shared: looked up when it is this service's, never fetched.
    Url(String),
}

/// A credential given as text: JSON with a proof, or a compact JWS.
fn from_text(text: &str) -> Result<Submitted, ApiError> {
    let t = text.trim();
    if t.starts_with('{') {
        let v: Value = parse_json(t.as_bytes())?;
        Ok(
            if v.get("@context").and_then(|c| c.as_str()) == Some(crate::service::ob2_context())
                || v["type"] == "Assertion"
            {
                Submitted::Ob2(t.to_string())
            } else {
                Submitted::Ob3(Input::Json(v))
            },
        )
    } else if t.starts_with("http://") || t.starts_with("https://") {
        Ok(Submitted::Url(t.to_string()))
    } else if t.is_empty() {
        Err(Invalid::one("credential", "is empty").into())
    } else {
        Ok(Submitted::Ob3(Input::Jwt(t.to_string())))
    }
}

fn from_baked(b: Result<Baked, bake::BakeError>) -> Result<Submitted, ApiError> {
    match b {
        Ok(Baked::Ob3(text)) => from_text(&text),
        Ok(Baked::Ob2(text)) => Ok(Submitted::Ob2(text)),
        Err(e) => Err(Invalid::one("file", e.to_string()).into()),
    }
}

/// An uploaded file: PNG by signature, SVG by its root element, otherwise text.
fn from_file(bytes: &[u8]) -> Result<Submitted, ApiError> {
    if bytes.starts_with(b"\x89PNG") {
        return from_baked(bake::extract_png(bytes));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::Invalid(Invalid::one("file", "is neither a PNG, an SVG nor a text credential")))?;
    if text.contains("<svg") { from_baked(bake::extract_svg(text)) } else { from_text(text) }
}

/// Reads a verification request in any accepted form: (what, recipient).
pub async fn read(
    state: &AppState,
    req: Request,
    mut recipient: Option<String>,
) -> ApiResult<(Submitted, Option<String>)> {
    let content_type = super::extract::content_type(req.headers());
    let submitted = match content_type.as_str() {
        "multipart/form-data" => {
            let mut multipart = Multipart::from_request(req, state)
                .await
                .map_err(|e| ApiError::Malformed { detail: format!("unreadable upload: {e}"), field: None })?;
            let mut found = None;
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| ApiError::Malformed { detail: format!("unreadable upload: {e}"), field: None })?
            {
                let name = field.name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|e| ApiError::Malformed {
                    detail: format!("unreadable upload: {e}"),
                    field: Some(name.clone()),
                })?;
                match name.as_str() {
                    "recipient" if !bytes.is_empty() => {
                        recipient = Some(String::from_utf8_lossy(&bytes).trim().to_string())
                    }
                    "file" if !bytes.is_empty() => found = Some(from_file(&bytes)?),
                    "credential" if !bytes.iter().all(u8::is_ascii_whitespace) => {
                        found = Some(from_text(&String::from_utf8_lossy(&bytes))?)
                    }
                    _ => {}
                }
            }
            found.ok_or_else(|| ApiError::Invalid(Invalid::one("file", "upload a badge file or paste a credential")))?
        }
        "application/x-www-form-urlencoded" => {
            #[derive(Deserialize)]
            struct Form {
                #[serde(default)]
                credential: String,
                #[serde(default)]
                recipient: String,
            }
            let body = read_body(req, state).await?;
            let form: Form = serde_urlencoded_from(&body)?;
            if !form.recipient.trim().is_empty() {
                recipient = Some(form.recipient.trim().to_string());
            }
            from_text(&form.credential)?
        }
        "application/json" | "application/ld+json" | "application/vc+ld+json" | "application/vc" => {
            let body = read_body(req, state).await?;
            let v: Value = parse_json(&body)?;
            match v {
                Value::String(text) => from_text(&text)?,
                Value::Object(mut m) if m.contains_key("credential") && !m.contains_key("@context") => {
                    if let Some(r) = m.remove("recipient").and_then(|r| r.as_str().map(String::from)) {
                        recipient = Some(r);
                    }
                    match m.remove("credential") {
                        Some(Value::String(text)) => from_text(&text)?,
                        Some(c @ Value::Object(_)) => from_text(&c.to_string())?,
                        _ => {
                            return Err(ApiError::Malformed {
                                detail: "credential must be a JSON object or a compact JWS string".into(),
                                field: Some("credential".into()),
                            });
                        }
                    }
                }
                other => from_text(&other.to_string())?,
            }
        }
        "text/plain" | "application/vc+jwt" | "application/jwt" => {
            let body = read_body(req, state).await?;
            from_text(
                std::str::from_utf8(&body)
                    .map_err(|_| ApiError::Malformed { detail: "text must be UTF-8".into(), field: None })?,
            )?
        }
        "image/png" => from_baked(bake::extract_png(&read_body(req, state).await?))?,
        "image/svg+xml" => {
            let body = read_body(req, state).await?;
            from_baked(bake::extract_svg(&String::from_utf8_lossy(&body)))?
        }
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "expected a credential (application/json), a VC-JWT (application/vc+jwt, text/plain), a baked image/png or image/svg+xml, or a multipart upload; got '{}'",
                if other.is_empty() { "nothing" } else { other }
            )));
        }
    };
    Ok((submitted, recipient))
}

fn serde_urlencoded_from<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::Malformed { detail: format!("unreadable form: {e}"), field: None })
}

/// Verifies a submission in one of the service's verification slots.
pub async fn run(state: &AppState, submitted: Submitted, recipient: Option<String>) -> ApiResult<Report> {
    let report = state
        .service
        .verify_in_slot(move |service| async move {
            let recipient = recipient.as_deref();
            match submitted {
                Submitted::Ob3(input) => service.verify(input, recipient).await,
                Submitted::Ob2(payload) => service.verify_ob2(&payload, recipient).await,
                Submitted::Url(url) => service.verify_url(&url, recipient).await,
            }
        })
        .await?;
    Ok(report)
}

async fn verify(
    State(s): State<AppState>,
    lang: super::texts::Preferred,
    ApiQuery(q): ApiQuery<VerifyQuery>,
    req: Request,
) -> ApiResult<Response> {
    let wants_html =
        req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let (submitted, recipient) = read(&s, req, q.recipient).await?;
    let report = run(&s, submitted, recipient).await?;
    let response = if wants_html { super::pages::verify_result(lang, &report) } else { Json(&report).into_response() };
    // An outage is never a verdict: the report says "could not check" and the status asks the
    // client to come back.
    Ok(super::error::unavailable_if(report.unavailable, response))
}
