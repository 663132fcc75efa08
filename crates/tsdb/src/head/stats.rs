//! Head statistics for `/api/v1/status/tsdb` (the cardinality explorer).

use std::sync::atomic::Ordering;

use promlite_model::METRIC_NAME;

use super::Head;

/// A name with a count, for the top-N lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameCount {
    /// Metric name, label name, or `name=value` pair.
    pub name: String,
    /// Series count, value count or bytes, depending on the list.
    pub value: u64,
}

/// A summary of the head, shaped like Prometheus's `headStats` and
/// `seriesCountByMetricName` etc.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeadStats {
    /// Series in the head.
    pub num_series: u64,
    /// Chunks in the head (full and open).
    pub num_chunks: u64,
    /// Oldest sample time, if any.
    pub min_time: Option<i64>,
    /// Newest sample time, if any.
    pub max_time: Option<i64>,
    /// Approximate heap bytes of chunk data (a chunk moved to a spill
    /// segment counts only its reference).
    pub chunk_bytes: u64,
    /// Closed chunks whose bytes are in spill segments, not on the heap.
    pub spilled_chunks: u64,
    /// Top metric names by series count.
    pub series_count_by_metric_name: Vec<NameCount>,
    /// Top label names by number of distinct values.
    pub label_value_count_by_label_name: Vec<NameCount>,
    /// Top label names by bytes of their values.
    pub memory_in_bytes_by_label_name: Vec<NameCount>,
    /// Top `name=value` pairs by series count.
    pub series_count_by_label_value_pair: Vec<NameCount>,
    /// Samples rejected as out of order.
    pub out_of_order_samples: u64,
    /// Samples rejected as duplicates.
    pub duplicate_samples: u64,
    /// Samples rejected as out of bounds.
    pub out_of_bounds_samples: u64,
    /// New series refused by the series limit.
    pub series_limit_rejections: u64,
}

fn top(mut v: Vec<(String, usize)>, n: usize) -> Vec<NameCount> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter()
        .take(n)
        .map(|(name, c)| NameCount {
            name,
            value: c as u64,
        })
        .collect()
}

impl Head {
    /// Statistics with top-`limit` lists (Prometheus uses 10).
    pub fn stats(&self, limit: usize) -> HeadStats {
        let mut num_chunks = 0u64;
        let mut chunk_bytes = 0u64;
        let mut spilled_chunks = 0u64;
        self.for_each_series(|s| {
            let d = s.data.lock();
            num_chunks += d.num_chunks() as u64;
            chunk_bytes += d.heap_bytes() as u64;
            spilled_chunks += d.num_spilled() as u64;
        });
        let p = self.postings.read();
        let names = p.name_stats();
        let c = &self.counters;
        HeadStats {
            num_series: self.num_series() as u64,
            num_chunks,
            min_time: self.min_time(),
            max_time: self.max_time(),
            chunk_bytes,
            spilled_chunks,
            series_count_by_metric_name: top(p.value_counts(METRIC_NAME), limit),
            label_value_count_by_label_name: top(
                names.iter().map(|(n, c, _)| (n.clone(), *c)).collect(),
                limit,
            ),
            memory_in_bytes_by_label_name: top(
                names.iter().map(|(n, _, b)| (n.clone(), *b)).collect(),
                limit,
            ),
            series_count_by_label_value_pair: top(p.pair_counts(), limit),
            out_of_order_samples: c.out_of_order.load(Ordering::Relaxed),
            duplicate_samples: c.duplicate.load(Ordering::Relaxed),
            out_of_bounds_samples: c.out_of_bounds.load(Ordering::Relaxed),
            series_limit_rejections: c.series_limit.load(Ordering::Relaxed),
        }
    }
}
