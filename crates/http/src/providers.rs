//! What the API needs from the rest of promlite, as small traits with plain
//! view structs. The binary implements them over the scraper, the rule
//! manager and the TSDB; an absent provider answers like a Prometheus with
//! nothing configured (empty lists, zero stats).
//!
//! Times are ms since the epoch, durations seconds as `f64`; the handlers
//! turn them into Prometheus's JSON (RFC 3339 strings, float seconds).

use std::collections::BTreeMap;

use promlite_model::{Labels, Matcher, Metadata};

/// Health of a scrape target or a rule: `"up"`/`"down"`/`"unknown"` for
/// targets, `"ok"`/`"err"`/`"unknown"` for rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Health {
    /// Last scrape/evaluation succeeded.
    Good,
    /// Last scrape/evaluation failed.
    Bad,
    /// Not run yet.
    #[default]
    Unknown,
}

/// A scrape target that is being scraped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActiveTarget {
    /// Labels before relabeling.
    pub discovered_labels: Labels,
    /// Labels after relabeling (the series' target labels).
    pub labels: Labels,
    /// The scrape config's `job_name`.
    pub scrape_pool: String,
    /// The URL scraped.
    pub scrape_url: String,
    /// The URL as reachable from outside (usually equal to `scrape_url`).
    pub global_url: String,
    /// Error of the last scrape, empty when it succeeded.
    pub last_error: String,
    /// Start of the last scrape (ms), `None` before the first.
    pub last_scrape_ms: Option<i64>,
    /// Duration of the last scrape, seconds.
    pub last_scrape_duration_s: f64,
    /// Health.
    pub health: Health,
    /// Scrape interval as written (`15s`).
    pub scrape_interval: String,
    /// Scrape timeout as written (`10s`).
    pub scrape_timeout: String,
}

/// A target dropped by relabeling.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DroppedTarget {
    /// Labels before relabeling.
    pub discovered_labels: Labels,
    /// The scrape config's `job_name`.
    pub scrape_pool: String,
}

/// Metadata one target reported for one metric family.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetMetadata {
    /// The target's labels.
    pub target: Labels,
    /// Metric family name.
    pub metric: String,
    /// Type, help and unit.
    pub metadata: Metadata,
}

/// Scrape targets and the metadata they expose.
pub trait TargetsProvider: Send + Sync {
    /// Targets being scraped.
    fn active(&self) -> Vec<ActiveTarget>;
    /// Targets dropped by relabeling.
    fn dropped(&self) -> Vec<DroppedTarget> {
        Vec::new()
    }
    /// Number of dropped targets per scrape pool.
    fn dropped_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for t in self.dropped() {
            *m.entry(t.scrape_pool).or_insert(0) += 1;
        }
        m
    }
    /// Metadata of every metric of every active target.
    fn metadata(&self) -> Vec<TargetMetadata>;
}

/// One firing or pending alert.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertView {
    /// Alert labels.
    pub labels: Labels,
    /// Annotations (templated).
    pub annotations: Labels,
    /// `"pending"` or `"firing"`.
    pub state: String,
    /// When the alert became active (ms).
    pub active_at_ms: Option<i64>,
    /// Since when it is kept firing after resolving (ms), if so.
    pub keep_firing_since_ms: Option<i64>,
    /// The expression's value.
    pub value: f64,
}

/// An alerting rule's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertingRuleView {
    /// `alert:` name.
    pub name: String,
    /// The expression.
    pub query: String,
    /// `for:`, seconds.
    pub duration_s: f64,
    /// `keep_firing_for:`, seconds.
    pub keep_firing_for_s: f64,
    /// Extra labels.
    pub labels: Labels,
    /// Annotations (untemplated).
    pub annotations: Labels,
    /// `"inactive"`, `"pending"` or `"firing"`.
    pub state: String,
    /// Active alerts.
    pub alerts: Vec<AlertView>,
    /// Health.
    pub health: Health,
    /// Last evaluation error, empty if none.
    pub last_error: String,
    /// Duration of the last evaluation, seconds.
    pub evaluation_time_s: f64,
    /// Start of the last evaluation (ms).
    pub last_evaluation_ms: Option<i64>,
}

/// A recording rule's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordingRuleView {
    /// `record:` name.
    pub name: String,
    /// The expression.
    pub query: String,
    /// Extra labels.
    pub labels: Labels,
    /// Health.
    pub health: Health,
    /// Last evaluation error, empty if none.
    pub last_error: String,
    /// Duration of the last evaluation, seconds.
    pub evaluation_time_s: f64,
    /// Start of the last evaluation (ms).
    pub last_evaluation_ms: Option<i64>,
}

/// A rule of either kind.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleView {
    /// `alert:` rule.
    Alerting(AlertingRuleView),
    /// `record:` rule.
    Recording(RecordingRuleView),
}

