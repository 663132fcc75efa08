//! Shared helpers of the scenario tests: a fixture storage, a router over
//! it, and request helpers that go through the full router in-process.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use promlite_http::{router, ApiState};
use promlite_model::{labels, Labels, ManualClock, MemStorage};
use promlite_promql::Engine;
use serde_json::Value;
use tower::ServiceExt;

/// 2024-01-01T12:00:37.123Z, "now" of the Grafana worked example.
pub const NOW_MS: i64 = 1_704_110_437_123;

/// Series every 15 s over the last 6 hours before `NOW_MS`.
pub fn fixture() -> MemStorage {
    let db = MemStorage::new();
    let series: Vec<Labels> = vec![
        labels!("__name__" => "up", "job" => "api", "instance" => "a:1"),
        labels!("__name__" => "up", "job" => "node", "instance" => "n:9100"),
        labels!("__name__" => "http_requests_total", "job" => "api", "instance" => "a:1", "code" => "200"),
        labels!("__name__" => "http_requests_total", "job" => "api", "instance" => "a:1", "code" => "500"),
        labels!("__name__" => "node_cpu_seconds_total", "job" => "node", "instance" => "n:9100", "cpu" => "0"),
        labels!("__name__" => "model.latency", "job" => "api", "http.status" => "200"),
    ];
    let start = NOW_MS - 6 * 3_600_000;
    for (i, l) in series.into_iter().enumerate() {
        let samples: Vec<(i64, f64)> = (0..1440)
            .map(|k| (start + k * 15_000, (k as f64) * (i as f64 + 1.0)))
            .collect();
        db.insert(l, &samples);
    }
    db
}

/// State over the fixture with a manual clock at `NOW_MS`.
pub fn state() -> ApiState {
    ApiState::new(Arc::new(fixture()), Engine::default())
        .with_clock(Arc::new(ManualClock::new(NOW_MS)))
}

/// A router over [`state`].
pub fn app() -> Router {
    router(state())
}

/// A finished response.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    /// The body as JSON (panics with the body text if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends a request through the router.
pub async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    form: Option<&str>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    if form.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(
            form.map(|f| Body::from(f.to_string()))
                .unwrap_or_else(Body::empty),
        )
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), 64 << 20).await.unwrap();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `GET uri`.
pub async fn get(app: &Router, uri: &str) -> Resp {
    send(app, Method::GET, uri, None, &[]).await
}

/// `POST uri` with a form body.
pub async fn post(app: &Router, uri: &str, form: &str) -> Resp {
    send(app, Method::POST, uri, Some(form), &[]).await
}

/// Asserts a Prometheus success envelope with 200 and returns `data`.
pub fn ok_data(r: &Resp) -> Value {
    assert_eq!(r.status, StatusCode::OK, "body: {}", r.body);
    let j = r.json();
    assert_eq!(j["status"], "success", "body: {}", r.body);
    assert_eq!(
        r.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    j["data"].clone()
}

/// Asserts a Prometheus error envelope and returns the message.
pub fn err_msg(r: &Resp, status: u16, error_type: &str) -> String {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    let j = r.json();
    assert_eq!(j["status"], "error");
    assert_eq!(j["errorType"], error_type, "body: {}", r.body);
    assert!(j.get("data").is_none());
    j["error"].as_str().unwrap().to_string()
}

/// Percent-encodes a parameter value like Go's form encoder.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
