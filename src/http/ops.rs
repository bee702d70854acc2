//! Operations endpoints: health and Prometheus metrics.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use super::{ApiError, ApiResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics))
}

/// 200 when the database answers, 503 otherwise.
async fn health(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    let store = &state.service.store;
    store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "health check: database unreachable");
        ApiError::Unavailable("database unreachable".into())
    })?;
    Ok(Json(serde_json::json!({"status": "ok", "database": store.backend()})))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    // A queue that only grows means stacking keeps failing (details in the logs).
    if let Ok(n) = state.service.store.queued_jobs().await {
        text.push_str("# HELP metrobadge_stack_queue_jobs Learners' re-evaluations waiting in the stacking queue.\n");
        text.push_str("# TYPE metrobadge_stack_queue_jobs gauge\n");
        text.push_str(&format!("metrobadge_stack_queue_jobs {n}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
