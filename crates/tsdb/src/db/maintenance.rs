//! Background maintenance: cutting the head into blocks, WAL checkpoints,
//! compaction and retention.

use std::path::Path;
use std::sync::Arc;

use promlite_model::StorageError;

use super::{Shared, TickReport};
use crate::head::SpillReport;
use crate::metrics::DbCounters;
use crate::wal;

impl Shared {
    pub(super) fn tick(&self) -> Result<TickReport, StorageError> {
        let _m = self.maintenance.lock();
        let mut report = TickReport::default();
        let range = self.opts.block_range_ms.max(1);
        // Bounded: each round removes one block range from the head.
        for _ in 0..1000 {
            let (Some(min), Some(max)) = (self.head.min_time(), self.head.max_time()) else {
                break;
            };
            if max.saturating_sub(min) <= range.saturating_mul(3) / 2 {
                break;
            }
            report.head_compactable = true;
            let mint = min.div_euclid(range).saturating_mul(range);
            let maxt = mint.saturating_add(range);
            // Later commits can no longer add samples before `maxt`.
            self.head.raise_floor(maxt);
            let mut series = self.head.series_in_range(mint, maxt);
            DbCounters::inc(&self.counters.compactions);
            let meta = crate::block::write_block(&self.dir, mint, maxt, &mut series)
                .inspect_err(|_| DbCounters::inc(&self.counters.compactions_failed))?;
            // Release its series handles: truncation only drops unreferenced series.
            drop(series);
            {
                let _cut = self.cut_lock.write();
                if let Some(meta) = &meta {
                    self.blocks
                        .add(meta)
                        .inspect_err(|_| DbCounters::inc(&self.counters.compactions_failed))?;
                }
                DbCounters::inc(&self.counters.head_truncations);
                report.series_removed += self.head.truncate(maxt);
            }
            if let Some(meta) = &meta {
                report.blocks_written += 1;
                tracing::info!(target: "promlite_tsdb", id = %meta.id, mint, maxt, "head cut into a block");
            }
            self.checkpoint_wal(maxt)?;
        }
        self.spill_head_chunks();
        report.blocks_compacted = self.compact()?;
        report.blocks_deleted = self.apply_retention()?;
        Ok(report)
    }

    /// The spill pass between ticks: skipped while other maintenance runs
    /// (a head cut must not meet a pass holding series, or truncation
    /// would keep the empty ones). Visits only the series commits queued
    /// since the last pass ([`crate::head::Head::spill_queued_chunks`]);
    /// the tick's pass visits them all. `None` when skipped or spilling is
    /// off.
    pub(super) fn spill_between_ticks(&self) -> Option<SpillReport> {
        let _m = self.maintenance.try_lock()?;
        self.spill_head_chunks_with(false)
    }

    /// Moves the head's full chunks (and open chunks' complete bytes) to
    /// spill segments, visiting every series.
    fn spill_head_chunks(&self) {
        self.spill_head_chunks_with(true);
    }

    /// A write error (a full disk, say) is counted and logged; those chunks
    /// stay on the heap and a later pass tries again.
    fn spill_head_chunks_with(&self, all: bool) -> Option<SpillReport> {
        let mut spill = self.spill.lock();
        let spill = spill.as_mut()?;
        let res = if all {
            self.head.spill_closed_chunks(spill)
        } else {
            self.head.spill_queued_chunks(spill)
        };
        let (report, err) = match res {
            Ok(r) => (r, None),
            Err((r, e)) => (r, Some(e)),
        };
        self.counters
            .head_chunks_spilled
            .fetch_add(report.chunks as u64, std::sync::atomic::Ordering::Relaxed);
        if let Some(e) = err {
            DbCounters::inc(&self.counters.head_spill_failures);
            tracing::warn!(target: "promlite_tsdb", "moving head chunks to disk failed after {} chunks: {e}; the rest stay in memory", report.chunks);
        }
        Some(report)
    }

