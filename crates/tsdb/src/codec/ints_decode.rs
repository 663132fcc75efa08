//! Decoding integer columns (the layout is in [`super::ints`] and
//! `docs/format/chunks.md`), straight into the caller's slice.
//!
//! The column's transform (raw, delta, delta of delta) is undone while the
//! residuals are unpacked, and the caller's conversion (`k as f64 / 10^e`
//! for decimal values, the ordered-bits inverse, or none) is applied to each
//! value as it is stored, so a column costs one pass and no intermediate
//! vector. Rice codes are read from a 64-bit register that one unaligned
//! load refills: the quotient is a count of leading ones, and several codes
//! are taken per refill. Reads past the end of the buffer see zero bits;
//! whether a block's codes really ended inside the buffer is checked once
//! per block, so truncated or corrupt input is a [`DecodeError`], never a
//! panic or an out-of-bounds read.

use super::ints::{BLOCK, GCD_FLAG, RICE_BASE, RICE_ESC};
use super::varint::{unzigzag, DecodeError, Reader};

/// Undoes a column transform one residual at a time.
pub(crate) trait Undo: Copy {
    /// Whether the residuals are the values (mode 0).
    const RAW: bool = false;
    /// The value whose residual is `x`.
    fn step(&mut self, x: i64) -> i64;
}

/// Mode 0: the residuals are the values.
#[derive(Clone, Copy)]
pub(super) struct Raw;

impl Undo for Raw {
    const RAW: bool = true;
    #[inline(always)]
    fn step(&mut self, x: i64) -> i64 {
        x
    }
}

/// Mode 1: running sum of the residuals.
#[derive(Clone, Copy)]
pub(super) struct Delta {
    pub(super) cur: i64,
}

impl Undo for Delta {
    #[inline(always)]
    fn step(&mut self, x: i64) -> i64 {
        self.cur = self.cur.wrapping_add(x);
        self.cur
    }
}

/// Mode 2: running sum of the running sum.
#[derive(Clone, Copy)]
pub(super) struct DeltaOfDelta {
    pub(super) cur: i64,
    pub(super) delta: i64,
}

impl Undo for DeltaOfDelta {
    #[inline(always)]
    fn step(&mut self, x: i64) -> i64 {
        self.delta = self.delta.wrapping_add(x);
        self.cur = self.cur.wrapping_add(self.delta);
        self.cur
    }
}

/// A vector of `n` copies of `zero`, written by a `memset`-like loop rather
/// than `vec![0; n]`: that asks the allocator for zeroed memory, and glibc's
/// `calloc` clears a fresh chunk about a byte per instruction (1 instruction
/// per decoded value of an 8 KiB column in callgrind).
pub(crate) fn filled<T: Copy>(n: usize, zero: T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    v.resize(n, zero);
    v
}

/// Decodes an integer column of `out.len()` values written by
/// [`super::ints::encode_ints`], storing `f(value)` in `out`.
pub fn decode_ints_map<T, F: FnMut(i64) -> T>(
    r: &mut Reader<'_>,
    out: &mut [T],
    mut f: F,
) -> Result<(), DecodeError> {
    decode_ints_with(r, out, |slot, v| *slot = f(v))
}

/// [`decode_ints_map`] with the store left to `f(slot, value)`, so a value
/// can be written into part of a slot (the value half of a sample pair,
/// its timestamp already there).
#[inline]
pub fn decode_ints_with<T, F: FnMut(&mut T, i64)>(
    r: &mut Reader<'_>,
    out: &mut [T],
    mut f: F,
) -> Result<(), DecodeError> {
    let mpos = r.pos();
    let mode = r.u8()?;
    match mode {
        0 => unpack_blocks(r, out, Raw, &mut f),
        1 => {
            let Some((first, rest)) = out.split_first_mut() else {
                return Ok(());
            };
            let cur = r.varint()?;
            f(first, cur);
            unpack_blocks(r, rest, Delta { cur }, &mut f)
        }
        2 => {
            let Some((first, rest)) = out.split_first_mut() else {
                return Ok(());
            };
            let cur = r.varint()?;
            f(first, cur);
            let Some((second, rest)) = rest.split_first_mut() else {
                return Ok(());
            };
            let delta = r.varint()?;
            let cur = cur.wrapping_add(delta);
            f(second, cur);
            unpack_blocks(r, rest, DeltaOfDelta { cur, delta }, &mut f)
        }
        m => Err(DecodeError::new(mpos, format!("unknown integer mode {m}"))),
    }
}

