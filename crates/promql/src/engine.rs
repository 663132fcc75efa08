//! The query engine: the public entry points. Being built: see issue 3.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use promlite_model::Queryable;

use crate::error::QueryError;
use crate::value::Value;

/// Engine-wide settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (default 5 m).
    pub lookback_delta_ms: i64,
    /// Maximum samples a query may hold in memory at once (default 50,000,000).
    pub max_samples: usize,
    /// Default query timeout (default 2 m).
    pub timeout: Duration,
    /// Default subquery step when `[range:]` is used, in ms (default 1 m).
    pub default_eval_interval_ms: i64,
    /// Allow the functions Prometheus gates behind
    /// `--enable-feature=promql-experimental-functions`.
    pub enable_experimental_functions: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            default_eval_interval_ms: 60 * 1000,
            enable_experimental_functions: false,
        }
    }
}

/// Per-query settings.
#[derive(Clone, Debug, Default)]
pub struct QueryOptions {
    /// Overrides the engine's timeout.
    pub timeout: Option<Duration>,
    /// Overrides the lookback delta (ms).
    pub lookback_delta_ms: Option<i64>,
    /// Set to true from another thread to cancel the query.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// A finished query.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// The value.
    pub value: Value,
    /// Warnings (annotations) to show next to the result.
    pub warnings: Vec<String>,
    /// Informational annotations.
    pub infos: Vec<String>,
}

/// Evaluates PromQL over any [`Queryable`].
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    /// An engine with these options.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `time_ms`.
    pub fn instant_query(
        &self,
        _storage: &dyn Queryable,
        _query: &str,
        _time_ms: i64,
        _qopts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        Err(QueryError::Execution("engine not implemented yet".into()))
    }

    /// Evaluates `query` at every step from `start_ms` to `end_ms` inclusive;
    /// the result is always a [`Value::Matrix`].
    pub fn range_query(
        &self,
        _storage: &dyn Queryable,
        _query: &str,
        _start_ms: i64,
        _end_ms: i64,
        _step_ms: i64,
        _qopts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        Err(QueryError::Execution("engine not implemented yet".into()))
    }
}
