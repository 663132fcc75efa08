//! [`DemoModel`]: the simulated model server's state and its endpoint logic.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use tokio::time::Instant;

use crate::api::{self, Endpoint, GenerateResponse, PredictResponse, Reply};
use crate::metrics::{LabelPairs, Metrics};
use crate::options::{DemoOptions, ModelVersion};
use crate::rng::Rng;
use crate::simulate::{self, Conditions, GenerateOutcome, PredictOutcome};

/// A simulated, instrumented model server. Cheap to clone (shared state).
///
/// Serve it with [`DemoModel::router`], drive it with [`DemoModel::spawn_traffic`], and
/// compare what the traffic generator sent ([`DemoModel::stats`]) with what was scraped.
#[derive(Clone, Debug)]
pub struct DemoModel {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) opts: DemoOptions,
    pub(crate) metrics: Metrics,
    state: Mutex<State>,
    /// Sequence number of the next request: each request draws from its own random stream.
    seq: AtomicU64,
    pub(crate) stats: Mutex<TrafficStats>,
    /// Alert episodes that already triggered a retrain (see `retrain.rs`).
    pub(crate) retrain_alerts_seen: Mutex<HashSet<String>>,
}

#[derive(Debug)]
struct State {
    version: ModelVersion,
    /// When the current version started serving (the `drift_after` clock starts here).
    deployed_at: Instant,
    /// When drift was switched on by hand (`POST /admin/drift`), if it was.
    manual_drift_at: Option<Instant>,
}

/// Requests the traffic generator sent, by endpoint and HTTP status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficStats {
    counts: BTreeMap<(Endpoint, u16), u64>,
}

impl TrafficStats {
    /// Requests sent to `endpoint` that were answered with `status`.
    pub fn count(&self, endpoint: Endpoint, status: u16) -> u64 {
        self.counts.get(&(endpoint, status)).copied().unwrap_or(0)
    }

    /// All requests sent to `endpoint`.
    pub fn endpoint_total(&self, endpoint: Endpoint) -> u64 {
        self.counts
            .iter()
            .filter(|((e, _), _)| *e == endpoint)
            .map(|(_, n)| n)
            .sum()
    }

    /// All requests sent.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// `(endpoint, status, count)` triples, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (Endpoint, u16, u64)> + '_ {
        self.counts.iter().map(|((e, s), n)| (*e, *s, *n))
    }

    pub(crate) fn record(&mut self, endpoint: Endpoint, status: u16) {
        *self.counts.entry((endpoint, status)).or_insert(0) += 1;
    }
}

/// Drift state, as reported by `GET /` and `POST /admin/drift`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftStatus {
    /// Version being served.
    pub model_version: String,
    /// Whether drift has started.
    pub drifting: bool,
    /// Drift strength now, 0 (healthy) to 1.
    pub severity: f64,
}

fn version_label(v: ModelVersion) -> LabelPairs {
    vec![("model_version", v.to_string())]
}

