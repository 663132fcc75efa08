//! Value columns. `n` is known from the timestamp column. A kind byte, then:
//!
//! * kind 0 — constant: one value, 8 bytes big-endian IEEE-754 bits;
//! * kind 1 — decimal (ALP-like): an exponent byte `e` (0..=18), the
//!   exception list, then the integers `k` with `v == k / 10^e` as an
//!   integer column ([`super::ints`]). Exceptions are values that are not
//!   such a decimal (NaN, the staleness marker, ±Inf, -0.0, long fractions):
//!   a count (uvarint), then per exception the gap to the previous exception
//!   position (uvarint) and the 8 raw bytes; their slot in the integer column
//!   repeats the previous integer so deltas stay small;
//! * kind 2 — Gorilla XOR ([`super::xor`]);
//! * kind 3 — ordered bits: each value's IEEE-754 bits mapped to an `i64`
//!   that sorts like the float (`bits` for positives, `!bits | sign` for
//!   negatives), then an integer column. Slowly drifting full-precision
//!   gauges and float counters become small deltas.
//!
//! The encoder picks constant if all bit patterns are equal, otherwise
//! writes decimal (when at most one value in eight is an exception), XOR
//! and ordered bits, and keeps the smallest. Decoding is bit-exact,
//! including NaN payloads.
//!
//! Bit 7 of the kind byte ([`MONOTONE`]) says that no value is NaN and none
//! is below its predecessor (a counter without a reset in the chunk); the
//! encoder sets it on every such non-constant column, and readers accept
//! columns written with or without it. [`monotone_first`] reads the first
//! value of such a column without decoding the others.

use super::ints::{decode_ints_map, decode_ints_with, encode_ints};
use super::ints_decode::{filled, range};
use super::varint::{put_uvarint, DecodeError, Reader};
use super::xor::{decode_xor, encode_xor};

/// Bit of the kind byte set when no value is NaN and every value is at
/// least its predecessor.
pub const MONOTONE: u8 = 0x80;

/// Whether no value is NaN and none is below the one before (branch-free,
/// so the loop vectorises).
pub fn is_monotone(vals: &[f64]) -> bool {
    let mut prev = f64::NEG_INFINITY;
    let mut ok = true;
    for &v in vals {
        ok &= v >= prev;
        prev = v;
    }
    ok
}

const MAX_EXP: i32 = 18;
const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];
const MAX_INT: f64 = 9_007_199_254_740_992.0; // 2^53

fn as_decimal(v: f64, e: usize) -> Option<i64> {
    let p = POW10[e];
    let k = (v * p).round();
    if !k.is_finite() || k.abs() > MAX_INT {
        return None;
    }
    let k = k as i64;
    ((k as f64 / p).to_bits() == v.to_bits()).then_some(k)
}

fn encode_decimal(vals: &[f64], out: &mut Vec<u8>) -> bool {
    // The smallest exponent that fits every decimal value: values that fit
    // `e` also fit larger exponents, so grow `e` only when a value needs it.
    let max_exc = vals.len() / 8;
    let mut e = 0usize;
    let mut seen = false;
    let mut misses = 0usize;
    for &v in vals {
        if v.is_finite() && as_decimal(v, e).is_some() {
            seen = true;
            continue;
        }
        match (e + 1..=MAX_EXP as usize).find(|&x| v.is_finite() && as_decimal(v, x).is_some()) {
            Some(x) => {
                e = x;
                seen = true;
            }
            None => {
                misses += 1;
                if misses > max_exc {
                    return false;
                }
            }
        }
    }
    if !seen {
        return false;
    }
    let mut ints = Vec::with_capacity(vals.len());
    let mut exc: Vec<(usize, u64)> = Vec::new();
    let mut prev = 0i64;
    for (i, &v) in vals.iter().enumerate() {
        match as_decimal(v, e) {
            Some(k) => {
                ints.push(k);
                prev = k;
            }
            None => {
                exc.push((i, v.to_bits()));
                ints.push(prev);
            }
        }
    }
    if exc.len() * 8 > vals.len() {
        return false;
    }
    out.push(1);
    out.push(e as u8);
    put_uvarint(out, exc.len() as u64);
    let mut last = 0usize;
    for (i, bits) in exc {
        put_uvarint(out, (i - last) as u64);
        last = i;
        out.extend_from_slice(&bits.to_be_bytes());
    }
    encode_ints(&ints, out);
    true
}

