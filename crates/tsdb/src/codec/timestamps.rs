//! Timestamp columns.
//!
//! Layout: `n` (uvarint), then a kind byte:
//!
//! * kind 0 — the timestamps as an integer column ([`super::ints`]; in
//!   practice its delta-of-delta mode);
//! * kind 1 — "grid": the first timestamp (varint), the span `last - first`
//!   (varint), then the residuals `t[i] - (first + i*span/(n-1))` (integer
//!   division, rounded toward negative infinity) as an integer column.
//!
//! Scrape timestamps are a fixed interval plus a few milliseconds of jitter;
//! the grid residual is the jitter itself, while a delta-of-delta is the
//! difference of two jitters and needs one bit more. Missed scrapes make the
//! grid worse, so the encoder writes both and keeps the smaller.

use super::ints::{decode_ints, encode_ints};
use super::varint::{put_uvarint, put_varint, DecodeError, Reader};

/// Upper bound on samples per column accepted by the decoder.
pub const MAX_SAMPLES: usize = 1 << 24;

fn grid_point(t0: i64, span: i64, i: usize, n: usize) -> i64 {
    if n < 2 {
        return t0;
    }
    let num = i as i128 * span as i128;
    let den = (n - 1) as i128;
    (t0 as i128 + num.div_euclid(den)) as i64
}

/// Adds `grid_point(first, span, i, n)` to every `col[i]` (`n = col.len()`).
///
/// The decoder's hot loop: instead of a 128-bit division per sample it
/// steps the quotient and remainder of `i*span/(n-1)` (exact for
/// `span >= 0`, which is all the encoder writes); a negative span, only
/// possible in damaged data, takes the general path.
fn add_grid(col: &mut [i64], first: i64, span: i64) {
    let n = col.len();
    if n < 2 || span < 0 {
        for (i, v) in col.iter_mut().enumerate() {
            *v = grid_point(first, span, i, n).wrapping_add(*v);
        }
        return;
    }
    let den = (n - 1) as i64;
    let (step_q, step_r) = (span / den, span % den);
    let (mut q, mut rem) = (0i64, 0i64);
    for v in col.iter_mut() {
        *v = first.wrapping_add(q).wrapping_add(*v);
        // Branch-free carry: the branch would mispredict about as often as
        // step_r / den is hard to guess; both candidates for the next
        // remainder are computed from the current one, then one is picked.
        let (r1, r2) = (rem + step_r, rem + (step_r - den));
        let carry = r2 >= 0;
        rem = if carry { r2 } else { r1 };
        q = q.wrapping_add(step_q).wrapping_add(i64::from(carry));
    }
}

/// Appends the encoded timestamps.
pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    put_uvarint(out, ts.len() as u64);
    let mut plain = vec![0u8];
    encode_ints(ts, &mut plain);
    if let (Some(&first), Some(&last)) = (ts.first(), ts.last()) {
        if ts.len() > 2 {
            let span = last.wrapping_sub(first);
            // Only meaningful when the span does not wrap.
            if last >= first {
                let mut grid = vec![1u8];
                put_varint(&mut grid, first);
                put_varint(&mut grid, span);
                let n = ts.len();
                let resid: Vec<i64> = ts
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| t.wrapping_sub(grid_point(first, span, i, n)))
                    .collect();
                encode_ints(&resid, &mut grid);
                if grid.len() < plain.len() {
                    out.extend_from_slice(&grid);
                    return;
                }
            }
        }
    }
    out.extend_from_slice(&plain);
}

/// Decodes timestamps written by [`encode_timestamps`].
pub fn decode_timestamps(r: &mut Reader<'_>) -> Result<Vec<i64>, DecodeError> {
    let n = r.len(MAX_SAMPLES)?;
    let kpos = r.pos();
    match r.u8()? {
        0 => decode_ints(r, n),
        1 => {
            let first = r.varint()?;
            let span = r.varint()?;
            // (Fusing `add_grid` into the integer decoder as a closure was
            // tried: its state then lives in memory, 25 % more instructions.)
            let mut resid = decode_ints(r, n)?;
            add_grid(&mut resid, first, span);
            Ok(resid)
        }
        k => Err(DecodeError::new(
            kpos,
            format!("unknown timestamp encoding {k}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(ts: &[i64]) -> usize {
        let mut buf = Vec::new();
        encode_timestamps(ts, &mut buf);
        let mut r = Reader::new(&buf);
        assert_eq!(decode_timestamps(&mut r).unwrap(), ts);
        buf.len()
    }

    #[test]
    fn jittered_scrapes_use_few_bits() {
        let mut x: u64 = 7;
        let ts: Vec<i64> = (0..480)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                1_700_000_000_000 + i * 15_000 + (x % 5) as i64
            })
            .collect();
        // 3 bits of jitter per sample plus a few header bytes.
        assert!(size(&ts) < 480 * 3 / 8 + 40, "{}", size(&ts));
        assert!(size(&[]) <= 3);
        size(&[-5]);
        size(&[i64::MIN, 0, i64::MAX]);
    }

    #[test]
    fn stepped_grid_matches_the_division() {
        for &(first, span, n) in &[
            (0i64, 0i64, 2usize),
            (1_700_000_000_000, 7_185_000, 480),
            (-5, 1, 1000),
            (3, 999_999_937, 7),
            (0, i64::MAX, 3),
            (10, -4, 5),
        ] {
            let mut col = vec![1i64; n];
            add_grid(&mut col, first, span);
            for (i, v) in col.iter().enumerate() {
                assert_eq!(
                    *v,
                    grid_point(first, span, i, n).wrapping_add(1),
                    "{first} {span} {n} {i}"
                );
            }
        }
    }
}
