//! The open chunk's complete bytes out of the heap.
//!
//! An open chunk of noisy floats grows to about 1 KB over its 120 samples,
//! and every series has one. Its bytes before the last partial one never
//! change, so the spill passes write them to a *region* of a spill segment
//! reserved for the chunk (sized from the series' previous chunk, or
//! projected from the bytes so far, plus a quarter) and drop them from the
//! appender's buffer; the heap keeps the unwritten tail and the encoder's
//! state. The tick's pass, once a minute, writes every chunk's bytes this
//! way in a few read-patch-write runs of the segments
//! ([`SeriesData::pending_open`], `write_runs` in `spill.rs`); the passes
//! between ticks write a chunk's bytes with a `pwrite` of its own only
//! once it holds [`OPEN_SPILL_THRESHOLD`] of them.
//!
//! A read concatenates the region's bytes (read with `pread`, so they do
//! not join the process's resident set) and the tail. When the chunk is
//! closed, its tail is written behind those bytes if it fits the
//! region, and the chunk becomes a reference to that run of the segment at
//! once (moved to the compact list by the next pass); otherwise the whole
//! chunk is assembled on the heap again and leaves it through the
//! closed-chunk spill at the next pass. Either way a closed chunk is one
//! contiguous run in a segment.
//!
//! A chunk that outgrows its region keeps its further bytes on the heap; a
//! failed reservation or write leaves them there too. Nothing fails an
//! append: the segments stay a cache (the WAL holds every sample).

use std::io;
use std::sync::Arc;

use super::series::SeriesData;
use crate::chunk::{ChunkBytes, Segment, SpillDir, SAMPLES_PER_CHUNK};

/// Complete bytes an open chunk accumulates before they are written out.
pub(crate) const OPEN_SPILL_THRESHOLD: usize = 256;

/// The smallest region reserved for one open chunk.
const MIN_REGION: u32 = 256;

/// The largest region reserved for one open chunk.
const MAX_REGION: u32 = 8 << 10;

/// Where an open chunk's complete bytes go.
#[derive(Debug)]
pub(crate) struct Region {
    seg: Arc<Segment>,
    off: u32,
    cap: u32,
    /// Bytes written to the region (and dropped from the appender).
    written: u32,
    /// True once the chunk outgrew the region.
    full: bool,
}

/// Where an open chunk's complete bytes go in the tick's combined write
/// (see [`SeriesData::pending_open`]).
#[derive(Debug)]
pub(crate) struct PendingOpen {
    /// The region's segment.
    pub(crate) seg: Arc<Segment>,
    /// Offset of the first byte in the segment.
    pub(crate) at: u32,
    /// The number of bytes.
    pub(crate) n: u32,
}

/// What [`SeriesData::spill_open`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenSpill {
    /// Below the threshold, or no open chunk.
    Nothing,
    /// This many bytes went to the region.
    Written(usize),
    /// The chunk outgrew its region just now; its bytes stay on the heap.
    Overflowed,
    /// It had outgrown it before.
    StillFull,
}

impl Region {
    /// True once the chunk outgrew the region.
    pub(super) fn is_full(&self) -> bool {
        self.full
    }

    /// The bytes written so far.
    pub(super) fn read(&self) -> Vec<u8> {
        self.seg.read_copy(self.off, self.written)
    }

    /// Closes the chunk in the region: writes `tail` (the chunk's bytes
    /// after those already written) behind them and returns the whole
    /// chunk as bytes in the segment. `None` when the tail does not fit,
    /// the chunk had outgrown the region, the spill pass is rewriting part
    /// of the segment, or the write failed: the caller then assembles the
    /// chunk on the heap.
    pub(super) fn close_with(&self, tail: &[u8]) -> Option<ChunkBytes> {
        if self.full {
            return None;
        }
        let end = self.written as usize + tail.len();
        if end > self.cap as usize {
            return None;
        }
        // Not while the spill pass rewrites part of the segment (it would
        // write its earlier copy over these bytes): the heap path then.
        let _shared = self.seg.try_share()?;
        self.seg
            .write_at(tail, u64::from(self.off) + u64::from(self.written))
            .ok()?;
        Some(ChunkBytes::Mapped {
            seg: self.seg.clone(),
            off: self.off,
            len: end as u32,
        })
    }
}

