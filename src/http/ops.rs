//! Operations endpoints: health and Prometheus metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(ready)).route("/health/ready", get(ready)).route("/health/live", get(live))
}

/// `/metrics`: on the public port, or alone on `METROBADGE_METRICS_BIND`.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// The process is up and answering (nothing else is checked: restart it only if this fails).
async fn live() -> impl IntoResponse {
    Json(serde_json::json!({"status": "live"}))
}

/// 200 when the database answers, its schema is this build's and the master key opens the
/// sealed keys; otherwise 503 with `Retry-After` and what is wrong. `/health` is an alias.
async fn ready(State(state): State<AppState>) -> Response {
    let r = state.service.readiness().await;
    let status = if r.ready { "ok" } else { "not ready" };
    let body = Json(serde_json::json!({"status": status, "checks": r, "database": r.database})).into_response();
    super::error::unavailable_if(!r.ready, body)
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // A queue that only grows means stacking keeps failing (details in the logs).
    if let Ok(n) = state.service.queued_jobs().await {
        state.metrics.set_queue(n);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
