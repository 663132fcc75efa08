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

use super::ints::{decode_ints_map, encode_ints};
use super::ints_decode::filled;
use super::varint::{put_uvarint, DecodeError, Reader};
use super::xor::{decode_xor, encode_xor};

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
    out.extend_from_slice(&best);
}

/// Decodes `n` values written by [`encode_values`].
///
/// Integer columns are decoded straight into the returned vector, the
/// conversion to floats (`k / 10^e`, or the inverse of [`ordered`]) fused
/// into the integer decoder; a decimal column's exceptions are read twice
/// (checked and skipped before the integers, stored after them) instead
/// of being collected.
pub fn decode_values(r: &mut Reader<'_>, n: usize) -> Result<Vec<f64>, DecodeError> {
    let kpos = r.pos();
    match r.u8()? {
        0 => {
            let v = f64::from_bits(r.be_u64()?);
            Ok(vec![v; n])
        }
        1 => {
            let epos = r.pos();
            let e = r.u8()? as usize;
            let p = *POW10
                .get(e)
                .ok_or_else(|| DecodeError::new(epos, format!("decimal exponent {e} too large")))?;
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
            let mut out = filled(n, 0.0f64);
            // Integer columns (counters, integer gauges) have `e == 0`:
            // dividing by 1 changes nothing and costs a division per value.
            if e == 0 {
                decode_ints_map(r, &mut out, |k| k as f64)?;
            } else {
                decode_ints_map(r, &mut out, |k| k as f64 / p)?;
            }
            let mut x = exceptions;
            let mut pos = 0usize;
            for _ in 0..nexc {
                pos = pos.saturating_add(x.len(n)?);
                let v = f64::from_bits(x.be_u64()?);
                if let Some(slot) = out.get_mut(pos) {
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
        3 => {
            let mut out = filled(n, 0.0f64);
            decode_ints_map(r, &mut out, unordered)?;
            Ok(out)
        }
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
    match r.u8()? {
        0 => {
            let v = f64::from_bits(r.be_u64()?);
            Ok(vec![v; n])
        }
        1 => {
            let epos = r.pos();
            let e = r.u8()? as usize;
            let p = *POW10
                .get(e)
                .ok_or_else(|| DecodeError::new(epos, format!("decimal exponent {e} too large")))?;
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
            // Integer columns (counters, integer gauges) have `e == 0`:
            // dividing by 1 changes nothing and costs a division per value.
            let mut out: Vec<f64> = if e == 0 {
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
        assert_eq!((buf[0], buf[1]), (1, 0));
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
        assert_eq!(buf[0], 3, "{}", buf.len());
        rt(&[-1.0, -0.0, 0.0, 1e-300, -1e-300, f64::NAN, -f64::NAN]);
        rt(&[]);
    }
}