/// Maps float bits to an integer with the same order as the floats.
fn ordered(v: f64) -> i64 {
    let b = v.to_bits() as i64;
    if b < 0 {
        b ^ i64::MAX
    } else {
        b
    }
}

/// Inverse of [`ordered`].
fn unordered(o: i64) -> f64 {
    let b = if o < 0 { o ^ i64::MAX } else { o };
    f64::from_bits(b as u64)
}

/// Appends the encoded values.
pub fn encode_values(vals: &[f64], out: &mut Vec<u8>) {
    let Some(first) = vals.first() else {
        out.push(0);
        out.extend_from_slice(&0u64.to_be_bytes());
        return;
    };
    if vals.iter().all(|v| v.to_bits() == first.to_bits()) {
        out.push(0);
        out.extend_from_slice(&first.to_bits().to_be_bytes());
        return;
    }
    let mut dec = Vec::new();
    if !encode_decimal(vals, &mut dec) {
        dec.clear();
    }
    let mut best = vec![2u8];
    encode_xor(vals, &mut best);
    let mut ord = vec![3u8];
    let ints: Vec<i64> = vals.iter().map(|&v| ordered(v)).collect();
    encode_ints(&ints, &mut ord);
    if ord.len() < best.len() {
        best = ord;
    }
    if !dec.is_empty() && dec.len() < best.len() {
        best = dec;
    }
    if is_monotone(vals) {
        if let Some(kind) = best.first_mut() {
            *kind |= MONOTONE;
        }
    }
    out.extend_from_slice(&best);
}

/// The first value of a column of `n` values flagged [`MONOTONE`] (or of a
/// constant column whose value is not NaN, monotone as well), read without
/// decoding the other values; `None` for every other column (and for
/// `n == 0`). Bit-identical to the first value [`decode_values`] gives.
pub fn monotone_first(vals: &[u8], n: usize) -> Result<Option<f64>, DecodeError> {
    let mut r = Reader::new(vals);
    let kind = r.u8()?;
    if n == 0 || (kind != 0 && kind & MONOTONE == 0) {
        return Ok(None);
    }
    match kind & !MONOTONE {
        0 => {
            let v = f64::from_bits(r.be_u64()?);
            Ok((!v.is_nan()).then_some(v))
        }
        1 => {
            let p = decimal_scale(&mut r)?;
            let nexc = r.len(n)?;
            for i in 0..nexc {
                let gap = r.len(n)?;
                let bits = r.be_u64()?;
                if i == 0 && gap == 0 {
                    return Ok(Some(f64::from_bits(bits)));
                }
            }
            let k = first_int(&mut r, n)?;
            Ok(Some(if p == 1.0 { k as f64 } else { k as f64 / p }))
        }
        2 => Ok(Some(f64::from_bits(r.be_u64()?))),
        3 => Ok(Some(unordered(first_int(&mut r, n)?))),
        k => Err(DecodeError::new(0, format!("unknown value encoding {k}"))),
    }
}

/// Whether the value column `vals` is known to be monotone without
/// decoding it: flagged [`MONOTONE`], or a constant that is not NaN (what
/// [`monotone_first`] accepts).
pub fn flagged_monotone(vals: &[u8]) -> bool {
    match super::constant_value(vals) {
        Some(v) => !v.is_nan(),
        None => vals.first().is_some_and(|&k| k != 0 && k & MONOTONE != 0),
    }
}

/// Checks that the value column `vals` holds exactly `n` values, as
/// [`super::decode_chunk_values`] checks it (the same walk over the
/// column, errors and trailing-bytes check), without storing or converting
/// the values. Test-only: the monotone read used it until it proved to cost
/// 17 % of an instant `increase` (`block/chunks/runs.rs`); the tests keep
/// it as a check that a column of the wrong length is found by a walk.
#[cfg(test)]
pub fn check_value_count(vals: &[u8], n: usize) -> Result<(), DecodeError> {
    let mut r = Reader::new(vals);
    // Slots of a zero-sized type: nothing is allocated or stored.
    let mut slots = vec![(); n];
    decode_values_into(&mut r, &mut slots, |_, _| ())?;
    if r.remaining() != 0 {
        return Err(DecodeError::new(
            r.pos(),
            "trailing bytes after value column",
        ));
    }
    Ok(())
}

