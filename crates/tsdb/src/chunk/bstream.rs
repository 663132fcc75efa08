//! Bit-level writer and reader used by the XOR chunk encoding.

/// Appends bits to a byte vector, most significant bit first.
#[derive(Clone, Debug, Default)]
pub(crate) struct BitWriter {
    pub(crate) bytes: Vec<u8>,
    /// Number of bits still free in the last byte (0 means "start a new byte").
    free: u8,
}

impl BitWriter {
    /// Makes room for `extra` more bytes. The buffer grows by a quarter of
    /// its size (at least 16 bytes) rather than doubling: every series has
    /// one open chunk, and doubling left up to half of it unused.
    #[inline]
    fn reserve(&mut self, extra: usize) {
        if self.bytes.capacity() - self.bytes.len() < extra {
            self.grow(extra);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, extra: usize) {
        self.bytes
            .reserve_exact((self.bytes.len() / 4).max(16).max(extra));
    }

    /// Writes one bit.
    #[inline]
    pub(crate) fn write_bit(&mut self, bit: bool) {
        self.write_bits(bit as u64, 1);
    }

    /// Writes the low `n` bits of `value` (1 ≤ n ≤ 64; n = 0 writes
    /// nothing), high bit first, as one field: the bits that fit go into the
    /// last byte with one OR, the rest are appended as whole bytes cut from
    /// the big-endian form of the left-aligned field.
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
        let free = self.free;
        if n <= free {
            if let Some(last) = self.bytes.last_mut() {
                *last |= (value << (free - n)) as u8;
            }
            self.free = free - n;
            return;
        }
        // The top `free` bits finish the last byte.
        let rest = n - free;
        if free > 0 {
            if let Some(last) = self.bytes.last_mut() {
                *last |= (value >> rest) as u8;
            }
        }
        // The remaining `rest` bits (1..=64), left-aligned, as whole bytes.
        let aligned = value << (64 - rest);
        let new_bytes = rest.div_ceil(8) as usize;
        self.reserve(new_bytes);
        self.bytes
            .extend_from_slice(&aligned.to_be_bytes()[..new_bytes]);
        self.free = (new_bytes as u8) * 8 - rest;
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

    pub(crate) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
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
        let mut r = BitReader::new(&w.bytes[..]);
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
            proptest::prop_assert_eq!(&w.bytes, &reference(&fields));
            let mut r = BitReader::new(&w.bytes[..]);
            for &(v, n) in &fields {
                let want = if n == 64 { v } else { v & ((1u64 << n) - 1) };
                proptest::prop_assert_eq!(r.read_bits(n), Some(want));
            }
        }
    }
}
