//! The per-target scrape cache, as in Prometheus's `scrapeCache`: the raw
//! series text of a sample (`name{labels}` exactly as exposed, from
//! `Parser::series_bytes`) maps to the final labels after target labels and
//! `metric_relabel_configs` (or "dropped") and the storage's series
//! reference. A series seen in the previous scrape therefore costs one hash
//! of its bytes and one table probe: no label building, no relabeling, and
//! the storage gets the reference instead of looking the labels up.
//!
//! The key is not stored: an entry holds the 128-bit xxh3 hash of the series
//! text (seeded per loop), whose low half is the map key and whose high half
//! is checked on every hit. Two different series texts would have to agree
//! on all 128 bits to be confused, which no target can arrange (the seed is
//! random per loop) and chance does not (about 2^-128 per pair); keeping the
//! text itself cost as much memory as the rest of the entry.
//!
//! Entries not seen in a successful scrape are evicted at its end.
//!
//! Entries live in a `Vec` in the order the target exposed them, with a
//! hash map from key to position beside it. A target exposes its series in
//! the same order every scrape, so the lookup first checks the entry after
//! the previous hit: a sequential walk through memory (which the CPU
//! prefetches) instead of a random table probe per sample. Only a miss of
//! that guess probes the map.
//!
//! The cache also remembers which series each scrape wrote, for staleness:
//! an entry records the scrape iteration that last wrote it (and the one
//! before), so "written by the last successful scrape but not by this one"
//! needs no per-scrape set of labels. Only a reload (the successor loop
//! starts with an empty cache) and a change of format (which empties it)
//! carry the previous scrape's series over as an explicit set.

use std::collections::hash_map::{HashMap, RandomState};
use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use promlite_exposition::Format;
use promlite_model::{Labels, SeriesRef};

/// A hasher for keys that already are well-mixed 64-bit hashes.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct PrehashedU64(u64);

impl Hasher for PrehashedU64 {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the maps below; anything else still
        // hashes correctly, just more slowly.
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Hash-map builder for [`PrehashedU64`] keys.
pub(crate) type Prehashed = BuildHasherDefault<PrehashedU64>;

/// Series of one scrape for staleness tracking: label hash → labels.
pub(crate) type SeriesSet = HashMap<u64, Labels, Prehashed>;

/// One cached series.
#[derive(Clone, Debug)]
pub(crate) struct CacheEntry {
    /// Low half of the 128-bit hash of the raw series bytes (the map key).
    key: u64,
    /// High half of that hash; a mismatch replaces the entry rather than
    /// returning the wrong one.
    check: u64,
    /// Final labels; `None` when metric relabeling drops the series.
    pub labels: Option<Labels>,
    /// `labels.stable_hash()` (0 when dropped).
    pub hash: u64,
    /// The storage's reference (valid when `has_ref`), once a sample was
    /// appended. Kept as two fields rather than an `Option<SeriesRef>` so
    /// the entry packs into 64 bytes.
    sref: u64,
    has_ref: bool,
    /// Iterations are stored in 32 bits (compared for equality only; they
    /// would have to wrap past 2^32 scrapes of one loop to be confused).
    last_iter: u32,
    /// Iteration of the last scrape that wrote this series (0: none).
    written: u32,
    /// The value `written` had before the current scrape wrote it.
    before: u32,
}

/// The cache of one scrape loop.
#[derive(Debug)]
pub(crate) struct SeriesCache {
    /// Entries in the order the target last exposed them.
    entries: Vec<CacheEntry>,
    /// Key → position in `entries`.
    index: HashMap<u64, u32, Prehashed>,
    /// Position after the last entry returned: the guess for the next one.
    cursor: usize,
    /// Seeds the key hash per loop, so a target cannot choose colliding
    /// series names in advance.
    seed: u64,
    iter: u64,
    /// Format of the last scrape.
    format: Option<Format>,
    /// Iteration of the last successful scrape (0: none, or forgotten after
    /// a failure): the series it wrote are the "previous" ones.
    last_ok: u64,
    /// Previous series that are not (or no longer) entries: handed over by
    /// the loop this one replaced, or left by a change of format.
    carry: SeriesSet,
    /// Entries the current scrape has seen, and written ([`Self::wrote`]),
    /// so far: when every entry was seen and written, as in a steady
    /// scrape, the end of the scrape skips the passes over all entries
    /// that look for unseen (evicted) and unwritten (stale) ones.
    seen: usize,
    written: usize,
}

impl Default for SeriesCache {
    fn default() -> Self {
        SeriesCache {
            entries: Vec::new(),
            index: HashMap::default(),
            cursor: 0,
            seed: RandomState::new().hash_one(0x5eed_u64),
            iter: 0,
            format: None,
            last_ok: 0,
            carry: SeriesSet::default(),
            seen: 0,
            written: 0,
        }
    }
}

impl SeriesCache {
    /// Starts a scrape of a body in `format`: entries touched from now on
    /// count as seen in it. A change of format empties the cache, because
    /// the same series text can be valid in one format and not the other.
    pub fn begin_scrape(&mut self, format: Format) {
        if self.format != Some(format) {
            if self.format.is_some() {
                let prev = self.prev_set();
                self.carry = prev;
            }
            self.entries.clear();
            self.index.clear();
            self.format = Some(format);
        }
        self.iter += 1;
        self.cursor = 0;
        self.seen = 0;
        self.written = 0;
    }