impl SeriesData {
    /// Complete bytes of the open chunk still on the heap.
    fn open_complete(&self) -> usize {
        self.open
            .as_ref()
            .map_or(0, |(a, _)| a.complete_bytes().len())
    }

    /// Writes the open chunk's complete bytes to its region once there are
    /// at least `threshold` of them, reserving the region in `spill` first
    /// if the chunk has none. The bytes leave the heap only after their
    /// write returned; on an error they stay (and the error is returned).
    pub(crate) fn spill_open(
        &mut self,
        spill: &mut SpillDir,
        threshold: usize,
    ) -> io::Result<OpenSpill> {
        let n = self.open_complete();
        if n < threshold.max(1) {
            return Ok(OpenSpill::Nothing);
        }
        if let Err(outcome) = self.make_room(spill, n)? {
            return Ok(outcome);
        }
        let (Some((a, _)), Some(r)) = (&mut self.open, self.region.as_mut()) else {
            return Ok(OpenSpill::Nothing);
        };
        r.seg
            .write_at(a.complete_bytes(), u64::from(r.off) + u64::from(r.written))?;
        r.written += n as u32;
        a.drop_front(n);
        Ok(OpenSpill::Written(n))
    }

    /// Reserves a region for the open chunk if it has none and checks that
    /// `n` more bytes fit in it; `Err(outcome)` when they cannot be written
    /// (no open chunk, or the chunk outgrew its region: marked so now).
    fn make_room(&mut self, spill: &mut SpillDir, n: usize) -> io::Result<Result<(), OpenSpill>> {
        let prev_len = if self.region.is_none() {
            self.closed.newest_len()
        } else {
            None
        };
        let Some((a, _)) = &self.open else {
            return Ok(Err(OpenSpill::Nothing));
        };
        if self.region.is_none() {
            let cap = region_size(prev_len, n, a.num_samples());
            let (seg, off) = spill.reserve(cap)?;
            self.region = Some(Region {
                seg,
                off,
                cap,
                written: 0,
                full: false,
            });
        }
        let Some(r) = self.region.as_mut() else {
            return Ok(Err(OpenSpill::Nothing));
        };
        if r.full {
            return Ok(Err(OpenSpill::StillFull));
        }
        if r.written as usize + n > r.cap as usize {
            r.full = true;
            return Ok(Err(OpenSpill::Overflowed));
        }
        Ok(Ok(()))
    }

    /// For the tick's combined write (`spill.rs`): where all the open
    /// chunk's complete bytes go, reserving its region first if it has
    /// none and holds at least `min_new` of them. Nothing is written or
    /// dropped here: [`Self::copy_pending`] and [`Self::commit_pending`]
    /// do that, each under a later lock of the series.
    pub(crate) fn pending_open(
        &mut self,
        spill: &mut SpillDir,
        min_new: usize,
    ) -> io::Result<Result<PendingOpen, OpenSpill>> {
        let n = self.open_complete();
        let min = if self.region.is_some() {
            1
        } else {
            min_new.max(1)
        };
        if n < min {
            return Ok(Err(OpenSpill::Nothing));
        }
        if let Err(outcome) = self.make_room(spill, n)? {
            return Ok(Err(outcome));
        }
        match &self.region {
            Some(r) => Ok(Ok(PendingOpen {
                seg: r.seg.clone(),
                at: r.off + r.written,
                n: n as u32,
            })),
            None => Ok(Err(OpenSpill::Nothing)),
        }
    }

