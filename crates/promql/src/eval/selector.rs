//! Vector selectors, matrix selectors and subqueries.
//!
//! Each selected series is loaded once for the whole query range; the steps
//! are then walked with monotonic cursors.

use promlite_model::{is_stale_nan, Labels, SelectHints};

use super::functions::extended::{extend_floats, smoothed_value};
use super::parallel::{read_series, Metric, Read};
use super::{Evaluator, Range, Val};
use crate::ast::{Boundary, MatrixSelector, SubqueryExpr, VectorSelector};
use crate::error::QueryError;
use crate::value::{FPoint, Series};

/// Raw samples of one series.
pub(crate) type Samples = Vec<(i64, f64)>;

/// Where per-series results go, in series order: the evaluator, the
/// series' labels (asked for only if needed) and its points.
pub(crate) type PointSink<'s, E> =
    dyn FnMut(&mut E, Metric<'_>, Vec<FPoint>) -> Result<(), QueryError> + 's;

/// Where the series of a range vector come from.
pub(crate) enum Source<'e> {
    /// Already evaluated (subqueries): series with samples in time order.
    Loaded(Vec<(Labels, Samples)>),
    /// A matrix selector, read from storage one series at a time when
    /// walked: samples with `mint < t <= maxt`, no staleness markers.
    Select {
        selector: &'e VectorSelector,
        mint: i64,
        maxt: i64,
    },
}

/// The input of a function over a range vector: its series, and for every
/// step the end of the window `(end - range, end]`.
pub(crate) struct RangeInput<'e> {
    /// The series.
    pub source: Source<'e>,
    /// The window length in ms.
    pub range: i64,
    /// Window end per step.
    pub ends: Vec<i64>,
    /// The selector's `anchored` / `smoothed` modifier. With one, the
    /// samples handed to a function reach `pre` ms further back (and
    /// `post` ms further forward) than the window, so it can find the
    /// values at the window's edges: `(end - range - pre, end + post]`.
    pub boundary: Boundary,
    /// See `boundary`.
    pub pre: i64,
    /// See `boundary`.
    pub post: i64,
}

impl RangeInput<'_> {
    /// Calls `f(step, window)` for every step whose window is non-empty.
    /// Both window edges only move forward, so a series costs
    /// O(samples + steps).
    pub fn windows(&self, samples: &[(i64, f64)], mut f: impl FnMut(usize, &[(i64, f64)])) {
        self.windows_at(samples, |i, _, w| f(i, w));
    }

    /// [`RangeInput::windows`], also giving the window's first index in
    /// `samples`: `f(step, first, window)`.
    pub fn windows_at(
        &self,
        samples: &[(i64, f64)],
        mut f: impl FnMut(usize, usize, &[(i64, f64)]),
    ) {
        let n = samples.len();
        let (mut lo, mut hi) = (0usize, 0usize);
        for (i, &end) in self.ends.iter().enumerate() {
            let start = end.saturating_sub(self.range).saturating_sub(self.pre);
            let end = end.saturating_add(self.post);
            if end < start {
                continue;
            }
            // Ends are normally increasing; a decreasing one (impossible for
            // the step grid, kept safe anyway) restarts the scan.
            if hi > 0 && samples.get(hi - 1).is_some_and(|s| s.0 > end) {
                lo = 0;
                hi = 0;
            }
            if hi == 0 {
                // The first window (an instant query's only one) may hold
                // many samples: binary searches (samples are in time order).
                // Later steps move a few samples each: scanned.
                hi = samples.partition_point(|s| s.0 <= end);
                lo = samples
                    .get(..hi)
                    .map_or(0, |w| w.partition_point(|s| s.0 <= start));
            }
            while hi < n && samples.get(hi).is_some_and(|s| s.0 <= end) {
                hi += 1;
            }
            while lo < hi && samples.get(lo).is_some_and(|s| s.0 <= start) {
                lo += 1;
            }
            if lo < hi {
                if let Some(w) = samples.get(lo..hi) {
                    f(i, lo, w);
                }
            }
        }
    }

    /// Whether the input is a plain matrix selector at a single step whose
    /// window `(end - range, end]` is exactly the selected range, so every
    /// sample read is in the window.
    pub fn whole_selection(&self) -> bool {
        let [end] = self.ends[..] else {
            return false;
        };
        match self.source {
            Source::Select { mint, maxt, .. } => {
                self.boundary == Boundary::Plain
                    && self.pre == 0
                    && self.post == 0
                    && maxt == end
                    && mint == end.saturating_sub(self.range)
                    && mint < maxt
            }
            Source::Loaded(_) => false,
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
        let boundary = self.boundary;
        ev.each_range_series(&self, |_, metric, samples| {
            let mut floats = Vec::new();
            self.windows(samples, |i, w| match boundary {
                Boundary::Plain => floats.extend(w.iter().map(|&(t, f)| FPoint { t, f })),
                _ => {
                    let end = self.ends.get(i).copied().unwrap_or(0);
                    let start = end.saturating_sub(self.range);
                    floats = extend_floats(w, start, end, boundary == Boundary::Smoothed);
                }
            });
            if !floats.is_empty() {
                out.push(Series {
                    metric: metric.clone(),
                    floats,
                });
            }
            Ok(())
        })?;
        ev.add_samples(out.iter().map(|s| s.floats.len()).sum())?;
        Ok(Val::Matrix(out))
    }
}

