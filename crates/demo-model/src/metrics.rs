//! The service's own instrumentation, built with the official `prometheus-client` crate.
//!
//! Deliberately *not* promlite code: the demo must look like any third-party model server.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Content type of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets of `prediction_confidence_score`: 0.1, 0.2, … 1.0 (written out so `le` prints exactly).
pub const CONFIDENCE_BUCKETS: [f64; 10] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
/// Buckets of `inference_latency_seconds`.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
];
/// Buckets of `generated_tokens`.
pub const TOKEN_BUCKETS: [f64; 8] = [4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
/// Buckets of `time_per_output_token_seconds`.
pub const TPOT_BUCKETS: [f64; 9] = [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1];

/// A label set: ordered `(name, value)` pairs, exposed in this order.
pub type LabelPairs = Vec<(&'static str, String)>;

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every metric family the demo exposes, plus the registry that encodes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `model_requests_total{model_version, endpoint, status[, user_id]}`.
    pub requests: Family<LabelPairs, Counter>,
    /// `prediction_confidence{model_version}`: confidence of the latest prediction.
    pub confidence: Family<LabelPairs, FloatGauge>,
    /// `prediction_confidence_score`: distribution of confidences.
    pub confidence_score: Histogram,
    /// `inference_latency_seconds{model_version, endpoint}`.
    pub latency: Family<LabelPairs, Histogram>,
    /// `generated_tokens`: tokens per `/generate` response.
    pub generated_tokens: Histogram,
    /// `time_per_output_token_seconds`: mean time per token of each `/generate` response.
    pub time_per_output_token: Histogram,
    /// `predicted_class_total{model_version, class}`.
    pub predicted_class: Family<LabelPairs, Counter>,
    /// `model_info{model_version}`: 1 for the version being served.
    pub model_info: Family<LabelPairs, Gauge>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// Creates and registers all families (empty until observed).
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<LabelPairs, Counter>::default();
        let confidence = Family::<LabelPairs, FloatGauge>::default();
        let confidence_score = Histogram::new(CONFIDENCE_BUCKETS);
        let latency = Family::<LabelPairs, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let generated_tokens = Histogram::new(TOKEN_BUCKETS);
        let time_per_output_token = Histogram::new(TPOT_BUCKETS);
        let predicted_class = Family::<LabelPairs, Counter>::default();
        let model_info = Family::<LabelPairs, Gauge>::default();

        // Counters get `_total` and units get `_seconds` appended by the encoder.
        registry.register(
            "model_requests",
            "Requests handled, by model version, endpoint and HTTP status",
            requests.clone(),
        );
        registry.register(
            "prediction_confidence",
            "Confidence of the most recent prediction",
            confidence.clone(),
        );
        registry.register(
            "prediction_confidence_score",
            "Distribution of prediction confidences",
            confidence_score.clone(),
        );
        registry.register_with_unit(
            "inference_latency",
            "Time to serve a request, by model version and endpoint",
            Unit::Seconds,
            latency.clone(),
        );
        registry.register(
            "generated_tokens",
            "Tokens generated per /generate request",
            generated_tokens.clone(),
        );
        registry.register_with_unit(
            "time_per_output_token",
            "Mean time per generated token of each /generate request",
            Unit::Seconds,
            time_per_output_token.clone(),
        );
        registry.register(
            "predicted_class",
            "Predictions, by model version and predicted class",
            predicted_class.clone(),
        );
        registry.register(
            "model_info",
            "The model version being served (value 1)",
            model_info.clone(),
        );

        Metrics {
            registry,
            requests,
            confidence,
            confidence_score,
            latency,
            generated_tokens,
            time_per_output_token,
            predicted_class,
            model_info,
        }
    }

    /// The OpenMetrics text exposition (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            // Writing into a String cannot fail; keep the service up regardless.
            tracing::error!("encoding metrics failed: {e}");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposes_openmetrics_names_and_exact_buckets() {
        let m = Metrics::new();
        m.requests
            .get_or_create(&vec![
                ("model_version", "v2.1".into()),
                ("endpoint", "predict".into()),
                ("status", "200".into()),
            ])
            .inc();
        m.confidence_score.observe(0.93);
        m.latency
            .get_or_create(&vec![
                ("model_version", "v2.1".into()),
                ("endpoint", "predict".into()),
            ])
            .observe(0.012);
        m.time_per_output_token.observe(0.003);
        let text = m.encode();
        assert!(text.contains("# TYPE model_requests counter"), "{text}");
        assert!(text.contains("model_requests_total{model_version=\"v2.1\",endpoint=\"predict\",status=\"200\"} 1"), "{text}");
        assert!(
            text.contains("prediction_confidence_score_bucket{le=\"0.3\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("prediction_confidence_score_bucket{le=\"1.0\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# UNIT inference_latency_seconds seconds"),
            "{text}"
        );
        assert!(text.contains("inference_latency_seconds_bucket{le=\"0.025\",model_version=\"v2.1\",endpoint=\"predict\"} 1"), "{text}");
        assert!(
            text.contains("# TYPE time_per_output_token_seconds histogram"),
            "{text}"
        );
        assert!(text.contains("# HELP model_requests Requests handled, by model version, endpoint and HTTP status.\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