    /// True if the open chunk still has the `n` complete bytes that
    /// [`Self::pending_open`] said go at `at` in `seg` (not closed,
    /// truncated or written otherwise since).
    fn still_pending(&self, seg: &Arc<Segment>, at: u32, n: u32) -> bool {
        let Some(r) = &self.region else {
            return false;
        };
        !r.full
            && Arc::ptr_eq(&r.seg, seg)
            && r.off.checked_add(r.written) == Some(at)
            && r.written.saturating_add(n) <= r.cap
            && self.open_complete() >= n as usize
    }

    /// Copies the pending bytes into `out` (of length `n`) if they are
    /// still pending; false (and `out` untouched) otherwise.
    pub(crate) fn copy_pending(&self, seg: &Arc<Segment>, at: u32, out: &mut [u8]) -> bool {
        let n = out.len() as u32;
        if !self.still_pending(seg, at, n) {
            return false;
        }
        match &self.open {
            Some((a, _)) => match a.complete_bytes().get(..out.len()) {
                Some(b) => {
                    out.copy_from_slice(b);
                    true
                }
                None => false,
            },
            None => false,
        }
    }

    /// After the write of bytes [`Self::copy_pending`] copied returned:
    /// counts them as written and drops them from the heap. False if the
    /// chunk changed in between (they then stay, and are not referred to).
    pub(crate) fn commit_pending(&mut self, seg: &Arc<Segment>, at: u32, n: u32) -> bool {
        if !self.still_pending(seg, at, n) {
            return false;
        }
        let (Some((a, _)), Some(r)) = (&mut self.open, self.region.as_mut()) else {
            return false;
        };
        r.written += n;
        a.drop_front(n as usize);
        true
    }

    /// Bytes of the open chunk held in a region.
    #[cfg(test)]
    pub(crate) fn open_spilled_bytes(&self) -> usize {
        self.region.as_ref().map_or(0, |r| r.written as usize)
    }
}

/// The region for a chunk: a quarter more than the previous chunk of the
/// series, or than the chunk's own size projected from its first `n` bytes
/// of `num` samples, whichever is larger.
fn region_size(prev_len: Option<usize>, n: usize, num: u16) -> u32 {
    let projected = n * usize::from(SAMPLES_PER_CHUNK) / usize::from(num.max(1));
    let base = prev_len.unwrap_or(0).max(projected);
    let with_slack = base + base / 4 + 16;
    (with_slack.min(MAX_REGION as usize) as u32).max(threshold_floor())
}

