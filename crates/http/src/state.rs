//! [`ApiState`]: everything the handlers share.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use promlite_model::{Clock, Queryable, SystemClock};
use promlite_promql::Engine;
use tokio::sync::Semaphore;

use crate::providers::*;
use crate::self_metrics::HttpMetrics;

/// Switches and limits of the API (Prometheus's `--web.*` / `--query.*` flags).
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// `--web.enable-admin-api`.
    pub enable_admin: bool,
    /// `--web.enable-lifecycle`.
    pub enable_lifecycle: bool,
    /// `--query.max-concurrency` (default 20).
    pub max_concurrency: usize,
    /// `--query.timeout` (default 2 m); a request's `timeout` can only lower it.
    pub query_timeout: Duration,
    /// How far back `/federate` looks for the latest sample (default 5 m).
    pub lookback_delta_ms: i64,
    /// `--query.max-samples` has no API effect; kept in the engine options.
    /// Maximum points per series of a range query (Prometheus: 11,000).
    pub max_points_per_series: i64,
    /// `--web.cors.origin`: a regex (fully anchored) of origins allowed to
    /// read the API from a browser (default `.*`, answered with `*`).
    pub cors_origin: String,
    /// `global.external_labels`, added by `/federate` to series lacking them.
    pub external_labels: promlite_model::Labels,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            enable_admin: false,
            enable_lifecycle: false,
            max_concurrency: 20,
            query_timeout: Duration::from_secs(120),
            lookback_delta_ms: 5 * 60 * 1000,
            max_points_per_series: 11_000,
            cors_origin: ".*".into(),
            external_labels: promlite_model::Labels::empty(),
        }
    }
}

/// `/api/v1/status/buildinfo`. The `version` is the Prometheus API level
/// promlite answers like, so Grafana enables everything a Prometheus 3 has;
/// promlite's own version goes in `revision`.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildInfo {
    /// Semver (default `3.0.0`).
    pub version: String,
    /// Default `promlite-<crate version>`.
    pub revision: String,
    /// Default `main`.
    pub branch: String,
    /// Default `promlite`.
    pub build_user: String,
    /// Default empty.
    pub build_date: String,
    /// Default `rust`.
    pub go_version: String,
}

impl Default for BuildInfo {
    fn default() -> Self {
        BuildInfo {
            version: "3.0.0".into(),
            revision: concat!("promlite-", env!("CARGO_PKG_VERSION")).into(),
            branch: "main".into(),
            build_user: "promlite".into(),
            build_date: String::new(),
            go_version: "rust".into(),
        }
    }
}

/// Shared state of the router. Cheap to clone: it is cloned for every
/// request (by each middleware and the handler), so every field is a
/// handle, a `Copy` value or an `Arc`.
#[derive(Clone)]
pub struct ApiState {
    /// The data.
    pub storage: Arc<dyn Queryable>,
    /// The PromQL engine.
    pub engine: Arc<Engine>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Flags.
    pub options: Arc<ApiOptions>,
    /// Build information.
    pub build_info: Arc<BuildInfo>,
    /// Scrape targets and metadata.
    pub targets: Option<Arc<dyn TargetsProvider>>,
    /// Rules and alerts.
    pub rules: Option<Arc<dyn RulesProvider>>,
    /// Alertmanagers.
    pub alertmanagers: Option<Arc<dyn AlertmanagersProvider>>,
    /// TSDB statistics.
    pub tsdb: Option<Arc<dyn TsdbStatusProvider>>,
    /// Config, flags, runtime info.
    pub server_info: Option<Arc<dyn ServerInfoProvider>>,
    /// Reload and quit.
    pub lifecycle: Option<Arc<dyn Lifecycle>>,
    /// Admin operations.
    pub admin: Option<Arc<dyn AdminProvider>>,
    /// Extra metrics for `/metrics`.
    pub metrics_sources: Arc<Vec<Arc<dyn MetricsSource>>>,
    /// The API's own metrics.
    pub metrics: Arc<HttpMetrics>,
    /// Readiness: until set, `/-/ready` and the API answer 503.
    pub ready: Arc<AtomicBool>,
    pub(crate) query_slots: Arc<Semaphore>,
    /// Recent queries' evaluation costs: which run inline.
    pub(crate) query_costs: Arc<crate::inline::CostMemo>,
}

impl ApiState {
    /// State over `storage` with `engine`, the system clock, default options,
    /// no providers, and ready.
    pub fn new(storage: Arc<dyn Queryable>, engine: Engine) -> ApiState {
        let options = ApiOptions::default();
        ApiState {
            storage,
            engine: Arc::new(engine),
            clock: Arc::new(SystemClock),
            query_slots: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            query_costs: Arc::default(),
            options: Arc::new(options),
            build_info: Arc::default(),
            targets: None,
            rules: None,
            alertmanagers: None,
            tsdb: None,
            server_info: None,
            lifecycle: None,
            admin: None,
            metrics_sources: Arc::default(),
            metrics: Arc::new(HttpMetrics::default()),
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Replaces the options (and resizes the query concurrency limit).
    pub fn with_options(mut self, options: ApiOptions) -> Self {
        self.query_slots = Arc::new(Semaphore::new(options.max_concurrency.max(1)));
        self.options = Arc::new(options);
        self
    }

    /// Uses `clock` for "now".
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the targets provider.
    pub fn with_targets(mut self, p: Arc<dyn TargetsProvider>) -> Self {
        self.targets = Some(p);
        self
    }

    /// Sets the rules provider.
    pub fn with_rules(mut self, p: Arc<dyn RulesProvider>) -> Self {
        self.rules = Some(p);
        self
    }

    /// Sets the Alertmanagers provider.
    pub fn with_alertmanagers(mut self, p: Arc<dyn AlertmanagersProvider>) -> Self {
        self.alertmanagers = Some(p);
        self
    }

    /// Sets the TSDB status provider.
    pub fn with_tsdb(mut self, p: Arc<dyn TsdbStatusProvider>) -> Self {
        self.tsdb = Some(p);
        self
    }

    /// Sets the config/flags/runtime provider.
    pub fn with_server_info(mut self, p: Arc<dyn ServerInfoProvider>) -> Self {
        self.server_info = Some(p);
        self
    }

    /// Sets the lifecycle hooks (effective only with `enable_lifecycle`).
    pub fn with_lifecycle(mut self, p: Arc<dyn Lifecycle>) -> Self {
        self.lifecycle = Some(p);
        self
    }

    /// Sets the admin provider (effective only with `enable_admin`).
    pub fn with_admin(mut self, p: Arc<dyn AdminProvider>) -> Self {
        self.admin = Some(p);
        self
    }

    /// Adds a metrics source to `/metrics`.
    pub fn with_metrics_source(mut self, s: Arc<dyn MetricsSource>) -> Self {
        Arc::make_mut(&mut self.metrics_sources).push(s);
        self
    }

    /// Marks the server ready or not.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Now, in ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
