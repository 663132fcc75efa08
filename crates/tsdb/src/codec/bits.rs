//! Bit-level writer and reader (most significant bit first), used for
//! bit-packed integer blocks and the XOR float stream.

use super::varint::DecodeError;

/// Appends bit fields to a byte vector.
#[derive(Debug, Default)]
pub struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    nacc: u32,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes the low `n` bits of `v` (`n <= 64`).
    ///
    /// Bits collect in a 64-bit accumulator (`nacc < 64` bits in its low
    /// end) that is flushed as eight big-endian bytes when it fills.
    #[inline]
    pub fn write(&mut self, v: u64, n: u32) {
        if n == 0 {
            return;
        }
        let v = if n >= 64 { v } else { v & ((1u64 << n) - 1) };
        let free = 64 - self.nacc;
        if n < free {
            self.acc = (self.acc << n) | v;
            self.nacc += n;
            return;
        }
        // Fill the accumulator with the top `free` bits of `v`, flush it,
        // and keep the remaining `n - free` bits.
        let rest = n - free;
        let high = if free == 64 { 0 } else { self.acc << free };
        let word = high | (v >> rest);
        self.out.extend_from_slice(&word.to_be_bytes());
        self.acc = if rest == 0 {
            0
        } else {
            v & ((1u64 << rest) - 1)
        };
        self.nacc = rest;
    }

    /// Writes one bit.
    pub fn bit(&mut self, b: bool) {
        self.write(u64::from(b), 1);
    }

    /// Pads to a byte boundary with zeros and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        if self.nacc > 0 {
            let bytes = self.nacc.div_ceil(8) as usize;
            let word = self.acc << (64 - self.nacc);
            self.out.extend_from_slice(&word.to_be_bytes()[..bytes]);
            self.nacc = 0;
            self.acc = 0;
        }
        self.out
    }

    /// Pads to a byte boundary and appends the bytes to `dst`.
    pub fn finish_into(self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(&self.finish());
    }
}

