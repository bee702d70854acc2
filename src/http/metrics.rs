//! Prometheus metrics for HTTP traffic, rendered in the text exposition format.
//!
//! A small registry of our own instead of a global recorder: each app instance (and each test
//! server in one process) keeps its own numbers, and the dependency tree stays small.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (method, route, status) → count
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → histogram
    latency: BTreeMap<String, Histogram>,
}

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *inner.requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        let h = inner.latency.entry(route.to_string()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP metrobadge_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE metrobadge_http_requests_total counter\n");
        for ((method, route, status), n) in &inner.requests {
            out.push_str(&format!(
                "metrobadge_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}\n",
                escape(route)
            ));
        }
        out.push_str("# HELP metrobadge_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE metrobadge_http_request_duration_seconds histogram\n");
        for (route, h) in &inner.latency {
            let route = escape(route);
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                out.push_str(&format!(
                    "metrobadge_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}\n"
                ));
            }
            out.push_str(&format!(
                "metrobadge_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n",
                h.count
            ));
            out.push_str(&format!("metrobadge_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n", h.sum));
            out.push_str(&format!("metrobadge_http_request_duration_seconds_count{{route=\"{route}\"}} {}\n", h.count));
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
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
        let text = m.render();
        assert!(text.contains("metrobadge_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"));
        assert!(text.contains("metrobadge_http_request_duration_seconds_bucket{route=\"/health\",le=\"0.005\"} 1"));
        assert!(text.contains("metrobadge_http_request_duration_seconds_count{route=\"/health\"} 2"));
    }
}
