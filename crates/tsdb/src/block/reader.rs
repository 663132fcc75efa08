//! An opened block.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use promlite_model::{Labels, StorageError};

use super::chunks::{ChunkReader, TimestampCache};
use super::meta::{BlockMeta, META_FILE};
use super::querier::BlockQuerier;
use crate::index::{ChunkMeta, IndexReader};
use crate::tombstones::{self, Tombstones};

/// An opened, memory-mapped block. `Send + Sync`; share it via `Arc`.
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    size: u64,
    /// Deleted intervals by series id; replaced whole on every change.
    tombstones: Mutex<Arc<Tombstones>>,
}

impl Block {
    /// Opens the block in `dir`, verifying meta.json, every index checksum
    /// and every chunk record checksum. Damage is reported as
    /// [`StorageError::Corruption`] naming the file and offset.
    pub fn open(dir: &Path) -> Result<Block, StorageError> {
        let meta = BlockMeta::read(dir)?;
        let index_path = dir.join("index");
        if !index_path.exists() {
            return Err(StorageError::Corruption {
                file: index_path.display().to_string(),
                offset: 0,
                message: "index is missing".into(),
            });
        }
        let index = IndexReader::open(&index_path)?;
        let chunks_dir = dir.join("chunks");
        if !chunks_dir.is_dir() {
            return Err(StorageError::Corruption {
                file: chunks_dir.display().to_string(),
                offset: 0,
                message: "chunks directory is missing".into(),
            });
        }
        let chunks = ChunkReader::open(&chunks_dir)?;
        let meta_size = std::fs::metadata(dir.join(META_FILE))
            .map(|m| m.len())
            .unwrap_or(0);
        let size = index.size_bytes() + chunks.size_bytes() + meta_size;
        let tombstones = tombstones::read_file(dir)?;
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            size,
            tombstones: Mutex::new(Arc::new(tombstones)),
        })
    }

    /// The block's metadata.
    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// The block's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes on disk (index, chunks, meta.json).
    pub fn size_bytes(&self) -> u64 {
        self.size
    }

    /// A querier over `[mint, maxt]` (ms, both inclusive, like
    /// [`promlite_model::Queryable::querier`]).
    pub fn querier(&self, mint: i64, maxt: i64) -> BlockQuerier<'_> {
        BlockQuerier::new(self, mint, maxt)
    }

    /// The deleted intervals, by series id (a snapshot: later deletions
    /// install a new set).
    pub fn tombstones(&self) -> Arc<Tombstones> {
        self.tombstones.lock().clone()
    }

    /// Adds deleted intervals (by series id): the block's `tombstones` file
    /// is rewritten atomically first, then queries see them.
    pub fn add_tombstones(&self, more: &Tombstones) -> Result<(), StorageError> {
        if more.is_empty() {
            return Ok(());
        }
        let mut cur = self.tombstones.lock();
        let mut next = Tombstones::clone(&cur);
        next.merge(more);
        tombstones::write_file(&self.dir, &next)?;
        *cur = Arc::new(next);
        Ok(())
    }

    /// The block's index.
    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// Decodes one chunk.
    pub fn read_chunk(&self, c: &ChunkMeta) -> Result<Vec<(i64, f64)>, StorageError> {
        self.chunks.read(c.chunk_ref)
    }

    /// Decodes one chunk into its timestamp and value columns, sharing
    /// decoded timestamp columns through `cache`.
    pub fn read_chunk_columns(
        &self,
        c: &ChunkMeta,
        cache: &TimestampCache,
    ) -> Result<(std::sync::Arc<[i64]>, Vec<f64>), StorageError> {
        self.chunks.read_columns(c.chunk_ref, cache)
    }

    /// Appends part of one chunk to `out`, its values decoded straight
    /// into the appended pairs, see
    /// [`super::chunks::ChunkReader::append_range`].
    pub fn append_chunk_range(
        &self,
        c: &ChunkMeta,
        cache: &TimestampCache,
        out: &mut Vec<(i64, f64)>,
        range: impl FnOnce(&[i64], bool) -> Option<(usize, usize)>,
    ) -> Result<bool, StorageError> {
        self.chunks.append_range(c.chunk_ref, cache, out, range)
    }

    /// Part of one chunk for `max_over_time` / `min_over_time`, as at most
    /// two samples holding its extreme when its values allow, see
    /// [`super::chunks::ChunkReader::append_extreme`].
    pub fn append_chunk_extreme(
        &self,
        c: &ChunkMeta,
        cache: &TimestampCache,
        out: &mut Vec<(i64, f64)>,
        range: impl FnOnce(&[i64], bool) -> Option<(usize, usize)>,
        max: bool,
    ) -> Result<Option<usize>, StorageError> {
        self.chunks
            .append_extreme(c.chunk_ref, cache, out, range, max)
    }

    /// One chunk as a monotone run (timestamps, first and last value; the
    /// other values not decoded) when it is flagged as one, see
    /// [`super::chunks::ChunkReader::read_monotone`].
    pub fn read_chunk_monotone(
        &self,
        c: &ChunkMeta,
        cache: &TimestampCache,
    ) -> Result<Option<super::chunks::MonotoneChunk>, StorageError> {
        self.chunks.read_monotone(c.chunk_ref, cache)
    }

    /// One chunk's samples from time `from` on, when it is monotone (see
    /// [`super::chunks::ChunkReader::read_monotone_from`]).
    pub fn read_chunk_monotone_from(
        &self,
        c: &ChunkMeta,
        cache: &TimestampCache,
        from: i64,
    ) -> Result<Option<super::chunks::MonotoneTail>, StorageError> {
        self.chunks.read_monotone_from(c.chunk_ref, cache, from)
    }

    /// Only the timestamp column of one chunk, shared through `cache`.
    pub fn read_chunk_timestamps(
        &self,
        c: &ChunkMeta,
        cache: &TimestampCache,
    ) -> Result<std::sync::Arc<[i64]>, StorageError> {
        self.chunks.read_timestamps(c.chunk_ref, cache)
    }

    /// The newest sample with a timestamp in `[mint, maxt]` of a series
    /// whose chunks are `chunks` (in time order and not overlapping, as the
    /// index reader returns them; tombstones are not applied).
    ///
    /// When the newest chunk that starts by `maxt` also ends by it, its
    /// newest sample is the index's `max_time` (the writer records the last
    /// sample's timestamp) and the value stored beside its value column
    /// (or a constant column's value): nothing is decoded. When `maxt`
    /// falls inside that chunk, the chunk is decoded, its timestamp column
    /// shared through `cache`.
    ///
    /// `Ok(None)` if no sample lies in the range. `Err` for damage, and
    /// also when a decoded chunk contradicts its index entry (timestamps
    /// out of order, or its first or last one not the entry's); such a
    /// chunk is damaged too.
    pub fn last_sample_in(
        &self,
        chunks: &[ChunkMeta],
        mint: i64,
        maxt: i64,
        cache: Option<&TimestampCache>,
    ) -> Result<Option<(i64, f64)>, StorageError> {
        if mint > maxt {
            return Ok(None);
        }
        for c in chunks.iter().rev() {
            if c.min_time > maxt {
                continue;
            }
            if c.max_time < mint {
                return Ok(None);
            }
            if c.max_time <= maxt {
                let v = self.chunks.read_last_value(c.chunk_ref, cache)?;
                return Ok(Some((c.max_time, v)));
            }
            // The range ends inside this chunk.
            let (ts, vals) = self.chunks.read_with(c.chunk_ref, cache)?;
            let consistent = ts.len() == vals.len()
                && ts.first() == Some(&c.min_time)
                && ts.last() == Some(&c.max_time)
                && ts.windows(2).all(|w| w[0] < w[1]);
            if !consistent {
                return Err(StorageError::Corruption {
                    file: self.dir.join("chunks").display().to_string(),
                    offset: c.chunk_ref & 0xffff_ffff,
                    message: format!(
                        "chunk {:#x} does not match its index entry [{}, {}]",
                        c.chunk_ref, c.min_time, c.max_time
                    ),
                });
            }
            // `ts[0] = min_time <= maxt`, so `hi >= 1`.
            let hi = ts.partition_point(|&t| t <= maxt);
            return Ok(
                match (ts.get(hi.wrapping_sub(1)), vals.get(hi.wrapping_sub(1))) {
                    (Some(&t), Some(&v)) if t >= mint => Some((t, v)),
                    _ => None,
                },
            );
        }
        Ok(None)
    }

    /// Labels and all samples of series `id` (`0..index().num_series()`,
    /// label order).
    pub fn read_series(&self, id: u32) -> Result<(Labels, Vec<(i64, f64)>), StorageError> {
        let (labels, metas) = self.index.series(id)?;
        let mut samples = Vec::new();
        for c in &metas {
            samples.extend(self.read_chunk(c)?);
        }
        Ok((labels, samples))
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("dir", &self.dir)
            .field("meta", &self.meta)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn block_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Block>();
    }
}
