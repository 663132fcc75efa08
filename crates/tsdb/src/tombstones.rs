//! Tombstones: time ranges of series marked deleted, as Prometheus's
//! `tombstones` package.
//!
//! * [`Intervals`] — a sorted, merged list of closed `[mint, maxt]` ranges.
//! * [`Tombstones`] — deleted intervals per series (block series id or
//!   head reference).
//! * [`read_file`] / [`write_file`] — the per-block `tombstones` file
//!   (byte layout: `docs/format/tombstones.md`), CRC32-checked; a damaged
//!   file is a [`StorageError::Corruption`], never a panic.

use std::collections::BTreeMap;
use std::path::Path;

use promlite_model::StorageError;

use crate::codec::varint::{put_uvarint, put_varint, Reader};

/// Name of the tombstones file inside a block directory.
pub const TOMBSTONES_FILE: &str = "tombstones";
/// Magic number at the start of the file: `"PLTS"`.
pub const TOMBSTONES_MAGIC: u32 = 0x504C_5453;
/// Version byte of the file format.
pub const TOMBSTONES_VERSION: u8 = 1;

/// Closed time ranges `[mint, maxt]` (ms, both inclusive), sorted and
/// merged: no two overlap or touch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Intervals(Vec<(i64, i64)>);

impl Intervals {
    /// The ranges, sorted.
    pub fn as_slice(&self) -> &[(i64, i64)] {
        &self.0
    }

    /// True if no range is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `[mint, maxt]`, merging with overlapping or adjacent ranges.
    /// An empty range (`mint > maxt`) is ignored.
    pub fn add(&mut self, mint: i64, maxt: i64) {
        if mint > maxt {
            return;
        }
        let (mut lo, mut hi) = (mint, maxt);
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut placed = false;
        for &(a, b) in &self.0 {
            if b.saturating_add(1) < lo {
                out.push((a, b));
            } else if a > hi.saturating_add(1) {
                if !placed {
                    out.push((lo, hi));
                    placed = true;
                }
                out.push((a, b));
            } else {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        if !placed {
            out.push((lo, hi));
        }
        self.0 = out;
    }

    /// Adds every range of `other`.
    pub fn extend(&mut self, other: &Intervals) {
        for &(a, b) in &other.0 {
            self.add(a, b);
        }
    }

    /// Whether `t` lies in a range.
    pub fn contains(&self, t: i64) -> bool {
        // First range ending at or after t.
        let i = self.0.partition_point(|&(_, b)| b < t);
        self.0.get(i).is_some_and(|&(a, _)| a <= t)
    }

    /// Whether `[mint, maxt]` lies entirely inside one range.
    pub fn covers(&self, mint: i64, maxt: i64) -> bool {
        let i = self.0.partition_point(|&(_, b)| b < maxt);
        self.0.get(i).is_some_and(|&(a, _)| a <= mint)
    }

    /// Removes the deleted samples from `samples`.
    pub fn filter(&self, samples: &mut Vec<(i64, f64)>) {
        if !self.0.is_empty() {
            samples.retain(|s| !self.contains(s.0));
        }
    }
}

/// Deleted intervals per series. In a block the key is the series id
/// (its position in the index); in the head it is the series reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tombstones {
    map: BTreeMap<u64, Intervals>,
}

impl Tombstones {
    /// No tombstones.
    pub fn new() -> Tombstones {
        Tombstones::default()
    }

    /// Marks `[mint, maxt]` of series `id` deleted.
    pub fn add(&mut self, id: u64, mint: i64, maxt: i64) {
        if mint <= maxt {
            self.map.entry(id).or_default().add(mint, maxt);
        }
    }

    /// Adds every interval of `other`.
    pub fn merge(&mut self, other: &Tombstones) {
        for (id, iv) in &other.map {
            self.map.entry(*id).or_default().extend(iv);
        }
    }

