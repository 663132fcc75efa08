//! The `*_over_time` family and `double_exponential_smoothing`.

use crate::eval::aggregate::mean;
use crate::eval::kahan_inc;
use crate::eval::quantile::{quantile, quantile_of_values};

/// `sum_over_time`.
pub(crate) fn sum(s: &[(i64, f64)]) -> f64 {
    let (mut sum, mut c) = (0.0, 0.0);
    for &(_, v) in s {
        (sum, c) = kahan_inc(v, sum, c);
    }
    sum + c
}

/// `avg_over_time`: [`mean`], whose usual case (no partial sum
/// overflows) is a compensated sum divided by the count at the end. That
/// case is computed here by a loop with nothing else in it, which does
/// exactly the operations `mean` does on the same values in the same
/// order, so the answer is the same bit for bit; when a partial sum
/// overflows, `mean` does it all again its own way (the incremental mean).
pub(crate) fn avg(s: &[(i64, f64)]) -> f64 {
    let Some((&(_, first), rest)) = s.split_first() else {
        return f64::NAN;
    };
    let (mut sum, mut c) = (first, 0.0f64);
    let mut overflow = false;
    for &(_, v) in rest {
        let t = sum + v;
        // `kahan_inc` without its overflow case (the whole loop is
        // redone by `mean` then).
        c += if sum.abs() >= v.abs() {
            (sum - t) + v
        } else {
            (v - t) + sum
        };
        overflow |= t.is_infinite();
        sum = t;
    }
    if overflow {
        return mean(s.iter().map(|p| p.1));
    }
    let count = s.len() as f64;
    sum / count + c / count
}

/// `min_over_time`: the least value, NaN only if all are NaN; of equal
/// values (`-0` and `0`) the first.
pub(crate) fn min(s: &[(i64, f64)]) -> f64 {
    let m = extreme_lanes(s, f64::INFINITY, |v, m| v < m);
    // Any other result is the one value with those bits.
    if m != 0.0 && m != f64::INFINITY {
        return m;
    }
    let mut m = s.first().map(|p| p.1).unwrap_or(f64::NAN);
    for &(_, v) in s {
        if v < m || m.is_nan() {
            m = v;
        }
    }
    m
}

/// `max_over_time`: the greatest value, NaN only if all are NaN; of equal
/// values (`-0` and `0`) the first.
pub(crate) fn max(s: &[(i64, f64)]) -> f64 {
    let m = extreme_lanes(s, f64::NEG_INFINITY, |v, m| v > m);
    if m != 0.0 && m != f64::NEG_INFINITY {
        return m;
    }
    let mut m = s.first().map(|p| p.1).unwrap_or(f64::NAN);
    for &(_, v) in s {
        if v > m || m.is_nan() {
            m = v;
        }
    }
    m
}

/// The extreme of the values of `s` by `better` (NaN never is), from
/// `start`, in four independent running extremes: one compare-and-select
/// chain is the loop's latency bound otherwise. Which of two equal values
/// wins depends on the lanes, so callers redo the exact scan when that
/// matters (`-0` and `0`), or when no value beat `start`.
fn extreme_lanes(s: &[(i64, f64)], start: f64, better: impl Fn(f64, f64) -> bool) -> f64 {
    let mut lanes = [start; 4];
    let mut quads = s.chunks_exact(4);
    for q in &mut quads {
        for (l, p) in lanes.iter_mut().zip(q) {
            if better(p.1, *l) {
                *l = p.1;
            }
        }
    }
    let mut m = start;
    for v in lanes
        .into_iter()
        .chain(quads.remainder().iter().map(|p| p.1))
    {
        if better(v, m) {
            m = v;
        }
    }
    m
}

