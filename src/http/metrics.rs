//! Prometheus metrics for HTTP traffic, through the `metrics` crate and its Prometheus
//! exporter.
//!
//! Each app owns its recorder rather than installing a process-wide one: several app instances
//! (the test suite runs many servers in one process) keep their own numbers, and nothing
//! depends on who installed a global first.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

const REQUESTS: &str = "metrobadge_http_requests_total";
const DURATION: &str = "metrobadge_http_request_duration_seconds";
const QUEUE: &str = "metrobadge_stack_queue_jobs";

static METADATA: Metadata<'static> = metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let recorder =
            PrometheusBuilder::new().set_buckets(&BUCKETS).expect("the bucket list is not empty").build_recorder();
        recorder.describe_counter(REQUESTS.into(), None, "HTTP requests by method, route and status.".into());
        recorder.describe_histogram(
            DURATION.into(),
            Some(metrics::Unit::Seconds),
            "HTTP request latency by route.".into(),
        );
        recorder.describe_gauge(
            QUEUE.into(),
            None,
            "Learners' re-evaluations waiting in the stacking queue (only growing: stacking keeps failing).".into(),
        );
        let handle = recorder.handle();
        Metrics { recorder, handle }
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = vec![
            Label::new("method", method.to_string()),
            Label::new("route", route.to_string()),
            Label::new("status", status.to_string()),
        ];
        self.recorder.register_counter(&Key::from_parts(REQUESTS, labels), &METADATA).increment(1);
        let route = vec![Label::new("route", route.to_string())];
        self.recorder.register_histogram(&Key::from_parts(DURATION, route), &METADATA).record(seconds);
    }

    /// The stacking queue's length at the time of a scrape.
    pub fn set_queue(&self, jobs: i64) {
        self.recorder.register_gauge(&Key::from_name(QUEUE), &METADATA).set(jobs as f64);
    }

    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Middleware: records every request under its route template (not the raw path, so ids do
/// not explode the label set).
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.observe(&method, &route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe("GET", "/health", 200, 0.003);
        m.observe("GET", "/health", 200, 0.2);
        m.set_queue(3);
        let text = m.render();
        assert!(
            text.contains("metrobadge_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("metrobadge_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.005\"} 1"));
        assert!(text.contains("metrobadge_http_request_duration_seconds_count{route=\"/health\"} 2"));
        assert!(text.contains("metrobadge_stack_queue_jobs 3"), "{text}");
        assert!(text.contains("# HELP metrobadge_http_requests_total"), "{text}");
    }
}