    /// The deleted intervals of series `id`, if any.
    pub fn get(&self, id: u64) -> Option<&Intervals> {
        self.map.get(&id).filter(|iv| !iv.is_empty())
    }

    /// True if nothing is deleted.
    pub fn is_empty(&self) -> bool {
        self.map.values().all(Intervals::is_empty)
    }

    /// Number of series with deleted intervals.
    pub fn num_series(&self) -> usize {
        self.map.values().filter(|iv| !iv.is_empty()).count()
    }

    /// Total number of intervals (Prometheus's `numTombstones`).
    pub fn num_intervals(&self) -> usize {
        self.map.values().map(|iv| iv.0.len()).sum()
    }

    /// Series and their intervals, by id.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Intervals)> {
        self.map
            .iter()
            .filter(|(_, iv)| !iv.is_empty())
            .map(|(k, v)| (*k, v))
    }

    /// The file bytes (layout in `docs/format/tombstones.md`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&TOMBSTONES_MAGIC.to_be_bytes());
        out.push(TOMBSTONES_VERSION);
        put_uvarint(&mut out, self.num_series() as u64);
        for (id, iv) in self.iter() {
            put_uvarint(&mut out, id);
            put_uvarint(&mut out, iv.0.len() as u64);
            for &(a, b) in &iv.0 {
                put_varint(&mut out, a);
                // The length, not the end: never negative, usually short.
                put_uvarint(&mut out, b.wrapping_sub(a) as u64);
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Parses file bytes. `Err((offset, message))` on any damage.
    pub fn decode(bytes: &[u8]) -> Result<Tombstones, (usize, String)> {
        if bytes.len() < 9 {
            return Err((0, format!("file too short ({} bytes)", bytes.len())));
        }
        let body_end = bytes.len() - 4;
        let (body, crc_bytes) = bytes.split_at(body_end);
        let mut c = [0u8; 4];
        c.copy_from_slice(crc_bytes);
        if crc32fast::hash(body) != u32::from_be_bytes(c) {
            return Err((body_end, "checksum mismatch".into()));
        }
        let e = |d: crate::codec::varint::DecodeError| (d.offset, d.message);
        let mut r = Reader::new(body);
        let magic = r.be_u32().map_err(e)?;
        if magic != TOMBSTONES_MAGIC {
            return Err((0, format!("bad magic {magic:#010x}")));
        }
        let version = r.u8().map_err(e)?;
        if version != TOMBSTONES_VERSION {
            return Err((4, format!("unsupported version {version}")));
        }
        let mut out = Tombstones::new();
        // Every entry takes at least 2 bytes, every interval at least 2.
        let n = r.len(r.remaining() / 2).map_err(e)?;
        let mut prev: Option<u64> = None;
        for _ in 0..n {
            let at = r.pos();
            let id = r.uvarint().map_err(e)?;
            if prev.is_some_and(|p| p >= id) {
                return Err((at, format!("series id {id} out of order")));
            }
            prev = Some(id);
            let k = r.len(r.remaining() / 2).map_err(e)?;
            if k == 0 {
                return Err((at, format!("series {id} has no intervals")));
            }
            for _ in 0..k {
                let at = r.pos();
                let a = r.varint().map_err(e)?;
                let len = r.uvarint().map_err(e)?;
                let end = i128::from(a) + i128::from(len);
                let b =
                    i64::try_from(end).map_err(|_| (at, "interval end overflows".to_string()))?;
                out.add(id, a, b);
            }
        }
        if r.remaining() != 0 {
            return Err((r.pos(), format!("{} trailing bytes", r.remaining())));
        }
        Ok(out)
    }
}

/// Reads `<block_dir>/tombstones`; a missing file means no tombstones.
/// Damage is a [`StorageError::Corruption`] naming the file and offset.
pub fn read_file(block_dir: &Path) -> Result<Tombstones, StorageError> {
    let path = block_dir.join(TOMBSTONES_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Tombstones::new()),
        Err(e) => return Err(StorageError::Io(format!("{}: {e}", path.display()))),
    };
    Tombstones::decode(&bytes).map_err(|(offset, message)| StorageError::Corruption {
        file: path.display().to_string(),
        offset: offset as u64,
        message,
    })
}

/// Writes `<block_dir>/tombstones` atomically: a temporary file, fsynced,
/// renamed over the old one, then the directory fsynced. Readers (and
/// hard links made by snapshots) see the old or the new file, never a mix.
/// Empty tombstones remove the file.
pub fn write_file(block_dir: &Path, t: &Tombstones) -> Result<(), StorageError> {
    let path = block_dir.join(TOMBSTONES_FILE);
    let io = |p: &Path, e: std::io::Error| StorageError::Io(format!("{}: {e}", p.display()));
    if t.is_empty() {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&path, e)),
        }
        return crate::block::sync_dir(block_dir);
    }
    let tmp = block_dir.join(format!("{TOMBSTONES_FILE}.tmp"));
    crate::block::write_file_synced(&tmp, &t.encode())?;
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    crate::block::sync_dir(block_dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn intervals_merge_and_contain() {
        let mut iv = Intervals::default();
        iv.add(10, 20);
        iv.add(30, 40);
        iv.add(21, 25); // touches [10, 20]
        assert_eq!(iv.as_slice(), &[(10, 25), (30, 40)]);
        iv.add(0, 5);
        iv.add(24, 35);
        assert_eq!(iv.as_slice(), &[(0, 5), (10, 40)]);
        iv.add(7, 6); // empty
        assert_eq!(iv.as_slice(), &[(0, 5), (10, 40)]);
        assert!(iv.contains(0) && iv.contains(5) && iv.contains(10) && iv.contains(40));
        assert!(!iv.contains(6) && !iv.contains(9) && !iv.contains(41) && !iv.contains(-1));
        assert!(iv.covers(12, 40) && !iv.covers(4, 12));
        iv.add(i64::MIN, i64::MAX);
        assert_eq!(iv.as_slice(), &[(i64::MIN, i64::MAX)]);
        let mut s = vec![(1, 1.0), (2, 2.0)];
        iv.filter(&mut s);
        assert!(s.is_empty());
    }

    #[test]
    fn file_round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_file(dir.path()).unwrap(), Tombstones::new());
        let mut t = Tombstones::new();
        t.add(3, i64::MIN, i64::MAX);
        t.add(1, -5, 10);
        t.add(1, 20, 30);
        write_file(dir.path(), &t).unwrap();
        assert_eq!(read_file(dir.path()).unwrap(), t);
        let path = dir.path().join(TOMBSTONES_FILE);
        let good = std::fs::read(&path).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            std::fs::write(&path, &bad).unwrap();
            match read_file(dir.path()) {
                Err(StorageError::Corruption { file, .. }) => assert!(file.ends_with("tombstones")),
                other => panic!("flip at {i}: {other:?}"),
            }
        }
        std::fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(read_file(dir.path()).is_err());
        write_file(dir.path(), &Tombstones::new()).unwrap();
        assert!(!path.exists());
    }

    proptest! {
        #[test]
        fn decode_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Tombstones::decode(&bytes);
        }

        #[test]
        fn encode_decode_round_trip(items in proptest::collection::vec((0u64..50, any::<i64>(), any::<i64>()), 0..30)) {
            let mut t = Tombstones::new();
            for (id, a, b) in items {
                t.add(id, a.min(b), a.max(b));
            }
            prop_assert_eq!(Tombstones::decode(&t.encode()).unwrap(), t);
        }

        #[test]
        fn contains_matches_naive(ranges in proptest::collection::vec((-50i64..50, 0i64..20), 0..8), t in -60i64..80) {
            let mut iv = Intervals::default();
            for &(a, l) in &ranges {
                iv.add(a, a + l);
            }
            let naive = ranges.iter().any(|&(a, l)| a <= t && t <= a + l);
            prop_assert_eq!(iv.contains(t), naive);
        }
    }
}
