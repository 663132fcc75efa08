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
//! minimum (zigzag varint), a bit width `w` (one byte, 0..=64; if its high
//! bit 0x80 is set, a common divisor `g >= 2` follows as a uvarint, else
//! `g = 1`) and then every `(residual - min) / g` in `w` bits, padded to a
//! byte. The divisor catches page-sized memory gauges and similar. A block whose values are
//! all equal therefore costs two or three bytes in total ("frame of
//! reference" bit packing). The encoder tries every mode and keeps the
//! smallest output. All arithmetic wraps, so any `i64` sequence round-trips.

use super::bits::BitWriter;
pub use super::ints_decode::{decode_ints_map, decode_ints_with};
use super::varint::{put_uvarint, put_varint, DecodeError, Reader};

/// Residuals per bit-packed block.
pub const BLOCK: usize = 128;

fn deltas(v: &[i64]) -> Vec<i64> {
    v.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect()
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Flag in the width byte: a common divisor (uvarint) follows.
pub(super) const GCD_FLAG: u8 = 0x80;
/// Width bytes `RICE_BASE + k` (k in 0..=62) mark a Rice-coded block.
pub(super) const RICE_BASE: u8 = 0x41;
/// Quotients of this size or more are escaped (raw 64 bits follow).
pub(super) const RICE_ESC: u64 = 32;

use super::varint::zigzag;

fn rice_bits(u: &[u64], k: u32) -> u64 {
    u.iter()
        .map(|&x| {
            let q = x >> k;
            if q < RICE_ESC {
                q + 1 + u64::from(k)
            } else {
                RICE_ESC + 64
            }
        })
        .sum()
}

/// The best Rice parameter near the mean and its cost in bits.
fn best_rice(u: &[u64]) -> (u32, u64) {
    let mean = u.iter().map(|&x| x as f64).sum::<f64>() / u.len().max(1) as f64;
    let k0 = (mean * std::f64::consts::LN_2).max(1.0).log2().floor() as i64;
    (k0 - 1..=k0 + 2)
        .filter(|k| (0..=62).contains(k))
        .map(|k| (k as u32, rice_bits(u, k as u32)))
        .min_by_key(|x| x.1)
        .unwrap_or((62, u64::MAX))
}

/// How one block of residuals is written.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Frame of reference: `(x - min) / g` in `width` bits.
    Frame { min: i64, g: u64, width: u32 },
    /// Rice codes with parameter `k` of the zigzagged distance to `center`.
    Rice { center: i64, k: u32 },
}

fn uvarint_len(u: u64) -> usize {
    (64 - (u | 1).leading_zeros() as usize).div_ceil(7)
}

fn varint_len(v: i64) -> usize {
    uvarint_len(zigzag(v))
}

/// Chooses frame-of-reference bit packing or, when cheaper, Rice codes
/// around the median for one block, and returns the choice with its exact
/// size in bytes. `scratch` is reused between calls.
fn plan_block(block: &[i64], scratch: &mut Vec<i64>) -> (Plan, usize) {
    let min = block.iter().copied().min().unwrap_or(0);
    let mut g = 0u64;
    let mut maxdiff = 0u64;
    for &x in block {
        let d = x.wrapping_sub(min) as u64;
        maxdiff = maxdiff.max(d);
        if g != 1 {
            g = gcd(g, d);
        }
    }
    let g = g.max(1);
    // floor((x - min) / g) is monotonic in x - min, so the largest quotient
    // is the quotient of the largest difference.
    let span = if g == 1 { maxdiff } else { maxdiff / g };
    let width = 64 - span.leading_zeros();
    if g == 1 && width > 2 {
        scratch.clear();
        scratch.extend_from_slice(block);
        let mid = scratch.len() / 2;
        let (_, &mut center, _) = scratch.select_nth_unstable(mid);
        let u: Vec<u64> = block
            .iter()
            .map(|&x| zigzag(x.wrapping_sub(center)))
            .collect();
        let (k, bits) = best_rice(&u);
        if bits < block.len() as u64 * u64::from(width) {
            let bytes = varint_len(center) + 1 + bits.div_ceil(8) as usize;
            return (Plan::Rice { center, k }, bytes);
        }
    }
    let mut bytes = varint_len(min) + 1;
    if g > 1 {
        bytes += uvarint_len(g);
    }
    if width > 0 {
        bytes += (block.len() * width as usize).div_ceil(8);
    }
    (Plan::Frame { min, g, width }, bytes)
}

