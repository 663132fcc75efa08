//! Reading a chunk as a monotone run: its timestamps and only its first and
//! last values, for counters (`rate`, `increase`) whose chunk holds no
//! reset. See `docs/format/chunks.md` (the `MONOTONE` bit of a value
//! column's kind byte).

use std::sync::Arc;

use promlite_model::StorageError;

use super::{corrupt, ChunkReader, ChunkRef, TimestampCache};
use crate::codec;

/// A chunk whose values are all numbers (no NaN, so no staleness marker)
/// and never fall: its timestamp column and its first and last values.
pub struct MonotoneChunk {
    /// The chunk's timestamps (shared through the cache).
    pub timestamps: Arc<[i64]>,
    /// The first value.
    pub first: f64,
    /// The last value.
    pub last: f64,
}

impl ChunkReader {
    /// The chunk at `r` as a [`MonotoneChunk`] when its value column is
    /// flagged monotone (or is a constant that is not NaN) and its last
    /// value is known without decoding (stored in a kind-3 record, or the
    /// constant); `None` otherwise (older blocks, chunks with a reset or a
    /// NaN), and the caller decodes the chunk whole. The values between the
    /// first and the last are not decoded.
    pub fn read_monotone(
        &self,
        r: ChunkRef,
        cache: &TimestampCache,
    ) -> Result<Option<MonotoneChunk>, StorageError> {
        let rec = self.chunk_record(r)?;
        let last = match rec.last.or_else(|| codec::constant_value(rec.values)) {
            Some(v) => v,
            None => return Ok(None),
        };
        let timestamps = self.timestamps(&rec, Some(cache))?;
        let first = codec::values::monotone_first(rec.values, timestamps.len()).map_err(|e| {
            corrupt(
                &rec.seg.path,
                rec.off as u64,
                format!("undecodable chunk: {e}"),
            )
        })?;
        Ok(first.map(|first| MonotoneChunk {
            timestamps,
            first,
            last,
        }))
    }
}
