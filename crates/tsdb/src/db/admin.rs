//! Deleting series (tombstones) and cleaning tombstones: the storage side
//! of Prometheus's `/api/v1/admin/tsdb/{delete_series,clean_tombstones}`.

use promlite_model::{Matcher, StorageError};

use super::Db;
use crate::block::postings_for_matchers;
use crate::head::check_matchers;
use crate::record::{encode_tombstones, RefTombstone};
use crate::tombstones::Tombstones;

/// What one [`Db::delete_series`] marked deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteReport {
    /// Head series that lost samples.
    pub head_series: usize,
    /// Samples removed from the head.
    pub head_samples: usize,
    /// Blocks that got new tombstones.
    pub blocks: usize,
    /// Block series that got a tombstone (summed over blocks).
    pub block_series: usize,
}

impl Db {
    /// Deletes the samples in `[mint, maxt]` (ms, inclusive) of every
    /// series matching any of `matcher_sets`, as Prometheus's
    /// `delete_series`. Queries stop returning them as soon as this returns.
    ///
    /// * Blocks get tombstones, persisted in each block's `tombstones` file
    ///   and applied when reading; [`Db::clean_tombstones`] (or a later
    ///   compaction) rewrites the blocks without the data.
    /// * The head drops the samples and logs a WAL `Tombstones` record
    ///   (fsynced before this returns), so the deletion survives a restart.
    ///
    /// Each set needs a matcher that does not match the empty string.
    pub fn delete_series(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Result<DeleteReport, StorageError> {
        let s = &self.shared;
        if s.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        if matcher_sets.is_empty() {
            return Err(StorageError::Other("no matcher sets given".into()));
        }
        for set in matcher_sets {
            if set.is_empty() {
                return Err(StorageError::Other("empty matcher set".into()));
            }
            check_matchers(set)?;
        }
        let mut report = DeleteReport::default();
        if mint > maxt {
            return Ok(report);
        }
        // No head cut, compaction or clean-up runs meanwhile, so no block
        // is being written from data this deletion misses.
        let _m = s.maintenance.lock();

        for b in s.blocks.snapshot() {
            let meta = b.meta();
            if meta.min_time > maxt || meta.max_time <= mint {
                continue;
            }
            let (lo, hi) = (
                mint.max(meta.min_time),
                maxt.min(meta.max_time.saturating_sub(1)),
            );
            let ix = b.index();
            let mut ids = std::collections::BTreeSet::new();
            for set in matcher_sets {
                ids.extend(postings_for_matchers(ix, set)?);
            }
            let mut t = Tombstones::new();
            for id in ids {
                let (_, chunks) = ix.series(id)?;
                if chunks.iter().any(|c| c.min_time <= hi && c.max_time >= lo) {
                    t.add(u64::from(id), lo, hi);
                }
            }
            if !t.is_empty() {
                report.blocks += 1;
                report.block_series += t.num_series();
                b.add_tombstones(&t)?;
            }
        }

        let pos = {
            let _commits = s.head.commit_lock.lock();
            let targets = s.head.deletion_targets(matcher_sets, mint, maxt);
            if targets.is_empty() {
                None
            } else {
                let recs: Vec<RefTombstone> = targets
                    .iter()
                    .map(|m| RefTombstone {
                        series_ref: m.series_ref,
                        mint,
                        maxt,
                    })
                    .collect();
                let mut payload = Vec::new();
                encode_tombstones(&recs, &mut payload);
                let pos = s.wal.lock().log(&[&payload])?;
                report.head_series = targets.len();
                report.head_samples = s.head.delete_from(&targets, mint, maxt);
                Some(pos)
            }
        };
        if let Some(pos) = pos {
            s.wal.sync_to(pos)?;
        }
        tracing::info!(target: "promlite_tsdb", mint, maxt, ?report, "series deleted");
        Ok(report)
    }

    /// Rewrites every block that has tombstones without the deleted data
    /// (a block left empty is removed), each swapped atomically for the
    /// old one. Returns the number of blocks rewritten.
    pub fn clean_tombstones(&self) -> Result<usize, StorageError> {
        let s = &self.shared;
        if s.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        let _m = s.maintenance.lock();
        let mut n = 0;
        for b in s.blocks.snapshot() {
            if b.tombstones().is_empty() {
                continue;
            }
            let new = crate::compact::rewrite(&s.dir, &b)?;
            s.blocks.replace(&b.meta().id, new.as_ref())?;
            tracing::info!(target: "promlite_tsdb", old = %b.meta().id, new = ?new.as_ref().map(|m| &m.id), "tombstones cleaned");
            n += 1;
        }
        Ok(n)
    }
}