/// Writes one block as planned by [`plan_block`].
fn write_block(block: &[i64], plan: Plan, out: &mut Vec<u8>) {
    match plan {
        Plan::Rice { center, k } => {
            put_varint(out, center);
            out.push(RICE_BASE + k as u8);
            let mut w = BitWriter::new();
            for &x in block {
                let x = zigzag(x.wrapping_sub(center));
                let q = x >> k;
                if q < RICE_ESC {
                    w.write(u64::MAX, q as u32);
                    w.bit(false);
                    w.write(x, k);
                } else {
                    w.write(u64::MAX, RICE_ESC as u32);
                    w.write(x, 64);
                }
            }
            w.finish_into(out);
        }
        Plan::Frame { min, g, width } => {
            put_varint(out, min);
            if g > 1 {
                out.push(width as u8 | GCD_FLAG);
                put_uvarint(out, g);
            } else {
                out.push(width as u8);
            }
            if width > 0 {
                let mut w = BitWriter::new();
                if g == 1 {
                    for &x in block {
                        w.write(x.wrapping_sub(min) as u64, width);
                    }
                } else {
                    for &x in block {
                        w.write(x.wrapping_sub(min) as u64 / g, width);
                    }
                }
                w.finish_into(out);
            }
        }
    }
}

/// The plans of every block of `r` and their total size in bytes.
fn plan_all(r: &[i64], scratch: &mut Vec<i64>) -> (Vec<Plan>, usize) {
    let mut plans = Vec::with_capacity(r.len().div_ceil(BLOCK));
    let mut bytes = 0;
    for block in r.chunks(BLOCK) {
        let (p, b) = plan_block(block, scratch);
        plans.push(p);
        bytes += b;
    }
    (plans, bytes)
}

/// Appends `v` in the smallest of the three modes (the lowest mode on a
/// tie). Every mode's size is computed exactly before anything is
/// written, so only the chosen one is bit-packed.
pub fn encode_ints(v: &[i64], out: &mut Vec<u8>) {
    let mut scratch = Vec::with_capacity(BLOCK);
    let d1 = deltas(v);
    let d2 = deltas(&d1);
    // Per mode: the varint prefix values and the residuals.
    let first = v.first().copied();
    let d0 = d1.first().copied();
    let candidates: [(Vec<i64>, &[i64]); 3] = [
        (Vec::new(), v),
        (
            first.into_iter().collect(),
            if first.is_some() { &d1 } else { &[] },
        ),
        (
            first.into_iter().chain(d0).collect(),
            if d0.is_some() { &d2 } else { &[] },
        ),
    ];
    let mut best: Option<(u8, usize, Vec<Plan>)> = None;
    for (mode, (prefix, resid)) in candidates.iter().enumerate() {
        let (plans, bytes) = plan_all(resid, &mut scratch);
        let size = 1 + prefix.iter().map(|&p| varint_len(p)).sum::<usize>() + bytes;
        if best.as_ref().is_none_or(|b| size < b.1) {
            best = Some((mode as u8, size, plans));
        }
    }
    let Some((mode, size, plans)) = best else {
        return;
    };
    let (prefix, resid) = &candidates[mode as usize];
    out.reserve(size);
    let start = out.len();
    out.push(mode);
    for &p in prefix {
        put_varint(out, p);
    }
    for (block, plan) in resid.chunks(BLOCK).zip(plans) {
        write_block(block, plan, out);
    }
    debug_assert_eq!(out.len() - start, size, "planned size of mode {mode}");
}

/// Reads `n` integers written by [`encode_ints`].
pub fn decode_ints(r: &mut Reader<'_>, n: usize) -> Result<Vec<i64>, DecodeError> {
    let mut out = super::ints_decode::filled(n, 0i64);
    decode_ints_map(r, &mut out, |x| x)?;
    Ok(out)
}

/// Like [`decode_ints`], appending to `out`.
pub fn decode_ints_into(
    r: &mut Reader<'_>,
    n: usize,
    out: &mut Vec<i64>,
) -> Result<(), DecodeError> {
    let base = out.len();
    out.resize(base + n, 0);
    let res = decode_ints_map(r, out.get_mut(base..).unwrap_or(&mut []), |x| x);
    if res.is_err() {
        out.truncate(base);
    }
    res
}

#[cfg(test)]
#[path = "ints_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "ints_ref.rs"]
pub(super) mod reference;

/// Writers of single residual blocks for the decoder tests.
#[cfg(test)]
pub(super) mod tests_support {
    use super::{write_block, Plan};

    /// `block` as one Rice-coded block around `center` with parameter `k`.
    pub(in crate::codec) fn write_rice(block: &[i64], center: i64, k: u32, out: &mut Vec<u8>) {
        write_block(block, Plan::Rice { center, k }, out);
    }

    /// `block` as one frame-of-reference block.
    pub(in crate::codec) fn write_frame(
        block: &[i64],
        min: i64,
        g: u64,
        width: u32,
        out: &mut Vec<u8>,
    ) {
        write_block(block, Plan::Frame { min, g, width }, out);
    }
}
