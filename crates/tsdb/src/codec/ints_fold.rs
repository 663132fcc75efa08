//! Folding an integer column into the greatest (or least) of part of its
//! values, and its last value, without storing the values: the integer
//! side of [`crate::codec::extreme`].
//!
//! A raw column's (mode 0) blocks are folded as they are read. A
//! frame-of-reference block folds its packed fields (then maps the
//! extreme through `min + field × g` once, when no value of the block can
//! wrap around), eight fields of up to eight bits from one load, and reads
//! only the part's fields (a field needs no decoding of those before it).
//! A Rice block with a table (`k <= 7`) that lies wholly in the part folds
//! one table entry per lookup: each entry also holds the greater of its
//! one or two codes, so a lookup costs one compare for both. Every other
//! block (delta columns, long Rice codes, a Rice block the part starts or
//! ends in, a center near the ends of `i64`) is decoded into a block-sized
//! buffer on the stack and folded there. The whole column is read and
//! checked as the decoder reads it: where it fails, this fails, after the
//! same bytes.

use super::{
    fixed_block, load_be64, rice_block, rice_tables, Delta, DeltaOfDelta, Raw, RiceReader, Undo,
    PEEK,
};
use crate::codec::ints::{BLOCK, GCD_FLAG, RICE_BASE};
use crate::codec::varint::{unzigzag, DecodeError, Reader};

/// The greatest (least) of part of a column's values, and its last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Folded {
    /// The greatest (`MAX`) or least value of the part; `None` when it is
    /// empty.
    pub extreme: Option<i64>,
    /// The column's last value.
    pub last: i64,
}

/// A running extreme (greatest for `MAX`, else least) and the last value.
#[derive(Clone, Copy)]
struct Acc<const MAX: bool> {
    ext: i64,
    any: bool,
    last: i64,
}

/// The better of two values for the fold's direction.
#[inline(always)]
fn better<const MAX: bool, T: Ord>(a: T, b: T) -> T {
    if MAX {
        a.max(b)
    } else {
        a.min(b)
    }
}

impl<const MAX: bool> Acc<MAX> {
    #[inline(always)]
    fn add(&mut self, v: i64) {
        self.ext = better::<MAX, _>(self.ext, v);
        self.any = true;
    }
}

/// Folds values `lo..hi` (cut to `n`) of the integer column of `n` values
/// at `r` into their greatest (`MAX`) or least; `None` for `n == 0` (after
/// its mode byte).
pub(crate) fn fold_ints<const MAX: bool>(
    r: &mut Reader<'_>,
    n: usize,
    lo: usize,
    hi: usize,
) -> Result<Option<Folded>, DecodeError> {
    let mpos = r.pos();
    let mode = r.u8()?;
    if mode > 2 {
        return Err(DecodeError::new(
            mpos,
            format!("unknown integer mode {mode}"),
        ));
    }
    if n == 0 {
        return Ok(None);
    }
    let hi = hi.min(n);
    let lo = lo.min(hi);
    let mut acc = Acc::<MAX> {
        ext: if MAX { i64::MIN } else { i64::MAX },
        any: false,
        last: 0,
    };
    // The prefix values (first value, first delta) are values 0 and 1.
    let take = |i: usize, v: i64, acc: &mut Acc<MAX>| {
        if (lo..hi).contains(&i) {
            acc.add(v);
        }
        acc.last = v;
    };
    match mode {
        1 => {
            let cur = r.varint()?;
            take(0, cur, &mut acc);
            fold_blocks(r, n, 1, lo, hi, Delta { cur }, &mut acc)?;
        }
        2 => {
            let cur = r.varint()?;
            take(0, cur, &mut acc);
            if n > 1 {
                let delta = r.varint()?;
                let cur = cur.wrapping_add(delta);
                take(1, cur, &mut acc);
                fold_blocks(r, n, 2, lo, hi, DeltaOfDelta { cur, delta }, &mut acc)?;
            }
        }
        // Mode 0 (modes above 2 were refused).
        _ => fold_blocks(r, n, 0, lo, hi, Raw, &mut acc)?,
    }
    Ok(Some(Folded {
        extreme: acc.any.then_some(acc.ext),
        last: acc.last,
    }))
}