fn threshold_floor() -> u32 {
    MIN_REGION
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::head::closed::SegTable;

    fn samples(d: &SeriesData) -> Vec<(i64, f64)> {
        d.snapshot(i64::MIN, i64::MAX, &SegTable::default())
            .iter()
            .flat_map(|c| c.samples())
            .collect()
    }

    #[test]
    fn region_sizes() {
        assert_eq!(region_size(Some(1000), 80, 10), 1266);
        assert_eq!(region_size(None, 80, 10), 1216);
        assert_eq!(region_size(None, 1, 120), threshold_floor());
        assert_eq!(region_size(Some(1 << 20), 80, 10), MAX_REGION);
    }

    #[test]
    fn open_bytes_leave_the_heap_and_read_the_same() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 1 << 16).unwrap();
        let mut with = SeriesData::default();
        let mut without = SeriesData::default();
        let mut written = 0;
        for i in 0..400i64 {
            let v = (i as f64 * 0.37).sin() * 1.234_567;
            with.append(i * 5_000, v, i64::MAX);
            without.append(i * 5_000, v, i64::MAX);
            if i % 3 == 0 {
                if let OpenSpill::Written(n) = with.spill_open(&mut sd, 64).unwrap() {
                    written += n;
                }
                assert_eq!(samples(&with), samples(&without), "after sample {i}");
            }
        }
        assert!(written > 2_000, "{written} bytes written");
        assert!(with.heap_bytes() < without.heap_bytes());
        assert!(with.open_spilled_bytes() > 0);
        assert_eq!(with.last(), without.last());
        // Truncation inside the open chunk rewrites it on the heap.
        let segs = SegTable::default();
        assert!(!with.truncate_before(1_950_000, &segs));
        assert!(!without.truncate_before(1_950_000, &segs));
        assert_eq!(with.open_spilled_bytes(), 0);
        assert_eq!(samples(&with), samples(&without));
    }

    #[test]
    fn a_chunk_closes_straight_into_its_region() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 1 << 16).unwrap();
        let mut d = SeriesData::default();
        let mut reference = SeriesData::default();
        // Two full chunks and a few samples of a third; the open bytes are
        // written every fourth sample.
        for i in 0..250i64 {
            let v = (i as f64 * 0.53).cos() * 7.654_321;
            d.append(i * 5_000, v, i64::MAX);
            reference.append(i * 5_000, v, i64::MAX);
            if i % 4 == 0 {
                d.spill_open(&mut sd, 64).unwrap();
            }
        }
        // Both closed chunks went into their regions: no heap bytes, the
        // wide form until the pass registers their segment.
        let wide = d.wide_segments();
        assert_eq!(wide.len(), 1, "one segment holds both");
        assert_eq!(samples(&d), samples(&reference));
        let mut segs = SegTable::default();
        let slots = segs.register_all(wide);
        assert_eq!(d.compact_wide(&slots), 2);
        assert!(d.wide_segments().is_empty());
        assert_eq!(d.num_spilled(), 2);
        let read = |d: &SeriesData| -> Vec<(i64, f64)> {
            d.snapshot(i64::MIN, i64::MAX, &segs)
                .iter()
                .flat_map(|c| c.samples())
                .collect()
        };
        assert_eq!(read(&d), samples(&reference));
        assert_eq!(d.last(), reference.last());
    }

    #[test]
    fn a_chunk_outgrowing_its_region_keeps_the_rest_on_the_heap() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 1 << 16).unwrap();
        let mut d = SeriesData::default();
        let mut reference = SeriesData::default();
        // A counter first (a small projection), then noise.
        let mut outcomes = Vec::new();
        for i in 0..120i64 {
            let v = if i < 60 {
                i as f64
            } else {
                (i as f64 * 0.77).cos() * 9.876_543
            };
            d.append(i * 1_000, v, i64::MAX);
            reference.append(i * 1_000, v, i64::MAX);
            outcomes.push(d.spill_open(&mut sd, 64).unwrap());
        }
        assert!(outcomes.iter().any(|o| matches!(o, OpenSpill::Written(_))));
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == OpenSpill::Overflowed)
                .count(),
            1
        );
        assert!(outcomes.contains(&OpenSpill::StillFull));
        assert_eq!(samples(&d), samples(&reference));
        // Closing the chunk assembles it whole on the heap.
        d.append(200_000, 1.0, i64::MAX);
        reference.append(200_000, 1.0, i64::MAX);
        assert_eq!(d.open_spilled_bytes(), 0);
        assert_eq!(samples(&d), samples(&reference));
    }

    #[test]
    fn a_failed_reservation_keeps_the_bytes_on_the_heap() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let mut sd = SpillDir::open_sized(&dir, 1 << 16).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let mut d = SeriesData::default();
        for i in 0..100i64 {
            d.append(i * 1_000, (i as f64).sqrt(), i64::MAX);
        }
        let before = samples(&d);
        assert!(d.spill_open(&mut sd, 64).is_err());
        assert_eq!(d.open_spilled_bytes(), 0);
        assert_eq!(samples(&d), before);
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(
            d.spill_open(&mut sd, 64).unwrap(),
            OpenSpill::Written(_)
        ));
        assert_eq!(samples(&d), before);
    }

    fn noisy(i: i64) -> f64 {
        (i as f64 * 0.61).sin() * 3.456_789
    }

    #[test]
    fn pending_bytes_leave_the_heap_only_once_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 1 << 16).unwrap();
        let mut d = SeriesData::default();
        let mut reference = SeriesData::default();
        for i in 0..3i64 {
            d.append(i * 5_000, noisy(i), i64::MAX);
            reference.append(i * 5_000, noisy(i), i64::MAX);
        }
        // Too few bytes for a new region.
        assert!(matches!(
            d.pending_open(&mut sd, 1_000).unwrap(),
            Err(OpenSpill::Nothing)
        ));
        for i in 3..60i64 {
            d.append(i * 5_000, noisy(i), i64::MAX);
            reference.append(i * 5_000, noisy(i), i64::MAX);
        }
        let heap_before = d.heap_bytes();
        let p = d.pending_open(&mut sd, 32).unwrap().unwrap();
        assert!(p.n >= 32 && p.n % 8 == 0, "{p:?}");
        let mut buf = vec![0u8; p.n as usize];
        assert!(d.copy_pending(&p.seg, p.at, &mut buf));
        // Not yet written: nothing is dropped, and a wrong place is refused.
        assert!(!d.copy_pending(&p.seg, p.at + 8, &mut buf));
        assert!(!d.commit_pending(&p.seg, p.at + 8, p.n));
        assert_eq!(d.open_spilled_bytes(), 0);
        assert_eq!(samples(&d), samples(&reference));
        p.seg.write_at(&buf, u64::from(p.at)).unwrap();
        assert!(d.commit_pending(&p.seg, p.at, p.n));
        assert_eq!(d.open_spilled_bytes(), p.n as usize);
        assert!(d.heap_bytes() <= heap_before);
        assert_eq!(samples(&d), samples(&reference));
        // Committing twice is refused (the bytes are no longer pending).
        assert!(!d.commit_pending(&p.seg, p.at, p.n));

        // Pending bytes of a chunk that closes before the commit stay
        // where the close put them.
        for i in 60..100i64 {
            d.append(i * 5_000, noisy(i), i64::MAX);
            reference.append(i * 5_000, noisy(i), i64::MAX);
        }
        let p = d.pending_open(&mut sd, 32).unwrap().unwrap();
        let mut buf = vec![0u8; p.n as usize];
        assert!(d.copy_pending(&p.seg, p.at, &mut buf));
        for i in 100..130i64 {
            d.append(i * 5_000, noisy(i), i64::MAX);
            reference.append(i * 5_000, noisy(i), i64::MAX);
        }
        p.seg.write_at(&buf, u64::from(p.at)).unwrap();
        assert!(!d.commit_pending(&p.seg, p.at, p.n));
        assert!(!d.copy_pending(&p.seg, p.at, &mut buf));
        assert_eq!(samples(&d), samples(&reference));
    }

    #[test]
    fn a_chunk_closing_while_its_segment_is_rewritten_goes_to_the_heap() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 1 << 16).unwrap();
        let mut d = SeriesData::default();
        let mut reference = SeriesData::default();
        for i in 0..120i64 {
            d.append(i * 5_000, noisy(i), i64::MAX);
            reference.append(i * 5_000, noisy(i), i64::MAX);
            if i % 10 == 9 {
                d.spill_open(&mut sd, 64).unwrap();
            }
        }
        assert!(d.open_spilled_bytes() > 0);
        let seg = d.region.as_ref().map(|r| r.seg.clone()).unwrap();
        {
            let _rewriting = seg.exclusive();
            // The close cannot write into the region now: the whole chunk
            // is assembled on the heap instead.
            d.append(120 * 5_000, 1.0, i64::MAX);
            reference.append(120 * 5_000, 1.0, i64::MAX);
        }
        assert!(d.wide_segments().is_empty());
        assert_eq!(d.heap_closed().count(), 1);
        assert_eq!(samples(&d), samples(&reference));
        // Without the rewrite the next chunk closes into its region again.
        for i in 121..241i64 {
            d.append(i * 5_000, noisy(i), i64::MAX);
            reference.append(i * 5_000, noisy(i), i64::MAX);
            if i % 10 == 9 {
                d.spill_open(&mut sd, 64).unwrap();
            }
        }
        assert_eq!(d.wide_segments().len(), 1);
        assert_eq!(samples(&d), samples(&reference));
    }
}
