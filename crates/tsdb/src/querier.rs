//! Merging queriers: blocks and the head seen as one.
//!
//! [`MergeQuerier`] asks each part, merges the series lists by labels and,
//! for a series present in several parts, merges the samples by time. Equal
//! timestamps are deduplicated; the part listed *last* wins (the Db lists
//! blocks oldest first and the head last, so the head wins).

use std::collections::BTreeSet;

use promlite_model::{
    Labels, Matcher, Querier, SampleIterator, SelectHints, Series, StorageError, ValueType,
};

/// A querier over several parts, later parts taking precedence.
pub struct MergeQuerier<'a> {
    parts: Vec<Box<dyn Querier + 'a>>,
}

impl<'a> MergeQuerier<'a> {
    /// Merges `parts`, lowest priority first.
    pub fn new(parts: Vec<Box<dyn Querier + 'a>>) -> Self {
        MergeQuerier { parts }
    }
}

/// Merges series lists (each sorted by labels; lowest priority first) into
/// one sorted list; series present in several lists are merged sample by
/// sample. `limit > 0` truncates the result.
pub fn merge_series<'a>(
    lists: Vec<Vec<Box<dyn Series + 'a>>>,
    limit: usize,
) -> Vec<Box<dyn Series + 'a>> {
    let non_empty = lists.iter().filter(|l| !l.is_empty()).count();
    if non_empty <= 1 {
        let mut out = lists
            .into_iter()
            .find(|l| !l.is_empty())
            .unwrap_or_default();
        if limit > 0 {
            out.truncate(limit);
        }
        return out;
    }
    if aligned(&lists) {
        return merge_aligned(lists, limit);
    }
    let mut all: Vec<(usize, Box<dyn Series + 'a>)> = Vec::new();
    for (i, l) in lists.into_iter().enumerate() {
        all.extend(l.into_iter().map(|s| (i, s)));
    }
    // Within equal labels, list order (priority) is kept.
    all.sort_by(|a, b| a.1.labels().cmp(b.1.labels()).then(a.0.cmp(&b.0)));
    let mut out: Vec<Box<dyn Series + 'a>> = Vec::new();
    let mut group: Vec<Box<dyn Series + 'a>> = Vec::new();
    for (_, s) in all {
        if group.first().is_some_and(|g| g.labels() != s.labels()) {
            flush(&mut group, &mut out);
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
        group.push(s);
    }
    flush(&mut group, &mut out);
    if limit > 0 {
        out.truncate(limit);
    }
    out
}

/// Whether the non-empty lists hold the same series in the same order
/// (the usual case: consecutive blocks of the same targets), checked by
/// comparing label sets for equality, which is a byte comparison and much
/// cheaper than ordering them.
fn aligned(lists: &[Vec<Box<dyn Series + '_>>]) -> bool {
    let mut full = lists.iter().filter(|l| !l.is_empty());
    let Some(first) = full.next() else {
        return false;
    };
    full.all(|l| {
        l.len() == first.len()
            && l.iter()
                .zip(first.iter())
                .all(|(a, b)| a.labels() == b.labels())
    })
}

/// [`merge_series`] of lists that are [`aligned`]: the series at the same
/// position form a group (parts in list order, as the sort keeps them), so
/// nothing needs sorting.
fn merge_aligned<'a>(
    lists: Vec<Vec<Box<dyn Series + 'a>>>,
    limit: usize,
) -> Vec<Box<dyn Series + 'a>> {
    let n = lists.iter().map(Vec::len).max().unwrap_or(0);
    let mut columns: Vec<_> = lists
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(Vec::into_iter)
        .collect();
    let mut out: Vec<Box<dyn Series + 'a>> = Vec::with_capacity(n);
    let mut group: Vec<Box<dyn Series + 'a>> = Vec::with_capacity(columns.len());
    for _ in 0..n {
        group.extend(columns.iter_mut().filter_map(Iterator::next));
        flush(&mut group, &mut out);
        if limit > 0 && out.len() >= limit {
            break;
        }
    }
    out
}

/// Moves a group of equally labelled series to `out`, merged if several.
fn flush<'s>(group: &mut Vec<Box<dyn Series + 's>>, out: &mut Vec<Box<dyn Series + 's>>) {
    if group.len() == 1 {
        out.extend(group.pop());
    } else if let Some(first) = group.first() {
        let labels = first.labels().clone();
        out.push(Box::new(MergedSeries {
            labels,
            parts: std::mem::take(group),
        }));
    }
}