/// The power of ten a decimal column's integers are divided by, read from
/// its exponent byte.
pub(super) fn decimal_scale(r: &mut Reader<'_>) -> Result<f64, DecodeError> {
    let epos = r.pos();
    let e = r.u8()? as usize;
    POW10
        .get(e)
        .copied()
        .ok_or_else(|| DecodeError::new(epos, format!("decimal exponent {e} too large")))
}

/// The first of the `n > 0` integers of the integer column at `r`: the
/// prefix of a delta or delta-of-delta column, or (raw columns) the column
/// decoded.
fn first_int(r: &mut Reader<'_>, n: usize) -> Result<i64, DecodeError> {
    let mut probe = r.clone();
    match probe.u8()? {
        1 | 2 => probe.varint(),
        _ => {
            let mut out = filled(n, 0i64);
            decode_ints_map(r, &mut out, |k| k)?;
            out.first()
                .copied()
                .ok_or_else(|| DecodeError::new(r.pos(), "integer column without values"))
        }
    }
}

/// Decodes `n` values written by [`encode_values`].
///
/// Integer columns are decoded straight into the returned vector, the
/// conversion to floats (`k / 10^e`, or the inverse of [`ordered`]) fused
/// into the integer decoder; a decimal column's exceptions are read twice
/// (checked and skipped before the integers, stored after them) instead
/// of being collected.
pub fn decode_values(r: &mut Reader<'_>, n: usize) -> Result<Vec<f64>, DecodeError> {
    let mut out = filled(n, 0.0f64);
    decode_values_into(r, &mut out, |slot, v| *slot = v)?;
    Ok(out)
}

/// A decimal column's prologue (mode 1) for `n` values: its scale, the
/// number of exceptions and a reader at the first of them; `r` is left at
/// the integer column after them. Every exception position is checked.
fn decimal_prologue<'a>(
    r: &mut Reader<'a>,
    n: usize,
) -> Result<(f64, usize, Reader<'a>), DecodeError> {
    let p = decimal_scale(r)?;
    let nexc = r.len(n)?;
    let exceptions = r.clone();
    let mut pos = 0usize;
    for _ in 0..nexc {
        let gpos = r.pos();
        pos = pos
            .checked_add(r.len(n)?)
            .filter(|&p| p < n)
            .ok_or_else(|| DecodeError::new(gpos, "exception position out of range"))?;
        r.be_u64()?;
    }
    Ok((p, nexc, exceptions))
}

/// [`decode_values`] of `out.len()` values, each stored by `set(slot, v)`:
/// straight into the value half of `(timestamp, value)` pairs, for one,
/// without a value vector and a second pass that pairs it with the
/// timestamps.
#[inline]
pub fn decode_values_into<T, S: Fn(&mut T, f64) + Copy>(
    r: &mut Reader<'_>,
    out: &mut [T],
    set: S,
) -> Result<(), DecodeError> {
    let n = out.len();
    let kpos = r.pos();
    match r.u8()? & !MONOTONE {
        0 => {
            let v = f64::from_bits(r.be_u64()?);
            for slot in out.iter_mut() {
                set(slot, v);
            }
            Ok(())
        }
        1 => {
            let (p, nexc, exceptions) = decimal_prologue(r, n)?;
            // Integer columns (counters, integer gauges) have exponent 0 (`p == 1`):
            // dividing by 1 changes nothing and costs a division per value.
            if p == 1.0 {
                decode_ints_with(r, out, |slot, k| set(slot, k as f64))?;
            } else {
                decode_ints_with(r, out, |slot, k| set(slot, k as f64 / p))?;
            }
            let mut x = exceptions;
            let mut pos = 0usize;
            for _ in 0..nexc {
                pos = pos.saturating_add(x.len(n)?);
                let v = f64::from_bits(x.be_u64()?);
                if let Some(slot) = out.get_mut(pos) {
                    set(slot, v);
                }
            }
            Ok(())
        }
        2 => {
            let (vals, used) = decode_xor(r.rest(), n)
                .map_err(|e| DecodeError::new(r.pos() + e.offset, e.message))?;
            r.bytes(used)?;
            for (slot, v) in out.iter_mut().zip(vals) {
                set(slot, v);
            }
            Ok(())
        }
        3 => decode_ints_with(r, out, |slot, k| set(slot, unordered(k))),
        k => Err(DecodeError::new(
            kpos,
            format!("unknown value encoding {k}"),
        )),
    }
}