/// Unpacks the residual blocks that fill `out`, undoing the transform with
/// `undo` (its state carries from block to block).
fn unpack_blocks<T, U: Undo, F: FnMut(&mut T, i64)>(
    r: &mut Reader<'_>,
    out: &mut [T],
    mut undo: U,
    f: &mut F,
) -> Result<(), DecodeError> {
    for block in out.chunks_mut(BLOCK) {
        let min = r.varint()?;
        let wpos = r.pos();
        let wbyte = r.u8()?;
        if wbyte & GCD_FLAG == 0 && wbyte >= RICE_BASE {
            let k = u32::from(wbyte - RICE_BASE);
            let start = r.pos();
            let rest = r.rest();
            let bits = rice_block(rest, min, k, block, &mut undo, f);
            if bits > rest.len() * 8 {
                return Err(DecodeError::new(
                    start + rest.len(),
                    "bit stream ends early",
                ));
            }
            r.bytes(bits.div_ceil(8))?;
            continue;
        }
        let (g, width) = fixed_header(r, wbyte, wpos)?;
        if width == 0 {
            for slot in block.iter_mut() {
                f(slot, undo.step(min));
            }
            continue;
        }
        let nbytes = (block.len() * width as usize).div_ceil(8);
        let bytes = r.bytes(nbytes)?;
        fixed_block(bytes, width, min, g, block, &mut undo, f);
    }
    Ok(())
}

/// The eight bytes of `bytes` from `at` as a big-endian integer, zero bytes
/// standing in for those past its end.
#[inline(always)]
pub(super) fn load_be64(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        Some(w) => u64::from_be_bytes(*w),
        None => u64::from_be_bytes(window::<8>(bytes, at)),
    }
}

/// The `N` bytes of `bytes` from `at`, zero-padded past its end.
#[inline(always)]
pub(super) fn window<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    match bytes.get(at..at.saturating_add(N)) {
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

/// Bits a Rice table looks at.
pub(super) const PEEK: u32 = 10;
/// Largest Rice parameter with a table.
const TABLE_K: u32 = 7;

/// Per Rice parameter `k <= TABLE_K`, per value of the next [`PEEK`] bits:
/// the codes they hold whole (one or two), as `length | two << 8 |
/// (first value as i16) << 16 | (second value as i16) << 32 | (greater of
/// the two as i16) << 48` (the values unzigzagged, the length that of both
/// codes; an entry of one code repeats its value as the second and the
/// greater), or 0 when the first code is longer than [`PEEK`] bits (or an
/// escape).
type RiceTables = [[u64; 1 << PEEK]; TABLE_K as usize + 1];

/// The first Rice code (parameter `k`) at the top of `w`, if it lies in the
/// top `bits` bits: its unzigzagged value and length.
fn short_code(w: u64, k: u32, bits: u32) -> Option<(i64, u32)> {
    let q = w.leading_ones();
    let len = q + 1 + k;
    (len <= bits).then(|| {
        let low = ((w << q) << 1 >> (63 - k)) >> 1;
        (unzigzag((u64::from(q) << k) | low), len)
    })
}

pub(super) fn rice_tables() -> &'static RiceTables {
    static TABLES: std::sync::OnceLock<Box<RiceTables>> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[0u64; 1 << PEEK]; TABLE_K as usize + 1]);
        for (k, table) in (0u32..).zip(t.iter_mut()) {
            for (bits, entry) in (0u64..).zip(table.iter_mut()) {
                let w = bits << (64 - PEEK);
                let Some((v1, len1)) = short_code(w, k, PEEK) else {
                    continue;
                };
                let (len, two, v2) = match short_code(w << len1, k, PEEK - len1) {
                    Some((v2, len2)) => (len1 + len2, 1u64, v2),
                    None => (len1, 0, v1),
                };
                let field = |v: i64| u64::from(v as i16 as u16);
                *entry = u64::from(len)
                    | two << 8
                    | field(v1) << 16
                    | field(v2) << 32
                    | field(v1.max(v2)) << 48;
            }
        }
        t
    })
}

