//! Compact in-memory sample store of the importer: the samples of one
//! (block window, series) pair as a byte stream of zig-zag varint timestamp
//! deltas and byte-trimmed XORs of the float bits, typically 2–6 bytes per
//! sample instead of 16. Samples are kept in file order; sorting and
//! de-duplication happen when a window is cut.

use std::collections::BTreeMap;

/// The samples of one series inside one window.
#[derive(Debug, Default)]
struct SeriesBuf {
    bytes: Vec<u8>,
    last_t: i64,
    last_bits: u64,
    count: u32,
}

impl SeriesBuf {
    fn push(&mut self, t: i64, v: f64) {
        let delta = t.wrapping_sub(self.last_t);
        put_varint(&mut self.bytes, ((delta << 1) ^ (delta >> 63)) as u64);
        let bits = v.to_bits();
        let xor = bits ^ self.last_bits;
        if xor == 0 {
            self.bytes.push(0);
        } else {
            let lz = xor.leading_zeros() / 8;
            let tz = xor.trailing_zeros() / 8;
            self.bytes.push((1 + lz * 8 + tz) as u8);
            let width = (8 - lz - tz) as usize;
            let le = (xor >> (tz * 8)).to_le_bytes();
            self.bytes.extend_from_slice(&le[..width]);
        }
        self.last_t = t;
        self.last_bits = bits;
        self.count += 1;
    }

    /// Decodes, sorts by time (stable) and keeps the last sample of equal
    /// timestamps, as the importer always did.
    fn decode(&self) -> Result<Vec<(i64, f64)>, String> {
        let mut out = Vec::with_capacity(self.count as usize);
        let (mut t, mut bits, mut pos) = (0i64, 0u64, 0usize);
        let b = &self.bytes;
        while pos < b.len() {
            let z = get_varint(b, &mut pos)?;
            t = t.wrapping_add(((z >> 1) as i64) ^ -((z & 1) as i64));
            let head = *b.get(pos).ok_or("truncated sample buffer")?;
            pos += 1;
            if head != 0 {
                let code = u32::from(head - 1);
                let (lz, tz) = (code / 8, code % 8);
                if lz + tz >= 8 {
                    return Err("corrupt sample buffer".into());
                }
                let width = (8 - lz - tz) as usize;
                let raw = b.get(pos..pos + width).ok_or("truncated sample buffer")?;
                pos += width;
                let mut le = [0u8; 8];
                le[..width].copy_from_slice(raw);
                bits ^= u64::from_le_bytes(le) << (tz * 8);
            }
            out.push((t, f64::from_bits(bits)));
        }
        // Files list samples in time order almost always: check first.
        if !out.is_sorted_by_key(|p| p.0) {
            out.sort_by_key(|p| p.0);
        }
        out.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                *earlier = *later;
                true
            } else {
                false
            }
        });
        Ok(out)
    }
}

fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut x = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos).ok_or("truncated sample buffer")?;
        *pos += 1;
        x |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(x);
        }
    }
    Err("corrupt varint in sample buffer".into())
}

/// All samples of an import, by block window and interned series id.
#[derive(Debug)]
pub struct WindowStore {
    range: i64,
    windows: BTreeMap<i64, Vec<SeriesBuf>>,
    samples: u64,
}

impl WindowStore {
    /// An empty store cutting windows of `range` ms aligned to multiples of
    /// `range` (a non-positive range is treated as 1 ms).
    pub fn new(range: i64) -> WindowStore {
        WindowStore {
            range: range.max(1),
            windows: BTreeMap::new(),
            samples: 0,
        }
    }

    /// Adds one sample of series `id`.
    pub fn push(&mut self, id: u32, t: i64, v: f64) {
        let start = t.div_euclid(self.range) * self.range;
        let series = self.windows.entry(start).or_default();
        let idx = id as usize;
        if series.len() <= idx {
            series.resize_with(idx + 1, SeriesBuf::default);
        }
        if let Some(buf) = series.get_mut(idx) {
            buf.push(t, v);
        }
        self.samples += 1;
    }

    /// Samples pushed so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The window starts, oldest first, with their end (exclusive).
    pub fn windows(&self) -> Vec<(i64, i64)> {
        self.windows
            .keys()
            .map(|&s| (s, s.saturating_add(self.range)))
            .collect()
    }

    /// Removes the window starting at `start` and returns its series.
    pub fn take_window(&mut self, start: i64) -> Window {
        Window(self.windows.remove(&start).unwrap_or_default())
    }
}

/// The series of one window, taken out of a [`WindowStore`].
#[derive(Debug)]
pub struct Window(Vec<SeriesBuf>);

impl Window {
    /// The samples of series `id` sorted by time with duplicates resolved
    /// (the later sample of the file wins), or `None` if it has none here.
    pub fn samples(&self, id: u32) -> Option<Result<Vec<(i64, f64)>, String>> {
        let buf = self.0.get(id as usize)?;
        if buf.count == 0 {
            return None;
        }
        Some(buf.decode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_out_of_order_and_special_values() {
        let vals = [
            (10, 1.0),
            (5, 1.0),
            (20, f64::NAN),
            (20, -0.0),
            (i64::MIN / 4, f64::INFINITY),
            (30, 123456.789),
            (1, f64::MIN_POSITIVE),
        ];
        let mut b = SeriesBuf::default();
        for &(t, v) in &vals {
            b.push(t, v);
        }
        let got = b.decode().unwrap();
        let times: Vec<i64> = got.iter().map(|p| p.0).collect();
        assert_eq!(times, vec![i64::MIN / 4, 1, 5, 10, 20, 30]);
        // The later of the two samples at t=20 wins.
        assert_eq!(got[4].1.to_bits(), (-0.0f64).to_bits());
        assert_eq!(got[5].1, 123456.789);
        assert_eq!(got[1].1, f64::MIN_POSITIVE);
        assert!(b.bytes.len() < vals.len() * 16);
    }

    #[test]
    fn windows_split_and_order_series() {
        let mut s = WindowStore::new(100);
        s.push(1, 150, 2.0);
        s.push(0, 50, 1.0);
        s.push(0, 199, 3.0);
        s.push(1, -1, 4.0);
        assert_eq!(s.samples(), 4);
        assert_eq!(s.windows(), vec![(-100, 0), (0, 100), (100, 200)]);
        let w = s.take_window(100);
        assert_eq!(w.samples(0).unwrap().unwrap(), vec![(199, 3.0)]);
        assert_eq!(w.samples(1).unwrap().unwrap(), vec![(150, 2.0)]);
        assert!(w.samples(2).is_none());
        assert!(s.take_window(100).samples(0).is_none());
        assert!(s.take_window(-100).samples(0).is_none());
        assert_eq!(
            s.take_window(0).samples(0).unwrap().unwrap(),
            vec![(50, 1.0)]
        );
    }
}
