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

/// The W3C VC-API verifier (documented in the OpenAPI description), under the same limit on
/// verifications at once.
pub fn api_router(guards: std::sync::Arc<super::limits::Guards>) -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(vc_api_verify))
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
        Err(Invalid::one("credential", crate::problem!("empty", "must not be empty")).into())
    } else {
        Ok(Submitted::Ob3(Input::Jwt(t.to_string())))
    }
}

fn from_baked(b: Result<Baked, bake::BakeError>) -> Result<Submitted, ApiError> {
    match b {
        Ok(Baked::Ob3(text)) => from_text(&text),
        Ok(Baked::Ob2(text)) => Ok(Submitted::Ob2(text)),
        Err(e) => Err(Invalid::one("file", crate::domain::validate::unreadable(e)).into()),
    }
}

/// An uploaded file: PNG by signature, SVG by its root element, otherwise text.
fn from_file(bytes: &[u8]) -> Result<Submitted, ApiError> {
    if bytes.starts_with(b"\x89PNG") {
        return from_baked(bake::extract_png(bytes));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        ApiError::Invalid(Invalid::one(
            "file",
            crate::problem!("not-a-badge-file", "is neither a PNG, an SVG nor a text credential"),
        ))
    })?;
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
            found.ok_or_else(|| {
                ApiError::Invalid(Invalid::one(
                    "file",
                    crate::problem!("nothing-to-verify", "upload a badge file or paste a credential"),
                ))
            })?
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
    let (submitted, recipient) = match read(&s, req, q.recipient).await {
        Ok(read) => read,
        // A person at the form sees the form again with what to fix, in their language.
        Err(e) => {
            let page = if wants_html { super::pages::verify_refused(lang, &e) } else { None };
            return page.ok_or(e);
        }
    };
    let report = run(&s, submitted, recipient).await?;
    let response = if wants_html { super::pages::verify_result(lang, &report) } else { Json(&report).into_response() };
    // An outage is never a verdict: the report says "could not check" and the status asks the
    // client to come back.
    Ok(super::error::unavailable_if(report.unavailable, response))
}

/// `POST /credentials/verify` (W3C VC-API): any VCDM 1.1 or 2.0 credential, JSON with an
/// embedded proof or a VC-JWT string. 200 when verified, 400 with the problems when a check
/// failed on the data, and a 503 problem when something could not be checked (VC-API has only
/// the first two; `docs/interop.md` says so).
#[utoipa::path(post, path = "/credentials/verify", tag = "VC-API", operation_id = "vc_api_verify",
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "{\"verifiableCredential\": credential (JSON with an embedded proof, or a VC-JWT string), \"options\": {}}"),
    responses(
        (status = 200, description = "Verified: {\"verified\": true, \"checks\", \"warnings\", \"errors\"}", body = serde_json::Value),
        (status = 400, description = "Not verified, with the problems", body = serde_json::Value),
        (status = 503, description = "Could not check (outside VC-API's two codes; see docs/interop.md)", content_type = "application/problem+json")))]
async fn vc_api_verify(State(s): State<AppState>, req: Request) -> ApiResult<Response> {
    let content_type = super::extract::content_type(req.headers());
    if !matches!(content_type.as_str(), "application/json" | "application/ld+json") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "expected application/json with {{\"verifiableCredential\", \"options\"}}; got '{}'",
            if content_type.is_empty() { "nothing" } else { &content_type }
        )));
    }
    let body = read_body(req, &s).await?;
    let malformed =
        |field: &str, detail: &str| ApiError::Malformed { detail: detail.into(), field: Some(field.into()) };
    // VC-API answers bad input with 400, so the request is read by hand rather than as a typed
    // body (whose errors are 422 validation problems here).
    let Value::Object(mut request) = parse_json::<Value>(&body)? else {
        return Err(malformed("verifiableCredential", "expected an object with verifiableCredential (and options)"));
    };
    // `options` is accepted as VC-API defines it; none of its members changes what is checked
    // (every check always runs).
    if request.get("options").is_some_and(|o| !o.is_object()) {
        return Err(malformed("options", "options must be an object"));
    }
    let input = match request.remove("verifiableCredential").unwrap_or(Value::Null) {
        c @ Value::Object(_) => Input::Json(c),
        Value::String(jwt) if !jwt.trim().is_empty() => Input::Jwt(jwt.trim().to_string()),
        _ => {
            return Err(ApiError::Malformed {
                detail: "verifiableCredential must be a credential object or a VC-JWT string".into(),
                field: Some("verifiableCredential".into()),
            });
        }
    };
    let report = s.service.verify_in_slot(move |service| async move { service.verify_any(input).await }).await?;
    Ok(vc_api_answer(&report))
}

/// The VC-API shape of a report: `verified`, the names of the checks that passed, and one
/// problem detail per failed check (the full report rides along as `results`).
fn vc_api_answer(report: &Report) -> Response {
    use crate::credential::verify::Outcome;
    let passed: Vec<&str> = report.checks.iter().filter(|c| c.passed).map(|c| c.check).collect();
    let failed = report.checks.iter().filter(|c| !c.passed);
    let problems: Vec<Value> = failed
        .clone()
        .map(|c| {
            serde_json::json!({
                "type": format!("urn:metrobadge:problem:verification:{}", c.check),
                "title": if c.could_not_check { "Could not check" } else { "Check failed" },
                "detail": format!("{}: {}", c.check, c.detail),
            })
        })
        .collect();
    let errors: Vec<String> = failed.map(|c| format!("{}: {}", c.check, c.detail)).collect();
    let warnings: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.passed && c.detail.starts_with("not applicable"))
        .map(|c| format!("{}: {}", c.check, c.detail))
        .collect();
    let mut body = serde_json::json!({
        "verified": report.verified,
        "checks": passed,
        "warnings": warnings,
        "errors": errors,
        "problemDetails": problems,
        "results": report.checks,
    });
    if let Some(c) = &report.credential {
        body["credential"] = c.clone();
    }
    match report.outcome {
        Outcome::Valid => Json(body).into_response(),
        Outcome::Invalid => (axum::http::StatusCode::BAD_REQUEST, Json(body)).into_response(),
        Outcome::CouldNotCheck => {
            let mut problem = serde_json::json!({
                "type": "urn:metrobadge:problem:could-not-check",
                "title": "Could not check",
                "status": 503,
                "detail": format!("the credential could not be checked, which says nothing against it: {}", errors.join("; ")),
            });
            problem["verified"] = Value::Bool(false);
            problem["checks"] = body["checks"].take();
            problem["problemDetails"] = body["problemDetails"].take();
            problem["results"] = body["results"].take();
            let mut response = (axum::http::StatusCode::SERVICE_UNAVAILABLE, problem.to_string()).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/problem+json"));
            super::error::unavailable_if(report.unavailable, response)
        }
    }
}
