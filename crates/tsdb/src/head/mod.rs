//! The head: the most recent data, in memory, compressed in XOR chunks.
//!
//! * [`Head`] — series in lock stripes by label hash and in the hot table
//!   by reference (`hot.rs`, also what appends read per sample), a
//!   postings index for selection, the time range held.
//! * [`HeadAppender`] (`append.rs`) — validates and stages samples; its
//!   commit writes the WAL first, then makes the batch visible.
//! * [`HeadQuerier`] (`read.rs`) — the head as a [`promlite_model::Querier`].
//! * [`HeadStats`] (`stats.rs`) — numbers for `/api/v1/status/tsdb`.
//! * [`Head::spill_closed_chunks`] (`spill.rs`) — full chunks out of the
//!   heap into spill segments ([`crate::chunk::SpillDir`]); `closed.rs`
//!   keeps a series' full chunks as 16-byte references into them.
//!
//! Lock order: the segment table's lock is taken before any series lock
//! (never while one is held); its write side is taken only by the spill
//! pass and the segment sweep, which hold no series lock then.

mod append;
mod closed;
mod delete;
mod hot;
mod open;
mod postings;
mod prefetch;
mod read;
mod series;
mod spill;
mod stats;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use promlite_model::{AppendError, Labels};

use append::SpareBuffers;
pub use append::{AppendCounters, HeadAppender};
use closed::SegTable;
pub(crate) use read::check_matchers;
pub use read::{HeadQuerier, HeadSeries};
pub use series::MemSeries;
pub use spill::SpillReport;
pub use stats::{HeadStats, NameCount};

use hot::{HotTable, Retired};
use postings::Postings;

/// Number of lock stripes; a power of two.
const STRIPES: usize = 128;

type HashStripe = RwLock<HashMap<u64, SameHash>>;

/// The series of one label hash: almost always one, so without a `Vec`.
#[derive(Debug)]
enum SameHash {
    One(Arc<MemSeries>),
    Many(Vec<Arc<MemSeries>>),
}

impl SameHash {
    fn as_slice(&self) -> &[Arc<MemSeries>] {
        match self {
            SameHash::One(s) => std::slice::from_ref(s),
            SameHash::Many(v) => v,
        }
    }

    fn find(&self, labels: &Labels) -> Option<&Arc<MemSeries>> {
        self.as_slice()
            .iter()
            .find(|s| append::same_labels(&s.labels, labels))
    }

    fn push(&mut self, s: Arc<MemSeries>) {
        match self {
            SameHash::One(first) => *self = SameHash::Many(vec![first.clone(), s]),
            SameHash::Many(v) => v.push(s),
        }
    }

    /// Keeps the series `keep` accepts; returns false when none is left.
    fn retain(&mut self, mut keep: impl FnMut(&Arc<MemSeries>) -> bool) -> bool {
        match self {
            SameHash::One(s) => keep(s),
            SameHash::Many(v) => {
                v.retain(|s| keep(s));
                if v.len() == 1 {
                    if let Some(s) = v.pop() {
                        *self = SameHash::One(s);
                    }
                    return true;
                }
                !v.is_empty()
            }
        }
    }
}

/// The in-memory part of the database.
#[derive(Debug)]
pub struct Head {
    by_hash: Box<[HashStripe]>,
    /// Series by reference, with what appends read per sample (`hot.rs`).
    hot: HotTable,
    postings: RwLock<Postings>,
    next_ref: AtomicU64,
    num_series: AtomicUsize,
    min_time: AtomicI64,
    max_time: AtomicI64,
    /// Samples older than this are out of bounds (set by truncation).
    min_valid_time: AtomicI64,
    chunk_range: i64,
    max_series: usize,
    pub(crate) counters: AppendCounters,
    /// Serialises commits with the WAL order (see `append.rs`).
    pub(crate) commit_lock: Mutex<()>,
    /// Isolation: a commit applies its batch under the write side, a select
    /// snapshots series under the read side, so no query sees half a batch.
    pub(crate) isolation: RwLock<()>,
    /// Buffers of finished appenders, for the next ones.
    spare: Mutex<Vec<SpareBuffers>>,
    /// The spill segments spilled chunks refer to (by slot).
    segments: RwLock<SegTable>,
    /// Held by a spill pass and by the segment sweep: a sweep must not
    /// drop a segment a pass is pointing chunks at. Holds the pass's spare
    /// list for swapping with `spill_due`.
    spill_pass: Mutex<Vec<Arc<MemSeries>>>,
    /// Series commits queued for the next spill pass (`spill.rs`).
    spill_due: Mutex<spill::DueList>,
}

