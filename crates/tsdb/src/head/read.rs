//! Reading the head: the [`Querier`] over its series.

use std::collections::BTreeSet;

use promlite_model::{Labels, Matcher, Querier, SampleIterator, SelectHints, Series, StorageError};

use super::Head;
use crate::chunk::{ChunkData, ChunksIterator};

/// A querier over the head for `[mint, maxt]`.
pub struct HeadQuerier<'a> {
    head: &'a Head,
    mint: i64,
    maxt: i64,
}

/// One head series as seen by a query: labels and a snapshot of its chunks.
pub struct HeadSeries {
    labels: Labels,
    chunks: Vec<ChunkData>,
    mint: i64,
    maxt: i64,
}

impl Series for HeadSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(ChunksIterator::new(
            self.chunks.clone(),
            self.mint,
            self.maxt,
        ))
    }
}

/// The error Prometheus gives for selectors that would match every series.
pub(crate) fn check_matchers(matchers: &[Matcher]) -> Result<(), StorageError> {
    if !matchers.is_empty() && matchers.iter().all(|m| m.matches_empty()) {
        return Err(StorageError::Other(
            "vector selector must contain at least one non-empty matcher".into(),
        ));
    }
    Ok(())
}

impl<'a> HeadQuerier<'a> {
    /// A querier over `[mint, maxt]` (inclusive).
    pub fn new(head: &'a Head, mint: i64, maxt: i64) -> Self {
        HeadQuerier { head, mint, maxt }
    }

    /// Series matching `matchers` with data in range, sorted by labels.
    pub fn select_series(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<HeadSeries>, StorageError> {
        check_matchers(matchers)?;
        // Hints' ranges are advisory; the querier's range is what restricts.
        let (mint, maxt) = (self.mint, self.maxt);
        let mut out = Vec::new();
        if mint > maxt {
            return Ok(out);
        }
        // Taken before the postings lookup: a batch's series exist (they are
        // created at append time) before the batch is applied.
        let _isolation = self.head.isolation.read();
        let segs = self.head.segments.read();
        let pinned = self.head.pinned();
        for r in self.head.select_refs(matchers) {
            let Some(s) = pinned.get(r) else {
                continue;
            };
            let chunks = s.data.lock().snapshot(mint, maxt, &segs);
            if chunks.is_empty() {
                continue;
            }
            let chunks = if hints.labels_only {
                Vec::new()
            } else {
                chunks
            };
            out.push(HeadSeries {
                labels: s.labels.clone(),
                chunks,
                mint,
                maxt,
            });
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        if hints.limit > 0 {
            out.truncate(hints.limit);
        }
        Ok(out)
    }

    fn overlaps(&self) -> bool {
        match (self.head.min_time(), self.head.max_time()) {
            (Some(min), Some(max)) => min <= self.maxt && max >= self.mint,
            _ => false,
        }
    }

    /// Labels of series matching `matchers` that have data in range.
    fn matching_labels(&self, matchers: &[Matcher]) -> Vec<Labels> {
        let mut out = Vec::new();
        let pinned = self.head.pinned();
        for r in self.head.select_refs(matchers) {
            if let Some(s) = pinned.get(r) {
                let has_data = s
                    .data
                    .lock()
                    .time_range()
                    .is_some_and(|(a, b)| a <= self.maxt && b >= self.mint);
                if has_data {
                    out.push(s.labels.clone());
                }
            }
        }
        out
    }
}

impl Querier for HeadQuerier<'_> {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series + '_>>, StorageError> {
        Ok(self
            .select_series(hints, matchers)?
            .into_iter()
            .map(|s| Box::new(s) as Box<dyn Series>)
            .collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if !self.overlaps() {
            return Ok(Vec::new());
        }
        if matchers.is_empty() {
            return Ok(self.head.postings.read().label_values(name));
        }
        let set: BTreeSet<String> = self
            .matching_labels(matchers)
            .iter()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        Ok(set.into_iter().collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if !self.overlaps() {
            return Ok(Vec::new());
        }
        if matchers.is_empty() {
            return Ok(self.head.postings.read().label_names());
        }
        let set: BTreeSet<String> = self
            .matching_labels(matchers)
            .iter()
            .flat_map(|l| l.iter().map(|x| x.name.to_string()).collect::<Vec<_>>())
            .collect();
        Ok(set.into_iter().collect())
    }
}
