//! The label sets of a block's series built most recently by queries,
//! kept for the next query that selects them.
//!
//! A block never changes, so a series' label set built once from the
//! symbol table is the same for every later query. Dashboards ask the
//! same selectors again and again; building a selected series' labels
//! (symbol lookups, an allocation, a copy) and freeing them afterwards
//! was about a seventh of the CPU of an instant query on a hundred
//! series. The cache is direct-mapped by series id: [`SLOTS`] slots at
//! most per block, a set replacing the one in its slot, so it holds at
//! most that many label sets per block whatever is queried, and a lookup
//! is one uncontended lock and a compare. The slots are allocated on
//! first use only.

use parking_lot::Mutex;
use promlite_model::Labels;

/// Most label sets kept per block (a power of two).
pub(super) const SLOTS: usize = 4096;

/// See the module docs.
#[derive(Default)]
pub(super) struct LabelCache {
    /// Empty until the first insert; then `slots(num_series)` entries.
    slots: Mutex<Vec<Option<(u32, Labels)>>>,
}

/// Slots for a block of `num_series` series: enough for each series to
/// have its own, up to [`SLOTS`].
fn slots_for(num_series: u32) -> usize {
    (num_series as usize).next_power_of_two().clamp(1, SLOTS)
}

impl LabelCache {
    /// The label set of series `id`, if cached.
    pub(super) fn get(&self, id: u32) -> Option<Labels> {
        let slots = self.slots.lock();
        let n = slots.len();
        if n == 0 {
            return None;
        }
        match slots.get(id as usize & (n - 1)) {
            Some(Some((i, l))) if *i == id => Some(l.clone()),
            _ => None,
        }
    }

    /// Keeps `labels` as series `id`'s (of a block of `num_series`),
    /// replacing whatever its slot held.
    pub(super) fn put(&self, id: u32, num_series: u32, labels: &Labels) {
        let mut slots = self.slots.lock();
        if slots.is_empty() {
            slots.resize(slots_for(num_series), None);
        }
        let n = slots.len();
        if let Some(slot) = slots.get_mut(id as usize & (n - 1)) {
            *slot = Some((id, labels.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    #[test]
    fn sets_are_found_by_id_until_replaced() {
        let c = LabelCache::default();
        assert!(c.get(3).is_none());
        let a = labels!("__name__" => "a");
        c.put(3, 10, &a);
        assert!(c.get(3).is_some_and(|l| l.ptr_eq(&a)));
        assert!(c.get(4).is_none());
        // Ten series: sixteen slots, so 19 takes 3's slot.
        let b = labels!("__name__" => "b");
        c.put(19, 10, &b);
        assert!(c.get(3).is_none());
        assert!(c.get(19).is_some_and(|l| l.ptr_eq(&b)));
        assert_eq!(c.slots.lock().len(), 16);
    }

    #[test]
    fn slots_are_bounded() {
        assert_eq!(slots_for(0), 1);
        assert_eq!(slots_for(1), 1);
        assert_eq!(slots_for(98), 128);
        assert_eq!(slots_for(10_000), SLOTS);
        assert_eq!(slots_for(u32::MAX), SLOTS);
        let c = LabelCache::default();
        for id in 0..3 * SLOTS as u32 {
            c.put(id, 1_000_000, &labels!("i" => id.to_string()));
        }
        assert_eq!(c.slots.lock().len(), SLOTS);
        assert!(c.get(0).is_none());
        assert!(c.get(3 * SLOTS as u32 - 1).is_some());
    }
}
