//! Extended range selectors: the `anchored` and `smoothed` modifiers
//! (Prometheus 3.7+, stable and always on since 3.15).
//!
//! With either modifier a window `(start, end]` is handed to its function
//! together with the samples up to one lookback delta before `start`
//! (and, for `smoothed`, after `end`). The values *at* the window's edges
//! then come from those samples instead of from extrapolation:
//!
//! * `anchored`: the last sample at or before `start` stands for the value
//!   at `start` (the first sample in the window when there is none), the
//!   last sample in the window for the value at `end`;
//! * `smoothed`: both edge values are interpolated linearly between the
//!   samples on either side of the edge (a counter is taken to restart from
//!   0 when the later sample is lower).
//!
//! Samples are `(t_ms, value)` in time order.

/// Linear interpolation at `t` between `p1` and `p2`; for a counter that
/// dropped between them, from 0 (the restart) instead of `p1`'s value.
fn interpolate(p1: (i64, f64), p2: (i64, f64), t: i64, is_counter: bool) -> f64 {
    let (t1, mut y1) = p1;
    let (t2, y2) = p2;
    if is_counter && y2 < y1 {
        y1 = 0.0;
    }
    y1 + (y2 - y1) * (t.saturating_sub(t1)) as f64 / (t2.saturating_sub(t1)) as f64
}

/// The edges of a window over `s`: the index standing for the window's
/// start and the one standing for its end, or `None` when the window holds
/// nothing to measure. Prometheus's index arithmetic, which both
/// [`extended_rate`] and [`extend_floats`] use.
fn edges(s: &[(i64, f64)], start: i64, end: i64, smoothed: bool) -> Option<(usize, usize)> {
    let mut last = s.len().checked_sub(1)?;
    let before = s.get(..last)?;
    // The last sample at or before `start` (index 0 if there is none).
    let first = before.partition_point(|p| p.0 <= start).saturating_sub(1);
    if smoothed {
        // The first sample at or after `end` (the last one if none).
        last = before.partition_point(|p| p.0 < end);
    }
    if s.get(last)?.0 <= start {
        return None;
    }
    if smoothed && s.get(first)?.0 > end {
        return None;
    }
    Some((first, last))
}

/// The samples from `first` to `last` without those at or outside the
/// window's edges (which the edge values stand for).
fn inner(s: &[(i64, f64)], first: usize, last: usize, start: i64, end: i64) -> &[(i64, f64)] {
    let lo = first + usize::from(s.get(first).is_some_and(|p| p.0 <= start));
    let hi = (last + 1).saturating_sub(usize::from(s.get(last).is_some_and(|p| p.0 >= end)));
    s.get(lo..hi).unwrap_or(&[])
}

/// The value at the window's start: picked, or interpolated (`smoothed`)
/// when the chosen sample lies before it.
fn left_value(s: &[(i64, f64)], first: usize, start: i64, smoothed: bool, counter: bool) -> f64 {
    match (s.get(first), s.get(first + 1)) {
        (Some(&a), Some(&b)) if smoothed && a.0 < start => interpolate(a, b, start, counter),
        (Some(&a), _) => a.1,
        _ => f64::NAN,
    }
}

/// The value at the window's end: picked, or interpolated (`smoothed`) when
/// the chosen sample lies after it.
fn right_value(s: &[(i64, f64)], last: usize, end: i64, smoothed: bool, counter: bool) -> f64 {
    let prev = last.checked_sub(1).and_then(|i| s.get(i));
    match (prev, s.get(last)) {
        (Some(&a), Some(&b)) if smoothed && b.0 > end => interpolate(a, b, end, counter),
        (_, Some(&b)) => b.1,
        _ => f64::NAN,
    }
}

