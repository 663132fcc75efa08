//! promlite's own metrics on `/metrics`: HTTP requests by handler and code,
//! request durations, queries; other crates add theirs through
//! [`crate::providers::MetricsSource`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::gofmt::format_g;
use crate::ApiState;

/// Buckets of `prometheus_http_request_duration_seconds` (as Prometheus).
const BUCKETS: [f64; 9] = [0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters of the HTTP API.
#[derive(Default)]
pub struct HttpMetrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    queries_in_flight: AtomicI64,
    queries_total: AtomicU64,
    query_failures: AtomicU64,
}

impl HttpMetrics {
    /// Records one finished request.
    pub fn observe(&self, handler: &str, code: u16, seconds: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((handler.to_string(), code)).or_insert(0) += 1;
        }
        if let Ok(mut m) = self.durations.lock() {
            let h = m.entry(handler.to_string()).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    /// Count of requests seen for `handler` with `code`.
    pub fn requests(&self, handler: &str, code: u16) -> u64 {
        self.requests
            .lock()
            .ok()
            .and_then(|m| m.get(&(handler.to_string(), code)).copied())
            .unwrap_or(0)
    }

    pub(crate) fn query_started(&self) {
        self.queries_in_flight.fetch_add(1, Ordering::Relaxed);
        self.queries_total.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn query_finished(&self, ok: bool) {
        self.queries_in_flight.fetch_sub(1, Ordering::Relaxed);
        if !ok {
            self.query_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Appends the metrics in the text format.
    pub fn write(&self, out: &mut String) {
        out.push_str("# HELP prometheus_http_requests_total Counter of HTTP requests.\n");
        out.push_str("# TYPE prometheus_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((h, c), n) in m.iter() {
                out.push_str(&format!(
                    "prometheus_http_requests_total{{code=\"{c}\",handler={}}} {n}\n",
                    quote(h)
                ));
            }
        }
        out.push_str("# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.\n");
        out.push_str("# TYPE prometheus_http_request_duration_seconds histogram\n");
        if let Ok(m) = self.durations.lock() {
            for (h, hist) in m.iter() {
                let hq = quote(h);
                for (i, b) in BUCKETS.iter().enumerate() {
                    out.push_str(&format!(
                        "prometheus_http_request_duration_seconds_bucket{{handler={hq},le=\"{}\"}} {}\n",
                        format_g(*b),
                        hist.counts[i]
                    ));
                }
                out.push_str(&format!(
                    "prometheus_http_request_duration_seconds_bucket{{handler={hq},le=\"+Inf\"}} {}\n",
                    hist.count
                ));
                out.push_str(&format!(
                    "prometheus_http_request_duration_seconds_sum{{handler={hq}}} {}\n",
                    format_g(hist.sum)
                ));
                out.push_str(&format!(
                    "prometheus_http_request_duration_seconds_count{{handler={hq}}} {}\n",
                    hist.count
                ));
            }
        }
        let g = |out: &mut String, name: &str, typ: &str, help: &str, v: String| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {typ}\n{name} {v}\n"
            ));
        };
        g(
            out,
            "prometheus_engine_queries",
            "gauge",
            "The current number of queries being executed or waiting.",
            self.queries_in_flight.load(Ordering::Relaxed).to_string(),
        );
        g(
            out,
            "promlite_api_queries_total",
            "counter",
            "Queries received by the query API.",
            self.queries_total.load(Ordering::Relaxed).to_string(),
        );
        g(
            out,
            "promlite_api_query_failures_total",
            "counter",
            "Queries of the query API that failed.",
            self.query_failures.load(Ordering::Relaxed).to_string(),
        );
    }
}

fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Middleware: counts every request under its route pattern.
pub async fn track(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics.observe(
        &handler,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// `GET /metrics`.
pub async fn metrics_handler(State(state): State<ApiState>) -> Response {
    let mut out = String::new();
    state.metrics.write(&mut out);
    for s in &state.metrics_sources {
        s.write_metrics(&mut out);
    }
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_counters_and_histograms() {
        let m = HttpMetrics::default();
        m.observe("/api/v1/query", 200, 0.15);
        m.observe("/api/v1/query", 200, 5.0);
        m.observe("/api/v1/query", 400, 0.01);
        m.query_started();
        let mut out = String::new();
        m.write(&mut out);
        assert!(out.contains(
            "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/query\"} 2\n"
        ));
        assert!(out.contains(
            "prometheus_http_requests_total{code=\"400\",handler=\"/api/v1/query\"} 1\n"
        ));
        assert!(out.contains("prometheus_http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.1\"} 1\n"));
        assert!(out.contains("prometheus_http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"0.2\"} 2\n"));
        assert!(out.contains("prometheus_http_request_duration_seconds_bucket{handler=\"/api/v1/query\",le=\"+Inf\"} 3\n"));
        assert!(out.contains(
            "prometheus_http_request_duration_seconds_count{handler=\"/api/v1/query\"} 3\n"
        ));
        assert!(out.contains("prometheus_engine_queries 1\n"));
        assert_eq!(m.requests("/api/v1/query", 200), 2);
    }
}
