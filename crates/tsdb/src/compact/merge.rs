//! Merging blocks into one.

use std::path::Path;
use std::sync::Arc;

use promlite_model::{Labels, StorageError};

use crate::block::{new_block_id, write_block_with, Block, BlockMeta, CompactionMeta};
use crate::tombstones::Tombstones;

/// Merges `blocks` (any order, possibly overlapping) into a new block under
/// `parent` covering the union of their ranges. Samples with equal
/// timestamps in several blocks are kept once (from the block listed
/// first). Returns `None` if the sources hold no samples. The caller
/// deletes the sources after the new block is in place.
pub fn compact(parent: &Path, blocks: &[Arc<Block>]) -> Result<Option<BlockMeta>, StorageError> {
    if blocks.is_empty() {
        return Ok(None);
    }
    let mint = blocks.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let maxt = blocks.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let mut sources: Vec<String> = blocks
        .iter()
        .flat_map(|b| b.meta().compaction.sources.iter().cloned())
        .collect();
    sources.sort();
    sources.dedup();
    let compaction = CompactionMeta {
        level: blocks
            .iter()
            .map(|b| b.meta().compaction.level)
            .max()
            .unwrap_or(0)
            + 1,
        sources,
        parents: blocks.iter().map(|b| b.meta().id.clone()).collect(),
    };
    write_merged(parent, blocks, mint, maxt, compaction)
}

/// Rewrites `block` under `parent` as a new block without its deleted data
/// (tombstones), keeping its range, level and sources (its id becomes the
/// parent). Returns `None` if nothing is left. The caller swaps the blocks.
pub fn rewrite(parent: &Path, block: &Arc<Block>) -> Result<Option<BlockMeta>, StorageError> {
    let m = block.meta();
    let compaction = CompactionMeta {
        level: m.compaction.level,
        sources: m.compaction.sources.clone(),
        parents: vec![m.id.clone()],
    };
    write_merged(
        parent,
        std::slice::from_ref(block),
        m.min_time,
        m.max_time,
        compaction,
    )
}

fn write_merged(
    parent: &Path,
    blocks: &[Arc<Block>],
    mint: i64,
    maxt: i64,
    compaction: CompactionMeta,
) -> Result<Option<BlockMeta>, StorageError> {
    let mut merged = MergedSeries::new(blocks)?;
    let meta = write_block_with(parent, &new_block_id(), mint, maxt, &mut merged, compaction)?;
    match merged.error.take() {
        Some(e) => {
            // The block was written without the failed series: remove it.
            if let Some(m) = &meta {
                let _ = std::fs::remove_dir_all(parent.join(&m.id));
            }
            Err(e)
        }
        None => Ok(meta),
    }
}

/// One series and its samples.
type SeriesData = (Labels, Vec<(i64, f64)>);

/// Iterates the label-sorted union of the blocks' series, each with its
/// merged, deduplicated samples. Stops at the first read error (kept in
/// `error`).
struct MergedSeries<'a> {
    blocks: &'a [Arc<Block>],
    /// Per block: next series id and its labels (None when exhausted).
    heads: Vec<(u32, Option<Labels>)>,
    /// Per block: its tombstones.
    tombstones: Vec<Arc<Tombstones>>,
    error: Option<StorageError>,
}

impl<'a> MergedSeries<'a> {
    fn new(blocks: &'a [Arc<Block>]) -> Result<Self, StorageError> {
        let mut heads = Vec::with_capacity(blocks.len());
        for b in blocks {
            let l = if b.index().num_series() > 0 {
                Some(b.index().series(0)?.0)
            } else {
                None
            };
            heads.push((0, l));
        }
        Ok(MergedSeries {
            blocks,
            heads,
            tombstones: blocks.iter().map(|b| b.tombstones()).collect(),
            error: None,
        })
    }

    fn step(&mut self) -> Result<Option<SeriesData>, StorageError> {
        let Some(min) = self
            .heads
            .iter()
            .filter_map(|h| h.1.as_ref())
            .min()
            .cloned()
        else {
            return Ok(None);
        };
        let mut samples: Vec<(i64, f64)> = Vec::new();
        let mut sorted = true;
        for (bi, block) in self.blocks.iter().enumerate() {
            let (id, labels) = &self.heads[bi];
            if labels.as_ref() != Some(&min) {
                continue;
            }
            let (_, mut s) = block.read_series(*id)?;
            // Deleted data (tombstones) does not survive compaction.
            if let Some(d) = self.tombstones[bi].get(u64::from(*id)) {
                d.filter(&mut s);
            }
            if let (Some(last), Some(first)) = (samples.last(), s.first()) {
                sorted &= last.0 < first.0;
            }
            samples.extend(s);
            let next = id + 1;
            let nl = if next < block.index().num_series() {
                Some(block.index().series(next)?.0)
            } else {
                None
            };
            self.heads[bi] = (next, nl);
        }
        if !sorted {
            // Stable sort keeps the first block's sample first among equals.
            samples.sort_by_key(|s| s.0);
            samples.dedup_by_key(|s| s.0);
        }
        Ok(Some((min, samples)))
    }
}

impl Iterator for MergedSeries<'_> {
    type Item = SeriesData;

    fn next(&mut self) -> Option<Self::Item> {
        if self.error.is_some() {
            return None;
        }
        match self.step() {
            Ok(x) => x,
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}