impl RuleView {
    /// The rule's name.
    pub fn name(&self) -> &str {
        match self {
            RuleView::Alerting(r) => &r.name,
            RuleView::Recording(r) => &r.name,
        }
    }
    /// The rule's extra labels.
    pub fn labels(&self) -> &Labels {
        match self {
            RuleView::Alerting(r) => &r.labels,
            RuleView::Recording(r) => &r.labels,
        }
    }
}

/// A rule group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleGroupView {
    /// Group name.
    pub name: String,
    /// The rule file it came from.
    pub file: String,
    /// Evaluation interval, seconds.
    pub interval_s: f64,
    /// `limit:` (0 = none).
    pub limit: u64,
    /// Rules in file order.
    pub rules: Vec<RuleView>,
    /// Duration of the last group evaluation, seconds.
    pub evaluation_time_s: f64,
    /// Start of the last group evaluation (ms).
    pub last_evaluation_ms: Option<i64>,
}

/// Recording and alerting rules.
pub trait RulesProvider: Send + Sync {
    /// Every rule group, in configuration order.
    fn groups(&self) -> Vec<RuleGroupView>;
    /// Every active alert (by default: collected from the alerting rules).
    fn alerts(&self) -> Vec<AlertView> {
        let mut out = Vec::new();
        for g in self.groups() {
            for r in g.rules {
                if let RuleView::Alerting(a) = r {
                    out.extend(a.alerts);
                }
            }
        }
        out
    }
}

/// Alertmanagers alerts are sent to.
pub trait AlertmanagersProvider: Send + Sync {
    /// URLs of the Alertmanagers in use (`…/api/v2/alerts`).
    fn active(&self) -> Vec<String>;
    /// URLs dropped by relabeling.
    fn dropped(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Head block statistics for `/api/v1/status/tsdb`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeadStats {
    /// Series in the head.
    pub num_series: u64,
    /// Distinct label pairs.
    pub num_label_pairs: u64,
    /// Chunks in the head.
    pub chunk_count: u64,
    /// Earliest sample (ms).
    pub min_time: i64,
    /// Latest sample (ms).
    pub max_time: i64,
}

/// The cardinality statistics of `/api/v1/status/tsdb`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TsdbStatus {
    /// Head statistics.
    pub head_stats: HeadStats,
    /// Top metric names by series count.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// Top label names by number of values.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// Top label names by bytes of values.
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// Top `name=value` pairs by series count.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

/// Progress of the WAL replay at startup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalReplayStatus {
    /// First segment.
    pub min: i64,
    /// Last segment.
    pub max: i64,
    /// Segment being replayed.
    pub current: i64,
}

/// Storage statistics.
pub trait TsdbStatusProvider: Send + Sync {
    /// Statistics with at most `limit` entries per top list.
    fn status(&self, limit: usize) -> TsdbStatus;
    /// WAL replay progress.
    fn wal_replay(&self) -> WalReplayStatus {
        WalReplayStatus::default()
    }
}

/// `/api/v1/status/runtimeinfo`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuntimeInfo {
    /// Process start (ms).
    pub start_time_ms: i64,
    /// Working directory.
    pub cwd: String,
    /// Whether the last configuration reload succeeded.
    pub reload_config_success: bool,
    /// When the configuration was last loaded (ms).
    pub last_config_time_ms: i64,
    /// Corrupted blocks or WAL segments found.
    pub corruption_count: u64,
    /// Threads (reported as `goroutineCount`).
    pub thread_count: u64,
    /// Cores usable (reported as `GOMAXPROCS`).
    pub max_procs: u64,
    /// Retention as written (`15d`).
    pub storage_retention: String,
}

/// Configuration, flags and runtime facts.
pub trait ServerInfoProvider: Send + Sync {
    /// The loaded configuration file as YAML.
    fn config_yaml(&self) -> String;
    /// Command-line flags, name → value (without leading dashes).
    fn flags(&self) -> BTreeMap<String, String>;
    /// Runtime information.
    fn runtime_info(&self) -> RuntimeInfo;
}

/// `/-/reload` and `/-/quit`.
pub trait Lifecycle: Send + Sync {
    /// Reloads the configuration; the error text is reported to the caller.
    fn reload(&self) -> Result<(), String>;
    /// Starts a graceful shutdown.
    fn quit(&self);
}

/// The TSDB admin operations.
pub trait AdminProvider: Send + Sync {
    /// Deletes samples in `[start_ms, end_ms]` of series matching any of the sets.
    fn delete_series(
        &self,
        matcher_sets: &[Vec<Matcher>],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<(), String>;
    /// Removes deleted data from disk.
    fn clean_tombstones(&self) -> Result<(), String>;
    /// Writes a snapshot and returns its directory name.
    fn snapshot(&self, skip_head: bool) -> Result<String, String>;
}

/// Another component's metrics for `/metrics`.
pub trait MetricsSource: Send + Sync {
    /// Appends metric families in the Prometheus text format.
    fn write_metrics(&self, out: &mut String);
}
