//! The head's series-by-reference index.
//!
//! References are handed out in increasing order, so instead of a hash map
//! the index is an array per lock stripe: runs of [`RUN`] consecutive
//! references share a stripe and sit next to each other in it. Looking a
//! series up is then a shift, a mask and an array read. (Appends with the
//! scraper's hint do not come here: they read the lock-free slots of
//! `hot.rs`.)
//!
//! Removed series leave holes; holes at the front of a stripe are trimmed, so
//! the usual churn (old series go, new ones come with higher references)
//! does not grow the arrays. References far beyond the end of the array (only
//! a damaged or hand-made WAL can ask for those) go to a small overflow map
//! instead of allocating the gap.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::RwLock;

use super::series::MemSeries;

/// Number of lock stripes; a power of two.
const STRIPES: u64 = 128;
/// Consecutive references per stripe run; a power of two.
const RUN: u64 = 64;
/// A reference more than this many slots past a stripe's end goes to the
/// overflow map.
const MAX_GAP: u64 = 1 << 16;

#[derive(Debug, Default)]
struct Stripe {
    /// Slot number of `slots[0]`.
    base: u64,
    slots: VecDeque<Option<Arc<MemSeries>>>,
    overflow: HashMap<u64, Arc<MemSeries>>,
}

/// A stripe on cache lines of its own. A read lock writes the lock word, so
/// stripes sharing a line would make the scrape threads (each appending
/// its own targets' series, in different stripes) take that line from each
/// other on every lookup.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(RwLock<Stripe>);

impl std::ops::Deref for Padded {
    type Target = RwLock<Stripe>;
    fn deref(&self) -> &RwLock<Stripe> {
        &self.0
    }
}

/// Series by reference, lock-striped.
#[derive(Debug)]
pub(crate) struct RefIndex {
    stripes: Box<[Padded]>,
}

/// The stripe of `r` and its slot number inside the stripe.
fn locate(r: u64) -> (usize, u64) {
    let stripe = (r / RUN) % STRIPES;
    let slot = (r / (RUN * STRIPES)) * RUN + (r % RUN);
    (stripe as usize, slot)
}

impl Default for RefIndex {
    fn default() -> Self {
        RefIndex {
            stripes: (0..STRIPES).map(|_| Padded::default()).collect(),
        }
    }
}

impl Stripe {
    fn get(&self, slot: u64, r: u64) -> Option<&Arc<MemSeries>> {
        match slot.checked_sub(self.base) {
            Some(i) if i < self.slots.len() as u64 => {
                self.slots.get(i as usize).and_then(Option::as_ref)
            }
            _ => self.overflow.get(&r),
        }
    }

    fn insert(&mut self, slot: u64, r: u64, s: Arc<MemSeries>) {
        if self.slots.is_empty() && self.overflow.is_empty() {
            self.base = slot;
        }
        let Some(i) = slot.checked_sub(self.base) else {
            self.overflow.insert(r, s);
            return;
        };
        let len = self.slots.len() as u64;
        if i < len {
            if let Some(x) = self.slots.get_mut(i as usize) {
                *x = Some(s);
            }
        } else if i - len <= MAX_GAP {
            for _ in len..i {
                self.slots.push_back(None);
            }
            self.slots.push_back(Some(s));
        } else {
            self.overflow.insert(r, s);
        }
    }

    fn remove(&mut self, slot: u64, r: u64) {
        match slot.checked_sub(self.base) {
            Some(i) if i < self.slots.len() as u64 => {
                if let Some(x) = self.slots.get_mut(i as usize) {
                    *x = None;
                }
                while let Some(None) = self.slots.front() {
                    self.slots.pop_front();
                    self.base += 1;
                }
                while let Some(None) = self.slots.back() {
                    self.slots.pop_back();
                }
                if self.slots.capacity() > 64 && self.slots.len() < self.slots.capacity() / 4 {
                    self.slots.shrink_to(self.slots.len() * 2);
                }
            }
            _ => {
                self.overflow.remove(&r);
            }
        }
    }
}

