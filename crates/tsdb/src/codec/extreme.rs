//! The greatest or least value of part of a value column, for
//! `max_over_time` and `min_over_time`, without handing every value to
//! the caller.
//!
//! Only columns that can hold neither NaN nor `-0` qualify: a constant
//! column whose value is neither, and a decimal column without exceptions
//! (every value is `k / 10^e` for an integer `k`, which is never NaN and
//! never `-0`; NaN, staleness markers and `-0` are always exceptions). For
//! those, the float order is the order of the integers (`k as f64` and the
//! division by a positive power of ten are both monotone), so the extreme
//! of the values is the converted extreme of the integers, bit for bit.
//! The integers are folded as they are read ([`fold_ints`]), not stored.

use super::ints_decode::fold::fold_ints;
use super::values::{decimal_scale, MONOTONE};
use super::varint::{DecodeError, Reader};

/// Part of a value column folded by [`value_extreme`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Extreme {
    /// The greatest (or least) value of the part; `None` for an empty part.
    pub value: Option<f64>,
    /// The column's last value (for the check against a stored last value).
    pub last: f64,
}

/// The greatest (`max`) or least value of values `lo..hi` (cut to `n`) of
/// the value column `vals` of `n` values, and its last value, when the
/// column can hold neither NaN nor `-0` (see the module comment); `None`
/// for every other column (the caller decodes it), and for `n == 0`. The
/// whole column is read and checked as [`super::decode_chunk_values`]
/// checks it: a column it rejects (short, unknown modes, trailing bytes)
/// is an error here too.
pub fn value_extreme(
    vals: &[u8],
    n: usize,
    lo: usize,
    hi: usize,
    max: bool,
) -> Result<Option<Extreme>, DecodeError> {
    if n == 0 {
        return Ok(None);
    }
    let hi = hi.min(n);
    let lo = lo.min(hi);
    if let Some(v) = super::constant_value(vals) {
        if v.is_nan() || (v == 0.0 && v.is_sign_negative()) {
            return Ok(None);
        }
        return Ok(Some(Extreme {
            value: (lo < hi).then_some(v),
            last: v,
        }));
    }
    let mut r = Reader::new(vals);
    if r.u8()? & !MONOTONE != 1 {
        return Ok(None);
    }
    let p = decimal_scale(&mut r)?;
    if r.len(n)? != 0 {
        return Ok(None);
    }
    let folded = if max {
        fold_ints::<true>(&mut r, n, lo, hi)?
    } else {
        fold_ints::<false>(&mut r, n, lo, hi)?
    };
    let Some(folded) = folded else {
        return Ok(None);
    };
    if r.remaining() != 0 {
        return Err(DecodeError::new(
            r.pos(),
            "trailing bytes after value column",
        ));
    }
    let conv = |k: i64| if p == 1.0 { k as f64 } else { k as f64 / p };
    Ok(Some(Extreme {
        value: folded.extreme.map(conv),
        last: conv(folded.last),
    }))
}

#[cfg(test)]
#[path = "extreme_tests.rs"]
mod tests;
