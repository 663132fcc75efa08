//! promlite's own metrics on `/metrics`: HTTP requests by handler and code,
//! request durations, the PromQL engine's queries; other crates add theirs
//! through [`crate::providers::MetricsSource`], written with [`FamilyWriter`].

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
            "promlite_api_queries_in_flight",
            "gauge",
            "Queries of the query API being executed or waiting for a slot.",
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

/// Writes one metric family in the text format: `# HELP` and `# TYPE`
/// lines on creation, then samples. Used by every [`crate::providers::MetricsSource`]
/// of the binary so all of `/metrics` is escaped and formatted alike.
pub struct FamilyWriter<'a> {
    out: &'a mut String,
    name: &'a str,
}

impl<'a> FamilyWriter<'a> {
    /// Starts family `name` of type `typ` (`counter`, `gauge`, `summary`,
    /// `histogram`, `untyped`) with help text `help`.
    pub fn new(out: &'a mut String, name: &'a str, typ: &str, help: &str) -> Self {
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        for c in help.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push_str("\n# TYPE ");
        out.push_str(name);
        out.push(' ');
        out.push_str(typ);
        out.push('\n');
        FamilyWriter { out, name }
    }

    /// Writes a sample of the family's own name.
    pub fn sample(&mut self, labels: &[(&str, &str)], v: f64) -> &mut Self {
        self.suffixed("", labels, v)
    }

    /// Writes a sample named `<family><suffix>` (`_sum`, `_count`, `_bucket`).
    pub fn suffixed(&mut self, suffix: &str, labels: &[(&str, &str)], v: f64) -> &mut Self {
        self.out.push_str(self.name);
        self.out.push_str(suffix);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push('=');
                self.out.push_str(&quote(val));
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&format_g(v));
        self.out.push('\n');
        self
    }
}

/// Writes the PromQL engine's metrics (Prometheus's `prometheus_engine_*`).
pub fn write_engine_metrics(m: &promlite_promql::EngineMetricsSnapshot, out: &mut String) {
    FamilyWriter::new(
        out,
        "prometheus_engine_queries",
        "gauge",
        "The current number of queries being executed or waiting.",
    )
    .sample(&[], m.in_flight as f64);
    FamilyWriter::new(
        out,
        "prometheus_engine_query_duration_seconds",
        "summary",
        "Query timings",
    )
    .suffixed("_sum", &[("slice", "inner_eval")], m.inner_eval_seconds)
    .suffixed(
        "_count",
        &[("slice", "inner_eval")],
        m.inner_eval_count as f64,
    );
    FamilyWriter::new(
        out,
        "promlite_engine_queries_total",
        "counter",
        "Queries evaluated by the PromQL engine (API and rules).",
    )
    .sample(&[], m.queries as f64);
    FamilyWriter::new(
        out,
        "promlite_engine_query_failures_total",
        "counter",
        "Query evaluations that failed (timeouts, limits, errors).",
    )
    .sample(&[], m.failures as f64);
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
    write_engine_metrics(&state.engine.metrics().snapshot(), &mut out);
    for s in state.metrics_sources.iter() {
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
        assert!(out.contains("promlite_api_queries_in_flight 1\n"));
        assert_eq!(m.requests("/api/v1/query", 200), 2);
    }
}

#[cfg(test)]
mod writer_tests {
    use super::*;

    #[test]
    fn family_writer_escapes_and_formats() {
        let mut out = String::new();
        FamilyWriter::new(&mut out, "x_total", "counter", "Help with \\ and\nnewline.")
            .sample(&[], 1.0)
            .sample(&[("a", "q\"uote"), ("b", "back\\slash")], 2.5e9)
            .suffixed("_extra", &[("le", "+Inf")], f64::INFINITY);
        assert_eq!(
            out,
            "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\n\
             x_total 1\n\
             x_total{a=\"q\\\"uote\",b=\"back\\\\slash\"} 2.5e+09\n\
             x_total_extra{le=\"+Inf\"} +Inf\n"
        );
    }

    #[test]
    fn engine_metrics_are_a_summary_with_inner_eval() {
        let m = promlite_promql::EngineMetricsSnapshot {
            in_flight: 2,
            queries: 7,
            failures: 1,
            inner_eval_count: 6,
            inner_eval_seconds: 0.25,
        };
        let mut out = String::new();
        write_engine_metrics(&m, &mut out);
        assert!(out.contains("# TYPE prometheus_engine_query_duration_seconds summary\n"));
        assert!(out
            .contains("prometheus_engine_query_duration_seconds_count{slice=\"inner_eval\"} 6\n"));
        assert!(out
            .contains("prometheus_engine_query_duration_seconds_sum{slice=\"inner_eval\"} 0.25\n"));
        assert!(out.contains("prometheus_engine_queries 2\n"));
    }
}