impl Evaluator<'_> {
    /// Calls `f` with every series matching `vs` that has samples with
    /// `mint < t <= maxt`, and those samples (staleness markers only with
    /// `keep_stale`). Each series is decoded once, into one reused buffer.
    pub(crate) fn for_each_series(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        keep_stale: bool,
        mut f: impl FnMut(&mut Self, &Labels, &[(i64, f64)]) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        if maxt <= mint {
            return Ok(());
        }
        let storage = self.storage;
        let querier = storage.querier(mint.saturating_add(1), maxt)?;
        let hints = SelectHints {
            start: mint.saturating_add(1),
            end: maxt,
            ..Default::default()
        };
        let sets = querier.select(&hints, &vs.matchers)?;
        let mut buf: Samples = Vec::new();
        for s in sets.iter() {
            self.check()?;
            read_series(s.as_ref(), mint, maxt, Read::All { keep_stale }, &mut buf)?;
            // Raw samples are not counted (as in Prometheus): what a node
            // produces is, and so is each window a range function holds.
            if !buf.is_empty() {
                f(self, s.labels(), &buf)?;
            }
        }
        Ok(())
    }

    /// Maps every series of a range vector input with `map` (on several
    /// threads for a selector with many series) and hands the results to
    /// `sink` in series order; see [`Evaluator::map_selected`].
    pub(crate) fn map_range_series<T: Send>(
        &mut self,
        input: &RangeInput,
        map: impl Fn(&[(i64, f64)]) -> Option<T> + Sync,
        mut sink: impl FnMut(&mut Self, Metric<'_>, T) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        match &input.source {
            Source::Loaded(series) => {
                for (l, s) in series {
                    self.check()?;
                    if let Some(t) = map(s) {
                        sink(self, Metric::Labels(l), t)?;
                    }
                }
                Ok(())
            }
            Source::Select {
                selector,
                mint,
                maxt,
            } => self.map_selected(selector, *mint, *maxt, false, map, sink),
        }
    }

    /// [`Evaluator::map_range_series`] for a function at a single step
    /// whose window is the whole selection, read as `read` says: storage
    /// may leave out the middle of runs that never fall ([`Read::Thin`],
    /// for `rate`/`increase`) or fold runs into their extreme
    /// ([`Read::Extreme`], for `max_over_time`/`min_over_time`), and `map`
    /// gets the number of samples left out. Any other input is read whole
    /// (0 left out).
    pub(crate) fn map_range_series_as<T: Send>(
        &mut self,
        input: &RangeInput,
        read: Read,
        map: impl Fn(&[(i64, f64)], usize) -> Option<T> + Sync,
        sink: impl FnMut(&mut Self, Metric<'_>, T) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        match &input.source {
            Source::Select {
                selector,
                mint,
                maxt,
            } if input.whole_selection() => {
                self.map_selected_counted(selector, *mint, *maxt, read, map, sink)
            }
            _ => self.map_range_series(input, |s| map(s, 0), sink),
        }
    }

    /// Calls `f` with every series of a range vector input and its samples.
    pub(crate) fn each_range_series(
        &mut self,
        input: &RangeInput,
        mut f: impl FnMut(&mut Self, &Labels, &[(i64, f64)]) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        match &input.source {
            Source::Loaded(series) => {
                for (l, s) in series {
                    self.check()?;
                    f(self, l, s)?;
                }
                Ok(())
            }
            Source::Select {
                selector,
                mint,
                maxt,
            } => self.for_each_series(selector, *mint, *maxt, false, f),
        }
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
        let mut out = Vec::new();
        self.selector_points_each(vs, r, timestamps, &mut |_, metric, floats| {
            out.push(Series {
                metric: metric.labels().clone(),
                floats,
            });
            Ok(())
        })?;
        Ok(out)
    }

    /// Like [`Evaluator::eval_selector_points`], handing each series with
    /// points to `sink` in series order instead of collecting them.
    pub(crate) fn selector_points_each(
        &mut self,
        vs: &VectorSelector,
        r: Range,
        timestamps: bool,
        sink: &mut PointSink<'_, Self>,
    ) -> Result<(), QueryError> {
        let refs = self.ref_times(&vs.at, vs.offset, r);
        let (Some(&first), Some(&last)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(());
        };
        let lookback = self.lookback;
        let refs = &refs;
        if vs.boundary == Boundary::Smoothed && !timestamps {
            // The value at each reference time, interpolated between the
            // samples around it within the lookback delta on either side;
            // staleness markers are not samples here (as in Prometheus).
            let points = |samples: &[(i64, f64)]| -> Option<Vec<FPoint>> {
                let mut floats = Vec::new();
                for (i, &rt) in refs.iter().enumerate() {
                    let lo = samples.partition_point(|x| x.0 <= rt.saturating_sub(lookback));
                    let hi = samples.partition_point(|x| x.0 <= rt.saturating_add(lookback));
                    let near = samples.get(lo..hi).unwrap_or(&[]);
                    if let Some(f) = smoothed_value(near, rt) {
                        floats.push(FPoint { t: r.ts(i), f });
                    }
                }
                (!floats.is_empty()).then_some(floats)
            };
            return self.map_selected(
                vs,
                first.saturating_sub(lookback),
                last.saturating_add(lookback),
                false,
                points,
                |ev, metric, floats| {
                    ev.add_samples(floats.len())?;
                    sink(ev, metric, floats)
                },
            );
        }
        // Checked once for all series.
        let rising = refs.is_sorted();
        let points = |samples: &[(i64, f64)]| -> Option<Vec<FPoint>> {
            let floats = if timestamps {
                step_points::<true>(samples, refs, rising, lookback, r)
            } else {
                step_points::<false>(samples, refs, rising, lookback, r)
            };
            (!floats.is_empty()).then_some(floats)
        };
        // At a single time (an instant query, a range query of one step, or
        // an `@` time) only each series' newest sample in the lookback
        // window matters, whether a staleness marker or not: storage finds
        // it without decoding the others.
        let read = if first == last {
            Read::Newest
        } else {
            Read::All { keep_stale: true }
        };
        self.map_selected_read(
            vs,
            first.saturating_sub(lookback),
            last,
            read,
            points,
            |ev, metric, floats| {
                ev.add_samples(floats.len())?;
                sink(ev, metric, floats)
            },
        )
    }

    /// Evaluates an instant vector selector.
    pub(crate) fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        r: Range,
    ) -> Result<Val, QueryError> {
        Ok(Val::Vector(self.eval_selector_points(vs, r, false)?))
    }

    /// What a matrix selector needs for every step of `r` (read from storage
    /// when walked).
    pub(crate) fn matrix_selector_input<'e>(
        &mut self,
        ms: &'e MatrixSelector,
        r: Range,
    ) -> Result<RangeInput<'e>, QueryError> {
        let ends = self.ref_times(&ms.selector.at, ms.selector.offset, r);
        let boundary = ms.selector.boundary;
        let (pre, post) = match boundary {
            Boundary::Plain => (0, 0),
            Boundary::Anchored => (self.lookback, 0),
            Boundary::Smoothed => (self.lookback, self.lookback),
        };
        let (Some(&first), Some(&last)) = (ends.iter().min(), ends.iter().max()) else {
            return Ok(RangeInput {
                source: Source::Loaded(Vec::new()),
                range: ms.range,
                ends,
                boundary,
                pre,
                post,
            });
        };
        Ok(RangeInput {
            source: Source::Select {
                selector: &ms.selector,
                mint: first.saturating_sub(ms.range).saturating_sub(pre),
                maxt: last.saturating_add(post),
            },
            range: ms.range,
            ends,
            boundary,
            pre,
            post,
        })
    }

    /// Evaluates a subquery's inner expression over every step it needs.
    pub(crate) fn subquery_input(
        &mut self,
        sq: &SubqueryExpr,
        r: Range,
    ) -> Result<RangeInput<'static>, QueryError> {
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
                source: Source::Loaded(Vec::new()),
                range: sq.range,
                ends,
                boundary: Boundary::Plain,
                pre: 0,
                post: 0,
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
            source: Source::Loaded(series),
            range: sq.range,
            ends,
            boundary: Boundary::Plain,
            pre: 0,
            post: 0,
        })
    }
}