/// Folds the residual blocks of values `start..n` (see [`fold_ints`]).
fn fold_blocks<U: Undo, const MAX: bool>(
    r: &mut Reader<'_>,
    n: usize,
    start: usize,
    lo: usize,
    hi: usize,
    mut undo: U,
    acc: &mut Acc<MAX>,
) -> Result<(), DecodeError> {
    let mut buf = std::mem::MaybeUninit::<[i64; BLOCK]>::uninit();
    let mut b0 = start;
    while b0 < n {
        let len = (n - b0).min(BLOCK);
        let (a, b) = (lo.clamp(b0, b0 + len) - b0, hi.clamp(b0, b0 + len) - b0);
        let min = r.varint()?;
        let wpos = r.pos();
        let wbyte = r.u8()?;
        let mut store = |s: &mut i64, v: i64| *s = v;
        if wbyte & GCD_FLAG == 0 && wbyte >= RICE_BASE {
            let k = u32::from(wbyte - RICE_BASE);
            let rpos = r.pos();
            let rest = r.rest();
            let table = rice_tables().get(k as usize);
            // Table values are within i16 of the center: added after the
            // fold when no sum can wrap.
            let near = min.checked_add(1 << 15).is_some() && min.checked_sub(1 << 15).is_some();
            let bits = match table {
                Some(table) if U::RAW && near && a == 0 && b == len => {
                    rice_fold(rest, min, k, len, table, acc)
                }
                _ => {
                    let block = block_buf(&mut buf, len);
                    let bits = rice_block(rest, min, k, block, &mut undo, &mut store);
                    fold_part(block, a, b, acc);
                    bits
                }
            };
            if bits > rest.len() * 8 {
                return Err(DecodeError::new(rpos + rest.len(), "bit stream ends early"));
            }
            r.bytes(bits.div_ceil(8))?;
        } else {
            let (g, width) = super::fixed_header(r, wbyte, wpos)?;
            let nbytes = (len * width as usize).div_ceil(8);
            let bytes = r.bytes(nbytes)?;
            let folded = U::RAW
                && (1..=56).contains(&width)
                && fixed_fold(bytes, width, min, g, len, a, b, acc);
            if !folded {
                let block = block_buf(&mut buf, len);
                if width == 0 {
                    block.iter_mut().for_each(|s| *s = undo.step(min));
                } else {
                    fixed_block(bytes, width, min, g, block, &mut undo, &mut store);
                }
                fold_part(block, a, b, acc);
            }
        }
        b0 += len;
    }
    Ok(())
}

/// The first `len` (at most [`BLOCK`]) slots of the block buffer, zeroed
/// (only the blocks decoded into it pay for that).
#[inline(always)]
fn block_buf(buf: &mut std::mem::MaybeUninit<[i64; BLOCK]>, len: usize) -> &mut [i64] {
    let all = buf.write([0; BLOCK]);
    &mut all[..len.min(BLOCK)]
}

/// Folds `block[a..b]` into `acc` and takes the block's last value.
#[inline(always)]
fn fold_part<const MAX: bool>(block: &[i64], a: usize, b: usize, acc: &mut Acc<MAX>) {
    if let Some(part) = block.get(a..b).filter(|p| !p.is_empty()) {
        // Two lanes: one compare-and-select chain each.
        let mut lanes = [acc.ext; 2];
        let mut pairs = part.chunks_exact(2);
        for p in &mut pairs {
            lanes[0] = better::<MAX, _>(lanes[0], p[0]);
            lanes[1] = better::<MAX, _>(lanes[1], p[1]);
        }
        for &v in pairs.remainder() {
            lanes[0] = better::<MAX, _>(lanes[0], v);
        }
        acc.add(better::<MAX, _>(lanes[0], lanes[1]));
    }
    if let Some(&v) = block.last() {
        acc.last = v;
    }
}

