//! Counter and gauge functions over ranges: `rate`, `increase`, `delta`,
//! `irate`, `idelta`, `deriv`, `predict_linear`, `changes`, `resets`.

use super::Window;
use crate::eval::kahan_inc;

/// Whether counter-reset correction could change anything in some window
/// of `s`: a value below its predecessor, or below zero (the correction
/// starts from a previous value of 0, and adding 0 turns a -0 result into 0).
///
/// Every sample of a `rate` input passes through here: the comparisons
/// are combined without branches, 16 samples at a time.
pub(crate) fn may_reset(s: &[(i64, f64)]) -> bool {
    let mut prev = 0.0;
    for part in s.chunks(16) {
        let mut found = false;
        for &(_, v) in part {
            found |= (v < prev) | (v < 0.0);
            prev = v;
        }
        if found {
            return true;
        }
    }
    false
}

/// `rate`, `increase` and `delta`: Prometheus's `extrapolatedRate`.
/// `resets` false promises that [`may_reset`] is false for `s`, which
/// skips the reset scan (the result is the same).
pub(crate) fn extrapolated_rate(
    s: &[(i64, f64)],
    w: &Window,
    is_counter: bool,
    is_rate: bool,
    resets: bool,
) -> Option<f64> {
    extrapolated_rate_n(s, s.len(), w, is_counter, is_rate, resets)
}

