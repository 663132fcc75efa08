//! Quantiles: of plain values (`quantile`, `quantile_over_time`) and of
//! classic `le` buckets (`histogram_quantile`), as Prometheus computes them.

/// The φ-quantile of `values` (reordered in place), interpolating linearly
/// between closest ranks. φ outside [0, 1] gives ∓Inf, NaN gives NaN.
pub(crate) fn quantile(phi: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || phi.is_nan() {
        return f64::NAN;
    }
    if phi < 0.0 {
        return f64::NEG_INFINITY;
    }
    if phi > 1.0 {
        return f64::INFINITY;
    }
    let n = values.len() as f64;
    let rank = phi * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    // Only the values at ranks `lower` and `upper` of the sorted order are
    // needed: select the first, then the smallest of what sorts after it
    // (O(n) instead of sorting).
    let lo = (lower as usize).min(values.len() - 1);
    let (_, lv, after) = values.select_nth_unstable_by(lo, go_float_order);
    let lv = *lv;
    let uv = if upper > lower {
        after
            .iter()
            .copied()
            .min_by(go_float_order)
            .unwrap_or(f64::NAN)
    } else {
        lv
    };
    lv * (1.0 - weight) + uv * weight
}

/// Most ranks [`quantile_of_values`] keeps in its one-pass buffer.
const SMALL_RANKS: usize = 8;

/// The φ-quantile of the `n` values `values` yields, exactly as
/// [`quantile`] computes it from a copy of them. When both ranks needed lie
/// among the [`SMALL_RANKS`] largest or smallest values (φ near 1 or 0, as
/// in `quantile_over_time(0.99, …)` over a few hundred samples) they are
/// found in one pass that keeps only those ranks, sorted, in a small
/// buffer: no copy of the values and no partitioning. Otherwise the values
/// are copied and selected by [`quantile`].
pub(crate) fn quantile_of_values(phi: f64, values: impl Iterator<Item = f64>, n: usize) -> f64 {
    // The same answers as `quantile` for these, whatever the values.
    if n == 0 || phi.is_nan() {
        return f64::NAN;
    }
    if phi < 0.0 {
        return f64::NEG_INFINITY;
    }
    if phi > 1.0 {
        return f64::INFINITY;
    }
    let nf = n as f64;
    let rank = phi * (nf - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(nf - 1.0);
    let weight = rank - rank.floor();
    let lo = (lower as usize).min(n - 1);
    let up = (upper as usize).min(n - 1).max(lo);
    let mut kept = [0.0f64; SMALL_RANKS];
    let (lv, uv) = if n - lo <= SMALL_RANKS {
        // The `n - lo` largest, largest first: rank `lo` is the last kept.
        let m = n - lo;
        if keep_first(values, m, &mut kept, |a, b| go_less(b, a)) < m {
            return f64::NAN;
        }
        (kept[m - 1], kept[m - 1 - (up - lo)])
    } else if up < SMALL_RANKS {
        // The `up + 1` smallest, smallest first: ranks as they are.
        if keep_first(values, up + 1, &mut kept, go_less) <= up {
            return f64::NAN;
        }
        (kept[lo], kept[up])
    } else {
        let mut v: Vec<f64> = values.collect();
        return quantile(phi, &mut v);
    };
    let uv = if upper > lower { uv } else { lv };
    lv * (1.0 - weight) + uv * weight
}

/// Keeps in `buf` the `m` values of `values` that come first in the order
/// `before` (at most `buf.len()`), sorted by it; returns how many were
/// kept (fewer than `m` only if `values` has fewer). A value that does not
/// make the cut costs one comparison.
fn keep_first(
    values: impl Iterator<Item = f64>,
    m: usize,
    buf: &mut [f64],
    before: impl Fn(f64, f64) -> bool,
) -> usize {
    let m = m.min(buf.len());
    let mut k = 0usize;
    for v in values {
        let mut j = if k < m {
            k += 1;
            k - 1
        } else if m > 0 && before(v, buf[m - 1]) {
            m - 1
        } else {
            continue;
        };
        while j > 0 && before(v, buf[j - 1]) {
            buf[j] = buf[j - 1];
            j -= 1;
        }
        buf[j] = v;
    }
    k
}

/// `a` sorts before `b` in Go's `sort.Float64s` order (NaN first).
fn go_less(a: f64, b: f64) -> bool {
    if a.is_nan() {
        !b.is_nan()
    } else {
        a < b
    }
}

/// The order of Go's `sort.Float64s`: NaN before every number.
fn go_float_order(a: &f64, b: &f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// One classic histogram bucket: upper bound and cumulative count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// The outcome of [`bucket_quantile`].
#[derive(Debug, PartialEq)]
pub(crate) struct BucketQuantile {
    pub value: f64,
    /// Counts had to be forced to be monotonic.
    pub forced_monotonic: bool,
}

const SMALL_DELTA_TOLERANCE: f64 = 1e-12;
const MIN_NORMAL: f64 = 2.2250738585072014e-308;

/// `a` and `b` are equal within a relative `epsilon` (Prometheus's `almost.Equal`).
pub(crate) fn almost_equal(a: f64, b: f64, epsilon: f64) -> bool {
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < epsilon * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < epsilon
}

/// The φ-quantile of classic buckets, as Prometheus's `BucketQuantile`.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut [Bucket]) -> BucketQuantile {
    let nan = BucketQuantile {
        value: f64::NAN,
        forced_monotonic: false,
    };
    if q.is_nan() {
        return nan;
    }
    if q < 0.0 {
        return BucketQuantile {
            value: f64::NEG_INFINITY,
            forced_monotonic: false,
        };
    }
    if q > 1.0 {
        return BucketQuantile {
            value: f64::INFINITY,
            forced_monotonic: false,
        };
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return nan,
    }
    // Merge buckets with the same bound.
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    let mut forced = false;
    if let Some(first) = merged.first() {
        let mut prev = first.count;
        for b in merged.iter_mut().skip(1) {
            let curr = b.count;
            if curr == prev {
                continue;
            }
            if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
                b.count = prev;
                continue;
            }
            if curr < prev {
                b.count = prev;
                forced = true;
                continue;
            }
            prev = curr;
        }
    }
    let n = merged.len();
    if n < 2 {
        return BucketQuantile {
            value: f64::NAN,
            forced_monotonic: forced,
        };
    }
    let observations = merged[n - 1].count;
    if observations == 0.0 {
        return BucketQuantile {
            value: f64::NAN,
            forced_monotonic: forced,
        };
    }
    let mut rank = q * observations;
    let b = merged[..n - 1].partition_point(|x| x.count < rank);
    let value = if b == n - 1 {
        merged[n - 2].upper
    } else if b == 0 && merged[0].upper <= 0.0 {
        merged[0].upper
    } else {
        let bucket_end = merged[b].upper;
        let mut count = merged[b].count;
        let mut bucket_start = 0.0;
        if b > 0 {
            bucket_start = merged[b - 1].upper;
            count -= merged[b - 1].count;
            rank -= merged[b - 1].count;
        }
        bucket_start + (bucket_end - bucket_start) * (rank / count)
    };
    BucketQuantile {
        value,
        forced_monotonic: forced,
    }
}

