//! Bit-level writer and reader used by the XOR chunk encoding.

/// Appends bits to a byte vector, most significant bit first.
#[derive(Clone, Debug, Default)]
pub(crate) struct BitWriter {
    pub(crate) bytes: Vec<u8>,
    /// Number of bits still free in the last byte (0 means "start a new byte").
    free: u8,
}

impl BitWriter {
    /// Starts a new byte. The buffer grows by a quarter of its size (at
    /// least 16 bytes) rather than doubling: every series has one open
    /// chunk, and doubling left up to half of it unused.
    #[inline]
    fn new_byte(&mut self) {
        if self.bytes.len() == self.bytes.capacity() {
            self.grow();
        }
        self.bytes.push(0);
        self.free = 8;
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        self.bytes.reserve_exact((self.bytes.len() / 4).max(16));
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.new_byte();
        }
        if bit {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 1 << (self.free - 1);
            }
        }
        self.free -= 1;
    }

    /// Writes the low `n` bits of `value` (n ≤ 64), high bit first.
    #[inline]
    pub(crate) fn write_bits(&mut self, value: u64, mut n: u8) {
        while n > 0 {
            if self.free == 0 {
                self.new_byte();
            }
            let take = n.min(self.free);
            let shift = n - take;
            let chunk = ((value >> shift) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << (self.free - take);
            }
            self.free -= take;
            n -= take;
        }
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
}