impl DemoModel {
    /// Creates the model (serving `opts.initial_version`, healthy) and its metrics.
    pub fn new(opts: DemoOptions) -> DemoModel {
        let metrics = Metrics::new();
        metrics
            .model_info
            .get_or_create(&version_label(opts.initial_version))
            .set(1);
        let state = State {
            version: opts.initial_version,
            deployed_at: Instant::now(),
            manual_drift_at: None,
        };
        DemoModel {
            inner: Arc::new(Inner {
                opts,
                metrics,
                state: Mutex::new(state),
                seq: AtomicU64::new(0),
                stats: Mutex::new(TrafficStats::default()),
                retrain_alerts_seen: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The options the model was created with.
    pub fn options(&self) -> &DemoOptions {
        &self.inner.opts
    }

    /// The version being served.
    pub fn version(&self) -> ModelVersion {
        self.inner.state.lock().version
    }

    /// The OpenMetrics exposition of the service's metrics (what `GET /metrics` returns).
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.encode()
    }

    /// Requests sent so far by traffic generators started with [`DemoModel::spawn_traffic`].
    pub fn stats(&self) -> TrafficStats {
        self.inner.stats.lock().clone()
    }

    /// Drift strength now: 0 before drift starts, rising linearly to 1 over `drift_ramp`.
    pub fn drift_severity(&self) -> f64 {
        let state = self.inner.state.lock();
        self.severity_at(&state, Instant::now())
    }

    fn severity_at(&self, state: &State, now: Instant) -> f64 {
        let automatic = self
            .inner
            .opts
            .drift_after
            .and_then(|d| state.deployed_at.checked_add(d));
        let onset = match (automatic, state.manual_drift_at) {
            (Some(a), Some(m)) => a.min(m),
            (Some(a), None) => a,
            (None, Some(m)) => m,
            (None, None) => return 0.0,
        };
        if now < onset {
            return 0.0;
        }
        let ramp = self.inner.opts.drift_ramp;
        if ramp.is_zero() {
            return 1.0;
        }
        (now.duration_since(onset).as_secs_f64() / ramp.as_secs_f64()).min(1.0)
    }

    /// The drift state now.
    pub fn drift_status(&self) -> DriftStatus {
        let state = self.inner.state.lock();
        let severity = self.severity_at(&state, Instant::now());
        let drifting = state.manual_drift_at.is_some()
            || self
                .inner
                .opts
                .drift_after
                .is_some_and(|d| state.deployed_at.elapsed() >= d);
        DriftStatus {
            model_version: state.version.to_string(),
            drifting,
            severity,
        }
    }

    /// Starts drift now (`enabled`), or cancels drift started by hand. Drift scheduled by
    /// `drift_after` is only cleared by [`DemoModel::retrain`].
    pub fn set_drift(&self, enabled: bool) -> DriftStatus {
        {
            let mut state = self.inner.state.lock();
            if enabled {
                state.manual_drift_at.get_or_insert_with(Instant::now);
            } else {
                state.manual_drift_at = None;
            }
        }
        self.drift_status()
    }

    /// Deploys a retrained model: bumps the minor version, clears drift and restarts the
    /// `drift_after` clock. Returns `(previous, new)` versions.
    pub fn retrain(&self) -> (ModelVersion, ModelVersion) {
        let (old, new) = {
            let mut state = self.inner.state.lock();
            let old = state.version;
            state.version = old.next();
            state.deployed_at = Instant::now();
            state.manual_drift_at = None;
            (old, state.version)
        };
        let m = &self.inner.metrics;
        m.model_info.remove(&version_label(old));
        m.model_info.get_or_create(&version_label(new)).set(1);
        // The old version's "latest confidence" is no longer meaningful.
        m.confidence.remove(&version_label(old));
        tracing::info!(%old, %new, "model retrained");
        (old, new)
    }

    fn begin(&self) -> (Rng, ModelVersion, Conditions) {
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let rng = Rng::for_stream(self.inner.opts.seed, seq);
        let state = self.inner.state.lock();
        let opts = &self.inner.opts;
        let cond = Conditions {
            severity: self.severity_at(&state, Instant::now()),
            error_rate: opts.error_rate,
            predict_latency_s: opts.predict_latency.as_secs_f64(),
            time_per_token_s: opts.time_per_token.as_secs_f64(),
        };
        (rng, state.version, cond)
    }

    /// The `user_id` label value, with `--bad-cardinality`: the caller's, else a random user.
    fn user_label(&self, rng: &mut Rng, given: Option<String>) -> String {
        given.unwrap_or_else(|| {
            format!(
                "user-{}",
                rng.range_u64(0, u64::from(self.inner.opts.user_ids.max(1)) - 1)
            )
        })
    }

    fn count_request(
        &self,
        version: ModelVersion,
        endpoint: Endpoint,
        status: u16,
        user: Option<String>,
    ) {
        let mut labels: LabelPairs = vec![
            ("model_version", version.to_string()),
            ("endpoint", endpoint.as_str().to_string()),
            ("status", status.to_string()),
        ];
        if let Some(user) = user.filter(|_| self.inner.opts.bad_cardinality) {
            labels.push(("user_id", user));
        }
        self.inner.metrics.requests.get_or_create(&labels).inc();
    }

    fn observe_latency(&self, version: ModelVersion, endpoint: Endpoint, latency: Duration) {
        let labels = vec![
            ("model_version", version.to_string()),
            ("endpoint", endpoint.as_str().to_string()),
        ];
        self.inner
            .metrics
            .latency
            .get_or_create(&labels)
            .observe(latency.as_secs_f64());
    }

    /// Serves `POST /predict` with a raw request body: parses it, waits the simulated
    /// inference time (tokio time), records the metrics, and returns the reply.
    pub async fn predict(&self, body: &[u8]) -> Reply {
        let (mut rng, version, cond) = self.begin();
        let req = match api::parse_predict(body) {
            Ok(r) => r,
            Err(msg) => {
                let user = self.user_label(&mut rng, api::best_effort_user_id(body));
                self.count_request(version, Endpoint::Predict, 400, Some(user));
                return Reply::error(400, msg);
            }
        };
        let user = self.user_label(&mut rng, req.user_id.clone());
        let outcome = simulate::predict(&mut rng, &cond, &req.features);
        let latency = match &outcome {
            PredictOutcome::Ok { latency, .. } | PredictOutcome::Failed { latency } => *latency,
        };
        tokio::time::sleep(latency).await;
        self.observe_latency(version, Endpoint::Predict, latency);
        match outcome {
            PredictOutcome::Failed { .. } => {
                self.count_request(version, Endpoint::Predict, 500, Some(user));
                Reply::error(500, "inference backend failed (simulated)")
            }
            PredictOutcome::Ok {
                class, confidence, ..
            } => {
                let m = &self.inner.metrics;
                self.count_request(version, Endpoint::Predict, 200, Some(user));
                m.confidence_score.observe(confidence);
                if self.version() == version {
                    m.confidence
                        .get_or_create(&version_label(version))
                        .set(confidence);
                }
                m.predicted_class
                    .get_or_create(&vec![
                        ("model_version", version.to_string()),
                        ("class", class.to_string()),
                    ])
                    .inc();
                Reply::ok(&PredictResponse {
                    label: class.to_string(),
                    confidence,
                    model_version: version.to_string(),
                })
            }
        }
    }

    /// Serves `POST /generate` with a raw request body (see [`DemoModel::predict`]).
    pub async fn generate(&self, body: &[u8]) -> Reply {
        let (mut rng, version, cond) = self.begin();
        let req = match api::parse_generate(body) {
            Ok(r) => r,
            Err(msg) => {
                let user = self.user_label(&mut rng, api::best_effort_user_id(body));
                self.count_request(version, Endpoint::Generate, 400, Some(user));
                return Reply::error(400, msg);
            }
        };
        let user = self.user_label(&mut rng, req.user_id.clone());
        match simulate::generate(&mut rng, &cond, req.max_tokens) {
            GenerateOutcome::Failed { latency } => {
                tokio::time::sleep(latency).await;
                self.observe_latency(version, Endpoint::Generate, latency);
                self.count_request(version, Endpoint::Generate, 500, Some(user));
                Reply::error(500, "generation backend failed (simulated)")
            }
            GenerateOutcome::Ok {
                tokens,
                time_per_token,
                latency,
                text,
            } => {
                tokio::time::sleep(latency).await;
                let m = &self.inner.metrics;
                self.observe_latency(version, Endpoint::Generate, latency);
                self.count_request(version, Endpoint::Generate, 200, Some(user));
                m.generated_tokens.observe(tokens as f64);
                m.time_per_output_token
                    .observe(time_per_token.as_secs_f64());
                Reply::ok(&GenerateResponse {
                    text,
                    tokens,
                    finish_reason: if tokens >= req.max_tokens {
                        "length"
                    } else {
                        "stop"
                    },
                    time_per_output_token_seconds: time_per_token.as_secs_f64(),
                    model_version: version.to_string(),
                })
            }
        }
    }

    /// Calls `endpoint` in-process with `body` (what the traffic generator does).
    pub async fn call(&self, endpoint: Endpoint, body: &[u8]) -> Reply {
        match endpoint {
            Endpoint::Predict => self.predict(body).await,
            Endpoint::Generate => self.generate(body).await,
        }
    }
}