/// Decodes one Rice-coded block (`out.len()` codes with parameter `k <= 62`
/// around `center`) from the start of `bytes` and returns the bits it used,
/// which may exceed `bytes.len() * 8` on truncated input (the caller's
/// check): past the end, zero bits are read.
///
/// `reg` holds the next `avail` bits at its top and zeros below them. For
/// `k <= TABLE_K`, a code of at most [`PEEK`] bits within those bits is
/// decoded by one table lookup, often together with the next one. Any other
/// code goes through
/// [`RiceReader::code`], which refills the register. Blocks with a larger
/// `k` go to [`rice_long`].
#[inline(always)]
pub(super) fn rice_block<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    center: i64,
    k: u32,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) -> usize {
    rice_block_from(bytes, 0, center, k, out, undo, f)
}

/// [`rice_block`] of codes starting at bit `start` of `bytes` (the codes
/// of the same block before them already read); returns the bit after the
/// last code read, counted from the start of `bytes`.
#[inline(always)]
pub(super) fn rice_block_from<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    start: usize,
    center: i64,
    k: u32,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) -> usize {
    let mut u = *undo;
    let mut rd = RiceReader {
        reg: 0,
        avail: 0,
        end: start,
    };
    match rice_tables().get(k as usize) {
        Some(table) => {
            // Two codes per lookup when the table entry holds two; the
            // second slot is written either way (a one-code entry's value
            // there is overwritten next), and the transform state after
            // one or two values picked without a branch.
            let mut i = 0usize;
            while let Some([s0, s1]) = out.get_mut(i..i + 2) {
                let e = table[(rd.reg >> (64 - PEEK)) as usize];
                let len = (e & 0xff) as u32;
                if len.wrapping_sub(1) < rd.avail {
                    rd.reg <<= len;
                    rd.avail -= len;
                    let two = e & (1 << 8) != 0;
                    f(s0, u.step(center.wrapping_add(i64::from((e >> 16) as i16))));
                    let mut u2 = u;
                    f(
                        s1,
                        u2.step(center.wrapping_add(i64::from((e >> 32) as i16))),
                    );
                    if two {
                        u = u2;
                    }
                    i += 1 + usize::from(two);
                } else {
                    f(s0, u.step(center.wrapping_add(unzigzag(rd.code(bytes, k)))));
                    i += 1;
                }
            }
            if let Some(slot) = out.get_mut(i) {
                f(
                    slot,
                    u.step(center.wrapping_add(unzigzag(rd.code(bytes, k)))),
                );
            }
        }
        None => {
            *undo = u;
            return rice_long_dispatch_from(bytes, start, center, k.min(62), out, undo, f);
        }
    }
    *undo = u;
    rd.end - rd.avail as usize
}

/// [`rice_long`], compiled for `lzcnt` and BMI2 when the CPU has them (a
/// one-instruction count of leading ones, shifts by a register without
/// going through `cl`: about a fifth fewer instructions per code), else
/// as built for the baseline.
#[cfg(test)]
#[inline(always)]
fn rice_long_dispatch<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    center: i64,
    k: u32,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) -> usize {
    rice_long_dispatch_from(bytes, 0, center, k, out, undo, f)
}

/// [`rice_long_dispatch`] from bit `start` (see [`rice_block_from`]).
#[inline(always)]
fn rice_long_dispatch_from<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    start: usize,
    center: i64,
    k: u32,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("lzcnt")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
    {
        // SAFETY: the CPU has the three features the function is built for.
        return unsafe { rice_long_lzcnt(bytes, start, center, k, out, undo, f) };
    }
    rice_long_from(bytes, start, center, k, out, undo, f)
}

/// [`rice_long_from`] built for CPUs with `lzcnt`, BMI1 and BMI2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "lzcnt,bmi1,bmi2")]
fn rice_long_lzcnt<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    start: usize,
    center: i64,
    k: u32,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) -> usize {
    rice_long_from(bytes, start, center, k, out, undo, f)
}

