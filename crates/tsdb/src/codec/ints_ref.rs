//! The integer column decoder as it was before session 11 (a vector per
//! column, transforms undone in a second pass), kept as the reference the
//! faster decoder in `ints_decode.rs` is tested against.
use super::super::bits::BitReader;
use super::super::ints_decode::window;
use super::super::varint::{unzigzag, DecodeError, Reader};
use super::{BLOCK, GCD_FLAG, RICE_BASE, RICE_ESC};

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

pub(crate) fn unpack(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), DecodeError> {
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