/// `rate`, `increase` and `delta` with `anchored` or `smoothed`
/// (Prometheus's `extendedRate`): the difference between the values at the
/// window's edges, plus, for counters, every drop inside the window; divided
/// by the range in seconds for `rate`. `s` is the extended window, `start`
/// and `end` the window itself.
pub(crate) fn extended_rate(
    s: &[(i64, f64)],
    start: i64,
    end: i64,
    range_s: f64,
    is_counter: bool,
    is_rate: bool,
    smoothed: bool,
) -> Option<f64> {
    let (first, last) = edges(s, start, end, smoothed)?;
    let left = left_value(s, first, start, smoothed, is_counter);
    let right = right_value(s, last, end, smoothed, is_counter);
    let mut result = right - left;
    if is_counter {
        // Only samples strictly inside the window count here: the edge
        // values already account for resets at the edges.
        let mut prev = left;
        for &(_, v) in inner(s, first, last, start, end) {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
        if right < prev {
            result += prev;
        }
    }
    if is_rate {
        result /= range_s;
    }
    Some(result)
}

/// The samples `changes` and `resets` see with `anchored`: from the last
/// sample at or before `start` (or the first one after it), or `None` when
/// no sample lies after `start`.
pub(crate) fn anchored_samples(s: &[(i64, f64)], start: i64) -> Option<&[(i64, f64)]> {
    let after = s.partition_point(|p| p.0 <= start);
    if after >= s.len() {
        return None;
    }
    s.get(after.saturating_sub(1)..)
}

/// A range vector's points with `anchored` / `smoothed` (an instant query
/// whose answer is the matrix; Prometheus's `extendFloats`): the edge values
/// as points at `start` and `end`, and the samples strictly between.
pub(crate) fn extend_floats(
    s: &[(i64, f64)],
    start: i64,
    end: i64,
    smoothed: bool,
) -> Vec<crate::value::FPoint> {
    use crate::value::FPoint;
    let Some((first, last)) = edges(s, start, end, smoothed) else {
        return Vec::new();
    };
    let left = left_value(s, first, start, smoothed, false);
    let right = right_value(s, last, end, smoothed, false);
    let inner = inner(s, first, last, start, end);
    let mut out = Vec::with_capacity(inner.len() + 2);
    out.push(FPoint { t: start, f: left });
    out.extend(inner.iter().map(|&(t, f)| FPoint { t, f }));
    out.push(FPoint { t: end, f: right });
    out
}

/// The value of a `smoothed` instant selector at `t`, from the samples in
/// `(t - lookback, t + lookback]`: the sample at `t`, else the line between
/// its neighbours, else the last sample before `t`; `None` when every
/// sample is after `t`.
pub(crate) fn smoothed_value(s: &[(i64, f64)], t: i64) -> Option<f64> {
    let i = s.partition_point(|p| p.0 < t);
    match (i.checked_sub(1).and_then(|j| s.get(j)), s.get(i)) {
        (_, Some(&(ti, v))) if ti == t => Some(v),
        (Some(&a), Some(&b)) => Some(interpolate(a, b, t, false)),
        (Some(&a), None) => Some(a.1),
        (None, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<(i64, f64)> {
        v.to_vec()
    }

    #[test]
    fn anchored_increase_uses_the_sample_before_the_window() {
        // Samples every 15 s; window (45 s, 105 s] at 105 s with 5 m lookback.
        let s = pts(&[
            (30_000, 3.0),
            (45_000, 4.0),
            (60_000, 5.0),
            (90_000, 7.0),
            (105_000, 8.0),
        ]);
        let v = extended_rate(&s, 45_000, 105_000, 60.0, true, false, false);
        assert_eq!(v, Some(4.0));
        // No sample after the window start: nothing to measure.
        assert_eq!(
            extended_rate(&s[..2], 45_000, 105_000, 60.0, true, false, false),
            None
        );
    }

    #[test]
    fn anchored_counter_resets_are_added() {
        // 5, 8 (reset) 3, 6: increase 3 + 8 = ... left 5, right 6, drop at 3.
        let s = pts(&[(0, 5.0), (10_000, 8.0), (20_000, 3.0), (30_000, 6.0)]);
        assert_eq!(
            extended_rate(&s, 0, 30_000, 30.0, true, false, false),
            Some(9.0)
        );
        // delta ignores resets.
        assert_eq!(
            extended_rate(&s, 0, 30_000, 30.0, false, false, false),
            Some(1.0)
        );
    }

    #[test]
    fn smoothed_interpolates_both_edges() {
        // 0 at 0 s, 10 at 10 s, 20 at 20 s; window (5 s, 15 s] → 15 - 5.
        let s = pts(&[(0, 0.0), (10_000, 10.0), (20_000, 20.0)]);
        assert_eq!(
            extended_rate(&s, 5_000, 15_000, 10.0, true, false, true),
            Some(10.0)
        );
        assert_eq!(
            extended_rate(&s, 5_000, 15_000, 10.0, true, true, true),
            Some(1.0)
        );
        // Counter reset between the edge samples: interpolated from 0.
        let r = pts(&[(0, 10.0), (10_000, 2.0)]);
        assert_eq!(
            extended_rate(&r, 0, 5_000, 5.0, true, false, true),
            Some(1.0)
        );
    }

    #[test]
    fn smoothed_is_empty_without_samples_on_both_sides() {
        let s = pts(&[(10_000, 5.0), (20_000, 6.0)]);
        assert_eq!(extended_rate(&s, 0, 5_000, 5.0, true, false, true), None);
        assert_eq!(
            extended_rate(&s, 60_000, 65_000, 5.0, true, false, true),
            None
        );
    }

    #[test]
    fn anchored_samples_start_at_the_anchor() {
        let s = pts(&[(0, 1.0), (60_000, 2.0), (120_000, 3.0)]);
        assert_eq!(anchored_samples(&s, 60_000), Some(&s[1..]));
        assert_eq!(anchored_samples(&s, 59_999), Some(&s[0..]));
        assert_eq!(anchored_samples(&s, 120_000), None);
        assert_eq!(anchored_samples(&s[1..], -5), Some(&s[1..]));
    }

    #[test]
    fn smoothed_instant_values() {
        let s = pts(&[(0, 1.0), (10_000, 2.0)]);
        assert_eq!(smoothed_value(&s, 10_000), Some(2.0));
        assert_eq!(smoothed_value(&s, 5_000), Some(1.5));
        assert_eq!(smoothed_value(&s, 15_000), Some(2.0));
        assert_eq!(smoothed_value(&s, -1), None);
    }

    #[test]
    fn extended_points_carry_the_edges() {
        let s = pts(&[(0, 0.0), (10_000, 10.0), (20_000, 20.0)]);
        let p = extend_floats(&s, 5_000, 15_000, true);
        let got: Vec<(i64, f64)> = p.iter().map(|x| (x.t, x.f)).collect();
        assert_eq!(got, vec![(5_000, 5.0), (10_000, 10.0), (15_000, 15.0)]);
        let a = extend_floats(&s, 10_000, 20_000, false);
        let got: Vec<(i64, f64)> = a.iter().map(|x| (x.t, x.f)).collect();
        assert_eq!(got, vec![(10_000, 10.0), (20_000, 20.0)]);
    }
}