/// [`rice_block`] for long codes (`TABLE_K < k <= 62`; a register holds
/// one or two).
///
/// The next `avail` bits of the stream are at the top of `reg`, and `byte`
/// is the next byte to load, so `8 * byte - avail` bits are used. Before
/// each code the register is topped up branch-free to 56..=63 bits: the
/// eight bytes at `byte` are ORed in below the bits it holds (bits already
/// there are the same bits, so the overlap is harmless), `byte` moves on by
/// the whole bytes that fitted and `avail` becomes `56 + avail % 8`. The
/// load's address depends on the code before the previous one, so it is
/// off the chain from one code to the next, which is then a count of
/// leading ones and one shift. A code that does not fit (an escape, or a
/// quotient plus `k` beyond the bits held) is read from a 128-bit window
/// and the register is reloaded after it.
#[cfg(test)]
#[inline(always)]
fn rice_long<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    center: i64,
    k: u32,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) -> usize {
    rice_long_from(bytes, 0, center, k, out, undo, f)
}

/// [`rice_long`] from bit `start` of `bytes` (see [`rice_block_from`]):
/// the register starts as the escape path below reloads it, holding the
/// bits from `start` on.
#[inline(always)]
fn rice_long_from<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    start: usize,
    center: i64,
    k: u32,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) -> usize {
    let mut u = *undo;
    let off = (start % 8) as u32;
    let mut reg = load_be64(bytes, start / 8) << off;
    let mut avail = 56 - off;
    let mut byte = start / 8 + 7;
    for slot in out.iter_mut() {
        // `avail < 64` here, so the shift is defined.
        reg |= load_be64(bytes, byte) >> avail;
        byte += ((63 - avail) >> 3) as usize;
        avail |= 56;
        let q = reg.leading_ones();
        let used = q + 1 + k;
        let z = if q < RICE_ESC as u32 && used <= avail {
            // The code's zero bit is the top bit of `reg << q`, so its
            // top `k + 1` bits are the low bits of `z`; `used < 64`.
            let low = (reg << q) >> (63 - k);
            reg <<= used;
            avail -= used;
            (u64::from(q) << k) | low
        } else {
            let pos = byte * 8 - avail as usize;
            let off = (pos % 8) as u32;
            let w = u128::from_be_bytes(window::<16>(bytes, pos / 8)) << off;
            let (z, bits) = rice_from_window(w, k);
            // Reload at the next code: its byte's eight bytes, of which
            // the `56 - off` from the code's first bit count as held.
            let pos = pos + bits;
            let off = (pos % 8) as u32;
            reg = load_be64(bytes, pos / 8) << off;
            avail = 56 - off;
            byte = pos / 8 + 7;
            z
        };
        f(slot, u.step(center.wrapping_add(unzigzag(z))));
    }
    *undo = u;
    byte * 8 - avail as usize
}

/// The bit register of [`rice_block`]: the next `avail` bits at the top of
/// `reg` (zeros below them), which end at bit `end` of the block's bytes.
pub(super) struct RiceReader {
    pub(super) reg: u64,
    pub(super) avail: u32,
    pub(super) end: usize,
}

impl RiceReader {
    /// Reads one code (`k <= 62`): from the register when it holds the
    /// whole code (a count of leading ones and three shifts), else after a
    /// refill from the code's byte (at least 57 bits), else (an escape, or
    /// a quotient plus `k` beyond 56 bits) from a 128-bit window.
    #[inline(always)]
    pub(super) fn code(&mut self, bytes: &[u8], k: u32) -> u64 {
        let mut q = self.reg.leading_ones();
        let mut used = q + 1 + k;
        if used > self.avail || q >= RICE_ESC as u32 {
            let pos = self.end - self.avail as usize;
            let off = (pos % 8) as u32;
            self.reg = load_be64(bytes, pos / 8) << off;
            self.avail = 64 - off;
            self.end = pos + self.avail as usize;
            q = self.reg.leading_ones();
            used = q + 1 + k;
            if used > self.avail || q >= RICE_ESC as u32 {
                let w = u128::from_be_bytes(window::<16>(bytes, pos / 8)) << off;
                let (z, bits) = rice_from_window(w, k);
                // Empty register: the next code refills it.
                self.end = pos + bits;
                self.reg = 0;
                self.avail = 0;
                return z;
            }
        }
        // `(t >> (63 - k)) >> 1` is `t >> (64 - k)` for every k, 0 too.
        let t = (self.reg << q) << 1;
        let low = (t >> (63 - k)) >> 1;
        self.reg = t << k;
        self.avail -= used;
        (u64::from(q) << k) | low
    }
}

