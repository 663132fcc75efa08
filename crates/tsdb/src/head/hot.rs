//! The append path's view of the series, dense by reference.
//!
//! A scrape appends one sample to each of its target's series once an
//! interval, and every series' memory has gone cold meanwhile. What
//! `append` needs per sample — is the hint's series the one with these
//! labels, and is the sample newer than the series' last — sits here in a
//! 32-byte [`HotSlot`] per reference, two to a cache line, in pages of
//! [`PAGE`] consecutive references (a target's series, created together,
//! share pages and lines). `append` reads the slot without any lock and
//! without touching the series itself; commit is the only place that does.
//!
//! The slots are read without locks, so nothing they point at may be freed
//! while an appender may still use it: removed series, their slots' label
//! sets and emptied pages are *retired* into the head's current [`Era`],
//! and an appender holds the era it started in (taken at its first append
//! of a batch, dropped at commit or rollback). An era keeps every later
//! era alive, so what was retired after an appender started is freed only
//! once that appender is done. The page directory spans the pages in use
//! (references start in the millions after a long uptime); a reference
//! more than [`MAX_PAGE_GAP`] pages away from them (a damaged WAL's) gets
//! no slot: it goes to a small map, and its appends take the slower path.
//!
//! The table is also the head's index by reference: a slot owns one
//! strong count of its series. Lookups for queries and maintenance pin an
//! era too ([`HotTable::pinned`]), once per query rather than per series.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use promlite_model::Labels;

use super::series::MemSeries;

/// References per page; a power of two.
const PAGE_BITS: u32 = 9;
const PAGE: usize = 1 << PAGE_BITS;
/// A reference whose page is more than this many pages away from the
/// pages in use gets no slot (a damaged WAL's far reference would
/// otherwise size the directory).
const MAX_PAGE_GAP: usize = 4096;
/// Entries of a new table's directory.
const MIN_DIR: usize = 16;

/// Set in [`HotSlot::series`] once the series' `Series` record is in the WAL
/// (a cache of [`MemSeries::is_logged`], which only ever goes false → true).
pub(crate) const SLOT_LOGGED: usize = 1;

/// One reference's slot.
#[repr(C, align(32))]
pub(crate) struct HotSlot {
    /// The series' address | [`SLOT_LOGGED`]; 0 when empty. The slot owns
    /// one strong count of the series (`Arc::into_raw`).
    series: AtomicUsize,
    /// The series' label set (valid while `series` is not 0): compared by
    /// pointer with the caller's first, so usually never read.
    labels: UnsafeCell<MaybeUninit<Labels>>,
    /// The newest sample's timestamp committed through an appender (or
    /// found by replay); `i64::MIN` when none. It may be above the series'
    /// real newest (after a deletion) but never below it except for
    /// samples written past the appenders (tests), so "newer than this"
    /// means "appendable"; anything else is checked under the series' lock.
    pub(crate) last_t: AtomicI64,
}

impl HotSlot {
    /// The series in the slot, if it is `s`, with the logged flag.
    pub(crate) fn holds(&self, s: *const MemSeries) -> Option<bool> {
        let v = self.series.load(Ordering::Acquire);
        (v & !SLOT_LOGGED == s as usize && v != 0).then_some(v & SLOT_LOGGED != 0)
    }

    /// Marks the series logged (commit, under the commit lock).
    pub(crate) fn set_logged(&self) {
        self.series.fetch_or(SLOT_LOGGED, Ordering::AcqRel);
    }

    /// The series' address, if any.
    fn ptr(&self) -> Option<NonNull<MemSeries>> {
        NonNull::new((self.series.load(Ordering::Acquire) & !SLOT_LOGGED) as *mut MemSeries)
    }

