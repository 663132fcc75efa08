//! Gorilla XOR float compression (Pelkonen et al., VLDB 2015), the fallback
//! for values that are not short decimals.
//!
//! The first value is stored in 64 bits. Each later value is XORed with its
//! predecessor: `0` if equal; otherwise `1`, then either `0` and the
//! meaningful bits inside the previous leading/trailing-zero window, or `1`,
//! 5 bits of leading-zero count, 6 bits of meaningful-bit count (0 meaning
//! 64) and the meaningful bits.

use super::bits::{BitReader, BitWriter};
use super::varint::DecodeError;

/// Appends the XOR stream for `vals` (byte-aligned at the end).
pub fn encode_xor(vals: &[f64], out: &mut Vec<u8>) {
    let mut w = BitWriter::new();
    let Some(first) = vals.first() else {
        return;
    };
    let mut prev = first.to_bits();
    w.write(prev, 64);
    let (mut lead, mut trail) = (u32::MAX, 0u32);
    for v in &vals[1..] {
        let cur = v.to_bits();
        let x = cur ^ prev;
        prev = cur;
        if x == 0 {
            w.bit(false);
            continue;
        }
        w.bit(true);
        let l = x.leading_zeros().min(31);
        let t = x.trailing_zeros();
        if lead != u32::MAX && l >= lead && t >= trail {
            w.bit(false);
            w.write(x >> trail, 64 - lead - trail);
        } else {
            lead = l;
            trail = t;
            let sig = 64 - l - t;
            w.bit(true);
            w.write(u64::from(l), 5);
            w.write(u64::from(sig & 63), 6);
            w.write(x >> t, sig);
        }
    }
    w.finish_into(out);
}

/// Decodes `n` values; returns them and the number of bytes consumed.
pub fn decode_xor(buf: &[u8], n: usize) -> Result<(Vec<f64>, usize), DecodeError> {
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return Ok((out, 0));
    }
    let mut r = BitReader::new(buf);
    let mut prev = r.read(64)?;
    out.push(f64::from_bits(prev));
    let (mut lead, mut trail) = (u32::MAX, 0u32);
    for _ in 1..n {
        if !r.bit()? {
            out.push(f64::from_bits(prev));
            continue;
        }
        if r.bit()? {
            lead = r.read(5)? as u32;
            let mut sig = r.read(6)? as u32;
            if sig == 0 {
                sig = 64;
            }
            if lead + sig > 64 {
                return Err(DecodeError::new(r.bytes_consumed(), "invalid XOR window"));
            }
            trail = 64 - lead - sig;
        } else if lead == u32::MAX {
            return Err(DecodeError::new(
                r.bytes_consumed(),
                "XOR window reused before set",
            ));
        }
        let sig = 64 - lead - trail;
        let x = r.read(sig)? << trail;
        prev ^= x;
        out.push(f64::from_bits(prev));
    }
    Ok((out, r.bytes_consumed()))
}
