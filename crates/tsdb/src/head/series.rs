//! One series in the head: its labels and its chunks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use promlite_model::{is_stale_nan, AppendError, Labels};

use super::closed::{ClosedChunks, SegTable};
use super::open::{Region, OPEN_SPILL_THRESHOLD};
use crate::chunk::{ChunkBytes, ChunkData, Segment, XorAppender, SAMPLES_PER_CHUNK};

/// A series held in memory.
///
/// In this field order (`repr(C)`, and the open chunk first in
/// [`SeriesData`]), everything a scrape's append and commit read (the
/// Arc's counts, the reference, the labels' pointer, the flags, the lock
/// and the open chunk's state) is in the first 144 bytes of the
/// allocation, which the three lines the append path prefetches always
/// cover (malloc aligns to 16 bytes). Rust's own order put the flags last,
/// on a fourth line that commit read for every sample without a prefetch.
#[derive(Debug)]
#[repr(C)]
pub struct MemSeries {
    /// The head's reference number (also used in the WAL).
    pub series_ref: u64,
    /// The labels.
    pub labels: Labels,
    /// Flags ([`LOGGED`], [`REMOVED`]) and, in the other bits, where the
    /// open chunk's next bytes go: a prefetch address for commit, set by
    /// commit after each append (never dereferenced).
    state: AtomicUsize,
    pub(crate) data: Mutex<SeriesData>,
}

/// In [`MemSeries`]' state: a `Series` record for it is in the WAL.
const LOGGED: usize = 1 << (usize::BITS - 1);
/// In [`MemSeries`]' state: truncation removed it from the head.
const REMOVED: usize = 1 << (usize::BITS - 2);
const FLAGS: usize = LOGGED | REMOVED;

/// The mutable part of a series. `repr(C)`: the open chunk first (see
/// [`MemSeries`]).
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct SeriesData {
    /// The chunk being appended to, with its first timestamp.
    pub(super) open: Option<(XorAppender, i64)>,
    /// Full chunks, oldest first.
    pub(super) closed: ClosedChunks,
    /// Where the open chunk's first bytes are, if they left the heap
    /// (`open.rs`); the appender then holds only what follows them.
    pub(super) region: Option<Region>,
    /// True while the series is in the head's queue for the next spill
    /// pass (`spill.rs`).
    pub(super) spill_queued: bool,
}

/// What appending a sample would do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Appendable {
    /// A new sample.
    Append,
    /// Identical to the newest sample (or a staleness marker on top of it): nothing to do.
    Skip,
}

impl MemSeries {
    pub(crate) fn new(series_ref: u64, labels: Labels) -> Arc<MemSeries> {
        Arc::new(MemSeries {
            series_ref,
            labels,
            state: AtomicUsize::new(0),
            data: Mutex::new(SeriesData::default()),
        })
    }

    /// True once a `Series` record for it is in the WAL.
    pub(crate) fn is_logged(&self) -> bool {
        self.state.load(Ordering::Acquire) & LOGGED != 0
    }

    /// Notes that its `Series` record is in the WAL.
    pub(crate) fn set_logged(&self) {
        self.state.fetch_or(LOGGED, Ordering::AcqRel);
    }

    /// True once truncation removed it from the head (appenders that
    /// staged samples for it then commit them to the live series of its
    /// labels).
    pub(crate) fn is_removed(&self) -> bool {
        self.state.load(Ordering::Acquire) & REMOVED != 0
    }

    /// Marks it removed (truncation, under the commit lock).
    pub(crate) fn set_removed(&self) {
        self.state.fetch_or(REMOVED, Ordering::AcqRel);
    }

    /// The open chunk's write position as of the last commit (a prefetch
    /// hint; possibly stale).
    pub(crate) fn tail_hint(&self) -> *const u8 {
        (self.state.load(Ordering::Relaxed) & !FLAGS) as *const u8
    }

    /// Records the open chunk's write position (commit, under the commit
    /// lock, which every other writer of the state also holds or precedes).
    pub(crate) fn set_tail_hint(&self, p: *const u8) {
        let flags = self.state.load(Ordering::Relaxed) & FLAGS;
        self.state
            .store(flags | (p as usize & !FLAGS), Ordering::Relaxed);
    }
}

