//! Reading a chunk as a monotone run: its timestamps and only its first and
//! last values, for counters (`rate`, `increase`) whose chunk holds no
//! reset. See `docs/format/chunks.md` (the `MONOTONE` bit of a value
//! column's kind byte).

use std::sync::Arc;

use promlite_model::StorageError;

use super::{check_stored_last, corrupt, ChunkReader, ChunkRecord, ChunkRef, TimestampCache};
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
    /// first and the last are not read at all. The record's CRC was checked
    /// when the block opened, so the columns are as the writer wrote them;
    /// a column whose length disagrees with the timestamp column (a writer
    /// bug, not damage) is found by a full decode but not here: walking the
    /// column to count its values cost
    /// 17 % of the CPU of an instant `increase(…[1h])` over flagged chunks.
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
        let err = |e: codec::DecodeError| {
            corrupt(
                &rec.seg.path,
                rec.off as u64,
                format!("undecodable chunk: {e}"),
            )
        };
        let first = codec::values::monotone_first(rec.values, timestamps.len()).map_err(err)?;
        Ok(first.map(|first| MonotoneChunk {
            timestamps,
            first,
            last,
        }))
    }
}

/// The samples of a [`MonotoneChunk`] from one on: the chunk's
/// timestamps, the index of the first sample kept and the values of it
/// and of the chunk's last sample.
pub struct MonotoneTail {
    /// The chunk's timestamps (shared through the cache).
    pub timestamps: Arc<[i64]>,
    /// Index of the first sample kept (`timestamps.len()` when none is).
    pub start: usize,
    /// The value of sample `start` (the last value when none is kept).
    pub first: f64,
    /// The chunk's last value.
    pub last: f64,
}

impl ChunkReader {
    /// The samples from time `from` on of the chunk at `r` when it is
    /// monotone as [`ChunkReader::read_monotone`] takes it and its
    /// timestamps strictly increase: of the values only the first kept
    /// is decoded ([`codec::decode_chunk_values_range_into`], the values
    /// before it stepped over, none after it read), the last is the stored
    /// one. `None` otherwise (the caller decodes the chunk). For `rate`
    /// whose window starts inside a chunk (an instant query's window at
    /// a chunk's end): one value decoded instead of the window's.
    pub fn read_monotone_from(
        &self,
        r: ChunkRef,
        cache: &TimestampCache,
        from: i64,
    ) -> Result<Option<MonotoneTail>, StorageError> {
        let rec = self.chunk_record(r)?;
        let last = match rec.last.or_else(|| codec::constant_value(rec.values)) {
            Some(v) => v,
            None => return Ok(None),
        };
        if !codec::values::flagged_monotone(rec.values) {
            return Ok(None);
        }
        let (timestamps, ordered) = self.timestamps_ordered(&rec, Some(cache))?;
        if !ordered {
            return Ok(None);
        }
        let n = timestamps.len();
        let start = timestamps.partition_point(|&t| t < from);
        let mut one = [(0i64, last)];
        if start < n {
            codec::decode_chunk_values_range_into(rec.values, n, start, &mut one).map_err(|e| {
                corrupt(
                    &rec.seg.path,
                    rec.off as u64,
                    format!("undecodable chunk: {e}"),
                )
            })?;
        }
        Ok(Some(MonotoneTail {
            timestamps,
            start,
            first: one[0].1,
            last,
        }))
    }

    /// Appends samples `lo..hi` of the chunk at `r` to `out`, where
    /// `Some((lo, hi)) = range(timestamps, whether they strictly increase)` (nothing is decoded or appended
    /// when it gives `None`; `lo >= hi` appends nothing): the timestamps from `cache` (see
    /// [`ChunkReader::read_columns`]), the values decoded straight into the
    /// appended pairs, with no value vector between. The whole value column
    /// is decoded and checked as [`ChunkReader::read_columns`] checks it
    /// (length, stored last value); on an error `out` is left as it was.
    /// Returns whether `range` gave `Some`.
    pub fn append_range(
        &self,
        r: ChunkRef,
        cache: &TimestampCache,
        out: &mut Vec<(i64, f64)>,
        range: impl FnOnce(&[i64], bool) -> Option<(usize, usize)>,
    ) -> Result<bool, StorageError> {
        let rec = self.chunk_record(r)?;
        let (ts, ordered) = self.timestamps_ordered(&rec, Some(cache))?;
        let Some((lo, hi)) = range(&ts, ordered) else {
            return Ok(false);
        };
        Self::append_decoded(&rec, &ts, lo, hi, out)?;
        Ok(true)
    }

