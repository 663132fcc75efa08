//! Decoding part of an integer column: values `lo..lo + out.len()` of a
//! column of `n`, for a query window that covers the end (or the middle)
//! of a chunk.
//!
//! The values before `lo` are read but not stored: their slots are of a
//! zero-sized type and the store does nothing, so what is left of the
//! decoder is what the position (and, in delta columns, the running sum)
//! needs. Of a raw column (mode 0) a frame-of-reference block before `lo`
//! is stepped over by its byte length, and a Rice block's codes cost only
//! their lengths. Nothing after the last wanted value is read: decoding
//! stops in the block that holds it, so the column's remaining bytes are
//! not checked (the caller knows it read part of the column). Truncated or
//! corrupt input is still a [`DecodeError`] for every block read, never a
//! panic.

use super::{
    fixed_block_from, fixed_header, rice_block_from, Delta, DeltaOfDelta, Raw, Undo, BLOCK,
    GCD_FLAG, RICE_BASE,
};
use crate::codec::varint::{DecodeError, Reader};

/// Decodes values `lo..lo + out.len()` of the integer column of `n`
/// values at `r` (from its mode byte), storing each by `f(slot, value)`;
/// an error when they do not lie within the column.
pub(crate) fn decode_ints_range<T, F: FnMut(&mut T, i64)>(
    r: &mut Reader<'_>,
    n: usize,
    lo: usize,
    out: &mut [T],
    mut f: F,
) -> Result<(), DecodeError> {
    let hi = lo
        .checked_add(out.len())
        .filter(|&hi| hi <= n)
        .ok_or_else(|| DecodeError::new(r.pos(), "value range past the column's end"))?;
    let mpos = r.pos();
    let mode = r.u8()?;
    if out.is_empty() {
        return Ok(());
    }
    // The prefix values (mode 1: the first; mode 2: the first two) are
    // values 0 and 1; the residual blocks hold the values from `start` on.
    let take = |i: usize, v: i64, out: &mut [T], f: &mut F| {
        if let Some(slot) = i.checked_sub(lo).and_then(|j| out.get_mut(j)) {
            f(slot, v);
        }
    };
    match mode {
        0 => range_blocks(r, n, 0, lo, hi, out, Raw, &mut f),
        1 => {
            let cur = r.varint()?;
            take(0, cur, out, &mut f);
            range_blocks(r, n, 1, lo, hi, out, Delta { cur }, &mut f)
        }
        2 => {
            let cur = r.varint()?;
            take(0, cur, out, &mut f);
            if hi <= 1 {
                return Ok(());
            }
            let delta = r.varint()?;
            let cur = cur.wrapping_add(delta);
            take(1, cur, out, &mut f);
            range_blocks(r, n, 2, lo, hi, out, DeltaOfDelta { cur, delta }, &mut f)
        }
        m => Err(DecodeError::new(mpos, format!("unknown integer mode {m}"))),
    }
}

/// The residual blocks of values `start..n`, of which values `lo..hi` are
/// stored into `out` (`out.len() == hi - lo`); stops after the block that
/// holds value `hi - 1`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn range_blocks<T, U: Undo, F: FnMut(&mut T, i64)>(
    r: &mut Reader<'_>,
    n: usize,
    start: usize,
    lo: usize,
    hi: usize,
    out: &mut [T],
    mut undo: U,
    f: &mut F,
) -> Result<(), DecodeError> {
    let mut units = [(); BLOCK];
    let mut skip = |_: &mut (), _: i64| {};
    let mut b0 = start;
    while b0 < hi {
        let len = (n - b0).min(BLOCK);
        // This block's values: `b0..b0 + len`; those before `a` are
        // skipped, `a..b` stored.
        let a = lo.clamp(b0, b0 + len) - b0;
        let b = hi.clamp(b0, b0 + len) - b0;
        // Empty for a block wholly before `lo` (`b0 + b <= lo`).
        let dst = out
            .get_mut((b0 + a).saturating_sub(lo)..(b0 + b).saturating_sub(lo))
            .unwrap_or(&mut []);
        let min = r.varint()?;
        let wpos = r.pos();
        let wbyte = r.u8()?;
        if wbyte & GCD_FLAG == 0 && wbyte >= RICE_BASE {
            let k = u32::from(wbyte - RICE_BASE);
            let rpos = r.pos();
            let rest = r.rest();
            let skipped = units.get_mut(..a).unwrap_or(&mut []);
            let mid = rice_block_from(rest, 0, min, k, skipped, &mut undo, &mut skip);
            let end = rice_block_from(rest, mid, min, k, dst, &mut undo, f);
            if end > rest.len() * 8 {
                return Err(DecodeError::new(rpos + rest.len(), "bit stream ends early"));
            }
            // Past the block's last code when the wanted values go on
            // (`b == len`); otherwise they end here and nothing after is
            // read.
            r.bytes(end.div_ceil(8))?;
        } else {
            let (g, width) = fixed_header(r, wbyte, wpos)?;
            let nbytes = (len * width as usize).div_ceil(8);
            let bytes = r.bytes(nbytes)?;
            if width == 0 {
                for _ in 0..a {
                    undo.step(min);
                }
                for slot in dst.iter_mut() {
                    f(slot, undo.step(min));
                }
            } else {
                if !U::RAW {
                    // A delta column's sum needs the skipped residuals.
                    let skipped = units.get_mut(..a).unwrap_or(&mut []);
                    fixed_block_from(bytes, 0, width, min, g, skipped, &mut undo, &mut skip);
                }
                fixed_block_from(bytes, a, width, min, g, dst, &mut undo, f);
            }
        }
        b0 += len;
    }
    Ok(())
}

#[cfg(test)]
#[path = "ints_range_tests.rs"]
mod tests;
