//! Decoding the body of one series entry: varints with a one-byte fast path
//! and the chunk metas, optionally only those overlapping a time range.
//!
//! Series entries are read on every query, once per matching series and
//! block, so this is on the hot path of small queries: most label symbol
//! ids and chunk time deltas of an entry fit one varint byte.

use super::ChunkMeta;
use crate::codec::varint::{unzigzag, DecodeError, Reader};

/// A cursor over the body of a series entry (whose bounds and checksum the
/// index reader checked).
pub(super) struct Entry<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Entry<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Entry { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// An unsigned LEB128 varint. Values of up to nine bytes (63 bits) are
    /// decoded here; longer ones and every error are left to
    /// [`Reader::uvarint`], so both accept exactly the same input.
    ///
    /// Where eight bytes are left, varints of up to three bytes (symbol
    /// references, chunk times and references are nearly all such) are
    /// taken from one little-endian word, without a bounds check per byte.
    #[inline]
    pub(super) fn uvarint(&mut self) -> Result<u64, DecodeError> {
        if let Some(word) = self.buf.get(self.pos..).and_then(<[u8]>::first_chunk::<8>) {
            let w = u64::from_le_bytes(*word);
            if w & 0x80 == 0 {
                self.pos += 1;
                return Ok(w & 0x7f);
            }
            let low = (w & 0x7f) | ((w >> 1) & 0x3f80);
            if w & 0x8000 == 0 {
                self.pos += 2;
                return Ok(low);
            }
            if w & 0x80_0000 == 0 {
                self.pos += 3;
                return Ok(low | ((w >> 2) & 0x1f_c000));
            }
        }
        self.uvarint_tail()
    }

    /// [`Entry::uvarint`] byte by byte (the last bytes of an entry, and
    /// varints of four bytes or more).
    fn uvarint_tail(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        let mut shift = 0u32;
        let mut i = self.pos;
        while let Some(&b) = self.buf.get(i) {
            v |= u64::from(b & 0x7f) << shift;
            i += 1;
            if b < 0x80 {
                self.pos = i;
                return Ok(v);
            }
            shift += 7;
            if shift > 56 {
                break;
            }
        }
        self.uvarint_slow()
    }

    #[cold]
    fn uvarint_slow(&mut self) -> Result<u64, DecodeError> {
        let mut r = Reader::new(self.buf.get(self.pos..).unwrap_or(&[]));
        let v = r
            .uvarint()
            .map_err(|e| DecodeError::new(self.pos + e.offset, e.message))?;
        self.pos += r.pos();
        Ok(v)
    }

    /// A zigzag varint.
    #[inline]
    pub(super) fn varint(&mut self) -> Result<i64, DecodeError> {
        self.uvarint().map(unzigzag)
    }

