//! Targets: turning discovered label sets into scrape targets (target
//! relabeling, `instance` defaulting, URL building) and their live state.

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::RwLock;
use promlite_model::{Labels, LabelsBuilder, Metadata};

use crate::config::{duration_from_str, format_dur, ScrapeConfig};
use crate::relabel;

/// `__address__`.
pub const ADDRESS_LABEL: &str = "__address__";
/// `__scheme__`.
pub const SCHEME_LABEL: &str = "__scheme__";
/// `__metrics_path__`.
pub const METRICS_PATH_LABEL: &str = "__metrics_path__";
/// `__scrape_interval__`.
pub const SCRAPE_INTERVAL_LABEL: &str = "__scrape_interval__";
/// `__scrape_timeout__`.
pub const SCRAPE_TIMEOUT_LABEL: &str = "__scrape_timeout__";
/// Prefix of `__param_<name>`.
pub const PARAM_LABEL_PREFIX: &str = "__param_";

/// A target group from service discovery: targets (each a label set that
/// holds at least `__address__`) plus labels common to all of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetGroup {
    /// Where the group came from (a file path, `static/0`, …).
    pub source: String,
    /// Per-target labels.
    pub targets: Vec<Labels>,
    /// Labels shared by the group (per-target labels win).
    pub labels: Labels,
}

/// Scrape health, as `/api/v1/targets` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Health {
    /// Not scraped yet.
    #[default]
    Unknown,
    /// Last scrape succeeded.
    Up,
    /// Last scrape failed.
    Down,
}

impl Health {
    /// `up`, `down` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }
}

/// A target ready to be scraped.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// The job (scrape pool) name.
    pub job: String,
    /// Labels before relabeling (as discovered, plus job/scheme/path/… defaults).
    pub discovered_labels: Labels,
    /// Labels after relabeling, without `__`-prefixed labels: attached to every sample.
    pub labels: Labels,
    /// Full URL scraped.
    pub scrape_url: String,
    /// Scrape interval (possibly overridden through `__scrape_interval__`).
    pub interval: Duration,
    /// Scrape timeout (possibly overridden through `__scrape_timeout__`).
    pub timeout: Duration,
}

impl Target {
    /// A stable identity: labels and URL (used for de-duplication and the start offset).
    pub fn hash(&self) -> u64 {
        let mut b = self.labels.builder();
        b.set("\u{0}url", self.scrape_url.clone());
        b.build().stable_hash()
    }
}

/// The outcome of target relabeling for one discovered label set.
#[derive(Clone, Debug, PartialEq)]
pub enum Populated {
    /// A target to scrape.
    Target(Target),
    /// Dropped by relabeling; holds the discovered labels.
    Dropped(Labels),
}

/// Builds a target from discovered labels, like Prometheus's `PopulateLabels`.
/// Errors describe a target that cannot be scraped (no address, bad
/// interval override, …).
pub fn populate(
    group_labels: &Labels,
    target_labels: &Labels,
    cfg: &ScrapeConfig,
) -> Result<Populated, String> {
    let mut b = group_labels.builder();
    for l in target_labels.iter() {
        b.set(l.name, l.value);
    }
    let defaults = [
        ("job", cfg.job_name.clone()),
        (SCRAPE_INTERVAL_LABEL, format_dur(cfg.scrape_interval)),
        (SCRAPE_TIMEOUT_LABEL, format_dur(cfg.scrape_timeout)),
        (METRICS_PATH_LABEL, cfg.metrics_path.clone()),
        (SCHEME_LABEL, cfg.scheme.clone()),
    ];
    for (n, v) in defaults {
        if b.get(n).is_none() {
            b.set(n, v);
        }
    }
    for (k, v) in &cfg.params {
        let name = format!("{PARAM_LABEL_PREFIX}{k}");
        if let Some(first) = v.first() {
            if b.get(&name).is_none() {
                b.set(name, first.clone());
            }
        }
    }
    let discovered = b.build();
    let Some(relabeled) = relabel::process(&discovered, &cfg.relabel_configs) else {
        return Ok(Populated::Dropped(discovered));
    };
    let mut b: LabelsBuilder = relabeled.builder();
    let address = match b.get(ADDRESS_LABEL) {
        Some(a) => a.to_string(),
        None => return Err("no address".into()),
    };
    if address.contains('/') || address.chars().any(char::is_whitespace) {
        return Err(format!("invalid (non-empty) address: {address:?}"));
    }
    let interval = parse_override(&b, SCRAPE_INTERVAL_LABEL, cfg.scrape_interval)?;
    let timeout = parse_override(&b, SCRAPE_TIMEOUT_LABEL, cfg.scrape_timeout)?;
    if interval.is_zero() {
        return Err("scrape interval cannot be 0".into());
    }
    if timeout.is_zero() {
        return Err("scrape timeout cannot be 0".into());
    }
    if timeout > interval {
        return Err(format!(
            "scrape timeout cannot be greater than scrape interval ({:?} > {:?})",
            format_dur(timeout),
            format_dur(interval)
        ));
    }
    let scheme = b.get(SCHEME_LABEL).unwrap_or("http").to_string();
    if scheme != "http" && scheme != "https" {
        return Err(format!("invalid scheme {scheme:?}"));
    }
    let path = b.get(METRICS_PATH_LABEL).unwrap_or("/metrics").to_string();
    let url = build_url(&scheme, &address, &path, &b, &cfg.params);
    if b.get("instance").is_none() {
        b.set("instance", address.clone());
    }
    b.retain(|l| !l.name.starts_with("__"));
    Ok(Populated::Target(Target {
        job: cfg.job_name.clone(),
        discovered_labels: discovered,
        labels: b.build(),
        scrape_url: url,
        interval,
        timeout,
    }))
}