/// Whether `(t, v)` can follow the newest sample `last`.
pub(crate) fn check_append(
    last: Option<(i64, u64)>,
    t: i64,
    v: f64,
) -> Result<Appendable, AppendError> {
    let Some((lt, lv)) = last else {
        return Ok(Appendable::Append);
    };
    if t > lt {
        return Ok(Appendable::Append);
    }
    if t < lt {
        return Err(AppendError::OutOfOrder);
    }
    if lv == v.to_bits() || is_stale_nan(v) {
        return Ok(Appendable::Skip);
    }
    Err(AppendError::Duplicate)
}

impl SeriesData {
    /// The newest sample `(t, value bits)`.
    ///
    /// The open chunk holds it whenever a full chunk exists (a chunk is
    /// closed only to open the next one with a sample; truncation that
    /// empties the open chunk drops every older chunk; deletion re-appends).
    /// Should the newest sample ever be in a full chunk, that chunk is in
    /// the heap list: the spill pass leaves the newest full chunk of a
    /// series without open samples alone. Its bytes are on the heap, or in
    /// the region it closed into (`open.rs`), read through the map.
    pub(crate) fn last(&self) -> Option<(i64, u64)> {
        match &self.open {
            Some((a, _)) if a.num_samples() > 0 => Some((a.last_t(), a.last_v_bits())),
            _ => match self.closed.newest_on_heap() {
                Some(c) => c.samples().last().map(|&(t, v)| (t, v.to_bits())),
                // Unreachable by the above; the time alone keeps the order.
                None => self.closed.last_maxt().map(|t| (t, f64::NAN.to_bits())),
            },
        }
    }

    /// True if the open chunk holds a sample.
    fn open_has_samples(&self) -> bool {
        self.open.as_ref().is_some_and(|(a, _)| a.num_samples() > 0)
    }

    /// Where the open chunk's next bytes go, as a prefetch hint; null
    /// without an open chunk.
    pub(crate) fn tail_hint(&self) -> *const u8 {
        match &self.open {
            Some((a, _)) => a.next_write_ptr(),
            None => std::ptr::null(),
        }
    }

    /// Oldest and newest timestamps, if any sample is held.
    pub(crate) fn time_range(&self) -> Option<(i64, i64)> {
        let min = self.closed.first_mint().or(self
            .open
            .as_ref()
            .filter(|(a, _)| a.num_samples() > 0)
            .map(|(_, m)| *m))?;
        let max = match &self.open {
            Some((a, _)) if a.num_samples() > 0 => a.last_t(),
            _ => self.closed.last_maxt()?,
        };
        Some((min, max))
    }

    /// Number of chunks (closed plus the open one).
    pub(crate) fn num_chunks(&self) -> usize {
        self.closed.len() + usize::from(self.open_has_samples())
    }

    /// Appends a sample already checked with [`check_append`]. A new chunk is
    /// cut after [`SAMPLES_PER_CHUNK`] samples or when `t` crosses the next
    /// multiple of `chunk_range`, so chunks never straddle block boundaries.
    ///
    /// Returns true when a spill pass has work for the series now: a chunk
    /// was closed, or the open chunk holds enough complete bytes to write
    /// to its region ([`OPEN_SPILL_THRESHOLD`]).
    pub(crate) fn append(&mut self, t: i64, v: f64, chunk_range: i64) -> bool {
        let cut = match &self.open {
            None => true,
            Some((a, mint)) => {
                a.num_samples() >= SAMPLES_PER_CHUNK || t >= range_end(*mint, chunk_range)
            }
        };
        let mut closed = false;
        if cut {
            closed = self.open_has_samples();
            self.close_open();
            self.open = Some((XorAppender::new(), t));
        }
        let Some((a, _)) = &mut self.open else {
            return closed;
        };
        a.append(t, v);
        closed
            || (a.complete_bytes().len() >= OPEN_SPILL_THRESHOLD
                && !self.region.as_ref().is_some_and(Region::is_full))
    }