    /// The series, if the slot holds one whose labels are `labels`: the
    /// same allocation (the scraper passes the label set the series was
    /// created with; nothing is read then), or equal contents (after a
    /// restart the series' label sets come from the WAL).
    fn series_for(&self, labels: &Labels) -> Option<NonNull<MemSeries>> {
        let v = self.series.load(Ordering::Acquire) & !SLOT_LOGGED;
        let p = NonNull::new(v as *mut MemSeries)?;
        // SAFETY: `labels` was written before `series` was published
        // (Release/Acquire) and is not written again while the slot is in
        // use; a removal moves it into the era without writing the slot.
        let mine = unsafe { (*self.labels.get()).assume_init_ref() };
        (mine == labels).then_some(p)
    }
}

struct Page {
    slots: [HotSlot; PAGE],
}

/// A page pointer owned by the table (or by an era once retired).
pub(crate) struct PageBox(NonNull<Page>);

// SAFETY: a page is plain memory of atomics and label sets (which are
// Send + Sync); the box only frees it.
unsafe impl Send for PageBox {}
unsafe impl Sync for PageBox {}

impl PageBox {
    fn new() -> PageBox {
        let layout = std::alloc::Layout::new::<Page>();
        // SAFETY: the layout is not zero-sized; all-zero bytes are a valid
        // page (zero atomics, uninitialised label sets).
        let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Page>();
        match NonNull::new(p) {
            Some(p) => PageBox(p),
            None => std::alloc::handle_alloc_error(layout),
        }
    }
}

impl Drop for PageBox {
    fn drop(&mut self) {
        // SAFETY: allocated by `PageBox::new` with this layout; the label
        // sets in it were moved out (or dropped) before.
        unsafe { std::alloc::dealloc(self.0.as_ptr().cast(), std::alloc::Layout::new::<Page>()) }
    }
}

/// Something the lock-free readers may still use, freed with its era.
pub(crate) enum Retired {
    Series(#[allow(dead_code)] Arc<MemSeries>),
    Labels(#[allow(dead_code)] Labels),
    Page(#[allow(dead_code)] PageBox),
}

/// A span of the head's life between two retirements (see the module docs).
#[derive(Default)]
pub(crate) struct Era {
    retired: Mutex<Vec<Retired>>,
    next: Mutex<Option<Arc<Era>>>,
}

impl std::fmt::Debug for Era {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Era")
            .field("retired", &self.retired.lock().len())
            .finish()
    }
}

impl Drop for Era {
    /// Frees a chain of eras nobody holds without recursing.
    fn drop(&mut self) {
        let mut next = self.next.get_mut().take();
        while let Some(e) = next {
            match Arc::try_unwrap(e) {
                Ok(mut e) => next = e.next.get_mut().take(),
                Err(_) => break,
            }
        }
    }
}

/// The page directory: pointers to pages `base..base + len`, null where
/// none. It spans the pages in use (and room to grow), not all pages from
/// 0: after a long uptime references start in the millions.
struct Dir {
    base: usize,
    pages: Box<[AtomicPtr<Page>]>,
}

impl Dir {
    fn new(base: usize, len: usize) -> Box<Dir> {
        Box::new(Dir {
            base,
            pages: (0..len)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        })
    }

    /// The entry of page `p`.
    fn entry(&self, p: usize) -> Option<&AtomicPtr<Page>> {
        p.checked_sub(self.base).and_then(|i| self.pages.get(i))
    }
}

/// The writers' side: replaced directories (freed with the table, so a
/// reader holding an old one never reads freed memory; they at most double
/// the directory's size) and the number of used slots per page.
#[derive(Default)]
struct Writer {
    // Boxed: readers hold `&Dir` into the box, which must not move.
    #[allow(clippy::vec_box)]
    old_dirs: Vec<Box<Dir>>,
    /// Used slots by page, for the pages in the directory.
    used: HashMap<usize, u32>,
}

/// Slots by reference (see the module docs).
pub(crate) struct HotTable {
    dir: AtomicPtr<Dir>,
    w: Mutex<Writer>,
    /// Series without a slot (references far past the end, or a taken
    /// slot's); removed ones are retired like the others.
    overflow: Mutex<HashMap<u64, Arc<MemSeries>>>,
    era: Mutex<Arc<Era>>,
}

/// An era held for a series of lookups (see [`HotTable::pinned`]).
pub(crate) struct Pinned<'a> {
    table: &'a HotTable,
    _era: Arc<Era>,
}

impl Pinned<'_> {
    /// The series with reference `r`; valid while `self` is.
    pub(crate) fn get(&self, r: u64) -> Option<&MemSeries> {
        // SAFETY: the era is held for the lifetime of the result.
        if let Some(p) = unsafe { self.table.slot(r) }.and_then(HotSlot::ptr) {
            // SAFETY: the slot's series lives until retired and freed after
            // this era.
            return Some(unsafe { &*p.as_ptr() });
        }
        let over = self.table.overflow.lock();
        let p = Arc::as_ptr(over.get(&r)?);
        drop(over);
        // SAFETY: removed from the map only into an era (as slots are).
        Some(unsafe { &*p })
    }
}

