//! Prometheus's `prometheus.yml`: parsing, defaults and validation.
//!
//! Every section is parsed with `deny_unknown_fields`, so a typo is an error
//! naming the line and column. Sections promlite does not implement but that
//! are valid Prometheus (`remote_write`, `storage`, `tracing`, …) are accepted
//! and kept as raw YAML so existing files load unchanged.

mod global;
mod http;
mod scrape_config;
mod units;
mod webhook;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_norway::Value;

pub use global::{AlertingConfig, AlertmanagerConfig, GlobalConfig};
pub(crate) use http::validate_http;
pub use http::{Authorization, BasicAuth, TlsConfig};
pub use scrape_config::{FileSdConfig, ScrapeConfig, StaticConfig};
pub use units::{format_dur, parse_size};
pub use webhook::WebhookConfig;

/// The body size limit promlite applies when the config says 0 (which means
/// "unlimited" in Prometheus): 100 MiB of *uncompressed* body. A target can
/// then never make the scraper buffer more than this, gzip bomb or not.
pub const DEFAULT_BODY_SIZE_LIMIT: u64 = 100 << 20;

/// Why a configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// YAML syntax error, unknown field or a value of the wrong shape; the
    /// message names the line and column.
    #[error("parsing YAML: {0}")]
    Parse(String),
    /// The YAML is well-formed but its content is invalid.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A whole `prometheus.yml`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `global` defaults.
    pub global: GlobalConfig,
    /// Rule file globs (resolved relative to the config file by [`Config::load`]).
    pub rule_files: Vec<String>,
    /// Scrape jobs.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// Alertmanager settings.
    pub alerting: AlertingConfig,
    /// Accepted, not used by the scraper.
    pub scrape_config_files: Vec<String>,
    /// Accepted and kept raw (not implemented).
    pub remote_write: Vec<Value>,
    /// Accepted and kept raw (not implemented).
    pub remote_read: Vec<Value>,
    /// Accepted and kept raw.
    pub storage: Option<Value>,
    /// Accepted and kept raw.
    pub tracing: Option<Value>,
    /// Accepted and kept raw.
    pub otlp: Option<Value>,
    /// Accepted and kept raw.
    pub runtime: Option<Value>,
}

impl Config {
    /// Parses and validates YAML text, filling in inherited defaults.
    /// Relative file paths stay relative to the current directory.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(yaml: &str) -> Result<Config, ConfigError> {
        let mut cfg: Config = if yaml.trim().is_empty() {
            Config::default()
        } else {
            serde_norway::from_str(yaml).map_err(|e| ConfigError::Parse(e.to_string()))?
        };
        cfg.finish().map_err(ConfigError::Invalid)?;
        Ok(cfg)
    }

    /// Reads, parses and validates a file; relative paths inside it (rule
    /// files, file SD globs, password/credential/TLS files) are resolved
    /// against the file's directory, as Prometheus does.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut cfg = Config::from_str(&text).map_err(|e| match e {
            ConfigError::Parse(m) => ConfigError::Parse(format!("{}: {m}", path.display())),
            ConfigError::Invalid(m) => ConfigError::Invalid(format!("{}: {m}", path.display())),
            other => other,
        })?;
        if let Some(dir) = path.parent() {
            cfg.resolve_paths(dir);
        }
        Ok(cfg)
    }

    /// The scrape config for `job`, if any.
    pub fn scrape_config(&self, job: &str) -> Option<&ScrapeConfig> {
        self.scrape_configs.iter().find(|c| c.job_name == job)
    }

    fn resolve_paths(&mut self, dir: &Path) {
        for r in &mut self.rule_files {
            *r = join_dir(dir, r);
        }
        for sc in &mut self.scrape_configs {
            for f in &mut sc.file_sd_configs {
                for p in &mut f.files {
                    *p = join_dir(dir, p);
                }
            }
            http::resolve_http_paths(
                dir,
                &mut sc.basic_auth,
                &mut sc.authorization,
                &mut sc.tls_config,
            );
        }
        for am in &mut self.alerting.alertmanagers {
            for f in &mut am.file_sd_configs {
                for p in &mut f.files {
                    *p = join_dir(dir, p);
                }
            }
            http::resolve_http_paths(
                dir,
                &mut am.basic_auth,
                &mut am.authorization,
                &mut am.tls_config,
            );
        }
    }

    /// Validates and applies the `global` defaults to every scrape config.
    fn finish(&mut self) -> Result<(), String> {
        if self.global.scrape_timeout.is_zero() {
            self.global.scrape_timeout = GlobalConfig::default()
                .scrape_timeout
                .min(self.global.scrape_interval);
        }
        let g = &self.global;
        if g.scrape_interval.is_zero() {
            return Err("global: scrape_interval must be greater than 0".into());
        }
        if g.scrape_timeout > g.scrape_interval {
            return Err(format!(
                "global: scrape_timeout ({}) greater than scrape_interval ({})",
                format_dur(g.scrape_timeout),
                format_dur(g.scrape_interval)
            ));
        }
        for (k, v) in &g.external_labels {
            if !is_valid_label_name(k) {
                return Err(format!(
                    "global: external_labels: {k:?} is not a valid label name"
                ));
            }
            if v.is_empty() {
                return Err(format!(
                    "global: external_labels: label {k:?} has an empty value"
                ));
            }
        }
        let mut seen = HashSet::new();
        for (i, sc) in self.scrape_configs.iter_mut().enumerate() {
            if sc.job_name.is_empty() {
                return Err(format!("scrape_configs[{i}]: job_name is required"));
            }
            if !seen.insert(sc.job_name.clone()) {
                return Err(format!(
                    "scrape_configs[{i}]: found multiple scrape configs with job name {:?}",
                    sc.job_name
                ));
            }
            apply_globals(sc, g)?;
        }
        for (i, am) in self.alerting.alertmanagers.iter().enumerate() {
            let what = format!("alerting.alertmanagers[{i}]");
            check_scheme(&what, &am.scheme)?;
            if am.oauth2.is_some() {
                return Err(format!("{what}: oauth2 is not supported by promlite"));
            }
            validate_http(&what, &am.basic_auth, &am.authorization, &am.tls_config)?;
            check_static(&what, &am.static_configs)?;
            check_file_sd(&what, &am.file_sd_configs)?;
        }
        webhook::check_webhooks(&self.alerting.webhooks)?;
        Ok(())
    }
}

