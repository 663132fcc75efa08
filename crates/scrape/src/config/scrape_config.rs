//! `scrape_configs` entries and their service-discovery sections.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_norway::Value;

use super::http::{Authorization, BasicAuth, TlsConfig};
use super::units::{de_duration, de_size};
use crate::relabel::RelabelConfig;

/// One `scrape_config`: a job and how to scrape its targets.
///
/// Durations and limits left at zero in the file inherit the `global` values
/// when the config is loaded, so after [`super::Config::from_str`] every
/// field holds the effective value.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrapeConfig {
    /// Job name, unique within the file; the `job` label of its targets.
    pub job_name: String,
    /// Interval between scrapes.
    #[serde(deserialize_with = "de_duration")]
    pub scrape_interval: Duration,
    /// Per-scrape timeout; at most `scrape_interval`.
    #[serde(deserialize_with = "de_duration")]
    pub scrape_timeout: Duration,
    /// HTTP path, `/metrics` by default.
    pub metrics_path: String,
    /// `http` or `https`.
    pub scheme: String,
    /// URL query parameters.
    pub params: BTreeMap<String, Vec<String>>,
    /// Keep the target's own labels on conflict instead of renaming them to `exported_*`.
    pub honor_labels: bool,
    /// Use the timestamps the target exposes.
    pub honor_timestamps: bool,
    /// Write staleness markers for series with explicit timestamps too.
    pub track_timestamps_staleness: bool,
    /// Ask for gzip-compressed responses.
    pub enable_compression: bool,
    /// Statically configured targets.
    pub static_configs: Vec<StaticConfig>,
    /// Targets read from files.
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Target relabeling.
    pub relabel_configs: Vec<RelabelConfig>,
    /// Sample relabeling, applied to every scraped sample.
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Basic auth for scrape requests.
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header for scrape requests.
    pub authorization: Option<Authorization>,
    /// TLS settings.
    pub tls_config: TlsConfig,
    /// Max samples per scrape after metric relabeling (0 = none).
    pub sample_limit: u64,
    /// Max labels per sample (0 = none).
    pub label_limit: u64,
    /// Max label name length (0 = none).
    pub label_name_length_limit: u64,
    /// Max label value length (0 = none).
    pub label_value_length_limit: u64,
    /// Max targets after relabeling (0 = none).
    pub target_limit: u64,
    /// Max uncompressed body size in bytes. 0 in the file means "inherit /
    /// default": promlite applies [`super::DEFAULT_BODY_SIZE_LIMIT`] rather
    /// than Prometheus's "unlimited".
    #[serde(deserialize_with = "de_size")]
    pub body_size_limit: u64,
    /// Follow HTTP redirects.
    pub follow_redirects: bool,
    /// Accepted for compatibility, ignored.
    pub enable_http2: Option<bool>,
    /// Accepted for compatibility, ignored.
    pub scrape_protocols: Option<Vec<String>>,
    /// Accepted for compatibility, ignored.
    pub fallback_scrape_protocol: Option<String>,
    /// Accepted for compatibility, ignored (no native histograms yet).
    pub scrape_classic_histograms: Option<bool>,
    /// Accepted for compatibility, ignored.
    pub always_scrape_classic_histograms: Option<bool>,
    /// Accepted for compatibility, ignored.
    pub native_histogram_bucket_limit: Option<u64>,
    /// Accepted for compatibility, ignored.
    pub native_histogram_min_bucket_factor: Option<f64>,
    /// Accepted for compatibility, ignored.
    pub convert_classic_histograms_to_nhcb: Option<bool>,
    /// Accepted for compatibility, ignored.
    pub keep_dropped_targets: Option<u64>,
    /// Accepted for compatibility, ignored.
    pub metric_name_validation_scheme: Option<String>,
    /// Accepted for compatibility, ignored.
    pub metric_name_escaping_scheme: Option<String>,
    /// Accepted for compatibility, ignored.
    pub scrape_failure_log_file: Option<String>,
    /// Accepted for compatibility, ignored.
    pub proxy_url: Option<String>,
    /// Accepted for compatibility, ignored.
    pub no_proxy: Option<String>,
    /// Accepted for compatibility, ignored.
    pub proxy_from_environment: Option<bool>,
    /// Accepted for compatibility, ignored.
    pub proxy_connect_header: Option<Value>,
    /// Not supported: rejected by validation when set.
    pub oauth2: Option<Value>,
}

impl Default for ScrapeConfig {
    fn default() -> Self {
        ScrapeConfig {
            job_name: String::new(),
            scrape_interval: Duration::ZERO,
            scrape_timeout: Duration::ZERO,
            metrics_path: "/metrics".into(),
            scheme: "http".into(),
            params: BTreeMap::new(),
            honor_labels: false,
            honor_timestamps: true,
            track_timestamps_staleness: false,
            enable_compression: true,
            static_configs: Vec::new(),
            file_sd_configs: Vec::new(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            basic_auth: None,
            authorization: None,
            tls_config: TlsConfig::default(),
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            target_limit: 0,
            body_size_limit: 0,
            follow_redirects: true,
            enable_http2: None,
            scrape_protocols: None,
            fallback_scrape_protocol: None,
            scrape_classic_histograms: None,
            always_scrape_classic_histograms: None,
            native_histogram_bucket_limit: None,
            native_histogram_min_bucket_factor: None,
            convert_classic_histograms_to_nhcb: None,
            keep_dropped_targets: None,
            metric_name_validation_scheme: None,
            metric_name_escaping_scheme: None,
            scrape_failure_log_file: None,
            proxy_url: None,
            no_proxy: None,
            proxy_from_environment: None,
            proxy_connect_header: None,
            oauth2: None,
        }
    }
}

/// `static_configs` entry: targets plus labels for all of them.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaticConfig {
    /// `host:port` addresses.
    pub targets: Vec<String>,
    /// Labels attached to every target of the group.
    pub labels: BTreeMap<String, String>,
}

/// `file_sd_configs` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileSdConfig {
    /// File globs (`*.json`, `*.yml`, `*.yaml`); only the last path element may be a pattern.
    pub files: Vec<String>,
    /// How often to re-read the files even without a change (default 5m).
    #[serde(deserialize_with = "de_duration")]
    pub refresh_interval: Duration,
}

impl Default for FileSdConfig {
    fn default() -> Self {
        FileSdConfig {
            files: Vec::new(),
            refresh_interval: Duration::from_secs(300),
        }
    }
}