    /// A count that cannot exceed the bytes left (each counted item takes
    /// at least one byte).
    pub(super) fn count(&mut self) -> Result<usize, DecodeError> {
        let at = self.pos;
        let v = self.uvarint()?;
        match usize::try_from(v) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(DecodeError::new(
                at,
                format!("count {v} exceeds the {} bytes left", self.remaining()),
            )),
        }
    }

    /// The `n` chunk metas that follow, keeping those overlapping
    /// `[mint, maxt]` (both inclusive).
    ///
    /// Chunks are stored in time order without overlap (`docs/format/index.md`);
    /// an entry breaking that order is reported as corrupt. Reading stops at
    /// the first chunk starting after `maxt`: none after it can overlap.
    pub(super) fn chunk_metas(
        &mut self,
        n: usize,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkMeta>, DecodeError> {
        let whole = mint == i64::MIN && maxt == i64::MAX;
        let mut out = Vec::with_capacity(if whole { n } else { n.min(4) });
        self.chunk_metas_each(n, mint, maxt, |c| out.push(c))?;
        Ok(out)
    }

    /// [`Entry::chunk_metas`] handing each chunk to `push` instead of
    /// collecting them.
    pub(super) fn chunk_metas_each(
        &mut self,
        n: usize,
        mint: i64,
        maxt: i64,
        mut push: impl FnMut(ChunkMeta),
    ) -> Result<(), DecodeError> {
        let mut prev: Option<ChunkMeta> = None;
        for _ in 0..n {
            let at = self.pos;
            let c = match prev {
                None => {
                    let min_time = self.varint()?;
                    let span = self.uvarint()? as i64;
                    let chunk_ref = self.uvarint()?;
                    ChunkMeta {
                        min_time,
                        max_time: min_time.wrapping_add(span),
                        chunk_ref,
                    }
                }
                Some(p) => {
                    let min_time = p.max_time.wrapping_add(self.varint()?);
                    let span = self.uvarint()? as i64;
                    let d = self.varint()?;
                    if min_time <= p.max_time {
                        return Err(DecodeError::new(at, "chunks not in time order"));
                    }
                    ChunkMeta {
                        min_time,
                        max_time: min_time.wrapping_add(span),
                        chunk_ref: p.chunk_ref.wrapping_add(d as u64),
                    }
                }
            };
            if c.min_time > maxt {
                break;
            }
            if c.max_time >= mint {
                push(c);
            }
            prev = Some(c);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::varint::{put_uvarint, put_varint};

    /// Chunk metas encoded as in a series entry.
    fn encode(chunks: &[(i64, i64, u64)]) -> Vec<u8> {
        let mut b = Vec::new();
        let mut prev: Option<(i64, i64, u64)> = None;
        for &(mint, maxt, r) in chunks {
            match prev {
                None => {
                    put_varint(&mut b, mint);
                    put_uvarint(&mut b, (maxt - mint) as u64);
                    put_uvarint(&mut b, r);
                }
                Some(p) => {
                    put_varint(&mut b, mint - p.1);
                    put_uvarint(&mut b, (maxt - mint) as u64);
                    put_varint(&mut b, r as i64 - p.2 as i64);
                }
            }
            prev = Some((mint, maxt, r));
        }
        b
    }

    fn metas(buf: &[u8], n: usize, mint: i64, maxt: i64) -> Vec<(i64, i64, u64)> {
        Entry::new(buf)
            .chunk_metas(n, mint, maxt)
            .expect("valid metas")
            .iter()
            .map(|c| (c.min_time, c.max_time, c.chunk_ref))
            .collect()
    }

    #[test]
    fn range_keeps_only_overlapping_chunks() {
        let chunks = [
            (-500, -100, 7),
            (0, 999, 1 << 33),
            (1_000, 1_999, 300),
            (2_000, 2_999, 100_000),
        ];
        let b = encode(&chunks);
        assert_eq!(metas(&b, 4, i64::MIN, i64::MAX), chunks.to_vec());
        assert_eq!(metas(&b, 4, 999, 1_000), chunks[1..3].to_vec());
        assert_eq!(metas(&b, 4, 2_500, i64::MAX), chunks[3..].to_vec());
        assert_eq!(metas(&b, 4, -100, -100), chunks[..1].to_vec());
        assert!(metas(&b, 4, 3_000, 4_000).is_empty());
        assert!(metas(&b, 4, -99, -1).is_empty());
    }

    #[test]
    fn overlapping_or_unordered_chunks_are_an_error() {
        let b = encode(&[(0, 999, 1), (999, 1_500, 2)]);
        let e = Entry::new(&b)
            .chunk_metas(2, i64::MIN, i64::MAX)
            .unwrap_err();
        assert_eq!(e.message, "chunks not in time order");
        let b = encode(&[(1_000, 1_999, 1), (0, 10, 2)]);
        assert!(Entry::new(&b).chunk_metas(2, 0, 5_000).is_err());
        // What follows a chunk starting past the range is not read.
        assert!(Entry::new(&b).chunk_metas(2, 0, 10).unwrap().is_empty());
    }

    #[test]
    fn varints_match_the_codec_reader() {
        let mut b = Vec::new();
        let vals = [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX];
        for &v in &vals {
            put_uvarint(&mut b, v);
        }
        let mut e = Entry::new(&b);
        for &v in &vals {
            assert_eq!(e.uvarint().unwrap(), v);
        }
        assert_eq!(e.remaining(), 0);
        assert!(e.uvarint().is_err());
        // Overlong and truncated varints fail like the codec's reader.
        for bad in [&[0xffu8; 11][..], &[0x80, 0x80][..], &[0xff; 9][..]] {
            let want = Reader::new(bad).uvarint().unwrap_err();
            assert_eq!(Entry::new(bad).uvarint().unwrap_err(), want);
        }
        // Every length at every distance from the end (the word path and
        // the byte loop), against the codec's reader.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for bits in 0..64 {
            let mut b = Vec::new();
            let mut want = Vec::new();
            for _ in 0..12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = if bits == 63 {
                    x
                } else {
                    x & ((1u64 << bits) - 1)
                };
                put_uvarint(&mut b, v);
                want.push(v);
            }
            let mut e = Entry::new(&b);
            for &v in &want {
                assert_eq!(e.uvarint().unwrap(), v, "{bits} bits");
            }
            assert_eq!(e.remaining(), 0);
        }
        // Overlong forms (a continuation byte before a zero group) decode
        // as the codec's reader decodes them.
        for bad in [
            &[0x80u8, 0x00][..],
            &[0x81, 0x80, 0x00, 1, 1, 1, 1, 1, 1][..],
        ] {
            let want = Reader::new(bad).uvarint().unwrap();
            assert_eq!(Entry::new(bad).uvarint().unwrap(), want);
        }
        let mut e = Entry::new(&[5, 1, 2]);
        assert!(e.count().is_err(), "5 items cannot fit in 2 bytes");
        let mut e = Entry::new(&[2, 1, 2]);
        assert_eq!(e.count().unwrap(), 2);
    }
}
