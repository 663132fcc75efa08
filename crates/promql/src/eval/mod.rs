//! The evaluator.
//!
//! Every expression is evaluated over *all* steps of the query at once and
//! series at a time: a vector-typed result is a list of series, each holding
//! the points it has at the step timestamps. Selectors load each series once
//! for the whole query range and walk the steps with a cursor; functions over
//! ranges slide a window over the loaded samples. An instant query is a range
//! query with a single step.

pub(crate) mod aggregate;
mod aggregate_count_values;
mod aggregate_stream;
mod binary;
mod functions;

pub(crate) use functions::{go_max, go_min};
mod parallel;
pub(crate) mod quantile;
mod selector;
mod series_set;
mod topk_heap;
mod topk_stream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use promlite_model::Queryable;

use crate::ast::{AtModifier, Expr, StringLiteral, UnaryOp};
use crate::error::QueryError;
use crate::value::{FPoint, Series};

pub(crate) use series_set::SeriesSet;

/// Points of many series regrouped by step, in one allocation: step `i`'s
/// `(series index, value)` pairs, in series order.
pub(crate) struct ByStep {
    offsets: Vec<usize>,
    items: Vec<(usize, f64)>,
}

impl ByStep {
    /// Regroups `ss` (whose points are at step timestamps of `r`).
    pub fn new(ss: &[crate::value::Series], r: Range) -> ByStep {
        let n = r.len();
        let mut offsets = vec![0usize; n + 1];
        // Step indexes of every point, found once (mostly without a division).
        let idx: Vec<Vec<usize>> = ss.iter().map(|s| r.indexes(&s.floats)).collect();
        for is in &idx {
            for &i in is {
                if i < n {
                    offsets[i + 1] += 1;
                }
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut items = vec![(0usize, 0.0f64); offsets[n]];
        for (j, (s, is)) in ss.iter().zip(&idx).enumerate() {
            for (p, &i) in s.floats.iter().zip(is) {
                if i < n {
                    if let Some(slot) = items.get_mut(fill[i]) {
                        *slot = (j, p.f);
                        fill[i] += 1;
                    }
                }
            }
        }
        ByStep { offsets, items }
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The pairs at step `i`.
    pub fn step(&self, i: usize) -> &[(usize, f64)] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.items.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Iterates the steps.
    pub fn iter(&self) -> impl Iterator<Item = &[(usize, f64)]> + '_ {
        (0..self.len()).map(move |i| self.step(i))
    }
}

/// The deepest expression nesting the evaluator accepts.
const MAX_DEPTH: usize = 300;

/// Stack one evaluation level may need before it recurses again, with
/// room for the work at a leaf (unoptimised builds have large frames).
const EVAL_RED_ZONE: usize = 512 << 10;

/// Size of a stack segment added when less than [`EVAL_RED_ZONE`] is left.
const EVAL_STACK_GROWTH: usize = 16 << 20;

/// An evaluated expression, over all steps of the current evaluation range.
#[derive(Debug)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    /// Series with points at step timestamps.
    Vector(Vec<Series>),
    /// A range vector with raw sample timestamps (only at a single step).
    Matrix(Vec<Series>),
    /// A string (bytes, as in Go).
    String(StringLiteral),
}

/// The steps an expression is evaluated at: `start, start+interval, … ≤ end`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Range {
    pub start: i64,
    pub end: i64,
    pub interval: i64,
}

impl Range {
    /// Number of steps.
    pub fn len(&self) -> usize {
        if self.end < self.start || self.interval <= 0 {
            0
        } else {
            let n = (self.end as i128 - self.start as i128) / self.interval as i128 + 1;
            usize::try_from(n).unwrap_or(usize::MAX)
        }
    }

    /// Timestamp of step `i`.
    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.interval
    }

    /// Step index of timestamp `t` (a step timestamp); `usize::MAX` for
    /// times before the start.
    pub fn index(&self, t: i64) -> usize {
        if t < self.start || self.interval <= 0 {
            return usize::MAX;
        }
        t.checked_sub(self.start)
            .and_then(|d| usize::try_from(d / self.interval).ok())
            .unwrap_or(usize::MAX)
    }

    /// [`Range::index`] of each point's timestamp. Points of a series are
    /// usually at consecutive steps, so the step after the previous one is
    /// tried first (a multiplication) before dividing.
    pub fn indexes(&self, points: &[FPoint]) -> Vec<usize> {
        let mut out = Vec::with_capacity(points.len());
        let mut guess = 0usize;
        for p in points {
            let at_guess = i64::try_from(guess)
                .ok()
                .and_then(|g| g.checked_mul(self.interval))
                .and_then(|d| self.start.checked_add(d))
                == Some(p.t);
            let i = if at_guess && self.interval > 0 {
                guess
            } else {
                self.index(p.t)
            };
            out.push(i);
            guess = i.wrapping_add(1);
        }
        out
    }

    /// Iterates the step timestamps.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.ts(i))
    }
}

