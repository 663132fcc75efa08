//! [`Db::metrics`]: counters and gauges of the storage engine for `/metrics`.

use std::sync::atomic::Ordering;

use super::Db;
use crate::metrics::TsdbMetrics;

impl Db {
    /// The storage engine's metrics now: append and maintenance counters
    /// (atomics, read without locks) and the gauges (head series and chunks,
    /// loaded blocks and their bytes). Counting head chunks visits every
    /// series once, so this costs O(series); call it per scrape of
    /// `/metrics`, not per sample.
    pub fn metrics(&self) -> TsdbMetrics {
        let s = &self.shared;
        let c = &s.counters;
        let a = s.head.counters();
        let mut head_chunks = 0u64;
        s.head.for_each_series(|m| {
            head_chunks += m.data.lock().num_chunks() as u64;
        });
        let blocks = s.blocks.snapshot();
        let load = |x: &std::sync::atomic::AtomicU64| x.load(Ordering::Relaxed);
        TsdbMetrics {
            head_series: s.head.num_series() as u64,
            head_chunks,
            head_min_time_ms: s.head.min_time(),
            head_max_time_ms: s.head.max_time(),
            samples_appended: load(&a.appended),
            out_of_order_samples: load(&a.out_of_order),
            out_of_bounds_samples: load(&a.out_of_bounds),
            duplicate_samples: load(&a.duplicate),
            series_limit_rejections: load(&a.series_limit),
            wal_fsyncs: load(&c.wal_fsyncs),
            wal_fsync_seconds: load(&c.wal_fsync_nanos) as f64 / 1e9,
            wal_corruptions: load(&c.wal_corruptions),
            wal_truncations: load(&c.wal_truncations),
            wal_truncations_failed: load(&c.wal_truncations_failed),
            head_truncations: load(&c.head_truncations),
            compactions: load(&c.compactions),
            compactions_failed: load(&c.compactions_failed),
            head_chunks_spilled: load(&c.head_chunks_spilled),
            head_spill_failures: load(&c.head_spill_failures),
            blocks_loaded: blocks.len() as u64,
            blocks_bytes: blocks.iter().map(|b| b.size_bytes()).sum(),
            retention_limit_bytes: s.opts.retention_bytes.unwrap_or(0),
            time_retentions: load(&c.time_retentions),
            size_retentions: load(&c.size_retentions),
        }
    }
}

#[cfg(test)]
mod tests {
    use promlite_model::{labels, AppendError, Appendable};

    use crate::{Db, DbOptions, FsyncPolicy};

    fn opts() -> DbOptions {
        DbOptions {
            background: false,
            block_range_ms: 1000,
            fsync: FsyncPolicy::Always,
            retention_bytes: Some(1 << 30),
            ..Default::default()
        }
    }

    #[test]
    fn appends_rejections_and_fsyncs_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let m0 = db.metrics();
        assert_eq!(m0.head_series, 0);
        assert_eq!(m0.head_min_time_ms, None);
        assert_eq!(m0.retention_limit_bytes, 1 << 30);
        let x = labels!("__name__" => "x");
        let y = labels!("__name__" => "y");
        let mut app = db.appender();
        app.append(None, &x, 100, 1.0).unwrap();
        app.append(None, &x, 200, 2.0).unwrap();
        app.append(None, &y, 200, 2.0).unwrap();
        assert_eq!(app.append(None, &x, 150, 1.0), Err(AppendError::OutOfOrder));
        assert_eq!(app.append(None, &x, 200, 9.0), Err(AppendError::Duplicate));
        app.commit().unwrap();
        let mut app = Appendable::appender(&db);
        assert_eq!(
            app.append(None, &y, -10_000, 1.0),
            Err(AppendError::OutOfBounds)
        );
        let m = db.metrics();
        assert_eq!(m.head_series, 2);
        assert_eq!(m.head_chunks, 2);
        assert_eq!(m.samples_appended, 3);
        assert_eq!(m.out_of_order_samples, 1);
        assert_eq!(m.duplicate_samples, 1);
        assert_eq!(m.out_of_bounds_samples, 1);
        assert_eq!(
            (m.head_min_time_ms, m.head_max_time_ms),
            (Some(100), Some(200))
        );
        assert!(m.wal_fsyncs >= 1, "fsync policy always: {m:?}");
        assert_eq!(m.blocks_loaded, 0);
    }

    #[test]
    fn compactions_truncations_and_blocks_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let x = labels!("__name__" => "x");
        for t in (0..2600).step_by(100) {
            let mut app = db.appender();
            app.append(None, &x, t, t as f64).unwrap();
            app.commit().unwrap();
        }
        let report = db.tick().unwrap();
        assert_eq!(report.blocks_written, 1);
        let m = db.metrics();
        assert_eq!(m.compactions, 1);
        assert_eq!(m.compactions_failed, 0);
        assert_eq!(m.head_truncations, 1);
        assert_eq!(m.wal_truncations, 1);
        assert_eq!(m.wal_truncations_failed, 0);
        assert_eq!(m.blocks_loaded, 1);
        assert!(m.blocks_bytes > 0);
        assert_eq!(m.head_min_time_ms, Some(1000));
    }

    #[test]
    fn replay_reports_the_segments_it_read() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Db::open(dir.path(), opts()).unwrap();
            assert_eq!(db.replay_report().segments, None, "fresh directory");
            let mut app = db.appender();
            app.append(None, &labels!("__name__" => "x"), 1, 1.0)
                .unwrap();
            app.commit().unwrap();
        }
        {
            let _db = Db::open(dir.path(), opts()).unwrap();
        }
        let db = Db::open(dir.path(), opts()).unwrap();
        let (first, last) = db.replay_report().segments.unwrap();
        assert!(first < last, "{first}..{last}: one segment per open");
        assert_eq!(db.metrics().head_series, 1);
        assert_eq!(db.metrics().wal_corruptions, 0);
    }
}
