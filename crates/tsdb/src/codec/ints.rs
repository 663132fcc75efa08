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

use super::bits::{BitReader, BitWriter};
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
const GCD_FLAG: u8 = 0x80;
/// Width bytes `RICE_BASE + k` (k in 0..=62) mark a Rice-coded block.
const RICE_BASE: u8 = 0x41;
/// Quotients of this size or more are escaped (raw 64 bits follow).
const RICE_ESC: u64 = 32;

use super::varint::{unzigzag, zigzag};

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

fn unpack_rice(
    r: &mut Reader<'_>,
    center: i64,
    k: u32,
    len: usize,
    out: &mut Vec<i64>,
) -> Result<(), DecodeError> {
    if len <= BLOCK && k <= 62 {
        return unpack_rice_block(r, center, k, len, out);
    }
    let start = r.pos();
    let mut br = BitReader::new(r.rest());
    for _ in 0..len {
        let q = u64::from(br.unary(RICE_ESC as u32)?);
        let u = if q < RICE_ESC {
            (q << k) | br.read(k)?
        } else {
            br.read(64)?
        };
        out.push(center.wrapping_add(unzigzag(u)));
    }
    let used = br.bytes_consumed();
    r.bytes(used)
        .map_err(|e| DecodeError::new(start + e.offset, e.message))?;
    Ok(())
}

/// [`unpack_rice`] for one block: one unaligned 128-bit load per value
/// while 16 bytes remain, then the checked bit reader for the tail.
fn unpack_rice_block(
    r: &mut Reader<'_>,
    center: i64,
    k: u32,
    len: usize,
    out: &mut Vec<i64>,
) -> Result<(), DecodeError> {
    let start = r.pos();
    let rest = r.rest();
    out.reserve(len);
    let (mut bitpos, mut done) = if k + (RICE_ESC as u32) < 57 {
        unpack_rice_buffered(rest, center, k, len, out)
    } else {
        (0, 0)
    };
    while done < len {
        let byte = bitpos / 8;
        let Some(bytes) = rest.get(byte..byte + 16) else {
            break;
        };
        let mut a = [0u8; 16];
        a.copy_from_slice(bytes);
        // Common case first: the whole field within the first eight bytes
        // (57 valid bits after the in-byte offset).
        let hi =
            u64::from_be_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]) << (bitpos % 8);
        let q = hi.leading_ones();
        if q < RICE_ESC as u32 && q + 1 + k <= 57 {
            let low = if k == 0 {
                0
            } else {
                (hi << (q + 1)) >> (64 - k)
            };
            bitpos += (q + 1 + k) as usize;
            out.push(center.wrapping_add(unzigzag((u64::from(q) << k) | low)));
            done += 1;
            continue;
        }
        let (u, bits) = rice_from_window(u128::from_be_bytes(a) << (bitpos % 8), k);
        bitpos += bits;
        out.push(center.wrapping_add(unzigzag(u)));
        done += 1;
    }
    let byte = bitpos / 8;
    let tail = rest.get(byte..).unwrap_or(&[]);
    let used = if done < len && tail.len() <= TAIL_MAX {
        let bits = unpack_rice_tail(tail, bitpos % 8, center, k, len - done, out)
            .map_err(|e| DecodeError::new(start + byte + e.offset, e.message))?;
        byte + bits.div_ceil(8)
    } else if done < len {
        let mut br = BitReader::new(tail);
        br.read((bitpos % 8) as u32)
            .map_err(|e| DecodeError::new(start + byte + e.offset, e.message))?;
        for _ in done..len {
            let q = u64::from(
                br.unary(RICE_ESC as u32)
                    .map_err(|e| DecodeError::new(start + byte + e.offset, e.message))?,
            );
            let u = if q < RICE_ESC {
                br.read(k).map(|low| (q << k) | low)
            } else {
                br.read(64)
            }
            .map_err(|e| DecodeError::new(start + byte + e.offset, e.message))?;
            out.push(center.wrapping_add(unzigzag(u)));
        }
        byte + br.bytes_consumed()
    } else {
        bitpos.div_ceil(8)
    };
    r.bytes(used)
        .map_err(|e| DecodeError::new(start + e.offset, e.message))?;
    Ok(())
}