    fn close_open(&mut self) {
        let region = self.region.take();
        if let Some((a, mint)) = self.open.take() {
            if a.num_samples() > 0 {
                let maxt = a.last_t();
                let num = a.num_samples();
                let tail = a.into_bytes();
                // Straight into its region when the rest fits; else the
                // whole chunk on the heap, for the closed-chunk spill.
                let data = match region.as_ref().and_then(|r| r.close_with(&tail)) {
                    Some(mapped) => mapped,
                    None => {
                        let mut bytes = region.as_ref().map(Region::read).unwrap_or_default();
                        bytes.extend_from_slice(&tail);
                        ChunkBytes::from(bytes)
                    }
                };
                self.closed.push(ChunkData {
                    data,
                    num,
                    mint,
                    maxt,
                });
            }
        }
    }

    /// The chunks overlapping `[mint, maxt]`; the open chunk is copied,
    /// spilled chunks resolved through `segs`.
    pub(crate) fn snapshot(&self, mint: i64, maxt: i64, segs: &SegTable) -> Vec<ChunkData> {
        let mut out = Vec::new();
        self.closed.snapshot(mint, maxt, segs, &mut out);
        if let Some((a, cmint)) = &self.open {
            if a.num_samples() > 0 && a.last_t() >= mint && *cmint <= maxt {
                out.push(ChunkData {
                    data: ChunkBytes::from(self.open_bytes(a)),
                    num: a.num_samples(),
                    mint: *cmint,
                    maxt: a.last_t(),
                });
            }
        }
        out
    }

    /// All the bytes of the open chunk `a`: its region's, then its own.
    fn open_bytes(&self, a: &XorAppender) -> Vec<u8> {
        let mut out = self.region.as_ref().map(Region::read).unwrap_or_default();
        out.extend_from_slice(&a.to_bytes());
        out
    }

    /// Drops samples older than `mint` (spilled chunks read through
    /// `segs`). Returns true if nothing is left.
    pub(crate) fn truncate_before(&mut self, mint: i64, segs: &SegTable) -> bool {
        self.closed.truncate_before(mint, segs);
        if let Some((a, cmint)) = &self.open {
            if a.num_samples() > 0 && *cmint < mint {
                let all = ChunkData {
                    data: ChunkBytes::from(self.open_bytes(a)),
                    num: a.num_samples(),
                    mint: *cmint,
                    maxt: a.last_t(),
                };
                let kept: Vec<(i64, f64)> =
                    all.samples().into_iter().filter(|s| s.0 >= mint).collect();
                self.region = None;
                if kept.is_empty() {
                    self.open = None;
                } else {
                    let mut na = XorAppender::new();
                    for &(t, v) in &kept {
                        na.append(t, v);
                    }
                    self.open = Some((na, kept[0].0));
                }
            }
        }
        self.closed.is_empty() && !self.open_has_samples()
    }

    /// The closed chunks whose bytes are still on the heap, except the
    /// newest one while the open chunk is empty (see [`Self::last`]).
    pub(crate) fn heap_closed(&self) -> impl Iterator<Item = &Arc<[u8]>> {
        self.closed.unspilled(!self.open_has_samples())
    }

    /// Segments of closed chunks that went straight into their region and
    /// are not in the compact list yet (see [`ClosedChunks::wide_segments`]).
    pub(crate) fn wide_segments(&self) -> Vec<Arc<Segment>> {
        self.closed.wide_segments(!self.open_has_samples())
    }

    /// Moves those chunks to the compact list (see
    /// [`ClosedChunks::compact_wide`]).
    pub(crate) fn compact_wide(&mut self, slots: &[(Arc<Segment>, u16)]) -> usize {
        let keep_newest = !self.open_has_samples();
        self.closed.compact_wide(slots, keep_newest)
    }

    /// Number of closed chunks whose bytes are in a spill segment.
    pub(crate) fn num_spilled(&self) -> usize {
        self.closed.num_spilled()
    }

    /// Points the closed chunk whose heap bytes are `heap` at their copy at
    /// `off` in `seg` (table slot `slot`), releasing the heap copy once no
    /// query holds it. False if the chunk is gone (truncated or rewritten
    /// meanwhile).
    pub(crate) fn replace_heap(
        &mut self,
        heap: &Arc<[u8]>,
        slot: Option<u16>,
        seg: &Arc<Segment>,
        off: u32,
    ) -> bool {
        self.closed.replace_heap(heap, slot, seg, off)
    }

