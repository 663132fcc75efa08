//! The per-target scrape cache, as in Prometheus's `scrapeCache`: the raw
//! series text of a sample (`name{labels}` exactly as exposed, from
//! `Parser::series_bytes`) maps to the final labels after target labels and
//! `metric_relabel_configs` (or "dropped") and the storage's series
//! reference. A series seen in the previous scrape therefore costs one hash
//! of its bytes and one table probe: no label building, no relabeling, and
//! the storage gets the reference instead of looking the labels up.
//!
//! Entries not seen in a successful scrape are evicted at its end.

use std::collections::hash_map::{Entry, HashMap, RandomState};
#[cfg(test)]
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
    /// The raw series bytes this entry is for (a 64-bit hash collision
    /// replaces the entry rather than returning the wrong one).
    key: Box<[u8]>,
    /// Final labels; `None` when metric relabeling drops the series.
    pub labels: Option<Labels>,
    /// `labels.stable_hash()` (0 when dropped).
    pub hash: u64,
    /// The storage's reference, once a sample was appended.
    pub sref: Option<SeriesRef>,
    last_iter: u64,
}

/// The cache of one scrape loop.
#[derive(Debug)]
pub(crate) struct SeriesCache {
    map: HashMap<u64, CacheEntry, Prehashed>,
    /// Seeds the key hash per loop, so a target cannot choose colliding
    /// series names in advance.
    seed: u64,
    iter: u64,
    /// Format of the last scrape.
    format: Option<Format>,
}

impl Default for SeriesCache {
    fn default() -> Self {
        SeriesCache {
            map: HashMap::default(),
            seed: RandomState::new().hash_one(0x5eed_u64),
            iter: 0,
            format: None,
        }
    }
}

impl SeriesCache {
    /// Starts a scrape of a body in `format`: entries touched from now on
    /// count as seen in it. A change of format empties the cache, because
    /// the same series text can be valid in one format and not the other.
    pub fn begin_scrape(&mut self, format: Format) {
        if self.format != Some(format) {
            self.map.clear();
            self.format = Some(format);
        }
        self.iter += 1;
    }

    /// The entry for the series whose raw text is `key`, created with the
    /// labels `make` returns (`Ok(None)`: dropped) when it is not cached.
    /// An error from `make` is returned and nothing is cached.
    pub fn entry(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Result<Option<Labels>, String>,
    ) -> Result<&mut CacheEntry, String> {
        let h = xxhash_rust::xxh3::xxh3_64_with_seed(key, self.seed);
        let iter = self.iter;
        let e = match self.map.entry(h) {
            Entry::Occupied(o) => {
                let e = o.into_mut();
                if &*e.key != key {
                    *e = CacheEntry::new(key, make()?);
                }
                e
            }
            Entry::Vacant(v) => v.insert(CacheEntry::new(key, make()?)),
        };
        e.last_iter = iter;
        Ok(e)
    }

    /// Ends a successful scrape: evicts every entry it did not see.
    pub fn evict_unseen(&mut self) {
        let iter = self.iter;
        self.map.retain(|_, e| e.last_iter == iter);
    }

    /// Number of cached series (kept and dropped).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Distinct storage references held (for tests).
    #[cfg(test)]
    fn refs(&self) -> HashSet<u64> {
        self.map
            .values()
            .filter_map(|e| e.sref.map(|r| r.0))
            .collect()
    }
}

impl CacheEntry {
    fn new(key: &[u8], labels: Option<Labels>) -> CacheEntry {
        let hash = labels.as_ref().map_or(0, Labels::stable_hash);
        CacheEntry {
            key: key.into(),
            labels,
            hash,
            sref: None,
            last_iter: 0,
        }
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
        e.sref = Some(SeriesRef(7));
        let d = c.entry(b"dropped", || Ok(None)).unwrap();
        assert!(d.labels.is_none());
        assert_eq!(c.len(), 2);

        c.begin_scrape(Format::PrometheusText);
        let e = c
            .entry(b"a{x=\"1\"}", || panic!("cached: make is not called"))
            .unwrap();
        assert_eq!(e.sref, Some(SeriesRef(7)));
        c.evict_unseen();
        assert_eq!(c.len(), 1, "`dropped` was not seen in the second scrape");
        assert_eq!(c.refs(), HashSet::from([7]));
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
            .sref = Some(SeriesRef(1));
        // Force a collision: move the entry under the hash of "two".
        let h_one = xxhash_rust::xxh3::xxh3_64_with_seed(b"one", c.seed);
        let h_two = xxhash_rust::xxh3::xxh3_64_with_seed(b"two", c.seed);
        let moved = c.map.remove(&h_one).unwrap();
        c.map.insert(h_two, moved);
        let e = c
            .entry(b"two", || Ok(Some(labels!("__name__" => "two"))))
            .unwrap();
        assert_eq!(e.labels, Some(labels!("__name__" => "two")));
        assert_eq!(e.sref, None);
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