/// Query-wide state: storage, limits, annotations.
pub(crate) struct Evaluator<'a> {
    pub storage: &'a dyn Queryable,
    /// Start and end of the whole query, for `@ start()` / `@ end()`.
    pub query_start: i64,
    pub query_end: i64,
    /// The step of the whole query (0 for instant queries), for `step()`.
    pub query_step: i64,
    /// The query text annotation positions refer to; empty when the
    /// expression was not parsed from text here (no positions then).
    pub query: &'a str,
    pub lookback: i64,
    pub default_interval: i64,
    pub max_samples: usize,
    pub samples: usize,
    pub deadline: Instant,
    pub cancel: Option<Arc<AtomicBool>>,
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
    pub experimental: bool,
    checks: u32,
    depth: usize,
}

/// Whether a query has been canceled or passed its deadline, polled from
/// inside loops that hold no `&mut Evaluator`; once it has fired the loop
/// skips its remaining work and the caller's next [`Evaluator::check`]
/// returns the error.
#[derive(Clone)]
pub(crate) struct StopSignal {
    cancel: Option<Arc<AtomicBool>>,
    deadline: Instant,
    /// The clock is read on the first call and then every `clock_mask + 1`.
    clock_mask: u32,
    calls: u32,
    fired: Option<QueryError>,
}

impl StopSignal {
    /// The same signal reading the clock every `n` calls (`n` a power of 2).
    pub(crate) fn clock_every(mut self, n: u32) -> Self {
        self.clock_mask = n.max(1) - 1;
        self
    }

    /// The error to stop with, once the query was canceled or timed out.
    pub(crate) fn check(&mut self) -> Result<(), QueryError> {
        if self.fired.is_none() {
            let call = self.calls;
            self.calls = self.calls.wrapping_add(1);
            if self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
            {
                self.fired = Some(QueryError::Canceled("query execution".into()));
            } else if call & self.clock_mask == 0 && Instant::now() >= self.deadline {
                self.fired = Some(QueryError::Timeout("query execution".into()));
            }
        }
        match &self.fired {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// True once the query should stop (see [`StopSignal::check`]).
    pub(crate) fn fired(&mut self) -> bool {
        self.check().is_err()
    }
}

impl<'a> Evaluator<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        storage: &'a dyn Queryable,
        query_start: i64,
        query_end: i64,
        lookback: i64,
        default_interval: i64,
        max_samples: usize,
        deadline: Instant,
        cancel: Option<Arc<AtomicBool>>,
        experimental: bool,
    ) -> Self {
        Evaluator {
            storage,
            query_start,
            query_end,
            query_step: 0,
            query: "",
            lookback,
            default_interval: default_interval.max(1),
            max_samples,
            samples: 0,
            deadline,
            cancel,
            warnings: Vec::new(),
            infos: Vec::new(),
            experimental,
            checks: 0,
            depth: 0,
        }
    }

    /// Fails when the query was canceled or ran past its deadline. Cheap
    /// enough to call in inner loops.
    pub fn check(&mut self) -> Result<(), QueryError> {
        self.checks = self.checks.wrapping_add(1);
        if let Some(c) = &self.cancel {
            if c.load(Ordering::Relaxed) {
                return Err(QueryError::Canceled("query execution".into()));
            }
        }
        if self.checks & 63 == 0 && Instant::now() >= self.deadline {
            return Err(QueryError::Timeout("query execution".into()));
        }
        Ok(())
    }

    /// A copy of the cancel flag and deadline for a closure that cannot
    /// borrow the evaluator (e.g. the per-step body of a range function).
    pub(crate) fn stop_signal(&self) -> StopSignal {
        StopSignal {
            cancel: self.cancel.clone(),
            deadline: self.deadline,
            clock_mask: 63,
            calls: 0,
            fired: None,
        }
    }

    /// Accounts for `n` more samples held in memory.
    pub fn add_samples(&mut self, n: usize) -> Result<(), QueryError> {
        self.samples = self.samples.saturating_add(n);
        if self.samples > self.max_samples {
            return Err(QueryError::TooManySamples("query execution".into()));
        }
        self.check()
    }