/// Values `lo..lo + out.len()` of the value column `vals` of `n` values,
/// each stored by `set(slot, v)`, bit-identical to those
/// [`decode_values`] gives; an error when they do not lie within the
/// column. An integer column is read only up to the block holding the
/// last wanted value, the values before `lo` without being converted or
/// stored ([`super::ints_decode::range`]); an XOR stream is decoded up to
/// the part's end. What lies after the part is not read, so neither the
/// column's length nor trailing bytes are checked (the caller knows it
/// read part of the column).
pub fn decode_values_range<T, S: Fn(&mut T, f64) + Copy>(
    vals: &[u8],
    n: usize,
    lo: usize,
    out: &mut [T],
    set: S,
) -> Result<(), DecodeError> {
    let hi = lo
        .checked_add(out.len())
        .filter(|&hi| hi <= n)
        .ok_or_else(|| DecodeError::new(0, "value range past the column's end"))?;
    let mut r = Reader::new(vals);
    let kpos = r.pos();
    match r.u8()? & !MONOTONE {
        0 => {
            let v = f64::from_bits(r.be_u64()?);
            for slot in out.iter_mut() {
                set(slot, v);
            }
            Ok(())
        }
        1 => {
            let (p, nexc, exceptions) = decimal_prologue(&mut r, n)?;
            if p == 1.0 {
                range::decode_ints_range(&mut r, n, lo, out, |slot, k| set(slot, k as f64))?;
            } else {
                range::decode_ints_range(&mut r, n, lo, out, |slot, k| set(slot, k as f64 / p))?;
            }
            let mut x = exceptions;
            let mut pos = 0usize;
            for _ in 0..nexc {
                pos = pos.saturating_add(x.len(n)?);
                let v = f64::from_bits(x.be_u64()?);
                if pos >= hi {
                    break;
                }
                if let Some(slot) = pos.checked_sub(lo).and_then(|j| out.get_mut(j)) {
                    set(slot, v);
                }
            }
            Ok(())
        }
        2 => {
            let (vals, _) = decode_xor(r.rest(), hi)
                .map_err(|e| DecodeError::new(r.pos() + e.offset, e.message))?;
            for (slot, v) in out.iter_mut().zip(vals.get(lo..).unwrap_or(&[])) {
                set(slot, *v);
            }
            Ok(())
        }
        3 => range::decode_ints_range(&mut r, n, lo, out, |slot, k| set(slot, unordered(k))),
        k => Err(DecodeError::new(
            kpos,
            format!("unknown value encoding {k}"),
        )),
    }
}

