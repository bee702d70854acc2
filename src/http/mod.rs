//! HTTP: routing, extractors, error rendering. Handlers are thin: extract, call the service,
//! shape the response.

pub(crate) mod audit;
mod awards;
mod catalog;
mod console;
mod error;
mod extract;
mod impact;
mod issuers;
mod learners;
pub mod limits;
mod mail;
mod me;
pub mod metrics;
mod metro;
mod nanomodules;
mod ob_api;
pub mod openapi;
mod ops;
mod pages;
mod partnerships;
mod peer_groups;
pub(crate) mod problems;
mod progress;
mod public;
mod status;
mod texts;
mod tokens;
mod verify;
mod wallet;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use error::{ApiError, ApiResult};

use crate::service::Service;

#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub metrics: Arc<metrics::Metrics>,
    pub guards: Arc<limits::Guards>,
}

static BODY_LIMIT: AtomicUsize = AtomicUsize::new(1024 * 1024);

/// The configured request body limit (bytes), for error messages.
pub(crate) fn body_limit() -> usize {
    BODY_LIMIT.load(Ordering::Relaxed)
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The documented API — `/api/v1`, the VC-API verifier and the OB 3.0 API — and its OpenAPI
/// 3.1 description, both from the same routers (each handler's `#[utoipa::path]` says how it
/// The pages' and the console's catalogues load in both languages (see `locale::check`).
pub(crate) fn check_texts() -> Result<(), crate::locale::LocaleError> {
    texts::Texts::check()?;
    console::texts::ConsoleTexts::check()?;
    problems::check_problems()
}

/// is called; `utoipa_axum` registers the route from it).
pub fn documented(guards: Arc<limits::Guards>) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = issuers::router()
        .merge(catalog::router())
        .merge(nanomodules::router())
        .merge(awards::api_router())
        .merge(status::api_router())
        .merge(metro::router())
        .merge(progress::api_router())
        .merge(mail::api_router())
        .merge(impact::api_router())
        .merge(partnerships::router())
        .merge(peer_groups::router())
        .merge(tokens::router())
        .merge(learners::router())
        .merge(audit::router());
    utoipa_axum::router::OpenApiRouter::with_openapi(openapi::base())
        .nest("/api/v1", api)
        .merge(verify::api_router(guards.clone()))
        .merge(ob_api::api_router(guards))
        .split_for_parts()
}

/// The public router, and `/metrics` on its own when `metrics_apart` (for a separate listener
/// that only the monitoring network reaches); otherwise `/metrics` is on the public router.
pub fn routers(service: Service, body_limit: usize, limits: &limits::Limits, metrics_apart: bool) -> (Router, Router) {
    BODY_LIMIT.store(body_limit, Ordering::Relaxed);
    let guards = Arc::new(limits::Guards::new(limits));
    let state = AppState { service, metrics: Arc::new(metrics::Metrics::default()), guards: guards.clone() };
    let apart = ops::metrics_router().with_state(state.clone());
    let ops = if metrics_apart { ops::router() } else { ops::router().merge(ops::metrics_router()) };
    let (documented, description) = documented(guards.clone());
    openapi::publish(description);
    let public = Router::new()
        .merge(documented)
        .merge(openapi::router())
        .merge(public::router())
        .merge(progress::public_router())
        .merge(mail::public_router())
        .merge(me::router())
        .merge(impact::public_router())
        .merge(wallet::router())
        .merge(ob_api::pages_router())
        .merge(awards::public_router())
        .merge(status::public_router())
        .merge(verify::router(guards.clone()))
        .merge(pages::router())
        .merge(console::router())
        .merge(audit::public_router())
        .merge(ops)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(ob_api::imsx_not_allowed))
        .layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(axum::middleware::from_fn_with_state(guards, limits::cap_in_flight))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::map_response(security_headers))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %log_target(req.uri()), role = tracing::field::Empty)
        }).on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state);
    (public, apart)
}

/// The request target as the access log shows it: learners' private tokens (the progress
/// page path and the `learner=` query value of a badge page) are replaced by `[redacted]`.
pub(crate) fn log_target(uri: &axum::http::Uri) -> String {
    let mut path = uri.path().to_string();
    if let Some(rest) = path.strip_prefix("/progress/") {
        let tail = rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_default();
        path = format!("/progress/[redacted]{tail}");
    }
    let Some(query) = uri.query() else { return path };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == "learner" || k == "token" => format!("{k}=[redacted]"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// Headers every response carries; pages add their own CSP.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("no-referrer"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    response
}

/// A JSON(-LD) document with the media type the client asked for: `application/ld+json`
/// unless it prefers plain `application/json`.
pub(crate) fn json_ld(accept: Option<&HeaderValue>, doc: &serde_json::Value) -> Response {
    let accept = accept.and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = if accept.contains("application/json") && !accept.contains("application/ld+json") {
        "application/json"
    } else {
        "application/ld+json"
    };
    ([(header::CONTENT_TYPE, media), (header::CACHE_CONTROL, "public, max-age=300")], doc.to_string()).into_response()
}

/// How long a graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::log_target;

    #[test]
    fn access_log_redacts_private_tokens() {
        let t = |u: &str| log_target(&u.parse().unwrap());
        assert_eq!(t("/progress/mbp_secret"), "/progress/[redacted]");
        assert_eq!(t("/progress/mbp_secret/map.svg"), "/progress/[redacted]/map.svg");
        assert_eq!(t("/credentials/abc?learner=mbp_secret&x=1"), "/credentials/abc?learner=[redacted]&x=1");
        assert_eq!(t("/verify?recipient=a"), "/verify?recipient=a");
        assert!(!t("/progress/mbp_secret/replace?learner=mbp_other").contains("mbp_"));
    }
}
