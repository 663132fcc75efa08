//! The Prometheus HTTP API for promlite, on axum.
//!
//! Users point Grafana (or anything else that speaks Prometheus's API) at
//! promlite instead of Prometheus; this crate answers with the same JSON
//! envelopes, error types, status codes and parameter rules.
//!
//! # Brief overview
//!
//! * [`ApiState`] — what the handlers share: the storage
//!   ([`promlite_model::Queryable`]), the PromQL [`promlite_promql::Engine`],
//!   a clock, [`ApiOptions`] and optional [`providers`] (targets, rules,
//!   Alertmanagers, TSDB status, config/flags, lifecycle, admin, metrics).
//! * [`router`] — every endpoint: `/api/v1/*`, `/federate`, `/metrics`, `/-/*`.
//! * [`serve`] — runs a router on a listener with a [`WebConfig`]
//!   (Prometheus's `--web.config.file`: TLS and bcrypt basic auth) until a
//!   shutdown future resolves.
//! * [`ApiError`] / [`ApiResponse`] — the `{"status":…}` envelopes.
//!
//! PromQL runs on tokio's blocking pool under `max_concurrency`, with the
//! query timeout, and is canceled when the client disconnects; a query whose
//! last evaluation took 2 ms or less runs inline on the runtime thread, within
//! a 10 ms budget (`inline.rs`).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use axum::body::Body;
//! use axum::http::Request;
//! use promlite_http::{router, ApiState};
//! use promlite_model::{labels, MemStorage};
//! use promlite_promql::Engine;
//! use tower::ServiceExt;
//!
//! let db = MemStorage::new();
//! db.insert(labels!("__name__" => "up", "job" => "demo"), &[(1_000, 1.0)]);
//! let app = router(ApiState::new(Arc::new(db), Engine::default()));
//!
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let resp = rt.block_on(app.oneshot(Request::get("/api/v1/label/job/values").body(Body::empty()).unwrap())).unwrap();
//! assert_eq!(resp.status(), 200);
//! let body = rt.block_on(axum::body::to_bytes(resp.into_body(), 1 << 20)).unwrap();
//! assert_eq!(&body[..], br#"{"status":"success","data":["demo"]}"#);
//! ```
#![deny(missing_docs)]

mod ast_json;
mod conns;
mod error;
mod gofmt;
mod gzip;
pub mod handlers;
mod inline;
pub mod json;
mod limits;
pub mod params;
pub mod providers;
mod response;
mod routes;
pub mod self_metrics;
mod serve;
mod state;
mod webconfig;

pub use error::{ApiError, ErrorType};
pub use gofmt::{format_e, format_g};
pub use limits::ConnLimits;
pub use response::{ApiResponse, ApiResult, EncodedResponse};
pub use routes::router;
pub use serve::serve;
pub use state::{ApiOptions, ApiState, BuildInfo};
pub use webconfig::{TlsServerConfig, WebConfig, WebConfigError};