/// The value decoder as it was before session 11 (collected exceptions,
/// the integer column decoded into a vector of its own, then converted),
/// kept as the reference for the tests.
#[cfg(test)]
pub(crate) fn decode_values_reference(
    r: &mut Reader<'_>,
    n: usize,
) -> Result<Vec<f64>, DecodeError> {
    let kpos = r.pos();
    match r.u8()? & !MONOTONE {
        0 => {
            let v = f64::from_bits(r.be_u64()?);
            Ok(vec![v; n])
        }
        1 => {
            let p = decimal_scale(r)?;
            let nexc = r.len(n)?;
            let mut exc = Vec::with_capacity(nexc);
            let mut pos = 0usize;
            for _ in 0..nexc {
                let gpos = r.pos();
                pos = pos
                    .checked_add(r.len(n)?)
                    .filter(|&p| p < n)
                    .ok_or_else(|| DecodeError::new(gpos, "exception position out of range"))?;
                exc.push((pos, f64::from_bits(r.be_u64()?)));
            }
            let ints = super::ints::reference::decode_ints(r, n)?;
            // Integer columns (counters, integer gauges) have exponent 0 (`p == 1`):
            // dividing by 1 changes nothing and costs a division per value.
            let mut out: Vec<f64> = if p == 1.0 {
                ints.into_iter().map(|k| k as f64).collect()
            } else {
                ints.into_iter().map(|k| k as f64 / p).collect()
            };
            for (i, v) in exc {
                if let Some(slot) = out.get_mut(i) {
                    *slot = v;
                }
            }
            Ok(out)
        }
        2 => {
            let (vals, used) = decode_xor(r.rest(), n)
                .map_err(|e| DecodeError::new(r.pos() + e.offset, e.message))?;
            r.bytes(used)?;
            Ok(vals)
        }
        3 => Ok(super::ints::reference::decode_ints(r, n)?
            .into_iter()
            .map(unordered)
            .collect()),
        k => Err(DecodeError::new(
            kpos,
            format!("unknown value encoding {k}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(vals: &[f64]) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_values(vals, &mut buf);
        let mut r = Reader::new(&buf);
        let got = decode_values(&mut r, vals.len()).unwrap();
        assert_eq!(r.remaining(), 0);
        let a: Vec<u64> = vals.iter().map(|v| v.to_bits()).collect();
        let b: Vec<u64> = got.iter().map(|v| v.to_bits()).collect();
        assert_eq!(a, b);
        buf
    }

    #[test]
    fn picks_decimal_for_cpu_counters_and_keeps_stale_markers() {
        let mut vals: Vec<f64> = (0..500)
            .map(|i| (i * 437 + (i * i) % 91) as f64 / 100.0)
            .collect();
        vals.push(f64::from_bits(promlite_model::STALE_NAN_BITS));
        let buf = rt(&vals);
        assert_eq!(buf[0], 1);
        assert!(buf.len() < 500 * 2, "{}", buf.len());
    }

    /// Integer values (decimal exponent 0, decoded without the division)
    /// round-trip bit for bit: negatives, zero, large counters, exceptions.
    #[test]
    fn integer_columns_round_trip() {
        let mut vals: Vec<f64> = (0..240).map(|i| (i / 3) as f64 - 40.0).collect();
        vals.extend([0.0, -1.0, 3.0]);
        vals.push(f64::from_bits(promlite_model::STALE_NAN_BITS));
        let buf = rt(&vals);
        assert_eq!((buf[0], buf[1]), (1, 0), "decimal with exponent 0");
        let counter: Vec<f64> = (0..120)
            .map(|i| (1u64 << 40) as f64 + (i * 1500) as f64)
            .collect();
        let buf = rt(&counter);
        assert_eq!((buf[0], buf[1]), (1 | MONOTONE, 0), "a counter is flagged");
    }

    #[test]
    fn constant_and_xor_and_specials() {
        assert_eq!(rt(&[1.5; 100]).len(), 9);
        rt(&[
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1e300,
        ]);
        let buf = rt(&[0.1f64.sqrt(), 0.2f64.sqrt(), 0.3f64.sqrt()]);
        assert_eq!(buf[0], 2 | MONOTONE);
        let buf = rt(&[0.3f64.sqrt(), 0.2f64.sqrt(), 0.1f64.sqrt()]);
        assert_eq!(buf[0], 2);
        // A float counter with irrational increments picks ordered bits.
        let mut acc = 100.0f64;
        let counter: Vec<f64> = (0..300)
            .map(|_| {
                acc += std::f64::consts::SQRT_2 * 1e-3;
                acc
            })
            .collect();
        let buf = rt(&counter);
        assert_eq!(buf[0], 3 | MONOTONE, "{}", buf.len());
        rt(&[-1.0, -0.0, 0.0, 1e-300, -1e-300, f64::NAN, -f64::NAN]);
        rt(&[]);
    }

    /// Decoding into pairs gives the values [`decode_values`] gives, bit
    /// for bit, leaving the timestamps alone; [`check_value_count`] accepts
    /// a column's own length and rejects one more or one less exactly when
    /// the full decoder does (always for the noisy column).
    #[test]
    fn decoding_into_pairs_and_checking_the_count() {
        let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
        let mut x = 7u64;
        let columns: Vec<Vec<f64>> = vec![
            vec![5.0; 9],
            (0..300).map(|i| (i * 3) as f64 / 10.0).collect(),
            (0..300)
                .map(|i| {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    if i % 50 == 7 {
                        stale
                    } else {
                        ((x >> 20) % 90_000_000) as f64
                    }
                })
                .collect(),
            (0..140).map(|i| (i as f64).sqrt() * -3.3).collect(),
            vec![1.5, f64::NAN, -0.0, f64::INFINITY, 1e300],
        ];
        for col in &columns {
            let n = col.len();
            let mut buf = Vec::new();
            encode_values(col, &mut buf);
            let want = decode_values(&mut Reader::new(&buf), n).unwrap();
            let mut pairs: Vec<(i64, f64)> = (0..n as i64).map(|i| (i * 10, 0.0)).collect();
            decode_values_into(&mut Reader::new(&buf), &mut pairs, |s, v| s.1 = v).unwrap();
            for (i, (p, w)) in pairs.iter().zip(&want).enumerate() {
                assert_eq!((p.0, p.1.to_bits()), (i as i64 * 10, w.to_bits()));
            }
            check_value_count(&buf, n).unwrap();
            for m in [n - 1, n + 1] {
                let full = super::super::decode_chunk_values(&buf, m).map(|_| ());
                let check = check_value_count(&buf, m);
                assert_eq!(full.is_err(), check.is_err(), "{m} of {n}");
                // Noisy integers leave bits that tell (a constant column
                // or constant steps may not).
                if col.len() == 300 && col[1] != 0.3 {
                    assert!(check.is_err(), "{m} of {n}, kind {}", buf[0]);
                }
            }
        }
    }

    /// Columns of every kind, monotone or not: the flag is set exactly when
    /// no value is NaN and none falls, and then [`monotone_first`] gives
    /// the decoder's first value bit for bit (without the flag: `None`).
    #[test]
    fn monotone_flag_and_first_value() {
        let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut columns: Vec<Vec<f64>> = vec![
            vec![5.0; 7],
            vec![f64::NAN; 3],
            vec![-0.0, 0.0, 0.0, 1.0],
            vec![f64::NEG_INFINITY, -1.0, 2.0, f64::INFINITY],
            vec![1.0, 2.0, stale],
            vec![1.0, f64::NAN, 3.0],
            vec![1e300, 1e301, 1e302],
            vec![0.5],
            vec![3.0, 2.0],
        ];
        for len in [2usize, 3, 17, 120, 300] {
            // Integer counters (delta columns), 2-decimal counters, float
            // counters (ordered bits or XOR), random jumps (raw integer
            // columns), each also with a reset, with -0.0 or an exception
            // first, and with a NaN inside.
            let mut acc = 0.0f64;
            let int: Vec<f64> = (0..len).map(|i| (i * 1500 + (i * i) % 7) as f64).collect();
            let dec: Vec<f64> = (0..len).map(|i| (i * 437) as f64 / 100.0).collect();
            let float: Vec<f64> = (0..len)
                .map(|_| {
                    acc += (rnd() % 1000) as f64 * std::f64::consts::SQRT_2;
                    acc
                })
                .collect();
            let mut jumps: Vec<f64> = (0..len).map(|_| (rnd() >> 12) as f64).collect();
            jumps.sort_by(f64::total_cmp);
            for base in [int, dec, float, jumps] {
                let mut reset = base.clone();
                reset[len / 2] = 0.0;
                let mut first_exc = base.clone();
                first_exc[0] = 1.0 / 3.0 - 1e9;
                let mut neg_zero = base.clone();
                neg_zero[0] = -0.0;
                let mut nan = base.clone();
                nan[len - 1] = stale;
                columns.extend([base, reset, first_exc, neg_zero, nan]);
            }
        }
        for vals in &columns {
            let mut buf = Vec::new();
            encode_values(vals, &mut buf);
            let constant = buf[0] == 0;
            let mono = is_monotone(vals);
            assert_eq!(
                !constant && buf[0] & MONOTONE != 0,
                mono && !constant,
                "{vals:?}"
            );
            let all = decode_values(&mut Reader::new(&buf), vals.len()).unwrap();
            let first = monotone_first(&buf, vals.len()).unwrap();
            if mono {
                assert_eq!(first.map(f64::to_bits), Some(all[0].to_bits()), "{vals:?}");
            } else {
                assert_eq!(first, None, "{vals:?}");
            }
            // Columns written before the flag existed read the same, and
            // give no first value.
            let mut old = buf.clone();
            old[0] &= !MONOTONE;
            let again = decode_values(&mut Reader::new(&old), vals.len()).unwrap();
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&again), bits(&all));
            if !constant {
                assert_eq!(monotone_first(&old, vals.len()).unwrap(), None);
            }
        }
        // Truncated flagged columns are errors, not panics.
        let mut buf = Vec::new();
        encode_values(
            &(0..50).map(|i| i as f64 * 1.5).collect::<Vec<_>>(),
            &mut buf,
        );
        for cut in 0..buf.len().min(12) {
            let _ = monotone_first(&buf[..cut], 50);
        }
        assert!(monotone_first(&[], 5).is_err());
        assert!(monotone_first(&[MONOTONE | 1], 5).is_err());
    }
}
