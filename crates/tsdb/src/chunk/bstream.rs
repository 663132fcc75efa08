//! Bit-level writer and reader used by the XOR chunk encoding.

/// Appends bits to a byte vector, most significant bit first.
///
/// Bits collect in a 64-bit accumulator and go to the vector eight bytes at
/// a time, so the vector is only ever appended to: a head chunk's buffer is
/// a cache miss per sample in a scrape (every series was last touched one
/// interval ago), and a plain store to it does not wait for the line the way
/// a read-modify-write of its last byte does.
#[derive(Clone, Debug, Default)]
pub(crate) struct BitWriter {
    /// Whole 64-bit groups written so far.
    bytes: Vec<u8>,
    /// Pending bits, left-aligned (the first pending bit is bit 63).
    acc: u64,
    /// Number of pending bits (0..=63).
    pending: u8,
}

/// Room [`BitWriter::drop_front`] leaves alone (bytes): above the head's
/// 128-byte write threshold for open chunks, so that a buffer grown to
/// reach it is kept across writes instead of shrunk and regrown each time.
const KEEP_AFTER_DROP: usize = 288;

impl BitWriter {
    /// Appends the full accumulator. The buffer grows by a quarter of its
    /// size (at least 16 bytes) rather than doubling: every series has one
    /// open chunk, and doubling left up to half of it unused.
    #[inline]
    fn flush_word(&mut self, word: u64) {
        if self.bytes.capacity() - self.bytes.len() < 8 {
            self.grow();
        }
        self.bytes.extend_from_slice(&word.to_be_bytes());
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        self.bytes.reserve_exact((self.bytes.len() / 4).max(16));
    }

    /// Writes one bit.
    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(bit as u64, 1);
    }

    /// Writes the low `n` bits of `value` (1 ≤ n ≤ 64; n = 0 writes
    /// nothing), high bit first, as one field.
    #[inline]
    pub(crate) fn write_bits(&mut self, value: u64, n: u8) {
        if n == 0 {
            return;
        }
        let n = n.min(64);
        let value = if n == 64 {
            value
        } else {
            value & ((1u64 << n) - 1)
        };
        let free = 64 - self.pending; // 1..=64
        if n < free {
            self.acc |= value << (free - n);
            self.pending += n;
            return;
        }
        // The top `free` bits complete the accumulator; `rest` (0..=63) remain.
        let rest = n - free;
        let word = self.acc | (value >> rest);
        self.flush_word(word);
        self.acc = if rest == 0 { 0 } else { value << (64 - rest) };
        self.pending = rest;
    }

    /// Writes a zig-zag varint (7 bits per group), byte-aligned or not.
    pub(crate) fn write_varint(&mut self, v: i64) {
        let mut u = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            let b = u & 0x7f;
            u >>= 7;
            if u == 0 {
                self.write_bits(b, 8);
                return;
            }
            self.write_bits(b | 0x80, 8);
        }
    }

    /// Number of bytes the bits so far take (the last one padded with zeros).
    pub(crate) fn len_bytes(&self) -> usize {
        self.bytes.len() + (self.pending as usize).div_ceil(8)
    }

    /// The whole bytes held (the pending bits excluded).
    pub(crate) fn complete(&self) -> &[u8] {
        &self.bytes
    }

    /// Forgets the first `n` whole bytes held (stored elsewhere by the
    /// caller) and gives back their room, keeping a little for the next
    /// bits. Later bits are unaffected: they depend only on the pending ones.
    ///
    /// Up to [`KEEP_AFTER_DROP`] bytes of room are kept as they are: the
    /// next bits refill them before the bytes are written out again, and
    /// shrinking and regrowing them each time cost a `realloc` per 16 bytes
    /// of samples and left holes in the heap.
    pub(crate) fn drop_front(&mut self, n: usize) {
        let n = n.min(self.bytes.len());
        self.bytes.drain(..n);
        let keep = self.bytes.len() + 16;
        if self.bytes.capacity() > keep.max(KEEP_AFTER_DROP) {
            self.bytes.shrink_to(keep);
        }
    }

    /// Bytes allocated.
    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Where the next group of bytes will be written (a prefetch hint).
    pub(crate) fn next_write_ptr(&self) -> *const u8 {
        self.bytes.as_ptr().wrapping_add(self.bytes.len())
    }

    /// The bits so far, the last byte padded with zeros.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len_bytes());
        out.extend_from_slice(&self.bytes);
        self.push_pending(&mut out);
        out
    }

    /// The bits as an exactly sized vector (for a closed chunk).
    pub(crate) fn into_vec(mut self) -> Vec<u8> {
        let extra = (self.pending as usize).div_ceil(8);
        let mut out = std::mem::take(&mut self.bytes);
        out.reserve_exact(extra);
        self.push_pending(&mut out);
        out.shrink_to_fit();
        out
    }

    fn push_pending(&self, out: &mut Vec<u8>) {
        let k = (self.pending as usize).div_ceil(8);
        out.extend_from_slice(&self.acc.to_be_bytes()[..k]);
    }
}