fn parse_override(b: &LabelsBuilder, name: &str, default: Duration) -> Result<Duration, String> {
    match b.get(name) {
        None => Ok(default),
        Some(v) => duration_from_str(v).ok_or_else(|| format!("error parsing {name} label {v:?}")),
    }
}

fn build_url(
    scheme: &str,
    address: &str,
    path: &str,
    b: &LabelsBuilder,
    params: &BTreeMap<String, Vec<String>>,
) -> String {
    let mut query: BTreeMap<String, Vec<String>> = params.clone();
    // `__param_<name>` overrides the first value of that parameter.
    let built = b.build();
    for l in built.iter() {
        if let Some(name) = l.name.strip_prefix(PARAM_LABEL_PREFIX) {
            let vals = query.entry(name.to_string()).or_default();
            if vals.is_empty() {
                vals.push(l.value.to_string());
            } else {
                vals[0] = l.value.to_string();
            }
        }
    }
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let mut url = format!("{scheme}://{address}{path}");
    let mut first = !path.contains('?');
    for (k, vs) in &query {
        for v in vs {
            url.push(if first { '?' } else { '&' });
            first = false;
            url.push_str(&encode(k));
            url.push('=');
            url.push_str(&encode(v));
        }
    }
    url
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Mutable per-target state, updated by the scrape loop after each scrape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetHealth {
    /// Health after the last scrape.
    pub health: Health,
    /// Timestamp (ms) of the last scrape; None before the first.
    pub last_scrape_ms: Option<i64>,
    /// Wall time the last scrape took.
    pub last_scrape_duration: Duration,
    /// Error of the last scrape ("" when it succeeded).
    pub last_error: String,
    /// Samples appended by the last scrape (after relabeling).
    pub last_samples: u64,
    /// Cumulative counters since the target started.
    pub totals: ScrapeCounters,
}

/// Cumulative scrape counters (Prometheus's `prometheus_target_*_total`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScrapeCounters {
    /// Scrapes attempted.
    pub scrapes: u64,
    /// Scrapes that failed.
    pub failed: u64,
    /// Scrapes failed by `sample_limit`.
    pub exceeded_sample_limit: u64,
    /// Scrapes failed by a label limit.
    pub exceeded_label_limits: u64,
    /// Scrapes failed by `body_size_limit`.
    pub exceeded_body_size_limit: u64,
    /// Samples rejected as out of order.
    pub out_of_order: u64,
    /// Samples rejected as duplicates.
    pub duplicates: u64,
    /// Samples rejected as out of bounds.
    pub out_of_bounds: u64,
}

impl ScrapeCounters {
    /// Field-wise sum.
    pub fn add(&mut self, o: &ScrapeCounters) {
        self.scrapes += o.scrapes;
        self.failed += o.failed;
        self.exceeded_sample_limit += o.exceeded_sample_limit;
        self.exceeded_label_limits += o.exceeded_label_limits;
        self.exceeded_body_size_limit += o.exceeded_body_size_limit;
        self.out_of_order += o.out_of_order;
        self.duplicates += o.duplicates;
        self.out_of_bounds += o.out_of_bounds;
    }
}

