//! The query engine: the public entry points.
//!
//! Queries are evaluated series at a time over all steps (see the `eval`
//! module); an instant query is a range query with one step.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use std::time::Instant;

use promlite_model::{Labels, Queryable};

use crate::ast::{Expr, ValueType};
use crate::duration_expr::{self, QueryTimes};
use crate::error::QueryError;
use crate::eval::{Evaluator, Range, Val};
use crate::metrics::EngineMetrics;
use crate::value::{FPoint, Sample, Series, Value};

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
    metrics: Arc<EngineMetrics>,
}

impl Engine {
    /// An engine with these options.
    pub fn new(opts: EngineOptions) -> Self {
        Engine {
            opts,
            metrics: Arc::default(),
        }
    }

    /// Query counters, shared by all clones of this engine.
    pub fn metrics(&self) -> &EngineMetrics {
        &self.metrics
    }

    /// The engine's options.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `time_ms`.
    pub fn instant_query(
        &self,
        storage: &dyn Queryable,
        query: &str,
        time_ms: i64,
        qopts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        // The parser grows its stack itself as it recurses; evaluation
        // picks its stack in `exec`.
        let expr = self.parse(query)?;
        self.instant_query_text(storage, &expr, query, time_ms, qopts)
    }

    /// Evaluates `query` at every step from `start_ms` to `end_ms` inclusive;
    /// the result is always a [`Value::Matrix`].
    pub fn range_query(
        &self,
        storage: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        qopts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        check_range(start_ms, end_ms, step_ms)?;
        let expr = self.parse(query)?;
        self.range_query_text(storage, &expr, query, start_ms, end_ms, step_ms, qopts)
    }

    /// Like [`Engine::instant_query`] for an already parsed expression.
    /// Without the query text, annotations carry no `(line:col)` position.
    pub fn instant_query_expr(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        time_ms: i64,
        qopts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        self.instant_query_text(storage, expr, "", time_ms, qopts)
    }

    /// `expr` parsed from `query` (which annotation positions refer to).
    fn instant_query_text(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        query: &str,
        time_ms: i64,
        qopts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        let r = Range {
            start: time_ms,
            end: time_ms,
            interval: 1,
        };
        // An instant query's step() and range() are 0, as in Prometheus.
        let resolved = with_durations(expr, QueryTimes::default())?;
        let expr = resolved.as_ref().unwrap_or(expr);
        let (val, warnings, infos) = self.exec(storage, expr, query, r, qopts)?;
        let value = match val {
            Val::Scalar(v) => Value::Scalar {
                t: time_ms,
                v: v.first().copied().unwrap_or(f64::NAN),
            },
            // Bytes that are not UTF-8 (`"a\xc5z"`) become U+FFFD, as in
            // Prometheus's JSON.
            Val::String(s) => Value::String {
                t: time_ms,
                v: s.to_string_lossy(),
            },
            Val::Vector(ss) => Value::Vector(
                ss.into_iter()
                    .filter_map(|s| {
                        s.floats.first().map(|p| Sample {
                            metric: s.metric.clone(),
                            t: time_ms,
                            f: p.f,
                        })
                    })
                    .collect(),
            ),
            Val::Matrix(mut ss) => {
                ss.sort_by(|a, b| a.metric.cmp(&b.metric));
                Value::Matrix(ss)
            }
        };
        Ok(QueryResult {
            value,
            warnings,
            infos,
        })
    }

    /// Like [`Engine::range_query`] for an already parsed expression.
    /// Without the query text, annotations carry no `(line:col)` position.
    pub fn range_query_expr(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        qopts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        self.range_query_text(storage, expr, "", start_ms, end_ms, step_ms, qopts)
    }