/// Folds the fields `a..b` of a raw frame-of-reference block of `len`
/// fields of `width` (1..=56) bits, and takes its last value, when
/// `min + field × g` cannot wrap for any field the width allows (then it
/// is monotone in the field, so the extreme value is that of the extreme
/// field); false (nothing folded) otherwise, and the caller decodes the
/// block. Fields of up to eight bits are read eight at a time: eight
/// fields of `w` bits are `w` whole bytes, one load.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fixed_fold<const MAX: bool>(
    bytes: &[u8],
    width: u32,
    min: i64,
    g: u64,
    len: usize,
    a: usize,
    b: usize,
    acc: &mut Acc<MAX>,
) -> bool {
    let top = u64::MAX >> (64 - width);
    let value = |f: u64| i128::from(min) + i128::from(f) * i128::from(g);
    if i64::try_from(value(top)).is_err() {
        return false;
    }
    let shift = 64 - width;
    let w = width as usize;
    let field = |i: usize| {
        let bit = i * w;
        (load_be64(bytes, bit / 8) << (bit % 8)) >> shift
    };
    let mut f = if MAX { 0 } else { u64::MAX };
    let mut i = a;
    if width <= 8 {
        // Up to the first multiple of 8, then groups of eight.
        while i < b && i % 8 != 0 {
            f = better::<MAX, _>(f, field(i));
            i += 1;
        }
        while i + 8 <= b {
            let word = load_be64(bytes, i / 8 * w);
            let mut g8 = if MAX { 0 } else { u64::MAX };
            for j in 0..8 {
                g8 = better::<MAX, _>(g8, (word << (j * w)) >> shift);
            }
            f = better::<MAX, _>(f, g8);
            i += 8;
        }
    }
    while i < b {
        f = better::<MAX, _>(f, field(i));
        i += 1;
    }
    let at = |f: u64| min.wrapping_add(f.wrapping_mul(g) as i64);
    if a < b {
        acc.add(at(f));
    }
    acc.last = at(field(len - 1));
    true
}

/// Folds a raw Rice block (parameter `k` with a table, `len` codes around
/// `center`, which is at least 2^15 from both ends of `i64`) that lies
/// wholly in the part; returns the bits it used, as [`rice_block`] does
/// (the caller's check). The register and its refills are
/// [`rice_block`]'s. (Topping the register up before every lookup, as
/// `rice_long` does, was tried: 8 % more instructions for this query and
/// 5 % more server CPU, the refills it saves being rare.)
#[inline(always)]
fn rice_fold<const MAX: bool>(
    bytes: &[u8],
    center: i64,
    k: u32,
    len: usize,
    table: &[u64; 1 << PEEK],
    acc: &mut Acc<MAX>,
) -> usize {
    let mut rd = RiceReader {
        reg: 0,
        avail: 0,
        end: 0,
    };
    // Table values relative to the center (`rel`), codes read one by one
    // as they are (`ext`); the last value as the entry that gave it, or
    // itself.
    let none = if MAX { i64::MIN } else { i64::MAX };
    let mut rel = none;
    let mut ext = acc.ext;
    let (mut last_e, mut last_v, mut from_table) = (0u64, 0i64, false);
    let mut i = 0usize;
    while i + 2 <= len {
        let e = table[(rd.reg >> (64 - PEEK)) as usize];
        let l = (e & 0xff) as u32;
        if l.wrapping_sub(1) < rd.avail {
            rd.reg <<= l;
            rd.avail -= l;
            i += 1 + ((e >> 8) & 1) as usize;
            let v = if MAX {
                i64::from((e >> 48) as i16)
            } else {
                // The lesser of the two: their sum less the greater.
                i64::from((e >> 16) as i16) + i64::from((e >> 32) as i16)
                    - i64::from((e >> 48) as i16)
            };
            rel = better::<MAX, _>(rel, v);
            last_e = e;
            from_table = true;
        } else {
            last_v = center.wrapping_add(unzigzag(rd.code(bytes, k)));
            ext = better::<MAX, _>(ext, last_v);
            from_table = false;
            i += 1;
        }
    }
    if i < len {
        last_v = center.wrapping_add(unzigzag(rd.code(bytes, k)));
        ext = better::<MAX, _>(ext, last_v);
        from_table = false;
    }
    if rel != none {
        // `|rel| < 2^15`, so the sum does not wrap.
        ext = better::<MAX, _>(ext, center + rel);
    }
    acc.ext = ext;
    acc.any |= len > 0;
    acc.last = if from_table {
        center + i64::from((last_e >> 32) as i16)
    } else {
        last_v
    };
    rd.end - rd.avail as usize
}

#[cfg(test)]
#[path = "ints_fold_tests.rs"]
mod tests;
