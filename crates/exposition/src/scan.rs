//! Sixteen-bytes-at-a-time searches for the scanners in `lex.rs`.
//!
//! Each search returns the index of the first byte at or after `i` that
//! stops it (`b.len()` if none, `i` if `i` is past the end), exactly as the
//! byte-at-a-time loop next to it would; tests check the two agree. On
//! x86_64 whole 16-byte blocks are classified with SSE2 (part of the
//! x86_64 baseline, so no run-time detection) and the last, partial block
//! goes byte by byte; elsewhere every byte goes byte by byte.

/// What a search stops at, for both the block and the byte version.
#[derive(Clone, Copy)]
pub(crate) enum Stop {
    /// The first byte that is not `[a-zA-Z0-9_:]` (metric names).
    NotName,
    /// The first byte that is not `[a-zA-Z0-9_]` (label names).
    NotLabel,
    /// `"`, `\`, `\n` or a non-ASCII byte (inside a quoted string).
    Quote,
    /// `"`, `\` or `\n` (inside a quoted string, when skimming).
    QuoteAscii,
    /// `"`, `}` or `\n` (between the quoted values of a label set).
    LabelSet,
    /// ` `, `\t`, `\n` or `{` (the end of a text-format value).
    ValueEnd,
    /// `\`, `\n` or a non-ASCII byte (help text that is not plain ASCII
    /// without escapes).
    NotPlain,
}

impl Stop {
    /// The byte-at-a-time test: true when `c` stops the search.
    #[inline(always)]
    fn stops(self, c: u8) -> bool {
        match self {
            Stop::NotName => !(c.is_ascii_alphanumeric() || c == b'_' || c == b':'),
            Stop::NotLabel => !(c.is_ascii_alphanumeric() || c == b'_'),
            Stop::Quote => matches!(c, b'"' | b'\\' | b'\n') || c >= 0x80,
            Stop::QuoteAscii => matches!(c, b'"' | b'\\' | b'\n'),
            Stop::LabelSet => matches!(c, b'"' | b'}' | b'\n'),
            Stop::ValueEnd => matches!(c, b' ' | b'\t' | b'\n' | b'{'),
            Stop::NotPlain => matches!(c, b'\\' | b'\n') || c >= 0x80,
        }
    }
}

/// Index of the first byte at or after `i` that `stop` stops at.
#[inline(always)]
pub(crate) fn find(b: &[u8], i: usize, stop: Stop) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        let Some(mut rest) = b.get(i..) else {
            return i;
        };
        let mut at = i;
        while let Some((block, tail)) = rest.split_first_chunk::<16>() {
            let mask = sse2::stop_mask(block, stop);
            if mask != 0 {
                return at + mask.trailing_zeros() as usize;
            }
            rest = tail;
            at += 16;
        }
        find_bytewise(b, at, stop)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    find_bytewise(b, i, stop)
}

/// The byte-at-a-time search (also the tail of [`find`]).
#[inline(always)]
pub(crate) fn find_bytewise(b: &[u8], i: usize, stop: Stop) -> usize {
    match b.get(i..) {
        Some(rest) => rest
            .iter()
            .position(|&c| stop.stops(c))
            .map_or(b.len(), |p| i + p),
        None => i,
    }
}

/// Index just after the `}` closing the label set whose inside starts at
/// `i`, like [`crate::lex::skim_label_set`], found 32 bytes per step: with
/// no `\\` in a window, the bytes inside quotes are the running parity of
/// the `"` positions, so the closing brace is the first `}` outside them.
/// `None` means "use the byte-by-byte skim": a backslash or a newline
/// before the closing brace (those need its rules), fewer than 32 bytes
/// left, or no SSE2. When it returns an index, that is the index the
/// byte-by-byte skim returns, in either format.
#[inline(always)]
pub(crate) fn skim_set_blocks(b: &[u8], i: usize) -> Option<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        let mut i = i;
        // All ones while the previous window ended inside a quoted value.
        let mut carry = 0u32;
        loop {
            let window = b.get(i..)?.first_chunk::<32>()?;
            let m = sse2::set_masks(window);
            let inside = prefix_xor(m.quote) ^ carry;
            let close = m.close & !inside;
            // The bits up to and including the first closing brace, or all.
            let upto = if close != 0 {
                close ^ (close - 1)
            } else {
                u32::MAX
            };
            if m.special & upto != 0 {
                return None;
            }
            if close != 0 {
                return Some(i + close.trailing_zeros() as usize + 1);
            }
            carry = 0u32.wrapping_sub(inside >> 31);
            i += 32;
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let _ = (b, i);
        None
    }
}