    /// Sets the flag of every segment table slot a chunk refers to.
    pub(crate) fn mark_used(&self, used: &mut [bool]) {
        self.closed.mark_used(used);
    }

    /// Approximate heap bytes of the chunk data (spilled chunks count only
    /// their reference).
    pub(crate) fn heap_bytes(&self) -> usize {
        let open = self.open.as_ref().map(|(a, _)| a.capacity()).unwrap_or(0);
        self.closed.heap_bytes() + open
    }
}

/// A closed chunk holding `samples` (non-empty, sorted).
pub(super) fn encode(samples: &[(i64, f64)]) -> ChunkData {
    let mut a = XorAppender::new();
    for &(t, v) in samples {
        a.append(t, v);
    }
    let mint = samples.first().map(|s| s.0).unwrap_or(0);
    let maxt = a.last_t();
    let num = a.num_samples();
    ChunkData {
        data: ChunkBytes::from(a.into_bytes()),
        num,
        mint,
        maxt,
    }
}

/// The end (exclusive) of the `chunk_range`-aligned window holding `t`.
pub(crate) fn range_end(t: i64, chunk_range: i64) -> i64 {
    if chunk_range <= 0 {
        return i64::MAX;
    }
    t.div_euclid(chunk_range)
        .saturating_add(1)
        .saturating_mul(chunk_range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &SeriesData) -> Vec<(i64, f64)> {
        d.snapshot(i64::MIN, i64::MAX, &SegTable::default())
            .iter()
            .flat_map(|c| c.samples())
            .collect()
    }

    #[test]
    fn chunks_cut_by_count_and_range() {
        let mut d = SeriesData::default();
        for i in 0..300 {
            d.append(i * 10, i as f64, 1_000_000);
        }
        assert_eq!(d.num_chunks(), 3);
        let mut d2 = SeriesData::default();
        for i in 0..30 {
            d2.append(i * 100, i as f64, 1000);
        }
        // A chunk per 1000 ms window.
        assert_eq!(d2.num_chunks(), 3);
        assert_eq!(all(&d2).len(), 30);
        assert_eq!(d2.time_range(), Some((0, 2900)));
        assert_eq!(d2.last(), Some((2900, 29f64.to_bits())));
    }

    #[test]
    fn truncation_keeps_newer_samples() {
        let mut d = SeriesData::default();
        for i in 0..250 {
            d.append(i * 10, i as f64, 1_000_000);
        }
        let segs = SegTable::default();
        assert!(!d.truncate_before(1205, &segs));
        let got = all(&d);
        assert_eq!(got.first(), Some(&(1210, 121.0)));
        assert_eq!(got.len(), 250 - 121);
        assert!(!d.truncate_before(2485, &segs));
        assert_eq!(all(&d), vec![(2490, 249.0)]);
        assert!(d.truncate_before(5000, &segs));
        assert_eq!(d.time_range(), None);
    }

    #[test]
    fn what_append_and_commit_read_is_in_the_first_144_bytes() {
        use std::mem::{offset_of, size_of};
        // The Arc's two counts come first in the allocation.
        let data = 16 + offset_of!(MemSeries, data);
        assert!(16 + offset_of!(MemSeries, state) < 64);
        assert!(data < 64, "the lock");
        let open_end =
            data + 8 + offset_of!(SeriesData, open) + size_of::<Option<(XorAppender, i64)>>();
        assert!(open_end <= 144, "the open chunk ends at {open_end}");
    }

    #[test]
    fn append_checks() {
        assert_eq!(check_append(None, 5, 1.0), Ok(Appendable::Append));
        let last = Some((10, 1f64.to_bits()));
        assert_eq!(check_append(last, 9, 1.0), Err(AppendError::OutOfOrder));
        assert_eq!(check_append(last, 10, 2.0), Err(AppendError::Duplicate));
        assert_eq!(check_append(last, 10, 1.0), Ok(Appendable::Skip));
        assert_eq!(
            check_append(last, 10, promlite_model::STALE_NAN),
            Ok(Appendable::Skip)
        );
        assert_eq!(check_append(last, 11, 2.0), Ok(Appendable::Append));
    }
}