/// The points of an instant vector selector over the reference times
/// `refs` (one per step of `r`; `rising` when they do not fall, which
/// the caller checks once for all series): per step, the newest sample at or before
/// it within the lookback, unless that is a staleness marker; its value,
/// or with `TS` its timestamp in seconds. A function of its own with the
/// choice between value and timestamp made at compile time: in the
/// selector's closure the timestamp's division was computed for every
/// step, whether used or not.
fn step_points<const TS: bool>(
    samples: &[(i64, f64)],
    refs: &[i64],
    rising: bool,
    lookback: i64,
    r: Range,
) -> Vec<FPoint> {
    // At most one point per step and per sample: sized once, not grown
    // step by step.
    let mut floats = Vec::with_capacity(refs.len().min(samples.len()));
    let Some(&first) = refs.first() else {
        return floats;
    };
    // A sample at or before the reference time is in its lookback window
    // when it is less than `lookback` older (`rt - t` is exact as `u64`);
    // a lookback of zero or less admits none.
    let window = u64::try_from(lookback).unwrap_or(0);
    let mut point = |i: usize, rt: i64, hi: usize| {
        // `hi` is past the newest sample at or before `rt` (0: none).
        if let Some(&(t, v)) = samples.get(hi.wrapping_sub(1)) {
            if (rt.wrapping_sub(t) as u64) < window && !is_stale_nan(v) {
                let f = if TS { t as f64 / 1000.0 } else { v };
                floats.push(FPoint { t: r.ts(i), f });
            }
        }
    };
    // Reference times are one `@` time or the steps, so they do not fall;
    // checked once rather than at every step. Then each step's
    // sample is found from the previous step's (a range query's steps are
    // a few samples apart), after a binary search for the first (an
    // instant query's lookback window may hold many): regular scrapes put
    // as many samples in each step, so two comparisons check that this
    // step advances as far as the last one did, and only where that fails
    // are the samples walked one by one.
    if rising {
        let mut hi = samples.partition_point(|x| x.0 <= first);
        let mut adv = 0usize;
        for (i, &rt) in refs.iter().enumerate() {
            let guess = hi + adv;
            if adv > 0
                && samples.get(guess - 1).is_some_and(|x| x.0 <= rt)
                && samples.get(guess).is_none_or(|x| x.0 > rt)
            {
                hi = guess;
            } else {
                let from = hi;
                while samples.get(hi).is_some_and(|x| x.0 <= rt) {
                    hi += 1;
                }
                adv = hi - from;
            }
            point(i, rt, hi);
        }
    } else {
        for (i, &rt) in refs.iter().enumerate() {
            point(i, rt, samples.partition_point(|x| x.0 <= rt));
        }
    }
    floats
}

