//! An in-memory implementation of the storage traits, for tests, examples and
//! small embedded uses. Not compressed, not durable.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use crate::storage::{
    Appendable, Appender, Querier, Queryable, SampleIterator, SelectHints, Series, SeriesRef,
};
use crate::{is_stale_nan, AppendError, Labels, Matcher, StorageError, VecSampleIterator};

type Data = BTreeMap<Labels, Vec<(i64, f64)>>;

/// Series kept in a `BTreeMap` behind a lock. Clones share the same data.
///
/// Appends follow the same rules as the on-disk engine: per series, samples
/// must arrive in time order; an equal timestamp with the same value bits is
/// ignored, with another value it is [`AppendError::Duplicate`].
#[derive(Clone, Default)]
pub struct MemStorage {
    data: Arc<RwLock<Data>>,
}

impl MemStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of series.
    pub fn num_series(&self) -> usize {
        self.data.read().map(|d| d.len()).unwrap_or(0)
    }

    /// Adds samples directly (test helper); out-of-order samples are inserted in place.
    pub fn insert(&self, labels: Labels, samples: &[(i64, f64)]) {
        let mut d = self.data.write().unwrap_or_else(|e| e.into_inner());
        let v = d.entry(labels).or_default();
        for &(t, val) in samples {
            match v.binary_search_by(|s| s.0.cmp(&t)) {
                Ok(i) => v[i] = (t, val),
                Err(i) => v.insert(i, (t, val)),
            }
        }
    }

    /// Removes everything.
    pub fn clear(&self) {
        self.data.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl Appendable for MemStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(MemAppender {
            data: self.data.clone(),
            staged: Vec::new(),
            latest: HashMap::new(),
        })
    }
}

struct MemAppender {
    data: Arc<RwLock<Data>>,
    staged: Vec<(Labels, i64, f64)>,
    /// Newest staged sample per series, so validation is O(1) per append.
    latest: HashMap<Labels, (i64, f64)>,
}

impl MemAppender {
    fn latest(&self, labels: &Labels) -> Option<(i64, f64)> {
        self.latest.get(labels).copied().or_else(|| {
            let d = self.data.read().unwrap_or_else(|e| e.into_inner());
            d.get(labels).and_then(|v| v.last().copied())
        })
    }
}

impl Appender for MemAppender {
    fn append(
        &mut self,
        _r: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        if labels.is_empty() {
            return Err(AppendError::InvalidLabels("empty label set".into()));
        }
        if let Some((lt, lv)) = self.latest(labels) {
            if t < lt {
                return Err(AppendError::OutOfOrder);
            }
            if t == lt {
                if lv.to_bits() == v.to_bits() {
                    return Ok(SeriesRef(labels.stable_hash()));
                }
                // Prometheus accepts a staleness marker over an existing sample silently.
                if is_stale_nan(v) {
                    return Ok(SeriesRef(labels.stable_hash()));
                }
                return Err(AppendError::Duplicate);
            }
        }
        self.staged.push((labels.clone(), t, v));
        self.latest.insert(labels.clone(), (t, v));
        Ok(SeriesRef(labels.stable_hash()))
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        let mut d = self.data.write().unwrap_or_else(|e| e.into_inner());
        for (l, t, v) in self.staged.drain(..) {
            d.entry(l).or_default().push((t, v));
        }
        self.latest.clear();
        Ok(())
    }

    fn rollback(&mut self) {
        self.staged.clear();
        self.latest.clear();
    }
}

impl Queryable for MemStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(MemQuerier {
            data: self.data.clone(),
            mint,
            maxt,
        }))
    }
}

struct MemQuerier {
    data: Arc<RwLock<Data>>,
    mint: i64,
    maxt: i64,
}

struct MemSeries {
    labels: Labels,
    samples: Vec<(i64, f64)>,
}

impl Series for MemSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }
    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(VecSampleIterator::new(&self.samples))
    }
}

