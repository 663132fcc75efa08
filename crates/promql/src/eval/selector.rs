//! Vector selectors, matrix selectors and subqueries.
//!
//! Each selected series is loaded once for the whole query range; the steps
//! are then walked with monotonic cursors.

use promlite_model::{is_stale_nan, Labels, SelectHints, ValueType};

use super::{Evaluator, Range, Val};
use crate::ast::{MatrixSelector, SubqueryExpr, VectorSelector};
use crate::error::QueryError;
use crate::value::{FPoint, Series};

/// Raw samples of one series.
pub(crate) type Samples = Vec<(i64, f64)>;

/// The input of a function over a range vector: series with their samples,
/// and for every step the end of the window `(end - range, end]`.
pub(crate) struct RangeInput {
    /// Series with samples in time order (no staleness markers).
    pub series: Vec<(Labels, Samples)>,
    /// The window length in ms.
    pub range: i64,
    /// Window end per step.
    pub ends: Vec<i64>,
}

impl RangeInput {
    /// Calls `f(step, window)` for every step whose window is non-empty.
    pub fn windows(&self, samples: &[(i64, f64)], mut f: impl FnMut(usize, &[(i64, f64)])) {
        let (mut lo, mut hi) = (0usize, 0usize);
        for (i, &end) in self.ends.iter().enumerate() {
            let start = end.saturating_sub(self.range);
            if hi > samples.len() || lo > hi {
                break;
            }
            hi += samples[hi..].partition_point(|s| s.0 <= end);
            lo += samples[lo..].partition_point(|s| s.0 <= start);
            if lo < hi {
                if let Some(w) = samples.get(lo..hi) {
                    f(i, w);
                }
            }
        }
    }

    /// The range vector at a single step (instant queries).
    pub fn into_matrix(self, ev: &mut Evaluator, r: Range) -> Result<Val, QueryError> {
        if r.len() != 1 {
            return Err(QueryError::Execution(
                "range vectors can only be evaluated at a single time (instant query)".into(),
            ));
        }
        let mut out = Vec::new();
        for (metric, samples) in &self.series {
            let mut floats = Vec::new();
            self.windows(samples, |_, w| {
                floats.extend(w.iter().map(|&(t, f)| FPoint { t, f }))
            });
            if !floats.is_empty() {
                out.push(Series {
                    metric: metric.clone(),
                    floats,
                });
            }
        }
        ev.add_samples(out.iter().map(|s| s.floats.len()).sum())?;
        Ok(Val::Matrix(out))
    }
}