// SAFETY: the slots' label sets are written only under `w` before their
// slot is published and read only as described in `HotSlot::series_for`;
// pages and directories are freed only as described in the module docs.
unsafe impl Send for HotTable {}
unsafe impl Sync for HotTable {}

impl std::fmt::Debug for HotTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotTable")
            .field("pages", &self.w.lock().used.len())
            .finish()
    }
}

impl Default for HotTable {
    fn default() -> Self {
        HotTable {
            dir: AtomicPtr::new(Box::into_raw(Dir::new(0, MIN_DIR))),
            w: Mutex::new(Writer::default()),
            overflow: Mutex::new(HashMap::new()),
            era: Mutex::new(Arc::new(Era::default())),
        }
    }
}

fn split(r: u64) -> (usize, usize) {
    ((r >> PAGE_BITS) as usize, (r as usize) & (PAGE - 1))
}

impl HotTable {
    fn dir(&self) -> &Dir {
        // SAFETY: the directory pointer is always valid; replaced
        // directories live until the table is dropped.
        unsafe { &*self.dir.load(Ordering::Acquire) }
    }

    fn page(&self, p: usize) -> *mut Page {
        self.dir()
            .entry(p)
            .map_or(std::ptr::null_mut(), |e| e.load(Ordering::Acquire))
    }

    /// Replaces the directory by one that also covers page `p` (the
    /// caller holds the writer lock). False if `p` is too far from the
    /// pages in use.
    fn regrow(&self, w: &mut Writer, p: usize) -> bool {
        let dir = self.dir();
        let live = (0..dir.pages.len())
            .filter(|&k| {
                dir.pages
                    .get(k)
                    .is_some_and(|e| !e.load(Ordering::Acquire).is_null())
            })
            .map(|k| dir.base + k);
        let (lo, hi) = match (live.clone().min(), live.max()) {
            (Some(lo), Some(hi)) => {
                let gap = if p < lo { lo - p } else { p.saturating_sub(hi) };
                if gap > MAX_PAGE_GAP {
                    return false;
                }
                (lo.min(p), hi.max(p) + 1)
            }
            _ => (p, p + 1),
        };
        // Room above: references only grow, except in a replay.
        let grown = Dir::new(lo, ((hi - lo) * 2).max(MIN_DIR));
        for (k, e) in dir.pages.iter().enumerate() {
            let page = e.load(Ordering::Relaxed);
            if let Some(to) = grown.entry(dir.base + k).filter(|_| !page.is_null()) {
                to.store(page, Ordering::Relaxed);
            }
        }
        let old = self.dir.swap(Box::into_raw(grown), Ordering::AcqRel);
        // SAFETY: from `Box::into_raw`; readers may still hold it, so it
        // is kept until the table is dropped.
        w.old_dirs.push(unsafe { Box::from_raw(old) });
        true
    }