/// A series found in more than one part.
struct MergedSeries<'a> {
    labels: Labels,
    /// Lowest priority first.
    parts: Vec<Box<dyn Series + 'a>>,
}

impl MergedSeries<'_> {
    /// Parts that follow each other in time are concatenated, each read
    /// with `read` (a read that may leave samples out but keeps every
    /// part's first and last timestamps, so overlaps are found as in
    /// [`Series::append_samples`]); when parts overlap, every sample is
    /// merged as there. Returns the samples left out in all.
    fn append_parts(
        &self,
        out: &mut Vec<(i64, f64)>,
        read: impl Fn(&dyn Series, &mut Vec<(i64, f64)>) -> Result<usize, StorageError>,
    ) -> Result<usize, StorageError> {
        let base = out.len();
        let mut hidden = 0usize;
        for p in &self.parts {
            let before = out.len();
            hidden += read(p.as_ref(), out)?;
            if starts_before_end(out, base, before) {
                out.truncate(base);
                self.append_samples(out)?;
                return Ok(0);
            }
        }
        Ok(hidden)
    }
}

impl Series for MergedSeries<'_> {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(MergedIterator::new(
            self.parts.iter().map(|p| p.iter()).collect(),
        ))
    }

    /// Parts that follow each other in time (blocks oldest first, then the
    /// head) are concatenated; overlapping ones are merged sample by sample.
    fn append_samples(&self, out: &mut Vec<(i64, f64)>) -> Result<(), StorageError> {
        let base = out.len();
        for p in &self.parts {
            let before = out.len();
            p.append_samples(out)?;
            let overlaps = starts_before_end(out, base, before);
            if overlaps {
                out.truncate(base);
                let mut it = self.iter();
                while it.next() == ValueType::Float {
                    out.push(it.at());
                }
                return match it.err() {
                    Some(e) => Err(e),
                    None => Ok(()),
                };
            }
        }
        Ok(())
    }

    /// Each part thin (see [`Series::append_samples_thin`]), as
    /// [`MergedSeries::append_parts`] concatenates or merges them.
    fn append_samples_thin(&self, out: &mut Vec<(i64, f64)>) -> Result<usize, StorageError> {
        self.append_parts(out, |p, out| p.append_samples_thin(out))
    }

    /// Each part folded (see [`Series::append_samples_extreme`]), as
    /// [`MergedSeries::append_parts`] concatenates or merges them.
    fn append_samples_extreme(
        &self,
        out: &mut Vec<(i64, f64)>,
        max: bool,
    ) -> Result<usize, StorageError> {
        self.append_parts(out, |p, out| p.append_samples_extreme(out, max))
    }

    /// The newest of the parts' newest samples; on equal timestamps the
    /// part listed last wins, as in iteration.
    fn last_sample(&self) -> Result<Option<(i64, f64)>, StorageError> {
        let mut best: Option<(i64, f64)> = None;
        for p in &self.parts {
            if let Some(s) = p.last_sample()? {
                if best.is_none_or(|b| s.0 >= b.0) {
                    best = Some(s);
                }
            }
        }
        Ok(best)
    }
}

impl Querier for MergeQuerier<'_> {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series + '_>>, StorageError> {
        let mut lists = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            lists.push(p.select(hints, matchers)?);
        }
        Ok(merge_series(lists, hints.limit))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let mut set = BTreeSet::new();
        for p in &self.parts {
            set.extend(p.label_values(name, matchers)?);
        }
        Ok(set.into_iter().collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let mut set = BTreeSet::new();
        for p in &self.parts {
            set.extend(p.label_names(matchers)?);
        }
        Ok(set.into_iter().collect())
    }
}

/// Merges sample iterators by time; on equal timestamps the one listed last wins.
pub struct MergedIterator<'a> {
    its: Vec<Box<dyn SampleIterator + 'a>>,
    cur: Vec<Option<(i64, f64)>>,
    started: bool,
    at: Option<(i64, f64)>,
}

impl<'a> MergedIterator<'a> {
    /// Merges `its`, lowest priority first.
    pub fn new(its: Vec<Box<dyn SampleIterator + 'a>>) -> Self {
        let n = its.len();
        MergedIterator {
            its,
            cur: vec![None; n],
            started: false,
            at: None,
        }
    }