/// Reads bit fields written by [`BitWriter`].
#[derive(Debug)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    bitpos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the first bit of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        BitReader { buf, bitpos: 0 }
    }

    /// Reads `n` bits (`n <= 64`) as an unsigned integer.
    ///
    /// Inlined fast paths: fields of 1–57 bits with eight readable bytes
    /// (one 64-bit load: at most 7 bits of offset), 58–64 bits with sixteen
    /// (one 128-bit load); everything else goes through
    /// [`BitReader::read_slow`].
    #[inline]
    pub fn read(&mut self, n: u32) -> Result<u64, DecodeError> {
        let byte = self.bitpos / 8;
        if n.wrapping_sub(1) < 57 {
            if let Some(w) = self.buf.get(byte..byte + 8) {
                let mut a = [0u8; 8];
                a.copy_from_slice(w);
                let word = u64::from_be_bytes(a) << (self.bitpos % 8);
                self.bitpos += n as usize;
                return Ok(word >> (64 - n));
            }
        } else if n.wrapping_sub(1) < 64 {
            if let Some(w) = self.buf.get(byte..byte + 16) {
                let mut a = [0u8; 16];
                a.copy_from_slice(w);
                let word = u128::from_be_bytes(a) << (self.bitpos % 8);
                self.bitpos += n as usize;
                return Ok((word >> (128 - n)) as u64);
            }
        }
        self.read_slow(n)
    }

    #[cold]
    #[inline(never)]
    fn read_slow(&mut self, n: u32) -> Result<u64, DecodeError> {
        if n == 0 {
            return Ok(0);
        }
        if n > 32 {
            let hi = self.read(n - 32)?;
            let lo = self.read(32)?;
            return Ok((hi << 32) | lo);
        }
        let end = self.bitpos + n as usize;
        if end > self.buf.len() * 8 {
            return Err(DecodeError::new(self.buf.len(), "bit stream ends early"));
        }
        let byte = self.bitpos / 8;
        if let Some(w) = self.buf.get(byte..byte + 8) {
            // Fast path: one unaligned 64-bit load covers the field
            // (n <= 32 and at most 7 bits of offset).
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            let word = u64::from_be_bytes(a) << (self.bitpos % 8);
            self.bitpos = end;
            return Ok(word >> (64 - n));
        }
        let mut v: u64 = 0;
        let mut pos = self.bitpos;
        let mut left = n as usize;
        while left > 0 {
            let byte = self.buf[pos / 8];
            let off = pos % 8;
            let take = (8 - off).min(left);
            let bits = (byte >> (8 - off - take)) & (((1u16 << take) - 1) as u8);
            v = (v << take) | u64::from(bits);
            pos += take;
            left -= take;
        }
        self.bitpos = end;
        Ok(v)
    }

    /// Counts one-bits up to `max` (<= 32): consumes them and, if fewer than
    /// `max`, the terminating zero bit.
    #[inline]
    pub fn unary(&mut self, max: u32) -> Result<u32, DecodeError> {
        let max = max.min(32);
        let byte = self.bitpos / 8;
        if let Some(w) = self.buf.get(byte..byte + 8) {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            let word = u64::from_be_bytes(a) << (self.bitpos % 8);
            let ones = word.leading_ones().min(max);
            self.bitpos += ones as usize + usize::from(ones < max);
            return Ok(ones);
        }
        let mut q = 0;
        while q < max && self.bit()? {
            q += 1;
        }
        Ok(q)
    }

    /// Reads one bit.
    pub fn bit(&mut self) -> Result<bool, DecodeError> {
        Ok(self.read(1)? == 1)
    }

    /// Bytes consumed so far, counting a partly read byte as consumed.
    pub fn bytes_consumed(&self) -> usize {
        self.bitpos.div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of `fields` written one bit at a time, MSB first.
    fn naive(fields: &[(u64, u32)]) -> Vec<u8> {
        let mut bits = Vec::new();
        for &(v, n) in fields {
            for i in (0..n).rev() {
                bits.push((v >> i) & 1 == 1);
            }
        }
        bits.chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &x)| b | (u8::from(x) << (7 - i)))
            })
            .collect()
    }

    #[test]
    fn writer_bytes_match_a_bit_at_a_time_writer() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut fields = Vec::new();
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 65) as u32;
            let v = x.rotate_left(n);
            let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
            fields.push((v, n));
        }
        for len in [0, 1, 2, 3, 7, 64, 65, 1000, fields.len()] {
            let mut w = BitWriter::new();
            for &(v, n) in &fields[..len] {
                w.write(v, n);
            }
            assert_eq!(w.finish(), naive(&fields[..len]), "first {len} fields");
        }
    }

    #[test]
    fn bits_round_trip() {
        let fields = [
            (1u64, 1u32),
            (0, 1),
            (0x1234, 13),
            (u64::MAX, 64),
            (5, 3),
            (0xdead_beef_cafe, 48),
        ];
        let mut w = BitWriter::new();
        for &(v, n) in &fields {
            w.write(v, n);
        }
        let buf = w.finish();
        let mut r = BitReader::new(&buf);
        for &(v, n) in &fields {
            let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            assert_eq!(r.read(n).unwrap(), v & mask);
        }
        assert_eq!(r.bytes_consumed(), buf.len());
        assert!(r.read(16).is_err());
        // Unary codes, on both paths (long stream, then its short tail).
        let mut w = BitWriter::new();
        let qs: Vec<u32> = (0..200).map(|i| (i * 7) % 40).collect();
        for &q in &qs {
            w.write(u64::MAX, q.min(32));
            if q < 32 {
                w.bit(false);
            }
        }
        let buf = w.finish();
        let mut r = BitReader::new(&buf);
        for &q in &qs {
            assert_eq!(r.unary(32).unwrap(), q.min(32));
        }
        // Every width at every offset, on a long stream (fast and slow paths).
        let mut w = BitWriter::new();
        let fields: Vec<(u64, u32)> = (0..400u64)
            .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15), (i % 64) as u32 + 1))
            .collect();
        for &(v, n) in &fields {
            w.write(v, n);
        }
        let buf = w.finish();
        let mut r = BitReader::new(&buf);
        for &(v, n) in &fields {
            let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
            assert_eq!(r.read(n).unwrap(), v & mask, "width {n}");
        }
    }
}