impl RefIndex {
    /// The series with reference `r`.
    pub(crate) fn get(&self, r: u64) -> Option<Arc<MemSeries>> {
        let (stripe, slot) = locate(r);
        self.stripes.get(stripe)?.read().get(slot, r).cloned()
    }

    /// Adds `s` under its reference.
    pub(crate) fn insert(&self, s: Arc<MemSeries>) {
        let r = s.series_ref;
        let (stripe, slot) = locate(r);
        if let Some(st) = self.stripes.get(stripe) {
            st.write().insert(slot, r, s);
        }
    }

    /// Removes reference `r` if `keep` returns false for its series (called
    /// under the stripe's write lock, so nobody can fetch it meanwhile).
    /// Returns whether it was removed.
    pub(crate) fn remove_if(&self, r: u64, keep: impl FnOnce(&Arc<MemSeries>) -> bool) -> bool {
        let (stripe, slot) = locate(r);
        let Some(st) = self.stripes.get(stripe) else {
            return false;
        };
        let mut st = st.write();
        match st.get(slot, r) {
            Some(s) if !keep(s) => {
                st.remove(slot, r);
                true
            }
            _ => false,
        }
    }

    /// Calls `f` for every series (in no particular order).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<MemSeries>)) {
        for st in self.stripes.iter() {
            let st = st.read();
            st.slots.iter().flatten().for_each(&mut f);
            st.overflow.values().for_each(&mut f);
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

    #[test]
    fn lookups_inserts_and_removals() {
        let idx = RefIndex::default();
        for r in 1..=20_000u64 {
            idx.insert(series(r));
        }
        for r in [1u64, 63, 64, 8191, 8192, 20_000] {
            assert_eq!(idx.get(r).map(|s| s.series_ref), Some(r));
        }
        assert!(idx.get(0).is_none());
        assert!(idx.get(20_001).is_none());
        // Remove the oldest half: the stripes' fronts are trimmed.
        for r in 1..=10_000u64 {
            assert!(idx.remove_if(r, |_| false));
        }
        assert!(!idx.remove_if(5, |_| false), "already gone");
        assert!(!idx.remove_if(10_001, |_| true), "kept");
        assert!(idx.get(10_000).is_none());
        assert_eq!(idx.get(10_001).map(|s| s.series_ref), Some(10_001));
        let slots: usize = idx.stripes.iter().map(|s| s.read().slots.len()).sum();
        assert!(slots <= 10_000 + (RUN * STRIPES) as usize, "{slots} slots");
        let mut n = 0;
        idx.for_each(|_| n += 1);
        assert_eq!(n, 10_000);
    }

    #[test]
    fn stripes_do_not_share_cache_lines() {
        assert!(std::mem::size_of::<RwLock<Stripe>>() <= 128);
        assert_eq!(std::mem::size_of::<Padded>(), 128);
        let idx = RefIndex::default();
        let a = &idx.stripes[0] as *const Padded as usize;
        let b = &idx.stripes[1] as *const Padded as usize;
        assert_eq!(b - a, 128);
        assert_eq!(a % 128, 0);
    }

    #[test]
    fn far_and_reused_references_use_the_overflow_map() {
        let idx = RefIndex::default();
        idx.insert(series(5));
        idx.insert(series(u64::MAX));
        idx.insert(series(1 << 40));
        // Below the stripe's base after a trim.
        idx.insert(series(5 + RUN * STRIPES));
        assert!(idx.remove_if(5, |_| false));
        idx.insert(series(5));
        for r in [5, u64::MAX, 1 << 40, 5 + RUN * STRIPES] {
            assert_eq!(idx.get(r).map(|s| s.series_ref), Some(r), "{r}");
        }
        let mut n = 0;
        idx.for_each(|_| n += 1);
        assert_eq!(n, 4);
        assert!(idx.remove_if(1 << 40, |_| false));
        assert!(idx.get(1 << 40).is_none());
    }
}
