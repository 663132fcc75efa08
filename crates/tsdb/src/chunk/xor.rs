//! Gorilla-style XOR encoding of one chunk of float samples.
//!
//! Layout (bits, most significant first), following Prometheus's XOR chunk:
//! * sample 0: timestamp as zig-zag varint, value as raw 64 bits;
//! * sample 1: timestamp delta as zig-zag varint, value XOR-encoded;
//! * sample n ≥ 2: delta-of-delta timestamp in buckets
//!   `0` (dod = 0), `10`+14 bits, `110`+17 bits, `1110`+20 bits, `1111`+64 bits;
//!   value XOR-encoded against the previous one: `0` (same value),
//!   `10` + meaningful bits inside the previous leading/trailing window, or
//!   `11` + 5 bits leading zeros + 6 bits length + the meaningful bits.
//!
//! The sample count is kept beside the bytes (in [`super::ChunkData`]), not in them.

use super::bstream::{BitReader, BitWriter};

/// Encodes samples into a growing byte buffer.
#[derive(Clone, Debug, Default)]
pub struct XorAppender {
    w: BitWriter,
    num: u16,
    t: i64,
    v: u64,
    t_delta: i64,
    leading: u8,
    trailing: u8,
}

impl XorAppender {
    /// An empty chunk.
    pub fn new() -> Self {
        XorAppender {
            leading: 0xff,
            ..Default::default()
        }
    }

    /// Number of samples appended.
    pub fn num_samples(&self) -> u16 {
        self.num
    }

    /// A copy of the encoded bytes so far (the last byte may be partly used).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.w.to_vec()
    }

    /// Number of encoded bytes so far.
    pub fn len_bytes(&self) -> usize {
        self.w.len_bytes()
    }

    /// Where the next encoded bytes will be stored: a prefetch hint, never
    /// dereferenced.
    pub fn next_write_ptr(&self) -> *const u8 {
        self.w.next_write_ptr()
    }

    /// Timestamp of the last sample (meaningless while empty).
    pub fn last_t(&self) -> i64 {
        self.t
    }

    /// Bits of the last value (meaningless while empty).
    pub fn last_v_bits(&self) -> u64 {
        self.v
    }

    /// The whole encoded bytes held (a chunk's complete prefix, after any
    /// dropped with [`Self::drop_front`]; the last partial byte excluded).
    pub fn complete_bytes(&self) -> &[u8] {
        self.w.complete()
    }

    /// Forgets the first `n` bytes of [`Self::complete_bytes`] (the caller
    /// stored them); [`Self::to_bytes`] then returns only what follows them.
    pub fn drop_front(&mut self, n: usize) {
        self.w.drop_front(n);
    }

    /// Bytes allocated for the encoding.
    pub fn capacity(&self) -> usize {
        self.w.capacity()
    }

    /// The encoded bytes, exactly sized (when the chunk is closed).
    pub fn into_bytes(self) -> Vec<u8> {
        self.w.into_vec()
    }

    /// Appends a sample; timestamps must not decrease (the head checks this).
    pub fn append(&mut self, t: i64, v: f64) {
        let bits = v.to_bits();
        match self.num {
            0 => {
                self.w.write_varint(t);
                self.w.write_bits(bits, 64);
            }
            1 => {
                let delta = t.wrapping_sub(self.t);
                self.w.write_varint(delta);
                self.write_value(bits);
                self.t_delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(self.t);
                let dod = delta.wrapping_sub(self.t_delta);
                // Prefix and field go out as one write.
                if dod == 0 {
                    self.w.write_bit(false);
                } else if fits(dod, 14) {
                    self.w.write_bits(0b10 << 14 | field(dod, 14), 16);
                } else if fits(dod, 17) {
                    self.w.write_bits(0b110 << 17 | field(dod, 17), 20);
                } else if fits(dod, 20) {
                    self.w.write_bits(0b1110 << 20 | field(dod, 20), 24);
                } else {
                    self.w.write_bits(0b1111, 4);
                    self.w.write_bits(dod as u64, 64);
                }
                self.write_value(bits);
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v = bits;
        self.num = self.num.saturating_add(1);
    }

    fn write_value(&mut self, bits: u64) {
        let x = bits ^ self.v;
        if x == 0 {
            self.w.write_bit(false);
            return;
        }
        let mut leading = x.leading_zeros() as u8;
        let trailing = x.trailing_zeros() as u8;
        // 5 bits hold at most 31 leading zeros.
        if leading >= 32 {
            leading = 31;
        }
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            // `10` and the bits inside the previous window.
            let sig = 64 - self.leading - self.trailing;
            let bits = x >> self.trailing;
            if sig <= 62 {
                self.w.write_bits(0b10 << sig | bits, sig + 2);
            } else {
                self.w.write_bits(0b10, 2);
                self.w.write_bits(bits, sig);
            }
        } else {
            self.leading = leading;
            self.trailing = trailing;
            // `11`, 5 bits of leading zeros, 6 bits of length (64 is
            // stored as 0), then the meaningful bits.
            let sig = 64 - leading - trailing;
            let head = 0b11 << 11 | (leading as u64) << 6 | (sig & 63) as u64;
            let bits = x >> trailing;
            if sig <= 51 {
                self.w.write_bits(head << sig | bits, 13 + sig);
            } else {
                self.w.write_bits(head, 13);
                self.w.write_bits(bits, sig);
            }
        }
    }
}