    /// Compaction ranges: 1×, 3×, 9× the block range, capped at a tenth of
    /// the retention time (as Prometheus).
    fn ranges(&self) -> Vec<i64> {
        let r = self.opts.block_range_ms.max(1);
        let cap = self.opts.retention_ms.map(|t| t / 10).unwrap_or(i64::MAX);
        let mut out = vec![r];
        for m in [3, 9] {
            let x = r.saturating_mul(m);
            if x <= cap {
                out.push(x);
            }
        }
        out
    }

    fn compact(&self) -> Result<usize, StorageError> {
        let ranges = self.ranges();
        let mut merged = 0;
        for _ in 0..100 {
            let blocks = self.blocks.snapshot();
            let metas: Vec<_> = blocks.iter().map(|b| b.meta().clone()).collect();
            let Some(group) = crate::compact::plan(&metas, &ranges).into_iter().next() else {
                break;
            };
            let sources: Vec<Arc<crate::block::Block>> = blocks
                .iter()
                .filter(|b| group.contains(&b.meta().id))
                .cloned()
                .collect();
            if sources.len() < 2 {
                break;
            }
            DbCounters::inc(&self.counters.compactions);
            let failed = |_: &StorageError| DbCounters::inc(&self.counters.compactions_failed);
            if let Some(meta) = crate::compact::compact(&self.dir, &sources).inspect_err(failed)? {
                self.blocks.add(&meta).inspect_err(failed)?;
            }
            self.blocks.delete(&group).inspect_err(failed)?;
            merged += sources.len();
        }
        Ok(merged)
    }

    fn apply_retention(&self) -> Result<usize, StorageError> {
        if self.opts.retention_ms.is_none() && self.opts.retention_bytes.is_none() {
            return Ok(0);
        }
        let metas: Vec<_> = self
            .blocks
            .snapshot()
            .iter()
            .map(|b| (b.meta().clone(), b.size_bytes()))
            .collect();
        // The WAL counts against the size limit, as in Prometheus.
        let bytes = self
            .opts
            .retention_bytes
            .map(|b| b.saturating_sub(dir_size(self.wal.dir())));
        let ids = crate::retention::beyond_retention(&metas, self.opts.retention_ms, bytes);
        if !ids.is_empty() {
            // Counted per run and reason, as Prometheus does.
            let beyond = |t, b| !crate::retention::beyond_retention(&metas, t, b).is_empty();
            if self.opts.retention_ms.is_some() && beyond(self.opts.retention_ms, None) {
                DbCounters::inc(&self.counters.time_retentions);
            }
            if bytes.is_some() && beyond(None, bytes) {
                DbCounters::inc(&self.counters.size_retentions);
            }
            tracing::info!(target: "promlite_tsdb", ?ids, "deleting blocks beyond retention");
            self.blocks.delete(&ids)?;
        }
        Ok(ids.len())
    }

    pub(super) fn truncate_head(&self, mint: i64) -> Result<usize, StorageError> {
        let removed = {
            let _cut = self.cut_lock.write();
            DbCounters::inc(&self.counters.head_truncations);
            self.head.truncate(mint)
        };
        self.checkpoint_wal(mint)?;
        Ok(removed)
    }

    /// Starts a new WAL segment and checkpoints the ones before it, keeping
    /// what the head still holds at or after `mint`.
    fn checkpoint_wal(&self, mint: i64) -> Result<(), StorageError> {
        DbCounters::inc(&self.counters.wal_truncations);
        self.checkpoint_wal_inner(mint)
            .inspect_err(|_| DbCounters::inc(&self.counters.wal_truncations_failed))
    }

    fn checkpoint_wal_inner(&self, mint: i64) -> Result<(), StorageError> {
        let upto = {
            let mut w = self.wal.lock();
            w.next_segment()?.saturating_sub(1)
        };
        let head = &self.head;
        let aliases = &self.aliases;
        let keep = |r: u64| {
            head.series_by_ref(aliases.get(&r).copied().unwrap_or(r))
                .is_some()
        };
        let stats = wal::checkpoint(self.wal.dir(), upto, &keep, mint)?;
        tracing::info!(target: "promlite_tsdb", upto, ?stats, "WAL checkpointed");
        Ok(())
    }
}

/// Total size of the regular files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