fn matches_all(l: &Labels, ms: &[Matcher]) -> bool {
    ms.iter().all(|m| m.matches(l.get_or_empty(&m.name)))
}

impl MemQuerier {
    fn in_range<'a>(&self, v: &'a [(i64, f64)]) -> &'a [(i64, f64)] {
        let lo = v.partition_point(|s| s.0 < self.mint);
        let hi = v.partition_point(|s| s.0 <= self.maxt);
        &v[lo..hi.max(lo)]
    }
}

impl Querier for MemQuerier {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series + '_>>, StorageError> {
        if !matchers.is_empty() && matchers.iter().all(|m| m.matches_empty()) {
            return Err(StorageError::Other(
                "vector selector must contain at least one non-empty matcher".into(),
            ));
        }
        let d = self.data.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Box<dyn Series + '_>> = Vec::new();
        for (l, v) in d.iter() {
            if !matches_all(l, matchers) {
                continue;
            }
            let s = self.in_range(v);
            if s.is_empty() {
                continue;
            }
            let samples = if hints.labels_only {
                Vec::new()
            } else {
                s.to_vec()
            };
            out.push(Box::new(MemSeries {
                labels: l.clone(),
                samples,
            }));
            if hints.limit > 0 && out.len() >= hints.limit {
                break;
            }
        }
        Ok(out)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let d = self.data.read().unwrap_or_else(|e| e.into_inner());
        let mut set = BTreeSet::new();
        for (l, v) in d.iter() {
            if matches_all(l, matchers) && !self.in_range(v).is_empty() {
                if let Some(val) = l.get(name) {
                    set.insert(val.to_string());
                }
            }
        }
        Ok(set.into_iter().collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let d = self.data.read().unwrap_or_else(|e| e.into_inner());
        let mut set = BTreeSet::new();
        for (l, v) in d.iter() {
            if matches_all(l, matchers) && !self.in_range(v).is_empty() {
                for lab in l.iter() {
                    set.insert(lab.name.to_string());
                }
            }
        }
        Ok(set.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{labels, MatchOp, ValueType};

    #[test]
    fn append_rules() {
        let db = MemStorage::new();
        let l = labels!("__name__" => "x");
        let mut a = db.appender();
        a.append(None, &l, 10, 1.0).unwrap();
        assert_eq!(a.append(None, &l, 5, 1.0), Err(AppendError::OutOfOrder));
        assert_eq!(a.append(None, &l, 10, 2.0), Err(AppendError::Duplicate));
        a.append(None, &l, 10, 1.0).unwrap();
        a.commit().unwrap();
        let mut a = db.appender();
        a.append(None, &l, 20, 1.0).unwrap();
        a.rollback();
        let q = db.querier(0, 100).unwrap();
        let s = q
            .select(&SelectHints::default(), &[Matcher::equal("__name__", "x")])
            .unwrap();
        let mut it = s[0].iter();
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.next(), ValueType::None);
    }

    #[test]
    fn select_label_apis() {
        let db = MemStorage::new();
        db.insert(labels!("__name__" => "a", "job" => "x"), &[(1, 1.0)]);
        db.insert(
            labels!("__name__" => "b", "job" => "y", "i" => "1"),
            &[(1, 1.0)],
        );
        db.insert(labels!("__name__" => "c", "job" => "z"), &[(500, 1.0)]);
        let q = db.querier(0, 100).unwrap();
        assert_eq!(q.label_values("job", &[]).unwrap(), vec!["x", "y"]);
        assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "i", "job"]);
        let m = Matcher::new(MatchOp::Regex, "job", "x|y").unwrap();
        assert_eq!(q.select(&SelectHints::default(), &[m]).unwrap().len(), 2);
        let empty = Matcher::new(MatchOp::Regex, "job", ".*").unwrap();
        assert!(q.select(&SelectHints::default(), &[empty]).is_err());
    }
}
