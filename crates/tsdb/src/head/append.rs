//! Appending to the head: validate and stage, then commit through the WAL.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use promlite_model::{AppendError, Appender, Labels, SeriesRef, StorageError};

use super::hot::{Era, HotSlot};
use super::series::{check_append, Appendable, MemSeries};
use super::Head;
use crate::record::{encode_samples, encode_series, RefSample, RefSeries};
use crate::wal::Wal;

/// Hasher for series references (small sequential integers): one
/// multiplication spreads them over the table, instead of SipHash.
#[derive(Default, Clone, Copy)]
pub(crate) struct RefHasher(u64);

impl Hasher for RefHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Map keyed by series reference.
pub(crate) type RefMap<V> = HashMap<u64, V, BuildHasherDefault<RefHasher>>;

/// Label-set equality; `Labels`' `==` checks for one shared allocation
/// first, which is the common case (the scraper passes the very `Labels` the
/// series was created with).
pub(crate) fn same_labels(a: &Labels, b: &Labels) -> bool {
    a == b
}

/// Rejected samples by kind (for the stats page and the scraper's metrics).
#[derive(Debug, Default)]
pub struct AppendCounters {
    /// Samples older than their series' newest sample.
    pub out_of_order: AtomicU64,
    /// Same timestamp as the newest sample, different value.
    pub duplicate: AtomicU64,
    /// Older than the head accepts.
    pub out_of_bounds: AtomicU64,
    /// New series refused by the series limit.
    pub series_limit: AtomicU64,
    /// Samples appended (committed).
    pub appended: AtomicU64,
}