    /// Samples `lo..hi` of the chunk `rec` with timestamps `ts`, its values
    /// decoded straight into the appended pairs and checked, as
    /// [`ChunkReader::append_range`] appends them.
    ///
    /// Only a whole chunk (`lo == 0`, `hi` at its end) is decoded and
    /// checked whole. Of any other part only what it needs is decoded
    /// ([`codec::decode_chunk_values_range_into`]): the values before `lo`
    /// are stepped over, those after `hi` not read (an instant query's
    /// window holds the newest sixth of a 120-sample chunk at its end, a
    /// sample or none of the chunk before); the stored last value is
    /// checked when the part ends with the chunk.
    fn append_decoded(
        rec: &ChunkRecord<'_>,
        ts: &[i64],
        lo: usize,
        hi: usize,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<(), StorageError> {
        let n = ts.len();
        let hi = hi.min(n);
        let lo = lo.min(hi);
        if lo > 0 || hi < n {
            return Self::append_part(rec, ts, lo, hi, out);
        }
        let base = out.len();
        out.extend(ts.iter().map(|&t| (t, 0.0)));
        let decoded = out.get_mut(base..).unwrap_or(&mut []);
        let res = codec::decode_chunk_values_into(rec.values, decoded)
            .map_err(|e| format!("undecodable chunk: {e}"))
            .and_then(|()| check_stored_last(rec.last, decoded.last().map(|p| p.1)));
        if let Err(m) = res {
            out.truncate(base);
            return Err(corrupt(&rec.seg.path, rec.off as u64, m));
        }
        Ok(())
    }

    /// Samples `lo..hi` (`lo <= hi <= ts.len()`, not the whole chunk) of
    /// [`ChunkReader::append_decoded`].
    fn append_part(
        rec: &ChunkRecord<'_>,
        ts: &[i64],
        lo: usize,
        hi: usize,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<(), StorageError> {
        let Some(part) = ts.get(lo..hi).filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let base = out.len();
        out.extend(part.iter().map(|&t| (t, 0.0)));
        let decoded = out.get_mut(base..).unwrap_or(&mut []);
        // The stored last value is checked when the part ends with the chunk.
        let res = codec::decode_chunk_values_range_into(rec.values, ts.len(), lo, decoded)
            .map_err(|e| format!("undecodable chunk: {e}"))
            .and_then(|()| {
                let last = if hi == ts.len() { rec.last } else { None };
                check_stored_last(last, decoded.last().map(|p| p.1))
            });
        if let Err(m) = res {
            out.truncate(base);
            return Err(corrupt(&rec.seg.path, rec.off as u64, m));
        }
        Ok(())
    }
}

impl ChunkReader {
    /// [`ChunkReader::append_range`] for `max_over_time` (`max`) and
    /// `min_over_time`: when the chunk's value column can hold neither NaN
    /// nor `-0` (see [`codec::extreme`]), samples `lo..hi` are appended as
    /// at most two, the first and the last of them, both holding the
    /// greatest (least) value of the run, and the values are folded
    /// without being stored; returns `Some(samples left out)`. Any other
    /// column is appended whole as `append_range` appends it
    /// (`Some(0)`); `None` when `range` gives `None`. The column is read
    /// to its end and checked as `append_range` checks it (length,
    /// trailing bytes, stored last value).
    pub fn append_extreme(
        &self,
        r: ChunkRef,
        cache: &TimestampCache,
        out: &mut Vec<(i64, f64)>,
        range: impl FnOnce(&[i64], bool) -> Option<(usize, usize)>,
        max: bool,
    ) -> Result<Option<usize>, StorageError> {
        let rec = self.chunk_record(r)?;
        let (ts, ordered) = self.timestamps_ordered(&rec, Some(cache))?;
        let Some((lo, hi)) = range(&ts, ordered) else {
            return Ok(None);
        };
        let n = ts.len();
        let folded = codec::extreme::value_extreme(rec.values, n, lo, hi, max).map_err(|e| {
            corrupt(
                &rec.seg.path,
                rec.off as u64,
                format!("undecodable chunk: {e}"),
            )
        })?;
        let Some(ext) = folded else {
            // Decoded whole, with the record and timestamps already read.
            return Self::append_decoded(&rec, &ts, lo, hi, out).map(|()| Some(0));
        };
        check_stored_last(rec.last, Some(ext.last))
            .map_err(|m| corrupt(&rec.seg.path, rec.off as u64, m))?;
        let hi = hi.min(n);
        let lo = lo.min(hi);
        if let (Some(v), Some(&first), Some(&last)) =
            (ext.value, ts.get(lo), ts.get(hi.wrapping_sub(1)))
        {
            out.push((first, v));
            if hi - lo > 1 {
                out.push((last, v));
            }
        }
        Ok(Some((hi - lo).saturating_sub(2)))
    }
}

#[cfg(test)]
mod tests {
    use promlite_model::StorageError;

    use super::super::{
        record, segment_name, ChunkReader, ChunkRef, TimestampCache, KIND_CHUNK_LAST,
        KIND_TIMESTAMPS, SEGMENT_MAGIC,
    };
    use crate::codec::{self, varint::put_uvarint};

    /// A segment holding the timestamp column of `ts` and a kind-3 chunk
    /// record with the value column of `vals` (and its last value), which
    /// may hold more or fewer values than `ts` has timestamps.
    fn segment(ts: &[i64], vals: &[f64]) -> (tempfile::TempDir, ChunkRef) {
        let dir = tempfile::tempdir().unwrap();
        let mut tcol = Vec::new();
        codec::timestamps::encode_timestamps(ts, &mut tcol);
        let mut vcol = Vec::new();
        codec::values::encode_values(vals, &mut vcol);
        let mut data = SEGMENT_MAGIC.to_be_bytes().to_vec();
        data.extend_from_slice(&[1, 0, 0, 0]);
        let ts_off = data.len() as u64;
        data.extend_from_slice(&record(KIND_TIMESTAMPS, &tcol));
        let off = data.len() as u64;
        let mut payload = Vec::new();
        put_uvarint(&mut payload, ts_off);
        let last = vals.last().copied().unwrap_or(0.0);
        payload.extend_from_slice(&last.to_bits().to_be_bytes());
        payload.extend_from_slice(&vcol);
        data.extend_from_slice(&record(KIND_CHUNK_LAST, &payload));
        std::fs::write(dir.path().join(segment_name(1)), data).unwrap();
        (dir, (1 << 32) | off)
    }

    /// Noisy counters (Rice-coded), a decimal counter with a fraction, a
    /// float counter (ordered bits): a value column one value shorter or
    /// longer than the timestamp column is corruption for a full read
    /// whenever decoding the column finds it (always for the noisy columns
    /// of a block or more); the monotone read does not walk the column and
    /// must not panic; a column of the right length reads the same both
    /// ways.
    #[test]
    fn a_value_column_of_another_length_is_corruption_for_full_reads() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in [3usize, 120, 129, 300] {
            let (mut a, mut b, mut c) = (1e9f64, 10.0f64, 100.0f64);
            let columns: Vec<Vec<f64>> = vec![
                (0..n + 1)
                    .map(|_| {
                        a += (rnd() % 50_000_000) as f64;
                        a
                    })
                    .collect(),
                (0..n + 1)
                    .map(|_| {
                        b += (rnd() % 1000) as f64 / 100.0;
                        b
                    })
                    .collect(),
                (0..n + 1)
                    .map(|_| {
                        c += std::f64::consts::SQRT_2 * (rnd() % 7) as f64;
                        c
                    })
                    .collect(),
            ];
            let ts: Vec<i64> = (0..n as i64).map(|i| 1_000 + i * 15_000).collect();
            for (ci, col) in columns.iter().enumerate() {
                for len in [n - 1, n, n + 1] {
                    let vals = &col[..len];
                    let (dir, r) = segment(&ts, vals);
                    let reader = ChunkReader::open(dir.path()).unwrap();
                    let cache = TimestampCache::default();
                    let full = reader.read_columns(r, &cache);
                    let thin = reader.read_monotone(r, &cache);
                    if len == n {
                        let (t, v) = full.unwrap();
                        assert_eq!(&t[..], &ts[..]);
                        let m = thin.unwrap().expect("a monotone column");
                        assert_eq!(m.first.to_bits(), v[0].to_bits());
                        assert_eq!(m.last.to_bits(), v[n - 1].to_bits());
                        assert_eq!(&m.timestamps[..], &ts[..]);
                        continue;
                    }
                    // A full read fails whenever decoding the column to
                    // the timestamps' length does (a short column may have
                    // no bits that could tell), as corruption. The monotone
                    // read does not walk the column (the CRC checked at
                    // open guards against damage; a length mismatch is a
                    // writer bug): it must not panic, and reports only
                    // what it reads.
                    let mut vcol = Vec::new();
                    codec::values::encode_values(vals, &mut vcol);
                    let count_err = codec::decode_chunk_values(&vcol, n).is_err();
                    if ci == 0 && n >= 120 {
                        assert!(count_err, "n {n} len {len}: a noisy column");
                    }
                    match full {
                        Err(StorageError::Corruption { .. }) => {}
                        Err(other) => panic!("n {n} len {len}: expected corruption, got {other:?}"),
                        Ok(_) => assert!(!count_err, "n {n} len {len}: full read accepted it"),
                    }
                    if let Ok(Some(m)) = thin {
                        assert_eq!(&m.timestamps[..], &ts[..], "n {n} len {len}");
                    }
                }
            }
        }
    }

    /// The order flag handed to `append_range`'s `range` says whether the
    /// column strictly increases, the same from a fresh decode and from
    /// the cache.
    #[test]
    fn append_range_reports_whether_timestamps_increase() {
        for (ts, want) in [
            (vec![0i64, 15, 30], true),
            (vec![0, 30, 15], false),
            (vec![0, 15, 15], false),
            (vec![7], true),
        ] {
            let vals: Vec<f64> = (0..ts.len()).map(|i| i as f64).collect();
            let (dir, r) = segment(&ts, &vals);
            let reader = ChunkReader::open(dir.path()).unwrap();
            let cache = TimestampCache::default();
            for _ in 0..2 {
                let mut seen = None;
                let mut out = Vec::new();
                let appended = reader
                    .append_range(r, &cache, &mut out, |_, ordered| {
                        seen = Some(ordered);
                        None
                    })
                    .unwrap();
                assert!(!appended && out.is_empty());
                assert_eq!(seen, Some(want), "{ts:?}");
            }
        }
    }

    /// Appending a part of a chunk gives the same samples as its decoded
    /// columns cut to that part, for every part (empty ones too), after
    /// what `out` held; a damaged chunk leaves `out` as it was.
    #[test]
    fn append_range_equals_the_columns_cut() {
        let ts: Vec<i64> = (0..200).map(|i| i * 15_000).collect();
        let vals: Vec<f64> = (0..200)
            .map(|i| match i % 37 {
                5 => f64::NAN,
                9 => f64::from_bits(promlite_model::STALE_NAN_BITS),
                _ => ((i * 7919) % 1013) as f64 * 1e6,
            })
            .collect();
        let (dir, r) = segment(&ts, &vals);
        let reader = ChunkReader::open(dir.path()).unwrap();
        let cache = TimestampCache::default();
        let (t, v) = reader.read_columns(r, &cache).unwrap();
        let bits = |s: &[(i64, f64)]| -> Vec<(i64, u64)> {
            s.iter().map(|&(t, v)| (t, v.to_bits())).collect()
        };
        for (lo, hi) in [
            (0, 200),
            (0, 0),
            (3, 4),
            (10, 150),
            (199, 200),
            (150, 10),
            (0, 500),
        ] {
            let mut out = vec![(-1, 0.5)];
            assert!(reader
                .append_range(r, &cache, &mut out, |got, ordered| {
                    assert!(ordered);
                    assert_eq!(got, &ts[..]);
                    Some((lo, hi))
                })
                .unwrap());
            let mut want = vec![(-1, 0.5)];
            let hi = hi.min(200);
            if lo < hi {
                want.extend(t[lo..hi].iter().copied().zip(v[lo..hi].iter().copied()));
            }
            assert_eq!(bits(&out), bits(&want), "{lo}..{hi}");
        }
        let mut out = vec![(-1, 0.5)];
        assert!(!reader
            .append_range(r, &cache, &mut out, |_, _| None)
            .unwrap());
        assert_eq!(out, vec![(-1, 0.5)]);
        // One value short: an error, `out` unchanged.
        let (dir, r) = segment(&ts, &vals[..199]);
        let reader = ChunkReader::open(dir.path()).unwrap();
        let res = reader.append_range(r, &cache, &mut out, |_, _| Some((0, 200)));
        assert!(
            matches!(res, Err(StorageError::Corruption { .. })),
            "{res:?}"
        );
        assert_eq!(out, vec![(-1, 0.5)]);
    }
}