impl Head {
    /// An empty head. `chunk_range` is the block range in ms (chunks never
    /// straddle its multiples); `max_series` caps the series count (0 = no cap).
    pub fn new(chunk_range: i64, max_series: usize) -> Head {
        Head {
            by_hash: (0..STRIPES).map(|_| RwLock::new(HashMap::new())).collect(),
            hot: HotTable::default(),
            postings: RwLock::new(Postings::default()),
            next_ref: AtomicU64::new(1),
            num_series: AtomicUsize::new(0),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            chunk_range: chunk_range.max(1),
            max_series,
            counters: AppendCounters::default(),
            commit_lock: Mutex::new(()),
            isolation: RwLock::new(()),
            spare: Mutex::new(Vec::new()),
            segments: RwLock::new(SegTable::default()),
            spill_pass: Mutex::new(spill::due_vec()),
            spill_due: Mutex::new(spill::DueList::default()),
        }
    }

    /// The block range the head cuts chunks at.
    pub fn chunk_range(&self) -> i64 {
        self.chunk_range
    }

    /// Number of series in the head.
    pub fn num_series(&self) -> usize {
        self.num_series.load(Ordering::Relaxed)
    }

    /// Oldest sample time held, or `None` when empty.
    pub fn min_time(&self) -> Option<i64> {
        let (min, max) = (
            self.min_time.load(Ordering::Acquire),
            self.max_time.load(Ordering::Acquire),
        );
        (min <= max).then_some(min)
    }

    /// Newest sample time held, or `None` when empty.
    pub fn max_time(&self) -> Option<i64> {
        let (min, max) = (
            self.min_time.load(Ordering::Acquire),
            self.max_time.load(Ordering::Acquire),
        );
        (min <= max).then_some(max)
    }

    /// The oldest timestamp an append may have: not before the truncation
    /// point, and not more than half a block range before the newest sample
    /// (as Prometheus without out-of-order ingestion).
    pub fn min_valid_time(&self) -> i64 {
        let floor = self.min_valid_time.load(Ordering::Acquire);
        match self.max_time() {
            Some(max) => floor.max(max.saturating_sub(self.chunk_range / 2)),
            None => floor,
        }
    }

    /// The truncation floor: samples older than this are never accepted
    /// (they belong to blocks).
    pub fn floor(&self) -> i64 {
        self.min_valid_time.load(Ordering::Acquire)
    }

    /// Raises the floor to `t`. Waits for commits in flight, so every
    /// commit that applied a sample older than `t` is visible afterwards and
    /// every later one drops such samples.
    pub fn raise_floor(&self, t: i64) {
        let _commits = self.commit_lock.lock();
        self.min_valid_time.fetch_max(t, Ordering::AcqRel);
    }