impl std::str::FromStr for Config {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Config, ConfigError> {
        Config::from_str(s)
    }
}

fn apply_globals(sc: &mut ScrapeConfig, g: &GlobalConfig) -> Result<(), String> {
    let what = format!("scrape_configs: job {:?}", sc.job_name);
    if sc.scrape_interval.is_zero() {
        sc.scrape_interval = g.scrape_interval;
    }
    if sc.scrape_timeout.is_zero() {
        sc.scrape_timeout = g.scrape_timeout.min(sc.scrape_interval);
    }
    if sc.scrape_timeout > sc.scrape_interval {
        return Err(format!(
            "{what}: scrape_timeout ({}) greater than scrape_interval ({})",
            format_dur(sc.scrape_timeout),
            format_dur(sc.scrape_interval)
        ));
    }
    let inherit = |v: &mut u64, g: u64| {
        if *v == 0 {
            *v = g;
        }
    };
    inherit(&mut sc.sample_limit, g.sample_limit);
    inherit(&mut sc.label_limit, g.label_limit);
    inherit(&mut sc.label_name_length_limit, g.label_name_length_limit);
    inherit(&mut sc.label_value_length_limit, g.label_value_length_limit);
    inherit(&mut sc.target_limit, g.target_limit);
    inherit(&mut sc.body_size_limit, g.body_size_limit);
    inherit(&mut sc.body_size_limit, DEFAULT_BODY_SIZE_LIMIT);
    check_scheme(&what, &sc.scheme)?;
    if !sc.metrics_path.starts_with('/') {
        return Err(format!(
            "{what}: metrics_path {:?} must start with '/'",
            sc.metrics_path
        ));
    }
    if sc.oauth2.is_some() {
        return Err(format!("{what}: oauth2 is not supported by promlite"));
    }
    validate_http(&what, &sc.basic_auth, &sc.authorization, &sc.tls_config)?;
    check_static(&what, &sc.static_configs)?;
    check_file_sd(&what, &sc.file_sd_configs)?;
    Ok(())
}

fn check_scheme(what: &str, scheme: &str) -> Result<(), String> {
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "{what}: unknown scheme {scheme:?}, expected http or https"
        ));
    }
    Ok(())
}

fn check_static(what: &str, groups: &[StaticConfig]) -> Result<(), String> {
    for g in groups {
        for t in &g.targets {
            if t.is_empty() || t.contains('/') || t.chars().any(char::is_whitespace) {
                return Err(format!(
                    "{what}: static_configs: {t:?} is not a valid host:port address"
                ));
            }
        }
        for k in g.labels.keys() {
            if !is_valid_label_name(k) {
                return Err(format!(
                    "{what}: static_configs: {k:?} is not a valid label name"
                ));
            }
        }
    }
    Ok(())
}

fn check_file_sd(what: &str, sds: &[FileSdConfig]) -> Result<(), String> {
    for sd in sds {
        if sd.files.is_empty() {
            return Err(format!("{what}: file_sd_configs: files must not be empty"));
        }
        for f in &sd.files {
            let ext_ok = [".json", ".yml", ".yaml"].iter().any(|e| f.ends_with(e));
            if !ext_ok {
                return Err(format!(
                    "{what}: file_sd_configs: {f:?} must end in .json, .yml or .yaml"
                ));
            }
            if let Some(dir) = Path::new(f).parent() {
                if dir.to_string_lossy().contains(['*', '?', '[']) {
                    return Err(format!(
                        "{what}: file_sd_configs: {f:?}: only the last path element may be a glob"
                    ));
                }
            }
        }
        if sd.refresh_interval.is_zero() {
            return Err(format!(
                "{what}: file_sd_configs: refresh_interval must be greater than 0"
            ));
        }
    }
    Ok(())
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`: Prometheus's (legacy) label name syntax.
pub fn is_valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn join_dir(dir: &Path, p: &str) -> String {
    if p.is_empty() || Path::new(p).is_absolute() {
        p.to_string()
    } else {
        dir.join(p).to_string_lossy().into_owned()
    }
}

/// Convenience: a duration in Prometheus syntax (panics never; returns None on bad input).
pub fn duration_from_str(s: &str) -> Option<Duration> {
    promlite_model::duration::parse_duration(s)
        .ok()
        .map(|ms| Duration::from_millis(ms.max(0) as u64))
}

#[cfg(test)]
mod tests;
