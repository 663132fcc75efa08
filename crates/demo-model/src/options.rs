//! Configuration of a [`DemoModel`](crate::DemoModel).

use std::fmt;
use std::time::Duration;

/// A model version, shown as `v{major}.{minor}` (`v2.1`). Retraining bumps the minor part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelVersion {
    /// Major version (architecture generation).
    pub major: u32,
    /// Minor version (retrain count).
    pub minor: u32,
}

impl ModelVersion {
    /// The version after one more retrain.
    pub fn next(self) -> ModelVersion {
        ModelVersion {
            major: self.major,
            minor: self.minor.saturating_add(1),
        }
    }

    /// Parses `v2.1` or `2.1`.
    pub fn parse(s: &str) -> Result<ModelVersion, String> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let (major, minor) = body
            .split_once('.')
            .ok_or_else(|| format!("invalid model version {s:?}: expected vMAJOR.MINOR"))?;
        let major = major
            .parse()
            .map_err(|_| format!("invalid major version in {s:?}"))?;
        let minor = minor
            .parse()
            .map_err(|_| format!("invalid minor version in {s:?}"))?;
        Ok(ModelVersion { major, minor })
    }
}

impl fmt::Display for ModelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)
    }
}

impl Default for ModelVersion {
    fn default() -> Self {
        ModelVersion { major: 2, minor: 1 }
    }
}

/// Options for [`DemoModel::new`](crate::DemoModel::new).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seed of every random decision (outcomes, latencies, traffic mix). Same seed, same run.
    pub seed: u64,
    /// Version served at start (default `v2.1`).
    pub initial_version: ModelVersion,
    /// Start drifting this long after start (and after each retrain). `None`: only on
    /// `POST /admin/drift`.
    pub drift_after: Option<Duration>,
    /// How long drift takes to reach full strength once it starts (zero: instantly).
    pub drift_ramp: Duration,
    /// Add a `user_id` label to `model_requests_total` (a cardinality explosion on purpose).
    pub bad_cardinality: bool,
    /// How many distinct `user_id` values the traffic generator draws from.
    pub user_ids: u32,
    /// Probability that a healthy request fails with a 500 (drift raises it).
    pub error_rate: f64,
    /// Mean simulated time per generated token, before drift.
    pub time_per_token: Duration,
    /// Median simulated latency of `/predict`, before drift.
    pub predict_latency: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 42,
            initial_version: ModelVersion::default(),
            drift_after: None,
            drift_ramp: Duration::from_secs(60),
            bad_cardinality: false,
            user_ids: 5000,
            error_rate: 0.01,
            time_per_token: Duration::from_millis(3),
            predict_latency: Duration::from_millis(12),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_display_parse_next() {
        let v = ModelVersion::default();
        assert_eq!(v.to_string(), "v2.1");
        assert_eq!(v.next().to_string(), "v2.2");
        assert_eq!(
            ModelVersion::parse("v3.10"),
            Ok(ModelVersion {
                major: 3,
                minor: 10
            })
        );
        assert_eq!(
            ModelVersion::parse("1.0"),
            Ok(ModelVersion { major: 1, minor: 0 })
        );
        assert!(ModelVersion::parse("v3").is_err());
        assert!(ModelVersion::parse("vx.1").is_err());
        assert!(ModelVersion::parse("v1.-1").is_err());
    }
}
