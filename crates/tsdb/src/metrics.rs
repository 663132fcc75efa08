//! The storage engine's own counters, for promlite's `/metrics` (named
//! after Prometheus's `prometheus_tsdb_*` metrics by the binary).
//!
//! Events are counted with relaxed atomics where they happen; nothing here
//! takes a lock on the append path. [`crate::Db::metrics`] reads them
//! together with the gauges (series, chunks, blocks) into a [`TsdbMetrics`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Event counters of one open database (maintenance and WAL; the append
/// counters live in [`crate::head::AppendCounters`]).
#[derive(Debug, Default)]
pub struct DbCounters {
    /// WAL fsyncs done.
    pub wal_fsyncs: AtomicU64,
    /// Total time spent in WAL fsyncs, nanoseconds.
    pub wal_fsync_nanos: AtomicU64,
    /// Damaged WAL places found (and repaired) at open.
    pub wal_corruptions: AtomicU64,
    /// WAL truncations (checkpoints replacing old segments) attempted.
    pub wal_truncations: AtomicU64,
    /// WAL truncations that failed.
    pub wal_truncations_failed: AtomicU64,
    /// Head truncations (after a cut into a block, or explicit).
    pub head_truncations: AtomicU64,
    /// Compactions run: the head cut into a block, or blocks merged.
    pub compactions: AtomicU64,
    /// Compactions that failed.
    pub compactions_failed: AtomicU64,
    /// Closed head chunks moved from the heap to spill segments.
    pub head_chunks_spilled: AtomicU64,
    /// Spill passes that stopped on a write error (chunks stayed on the heap).
    pub head_spill_failures: AtomicU64,
    /// Retention runs that deleted blocks because of the time limit.
    pub time_retentions: AtomicU64,
    /// Retention runs that deleted blocks because of the size limit.
    pub size_retentions: AtomicU64,
}

impl DbCounters {
    /// Counts one WAL fsync that took `took`.
    pub fn observe_fsync(&self, took: Duration) {
        self.wal_fsyncs.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.wal_fsync_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// A reading of the storage engine's metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TsdbMetrics {
    /// Series in the head (`prometheus_tsdb_head_series`).
    pub head_series: u64,
    /// Chunks in the head (`prometheus_tsdb_head_chunks`).
    pub head_chunks: u64,
    /// Oldest sample in the head, ms (`prometheus_tsdb_head_min_time`).
    pub head_min_time_ms: Option<i64>,
    /// Newest sample in the head, ms (`prometheus_tsdb_head_max_time`).
    pub head_max_time_ms: Option<i64>,
    /// Samples committed to the head (`prometheus_tsdb_head_samples_appended_total`).
    pub samples_appended: u64,
    /// Samples rejected as out of order.
    pub out_of_order_samples: u64,
    /// Samples rejected as out of bounds (too old for the head).
    pub out_of_bounds_samples: u64,
    /// Samples rejected as duplicates (same timestamp, other value).
    pub duplicate_samples: u64,
    /// New series refused by the head's series limit.
    pub series_limit_rejections: u64,
    /// WAL fsyncs done.
    pub wal_fsyncs: u64,
    /// Seconds spent in WAL fsyncs.
    pub wal_fsync_seconds: f64,
    /// WAL corruptions found.
    pub wal_corruptions: u64,
    /// WAL truncations attempted.
    pub wal_truncations: u64,
    /// WAL truncations failed.
    pub wal_truncations_failed: u64,
    /// Head truncations.
    pub head_truncations: u64,
    /// Compactions run.
    pub compactions: u64,
    /// Compactions failed.
    pub compactions_failed: u64,
    /// Closed head chunks moved to spill segments (counter).
    pub head_chunks_spilled: u64,
    /// Spill passes that failed to write (counter).
    pub head_spill_failures: u64,
    /// Blocks loaded (`prometheus_tsdb_blocks_loaded`).
    pub blocks_loaded: u64,
    /// Bytes of the loaded blocks (`prometheus_tsdb_storage_blocks_bytes`).
    pub blocks_bytes: u64,
    /// The size retention limit, 0 if none (`prometheus_tsdb_retention_limit_bytes`).
    pub retention_limit_bytes: u64,
    /// Retention runs deleting blocks by time.
    pub time_retentions: u64,
    /// Retention runs deleting blocks by size.
    pub size_retentions: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_observations_add_up() {
        let c = DbCounters::default();
        c.observe_fsync(Duration::from_millis(3));
        c.observe_fsync(Duration::from_micros(500));
        assert_eq!(c.wal_fsyncs.load(Ordering::Relaxed), 2);
        assert_eq!(c.wal_fsync_nanos.load(Ordering::Relaxed), 3_500_000);
    }
}