/// A target plus its live state and metadata, shared between the scrape
/// loop and the manager's readers.
#[derive(Debug)]
pub struct TargetShared {
    /// The target.
    pub target: Target,
    /// Scrape state.
    pub state: RwLock<TargetHealth>,
    /// Metadata per metric family from the last successful scrape.
    pub metadata: RwLock<BTreeMap<String, Metadata>>,
    /// Manager-wide counters the loop adds each scrape to.
    pub metrics: std::sync::Arc<crate::metrics::ScrapeMetrics>,
}

impl TargetShared {
    /// Wraps a target with empty state (counting into its own
    /// [`crate::metrics::ScrapeMetrics`]; see [`Self::with_metrics`]).
    pub fn new(target: Target) -> TargetShared {
        TargetShared {
            target,
            state: RwLock::new(TargetHealth::default()),
            metadata: RwLock::new(BTreeMap::new()),
            metrics: Default::default(),
        }
    }

    /// Counts this target's scrapes into `metrics` (shared by a manager).
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::metrics::ScrapeMetrics>) -> Self {
        self.metrics = metrics;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use promlite_model::labels;

    fn cfg(yaml: &str) -> ScrapeConfig {
        Config::from_str(yaml).unwrap().scrape_configs.remove(0)
    }

    fn target(p: Populated) -> Target {
        match p {
            Populated::Target(t) => t,
            Populated::Dropped(l) => panic!("dropped: {l}"),
        }
    }

    #[test]
    fn defaults_and_instance() {
        let c =
            cfg("scrape_configs: [{job_name: j, scrape_interval: 15s, params: {module: [a, b]}}]");
        let t = target(
            populate(
                &labels!("env" => "prod"),
                &labels!("__address__" => "h:9100"),
                &c,
            )
            .unwrap(),
        );
        assert_eq!(
            t.labels,
            labels!("env" => "prod", "instance" => "h:9100", "job" => "j")
        );
        assert_eq!(t.discovered_labels.get("__scrape_interval__"), Some("15s"));
        assert_eq!(t.discovered_labels.get("__scrape_timeout__"), Some("10s"));
        assert_eq!(t.discovered_labels.get("__param_module"), Some("a"));
        assert_eq!(t.scrape_url, "http://h:9100/metrics?module=a&module=b");
        assert_eq!(t.interval, Duration::from_secs(15));
    }

    #[test]
    fn relabeling_overrides_everything() {
        let c = cfg(r#"
scrape_configs:
  - job_name: j
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {target_label: __address__, replacement: 'exporter:9115'}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __scrape_interval__, replacement: 30s}
      - {target_label: __scheme__, replacement: https}
      - {target_label: __metrics_path__, replacement: /probe}
"#);
        let t = target(
            populate(
                &Labels::empty(),
                &labels!("__address__" => "example.com"),
                &c,
            )
            .unwrap(),
        );
        assert_eq!(
            t.scrape_url,
            "https://exporter:9115/probe?target=example.com"
        );
        assert_eq!(t.labels, labels!("instance" => "example.com", "job" => "j"));
        assert_eq!(t.interval, Duration::from_secs(30));
    }

    #[test]
    fn dropped_and_errors() {
        let c = cfg("scrape_configs: [{job_name: j, relabel_configs: [{source_labels: [__address__], regex: 'x.*', action: drop}]}]");
        assert!(matches!(
            populate(&Labels::empty(), &labels!("__address__" => "xy:1"), &c),
            Ok(Populated::Dropped(_))
        ));
        assert!(populate(&Labels::empty(), &labels!("a" => "b"), &c)
            .unwrap_err()
            .contains("no address"));
        let c = cfg("scrape_configs: [{job_name: j, scrape_interval: 10s, relabel_configs: [{target_label: __scrape_timeout__, replacement: 20s}]}]");
        assert!(
            populate(&Labels::empty(), &labels!("__address__" => "h:1"), &c)
                .unwrap_err()
                .contains("greater than")
        );
    }

    #[test]
    fn params_are_escaped() {
        let c = cfg("scrape_configs: [{job_name: j, params: {'q': ['a b&c']}}]");
        let t = target(populate(&Labels::empty(), &labels!("__address__" => "h:1"), &c).unwrap());
        assert_eq!(t.scrape_url, "http://h:1/metrics?q=a%20b%26c");
    }
}