/// One Rice code (or escaped 64-bit value) at the top of `w`, a 128-bit
/// window starting at the code's first bit: the zigzagged value and the
/// bits it used. The window always holds a whole code (at most
/// `RICE_ESC + 64` bits).
#[inline(always)]
fn rice_from_window(w: u128, k: u32) -> (u64, usize) {
    let q = w.leading_ones().min(RICE_ESC as u32);
    if q < RICE_ESC as u32 {
        let low = if k == 0 {
            0
        } else {
            ((w << (q + 1)) >> (128 - k)) as u64
        };
        ((u64::from(q) << k) | low, (q + 1 + k) as usize)
    } else {
        (((w << RICE_ESC) >> 64) as u64, RICE_ESC as usize + 64)
    }
}

/// Longest column tail [`unpack_rice_tail`] takes (the loops before it stop
/// with fewer than 16 bytes left).
const TAIL_MAX: usize = 16;

/// The last `count` values of a Rice-coded block whose bits start at bit
/// `off` of `tail` (at most [`TAIL_MAX`] bytes: the end of the column). The
/// bytes are copied into a zero-padded buffer so that every value is still
/// read with one 128-bit load; a code that runs past the real bytes is an
/// error, as from the checked bit reader. Returns the bits used from the
/// start of `tail`.
fn unpack_rice_tail(
    tail: &[u8],
    off: usize,
    center: i64,
    k: u32,
    count: usize,
    out: &mut Vec<i64>,
) -> Result<usize, DecodeError> {
    let mut padded = [0u8; TAIL_MAX + 16];
    if let Some(dst) = padded.get_mut(..tail.len()) {
        dst.copy_from_slice(tail);
    }
    let real_bits = tail.len() * 8;
    let mut bitpos = off;
    for _ in 0..count {
        let byte = bitpos / 8;
        let mut a = [0u8; 16];
        match padded.get(byte..byte + 16) {
            Some(w) if bitpos <= real_bits => a.copy_from_slice(w),
            _ => return Err(DecodeError::new(tail.len(), "bit stream ends early")),
        }
        let (u, bits) = rice_from_window(u128::from_be_bytes(a) << (bitpos % 8), k);
        bitpos += bits;
        if bitpos > real_bits {
            return Err(DecodeError::new(tail.len(), "bit stream ends early"));
        }
        out.push(center.wrapping_add(unzigzag(u)));
    }
    Ok(bitpos)
}

/// The bulk of a Rice-coded block for `k + 33 <= 57`: bits are taken from a
/// 64-bit register that is refilled (one unaligned load) only when fewer
/// bits are left than the longest non-escaped code needs, so most values
/// cost a count of leading ones and two shifts, without a load on the
/// dependency chain. Stops at an escaped value or when fewer than eight
/// bytes remain; returns the bit position reached and the values decoded,
/// for [`unpack_rice_block`] to go on from.
fn unpack_rice_buffered(
    rest: &[u8],
    center: i64,
    k: u32,
    len: usize,
    out: &mut Vec<i64>,
) -> (usize, usize) {
    // Enough for any code with a quotient below the escape.
    let need_max = RICE_ESC as u32 + 1 + k;
    let (mut bitpos, mut done) = (0usize, 0usize);
    let (mut acc, mut avail) = (0u64, 0u32);
    while done < len {
        if avail < need_max {
            let byte = bitpos / 8;
            let Some(bytes) = rest.get(byte..byte + 8) else {
                break;
            };
            let mut a = [0u8; 8];
            a.copy_from_slice(bytes);
            let off = (bitpos % 8) as u32;
            acc = u64::from_be_bytes(a) << off;
            avail = 64 - off;
        }
        let q = acc.leading_ones();
        if q >= RICE_ESC as u32 {
            break;
        }
        let used = q + 1 + k;
        let low = if k == 0 {
            0
        } else {
            (acc << (q + 1)) >> (64 - k)
        };
        acc = acc.checked_shl(used).unwrap_or(0);
        avail -= used;
        bitpos += used as usize;
        out.push(center.wrapping_add(unzigzag((u64::from(q) << k) | low)));
        done += 1;
    }
    (bitpos, done)
}