/// The fraction of observations between `lower` and `upper` in classic
/// buckets, interpolating linearly inside buckets (Prometheus's
/// `BucketFraction`).
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut [Bucket]) -> f64 {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    let count = merged.last().map(|b| b.count).unwrap_or(0.0);
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, b) in merged.iter().enumerate() {
        // The first bucket starts at 0 when its bound is positive.
        let lower_bound = match i {
            0 if b.upper > 0.0 => 0.0,
            0 => f64::NEG_INFINITY,
            _ => merged[i - 1].upper,
        };
        let upper_bound = b.upper;
        // No interpolation inside a bucket of infinite width: its
        // observations sit at the infinite end.
        let at_neg_inf = lower_bound == f64::NEG_INFINITY;
        let at_pos_inf = upper_bound == f64::INFINITY;
        let interpolate =
            |v: f64| rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound);
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = if at_neg_inf {
                b.count
            } else if at_pos_inf {
                rank
            } else {
                interpolate(lower)
            };
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = if at_neg_inf {
                b.count
            } else if at_pos_inf {
                rank
            } else {
                interpolate(upper)
            };
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_quantile_interpolates() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(0.5, &mut v), 2.5);
        assert_eq!(quantile(0.0, &mut v), 1.0);
        assert_eq!(quantile(1.0, &mut v), 4.0);
        assert_eq!(quantile(-1.0, &mut v), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut v), f64::INFINITY);
        assert!(quantile(f64::NAN, &mut v).is_nan());
        assert!(quantile(0.5, &mut []).is_nan());
    }

    /// Test values: NaN, infinities, zero, duplicates, extremes.
    const POOL: [f64; 12] = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.5,
        1.0,
        1.0,
        2.5,
        1e300,
        -7.25,
        3.0,
        4.5,
    ];

    /// The selection must give exactly what sorting gives: the same two
    /// ranks, NaN sorting first, duplicates and infinities included.
    #[test]
    fn plain_quantile_matches_sorting() {
        let reference = |phi: f64, values: &[f64]| {
            let mut v = values.to_vec();
            v.sort_by(go_float_order);
            let rank = phi * (v.len() as f64 - 1.0);
            let lower = rank.floor().max(0.0);
            let upper = (lower + 1.0).min(v.len() as f64 - 1.0);
            let w = rank - rank.floor();
            v[lower as usize] * (1.0 - w) + v[upper as usize] * w
        };
        let pool = &POOL[..10];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for len in 1..40usize {
            for _ in 0..20 {
                let values: Vec<f64> = (0..len).map(|_| crate::eval::pick(&mut x, pool)).collect();
                for phi in [0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0] {
                    let want = reference(phi, &values);
                    let got = quantile(phi, &mut values.clone());
                    assert!(
                        want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                        "phi {phi} of {values:?}: {got} != {want}"
                    );
                }
            }
        }
    }

    /// The one-pass selection near the ends gives bit for bit what copying
    /// and selecting gives, for every length (both buffers, the fallback),
    /// with NaNs, infinities and duplicates.
    #[test]
    fn quantile_of_values_matches_quantile() {
        let pool = &POOL;
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut lens: Vec<usize> = (0..45).collect();
        lens.extend([119, 120, 121, 240, 360]);
        for len in lens {
            for round in 0..12 {
                let values: Vec<f64> = (0..len)
                    .map(|i| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Some rounds without NaN and with distinct values.
                        if round % 3 == 0 {
                            (x % 1000) as f64 * 0.25 - i as f64
                        } else {
                            pool[(x % pool.len() as u64) as usize]
                        }
                    })
                    .collect();
                for phi in [
                    0.0,
                    0.001,
                    0.01,
                    0.05,
                    0.1,
                    0.5,
                    0.9,
                    0.95,
                    0.99,
                    0.999,
                    1.0,
                    -0.5,
                    1.5,
                    f64::NAN,
                ] {
                    let want = quantile(phi, &mut values.clone());
                    let got = quantile_of_values(phi, values.iter().copied(), values.len());
                    assert!(
                        want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                        "phi {phi} of {values:?}: {got} != {want}"
                    );
                }
            }
        }
    }

    fn b(upper: f64, count: f64) -> Bucket {
        Bucket { upper, count }
    }

    #[test]
    fn bucket_quantile_interpolates_within_bucket() {
        let mut bs = vec![b(f64::INFINITY, 10.0), b(1.0, 5.0), b(2.0, 10.0)];
        assert_eq!(bucket_quantile(0.5, &mut bs).value, 1.0);
        let mut bs = vec![b(1.0, 2.0), b(2.0, 6.0), b(f64::INFINITY, 6.0)];
        assert_eq!(bucket_quantile(0.5, &mut bs).value, 1.25);
        // Highest rank falls in +Inf: the last finite bound.
        let mut bs = vec![b(1.0, 2.0), b(f64::INFINITY, 6.0)];
        assert_eq!(bucket_quantile(0.9, &mut bs).value, 1.0);
    }

    #[test]
    fn bucket_fraction_interpolates() {
        let mk = || vec![b(1.0, 2.0), b(2.0, 6.0), b(f64::INFINITY, 8.0)];
        assert_eq!(bucket_fraction(f64::NEG_INFINITY, 1.0, &mut mk()), 0.25);
        assert_eq!(bucket_fraction(1.0, 1.5, &mut mk()), 0.25);
        // The first bucket is [0, 1]; nothing is interpolated in (2, +Inf].
        assert_eq!(bucket_fraction(0.5, 5.0, &mut mk()), 0.625);
        assert_eq!(bucket_fraction(3.0, 4.0, &mut mk()), 0.0);
        assert_eq!(bucket_fraction(3.0, f64::INFINITY, &mut mk()), 0.25);
        assert_eq!(
            bucket_fraction(f64::NEG_INFINITY, f64::INFINITY, &mut mk()),
            1.0
        );
        assert_eq!(bucket_fraction(2.0, 1.0, &mut mk()), 0.0);
        assert!(bucket_fraction(f64::NAN, 1.0, &mut mk()).is_nan());
    }

    #[test]
    fn bucket_quantile_edge_cases() {
        let mut no_inf = vec![b(1.0, 2.0), b(2.0, 3.0)];
        assert!(bucket_quantile(0.5, &mut no_inf).value.is_nan());
        let mut empty = vec![b(1.0, 0.0), b(f64::INFINITY, 0.0)];
        assert!(bucket_quantile(0.5, &mut empty).value.is_nan());
        let mut bs = vec![b(1.0, 5.0), b(2.0, 3.0), b(f64::INFINITY, 6.0)];
        let r = bucket_quantile(0.5, &mut bs);
        assert!(r.forced_monotonic);
        assert_eq!(r.value, 0.6);
    }
}
