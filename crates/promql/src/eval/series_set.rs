//! Collecting result series, merging those that end up with the same labels.

use std::collections::HashMap;

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
    index: HashMap<Labels, usize>,
    series: Vec<Series>,
    /// Whether a series' points are still in time order.
    sorted: Vec<bool>,
}

impl SeriesSet {
    /// An empty set for an evaluation over `range`.
    pub fn new(_range: Range) -> Self {
        SeriesSet {
            index: HashMap::new(),
            series: Vec::new(),
            sorted: Vec::new(),
        }
    }

    /// Adds points (in time order) under `metric`.
    pub fn push(&mut self, metric: Labels, points: Vec<FPoint>) -> Result<(), QueryError> {
        if points.is_empty() {
            return Ok(());
        }
        match self.index.get(&metric) {
            None => {
                self.index.insert(metric.clone(), self.series.len());
                self.series.push(Series {
                    metric,
                    floats: points,
                });
                self.sorted.push(true);
            }
            Some(&i) => {
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
        if let Some(&i) = self.index.get(metric) {
            return i;
        }
        let i = self.series.len();
        self.index.insert(metric.clone(), i);
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