    fn pick(&mut self) -> ValueType {
        let mut best: Option<(i64, f64)> = None;
        for c in self.cur.iter().flatten() {
            // `<=` lets later (higher priority) iterators win ties.
            if best.is_none_or(|b| c.0 <= b.0) {
                best = Some(*c);
            }
        }
        self.at = best;
        if best.is_some() {
            ValueType::Float
        } else {
            ValueType::None
        }
    }
}

fn pos(it: &dyn SampleIterator, vt: ValueType) -> Option<(i64, f64)> {
    match vt {
        ValueType::Float => Some(it.at()),
        ValueType::None => None,
    }
}

impl SampleIterator for MergedIterator<'_> {
    fn next(&mut self) -> ValueType {
        if !self.started {
            self.started = true;
            for (i, it) in self.its.iter_mut().enumerate() {
                let vt = it.next();
                self.cur[i] = pos(it.as_ref(), vt);
            }
            return self.pick();
        }
        let Some((t, _)) = self.at else {
            return ValueType::None;
        };
        for (i, it) in self.its.iter_mut().enumerate() {
            if self.cur[i].is_some_and(|c| c.0 == t) {
                let vt = it.next();
                self.cur[i] = pos(it.as_ref(), vt);
            }
        }
        self.pick()
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.started {
            match self.at {
                None => return ValueType::None,
                Some(a) if a.0 >= t => return ValueType::Float,
                _ => {}
            }
        }
        let fresh = !self.started;
        self.started = true;
        for (i, it) in self.its.iter_mut().enumerate() {
            if fresh || self.cur[i].is_some_and(|c| c.0 < t) {
                let vt = it.seek(t);
                self.cur[i] = pos(it.as_ref(), vt);
            }
        }
        self.pick()
    }

    fn at(&self) -> (i64, f64) {
        self.at.unwrap_or((0, 0.0))
    }

    fn err(&self) -> Option<StorageError> {
        self.its.iter().find_map(|i| i.err())
    }
}