fn unpack(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), DecodeError> {
    let mut left = n;
    while left > 0 {
        let len = left.min(BLOCK);
        let min = r.varint()?;
        let wpos = r.pos();
        let wbyte = r.u8()?;
        if wbyte & GCD_FLAG == 0 && wbyte >= RICE_BASE {
            unpack_rice(r, min, u32::from(wbyte - RICE_BASE), len, out)?;
            left -= len;
            continue;
        }
        let g = if wbyte & GCD_FLAG != 0 {
            r.uvarint()?
        } else {
            1
        };
        let width = u32::from(wbyte & !GCD_FLAG);
        if width > 64 {
            return Err(DecodeError::new(wpos, format!("bit width {width} > 64")));
        }
        if width == 0 {
            out.extend(std::iter::repeat_n(min, len));
        } else {
            let nbytes = (len * width as usize).div_ceil(8);
            let bytes = r.bytes(nbytes)?;
            if len <= BLOCK {
                unpack_fixed(bytes, width, len, min, g, out);
            } else {
                let mut br = BitReader::new(bytes);
                for _ in 0..len {
                    out.push(min.wrapping_add(br.read(width)?.wrapping_mul(g) as i64));
                }
            }
        }
        left -= len;
    }
    Ok(())
}

/// Unpacks `len <= BLOCK` fields of `1..=64` bits from `bytes` (which holds
/// exactly `len * width` bits, rounded up to a byte): one unaligned load
/// per field, 64 bits wide for fields of up to 56 bits (a field then fits
/// in the eight bytes from its first one), 128 bits wide otherwise. The
/// last fields, whose load would run past `bytes`, are read from a
/// zero-padded copy of the end; the values are written in place (no
/// capacity check per value).
fn unpack_fixed(bytes: &[u8], width: u32, len: usize, min: i64, g: u64, out: &mut Vec<i64>) {
    let start = out.len();
    out.resize(start + len, 0);
    let Some(dst) = out.get_mut(start..) else {
        return;
    };
    let w = width as usize;
    let mut bitpos = 0usize;
    if width <= 56 {
        let shift = 64 - width;
        for slot in dst.iter_mut() {
            let a = window::<8>(bytes, bitpos / 8);
            let v = (u64::from_be_bytes(a) << (bitpos % 8)) >> shift;
            *slot = min.wrapping_add(v.wrapping_mul(g) as i64);
            bitpos += w;
        }
    } else {
        let shift = 128 - width;
        for slot in dst.iter_mut() {
            let a = window::<16>(bytes, bitpos / 8);
            let v = ((u128::from_be_bytes(a) << (bitpos % 8)) >> shift) as u64;
            *slot = min.wrapping_add(v.wrapping_mul(g) as i64);
            bitpos += w;
        }
    }
}

/// The `N` bytes of `bytes` from `at`, zero-padded past its end.
#[inline(always)]
fn window<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    match bytes.get(at..at + N) {
        Some(w) => a.copy_from_slice(w),
        None => {
            let tail = bytes.get(at..).unwrap_or(&[]);
            if let Some(d) = a.get_mut(..tail.len()) {
                d.copy_from_slice(tail);
            }
        }
    }
    a
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
    let mut out = Vec::with_capacity(n);
    decode_ints_into(r, n, &mut out)?;
    Ok(out)
}

/// Like [`decode_ints`], appending to `out`. The delta modes unpack their
/// residuals in place and then sum them up.
pub fn decode_ints_into(
    r: &mut Reader<'_>,
    n: usize,
    out: &mut Vec<i64>,
) -> Result<(), DecodeError> {
    let mpos = r.pos();
    let mode = r.u8()?;
    let base = out.len();
    match mode {
        0 => unpack(r, n, out)?,
        1 => {
            if n > 0 {
                let mut cur = r.varint()?;
                out.push(cur);
                unpack(r, n - 1, out)?;
                for x in out.iter_mut().skip(base + 1) {
                    cur = cur.wrapping_add(*x);
                    *x = cur;
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
                    unpack(r, n - 2, out)?;
                    for x in out.iter_mut().skip(base + 2) {
                        delta = delta.wrapping_add(*x);
                        cur = cur.wrapping_add(delta);
                        *x = cur;
                    }
                }
            }
        }
        m => return Err(DecodeError::new(mpos, format!("unknown integer mode {m}"))),
    }
    Ok(())
}

#[cfg(test)]
#[path = "ints_tests.rs"]
mod tests;
