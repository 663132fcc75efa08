//! Writing a block: chunks, index and meta.json into a temporary directory,
//! fsync'd, then renamed into place.

use std::path::{Path, PathBuf};

use promlite_model::{Labels, StorageError};

use super::chunks::ChunkWriter;
use super::meta::{
    new_block_id, sync_dir, write_file_synced, BlockMeta, BlockStats, CompactionMeta, BLOCK_VERSION,
};
use crate::index::{write_index, ChunkMeta};

/// Most samples in one chunk of a compacted block (level 2 and up). Chunk
/// boundaries depend only on the timestamps, so series scraped together
/// share timestamp columns.
pub const MAX_CHUNK_SAMPLES: usize = 1024;

/// Most samples in one chunk of a level-1 block (cut from the head,
/// imported, or a snapshot of the head). The newest blocks serve most
/// queries (dashboards over the last hours, alert rules), and the columnar
/// codec decodes a chunk whole, so their chunks are short, like
/// Prometheus's 120 samples: an instant query with a 5-minute lookback
/// decodes 120 samples of a 15 s series instead of 480. Compaction
/// re-chunks at [`MAX_CHUNK_SAMPLES`], where bytes matter more (short
/// chunks cost 6–16% more bytes per sample; see `docs/storage.md`).
pub const LEVEL1_CHUNK_SAMPLES: usize = 120;

/// The chunk length used for a block of compaction `level`.
pub fn chunk_samples_for_level(level: u32) -> usize {
    if level <= 1 {
        LEVEL1_CHUNK_SAMPLES
    } else {
        MAX_CHUNK_SAMPLES
    }
}

/// Suffix of a block directory still being written.
pub const TMP_SUFFIX: &str = ".tmp-for-creation";

/// Removes the temporary directory unless disarmed.
struct TmpGuard(Option<PathBuf>);

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StorageError + '_ {
    move |e| StorageError::Io(format!("{}: {e}", path.display()))
}

/// Writes a new level-1 block under `parent` from series in label order,
/// each with samples in time order, all within `[mint, maxt)`.
///
/// The block is built in `<parent>/<id>.tmp-for-creation`, fsync'd and then
/// atomically renamed to `<parent>/<id>`. Returns `None` (and leaves nothing
/// behind) if there are no samples. Unsorted series, unsorted samples or
/// samples outside the range are an error, and nothing is written.
pub fn write_block(
    parent: &Path,
    mint: i64,
    maxt: i64,
    series: &mut dyn Iterator<Item = (Labels, Vec<(i64, f64)>)>,
) -> Result<Option<BlockMeta>, StorageError> {
    let id = new_block_id();
    let compaction = CompactionMeta {
        level: 1,
        sources: vec![id.clone()],
        parents: Vec::new(),
    };
    write_block_with(parent, &id, mint, maxt, series, compaction)
}

/// [`write_block`] with a given id and lineage (used by compaction).
pub fn write_block_with(
    parent: &Path,
    id: &str,
    mint: i64,
    maxt: i64,
    series: &mut dyn Iterator<Item = (Labels, Vec<(i64, f64)>)>,
    compaction: CompactionMeta,
) -> Result<Option<BlockMeta>, StorageError> {
    let tmp = parent.join(format!("{id}{TMP_SUFFIX}"));
    let final_dir = parent.join(id);
    let _ = std::fs::remove_dir_all(&tmp);
    let chunks_dir = tmp.join("chunks");
    std::fs::create_dir_all(&chunks_dir).map_err(io(&chunks_dir))?;
    let guard = TmpGuard(Some(tmp.clone()));

    let chunk_len = chunk_samples_for_level(compaction.level);
    let mut cw = ChunkWriter::new(&chunks_dir);
    let mut entries: Vec<(Labels, Vec<ChunkMeta>)> = Vec::new();
    let mut stats = BlockStats::default();
    for (labels, samples) in series {
        if samples.is_empty() {
            continue;
        }
        if labels.is_empty() {
            return Err(StorageError::Other(
                "write_block: series with an empty label set".into(),
            ));
        }
        if entries.last().is_some_and(|(prev, _)| *prev >= labels) {
            return Err(StorageError::Other(format!(
                "write_block: series not in label order at {labels}"
            )));
        }
        for w in samples.windows(2) {
            if w[1].0 <= w[0].0 {
                return Err(StorageError::Other(format!(
                    "write_block: samples of {labels} not in time order at {}",
                    w[1].0
                )));
            }
        }
        let (first, last) = (samples[0].0, samples[samples.len() - 1].0);
        if first < mint || last >= maxt {
            return Err(StorageError::Other(format!(
                "write_block: samples of {labels} outside [{mint}, {maxt})"
            )));
        }
        let mut metas = Vec::with_capacity(samples.len().div_ceil(chunk_len));
        for c in samples.chunks(chunk_len) {
            let chunk_ref = cw.write_chunk(c)?;
            metas.push(ChunkMeta {
                min_time: c[0].0,
                max_time: c[c.len() - 1].0,
                chunk_ref,
            });
        }
        stats.num_series += 1;
        stats.num_samples += samples.len() as u64;
        stats.num_chunks += metas.len() as u64;
        entries.push((labels, metas));
    }
    let chunk_bytes = cw.finish()?;
    if entries.is_empty() {
        return Ok(None);
    }
    let index = write_index(&entries)?;
    write_file_synced(&tmp.join("index"), &index)?;
    stats.num_bytes = chunk_bytes + index.len() as u64;
    let meta = BlockMeta {
        id: id.to_string(),
        min_time: mint,
        max_time: maxt,
        stats,
        compaction,
        version: BLOCK_VERSION,
    };
    meta.write(&tmp)?;
    sync_dir(&chunks_dir)?;
    sync_dir(&tmp)?;
    if final_dir.exists() {
        return Err(StorageError::Other(format!(
            "block directory {} already exists",
            final_dir.display()
        )));
    }
    std::fs::rename(&tmp, &final_dir).map_err(io(&final_dir))?;
    let mut guard = guard;
    guard.0 = None;
    sync_dir(parent)?;
    Ok(Some(meta))
}