    /// Samples of every series in `[mint, maxt)`, series sorted by labels
    /// (series without samples there are skipped). Feeds block writing.
    pub fn series_in_range(
        &self,
        mint: i64,
        maxt: i64,
    ) -> impl Iterator<Item = (Labels, Vec<(i64, f64)>)> + '_ {
        let mut all: Vec<Arc<MemSeries>> = Vec::new();
        self.for_each_series(|s| all.push(s.clone()));
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        all.into_iter().filter_map(move |s| {
            let segs = self.segments.read();
            let chunks = s.data.lock().snapshot(mint, maxt.saturating_sub(1), &segs);
            drop(segs);
            let samples: Vec<(i64, f64)> = chunks
                .iter()
                .flat_map(|c| c.samples())
                .filter(|x| x.0 >= mint && x.0 < maxt)
                .collect();
            (!samples.is_empty()).then(|| (s.labels.clone(), samples))
        })
    }

    /// Counters of rejected samples.
    pub fn counters(&self) -> &AppendCounters {
        &self.counters
    }

    pub(crate) fn update_time_range(&self, mint: i64, maxt: i64) {
        self.min_time.fetch_min(mint, Ordering::AcqRel);
        self.max_time.fetch_max(maxt, Ordering::AcqRel);
    }

    fn hash_stripe(&self, hash: u64) -> &HashStripe {
        &self.by_hash[(hash as usize) & (STRIPES - 1)]
    }

    /// The series with reference `r`.
    pub fn series_by_ref(&self, r: u64) -> Option<Arc<MemSeries>> {
        self.hot.get(r)
    }

    /// Lookups by reference without reference counts, for a loop over many
    /// (see `hot.rs`).
    pub(crate) fn pinned(&self) -> hot::Pinned<'_> {
        self.hot.pinned()
    }

    /// The series with these labels.
    pub fn series_by_labels(&self, labels: &Labels) -> Option<Arc<MemSeries>> {
        let hash = labels.stable_hash();
        self.hash_stripe(hash)
            .read()
            .get(&hash)
            .and_then(|v| v.find(labels).cloned())
    }

    /// Finds or creates the series for `labels`. `want_ref` forces the
    /// reference of a new series (WAL replay). Returns the series and whether
    /// it was created.
    pub fn get_or_create(
        &self,
        labels: &Labels,
        want_ref: Option<u64>,
    ) -> Result<(Arc<MemSeries>, bool), AppendError> {
        if let Some(s) = self.series_by_labels(labels) {
            return Ok((s, false));
        }
        validate_labels(labels)?;
        let hash = labels.stable_hash();
        let mut stripe = self.hash_stripe(hash).write();
        if let Some(s) = stripe.get(&hash).and_then(|v| v.find(labels)) {
            return Ok((s.clone(), false));
        }
        let prev = self.num_series.fetch_add(1, Ordering::AcqRel);
        if self.max_series > 0 && prev >= self.max_series && want_ref.is_none() {
            self.num_series.fetch_sub(1, Ordering::AcqRel);
            return Err(AppendError::SeriesLimit {
                limit: self.max_series,
            });
        }
        let r = match want_ref {
            Some(r) => {
                self.next_ref
                    .fetch_max(r.saturating_add(1), Ordering::AcqRel);
                r
            }
            None => self.next_ref.fetch_add(1, Ordering::AcqRel),
        };
        let s = MemSeries::new(r, labels.clone());
        match stripe.entry(hash) {
            std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().push(s.clone()),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(SameHash::One(s.clone()));
            }
        }
        self.hot.insert(&s, i64::MIN);
        self.postings.write().add(r, labels);
        Ok((s, true))
    }

    /// References of series matching `matchers`, sorted: the head's
    /// postings intersection (used by queriers; public for benchmarks).
    pub fn select_refs(&self, matchers: &[promlite_model::Matcher]) -> Vec<u64> {
        self.postings.read().select(matchers)
    }

    /// Drops samples older than `mint`, removes series left empty, and
    /// refuses later appends older than `mint`. Returns the number of
    /// series removed.
    pub fn truncate(&self, mint: i64) -> usize {
        let _commits = self.commit_lock.lock();
        self.min_valid_time.fetch_max(mint, Ordering::AcqRel);
        // Out of the spill queue meanwhile (by reference): a queued handle
        // would keep an emptied series from being removed. Commits, which
        // queue, wait for the commit lock.
        let queued: Vec<u64> = self
            .spill_due
            .lock()
            .series
            .drain(..)
            .map(|s| s.series_ref)
            .collect();
        let mut gone: Vec<(u64, Labels)> = Vec::new();
        let mut retired: Vec<Retired> = Vec::new();
        let mut new_min = i64::MAX;
        let segs = self.segments.read();
        for stripe in self.by_hash.iter() {
            let mut st = stripe.write();
            st.retain(|_, list| {
                list.retain(|s| {
                    let mut d = s.data.lock();
                    let empty = d.truncate_before(mint, &segs);
                    if let Some((min, _)) = d.time_range() {
                        new_min = new_min.min(min);
                    }
                    drop(d);
                    if !empty {
                        return true;
                    }
                    // Only the two maps hold it (no query or spill pass) and
                    // nobody can fetch it meanwhile (both map locks held).
                    // Appenders may have it staged by address: it is
                    // retired, not freed, and their commits move those
                    // samples to the live series of its labels.
                    let removed = self.hot.remove_if(
                        s.series_ref,
                        |s| Arc::strong_count(s) > 2,
                        &mut retired,
                    );
                    if removed {
                        s.set_removed();
                        gone.push((s.series_ref, s.labels.clone()));
                    }
                    !removed
                })
            });
        }
        drop(segs);
        self.hot.retire(retired);
        if !queued.is_empty() {
            let back = queued.iter().filter_map(|&r| self.hot.get(r));
            self.spill_due.lock().series.extend(back);
        }
        self.postings.write().remove(&gone);
        self.num_series.fetch_sub(gone.len(), Ordering::AcqRel);
        // i64::MAX when empty: min > max reads as "no data".
        self.min_time.store(new_min, Ordering::Release);
        self.sweep_segments();
        gone.len()
    }

    /// Drops the head's handle on every spill segment no chunk refers to
    /// any more; a segment's file is deleted with its last handle (a
    /// query's snapshot may still hold one). Returns how many were dropped.
    pub(crate) fn sweep_segments(&self) -> usize {
        let _pass = self.spill_pass.lock();
        let mut used = self.segments.read().unused_flags();
        if used.is_empty() {
            return 0;
        }
        self.for_each_series(|s| s.data.lock().mark_used(&mut used));
        self.segments.write().retain_used(&used)
    }

    /// Number of spill segments the head's chunks refer to.
    pub fn live_segments(&self) -> usize {
        self.segments.read().live()
    }

    /// Notes that the `Series` record of `s` is in the WAL (replay).
    pub(crate) fn set_logged(&self, s: &MemSeries) {
        s.set_logged();
        // SAFETY: no era is needed to set a flag in a slot that holds `s`:
        // removals (which retire pages) run under the commit lock, which
        // replay precedes and commit holds.
        if let Some(slot) = unsafe { self.hot.slot(s.series_ref) } {
            if slot.holds(s).is_some() {
                slot.set_logged();
            }
        }
    }

    /// Sets every series' newest timestamp in its slot from its data
    /// (after replay or a deletion changed the data past the appenders).
    pub(crate) fn resync_hot(&self, series: &[Arc<MemSeries>]) {
        for s in series {
            self.resync_one(s);
        }
    }

    fn resync_one(&self, s: &MemSeries) {
        // SAFETY: as in `set_logged`; callers hold the commit lock or run
        // before any appender.
        if let Some(slot) = unsafe { self.hot.slot(s.series_ref) } {
            if slot.holds(s).is_some() {
                let last = s.data.lock().last().map_or(i64::MIN, |(t, _)| t);
                slot.last_t.store(last, Ordering::Release);
            }
        }
    }

    /// [`Self::resync_hot`] for every series.
    pub(crate) fn resync_hot_all(&self) {
        self.for_each_series(|s| self.resync_one(s));
    }

    /// Calls `f` for every series (in no particular order).
    pub(crate) fn for_each_series(&self, mut f: impl FnMut(&Arc<MemSeries>)) {
        self.hot.for_each(|s| f(s));
    }
}

/// Whether WAL replay should apply a sample after `last` (out-of-order
/// and duplicate samples are dropped silently, as the live commit did).
pub(crate) fn replay_appendable(last: Option<(i64, u64)>, t: i64, v: f64) -> bool {
    series::check_append(last, t, v) == Ok(series::Appendable::Append)
}

/// Rejects label sets the storage cannot hold.
fn validate_labels(labels: &Labels) -> Result<(), AppendError> {
    if labels.is_empty() {
        return Err(AppendError::InvalidLabels("empty label set".into()));
    }
    let mut prev: Option<&str> = None;
    for l in labels.iter() {
        if l.name.is_empty() {
            return Err(AppendError::InvalidLabels("empty label name".into()));
        }
        if prev == Some(l.name) {
            return Err(AppendError::InvalidLabels(format!(
                "duplicate label name {:?}",
                l.name
            )));
        }
        prev = Some(l.name);
    }
    Ok(())
}
