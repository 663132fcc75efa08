//! Integer columns: the shared back end of timestamps and decimal values.
//!
//! A column of `n` integers (n is known to the caller) is stored as a mode
//! byte followed by a transform-specific prefix and a residual sequence:
//!
//! * mode 0 (raw): residuals are the values themselves;
//! * mode 1 (delta): the first value as a varint, then `v[i] - v[i-1]`;
//! * mode 2 (delta of delta): the first value and first delta as varints,
//!   then `(v[i] - v[i-1]) - (v[i-1] - v[i-2])`.
//!
//! Residuals are split into blocks of [`BLOCK`] values; each block stores its
//! minimum (zigzag varint), a bit width `w` (one byte, 0..=64) and then every
//! `residual - min` in `w` bits, padded to a byte. A block whose values are
//! all equal therefore costs two or three bytes in total ("frame of
//! reference" bit packing). The encoder tries every mode and keeps the
//! smallest output. All arithmetic wraps, so any `i64` sequence round-trips.

use super::bits::{BitReader, BitWriter};
use super::varint::{put_varint, DecodeError, Reader};

/// Residuals per bit-packed block.
pub const BLOCK: usize = 128;

fn deltas(v: &[i64]) -> Vec<i64> {
    v.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect()
}

/// Appends the bit-packed residual blocks for `r`.
fn pack(r: &[i64], out: &mut Vec<u8>) {
    for block in r.chunks(BLOCK) {
        let min = block.iter().copied().min().unwrap_or(0);
        let span = block.iter().map(|&x| x.wrapping_sub(min) as u64).max().unwrap_or(0);
        let width = 64 - span.leading_zeros();
        put_varint(out, min);
        out.push(width as u8);
        if width > 0 {
            let mut w = BitWriter::new();
            for &x in block {
                w.write(x.wrapping_sub(min) as u64, width);
            }
            w.finish_into(out);
        }
    }
}

fn unpack(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), DecodeError> {
    let mut left = n;
    while left > 0 {
        let len = left.min(BLOCK);
        let min = r.varint()?;
        let wpos = r.pos();
        let width = u32::from(r.u8()?);
        if width > 64 {
            return Err(DecodeError::new(wpos, format!("bit width {width} > 64")));
        }
        if width == 0 {
            out.extend(std::iter::repeat_n(min, len));
        } else {
            let nbytes = (len * width as usize).div_ceil(8);
            let bytes = r.bytes(nbytes)?;
            let mut br = BitReader::new(bytes);
            for _ in 0..len {
                out.push(min.wrapping_add(br.read(width)? as i64));
            }
        }
        left -= len;
    }
    Ok(())
}

fn encode_mode(v: &[i64], mode: u8, out: &mut Vec<u8>) {
    out.push(mode);
    match mode {
        0 => pack(v, out),
        1 => {
            if let Some(&first) = v.first() {
                put_varint(out, first);
                pack(&deltas(v), out);
            }
        }
        _ => {
            if let Some(&first) = v.first() {
                put_varint(out, first);
                let d = deltas(v);
                if let Some(&d0) = d.first() {
                    put_varint(out, d0);
                    pack(&deltas(&d), out);
                }
            }
        }
    }
}

/// Appends `v` in the smallest of the three modes.
pub fn encode_ints(v: &[i64], out: &mut Vec<u8>) {
    let mut best: Option<Vec<u8>> = None;
    for mode in 0..3u8 {
        let mut buf = Vec::new();
        encode_mode(v, mode, &mut buf);
        if best.as_ref().is_none_or(|b| buf.len() < b.len()) {
            best = Some(buf);
        }
    }
    if let Some(b) = best {
        out.extend_from_slice(&b);
    }
}

/// Reads `n` integers written by [`encode_ints`].
pub fn decode_ints(r: &mut Reader<'_>, n: usize) -> Result<Vec<i64>, DecodeError> {
    let mpos = r.pos();
    let mode = r.u8()?;
    let mut out = Vec::with_capacity(n);
    match mode {
        0 => unpack(r, n, &mut out)?,
        1 => {
            if n > 0 {
                let mut cur = r.varint()?;
                let mut d = Vec::with_capacity(n - 1);
                unpack(r, n - 1, &mut d)?;
                out.push(cur);
                for x in d {
                    cur = cur.wrapping_add(x);
                    out.push(cur);
                }
            }
        }
        2 => {
            if n > 0 {
                let mut cur = r.varint()?;
                out.push(cur);
                if n > 1 {
                    let mut delta = r.varint()?;
                    cur = cur.wrapping_add(delta);
                    out.push(cur);
                    let mut dd = Vec::with_capacity(n - 2);
                    unpack(r, n - 2, &mut dd)?;
                    for x in dd {
                        delta = delta.wrapping_add(x);
                        cur = cur.wrapping_add(delta);
                        out.push(cur);
                    }
                }
            }
        }
        m => return Err(DecodeError::new(mpos, format!("unknown integer mode {m}"))),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(v: &[i64]) -> usize {
        let mut buf = Vec::new();
        encode_ints(v, &mut buf);
        let mut r = Reader::new(&buf);
        assert_eq!(decode_ints(&mut r, v.len()).unwrap(), v);
        assert_eq!(r.remaining(), 0);
        buf.len()
    }

    #[test]
    fn modes_round_trip_and_pick_small() {
        assert_eq!(rt(&[]), 1);
        rt(&[i64::MIN, i64::MAX, 0, -1, i64::MAX]);
        // A constant-rate counter costs a handful of bytes regardless of length.
        let ramp: Vec<i64> = (0..1000).map(|i| 1_000_000 + 15_000 * i).collect();
        assert!(rt(&ramp) < 40, "{}", rt(&ramp));
        let mut buf = Vec::new();
        encode_ints(&ramp, &mut buf);
        assert_eq!(buf[0], 2);
    }

    #[test]
    fn corrupt_input_errors() {
        let mut buf = Vec::new();
        encode_ints(&[1, 5, 9, 100, 3], &mut buf);
        for cut in 0..buf.len() {
            assert!(decode_ints(&mut Reader::new(&buf[..cut]), 5).is_err());
        }
        assert!(decode_ints(&mut Reader::new(&[7]), 1).is_err());
        assert!(decode_ints(&mut Reader::new(&[0, 0, 65]), 1).is_err());
    }
}
