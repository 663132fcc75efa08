//! The `global` and `alerting` sections.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_norway::Value;

use super::http::{Authorization, BasicAuth, TlsConfig};
use super::scrape_config::{FileSdConfig, StaticConfig};
use super::units::{de_duration, de_size};
use super::webhook::WebhookConfig;
use crate::relabel::RelabelConfig;

/// `global`: defaults for every scrape config, plus external labels.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default = "GlobalConfig::unresolved")]
pub struct GlobalConfig {
    /// Default scrape interval (1m).
    #[serde(deserialize_with = "de_duration")]
    pub scrape_interval: Duration,
    /// Default scrape timeout (10s, capped at the interval).
    #[serde(deserialize_with = "de_duration")]
    pub scrape_timeout: Duration,
    /// Rule evaluation interval (1m).
    #[serde(deserialize_with = "de_duration")]
    pub evaluation_interval: Duration,
    /// Rule evaluation offset into the past (0s).
    #[serde(deserialize_with = "de_duration")]
    pub rule_query_offset: Duration,
    /// Labels added when talking to external systems.
    pub external_labels: BTreeMap<String, String>,
    /// Default `body_size_limit` in bytes (0 = promlite's safe default).
    #[serde(deserialize_with = "de_size")]
    pub body_size_limit: u64,
    /// Default `sample_limit`.
    pub sample_limit: u64,
    /// Default `label_limit`.
    pub label_limit: u64,
    /// Default `label_name_length_limit`.
    pub label_name_length_limit: u64,
    /// Default `label_value_length_limit`.
    pub label_value_length_limit: u64,
    /// Default `target_limit`.
    pub target_limit: u64,
    /// Accepted for compatibility, ignored.
    pub keep_dropped_targets: Option<u64>,
    /// Accepted for compatibility, ignored.
    pub query_log_file: Option<String>,
    /// Accepted for compatibility, ignored.
    pub scrape_failure_log_file: Option<String>,
    /// Accepted for compatibility, ignored.
    pub scrape_protocols: Option<Vec<String>>,
    /// Accepted for compatibility, ignored.
    pub metric_name_validation_scheme: Option<String>,
    /// Accepted for compatibility, ignored.
    pub metric_name_escaping_scheme: Option<String>,
    /// Accepted for compatibility, ignored.
    pub always_scrape_classic_histograms: Option<bool>,
    /// Accepted for compatibility, ignored.
    pub convert_classic_histograms_to_nhcb: Option<bool>,
}

impl GlobalConfig {
    /// Defaults while parsing: the timeout stays zero so that it can become
    /// `min(10s, scrape_interval)` when only the interval is set.
    fn unresolved() -> Self {
        GlobalConfig {
            scrape_timeout: Duration::ZERO,
            ..GlobalConfig::default()
        }
    }
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            scrape_interval: Duration::from_secs(60),
            scrape_timeout: Duration::from_secs(10),
            evaluation_interval: Duration::from_secs(60),
            rule_query_offset: Duration::ZERO,
            external_labels: BTreeMap::new(),
            body_size_limit: 0,
            sample_limit: 0,
            label_limit: 0,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            target_limit: 0,
            keep_dropped_targets: None,
            query_log_file: None,
            scrape_failure_log_file: None,
            scrape_protocols: None,
            metric_name_validation_scheme: None,
            metric_name_escaping_scheme: None,
            always_scrape_classic_histograms: None,
            convert_classic_histograms_to_nhcb: None,
        }
    }
}

/// `alerting`: where alerts go.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// Relabeling applied to alerts before sending.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// Alertmanagers to send to.
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// promlite extension: plain webhook receivers that get Alertmanager's
    /// webhook payload.
    pub webhooks: Vec<WebhookConfig>,
}

/// One `alertmanagers` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertmanagerConfig {
    /// `http` or `https`.
    pub scheme: String,
    /// Prefix of the API path (`/` by default).
    pub path_prefix: String,
    /// Timeout for sending alerts (10s).
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// Alertmanager API version (`v2`).
    pub api_version: String,
    /// Static Alertmanager addresses.
    pub static_configs: Vec<StaticConfig>,
    /// File-discovered Alertmanagers.
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Relabeling of discovered Alertmanagers.
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabeling of the alerts sent to these Alertmanagers.
    pub alert_relabel_configs: Vec<RelabelConfig>,
    /// Basic auth.
    pub basic_auth: Option<BasicAuth>,
    /// Authorization header.
    pub authorization: Option<Authorization>,
    /// TLS settings.
    pub tls_config: TlsConfig,
    /// Follow redirects (accepted).
    pub follow_redirects: Option<bool>,
    /// Accepted for compatibility, ignored.
    pub enable_http2: Option<bool>,
    /// Accepted for compatibility, ignored.
    pub proxy_url: Option<String>,
    /// Not supported: rejected by validation when set.
    pub oauth2: Option<Value>,
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        AlertmanagerConfig {
            scheme: "http".into(),
            path_prefix: "/".into(),
            timeout: Duration::from_secs(10),
            api_version: "v2".into(),
            static_configs: Vec::new(),
            file_sd_configs: Vec::new(),
            relabel_configs: Vec::new(),
            alert_relabel_configs: Vec::new(),
            basic_auth: None,
            authorization: None,
            tls_config: TlsConfig::default(),
            follow_redirects: None,
            enable_http2: None,
            proxy_url: None,
            oauth2: None,
        }
    }
}