#[cfg(test)]
mod tests {
    use super::{RangeInput, Source};
    use crate::ast::Boundary;

    /// Every step's window found by filtering all samples.
    fn naive(input: &RangeInput, samples: &[(i64, f64)]) -> Vec<(usize, Vec<i64>)> {
        let mut out = Vec::new();
        for (i, &end) in input.ends.iter().enumerate() {
            let start = end - input.range - input.pre;
            let end = end + input.post;
            let w: Vec<i64> = samples
                .iter()
                .map(|s| s.0)
                .filter(|&t| t > start && t <= end)
                .collect();
            if !w.is_empty() {
                out.push((i, w));
            }
        }
        out
    }

    #[test]
    fn windows_hold_the_samples_of_each_step() {
        let samples: Vec<(i64, f64)> = (0..500).map(|k| (k * 15 + k % 7, 0.0)).collect();
        let grids: [Vec<i64>; 4] = [
            vec![7_000],                          // an instant query
            (100..7_600).step_by(60).collect(),   // a range query
            (-500..300).step_by(100).collect(),   // steps before the first sample
            vec![3_000, 3_100, 50, 4_000, 9_000], // a decreasing end restarts
        ];
        for ends in grids {
            for (range, pre, post) in [(300, 0, 0), (3_600, 0, 0), (10, 0, 0), (300, 60, 30)] {
                let input = RangeInput {
                    source: Source::Loaded(Vec::new()),
                    range,
                    ends: ends.clone(),
                    boundary: Boundary::Plain,
                    pre,
                    post,
                };
                let mut got = Vec::new();
                input.windows(&samples, |i, w| {
                    got.push((i, w.iter().map(|s| s.0).collect()))
                });
                assert_eq!(got, naive(&input, &samples), "ends {ends:?} range {range}");
            }
        }
    }