/// True when the samples a part appended at `out[before..]` start at or
/// before the end of what earlier parts appended since `base` (the parts
/// overlap in time and must be merged sample by sample).
fn starts_before_end(out: &[(i64, f64)], base: usize, before: usize) -> bool {
    before > base
        && match (out.get(before - 1), out.get(before)) {
            (Some(prev), Some(first)) => first.0 <= prev.0,
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::{labels, MemStorage, Queryable, VecSampleIterator};

    fn drain(it: &mut dyn SampleIterator) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        while it.next() == ValueType::Float {
            out.push(it.at());
        }
        out
    }

    #[test]
    fn merged_iterator_dedups_and_prefers_later() {
        let a = [(1, 1.0), (3, 3.0), (5, 5.0)];
        let b = [(2, 20.0), (3, 30.0), (6, 60.0)];
        let mut it = MergedIterator::new(vec![
            Box::new(VecSampleIterator::new(&a)),
            Box::new(VecSampleIterator::new(&b)),
        ]);
        assert_eq!(
            drain(&mut it),
            vec![(1, 1.0), (2, 20.0), (3, 30.0), (5, 5.0), (6, 60.0)]
        );
        let mut it = MergedIterator::new(vec![
            Box::new(VecSampleIterator::new(&a)),
            Box::new(VecSampleIterator::new(&b)),
        ]);
        assert_eq!(it.seek(3), ValueType::Float);
        assert_eq!(it.at(), (3, 30.0));
        assert_eq!(it.seek(2), ValueType::Float);
        assert_eq!(it.at(), (3, 30.0));
        assert_eq!(it.seek(4), ValueType::Float);
        assert_eq!(it.at(), (5, 5.0));
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (6, 60.0));
        assert_eq!(it.next(), ValueType::None);
        assert_eq!(it.seek(100), ValueType::None);
    }

    #[test]
    fn bulk_read_concatenates_parts_that_follow_in_time() {
        let parts: Vec<MemStorage> = (0..3).map(|_| MemStorage::new()).collect();
        let l = labels!("__name__" => "m");
        parts[0].insert(l.clone(), &[(1, 1.0), (2, 2.0)]);
        parts[1].insert(l.clone(), &[]);
        parts[2].insert(l.clone(), &[(5, 5.0), (6, 6.0)]);
        let q = MergeQuerier::new(parts.iter().map(|p| p.querier(0, 10).unwrap()).collect());
        let series = q
            .select(&SelectHints::default(), &[Matcher::equal("__name__", "m")])
            .unwrap();
        let mut bulk = vec![(-1, -1.0)];
        series[0].append_samples(&mut bulk).unwrap();
        assert_eq!(
            bulk,
            vec![(-1, -1.0), (1, 1.0), (2, 2.0), (5, 5.0), (6, 6.0)]
        );
        assert_eq!(drain(series[0].iter().as_mut()), bulk[1..].to_vec());
    }

    /// Parts holding the same series (the aligned path, no sort) and parts
    /// that do not (the sorted path) merge alike: labels in order, each
    /// series' parts in priority order (the later part wins equal
    /// timestamps), the limit applied, empty parts ignored.
    #[test]
    fn aligned_and_unaligned_parts_merge_alike() {
        let ids = ["1", "2", "3", "4", "5"];
        for (skip, limit) in [(None, 0), (None, 2), (Some("3"), 0), (Some("1"), 3)] {
            let parts: Vec<MemStorage> = (0..4).map(|_| MemStorage::new()).collect();
            for (p, part) in parts.iter().enumerate().take(3) {
                for (k, id) in ids.iter().enumerate() {
                    if p == 1 && skip == Some(*id) {
                        continue;
                    }
                    let t0 = p as i64 * 10;
                    let v = (p * 100 + k) as f64;
                    // Parts overlap at one timestamp each.
                    part.insert(
                        labels!("__name__" => "m", "i" => *id),
                        &[(t0, v), (t0 + 5, v), (t0 + 10, v + 0.5)],
                    );
                }
            }
            let q = MergeQuerier::new(parts.iter().map(|p| p.querier(0, 100).unwrap()).collect());
            let hints = SelectHints {
                limit,
                ..Default::default()
            };
            let series = q
                .select(&hints, &[Matcher::equal("__name__", "m")])
                .unwrap();
            let want_n = if limit > 0 { limit } else { ids.len() };
            assert_eq!(series.len(), want_n, "skip {skip:?} limit {limit}");
            for (s, id) in series.iter().zip(ids) {
                assert_eq!(s.labels().get_or_empty("i"), id);
                let k = ids.iter().position(|x| *x == id).unwrap_or(0);
                let mut want: Vec<(i64, f64)> = Vec::new();
                for p in 0..3usize {
                    if p == 1 && skip == Some(id) {
                        continue;
                    }
                    let (t0, v) = (p as i64 * 10, (p * 100 + k) as f64);
                    want.retain(|x| x.0 < t0);
                    want.extend([(t0, v), (t0 + 5, v), (t0 + 10, v + 0.5)]);
                }
                assert_eq!(drain(s.iter().as_mut()), want, "series {id}");
                let mut bulk = Vec::new();
                s.append_samples(&mut bulk).unwrap();
                assert_eq!(bulk, want, "series {id}, bulk");
            }
        }
    }

    #[test]
    fn merge_querier_merges_series_lists() {
        let old = MemStorage::new();
        let new = MemStorage::new();
        old.insert(
            labels!("__name__" => "m", "i" => "1"),
            &[(1, 1.0), (2, 2.0)],
        );
        old.insert(labels!("__name__" => "m", "i" => "3"), &[(1, 1.0)]);
        new.insert(
            labels!("__name__" => "m", "i" => "1"),
            &[(2, 9.0), (3, 3.0)],
        );
        new.insert(labels!("__name__" => "m", "i" => "2"), &[(1, 1.0)]);
        let q = MergeQuerier::new(vec![
            old.querier(0, 10).unwrap(),
            new.querier(0, 10).unwrap(),
        ]);
        let series = q
            .select(&SelectHints::default(), &[Matcher::equal("__name__", "m")])
            .unwrap();
        let names: Vec<&str> = series
            .iter()
            .map(|s| s.labels().get_or_empty("i"))
            .collect();
        assert_eq!(names, vec!["1", "2", "3"]);
        assert_eq!(
            drain(series[0].iter().as_mut()),
            vec![(1, 1.0), (2, 9.0), (3, 3.0)]
        );
        // Bulk reading gives what the iterator gives, overlapping parts too.
        let mut bulk = Vec::new();
        series[0].append_samples(&mut bulk).unwrap();
        assert_eq!(bulk, vec![(1, 1.0), (2, 9.0), (3, 3.0)]);
        assert_eq!(q.label_values("i", &[]).unwrap(), vec!["1", "2", "3"]);
        assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "i"]);
    }
}