/// Unpacks a frame-of-reference block: `out.len()` fields of `width`
/// (1..=64) bits in `bytes` (which holds exactly their bits, rounded up to
/// a byte), each `min + field * g`. One load per field: 64 bits wide for
/// fields of up to 56 bits (a field then lies within the eight bytes from
/// its first one), 128 bits otherwise; loads past the end see zero bytes.
#[inline(always)]
pub(super) fn fixed_block<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    width: u32,
    min: i64,
    g: u64,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) {
    fixed_block_from(bytes, 0, width, min, g, out, undo, f);
}

/// [`fixed_block`] of the fields from field `first` on (`out` holds one
/// slot per field from there).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn fixed_block_from<T, U: Undo, F: FnMut(&mut T, i64)>(
    bytes: &[u8],
    first: usize,
    width: u32,
    min: i64,
    g: u64,
    out: &mut [T],
    undo: &mut U,
    f: &mut F,
) {
    let mut u = *undo;
    let w = width as usize;
    let mut bitpos = first.saturating_mul(w);
    if width <= 56 {
        let shift = 64 - width.max(1);
        // The fields whose eight-byte load lies within `bytes` (it starts
        // at most eight bytes before the end) are loaded from it; the
        // others, in the block's last seven bytes, from a zero-padded copy
        // of those bytes. Loading them through the bounds-checked,
        // zero-padding path cost as much again per field, and a short
        // block (119 2-bit fields: 30 bytes) has a quarter of its fields
        // there.
        let fast_end = bytes.len().saturating_sub(7) * 8;
        let fast = fast_end.saturating_sub(bitpos).div_ceil(w.max(1));
        let (head, tail) = out.split_at_mut(fast.min(out.len()));
        for slot in head.iter_mut() {
            let v = (load_be64(bytes, bitpos / 8) << (bitpos % 8)) >> shift;
            f(slot, u.step(min.wrapping_add(v.wrapping_mul(g) as i64)));
            bitpos += w;
        }
        if !tail.is_empty() {
            let from = bitpos / 8;
            let mut pad = [0u8; 16];
            let src = bytes.get(from..).unwrap_or(&[]);
            let m = src.len().min(8);
            if let (Some(d), Some(s)) = (pad.get_mut(..m), src.get(..m)) {
                d.copy_from_slice(s);
            }
            let mut bp = bitpos - from * 8;
            for slot in tail.iter_mut() {
                let v = (load_be64(&pad, bp / 8) << (bp % 8)) >> shift;
                f(slot, u.step(min.wrapping_add(v.wrapping_mul(g) as i64)));
                bp += w;
            }
        }
    } else {
        let shift = 128 - width.min(64);
        for slot in out.iter_mut() {
            let a = window::<16>(bytes, bitpos / 8);
            let v = ((u128::from_be_bytes(a) << (bitpos % 8)) >> shift) as u64;
            f(slot, u.step(min.wrapping_add(v.wrapping_mul(g) as i64)));
            bitpos += w;
        }
    }
    *undo = u;
}

/// The header of a fixed-width block after its width byte `wbyte` (at
/// `wpos`): the common divisor (1 without [`GCD_FLAG`]) and the bit width.
#[inline]
pub(super) fn fixed_header(
    r: &mut Reader<'_>,
    wbyte: u8,
    wpos: usize,
) -> Result<(u64, u32), DecodeError> {
    let g = if wbyte & GCD_FLAG != 0 {
        r.uvarint()?
    } else {
        1
    };
    let width = u32::from(wbyte & !GCD_FLAG);
    if width > 64 {
        return Err(DecodeError::new(wpos, format!("bit width {width} > 64")));
    }
    Ok((g, width))
}

/// The residual blocks of a mode-0 column without its mode byte, for the
/// block-level tests.
#[cfg(test)]
pub(super) fn unpack_raw(r: &mut Reader<'_>, out: &mut [i64]) -> Result<(), DecodeError> {
    unpack_blocks(r, out, Raw, &mut |s: &mut i64, x| *s = x)
}

#[path = "ints_fold.rs"]
pub(super) mod fold;

#[path = "ints_range.rs"]
pub(super) mod range;

#[cfg(test)]
#[path = "rice_long_tests.rs"]
mod rice_long_tests;
