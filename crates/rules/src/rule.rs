//! Rules: the query seam, recording rules and the shared health bookkeeping.
//! Alerting rules live in [`crate::alerting`].

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use promlite_model::{Labels, Queryable, METRIC_NAME};
use promlite_promql::value::Value;
use promlite_promql::{Engine, QueryOptions};

pub use crate::alerting::AlertingRule;

/// One output element of a rule query.
#[derive(Clone, Debug, PartialEq)]
pub struct QSample {
    /// Series labels.
    pub metric: Labels,
    /// Value.
    pub f: f64,
}

/// How rules run PromQL; the real implementation is [`EngineQuery`], tests
/// can plug in anything.
pub trait QueryFn: Send + Sync {
    /// Evaluates `expr` at `t_ms` and returns an instant vector (a scalar
    /// becomes one sample without labels).
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QSample>, String>;
}

/// [`QueryFn`] over the promlite PromQL engine and a storage.
pub struct EngineQuery {
    engine: Engine,
    storage: Arc<dyn Queryable>,
    opts: QueryOptions,
}

impl EngineQuery {
    /// Queries `storage` with `engine`.
    pub fn new(engine: Engine, storage: Arc<dyn Queryable>) -> Self {
        EngineQuery {
            engine,
            storage,
            opts: QueryOptions::default(),
        }
    }
}

impl QueryFn for EngineQuery {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QSample>, String> {
        let res = self
            .engine
            .instant_query(self.storage.as_ref(), expr, t_ms, &self.opts)
            .map_err(|e| e.to_string())?;
        match res.value {
            Value::Vector(v) => Ok(v
                .into_iter()
                .map(|s| QSample {
                    metric: s.metric,
                    f: s.f,
                })
                .collect()),
            Value::Scalar { v, .. } => Ok(vec![QSample {
                metric: Labels::empty(),
                f: v,
            }]),
            other => Err(format!(
                "rule result is not a vector or scalar: {:?}",
                other.value_type().api_name()
            )),
        }
    }
}

/// Rule and group health, as the API reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Health {
    /// Not evaluated yet.
    #[default]
    Unknown,
    /// Last evaluation succeeded.
    Ok,
    /// Last evaluation failed.
    Err,
}

impl Health {
    /// `unknown` / `ok` / `err`.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// Evaluation bookkeeping shared by both rule kinds.
#[derive(Clone, Debug, Default)]
pub struct RuleStatus {
    /// Health of the last evaluation.
    pub health: Health,
    /// Error of the last evaluation, empty when fine.
    pub last_error: String,
    /// Wall time the last evaluation took, in seconds.
    pub evaluation_seconds: f64,
    /// When the last evaluation ran (ms), `None` before the first.
    pub last_evaluation_ms: Option<i64>,
}

/// What rules can see besides the query: for templates.
#[derive(Clone, Debug, Default)]
pub struct EvalContext {
    /// External labels (`$externalLabels`, added to notifications).
    pub external_labels: BTreeMap<String, String>,
    /// External URL (`$externalURL`, generator URLs).
    pub external_url: String,
}

/// A recording rule: stores `expr`'s result as `record`.
#[derive(Clone, Debug)]
pub struct RecordingRule {
    name: String,
    expr: String,
    labels: Labels,
    /// Evaluation status.
    pub status: RuleStatus,
}

impl RecordingRule {
    /// A rule recording `expr` as `name`, with extra `labels`.
    pub fn new(name: String, expr: String, labels: Labels) -> Self {
        RecordingRule {
            name,
            expr,
            labels,
            status: RuleStatus::default(),
        }
    }

    /// The output metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The PromQL expression.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Labels added to every output series.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// Runs the query at `t_ms` and returns the series to store.
    pub fn eval(
        &self,
        q: &dyn QueryFn,
        t_ms: i64,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let vec = q.query(&self.expr, t_ms)?;
        let mut out = Vec::with_capacity(vec.len());
        let mut seen = HashSet::with_capacity(vec.len());
        for s in vec {
            let mut b = s.metric.builder();
            b.set(METRIC_NAME, self.name.clone());
            for l in self.labels.iter() {
                b.set(l.name, l.value);
            }
            let ls = b.build();
            if !seen.insert(ls.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying rule labels"
                        .into(),
                );
            }
            out.push((ls, s.f));
        }
        if limit > 0 && out.len() > limit {
            return Err(format!(
                "exceeded limit of {limit} with {} series",
                out.len()
            ));
        }
        Ok(out)
    }
}

/// A recording or alerting rule.
#[derive(Clone, Debug)]
pub enum Rule {
    /// `record:`
    Recording(RecordingRule),
    /// `alert:`
    Alerting(AlertingRule),
}

impl Rule {
    /// The record or alert name.
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => r.name(),
            Rule::Alerting(r) => r.name(),
        }
    }

    /// The expression.
    pub fn expr(&self) -> &str {
        match self {
            Rule::Recording(r) => r.expr(),
            Rule::Alerting(r) => r.expr(),
        }
    }

    /// Evaluation status.
    pub fn status(&self) -> &RuleStatus {
        match self {
            Rule::Recording(r) => &r.status,
            Rule::Alerting(r) => &r.status,
        }
    }

    /// Mutable evaluation status.
    pub fn status_mut(&mut self) -> &mut RuleStatus {
        match self {
            Rule::Recording(r) => &mut r.status,
            Rule::Alerting(r) => &mut r.status,
        }
    }
}