/// [`extrapolated_rate`] of a window of `count >= s.len()` samples of which
/// `s` holds the first and the last and every sample below its predecessor
/// together with that predecessor (the samples left out lie inside runs
/// that never fall, so no reset correction is lost): the same result as
/// over all `count` samples, bit for bit.
///
/// `#[inline]`: with one more function reading series through
/// `range_call_each` (session 14) the compiler stopped inlining it into
/// the window walk of range queries, +2 % of the instructions of
/// `sum by (model) (rate(…[5m]))`.
#[inline]
pub(crate) fn extrapolated_rate_n(
    s: &[(i64, f64)],
    count: usize,
    w: &Window,
    is_counter: bool,
    is_rate: bool,
    resets: bool,
) -> Option<f64> {
    let count = count.max(s.len());
    if s.len() < 2 {
        return None;
    }
    let (first_t, first_v) = *s.first()?;
    let (last_t, last_v) = *s.last()?;
    let mut result = last_v - first_v;
    if is_counter && resets {
        let mut prev = 0.0;
        for &(_, v) in s {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let mut to_start = first_t.saturating_sub(w.start) as f64 / 1000.0;
    let mut to_end = w.end.saturating_sub(last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg_step = sampled / (count - 1) as f64;
    let threshold = avg_step * 1.1;
    if to_start >= threshold {
        to_start = avg_step / 2.0;
    }
    if is_counter && result > 0.0 && first_v >= 0.0 {
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_step / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= w.range_s;
    }
    Some(result * factor)
}

/// `irate` and `idelta`: from the last two samples.
pub(crate) fn instant_value(s: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (lt, lv) = s[s.len() - 1];
    let (pt, pv) = s[s.len() - 2];
    let mut result = lv - pv;
    if is_rate && lv < pv {
        result = lv;
    }
    let interval = lt - pt;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// Least-squares slope and intercept at `intercept_t` (Prometheus's
/// `linearRegression`, with Kahan sums).
pub(crate) fn linear_regression(s: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = s.first().map(|p| p.1).unwrap_or(f64::NAN);
    let mut const_y = true;
    for (i, &(t, v)) in s.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = t.saturating_sub(intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

/// `deriv`.
pub(crate) fn deriv(s: &[(i64, f64)]) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    Some(linear_regression(s, s[0].0).0)
}

/// `predict_linear(v, t)` evaluated at `eval_t`.
pub(crate) fn predict_linear(s: &[(i64, f64)], eval_t: i64, duration: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(s, eval_t);
    Some(slope * duration + intercept)
}

/// `changes`.
pub(crate) fn changes(s: &[(i64, f64)]) -> Option<f64> {
    let mut n = 0.0;
    for w in s.windows(2) {
        let (p, c) = (w[0].1, w[1].1);
        if c != p && !(c.is_nan() && p.is_nan()) {
            n += 1.0;
        }
    }
    if s.is_empty() {
        None
    } else {
        Some(n)
    }
}

/// Running counts for [`window_count`]: entry `j` is the number of
/// samples `1..=j` of `s` that differ from the one before ([`changes`]) or,
/// with `falls`, are below it ([`resets`]).
pub(crate) fn running_counts(s: &[(i64, f64)], falls: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(s.len());
    let mut n = 0usize;
    out.push(0);
    for w in s.windows(2) {
        let (p, c) = (w[0].1, w[1].1);
        let event = if falls {
            c < p
        } else {
            c != p && !(c.is_nan() && p.is_nan())
        };
        n += usize::from(event);
        out.push(n);
    }
    out
}

/// [`changes`] or [`resets`] of the `len` samples from `first` on, from
/// their [`running_counts`]: `None` for no samples, as they give.
pub(crate) fn window_count(counts: &[usize], first: usize, len: usize) -> Option<f64> {
    if len == 0 {
        return None;
    }
    let last = first + len - 1;
    let (a, b) = (counts.get(first)?, counts.get(last)?);
    Some(b.saturating_sub(*a) as f64)
}

/// `resets`.
pub(crate) fn resets(s: &[(i64, f64)]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    Some(s.windows(2).filter(|w| w[1].1 < w[0].1).count() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`may_reset`] as first written: stop at the first decrease.
    fn may_reset_scan(s: &[(i64, f64)]) -> bool {
        let mut prev = 0.0;
        for &(_, v) in s {
            if v < prev || v < 0.0 {
                return true;
            }
            prev = v;
        }
        false
    }

    #[test]
    fn window_counts_equal_changes_and_resets_of_the_window() {
        let specials = [
            f64::NAN,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.0,
            2.0,
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for len in [0usize, 1, 2, 3, 17, 120] {
            let s: Vec<(i64, f64)> = (0..len)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (i as i64, specials[(x % specials.len() as u64) as usize])
                })
                .collect();
            for falls in [false, true] {
                let c = running_counts(&s, falls);
                for first in 0..=len {
                    for n in 0..=len - first {
                        let w = &s[first..first + n];
                        let want = if falls { resets(w) } else { changes(w) };
                        let got = window_count(&c, first, n);
                        assert_eq!(
                            got.map(f64::to_bits),
                            want.map(f64::to_bits),
                            "{len} {first} {n} {falls}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn may_reset_agrees_with_a_plain_scan() {
        let specials = [f64::NAN, -0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY, -1.0];
        for len in [0usize, 1, 2, 15, 16, 17, 33, 100] {
            let rising: Vec<(i64, f64)> = (0..len).map(|k| (k as i64, k as f64)).collect();
            assert_eq!(may_reset(&rising), may_reset_scan(&rising));
            for at in 0..len {
                for v in specials {
                    let mut s = rising.clone();
                    s[at].1 = v;
                    assert_eq!(may_reset(&s), may_reset_scan(&s), "len {len} at {at} {v}");
                }
            }
        }
    }

    fn win(start: i64, end: i64) -> Window {
        Window {
            start,
            end,
            range_s: (end - start) as f64 / 1000.0,
            eval_t: end,
        }
    }

    #[test]
    fn rate_extrapolates_to_window_edges() {
        // 0,10,...,50 at 0s..50s in (−10s, 50s]: extrapolates 5s to the start
        // is limited by the zero point (0 s), none to the end.
        let s: Vec<(i64, f64)> = (0..6).map(|i| (i * 10_000, i as f64 * 10.0)).collect();
        let inc = extrapolated_rate(&s, &win(-10_000, 50_000), true, false, true).unwrap();
        assert_eq!(inc, 50.0);
        let r = extrapolated_rate(&s, &win(-10_000, 50_000), true, true, true).unwrap();
        assert_eq!(r, 50.0 / 60.0);
        assert!(extrapolated_rate(&s[..1], &win(-10_000, 50_000), true, true, true).is_none());
    }

    #[test]
    fn counter_resets_are_compensated() {
        let s = vec![(0, 5.0), (10_000, 10.0), (20_000, 2.0), (30_000, 4.0)];
        assert_eq!(resets(&s), Some(1.0));
        assert_eq!(changes(&s), Some(3.0));
        let inc = extrapolated_rate(&s, &win(0, 30_000), true, false, true).unwrap();
        // raw increase 4-5+10 = 9; start at 0 exact, to_zero = 30*5/9 > 0 → no extrapolation.
        assert_eq!(inc, 9.0);
        assert_eq!(instant_value(&s, true), Some(0.2));
        assert_eq!(instant_value(&s, false), Some(2.0));
    }

    #[test]
    fn regression_finds_slope() {
        let s: Vec<(i64, f64)> = (0..5).map(|i| (i * 1000, 2.0 * i as f64 + 1.0)).collect();
        assert_eq!(deriv(&s), Some(2.0));
        assert_eq!(predict_linear(&s, 4000, 10.0), Some(29.0));
        assert_eq!(linear_regression(&[(0, 3.0), (1000, 3.0)], 0), (0.0, 3.0));
    }
}
