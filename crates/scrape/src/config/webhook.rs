//! `alerting.webhooks`: promlite's extension of the `alerting` section.
//!
//! Prometheus only knows Alertmanagers. promlite can also POST alerts
//! straight to an HTTP endpoint in Alertmanager's webhook payload shape
//! (`{"version": "4", "status": "firing", "alerts": [...]}`), so that a small
//! setup (for example a model-retraining pipeline) needs no Alertmanager.
//!
//! ```yaml
//! alerting:
//!   webhooks:
//!     - url: http://retrain-pipeline:8080/hook
//!       timeout: 5s          # default 10s
//!       send_resolved: true  # default true, like Alertmanager's webhook_config
//! ```

use std::time::Duration;

use serde::Deserialize;

use super::units::de_duration;

/// One `alerting.webhooks` entry.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Where alerts are POSTed (`http://` or `https://`).
    pub url: String,
    /// Timeout of one request (10s).
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// Whether resolved alerts are sent too (true).
    pub send_resolved: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            timeout: Duration::from_secs(10),
            send_resolved: true,
        }
    }
}

/// Validates the `webhooks` entries; `Err` names the entry and the problem.
pub(crate) fn check_webhooks(hooks: &[WebhookConfig]) -> Result<(), String> {
    for (i, w) in hooks.iter().enumerate() {
        let what = format!("alerting.webhooks[{i}]");
        if w.url.is_empty() {
            return Err(format!("{what}: url is required"));
        }
        let rest = w
            .url
            .strip_prefix("http://")
            .or_else(|| w.url.strip_prefix("https://"))
            .ok_or_else(|| {
                format!(
                    "{what}: url {:?} must start with http:// or https://",
                    w.url
                )
            })?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || w.url.chars().any(char::is_whitespace) {
            return Err(format!("{what}: url {:?} is not a valid URL", w.url));
        }
        if w.timeout.is_zero() {
            return Err(format!("{what}: timeout must be greater than 0"));
        }
    }
    Ok(())
}