/// The low `n` bits of `v` (its two's complement field).
#[inline]
fn field(v: i64, n: u8) -> u64 {
    (v as u64) & ((1u64 << n) - 1)
}

/// True if `v` fits in an `n`-bit two's complement field.
fn fits(v: i64, n: u8) -> bool {
    let lo = -(1i64 << (n - 1)) + 1;
    let hi = 1i64 << (n - 1);
    lo <= v && v <= hi
}

/// Reads an `n`-bit field written for a value accepted by [`fits`]: values
/// above `2^(n-1)` are negative.
fn sign_extend(u: u64, n: u8) -> i64 {
    let u = u as i64;
    if u > (1i64 << (n - 1)) {
        u - (1i64 << n)
    } else {
        u
    }
}

/// Decodes the samples of one chunk, in order, from bytes it owns
/// (`Arc<[u8]>`) or borrows (`&[u8]`).
#[derive(Clone, Debug)]
pub struct XorDecoder<D> {
    r: BitReader<D>,
    total: u16,
    read: u16,
    t: i64,
    v: u64,
    t_delta: i64,
    leading: u8,
    trailing: u8,
    failed: bool,
}

impl<D: AsRef<[u8]>> XorDecoder<D> {
    /// A decoder over `data` holding `total` samples.
    pub fn new(data: D, total: u16) -> Self {
        XorDecoder {
            r: BitReader::new(data),
            total,
            read: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: 0,
            trailing: 0,
            failed: false,
        }
    }

    /// True if the data ended before `total` samples were read.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The next sample, or `None` at the end (or on damaged data, see [`Self::failed`]).
    pub fn next_sample(&mut self) -> Option<(i64, f64)> {
        if self.read >= self.total || self.failed {
            return None;
        }
        let res = self.decode();
        match res {
            Some(s) => {
                self.read += 1;
                Some(s)
            }
            None => {
                self.failed = true;
                None
            }
        }
    }