    /// Fails if `n` more samples held for a moment (a window) would exceed
    /// the limit.
    pub fn check_transient(&mut self, n: usize) -> Result<(), QueryError> {
        if self.samples.saturating_add(n) > self.max_samples {
            return Err(QueryError::TooManySamples("query execution".into()));
        }
        Ok(())
    }

    /// Adds a warning once.
    pub fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// Adds a warning once, followed like Prometheus by ` (line:col)` of the
    /// expression at byte offset `pos` of the query text when both are known.
    pub fn warn_at(&mut self, w: String, pos: Option<usize>) {
        let w = self.with_position(w, pos);
        self.warn(w);
    }

    /// Adds an info annotation once, with a position like [`Self::warn_at`].
    pub fn info_at(&mut self, w: String, pos: Option<usize>) {
        let w = self.with_position(w, pos);
        self.info(w);
    }

    fn with_position(&self, mut w: String, pos: Option<usize>) -> String {
        if let Some((line, col)) = pos.and_then(|p| line_col(self.query, p)) {
            w.push_str(&format!(" ({line}:{col})"));
        }
        w
    }

    /// Adds an info annotation once.
    pub fn info(&mut self, w: String) {
        if !self.infos.contains(&w) {
            self.infos.push(w);
        }
    }

    /// Resolves an `@` modifier to a timestamp.
    pub fn at_time(&self, at: &Option<AtModifier>) -> Option<i64> {
        at.map(|a| match a {
            AtModifier::Timestamp(t) => t,
            AtModifier::Start => self.query_start,
            AtModifier::End => self.query_end,
        })
    }

    /// Evaluates `e` at every step of `r`.
    pub fn eval(&mut self, e: &Expr, r: Range) -> Result<Val, QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(QueryError::Execution("expression nested too deeply".into()));
        }
        self.check()?;
        // Every step holds at least a value: refuse ranges that could not fit.
        if r.len() > self.max_samples {
            self.depth -= 1;
            return Err(QueryError::TooManySamples("query execution".into()));
        }
        // Shallow queries run on the caller's stack (see the engine); should
        // a level find little stack left, the rest of the tree is evaluated
        // on a new segment.
        let res = stacker::maybe_grow(EVAL_RED_ZONE, EVAL_STACK_GROWTH, || self.eval_inner(e, r));
        self.depth -= 1;
        res
    }

    fn eval_inner(&mut self, e: &Expr, r: Range) -> Result<Val, QueryError> {
        match e {
            Expr::Number(n) => Ok(Val::Scalar(vec![*n; r.len()])),
            Expr::String(s) => Ok(Val::String(s.clone())),
            Expr::Paren(inner) => self.eval(inner, r),
            Expr::Unary(op, inner) => {
                let v = self.eval(inner, r)?;
                match (op, v) {
                    (UnaryOp::Pos, v) => Ok(v),
                    (UnaryOp::Neg, Val::Scalar(vs)) => {
                        Ok(Val::Scalar(vs.into_iter().map(|x| -x).collect()))
                    }
                    (UnaryOp::Neg, Val::Vector(ss)) => {
                        let mut out = SeriesSet::new(r);
                        for s in ss {
                            let pts = s
                                .floats
                                .into_iter()
                                .map(|p| FPoint { t: p.t, f: -p.f })
                                .collect();
                            out.push(crate::eval::drop_name(&s.metric), pts)?;
                        }
                        Ok(Val::Vector(out.finish()?))
                    }
                    (UnaryOp::Neg, _) => Err(QueryError::Execution(
                        "unary minus needs a scalar or instant vector".into(),
                    )),
                }
            }
            Expr::VectorSelector(vs) => self.eval_vector_selector(vs, r),
            Expr::MatrixSelector(ms) => {
                let input = self.matrix_selector_input(ms, r)?;
                input.into_matrix(self, r)
            }
            Expr::Subquery(sq) => {
                let input = self.subquery_input(sq, r)?;
                input.into_matrix(self, r)
            }
            Expr::Binary(b) => self.eval_binary(b, r),
            Expr::Aggregate(a) => self.eval_aggregate(a, r),
            Expr::Call(c) => self.eval_call(c, r),
        }
    }

    /// Evaluates an expression that must give a scalar per step.
    pub fn eval_scalar(&mut self, e: &Expr, r: Range) -> Result<Vec<f64>, QueryError> {
        match self.eval(e, r)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(QueryError::Execution("expected a scalar expression".into())),
        }
    }

    /// Evaluates an expression that must give an instant vector.
    pub fn eval_vector(&mut self, e: &Expr, r: Range) -> Result<Vec<Series>, QueryError> {
        match self.eval(e, r)? {
            Val::Vector(v) => Ok(v),
            _ => Err(QueryError::Execution(
                "expected an instant vector expression".into(),
            )),
        }
    }

    /// Evaluates an expression that must give a string.
    pub fn eval_string(&mut self, e: &Expr, r: Range) -> Result<StringLiteral, QueryError> {
        match self.eval(e, r)? {
            Val::String(s) => Ok(s),
            _ => Err(QueryError::Execution("expected a string expression".into())),
        }
    }
}

