//! [`super::value_extreme`] against the reference value decoder.

use super::{value_extreme, Extreme};
use crate::codec::values::{decode_values_reference, encode_values};
use crate::codec::{decode_chunk_values, Reader};

fn rng(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// What the fold must give: the extreme of `vals[lo..hi]` by `>` (`<`),
/// the first of equal ones, and the last value; `None` when any value of
/// the column is NaN or `-0`.
fn expected(vals: &[f64], lo: usize, hi: usize, max: bool) -> Option<Extreme> {
    if vals
        .iter()
        .any(|v| v.is_nan() || (*v == 0.0 && v.is_sign_negative()))
    {
        return None;
    }
    let mut value: Option<f64> = None;
    for &v in vals.get(lo..hi).unwrap_or(&[]) {
        let better = value.is_none_or(|m| if max { v > m } else { v < m });
        if better {
            value = Some(v);
        }
    }
    Some(Extreme {
        value,
        last: *vals.last()?,
    })
}

fn bits(e: Option<Extreme>) -> Option<(Option<u64>, u64)> {
    e.map(|e| (e.value.map(f64::to_bits), e.last.to_bits()))
}

/// Checks every `lo..hi` of short columns (a sample of them for long
/// ones), both directions; the column must decode as `vals` by the
/// reference decoder.
fn check(vals: &[f64], what: &str) {
    let mut buf = Vec::new();
    encode_values(vals, &mut buf);
    let n = vals.len();
    let back = decode_values_reference(&mut Reader::new(&buf), n).unwrap();
    let eligible = !back
        .iter()
        .any(|v| v.is_nan() || (*v == 0.0 && v.is_sign_negative()));
    let step = if n > 40 { n / 13 + 1 } else { 1 };
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for lo in (0..=n + 1).step_by(step) {
        for hi in (lo.saturating_sub(1)..=n + 2).step_by(step) {
            ranges.push((lo, hi));
        }
    }
    ranges.extend([(0, n), (n - 1, n), (0, 1), (n / 2, n), (1, n - 1)]);
    for (lo, hi) in ranges {
        for max in [true, false] {
            let got = value_extreme(&buf, n, lo, hi, max).unwrap();
            let (l, h) = (lo.min(n), hi.min(n));
            let want = expected(&back, l.min(h), h, max);
            if !eligible {
                // The caller decodes such columns; a decimal column with
                // exceptions or an XOR column says so.
                assert!(got.is_none(), "{what}: lo {lo} hi {hi}");
                continue;
            }
            // An eligible column may still be of a kind the fold leaves
            // to the decoder (XOR, ordered bits): then `None`.
            if let Some(g) = got {
                assert_eq!(
                    bits(Some(g)),
                    bits(want),
                    "{what}: n {n} lo {lo} hi {hi} max {max}"
                );
            } else {
                // (Or a decimal column with exceptions: ±Inf, long
                // fractions; its exception count follows kind and `e`.)
                let kind = buf[0] & 0x7f;
                let exceptions = kind == 1 && buf[2] != 0;
                assert!(
                    kind == 2 || kind == 3 || exceptions,
                    "{what}: kind {kind} not folded"
                );
            }
        }
    }
}

#[test]
fn folds_integer_and_decimal_gauges_like_the_reference() {
    let mut rnd = rng(0x9e37_79b9_7f4a_7c15);
    for n in [
        1usize, 2, 3, 7, 64, 119, 120, 127, 128, 129, 130, 255, 256, 257, 300, 1024,
    ] {
        // Integer gauges: small noise (Rice or packed, raw or delta),
        // large noise (long Rice codes), negatives, outliers (escapes).
        let small: Vec<f64> = (0..n)
            .map(|i| (12.0 + 7.0 * (i as f64 / 40.0).sin() + (rnd() % 7) as f64 - 3.0).round())
            .collect();
        check(&small, "small integers");
        let big: Vec<f64> = (0..n)
            .map(|_| 3.4e9 + (rnd() % 200_000_000) as f64)
            .collect();
        check(&big, "large integers");
        let neg: Vec<f64> = (0..n).map(|_| (rnd() % 41) as f64 - 20.0).collect();
        check(&neg, "negative integers");
        let mut outl: Vec<f64> = (0..n).map(|_| (rnd() % 5) as f64).collect();
        if let Some(v) = outl.get_mut(n / 2) {
            *v = 9.0e15;
        }
        if let Some(v) = outl.get_mut(n / 3) {
            *v = -9.0e15;
        }
        check(&outl, "outliers");
        // Decimals (`e > 0`), counters (delta, delta of delta), a
        // constant, zeros.
        let dec: Vec<f64> = (0..n).map(|_| (rnd() % 10_000) as f64 / 100.0).collect();
        check(&dec, "two-digit decimals");
        let mut c = 100.0;
        let ctr: Vec<f64> = (0..n)
            .map(|_| {
                c += (rnd() % 300) as f64;
                c
            })
            .collect();
        check(&ctr, "counter");
        let lin: Vec<f64> = (0..n).map(|i| 5.0 + 3.0 * i as f64).collect();
        check(&lin, "linear");
        check(&vec![42.5; n], "constant");
        check(&vec![0.0; n], "zero constant");
        check(&vec![-7.0; n], "negative constant");
        // Not folded: NaN, staleness markers, -0, full-precision floats.
        check(&vec![f64::NAN; n], "NaN constant");
        check(&vec![-0.0; n], "-0 constant");
        let mut stale = small.clone();
        if let Some(v) = stale.get_mut(n / 2) {
            *v = f64::from_bits(promlite_model::STALE_NAN_BITS);
        }
        check(&stale, "stale marker");
        let mut negz = small.clone();
        if let Some(v) = negz.get_mut(n - 1) {
            *v = -0.0;
        }
        check(&negz, "-0 last");
        let floats: Vec<f64> = (0..n).map(|_| (rnd() >> 11) as f64 / 9.1e15).collect();
        check(&floats, "floats");
        let inf: Vec<f64> = (0..n)
            .map(|i| if i % 9 == 4 { f64::INFINITY } else { i as f64 })
            .collect();
        check(&inf, "infinities");
    }
}

/// Cut or damaged columns: an error or `None` (then the caller's decode
/// reports it), never a panic; whenever the fold answers, the full
/// decoder accepts the column and agrees.
#[test]
fn damaged_columns_are_errors_or_left_to_the_decoder() {
    let mut rnd = rng(0x2545_f491_4f6c_dd1d);
    for n in [1usize, 5, 120, 129, 300] {
        let kinds: Vec<Vec<f64>> = vec![
            (0..n).map(|_| (rnd() % 7) as f64).collect(),
            (0..n).map(|_| (rnd() % 1_000_000_000) as f64).collect(),
            (0..n).map(|_| (rnd() % 1000) as f64 / 10.0).collect(),
            vec![3.0; n],
        ];
        for vals in kinds {
            let mut buf = Vec::new();
            encode_values(&vals, &mut buf);
            let mut variants: Vec<Vec<u8>> = (0..buf.len()).map(|l| buf[..l].to_vec()).collect();
            for i in 0..buf.len() {
                for bit in [0u8, 3, 7] {
                    let mut b = buf.clone();
                    b[i] ^= 1 << bit;
                    variants.push(b);
                }
                let mut b = buf.clone();
                b[i] = rnd() as u8;
                variants.push(b);
            }
            let mut longer = buf.clone();
            longer.push(0);
            variants.push(longer);
            for v in variants {
                for (lo, hi) in [(0, n), (n / 2, n), (0, 0)] {
                    let got = value_extreme(&v, n, lo, hi, true);
                    let full = decode_chunk_values(&v, n);
                    match (got, full) {
                        (Ok(Some(g)), Ok(vals)) => {
                            assert_eq!(bits(Some(g)), bits(expected(&vals, lo, hi, true)));
                        }
                        (Ok(Some(g)), Err(e)) => panic!("n {n}: folded {g:?}, decoder: {e:?}"),
                        (Ok(None) | Err(_), _) => {}
                    }
                    if decode_chunk_values(&v, n).is_err() {
                        assert!(!matches!(value_extreme(&v, n, lo, hi, true), Ok(Some(_))));
                    }
                }
            }
        }
    }
}
