//! Collecting result series, merging those that end up with the same labels.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use promlite_model::Labels;

use super::Range;
use crate::error::QueryError;
use crate::value::{FPoint, Series};

/// The error Prometheus gives when two results share a label set at a step.
pub(crate) fn same_labelset_error() -> QueryError {
    QueryError::Execution("vector cannot contain metrics with the same labelset".into())
}

/// Output series keyed by labels. Two inputs mapping to the same labels are
/// merged; if both have a point at the same step that is the error
/// "vector cannot contain metrics with the same labelset".
pub(crate) struct SeriesSet {
    index: HashMap<Labels, usize, BuildHasherDefault<LabelsHasher>>,
    series: Vec<Series>,
    /// Whether a series' points are still in time order.
    sorted: Vec<bool>,
}

impl SeriesSet {
    /// An empty set for an evaluation over `range`.
    pub fn new(_range: Range) -> Self {
        SeriesSet {
            index: HashMap::default(),
            series: Vec::new(),
            sorted: Vec::new(),
        }
    }

    /// Adds points (in time order) under `metric`.
    pub fn push(&mut self, metric: Labels, points: Vec<FPoint>) -> Result<(), QueryError> {
        if points.is_empty() {
            return Ok(());
        }
        // One hash per push: the entry keeps the key, the series a clone
        // (an `Arc` increment).
        match self.index.entry(metric) {
            Entry::Vacant(v) => {
                let metric = v.key().clone();
                v.insert(self.series.len());
                self.series.push(Series {
                    metric,
                    floats: points,
                });
                self.sorted.push(true);
            }
            Entry::Occupied(o) => {
                let i = *o.get();
                let s = &mut self.series[i];
                let last = s.floats.last().map(|p| p.t).unwrap_or(i64::MIN);
                let first_new = points.first().map(|p| p.t).unwrap_or(i64::MAX);
                if first_new <= last {
                    self.sorted[i] = false;
                }
                s.floats.extend(points);
            }
        }
        Ok(())
    }

    /// The index of the output series with `metric`, created empty if new.
    /// Resolve it once per input series, then use [`SeriesSet::push_at`].
    pub fn slot(&mut self, metric: &Labels) -> usize {
        let i = self.series.len();
        match self.index.entry(metric.clone()) {
            Entry::Occupied(o) => return *o.get(),
            Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        self.series.push(Series {
            metric: metric.clone(),
            floats: Vec::new(),
        });
        self.sorted.push(true);
        i
    }

    /// Adds one point to the series at `slot`.
    pub fn push_at(&mut self, slot: usize, t: i64, f: f64) -> Result<(), QueryError> {
        let (Some(s), Some(sorted)) = (self.series.get_mut(slot), self.sorted.get_mut(slot)) else {
            return Ok(());
        };
        match s.floats.last() {
            Some(p) if p.t == t => return Err(same_labelset_error()),
            Some(p) if p.t > t => *sorted = false,
            _ => {}
        }
        s.floats.push(FPoint { t, f });
        Ok(())
    }

    /// Adds one point.
    pub fn push_point(&mut self, metric: &Labels, t: i64, f: f64) -> Result<(), QueryError> {
        let i = self.slot(metric);
        self.push_at(i, t, f)
    }

    /// The series, in first-seen order; fails on duplicate points.
    pub fn finish(mut self) -> Result<Vec<Series>, QueryError> {
        for (s, sorted) in self.series.iter_mut().zip(self.sorted.iter()) {
            if !*sorted {
                s.floats.sort_by_key(|p| p.t);
                if s.floats.windows(2).any(|w| w[0].t == w[1].t) {
                    return Err(same_labelset_error());
                }
            }
        }
        self.series.retain(|s| !s.floats.is_empty());
        Ok(self.series)
    }
}

/// The hasher of [`SeriesSet`]'s index: XXH3 over the label set's encoded
/// text (what `Labels`' `Hash` writes: the text, then a `0xff` byte), not
/// SipHash. A set of a hundred bytes hashed in a few dozen instructions
/// instead of a few hundred; the keys are label sets of stored series, and
/// a collision only costs a comparison.
#[derive(Default)]
pub(crate) struct LabelsHasher(u64);

impl Hasher for LabelsHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use promlite_model::Labels;

    use super::{LabelsHasher, SeriesSet};
    use crate::eval::Range;
    use crate::value::FPoint;

    fn pts(ts: &[i64]) -> Vec<FPoint> {
        ts.iter().map(|&t| FPoint { t, f: t as f64 }).collect()
    }

    #[test]
    fn equal_label_sets_merge_and_distinct_ones_stay_apart() {
        let b = BuildHasherDefault::<LabelsHasher>::default();
        let a1 = Labels::from_pairs([("job", "a"), ("i", "1")]);
        let a2 = Labels::from_pairs([("i", "1"), ("job", "a")]);
        assert!(!a1.ptr_eq(&a2));
        assert_eq!(b.hash_one(&a1), b.hash_one(&a2));
        let mut set = SeriesSet::new(Range {
            start: 0,
            end: 0,
            interval: 1,
        });
        let many: Vec<Labels> = (0..300)
            .map(|i| Labels::from_pairs([("i", i.to_string())]))
            .collect();
        for (k, l) in many.iter().enumerate() {
            set.push(l.clone(), pts(&[k as i64])).unwrap();
        }
        set.push(a1, pts(&[1, 2])).unwrap();
        set.push(a2.clone(), pts(&[3])).unwrap();
        assert_eq!(set.slot(&a2), 300);
        assert_eq!(set.slot(&many[7]), 7);
        let out = set.finish().unwrap();
        assert_eq!(out.len(), 301);
        assert_eq!(out[300].metric, a2);
        assert_eq!(out[300].floats, pts(&[1, 2, 3]));
        for (k, s) in out.iter().take(300).enumerate() {
            assert_eq!(s.metric, many[k]);
        }
        let mut dup = SeriesSet::new(Range {
            start: 0,
            end: 0,
            interval: 1,
        });
        let l = Labels::from_pairs([("a", "b")]);
        dup.push(l.clone(), pts(&[5])).unwrap();
        dup.push(l, pts(&[5])).unwrap();
        assert!(dup.finish().is_err());
    }
}