/// Reads bits written by [`BitWriter`] from bytes it owns or borrows.
/// Reading past the end yields `None`.
#[derive(Clone, Debug)]
pub(crate) struct BitReader<D> {
    data: D,
    pos: usize,
}

impl<D: AsRef<[u8]>> BitReader<D> {
    pub(crate) fn new(data: D) -> Self {
        BitReader { data, pos: 0 }
    }

    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.data.as_ref().get(self.pos / 8)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1 == 1;
        self.pos += 1;
        Some(bit)
    }

    /// Reads `n` bits (n ≤ 64) as the low bits of a `u64`.
    pub(crate) fn read_bits(&mut self, mut n: u8) -> Option<u64> {
        let mut out: u64 = 0;
        while n > 0 {
            let byte = *self.data.as_ref().get(self.pos / 8)?;
            let offset = (self.pos % 8) as u8;
            let avail = 8 - offset;
            let take = n.min(avail);
            let bits = (byte >> (avail - take)) & (((1u16 << take) - 1) as u8);
            out = (out << take) | bits as u64;
            self.pos += take as usize;
            n -= take;
        }
        Some(out)
    }

    pub(crate) fn read_varint(&mut self) -> Option<i64> {
        let mut u: u64 = 0;
        for i in 0..10 {
            let b = self.read_bits(8)?;
            u |= (b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(((u >> 1) as i64) ^ -((u & 1) as i64));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip() {
        let mut w = BitWriter::default();
        w.write_bit(true);
        w.write_bits(0b1011, 4);
        w.write_bits(u64::MAX, 64);
        w.write_varint(-123_456_789);
        w.write_bit(false);
        w.write_bits(0x3fff, 14);
        let bytes = w.to_vec();
        assert_eq!(bytes.len(), w.len_bytes());
        assert_eq!(w.clone().into_vec(), bytes);
        let mut r = BitReader::new(&bytes[..]);
        assert_eq!(r.read_bit(), Some(true));
        assert_eq!(r.read_bits(4), Some(0b1011));
        assert_eq!(r.read_bits(64), Some(u64::MAX));
        assert_eq!(r.read_varint(), Some(-123_456_789));
        assert_eq!(r.read_bit(), Some(false));
        assert_eq!(r.read_bits(14), Some(0x3fff));
        // Past the end: the last byte's padding bits exist, then nothing.
        let _ = r.read_bits(8);
        assert_eq!(r.read_bits(8), None);
    }

    /// The bytes a one-bit-at-a-time writer produces for `fields`.
    fn reference(fields: &[(u64, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut used = 0usize;
        for &(v, n) in fields {
            for k in (0..n).rev() {
                if used % 8 == 0 {
                    out.push(0u8);
                }
                if (v >> k) & 1 == 1 {
                    if let Some(last) = out.last_mut() {
                        *last |= 1 << (7 - used % 8);
                    }
                }
                used += 1;
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn whole_field_writes_match_bit_by_bit(
            fields in proptest::collection::vec((proptest::prelude::any::<u64>(), 0u8..=64), 0..80)
        ) {
            let mut w = BitWriter::default();
            for &(v, n) in &fields {
                w.write_bits(v, n);
            }
            let bytes = w.to_vec();
            proptest::prop_assert_eq!(&bytes, &reference(&fields));
            proptest::prop_assert_eq!(&w.clone().into_vec(), &bytes);
            let mut r = BitReader::new(&bytes[..]);
            for &(v, n) in &fields {
                let want = if n == 64 { v } else { v & ((1u64 << n) - 1) };
                proptest::prop_assert_eq!(r.read_bits(n), Some(want));
            }
        }
    }
}