    fn decode(&mut self) -> Option<(i64, f64)> {
        match self.read {
            0 => {
                self.t = self.r.read_varint()?;
                self.v = self.r.read_bits(64)?;
            }
            1 => {
                self.t_delta = self.r.read_varint()?;
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
            _ => {
                let mut prefix = 0u8;
                for _ in 0..4 {
                    if !self.r.read_bit()? {
                        break;
                    }
                    prefix += 1;
                }
                let dod = match prefix {
                    0 => 0,
                    1 => sign_extend(self.r.read_bits(14)?, 14),
                    2 => sign_extend(self.r.read_bits(17)?, 17),
                    3 => sign_extend(self.r.read_bits(20)?, 20),
                    _ => self.r.read_bits(64)? as i64,
                };
                self.t_delta = self.t_delta.wrapping_add(dod);
                self.t = self.t.wrapping_add(self.t_delta);
                self.read_value()?;
            }
        }
        Some((self.t, f64::from_bits(self.v)))
    }

    fn read_value(&mut self) -> Option<()> {
        if !self.r.read_bit()? {
            return Some(());
        }
        if self.r.read_bit()? {
            self.leading = self.r.read_bits(5)? as u8;
            let mut sig = self.r.read_bits(6)? as u8;
            if sig == 0 {
                sig = 64;
            }
            self.trailing = 64u8.checked_sub(self.leading)?.checked_sub(sig)?;
        }
        let sig = 64u8.checked_sub(self.leading)?.checked_sub(self.trailing)?;
        if sig == 0 {
            return None;
        }
        let bits = self.r.read_bits(sig)?;
        self.v ^= bits << self.trailing;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, f64)]) {
        let mut a = XorAppender::new();
        for &(t, v) in samples {
            a.append(t, v);
        }
        let bytes = a.to_bytes();
        assert_eq!(bytes.len(), a.len_bytes());
        let mut d = XorDecoder::new(&bytes[..], a.num_samples());
        for &(t, v) in samples {
            let (gt, gv) = d.next_sample().expect("sample");
            assert_eq!(gt, t);
            assert_eq!(gv.to_bits(), v.to_bits());
        }
        assert_eq!(d.next_sample(), None);
        assert!(!d.failed());
    }

    #[test]
    fn regular_scrape_compresses_well() {
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| (1_700_000_000_000 + i * 15_000, (i % 7) as f64))
            .collect();
        let mut a = XorAppender::new();
        for &(t, v) in &samples {
            a.append(t, v);
        }
        // Regular timestamps cost ~1 bit; small changing values a few bits each.
        assert!(a.len_bytes() < 120 * 3, "{} bytes", a.len_bytes());
        round_trip(&samples);
    }

    #[test]
    fn bucket_edges() {
        let mut samples = vec![(0, 0.0), (100_000, 1.0)];
        let mut t = 100_000i64;
        let mut delta = 100_000i64;
        for dod in [
            8192i64,
            -8191,
            8193,
            65536,
            -65535,
            65537,
            524288,
            -524287,
            524289,
            -1_000_000_000,
        ] {
            delta += dod;
            t += delta;
            samples.push((t, dod as f64));
        }
        round_trip(&samples);
    }

    #[test]
    fn special_values_and_jumps() {
        round_trip(&[
            (i64::MIN / 4, f64::NAN),
            (0, f64::INFINITY),
            (1, promlite_model::STALE_NAN),
            (1_000_000_000, -0.0),
            (1_000_000_001, f64::MIN_POSITIVE),
            (1_000_000_002, f64::MAX),
            (i64::MAX / 4, 1.5),
        ]);
    }

    #[test]
    fn truncated_data_fails_without_panicking() {
        let mut a = XorAppender::new();
        for i in 0..50 {
            a.append(i * 1000 + (i * i) % 13, i as f64 * 1.1);
        }
        let bytes = a.to_bytes();
        for cut in 0..bytes.len() {
            let mut d = XorDecoder::new(&bytes[..cut], 50);
            while d.next_sample().is_some() {}
            assert!(d.failed());
        }
    }

    proptest! {
        #[test]
        fn prop_round_trip(start in -1_000_000_000_000i64..1_000_000_000_000, deltas in proptest::collection::vec(0i64..10_000_000, 0..150), values in proptest::collection::vec(any::<u64>(), 150)) {
            let mut t = start;
            let samples: Vec<(i64, f64)> = deltas.iter().zip(values.iter()).map(|(d, v)| { t += d; (t, f64::from_bits(*v)) }).collect();
            round_trip(&samples);
        }
    }
}