impl Evaluator<'_> {
    /// Loads the samples of every series matching `vs` with `mint < t <= maxt`.
    pub(crate) fn load(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        keep_stale: bool,
    ) -> Result<Vec<(Labels, Samples)>, QueryError> {
        if maxt <= mint {
            return Ok(Vec::new());
        }
        let querier = self.storage.querier(mint.saturating_add(1), maxt)?;
        let hints = SelectHints {
            start: mint.saturating_add(1),
            end: maxt,
            ..Default::default()
        };
        let sets = querier.select(&hints, &vs.matchers)?;
        let mut out = Vec::with_capacity(sets.len());
        for s in sets.iter() {
            self.check()?;
            let mut it = s.iter();
            let mut samples = Vec::new();
            let mut vt = it.seek(mint.saturating_add(1));
            while vt == ValueType::Float {
                let (t, v) = it.at();
                if t > maxt {
                    break;
                }
                if t > mint && (keep_stale || !is_stale_nan(v)) {
                    samples.push((t, v));
                }
                vt = it.next();
            }
            if let Some(e) = it.err() {
                return Err(e.into());
            }
            // Raw samples are not counted (as in Prometheus): what a node
            // produces is, and so is each window a range function holds.
            if !samples.is_empty() {
                out.push((s.labels().clone(), samples));
            }
        }
        Ok(out)
    }

    /// The reference time per step of a selector: the `@` time or the step,
    /// minus the offset.
    fn ref_times(&self, at: &Option<crate::ast::AtModifier>, offset: i64, r: Range) -> Vec<i64> {
        let at = self.at_time(at);
        r.iter()
            .map(|t| at.unwrap_or(t).saturating_sub(offset))
            .collect()
    }

    /// An instant vector selector. With `timestamps`, the value of each
    /// point is the sample's timestamp in seconds (for `timestamp()`).
    pub(crate) fn eval_selector_points(
        &mut self,
        vs: &VectorSelector,
        r: Range,
        timestamps: bool,
    ) -> Result<Vec<Series>, QueryError> {
        let refs = self.ref_times(&vs.at, vs.offset, r);
        let (Some(&first), Some(&last)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(Vec::new());
        };
        let loaded = self.load(vs, first.saturating_sub(self.lookback), last, true)?;
        let mut out = Vec::with_capacity(loaded.len());
        for (metric, samples) in loaded {
            self.check()?;
            let mut floats = Vec::new();
            let mut hi = 0usize;
            for (i, &rt) in refs.iter().enumerate() {
                hi += samples
                    .get(hi..)
                    .map(|s| s.partition_point(|x| x.0 <= rt))
                    .unwrap_or(0);
                if hi == 0 {
                    continue;
                }
                if let Some(&(t, v)) = samples.get(hi - 1) {
                    if t > rt.saturating_sub(self.lookback) && !is_stale_nan(v) {
                        let f = if timestamps { t as f64 / 1000.0 } else { v };
                        floats.push(FPoint { t: r.ts(i), f });
                    }
                }
            }
            if !floats.is_empty() {
                self.add_samples(floats.len())?;
                out.push(Series { metric, floats });
            }
        }
        Ok(out)
    }

    /// Evaluates an instant vector selector.
    pub(crate) fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        r: Range,
    ) -> Result<Val, QueryError> {
        Ok(Val::Vector(self.eval_selector_points(vs, r, false)?))
    }

    /// Loads what a matrix selector needs for every step of `r`.
    pub(crate) fn matrix_selector_input(
        &mut self,
        ms: &MatrixSelector,
        r: Range,
    ) -> Result<RangeInput, QueryError> {
        let ends = self.ref_times(&ms.selector.at, ms.selector.offset, r);
        let (Some(&first), Some(&last)) = (ends.iter().min(), ends.iter().max()) else {
            return Ok(RangeInput {
                series: Vec::new(),
                range: ms.range,
                ends,
            });
        };
        let series = self.load(&ms.selector, first.saturating_sub(ms.range), last, false)?;
        Ok(RangeInput {
            series,
            range: ms.range,
            ends,
        })
    }

    /// Evaluates a subquery's inner expression over every step it needs.
    pub(crate) fn subquery_input(
        &mut self,
        sq: &SubqueryExpr,
        r: Range,
    ) -> Result<RangeInput, QueryError> {
        let at = self.at_time(&sq.at);
        let interval = sq.step.unwrap_or(self.default_interval);
        if interval <= 0 {
            return Err(QueryError::Execution(
                "subquery step must be positive".into(),
            ));
        }
        let (outer_start, outer_end) = match at {
            Some(a) => (a, a),
            None => (r.start, r.end),
        };
        let lo = outer_start
            .saturating_sub(sq.offset)
            .saturating_sub(sq.range);
        let mut start = interval.saturating_mul(lo / interval);
        if start <= lo {
            start = start.saturating_add(interval);
        }
        let inner = Range {
            start,
            end: outer_end.saturating_sub(sq.offset),
            interval,
        };
        let ends = self.ref_times(&sq.at, sq.offset, r);
        if inner.end < inner.start {
            return Ok(RangeInput {
                series: Vec::new(),
                range: sq.range,
                ends,
            });
        }
        let series = match self.eval(&sq.expr, inner)? {
            Val::Vector(v) => v
                .into_iter()
                .map(|s| (s.metric, s.floats.into_iter().map(|p| (p.t, p.f)).collect()))
                .collect(),
            Val::Scalar(v) => {
                vec![(
                    Labels::empty(),
                    v.into_iter()
                        .enumerate()
                        .map(|(i, f)| (inner.ts(i), f))
                        .collect(),
                )]
            }
            _ => {
                return Err(QueryError::Execution(
                    "subquery is only allowed on instant vector".into(),
                ))
            }
        };
        Ok(RangeInput {
            series,
            range: sq.range,
            ends,
        })
    }
}