    /// The era appenders pin while they hold series addresses.
    pub(crate) fn pin(&self) -> Arc<Era> {
        self.era.lock().clone()
    }

    /// An era held for lookups by reference.
    pub(crate) fn pinned(&self) -> Pinned<'_> {
        Pinned {
            table: self,
            _era: self.pin(),
        }
    }

    /// The series with reference `r`.
    pub(crate) fn get(&self, r: u64) -> Option<Arc<MemSeries>> {
        let pin = self.pinned();
        let s: *const MemSeries = pin.get(r)?;
        // SAFETY: `s` lives in an `Arc` kept alive by the pin; one more
        // strong count for the caller.
        unsafe {
            Arc::increment_strong_count(s);
            Some(Arc::from_raw(s))
        }
    }

    /// Calls `f` for every series (in no particular order; series added or
    /// removed meanwhile may or may not be seen).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<MemSeries>)) {
        let _pin = self.pin();
        for entry in self.dir().pages.iter() {
            let page = entry.load(Ordering::Acquire);
            // SAFETY: pages leave the directory only into an era, after
            // the pin.
            let Some(page) = (unsafe { page.as_ref() }) else {
                continue;
            };
            for slot in page.slots.iter() {
                if let Some(p) = slot.ptr() {
                    // SAFETY: the slot's strong count, borrowed (never
                    // dropped here); the pin keeps it alive.
                    let s = ManuallyDrop::new(unsafe { Arc::from_raw(p.as_ptr()) });
                    f(&s);
                }
            }
        }
        let over: Vec<Arc<MemSeries>> = self.overflow.lock().values().cloned().collect();
        over.iter().for_each(f);
    }

    /// The slot of reference `r`, if it has one.
    ///
    /// # Safety
    /// The caller holds an era taken before the call, and uses the slot
    /// only while it holds that era.
    pub(crate) unsafe fn slot(&self, r: u64) -> Option<&HotSlot> {
        let (p, i) = split(r);
        let page = self.page(p);
        // SAFETY: a page is retired (not freed) when it leaves the
        // directory, and freed only after every era pinned before that.
        unsafe { page.as_ref() }.and_then(|pg| pg.slots.get(i))
    }

    /// The series of reference `r` if its labels are `labels`, with its slot.
    ///
    /// # Safety
    /// As for [`Self::slot`]; the series lives as long as the era too.
    pub(crate) unsafe fn find(
        &self,
        r: u64,
        labels: &Labels,
    ) -> Option<(NonNull<MemSeries>, &HotSlot)> {
        // SAFETY: forwarded.
        let slot = unsafe { self.slot(r) }?;
        slot.series_for(labels).map(|s| (s, slot))
    }

    /// Asks the CPU for the slot of `r` (nothing is dereferenced).
    pub(crate) fn prefetch(&self, r: u64) {
        let (p, i) = split(r);
        let page = self.page(p);
        if !page.is_null() {
            let at = page
                .cast::<u8>()
                .wrapping_add(i * std::mem::size_of::<HotSlot>());
            super::prefetch::prefetch_lines(at, 1);
        }
    }

    /// Adds `s` (a new series) under its reference; `last_t` as
    /// [`HotSlot::last_t`]. A reference far from the pages in use, or whose
    /// slot is taken (a damaged WAL's duplicate), goes to the overflow map.
    pub(crate) fn insert(&self, s: &Arc<MemSeries>, last_t: i64) {
        if !self.insert_slot(s, last_t) {
            self.overflow.lock().insert(s.series_ref, s.clone());
        }
    }

    fn insert_slot(&self, s: &Arc<MemSeries>, last_t: i64) -> bool {
        let (p, i) = split(s.series_ref);
        let mut w = self.w.lock();
        if self.dir().entry(p).is_none() && !self.regrow(&mut w, p) {
            return false;
        }
        let Some(entry) = self.dir().entry(p) else {
            return false;
        };
        let mut page = entry.load(Ordering::Acquire);
        if page.is_null() {
            // The directory owns it from here (freed through an era by
            // `remove_if`, or by `Drop`).
            page = ManuallyDrop::new(PageBox::new()).0.as_ptr();
            entry.store(page, Ordering::Release);
        }
        // SAFETY: pages in the directory are live; we hold the writer lock.
        let Some(slot) = (unsafe { &*page }).slots.get(i) else {
            return false;
        };
        if slot.series.load(Ordering::Acquire) != 0 {
            return false;
        }
        // SAFETY: the slot is empty, so no reader looks at its labels
        // (they check `series` first) and nothing else writes them.
        unsafe { (*slot.labels.get()).write(s.labels.clone()) };
        slot.last_t.store(last_t, Ordering::Relaxed);
        let logged = if s.is_logged() { SLOT_LOGGED } else { 0 };
        let owned = Arc::into_raw(s.clone());
        slot.series
            .store(owned as usize | logged, Ordering::Release);
        *w.used.entry(p).or_insert(0) += 1;
        true
    }

    /// Removes reference `r` unless `keep` says otherwise for its series
    /// (called under the writer lock, so nobody can look it up for
    /// removal meanwhile), putting what lock-free readers may still use
    /// (the series, its label set, the page if it was the page's last
    /// slot) into `retired`. Returns whether it was removed.
    pub(crate) fn remove_if(
        &self,
        r: u64,
        keep: impl FnOnce(&Arc<MemSeries>) -> bool,
        retired: &mut Vec<Retired>,
    ) -> bool {
        let (p, i) = split(r);
        let mut w = self.w.lock();
        let entry = self.dir().entry(p);
        let page = entry.map_or(std::ptr::null_mut(), |e| e.load(Ordering::Acquire));
        // SAFETY: pages in the directory are live; we hold the writer lock.
        let slot = unsafe { page.as_ref() }.and_then(|pg| pg.slots.get(i));
        let Some((slot, s)) = slot.and_then(|slot| slot.ptr().map(|s| (slot, s))) else {
            drop(w);
            let mut over = self.overflow.lock();
            return match over.get(&r) {
                Some(s) if !keep(s) => {
                    if let Some(s) = over.remove(&r) {
                        retired.push(Retired::Series(s));
                    }
                    true
                }
                _ => false,
            };
        };
        // SAFETY: the slot's strong count, borrowed for `keep`.
        let held = ManuallyDrop::new(unsafe { Arc::from_raw(s.as_ptr()) });
        if keep(&held) {
            return false;
        }
        slot.series.store(0, Ordering::Release);
        // SAFETY: the slot's strong count and label set move to the era,
        // once (the slot is empty now); readers that found them before
        // use them until the era ends.
        unsafe {
            retired.push(Retired::Series(Arc::from_raw(s.as_ptr())));
            retired.push(Retired::Labels((*slot.labels.get()).assume_init_read()));
        }
        let Some(n) = w.used.get_mut(&p) else {
            return true;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            w.used.remove(&p);
            if let Some(e) = entry {
                e.store(std::ptr::null_mut(), Ordering::Release);
            }
            if let Some(b) = NonNull::new(page) {
                retired.push(Retired::Page(PageBox(b)));
            }
        }
        true
    }

    /// Puts `items` into the current era and starts a new one: they are
    /// freed once every appender that started before now is done.
    pub(crate) fn retire(&self, items: Vec<Retired>) {
        if items.is_empty() {
            return;
        }
        let mut cur = self.era.lock();
        cur.retired.lock().extend(items);
        let next = Arc::new(Era::default());
        *cur.next.lock() = Some(next.clone());
        *cur = next;
    }

    /// Number of pages allocated (for tests).
    #[cfg(test)]
    pub(crate) fn pages(&self) -> usize {
        self.w.lock().used.len()
    }
}