impl AppendCounters {
    fn count(&self, e: &AppendError) {
        let c = match e {
            AppendError::OutOfOrder => &self.out_of_order,
            AppendError::Duplicate => &self.duplicate,
            AppendError::OutOfBounds | AppendError::TooOld => &self.out_of_bounds,
            AppendError::SeriesLimit { .. } => &self.series_limit,
            _ => return,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// A batch of samples for the head. Created by [`crate::Db::appender`].
///
/// `append` checks each sample against the head (and the batch so far) and
/// rejects it with a typed error; `commit` writes the batch to the WAL and
/// only then makes it visible. With `sync` set, commit then waits for an
/// fsync covering the batch (shared with concurrent commits) before it
/// returns; an fsync failure is returned as an error.
///
/// Per sample, `append` reads only the series' slot in the head's hot
/// table (`hot.rs`): no lock, no reference count, no load from the series
/// itself. It stages the series by address, which the era it holds keeps
/// valid, and asks the CPU for the series' lines; commit is where the
/// series' memory is touched, by then mostly in the cache (and the open
/// chunks' tails are prefetched a few samples ahead).
pub struct HeadAppender {
    head: Arc<Head>,
    wal: Arc<Wal>,
    sync: bool,
    closed: Arc<AtomicBool>,
    /// Held while samples are staged (see `hot.rs`).
    era: Option<Arc<Era>>,
    staged: Vec<Staged>,
    /// Newest staged sample per series ref.
    latest: RefMap<(i64, u64)>,
    /// Encoding buffers for commit.
    samples: Vec<RefSample>,
    samples_rec: Vec<u8>,
}

/// A staged sample.
#[derive(Debug)]
struct Staged {
    series: SeriesPtr,
    /// The series' slot in the hot table, if it has one.
    slot: SlotPtr,
    series_ref: u64,
    t: i64,
    v: f64,
}

/// A series by address: valid while the appender holds the era it was
/// found in (removed series are retired into it or a later era).
#[derive(Debug, Clone, Copy)]
struct SeriesPtr(NonNull<MemSeries>);

/// A slot by address (null: none), valid as [`SeriesPtr`].
#[derive(Debug, Clone, Copy)]
struct SlotPtr(*const HotSlot);

// SAFETY: both point at `Sync` data (a `MemSeries`, a slot of atomics)
// kept alive by the era the appender holds, whichever thread it is on.
unsafe impl Send for SeriesPtr {}
unsafe impl Send for SlotPtr {}

impl Staged {
    fn series(&self) -> &MemSeries {
        // SAFETY: see `SeriesPtr`; only called while the era is held.
        unsafe { self.series.0.as_ref() }
    }

    fn slot(&self) -> Option<&HotSlot> {
        // SAFETY: as `series`.
        unsafe { self.slot.0.as_ref() }
    }

    /// True if truncation removed the series since it was staged.
    fn removed(&self) -> bool {
        match self.slot() {
            Some(slot) => slot.holds(self.series.0.as_ptr()).is_none(),
            None => self.series().is_removed(),
        }
    }

    /// True if the series' `Series` record is in the WAL.
    fn logged(&self) -> bool {
        let by_slot = self
            .slot()
            .and_then(|slot| slot.holds(self.series.0.as_ptr()))
            .unwrap_or(false);
        by_slot || self.series().is_logged()
    }
}

/// How many staged samples ahead commit prefetches the series' lines, and
/// (once those are in) the open chunk's tail.
const SERIES_AHEAD: usize = 16;
const TAIL_AHEAD: usize = 8;

/// The buffers of a finished appender, kept by the head for the next one so
/// a scrape's batch does not grow its vectors and maps from empty again.
#[derive(Debug, Default)]
pub(crate) struct SpareBuffers {
    staged: Vec<Staged>,
    latest: RefMap<(i64, u64)>,
    samples: Vec<RefSample>,
    samples_rec: Vec<u8>,
}

/// Most spare buffer sets the head keeps, and the largest batch (in samples)
/// whose buffers are kept.
const MAX_SPARE: usize = 8;
const MAX_SPARE_SAMPLES: usize = 1 << 16;

impl Drop for HeadAppender {
    fn drop(&mut self) {
        self.staged.clear();
        self.era = None;
        if self.staged.capacity() > MAX_SPARE_SAMPLES {
            return;
        }
        self.latest.clear();
        self.samples.clear();
        self.samples_rec.clear();
        let buffers = SpareBuffers {
            staged: std::mem::take(&mut self.staged),
            latest: std::mem::take(&mut self.latest),
            samples: std::mem::take(&mut self.samples),
            samples_rec: std::mem::take(&mut self.samples_rec),
        };
        let mut spare = self.head.spare.lock();
        if spare.len() < MAX_SPARE {
            spare.push(buffers);
        }
    }
}

impl HeadAppender {
    /// A new batch writing to `wal` (fsync per commit if `sync`). Commits
    /// fail with [`StorageError::Closed`] once `closed` is set.
    pub fn new(head: Arc<Head>, wal: Arc<Wal>, sync: bool, closed: Arc<AtomicBool>) -> Self {
        let b = head.spare.lock().pop().unwrap_or_default();
        HeadAppender {
            head,
            wal,
            sync,
            closed,
            era: None,
            staged: b.staged,
            latest: b.latest,
            samples: b.samples,
            samples_rec: b.samples_rec,
        }
    }

    fn append_inner(
        &mut self,
        hint: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        if t < self.head.min_valid_time() {
            return Err(AppendError::OutOfBounds);
        }
        if self.era.is_none() {
            self.era = Some(self.head.hot.pin());
        }
        // SAFETY: the era is held until the staged samples are gone.
        let found = hint.and_then(|r| unsafe { self.head.hot.find(r.0, labels) });
        let (series, slot, r) = match (found, hint) {
            (Some((p, slot)), Some(r)) => {
                // Commit will touch the series: ask for its lines now, so
                // they arrive while the rest of the scrape is parsed.
                prefetch_series(p.as_ptr());
                (SeriesPtr(p), SlotPtr(slot), r.0)
            }
            _ => self.resolve(hint, labels)?,
        };
        let staged = Staged {
            series,
            slot,
            series_ref: r,
            t,
            v,
        };
        // One probe of the batch's map: the entry is filled in place.
        match self.latest.entry(r) {
            Entry::Occupied(mut e) => {
                if check_append(Some(*e.get()), t, v)? == Appendable::Append {
                    e.insert((t, v.to_bits()));
                    self.staged.push(staged);
                }
            }
            Entry::Vacant(e) => {
                let verdict = match staged.slot() {
                    Some(slot) if t > slot.last_t.load(Ordering::Acquire) => Appendable::Append,
                    // Not newer than the slot says: the series' data decides.
                    _ => check_append(staged.series().data.lock().last(), t, v)?,
                };
                if verdict == Appendable::Append {
                    e.insert((t, v.to_bits()));
                    self.staged.push(staged);
                }
            }
        }
        Ok(SeriesRef(r))
    }

    /// The series for `labels` without a usable hint: by reference through
    /// the locked index, else by labels (created if new).
    fn resolve(
        &self,
        hint: Option<SeriesRef>,
        labels: &Labels,
    ) -> Result<(SeriesPtr, SlotPtr, u64), AppendError> {
        let hinted = hint
            .and_then(|r| self.head.series_by_ref(r.0))
            .filter(|s| same_labels(&s.labels, labels));
        let s = match hinted {
            Some(s) => s,
            None => self.head.get_or_create(labels, None)?.0,
        };
        Ok(self.head.staged_ptrs(&s))
    }
}

impl Head {
    /// The address of `s` and of its slot. `s` was in the index after the
    /// caller's era was pinned, so a removal retires it into that era or a
    /// later one: the address stays valid while the era is held.
    fn staged_ptrs(&self, s: &Arc<MemSeries>) -> (SeriesPtr, SlotPtr, u64) {
        // SAFETY: see above; the slot is used only while the era is held.
        let slot = unsafe { self.hot.slot(s.series_ref) }
            .filter(|slot| slot.holds(Arc::as_ptr(s)).is_some())
            .map_or(std::ptr::null(), |slot| slot as *const HotSlot);
        (
            SeriesPtr(NonNull::from(s.as_ref())),
            SlotPtr(slot),
            s.series_ref,
        )
    }
}

impl Appender for HeadAppender {
    fn append(
        &mut self,
        series: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        let res = self.append_inner(series, labels, t, v);
        if let Err(e) = &res {
            self.head.counters.count(e);
        }
        res
    }

    fn prefetch(&self, series: SeriesRef) {
        self.head.hot.prefetch(series.0);
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        let mut staged = std::mem::take(&mut self.staged);
        self.latest.clear();
        let res = self.commit_staged(&mut staged);
        staged.clear();
        self.staged = staged;
        self.era = None;
        res
    }

    fn rollback(&mut self) {
        self.staged.clear();
        self.latest.clear();
        self.era = None;
    }
}

impl HeadAppender {
    /// Encodes the samples record of `staged` into `samples_rec`.
    fn encode(&mut self, staged: &[Staged]) {
        self.samples.clear();
        self.samples.extend(staged.iter().map(|s| RefSample {
            series_ref: s.series_ref,
            t: s.t,
            v: s.v,
        }));
        self.samples_rec.clear();
        encode_samples(&self.samples, &mut self.samples_rec);
    }

    /// Points samples staged for series that truncation removed since at
    /// the live series of the same labels (created again if need be); a
    /// sample whose series cannot be created is dropped and counted. Runs
    /// under the commit lock, which truncation takes.
    fn restage_removed(&self, staged: &mut Vec<Staged>) {
        staged.retain_mut(|st| {
            if !st.removed() {
                return true;
            }
            let labels = st.series().labels.clone();
            match self.head.get_or_create(&labels, None) {
                Ok((s, _)) => {
                    (st.series, st.slot, st.series_ref) = self.head.staged_ptrs(&s);
                    true
                }
                Err(e) => {
                    self.head.counters.count(&e);
                    false
                }
            }
        });
    }

    fn commit_staged(&mut self, staged: &mut Vec<Staged>) -> Result<(), StorageError> {
        if staged.is_empty() {
            return Ok(());
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        // The samples record does not depend on the log's state: encode it
        // before taking the locks.
        self.encode(staged);
        let head = self.head.clone();
        let wal_handle = self.wal.clone();
        let commits = head.commit_lock.lock();
        let mut wal = wal_handle.lock();
        if staged.iter().any(Staged::removed) {
            self.restage_removed(staged);
            self.encode(staged);
            if staged.is_empty() {
                return Ok(());
            }
        }
        // Series records for series no commit has logged yet (whoever
        // created them). The slots say so for all but new series.
        let mut new_series: Vec<RefSeries> = Vec::new();
        let mut new_staged: Vec<usize> = Vec::new();
        let mut seen: HashSet<u64, BuildHasherDefault<RefHasher>> = HashSet::default();
        for (i, st) in staged.iter().enumerate() {
            if !st.logged() && seen.insert(st.series_ref) {
                new_series.push(RefSeries {
                    series_ref: st.series_ref,
                    labels: st.series().labels.clone(),
                });
                new_staged.push(i);
            }
        }
        let mut series_rec = Vec::new();
        let written = if new_series.is_empty() {
            wal.log(&[&self.samples_rec])
        } else {
            encode_series(&new_series, &mut series_rec);
            wal.log(&[&series_rec, &self.samples_rec])
        };
        let written = written.map_err(|e| StorageError::Io(format!("write to WAL: {e}")))?;
        for st in new_staged.iter().filter_map(|&i| staged.get(i)) {
            st.series().set_logged();
            if let Some(slot) = st.slot() {
                slot.set_logged();
            }
        }
        // Apply under the commit lock, so the head sees batches in WAL order.
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        let mut applied = 0u64;
        let floor = self.head.floor();
        let isolation = self.head.isolation.write();
        for (i, st) in staged.iter().enumerate() {
            if let Some(next) = staged.get(i + SERIES_AHEAD) {
                prefetch_series(next.series.0.as_ptr());
            }
            if let Some(next) = staged.get(i + TAIL_AHEAD) {
                let tail = next.series().tail_hint();
                if !tail.is_null() {
                    super::prefetch::prefetch_lines(tail, 1);
                }
            }
            let (t, v) = (st.t, st.v);
            if t < floor {
                // The head was cut past this sample while it was staged;
                // replay drops it the same way.
                self.head
                    .counters
                    .out_of_bounds
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let s = st.series();
            let mut d = s.data.lock();
            match check_append(d.last(), t, v) {
                Ok(Appendable::Append) => {
                    if d.append(t, v, self.head.chunk_range) {
                        self.head.queue_for_spill(s, &mut d);
                    }
                    s.set_tail_hint(d.tail_hint());
                    if let Some(slot) = st.slot() {
                        slot.last_t.store(t, Ordering::Release);
                    }
                    mint = mint.min(t);
                    maxt = maxt.max(t);
                    applied += 1;
                }
                Ok(Appendable::Skip) => {}
                // Another batch for this series committed a newer sample
                // after this one was staged; replay drops it the same way.
                Err(e) => self.head.counters.count(&e),
            }
        }
        if applied > 0 {
            self.head.update_time_range(mint, maxt);
        }
        drop(isolation);
        drop(wal);
        drop(commits);
        if self.sync {
            // Group commit: one fsync covers every batch written before it.
            self.wal
                .sync_to(written)
                .map_err(|e| StorageError::Io(format!("fsync WAL: {e}")))?;
        }
        self.head
            .counters
            .appended
            .fetch_add(applied, Ordering::Relaxed);
        Ok(())
    }
}

/// Prefetches what commit reads of a series: from its state word to the
/// end of the open chunk's encoder (`MemSeries` is `repr(C)`; see the
/// layout test in `series.rs`).
#[inline(always)]
fn prefetch_series(p: *const MemSeries) {
    let p = p.cast::<u8>();
    super::prefetch::prefetch_lines(p.wrapping_add(24), 2);
    super::prefetch::prefetch_lines(p.wrapping_add(127), 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    #[test]
    fn same_labels_by_pointer_or_content() {
        let a = labels!("__name__" => "up", "job" => "a");
        let same_alloc = a.clone();
        let equal = labels!("__name__" => "up", "job" => "a");
        let other = labels!("__name__" => "up", "job" => "b");
        assert!(same_labels(&a, &same_alloc));
        assert!(same_labels(&a, &equal));
        assert!(!same_labels(&a, &other));
        assert!(same_labels(&Labels::empty(), &Labels::empty()));
    }

    #[test]
    fn spare_buffers_are_reused_and_hold_no_series() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Arc::new(Wal::open(dir.path(), 1 << 20).unwrap());
        let head = Arc::new(Head::new(1_000_000, 0));
        let closed = Arc::new(AtomicBool::new(false));
        let new_app = || HeadAppender::new(head.clone(), wal.clone(), false, closed.clone());
        let mut app = new_app();
        for i in 0..100 {
            let l = labels!("__name__" => "m", "i" => &i.to_string());
            app.append(None, &l, 1_000, 1.0).unwrap();
        }
        app.commit().unwrap();
        drop(app);
        assert_eq!(head.spare.lock().len(), 1);
        let app = new_app();
        assert!(app.staged.capacity() >= 100, "buffers came back");
        assert!(app.staged.is_empty() && app.latest.is_empty());
        drop(app);
        // The spare buffers hold no series: truncation can remove them all.
        assert_eq!(head.truncate(2_000), 100);
        assert_eq!(head.num_series(), 0);
    }
}