    /// `expr` parsed from `query` (which annotation positions refer to).
    #[allow(clippy::too_many_arguments)]
    fn range_query_text(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        qopts: &QueryOptions,
    ) -> Result<QueryResult, QueryError> {
        check_range(start_ms, end_ms, step_ms)?;
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            t => {
                return Err(QueryError::BadData(format!(
                "invalid expression type {:?} for range query, must be Scalar or instant Vector",
                t.describe()
            )))
            }
        }
        let r = Range {
            start: start_ms,
            end: end_ms,
            interval: step_ms,
        };
        let times = QueryTimes {
            step_ms,
            range_ms: end_ms.saturating_sub(start_ms),
        };
        let resolved = with_durations(expr, times)?;
        let expr = resolved.as_ref().unwrap_or(expr);
        let (val, warnings, infos) = self.exec(storage, expr, query, r, qopts)?;
        let mut series = match val {
            Val::Scalar(v) => {
                let floats = v
                    .iter()
                    .enumerate()
                    .map(|(i, &f)| FPoint { t: r.ts(i), f })
                    .collect();
                vec![Series {
                    metric: Labels::empty(),
                    floats,
                }]
            }
            Val::Vector(ss) => ss,
            _ => {
                return Err(QueryError::BadData(
                    "range queries need a scalar or instant vector expression".into(),
                ))
            }
        };
        series.retain(|s| !s.floats.is_empty());
        series.sort_by(|a, b| a.metric.cmp(&b.metric));
        Ok(QueryResult {
            value: Value::Matrix(series),
            warnings,
            infos,
        })
    }

    fn parse(&self, query: &str) -> Result<Expr, QueryError> {
        let popts = crate::parser::ParserOptions {
            enable_experimental_functions: self.opts.enable_experimental_functions,
            ..Default::default()
        };
        Ok(crate::parser::parse_with(query, &popts)?)
    }

    fn exec(
        &self,
        storage: &dyn Queryable,
        expr: &Expr,
        query: &str,
        r: Range,
        qopts: &QueryOptions,
    ) -> Result<(Val, Vec<String>, Vec<String>), QueryError> {
        let timeout = qopts.timeout.unwrap_or(self.opts.timeout);
        let deadline = Instant::now()
            .checked_add(timeout)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86400 * 365));
        let mut ev = Evaluator::new(
            storage,
            r.start,
            r.end,
            qopts
                .lookback_delta_ms
                .unwrap_or(self.opts.lookback_delta_ms),
            self.opts.default_eval_interval_ms,
            self.opts.max_samples,
            deadline,
            qopts.cancel.clone(),
            self.opts.enable_experimental_functions,
        );
        ev.query = query;
        if r.end > r.start {
            ev.query_step = r.interval;
        }
        let _in_flight = self.metrics.start();
        let started = Instant::now();
        let val = if shallow(expr, INLINE_HEIGHT) {
            ev.eval(expr, r)
        } else {
            on_big_stack(|| ev.eval(expr, r))
        };
        self.metrics.observe_eval(started.elapsed(), val.is_err());
        Ok((val?, ev.warnings, ev.infos))
    }
}

/// Stack for evaluating tall expression trees: evaluation recurses over
/// the tree (bounded by the parser's depth limit), and unoptimised builds
/// use large frames. Only the touched part of the reservation costs memory.
const QUERY_STACK_BYTES: usize = 64 << 20;

/// Trees at most this tall (nearly every real query) are evaluated on the
/// calling thread's stack: mapping, faulting in and unmapping a fresh
/// [`QUERY_STACK_BYTES`] segment cost more than a small query's whole
/// evaluation. [`Evaluator::eval`] still grows the stack on demand if a
/// level finds it nearly used up.
const INLINE_HEIGHT: usize = 32;

/// Whether `e` is at most `budget` levels tall. Recurses at most `budget`
/// levels deep.
fn shallow(e: &Expr, budget: usize) -> bool {
    let Some(left) = budget.checked_sub(1) else {
        return false;
    };
    match e {
        Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {
            true
        }
        Expr::Subquery(sq) => shallow(&sq.expr, left),
        Expr::Paren(inner) | Expr::Unary(_, inner) => shallow(inner, left),
        Expr::Binary(b) => shallow(&b.lhs, left) && shallow(&b.rhs, left),
        Expr::Aggregate(a) => {
            shallow(&a.expr, left) && a.param.as_deref().is_none_or(|p| shallow(p, left))
        }
        Expr::Call(c) => c.args.iter().all(|a| shallow(a, left)),
    }
}

thread_local! {
    static ON_QUERY_STACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` on a fresh [`QUERY_STACK_BYTES`] stack segment (or inline when
/// already on one), for expression trees taller than [`INLINE_HEIGHT`]. `stacker::grow` switches stacks on the calling thread:
/// a mapping instead of a thread spawn per query, which cost about 170 µs.
fn on_big_stack<T>(f: impl FnOnce() -> T) -> T {
    if ON_QUERY_STACK.with(|c| c.get()) {
        return f();
    }
    /// Clears the flag when the query stack is left, also by a panic.
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            ON_QUERY_STACK.with(|c| c.set(false));
        }
    }
    stacker::grow(QUERY_STACK_BYTES, || {
        ON_QUERY_STACK.with(|c| c.set(true));
        let _leave = Leave;
        f()
    })
}

/// Rejects impossible range-query parameters.
fn check_range(start: i64, end: i64, step: i64) -> Result<(), QueryError> {
    if step <= 0 {
        return Err(QueryError::BadData(
            "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    if end < start {
        return Err(QueryError::BadData(
            "end timestamp must not be before start time".into(),
        ));
    }
    Ok(())
}

/// `expr` with its `step()`/`range()` duration expressions computed for
/// this query, or `None` when it has none (the common case: no copy).
fn with_durations(expr: &Expr, times: QueryTimes) -> Result<Option<Expr>, QueryError> {
    if !duration_expr::needs_resolve(expr) {
        return Ok(None);
    }
    let mut e = expr.clone();
    duration_expr::resolve(&mut e, &times).map_err(QueryError::BadData)?;
    Ok(Some(e))
}