impl Drop for HotTable {
    fn drop(&mut self) {
        let dir = self.dir.load(Ordering::Acquire);
        // SAFETY: the current directory, from `Box::into_raw`.
        let dir = unsafe { Box::from_raw(dir) };
        for entry in dir.pages.iter() {
            let page = entry.load(Ordering::Acquire);
            let Some(b) = NonNull::new(page) else {
                continue;
            };
            let b = PageBox(b);
            // SAFETY: nobody else holds the table; live slots' labels and
            // strong counts are dropped here, once.
            for slot in unsafe { &b.0.as_ref().slots }.iter() {
                if let Some(s) = slot.ptr() {
                    unsafe {
                        (*slot.labels.get()).assume_init_drop();
                        drop(Arc::from_raw(s.as_ptr()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    fn series(r: u64) -> Arc<MemSeries> {
        MemSeries::new(r, labels!("__name__" => "m", "r" => &r.to_string()))
    }

    fn count(t: &HotTable) -> usize {
        let mut n = 0;
        t.for_each(|_| n += 1);
        n
    }

    #[test]
    fn slots_are_32_bytes() {
        assert_eq!(std::mem::size_of::<HotSlot>(), 32);
        assert_eq!(std::mem::size_of::<Page>(), PAGE * 32);
    }

    #[test]
    fn find_get_insert_remove_and_pages() {
        let t = HotTable::default();
        let all: Vec<_> = (1..=3000u64).map(series).collect();
        for s in &all {
            t.insert(s, 7);
        }
        assert_eq!(Arc::strong_count(&all[0]), 2, "the slot holds one");
        let era = t.pin();
        for s in &all {
            // SAFETY: the era is held and the series are alive.
            let (p, slot) = unsafe { t.find(s.series_ref, &s.labels) }.unwrap();
            assert_eq!(p.as_ptr() as *const MemSeries, Arc::as_ptr(s));
            assert_eq!(slot.last_t.load(Ordering::Relaxed), 7);
            assert_eq!(slot.holds(Arc::as_ptr(s)), Some(false));
            assert!(Arc::ptr_eq(&t.get(s.series_ref).unwrap(), s));
            // Equal labels in another allocation match; others do not.
            let equal = labels!("__name__" => "m", "r" => &s.series_ref.to_string());
            assert!(unsafe { t.find(s.series_ref, &equal) }.is_some());
            let other = labels!("__name__" => "m", "r" => "x");
            assert!(unsafe { t.find(s.series_ref, &other) }.is_none());
        }
        assert!(unsafe { t.find(5000, &all[0].labels) }.is_none());
        assert!(t.get(0).is_none() && t.get(3001).is_none());
        assert_eq!(t.pages(), 6);
        assert_eq!(count(&t), 3000);
        let mut retired = Vec::new();
        assert!(!t.remove_if(5, |_| true, &mut retired), "kept");
        for s in &all[..1000] {
            assert!(t.remove_if(s.series_ref, |_| false, &mut retired));
        }
        assert!(!t.remove_if(5, |_| false, &mut retired), "already gone");
        // Refs 1..=1000: page 0 (1..=511) is empty now, page 1 is not.
        assert_eq!(t.pages(), 5);
        assert_eq!(
            retired
                .iter()
                .filter(|r| matches!(r, Retired::Page(_)))
                .count(),
            1
        );
        assert!(unsafe { t.find(1, &all[0].labels) }.is_none());
        assert!(t.get(999).is_none());
        assert!(unsafe { t.find(1001, &all[1000].labels) }.is_some());
        assert_eq!(count(&t), 2000);
        // Retired, not freed, while the era is held.
        t.retire(retired);
        assert_eq!(Arc::strong_count(&all[0]), 2);
        drop(era);
        assert_eq!(Arc::strong_count(&all[0]), 1);
        assert_eq!(Arc::strong_count(&all[1000]), 2);
        drop(t);
        assert_eq!(Arc::strong_count(&all[1000]), 1, "the table let go");
    }

    #[test]
    fn far_and_taken_references_go_to_the_overflow_map() {
        let t = HotTable::default();
        let first = series(3);
        t.insert(&first, 0);
        let far = series(1 << 40);
        t.insert(&far, 0);
        let pin = t.pinned();
        assert!(unsafe { t.find(1 << 40, &far.labels) }.is_none());
        assert_eq!(pin.get(1 << 40).map(|s| s.series_ref), Some(1 << 40));
        let a = series(7);
        let b = MemSeries::new(7, labels!("x" => "y"));
        t.insert(&a, 0);
        t.insert(&b, 0);
        assert!(unsafe { t.find(7, &a.labels) }.is_some());
        assert!(unsafe { t.find(7, &b.labels) }.is_none());
        // A reference a few pages out grows the directory.
        let grown = series(100_000);
        t.insert(&grown, 0);
        assert!(unsafe { t.find(100_000, &grown.labels) }.is_some());
        assert!(unsafe { t.find(7, &a.labels) }.is_some());
        assert_eq!(count(&t), 5, "first, the far one, a, b (overflow), grown");
        drop(pin);
        let mut retired = Vec::new();
        assert!(t.remove_if(1 << 40, |_| false, &mut retired));
        assert!(t.get(1 << 40).is_none());
        t.retire(retired);
        assert_eq!(Arc::strong_count(&far), 1);
    }

    #[test]
    fn references_starting_in_the_millions_get_slots() {
        let t = HotTable::default();
        // As after a long uptime's restart: the first reference is high,
        // the directory starts there.
        let first = 5_000_000u64;
        let all: Vec<_> = (first..first + 3000).map(series).collect();
        for s in &all {
            t.insert(s, 0);
        }
        // Somewhat lower ones (a replay's older series) fit too.
        let lower = series(first - 100_000);
        t.insert(&lower, 0);
        let _pin = t.pin();
        for s in all.iter().chain(std::iter::once(&lower)) {
            assert!(
                unsafe { t.find(s.series_ref, &s.labels) }.is_some(),
                "{}",
                s.series_ref
            );
        }
        assert!(
            t.dir().pages.len() < 1000,
            "{} entries",
            t.dir().pages.len()
        );
        assert!(t.overflow.lock().is_empty());
        // Far below or above what is in use: the overflow map.
        let far = series(1);
        t.insert(&far, 0);
        assert!(unsafe { t.find(1, &far.labels) }.is_none());
        assert_eq!(t.get(1).map(|s| s.series_ref), Some(1));
        // Emptied, the table starts again wherever the next one is.
        let mut retired = Vec::new();
        for s in all.iter().chain([&lower, &far]) {
            assert!(t.remove_if(s.series_ref, |_| false, &mut retired));
        }
        assert_eq!(t.pages(), 0);
        let again = series(90_000_000);
        t.insert(&again, 0);
        assert!(unsafe { t.find(90_000_000, &again.labels) }.is_some());
        t.retire(retired);
    }

    #[test]
    fn retired_things_live_as_long_as_an_earlier_era() {
        let t = HotTable::default();
        let s = series(3);
        t.insert(&s, 0);
        let early = t.pin();
        let mut retired = Vec::new();
        t.remove_if(3, |_| false, &mut retired);
        t.retire(retired);
        // A later retirement in a later era: still held by `early`.
        let s2 = series(600);
        t.insert(&s2, 0);
        let mut retired = Vec::new();
        t.remove_if(600, |_| false, &mut retired);
        t.retire(retired);
        assert_eq!(Arc::strong_count(&s), 2);
        assert_eq!(Arc::strong_count(&s2), 2);
        let late = t.pin();
        drop(early);
        assert_eq!(Arc::strong_count(&s), 1);
        assert_eq!(Arc::strong_count(&s2), 1);
        drop(late);
    }
}