/// Turns a per-step scalar into an `i64` parameter the way Prometheus does
/// for `topk`/`limitk`: NaN and out-of-range values are errors.
pub(crate) fn int_param(v: f64) -> Result<i64, QueryError> {
    if v.is_nan() {
        return Err(QueryError::Execution("Parameter value is NaN".into()));
    }
    // i64::MAX + 1 and i64::MIN as floats.
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
        return Err(QueryError::Execution(format!(
            "Scalar value {} overflows int64",
            crate::value::format_float(v)
        )));
    }
    Ok(v as i64)
}

/// Groups series by an already computed key, remembering first-seen order.
pub(crate) fn group_index<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, usize>,
    key: K,
    next: &mut usize,
) -> usize {
    *map.entry(key).or_insert_with(|| {
        let i = *next;
        *next += 1;
        i
    })
}

/// Kahan–Neumaier summation step as Prometheus 3.x does it.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Labels with the metric name removed. The type and unit labels
/// (`__type__`, `__unit__`) describe the name, so they go with it.
pub(crate) fn drop_name(l: &promlite_model::Labels) -> promlite_model::Labels {
    retain_labels(l, |name| {
        !matches!(name, "__name__" | "__type__" | "__unit__")
    })
}

/// `l` with only the labels whose name `keep` accepts: the kept labels'
/// encoded bytes copied as they are into one new set (one allocation; none
/// when every label is kept or none is). Result series and group labels get
/// one of these per series.
pub(crate) fn retain_labels(
    l: &promlite_model::Labels,
    keep: impl Fn(&str) -> bool,
) -> promlite_model::Labels {
    match l.retain_names(keep) {
        None => l.clone(),
        Some(kept) if kept.is_empty() => empty_labels(),
        Some(kept) => kept,
    }
}

/// The empty label set, shared (a clone is a reference count increment).
pub(crate) fn empty_labels() -> promlite_model::Labels {
    static EMPTY: std::sync::OnceLock<promlite_model::Labels> = std::sync::OnceLock::new();
    EMPTY.get_or_init(promlite_model::Labels::empty).clone()
}

/// Prometheus's `(line:col)` of byte offset `pos` in `query`: 1-based line,
/// column in bytes from the line start, 1-based. `None` for an empty query
/// or an offset past its end.
pub(crate) fn line_col(query: &str, pos: usize) -> Option<(usize, usize)> {
    if query.is_empty() || pos > query.len() {
        return None;
    }
    let before = query.as_bytes().get(..pos)?;
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Some((line, pos - line_start + 1))
}

#[cfg(test)]
mod extreme_tests;
#[cfg(test)]
mod hooked_storage;
#[cfg(test)]
mod newest_tests;
#[cfg(test)]
mod thin_tests;

/// Test inputs: advances the xorshift state `x` and picks from `pool`.
#[cfg(test)]
pub(crate) fn pick(x: &mut u64, pool: &[f64]) -> f64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    pool[(*x % pool.len() as u64) as usize]
}

#[cfg(test)]
mod position_tests {
    use super::line_col;

    #[test]
    fn step_indexes_match_the_division() {
        let r = super::Range {
            start: 1000,
            end: 10_000,
            interval: 1000,
        };
        let pts: Vec<crate::value::FPoint> = [1000, 2000, 4000, 5000, 500, 10_000, 10_000]
            .iter()
            .map(|&t| crate::value::FPoint { t, f: 0.0 })
            .collect();
        let want: Vec<usize> = pts.iter().map(|p| r.index(p.t)).collect();
        assert_eq!(r.indexes(&pts), want);
        assert_eq!(want, vec![0, 1, 3, 4, usize::MAX, 9, 9]);
    }

    #[test]
    fn line_and_column_are_one_based_bytes() {
        assert_eq!(
            line_col("histogram_quantile(0.8, series)", 24),
            Some((1, 25))
        );
        assert_eq!(line_col("sum(\n  rate(x[5m]))", 7), Some((2, 3)));
        assert_eq!(line_col("a\nb", 2), Some((2, 1)));
        assert_eq!(line_col("", 0), None);
        assert_eq!(line_col("abc", 4), None);
    }
}