    /// `step_points` against a filter of all samples per step, for
    /// reference times that rise (steps), stay (`@`) or fall, lookbacks
    /// down to zero and below, staleness markers, and steps before the
    /// first sample and after the last.
    #[test]
    fn step_points_match_a_filter_of_every_sample() {
        use super::step_points;
        use crate::eval::Range;
        use promlite_model::STALE_NAN;
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for case in 0..400 {
            let mut t = next(50) as i64 - 20;
            // Every other case a regular scrape interval (a few samples
            // per step, as many in each), sometimes with a gap.
            let every = (case % 2 == 0).then(|| 1 + next(6) as i64);
            let samples: Vec<(i64, f64)> = (0..next(80))
                .map(|i| {
                    t += match every {
                        Some(e) if next(25) != 0 => e,
                        _ => 1 + next(20) as i64,
                    };
                    let v = if next(7) == 0 { STALE_NAN } else { i as f64 };
                    (t, v)
                })
                .collect();
            let r = Range {
                start: next(30) as i64 - 10,
                end: 0,
                interval: 1 + next(15) as i64,
            };
            let n = next(60) as usize;
            let refs: Vec<i64> = match case % 3 {
                0 => (0..n).map(|i| r.ts(i)).collect(),
                1 => vec![next(400) as i64 - 20; n],
                _ => (0..n).map(|_| next(400) as i64 - 20).collect(),
            };
            let lookback = next(40) as i64 - 3;
            let want = |ts: bool| -> Vec<(i64, u64)> {
                refs.iter()
                    .enumerate()
                    .filter_map(|(i, &rt)| {
                        let &(t, v) = samples.iter().rev().find(|s| s.0 <= rt)?;
                        (t > rt - lookback && v.to_bits() != STALE_NAN.to_bits()).then(|| {
                            let f = if ts { t as f64 / 1000.0 } else { v };
                            (r.ts(i), f.to_bits())
                        })
                    })
                    .collect()
            };
            let got = |p: Vec<crate::value::FPoint>| -> Vec<(i64, u64)> {
                p.iter().map(|p| (p.t, p.f.to_bits())).collect()
            };
            let what = format!("case {case}: {samples:?} {refs:?} lookback {lookback}");
            assert_eq!(
                got(step_points::<false>(
                    &samples,
                    &refs,
                    refs.is_sorted(),
                    lookback,
                    r
                )),
                want(false),
                "{what}"
            );
            assert_eq!(
                got(step_points::<true>(
                    &samples,
                    &refs,
                    refs.is_sorted(),
                    lookback,
                    r
                )),
                want(true),
                "{what}"
            );
        }
    }
}