    /// Counts an entry whose [`CacheEntry::mark_written`] returned true.
    pub fn wrote(&mut self) {
        self.written += 1;
    }

    /// The current scrape's iteration number (for [`CacheEntry::mark_written`]).
    pub fn iteration(&self) -> u64 {
        self.iter
    }

    fn in_prev(&self, e: &CacheEntry) -> bool {
        let (last_ok, iter) = (self.last_ok as u32, self.iter as u32);
        self.last_ok != 0 && (e.written == last_ok || (e.written == iter && e.before == last_ok))
    }

    /// Labels of the series the last successful scrape wrote.
    pub fn prev_labels(&self) -> impl Iterator<Item = &Labels> + '_ {
        self.entries
            .iter()
            .filter(|e| self.in_prev(e))
            .filter_map(|e| e.labels.as_ref())
            .chain(self.carry.values())
    }

    /// The series the last successful scrape wrote, as a set (for handing
    /// them to a successor loop).
    pub fn prev_set(&self) -> SeriesSet {
        let mut out = self.carry.clone();
        for e in self.entries.iter().filter(|e| self.in_prev(e)) {
            if let Some(l) = &e.labels {
                out.insert(e.hash, l.clone());
            }
        }
        out
    }

    /// Labels of the series the current scrape wrote so far.
    pub fn cur_labels(&self) -> impl Iterator<Item = &Labels> + '_ {
        let iter = self.iter as u32;
        self.entries
            .iter()
            .filter(move |e| e.written == iter)
            .filter_map(|e| e.labels.as_ref())
    }

    /// Series the last successful scrape wrote and the current one did not
    /// (by label set), with their storage references: they get staleness
    /// markers.
    pub fn stale(&self) -> Vec<(Labels, Option<SeriesRef>)> {
        if self.carry.is_empty() && self.written == self.entries.len() {
            // Every entry was written by this scrape: none is stale.
            return Vec::new();
        }
        let iter = self.iter as u32;
        let mut out: Vec<(u64, Labels, Option<SeriesRef>)> = self
            .entries
            .iter()
            .filter(|e| e.written != iter && self.in_prev(e))
            .filter_map(|e| e.labels.clone().map(|l| (e.hash, l, e.sref())))
            .collect();
        out.extend(self.carry.iter().map(|(h, l)| (*h, l.clone(), None)));
        if out.is_empty() {
            return Vec::new();
        }
        // Rare path (series went away): drop label sets the current scrape
        // wrote under another series text.
        let cur: HashSet<u64> = self
            .entries
            .iter()
            .filter(|e| e.written == iter)
            .map(|e| e.hash)
            .collect();
        let mut seen: HashSet<u64> = HashSet::new();
        out.into_iter()
            .filter(|(h, _, _)| !cur.contains(h) && seen.insert(*h))
            .map(|(_, l, r)| (l, r))
            .collect()
    }

    /// Ends a successful scrape: its series become the previous ones, and
    /// every entry it did not see is evicted.
    pub fn end_scrape_ok(&mut self) {
        self.last_ok = self.iter;
        self.carry.clear();
        self.evict_unseen();
    }

    /// Forgets the previous series (they were marked stale: the scrape
    /// failed or the target went away).
    pub fn forget_prev(&mut self) {
        self.last_ok = 0;
        self.carry.clear();
    }

    /// Takes `prev` (from the loop this one replaces) as the previous series.
    pub fn adopt_prev(&mut self, prev: SeriesSet) {
        self.carry = prev;
    }

    /// The entry for the series whose raw text is `key`, created with the
    /// labels `make` returns (`Ok(None)`: dropped) when it is not cached.
    /// An error from `make` is returned and nothing is cached.
    pub fn entry(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Result<Option<Labels>, String>,
    ) -> Result<&mut CacheEntry, String> {
        let (h, check) = key_hash(key, self.seed);
        let iter = self.iter as u32;
        let guess = self.entries.get(self.cursor).filter(|e| e.key == h);
        let pos = match guess {
            Some(_) => Some(self.cursor),
            None => self.index.get(&h).map(|&i| i as usize),
        };
        let pos = match pos {
            Some(i) => {
                if let Some(e) = self.entries.get_mut(i).filter(|e| e.check != check) {
                    let new = CacheEntry::new(h, check, make()?);
                    // The replaced entry no longer counts as seen or written.
                    self.seen -= usize::from(e.last_iter == iter);
                    self.written -= usize::from(e.written == iter);
                    *e = new;
                }
                i
            }
            None => {
                let e = CacheEntry::new(h, check, make()?);
                let i = self.entries.len();
                self.index.insert(h, i as u32);
                self.entries.push(e);
                i
            }
        };
        self.cursor = pos + 1;
        match self.entries.get_mut(pos) {
            Some(e) => {
                self.seen += usize::from(e.last_iter != iter);
                e.last_iter = iter;
                Ok(e)
            }
            None => Err("scrape cache: entry index out of range".to_string()),
        }
    }

    /// The storage reference of the entry `ahead` places past the last one
    /// looked up, if the body repeats the last scrape's order (for
    /// [`promlite_model::Appender::prefetch`]).
    pub fn upcoming(&self, ahead: usize) -> Option<SeriesRef> {
        self.entries
            .get(self.cursor.wrapping_add(ahead))
            .and_then(|e| e.sref())
    }

    /// Evicts every entry the current scrape did not see, and rebuilds the
    /// index when any went.
    fn evict_unseen(&mut self) {
        if self.seen == self.entries.len() {
            return;
        }
        let iter = self.iter as u32;
        let before = self.entries.len();
        self.entries.retain(|e| e.last_iter == iter);
        if self.entries.len() != before {
            self.index.clear();
            for (i, e) in self.entries.iter().enumerate() {
                self.index.insert(e.key, i as u32);
            }
        }
    }

    /// Number of cached series (kept and dropped).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Distinct storage references held (for tests).
    #[cfg(test)]
    fn refs(&self) -> HashSet<u64> {
        self.entries
            .iter()
            .filter_map(|e| e.sref().map(|r| r.0))
            .collect()
    }
}