/// Bit k is the parity of bits 0..=k of `x`.
#[inline(always)]
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "sse2")),
    allow(dead_code)
)]
fn prefix_xor(mut x: u32) -> u32 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x
}

/// One bit per byte of a 32-byte window for each byte the label-set skim
/// cares about.
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "sse2")),
    allow(dead_code)
)]
struct SetMasks {
    quote: u32,
    close: u32,
    /// A backslash or a newline.
    special: u32,
}

/// The SSE2 block classifiers.
///
/// SAFETY, for every `unsafe` block below: the intrinsics need only SSE2,
/// which the `cfg` on this module guarantees the build targets (SSE2 is
/// part of the x86_64 baseline), so every CPU that runs this code has it;
/// the only memory reads are unaligned loads (`_mm_loadu_si128`, no
/// alignment requirement) from `&[u8; N]` references of at least the size
/// read, which callers take from the input with checked `get`s or
/// `chunks_exact`. (Safe wrappers for these intrinsics need Rust 1.87, the
/// workspace supports 1.85; there is no safe `__m128i` load from bytes.)
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::*;

    use super::Stop;

    /// The 16 bytes of `block`.
    #[inline(always)]
    fn load(block: &[u8; 16]) -> __m128i {
        // SAFETY: see the module note; reads exactly the 16 bytes of `block`.
        unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) }
    }

    /// The bytes of `x` equal to `c`, as 0xff.
    #[inline(always)]
    fn eq(x: __m128i, c: u8) -> __m128i {
        // SAFETY: see the module note (SSE2 only, no memory access).
        unsafe { _mm_cmpeq_epi8(x, _mm_set1_epi8(c as i8)) }
    }

    #[inline(always)]
    fn or(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: see the module note (SSE2 only, no memory access).
        unsafe { _mm_or_si128(a, b) }
    }

    /// The top bit of each byte, bit k for byte k.
    #[inline(always)]
    fn bits(x: __m128i) -> u32 {
        // SAFETY: see the module note (SSE2 only, no memory access).
        unsafe { _mm_movemask_epi8(x) as u32 }
    }

    /// The bytes of `x` in `lo..=hi`, as 0xff: `x - lo` below `hi - lo + 1`
    /// as unsigned bytes, done with SSE2's signed compare by flipping the
    /// top bit.
    #[inline(always)]
    fn in_range(x: __m128i, lo: u8, hi: u8) -> __m128i {
        let limit = 0x80u8.wrapping_add(hi - lo + 1);
        // SAFETY: see the module note (SSE2 only, no memory access).
        unsafe {
            let shifted = _mm_add_epi8(x, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
            _mm_cmplt_epi8(shifted, _mm_set1_epi8(limit as i8))
        }
    }

    /// `[a-zA-Z0-9_]`, plus `:` when `colon`.
    #[inline(always)]
    fn word(x: __m128i, colon: bool) -> __m128i {
        // `| 0x20` maps A-Z onto a-z and nothing else into a-z.
        // SAFETY: see the module note (SSE2 only, no memory access).
        let lower = unsafe { _mm_or_si128(x, _mm_set1_epi8(0x20)) };
        let alpha = in_range(lower, b'a', b'z');
        // `0`-`9` and `:` are adjacent (0x30-0x3a).
        let digits = in_range(x, b'0', if colon { b':' } else { b'9' });
        or(or(alpha, digits), eq(x, b'_'))
    }

    /// The [`super::SetMasks`] of a 32-byte window.
    #[inline(always)]
    pub(super) fn set_masks(window: &[u8; 32]) -> super::SetMasks {
        let (lo, hi) = window.split_at(16);
        let (Ok(lo), Ok(hi)) = (<&[u8; 16]>::try_from(lo), <&[u8; 16]>::try_from(hi)) else {
            // Not reached: a 32-byte array splits into two 16-byte halves.
            return super::SetMasks {
                quote: 0,
                close: 0,
                special: u32::MAX,
            };
        };
        let (lo, hi) = (load(lo), load(hi));
        let both = |l: __m128i, h: __m128i| bits(l) | (bits(h) << 16);
        let special = |x: __m128i| or(eq(x, b'\\'), eq(x, b'\n'));
        super::SetMasks {
            quote: both(eq(lo, b'"'), eq(hi, b'"')),
            close: both(eq(lo, b'}'), eq(hi, b'}')),
            special: both(special(lo), special(hi)),
        }
    }

    /// One bit per byte of `block` (bit k for byte k) that `stop` stops at.
    #[inline(always)]
    pub(super) fn stop_mask(block: &[u8; 16], stop: Stop) -> u32 {
        let x = load(block);
        let hits = match stop {
            Stop::NotName => return !bits(word(x, true)) & 0xffff,
            Stop::NotLabel => return !bits(word(x, false)) & 0xffff,
            // The top bit of each byte is the non-ASCII flag itself.
            Stop::Quote => or(or(eq(x, b'"'), eq(x, b'\\')), or(eq(x, b'\n'), x)),
            Stop::QuoteAscii => or(or(eq(x, b'"'), eq(x, b'\\')), eq(x, b'\n')),
            Stop::LabelSet => or(or(eq(x, b'"'), eq(x, b'}')), eq(x, b'\n')),
            Stop::ValueEnd => or(or(eq(x, b' '), eq(x, b'\t')), or(eq(x, b'\n'), eq(x, b'{'))),
            Stop::NotPlain => or(or(eq(x, b'\\'), eq(x, b'\n')), x),
        };
        bits(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOPS: [Stop; 7] = [
        Stop::NotName,
        Stop::NotLabel,
        Stop::Quote,
        Stop::QuoteAscii,
        Stop::LabelSet,
        Stop::ValueEnd,
        Stop::NotPlain,
    ];

    #[test]
    fn block_search_matches_bytewise_for_every_byte_at_every_position() {
        // A run of bytes that none of the searches stop at would differ per
        // search, so use a run that each one passes over, then one probe byte.
        for stop in STOPS {
            let filler = match stop {
                Stop::NotName | Stop::NotLabel => b'a',
                Stop::ValueEnd => b'1',
                _ => b'x',
            };
            for len in [0usize, 1, 15, 16, 17, 31, 32, 40] {
                for at in 0..len {
                    for probe in 0..=255u8 {
                        let mut b = vec![filler; len];
                        b[at] = probe;
                        for start in [0, 1, at] {
                            assert_eq!(
                                find(&b, start, stop),
                                find_bytewise(&b, start, stop),
                                "len {len} at {at} probe {probe:#x} start {start}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn block_search_matches_bytewise_on_mixed_text() {
        let text = b"go_gc_heap_allocs_by_size_bytes_bucket{le=\"8.999999999999998\",x=\"a\\\"}\xc3\xa9\"} 2.279966416e+09\n\
                     a:b_C9 {\tq=\"\n\"} NaN 123\n";
        for stop in STOPS {
            for start in 0..=text.len() + 2 {
                assert_eq!(
                    find(text, start, stop),
                    find_bytewise(text, start, stop),
                    "start {start}"
                );
            }
        }
    }

    /// The block skim, when it answers, answers what the byte skim does.
    #[test]
    fn block_skim_matches_the_byte_skim() {
        let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1du64);
        let alphabet = b"ab=\",}{\n\\ x\xc3";
        let mut answered = 0;
        for round in 0..200_000 {
            let len = (next() % 120) as usize;
            // Mostly plain bytes, so that many windows have no backslash.
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    } else {
                        b'a' + (r >> 8) as u8 % 26
                    }
                })
                .collect();
            let newline_ok = round % 2 == 0;
            for start in [0, 1, 5] {
                if let Some(got) = skim_set_blocks(&body, start) {
                    answered += 1;
                    assert_eq!(
                        Some(got),
                        crate::lex::skim_label_set_bytewise(&body, start, newline_ok),
                        "{:?} from {start}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
        }
        if cfg!(all(target_arch = "x86_64", target_feature = "sse2")) {
            assert!(answered > 10_000, "block skim answered {answered} times");
        }
    }

    #[test]
    fn prefix_parity() {
        assert_eq!(prefix_xor(0b1001_0100), 0xffff_ff8c);
        assert_eq!(prefix_xor(1), u32::MAX);
    }

    #[test]
    fn past_the_end_returns_the_start() {
        assert_eq!(find(b"abc", 5, Stop::NotName), 5);
        assert_eq!(find(b"abc", 3, Stop::NotName), 3);
        assert_eq!(find(b"abc", 0, Stop::LabelSet), 3);
    }
}
