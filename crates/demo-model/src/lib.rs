//! # promlite-demo-model
//!
//! A simulated ML model server, instrumented with the official `prometheus-client` crate:
//! the realistic workload promlite is demonstrated and tested against.
//!
//! - [`DemoModel`]: the service. [`DemoModel::router`] gives its axum routes (`POST /predict`,
//!   `POST /generate`, `GET /metrics`, `POST /admin/drift`, `POST /retrain`, …),
//!   [`DemoModel::spawn_traffic`] drives it with synthetic load, and [`DemoModel::stats`]
//!   says how many requests that load sent per endpoint and status.
//! - [`DemoOptions`]: seed, drift schedule, `bad_cardinality`, simulated latencies.
//! - [`Metrics`]: the exposed families (`model_requests_total`, `prediction_confidence`,
//!   `prediction_confidence_score`, `inference_latency_seconds`, `generated_tokens`,
//!   `time_per_output_token_seconds`, `predicted_class_total`, `model_info`).
//!
//! Simulated latency is real (tokio sleeps) but small, and all timing uses tokio time, so
//! tests run under `#[tokio::test(start_paused = true)]` without waiting.
//!
//! ```
//! use promlite_demo_model::{DemoModel, DemoOptions, Endpoint};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let model = DemoModel::new(DemoOptions { seed: 7, ..DemoOptions::default() });
//! let reply = model.predict(br#"{"features": [0.5, 1.5]}"#).await;
//! assert!(reply.status == 200 || reply.status == 500);
//!
//! let traffic = model.spawn_traffic(50.0);
//! tokio::time::sleep(std::time::Duration::from_millis(100)).await;
//! traffic.stop().await;
//! assert!(model.stats().endpoint_total(Endpoint::Predict) > 0);
//! assert!(model.metrics_text().contains("model_requests_total{model_version=\"v2.1\""));
//!
//! let (old, new) = model.retrain();
//! assert_eq!((old.to_string(), new.to_string()), ("v2.1".to_string(), "v2.2".to_string()));
//! # }
//! ```

mod api;
mod duration;
mod metrics;
mod model;
mod options;
mod retrain;
mod rng;
mod router;
mod simulate;
mod traffic;

pub use api::{
    Endpoint, GenerateRequest, GenerateResponse, PredictRequest, PredictResponse, Reply,
    RetrainAlert, RetrainRequest, DEFAULT_MAX_TOKENS, MAX_TOKENS_LIMIT, RETRAIN_ACTION,
};
pub use duration::parse_duration;
pub use metrics::{
    Metrics, CONFIDENCE_BUCKETS, LATENCY_BUCKETS, OPENMETRICS_CONTENT_TYPE, TOKEN_BUCKETS,
    TPOT_BUCKETS,
};
pub use model::{DemoModel, DriftStatus, TrafficStats};
pub use options::{DemoOptions, ModelVersion};
pub use simulate::CLASSES;
pub use traffic::TrafficHandle;