/// Map key and check value of a series text.
fn key_hash(key: &[u8], seed: u64) -> (u64, u64) {
    let h = xxhash_rust::xxh3::xxh3_128_with_seed(key, seed);
    (h as u64, (h >> 64) as u64)
}

impl CacheEntry {
    fn new(key: u64, check: u64, labels: Option<Labels>) -> CacheEntry {
        let hash = labels.as_ref().map_or(0, Labels::stable_hash);
        CacheEntry {
            key,
            check,
            labels,
            hash,
            sref: 0,
            has_ref: false,
            last_iter: 0,
            written: 0,
            before: 0,
        }
    }

    /// The storage's reference, once a sample was appended.
    pub fn sref(&self) -> Option<SeriesRef> {
        self.has_ref.then_some(SeriesRef(self.sref))
    }

    /// Remembers the storage's reference.
    pub fn set_sref(&mut self, r: SeriesRef) {
        self.sref = r.0;
        self.has_ref = true;
    }

    /// Records that the scrape `iter` wrote this series; true the first
    /// time in that scrape (then call [`SeriesCache::wrote`]).
    #[must_use]
    pub fn mark_written(&mut self, iter: u64) -> bool {
        let iter = iter as u32;
        if self.written != iter {
            self.before = self.written;
            self.written = iter;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    #[test]
    fn hit_skips_make_and_unseen_entries_are_evicted() {
        let mut c = SeriesCache::default();
        c.begin_scrape(Format::PrometheusText);
        let e = c
            .entry(b"a{x=\"1\"}", || {
                Ok(Some(labels!("__name__" => "a", "x" => "1")))
            })
            .unwrap();
        assert_eq!(e.hash, labels!("__name__" => "a", "x" => "1").stable_hash());
        e.set_sref(SeriesRef(7));
        let d = c.entry(b"dropped", || Ok(None)).unwrap();
        assert!(d.labels.is_none());
        assert_eq!(c.len(), 2);

        c.begin_scrape(Format::PrometheusText);
        let e = c
            .entry(b"a{x=\"1\"}", || panic!("cached: make is not called"))
            .unwrap();
        assert_eq!(e.sref(), Some(SeriesRef(7)));
        c.end_scrape_ok();
        assert_eq!(c.len(), 1, "`dropped` was not seen in the second scrape");
        assert_eq!(c.refs(), HashSet::from([7]));
    }

    /// One scrape writing `series` (text = metric name).
    fn scrape(c: &mut SeriesCache, format: Format, series: &[&str]) {
        c.begin_scrape(format);
        let iter = c.iteration();
        for name in series {
            let e = c
                .entry(name.as_bytes(), || Ok(Some(labels!("__name__" => *name))))
                .unwrap();
            if e.mark_written(iter) {
                c.wrote();
            }
        }
    }

    fn names<'a>(it: impl Iterator<Item = &'a Labels>) -> Vec<String> {
        let mut v: Vec<String> = it
            .map(|l| l.metric_name().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn staleness_follows_the_last_successful_scrape() {
        let text = Format::PrometheusText;
        let mut c = SeriesCache::default();
        scrape(&mut c, text, &["a", "b"]);
        assert!(c.stale().is_empty(), "nothing before the first scrape");
        c.end_scrape_ok();
        assert_eq!(names(c.prev_labels()), ["a", "b"]);

        scrape(&mut c, text, &["a", "c"]);
        assert_eq!(names(c.stale().iter().map(|x| &x.0)), ["b"]);
        assert_eq!(names(c.cur_labels()), ["a", "c"]);
        // Mid-scrape, the previous set is still the last successful one.
        assert_eq!(names(c.prev_labels()), ["a", "b"]);
        c.end_scrape_ok();
        assert_eq!(names(c.prev_labels()), ["a", "c"]);

        // A failed scrape that wrote part of the body: the previous set is
        // still the last successful one, then forgotten.
        scrape(&mut c, text, &["a"]);
        assert_eq!(names(c.prev_labels()), ["a", "c"]);
        c.forget_prev();
        assert_eq!(names(c.prev_labels()), Vec::<String>::new());
        scrape(&mut c, text, &["d"]);
        assert!(c.stale().is_empty(), "after a failure nothing is previous");
        c.end_scrape_ok();

        // A change of format empties the cache but keeps the previous set.
        scrape(&mut c, Format::OpenMetrics, &["e"]);
        assert_eq!(c.len(), 1);
        assert_eq!(names(c.stale().iter().map(|x| &x.0)), ["d"]);
        c.end_scrape_ok();
        assert_eq!(names(c.prev_labels()), ["e"]);

        // A successor loop adopts the set; a label set written again under
        // another text is not stale.
        let mut next = SeriesCache::default();
        next.adopt_prev(c.prev_set());
        next.begin_scrape(text);
        let iter = next.iteration();
        let first = next
            .entry(b"e{}", || Ok(Some(labels!("__name__" => "e"))))
            .unwrap()
            .mark_written(iter);
        assert!(first);
        next.wrote();
        assert!(next.stale().is_empty());
        next.end_scrape_ok();
        assert_eq!(names(next.prev_labels()), ["e"]);
    }

    #[test]
    fn a_format_change_empties_the_cache() {
        let mut c = SeriesCache::default();
        c.begin_scrape(Format::PrometheusText);
        c.entry(b"a", || Ok(None)).unwrap();
        c.begin_scrape(Format::PrometheusText);
        assert_eq!(c.len(), 1);
        c.begin_scrape(Format::OpenMetrics);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn errors_from_make_cache_nothing() {
        let mut c = SeriesCache::default();
        c.begin_scrape(Format::PrometheusText);
        let r = c.entry(b"bad", || Err("label_limit exceeded".into()));
        assert_eq!(r.err().as_deref(), Some("label_limit exceeded"));
        assert_eq!(c.len(), 0);
        // the next attempt runs `make` again
        let e = c.entry(b"bad", || Ok(None)).unwrap();
        assert!(e.labels.is_none());
    }

    #[test]
    fn a_hash_collision_replaces_the_entry_instead_of_returning_it() {
        let mut c = SeriesCache::default();
        c.begin_scrape(Format::PrometheusText);
        c.entry(b"one", || Ok(Some(labels!("__name__" => "one"))))
            .unwrap()
            .set_sref(SeriesRef(1));
        // Force a collision: move the entry under the hash of "two".
        let h_one = key_hash(b"one", c.seed).0;
        let h_two = key_hash(b"two", c.seed).0;
        let i = c.index.remove(&h_one).unwrap();
        c.index.insert(h_two, i);
        c.entries[i as usize].key = h_two;
        // The next-entry guess sees the colliding entry first.
        c.cursor = 0;
        let e = c
            .entry(b"two", || Ok(Some(labels!("__name__" => "two"))))
            .unwrap();
        assert_eq!(e.labels, Some(labels!("__name__" => "two")));
        assert_eq!(e.sref(), None);
    }

    #[test]
    fn steady_scrapes_skip_the_end_passes_but_a_replaced_entry_does_not_count_twice() {
        let text = Format::PrometheusText;
        let mut c = SeriesCache::default();
        scrape(&mut c, text, &["a", "b"]);
        c.end_scrape_ok();
        scrape(&mut c, text, &["a", "b"]);
        assert_eq!((c.seen, c.written), (2, 2));
        assert!(c.stale().is_empty());
        c.end_scrape_ok();
        assert_eq!(c.len(), 2);

        // "a" is seen and written, then another text colliding with its
        // key replaces it and is written: still one seen, one written,
        // so "b" (not seen) is stale and evicted.
        scrape(&mut c, text, &["a"]);
        let h_a = key_hash(b"a", c.seed).0;
        let h_x = key_hash(b"x", c.seed).0;
        let i = c.index.remove(&h_a).unwrap();
        c.index.insert(h_x, i);
        c.entries[i as usize].key = h_x;
        let iter = c.iteration();
        let e = c
            .entry(b"x", || Ok(Some(labels!("__name__" => "x"))))
            .unwrap();
        if e.mark_written(iter) {
            c.wrote();
        }
        assert_eq!((c.seen, c.written), (1, 1));
        assert_eq!(names(c.stale().iter().map(|x| &x.0)), ["b"]);
        c.end_scrape_ok();
        assert_eq!(c.len(), 1, "b evicted");
    }

    #[test]
    fn entries_stay_small() {
        // The cache holds one per series of every target.
        assert!(std::mem::size_of::<CacheEntry>() <= 64);
    }

    #[test]
    fn reordered_series_hit_and_eviction_keeps_the_index_right() {
        let mut c = SeriesCache::default();
        let pass = |c: &mut SeriesCache, texts: &[&str], expect_new: &[&str]| {
            c.begin_scrape(Format::PrometheusText);
            for (i, t) in texts.iter().enumerate() {
                let mut made = false;
                let e = c
                    .entry(t.as_bytes(), || {
                        made = true;
                        Ok(Some(labels!("__name__" => *t)))
                    })
                    .unwrap();
                assert_eq!(e.labels, Some(labels!("__name__" => *t)));
                if e.sref().is_none() {
                    e.set_sref(SeriesRef(i as u64 + 100 * u64::from(t.as_bytes()[0])));
                }
                assert_eq!(made, expect_new.contains(t), "{t} in {texts:?}");
            }
            c.end_scrape_ok();
        };
        pass(&mut c, &["a", "b", "c"], &["a", "b", "c"]);
        pass(&mut c, &["a", "b", "c"], &[]);
        pass(&mut c, &["c", "a", "d", "b", "a"], &["d"]);
        assert_eq!(c.len(), 4);
        pass(&mut c, &["b", "e"], &["e"]);
        assert_eq!(c.len(), 2);
        pass(&mut c, &["e", "b", "a"], &["a"]);
        assert_eq!(c.len(), 3);
        assert_eq!(c.refs().len(), 3);
    }

    #[test]
    fn prehashed_maps_work_with_any_key_bytes() {
        let mut s = SeriesSet::default();
        s.insert(42, labels!("a" => "b"));
        assert!(s.contains_key(&42));
        let mut h = PrehashedU64::default();
        h.write(b"xy");
        assert_ne!(h.finish(), 0);
    }
}
