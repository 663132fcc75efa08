//! The `alerting:` section of prometheus.yml (Prometheus's YAML shape) plus
//! promlite's plain `webhooks:` receivers.

use std::time::Duration;

use promlite_model::duration::parse_duration;
use serde::Deserialize;

/// `alerting:` of prometheus.yml.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct AlertingConfig {
    /// `alertmanagers:`
    #[serde(default)]
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// promlite extension: plain webhook receivers (Alertmanager webhook payload).
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
}

impl AlertingConfig {
    /// Parses the value of the `alerting:` key.
    pub fn from_yaml_value(v: &serde_norway::Value) -> Result<AlertingConfig, String> {
        serde_norway::from_value(v.clone()).map_err(|e| format!("alerting: {e}"))
    }

    /// Parses a YAML document holding the `alerting:` section's content.
    pub fn from_yaml_str(s: &str) -> Result<AlertingConfig, String> {
        serde_norway::from_str(s).map_err(|e| format!("alerting: {e}"))
    }
}

#[derive(Deserialize)]
struct RawStatic {
    #[serde(default)]
    targets: Vec<String>,
}

#[derive(Deserialize)]
struct RawAlertmanager {
    #[serde(default)]
    static_configs: Vec<RawStatic>,
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    path_prefix: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    api_version: Option<String>,
}

/// One `alertmanagers:` entry (static targets only).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawAlertmanager")]
pub struct AlertmanagerConfig {
    /// `host:port` targets from `static_configs[].targets`.
    pub static_targets: Vec<String>,
    /// `http` (default) or `https`.
    pub scheme: String,
    /// Prefix before `/api/v2/alerts` (default empty).
    pub path_prefix: String,
    /// Per-request timeout (default 10 s).
    pub timeout: Duration,
    /// Only `v2` is supported.
    pub api_version: String,
}

impl AlertmanagerConfig {
    /// One target with default settings.
    pub fn new(target: impl Into<String>) -> Self {
        AlertmanagerConfig {
            static_targets: vec![target.into()],
            scheme: "http".into(),
            path_prefix: String::new(),
            timeout: Duration::from_secs(10),
            api_version: "v2".into(),
        }
    }

    /// The alerts endpoint of each target.
    pub fn urls(&self) -> Vec<String> {
        let prefix = self.path_prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() || prefix.starts_with('/') {
            prefix.to_string()
        } else {
            format!("/{prefix}")
        };
        self.static_targets
            .iter()
            .map(|t| format!("{}://{}{}/api/v2/alerts", self.scheme, t, prefix))
            .collect()
    }
}

fn duration(s: Option<String>, default: Duration, what: &str) -> Result<Duration, String> {
    match s {
        None => Ok(default),
        Some(s) => {
            let ms = parse_duration(&s).map_err(|e| format!("{what}: {e}"))?;
            Ok(Duration::from_millis(ms.max(0) as u64))
        }
    }
}

impl TryFrom<RawAlertmanager> for AlertmanagerConfig {
    type Error = String;

    fn try_from(r: RawAlertmanager) -> Result<Self, String> {
        let scheme = r.scheme.unwrap_or_else(|| "http".into());
        if scheme != "http" && scheme != "https" {
            return Err(format!("invalid scheme {scheme:?}"));
        }
        let api_version = r.api_version.unwrap_or_else(|| "v2".into());
        if api_version != "v2" {
            return Err(format!(
                "unsupported alertmanager api_version {api_version:?} (only v2)"
            ));
        }
        Ok(AlertmanagerConfig {
            static_targets: r
                .static_configs
                .into_iter()
                .flat_map(|s| s.targets)
                .collect(),
            scheme,
            path_prefix: r.path_prefix.unwrap_or_default(),
            timeout: duration(r.timeout, Duration::from_secs(10), "timeout")?,
            api_version,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    #[serde(default)]
    timeout: Option<String>,
    #[serde(default)]
    send_resolved: Option<bool>,
}

/// A plain webhook receiver: gets Alertmanager's webhook JSON payload.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawWebhook")]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// Per-request timeout (default 10 s).
    pub timeout: Duration,
    /// Whether resolved alerts are sent too (default true, like
    /// Alertmanager's `webhook_config`).
    pub send_resolved: bool,
}

impl WebhookConfig {
    /// A webhook with the default timeout that also gets resolved alerts.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookConfig {
            url: url.into(),
            timeout: Duration::from_secs(10),
            send_resolved: true,
        }
    }
}

impl TryFrom<RawWebhook> for WebhookConfig {
    type Error = String;

    fn try_from(r: RawWebhook) -> Result<Self, String> {
        if !(r.url.starts_with("http://") || r.url.starts_with("https://")) {
            return Err(format!("webhook url must be http(s): {:?}", r.url));
        }
        Ok(WebhookConfig {
            url: r.url,
            timeout: duration(r.timeout, Duration::from_secs(10), "timeout")?,
            send_resolved: r.send_resolved.unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_alerting_section() {
        let y = r#"
alertmanagers:
  - static_configs:
      - targets: ["am1:9093", "am2:9093"]
    path_prefix: /am
    timeout: 5s
  - scheme: https
    static_configs: [{targets: ["secure:443"]}]
webhooks:
  - url: http://retrain:8080/hook
    timeout: 2s
  - url: http://quiet:8080/hook
    send_resolved: false
"#;
        let c = AlertingConfig::from_yaml_str(y).unwrap();
        assert_eq!(c.alertmanagers.len(), 2);
        assert_eq!(
            c.alertmanagers[0].urls(),
            vec![
                "http://am1:9093/am/api/v2/alerts",
                "http://am2:9093/am/api/v2/alerts"
            ]
        );
        assert_eq!(c.alertmanagers[0].timeout, Duration::from_secs(5));
        assert_eq!(
            c.alertmanagers[1].urls(),
            vec!["https://secure:443/api/v2/alerts"]
        );
        assert_eq!(c.webhooks[0].timeout, Duration::from_secs(2));
        assert!(c.webhooks[0].send_resolved);
        assert!(!c.webhooks[1].send_resolved);
        let v: serde_norway::Value = serde_norway::from_str(y).unwrap();
        assert_eq!(AlertingConfig::from_yaml_value(&v).unwrap(), c);
    }

    #[test]
    fn rejects_bad_values() {
        assert!(AlertingConfig::from_yaml_str("alertmanagers: [{api_version: v1}]").is_err());
        assert!(AlertingConfig::from_yaml_str("alertmanagers: [{scheme: ftp}]").is_err());
        assert!(AlertingConfig::from_yaml_str("webhooks: [{url: 'x'}]").is_err());
        assert!(AlertingConfig::from_yaml_str("alertmanagers: [{timeout: banana}]").is_err());
    }
}