/// `stdvar_over_time` (Welford with Kahan compensation, as Prometheus 3.x).
pub(crate) fn stdvar(s: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(_, v) in s {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// `quantile_over_time`.
pub(crate) fn quantile_of(phi: f64, s: &[(i64, f64)]) -> f64 {
    quantile_of_values(phi, s.iter().map(|p| p.1), s.len())
}

/// `mad_over_time`: median absolute deviation from the median.
pub(crate) fn mad(s: &[(i64, f64)]) -> f64 {
    let mut v: Vec<f64> = s.iter().map(|p| p.1).collect();
    if v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    let median = quantile(0.5, &mut v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
    quantile(0.5, &mut dev)
}

/// The timestamp (seconds) of the first sample with the extreme value
/// (`ts_of_min_over_time` / `ts_of_max_over_time`); later samples win ties
/// as in Prometheus.
pub(crate) fn ts_of_extreme(s: &[(i64, f64)], want_max: bool) -> f64 {
    let Some(&(mut t, mut m)) = s.first() else {
        return f64::NAN;
    };
    for &(ti, v) in s {
        let better = if want_max { v >= m } else { v <= m };
        if better || m.is_nan() {
            m = v;
            t = ti;
        }
    }
    t as f64 / 1000.0
}

/// `double_exponential_smoothing` (Holt linear). Needs two samples.
pub(crate) fn double_exponential_smoothing(s: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1) = (0.0, s[0].1);
    let mut b = s[1].1 - s[0].1;
    for (i, &(_, v)) in s.iter().enumerate().skip(1) {
        let x = sf * v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[f64]) -> Vec<(i64, f64)> {
        v.iter()
            .enumerate()
            .map(|(i, &f)| (i as i64 * 1000, f))
            .collect()
    }

    #[test]
    fn basic_statistics() {
        let s = pts(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(sum(&s), 10.0);
        assert_eq!(avg(&s), 2.5);
        assert_eq!(min(&s), 1.0);
        assert_eq!(max(&s), 4.0);
        assert_eq!(stdvar(&s), 1.25);
        assert_eq!(quantile_of(0.5, &s), 2.5);
        assert_eq!(mad(&pts(&[1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0])), 1.0);
    }

    /// `avg` gives `mean`'s answer bit for bit (NaN as NaN): random values
    /// of every magnitude (partial sums that overflow, both ways), NaN,
    /// ±Inf, single values, empty windows.
    #[test]
    fn avg_is_mean_bit_for_bit() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            f64::MAX,
            -f64::MAX,
        ];
        for n in 0..200usize {
            for kind in 0..5u64 {
                let v: Vec<f64> = (0..n)
                    .map(|_| {
                        let r = next();
                        match kind {
                            0 => (r % 10_000) as f64 / 100.0,
                            1 => f64::from_bits(r),
                            2 => (r as f64) * 1e290 * if r & 1 == 0 { 1.0 } else { -1.0 },
                            3 if r % 17 == 0 => specials[(r >> 8) as usize % specials.len()],
                            _ => (r % 1000) as f64 * 1e300,
                        }
                    })
                    .collect();
                let want = mean(v.iter().copied());
                let got = avg(&pts(&v));
                // A NaN's sign and payload depend on the operand order
                // the compiler picks for a commutative add (on x86 the
                // first NaN operand propagates); the API prints "NaN".
                if want.is_nan() {
                    assert!(got.is_nan(), "n {n} kind {kind}: {got}");
                    continue;
                }
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "n {n} kind {kind}: {got} {want}"
                );
            }
        }
    }

    #[test]
    fn nan_does_not_stick_in_min_max() {
        let s = pts(&[f64::NAN, 2.0, 1.0]);
        assert_eq!(min(&s), 1.0);
        assert_eq!(max(&s), 2.0);
        assert_eq!(ts_of_extreme(&s, true), 1.0);
    }

    /// The four-lane scan gives what the one-by-one scan gives, bit for
    /// bit: NaNs, infinities, signed zeros, every length and position.
    #[test]
    fn min_max_match_the_sequential_scan() {
        let seq = |s: &[(i64, f64)], want_max: bool| {
            let mut m = s.first().map(|p| p.1).unwrap_or(f64::NAN);
            for &(_, v) in s {
                if (if want_max { v > m } else { v < m }) || m.is_nan() {
                    m = v;
                }
            }
            m
        };
        let pool = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            1.5,
            -2.0,
            7.0,
            1e-300,
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 0..24usize {
            for _ in 0..200 {
                let v: Vec<f64> = (0..len).map(|_| crate::eval::pick(&mut x, &pool)).collect();
                let s = pts(&v);
                for want_max in [true, false] {
                    let want = seq(&s, want_max);
                    let got = if want_max { max(&s) } else { min(&s) };
                    assert!(
                        want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                        "{v:?} max={want_max}: {got} != {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn kahan_keeps_small_terms() {
        let s = pts(&[1e100, 1.0, -1e100]);
        assert_eq!(sum(&s), 1.0);
    }
}
