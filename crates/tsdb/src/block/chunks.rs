//! Chunk segment files (`<block>/chunks/000001`, …): writer and reader.
//! Byte layout: `docs/format/chunks.md`.
//!
//! A segment starts with an 8-byte header (magic `PLCK`, version 1, three
//! zero bytes) followed by records `kind | len (uvarint) | payload |
//! CRC32(kind, len, payload)`. Kind 1 is a timestamp column, kind 2 a chunk
//! whose payload is the offset of its timestamp record (same segment) and its
//! value column, kind 3 the same with the chunk's last value stored between
//! the two (so the newest sample is read without decoding; written for every
//! value column that is not constant). Identical timestamp columns (series
//! scraped together) are written once per segment and shared.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use promlite_model::StorageError;

use crate::codec::{self, varint::put_uvarint, Reader};

#[cfg(test)]
mod column_stats;
mod runs;
pub use runs::{MonotoneChunk, MonotoneTail};

/// Magic number at the start of every segment file.
pub const SEGMENT_MAGIC: u32 = 0x504C_434B; // "PLCK"
/// Segment header size.
pub const SEGMENT_HEADER: usize = 8;
/// A new segment is started once a segment reaches this size.
pub const MAX_SEGMENT_BYTES: u64 = 512 << 20;
/// Record kind: timestamp column.
pub const KIND_TIMESTAMPS: u8 = 1;
/// Record kind: chunk (timestamp reference + value column).
pub const KIND_CHUNK: u8 = 2;
/// Record kind: chunk with its last value (timestamp reference + the last
/// value's 8 raw bytes + value column).
pub const KIND_CHUNK_LAST: u8 = 3;
/// Cap on the bytes of timestamp columns remembered for sharing.
const TS_DEDUP_BYTES: usize = 64 << 20;

/// Where a chunk lives: segment number (from 1) in the high 32 bits, byte
/// offset of its record in the low 32 bits.
pub type ChunkRef = u64;

fn segment_name(seq: u32) -> String {
    format!("{seq:06}")
}

fn io_err(path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Io(format!("{}: {e}", path.display()))
}

fn record(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut rec = Vec::with_capacity(payload.len() + 10);
    rec.push(kind);
    put_uvarint(&mut rec, payload.len() as u64);
    rec.extend_from_slice(payload);
    let crc = crc32fast::hash(&rec);
    rec.extend_from_slice(&crc.to_be_bytes());
    rec
}

/// Writes chunk segment files into a `chunks/` directory.
pub struct ChunkWriter {
    dir: PathBuf,
    seq: u32,
    file: Option<BufWriter<File>>,
    offset: u64,
    ts_seen: HashMap<Vec<u8>, u64>,
    ts_seen_bytes: usize,
    files: Vec<PathBuf>,
    bytes: u64,
}

impl ChunkWriter {
    /// A writer creating segments in `dir` (which must exist).
    pub fn new(dir: &Path) -> Self {
        ChunkWriter {
            dir: dir.to_path_buf(),
            seq: 0,
            file: None,
            offset: 0,
            ts_seen: HashMap::new(),
            ts_seen_bytes: 0,
            files: Vec::new(),
            bytes: 0,
        }
    }

    fn cut(&mut self) -> Result<(), StorageError> {
        self.flush_current()?;
        self.seq += 1;
        let path = self.dir.join(segment_name(self.seq));
        let f = File::create(&path).map_err(|e| io_err(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 16, f);
        let mut hdr = SEGMENT_MAGIC.to_be_bytes().to_vec();
        hdr.extend_from_slice(&[1, 0, 0, 0]);
        w.write_all(&hdr).map_err(|e| io_err(&path, e))?;
        self.file = Some(w);
        self.offset = SEGMENT_HEADER as u64;
        self.bytes += SEGMENT_HEADER as u64;
        self.ts_seen.clear();
        self.ts_seen_bytes = 0;
        self.files.push(path);
        Ok(())
    }

    fn write_rec(&mut self, rec: &[u8]) -> Result<u64, StorageError> {
        let off = self.offset;
        let path = self.dir.join(segment_name(self.seq));
        let w = self
            .file
            .as_mut()
            .ok_or_else(|| StorageError::Other("chunk writer has no open segment".into()))?;
        w.write_all(rec).map_err(|e| io_err(&path, e))?;
        self.offset += rec.len() as u64;
        self.bytes += rec.len() as u64;
        Ok(off)
    }

    /// Encodes and writes one chunk; returns its reference.
    pub fn write_chunk(&mut self, samples: &[(i64, f64)]) -> Result<ChunkRef, StorageError> {
        let enc = codec::encode_chunk(samples);
        let need = enc.timestamps.len() as u64 + enc.values.len() as u64 + 40;
        if self.file.is_none() || self.offset + need > MAX_SEGMENT_BYTES {
            self.cut()?;
        }
        let ts_off = match self.ts_seen.get(&enc.timestamps) {
            Some(&off) => off,
            None => {
                let off = self.write_rec(&record(KIND_TIMESTAMPS, &enc.timestamps))?;
                if self.ts_seen_bytes > TS_DEDUP_BYTES {
                    self.ts_seen.clear();
                    self.ts_seen_bytes = 0;
                }
                self.ts_seen_bytes += enc.timestamps.len();
                self.ts_seen.insert(enc.timestamps, off);
                off
            }
        };
        let mut payload = Vec::with_capacity(enc.values.len() + 13);
        put_uvarint(&mut payload, ts_off);
        // A constant column gives its value without decoding already.
        let last = samples
            .last()
            .filter(|_| codec::constant_value(&enc.values).is_none());
        let kind = match last {
            Some(&(_, v)) => {
                payload.extend_from_slice(&v.to_bits().to_be_bytes());
                KIND_CHUNK_LAST
            }
            None => KIND_CHUNK,
        };
        payload.extend_from_slice(&enc.values);
        let off = self.write_rec(&record(kind, &payload))?;
        Ok((u64::from(self.seq) << 32) | off)
    }

    fn flush_current(&mut self) -> Result<(), StorageError> {
        if let Some(w) = self.file.take() {
            let path = self.dir.join(segment_name(self.seq));
            let f = w.into_inner().map_err(|e| io_err(&path, e.into_error()))?;
            f.sync_all().map_err(|e| io_err(&path, e))?;
        }
        Ok(())
    }

    /// Flushes and fsyncs; returns the total bytes written.
    pub fn finish(mut self) -> Result<u64, StorageError> {
        self.flush_current()?;
        Ok(self.bytes)
    }
}

fn corrupt(file: &Path, offset: u64, message: impl Into<String>) -> StorageError {
    StorageError::Corruption {
        file: file.display().to_string(),
        offset,
        message: message.into(),
    }
}

/// Checks a chunk's stored last value (kind 3; `None` for other kinds)
/// against the last value its value column decoded to (`None` if none),
/// bit for bit; the error text names both.
pub(crate) fn check_stored_last(want: Option<f64>, got: Option<f64>) -> Result<(), String> {
    let Some(want) = want else {
        return Ok(());
    };
    let got = got.map(f64::to_bits);
    if got == Some(want.to_bits()) {
        return Ok(());
    }
    Err(format!(
        "stored last value {:#018x} differs from the value column's ({})",
        want.to_bits(),
        got.map_or("none".into(), |g| format!("{g:#018x}"))
    ))
}

struct Segment {
    path: PathBuf,
    data: Mmap,
}

/// Read access to a block's chunk segments (memory-mapped).
pub struct ChunkReader {
    segments: Vec<Segment>,
}

/// One parsed record: kind, payload range, offset of the next record.
///
/// Called for every chunk a query reads, so the usual header (a kind byte
/// and a length of at most three varint bytes) is decoded here; anything
/// else, errors included, goes through [`Reader`].
fn parse_record(data: &[u8], off: usize) -> Result<(u8, std::ops::Range<usize>, usize), String> {
    let head = data.get(off..).ok_or("record offset beyond end of file")?;
    let (kind, len, used) = match *head {
        [kind, b0, ..] if b0 < 0x80 => (kind, usize::from(b0), 2),
        [kind, b0, b1, ..] if b1 < 0x80 => (kind, usize::from(b0 & 0x7f) | usize::from(b1) << 7, 3),
        [kind, b0, b1, b2, ..] if b2 < 0x80 => (
            kind,
            usize::from(b0 & 0x7f) | usize::from(b1 & 0x7f) << 7 | usize::from(b2) << 14,
            4,
        ),
        _ => {
            let mut r = Reader::new(head);
            let kind = r.u8().map_err(|e| e.message)?;
            let len = r.len(data.len()).map_err(|e| e.message)?;
            (kind, len, r.pos())
        }
    };
    let start = off + used;
    let end = start
        .checked_add(len)
        .filter(|&e| e + 4 <= data.len())
        .ok_or("record runs past end of file")?;
    Ok((kind, start..end, end + 4))
}

impl ChunkReader {
    /// Opens and fully verifies every segment in `dir`.
    pub fn open(dir: &Path) -> Result<ChunkReader, StorageError> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| io_err(dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut segments = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let path = dir.join(name);
            if *name != segment_name(i as u32 + 1) {
                return Err(corrupt(
                    &path,
                    0,
                    format!(
                        "unexpected chunk segment name (expected {})",
                        segment_name(i as u32 + 1)
                    ),
                ));
            }
            let f = File::open(&path).map_err(|e| io_err(&path, e))?;
            // SAFETY: block files are immutable once written; promlite never
            // modifies them in place (they are only deleted whole).
            let data = unsafe { Mmap::map(&f) }.map_err(|e| io_err(&path, e))?;
            verify_segment(&path, &data)?;
            segments.push(Segment { path, data });
        }
        Ok(ChunkReader { segments })
    }

    /// Total size of the segment files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.data.len() as u64).sum()
    }

    /// Reads and decodes the chunk at `r`.
    pub fn read(&self, r: ChunkRef) -> Result<Vec<(i64, f64)>, StorageError> {
        let (ts, vals) = self.read_with(r, None)?;
        Ok(ts.iter().copied().zip(vals).collect())
    }

    /// The chunk at `r` as its two columns (timestamps, values of the same
    /// length), taking the decoded timestamp column from `cache` when
    /// another chunk sharing it was read before (series scraped together
    /// share their timestamp column).
    pub fn read_columns(
        &self,
        r: ChunkRef,
        cache: &TimestampCache,
    ) -> Result<(Arc<[i64]>, Vec<f64>), StorageError> {
        self.read_with(r, Some(cache))
    }

    /// Only the timestamp column of the chunk at `r` (shared through
    /// `cache` like [`ChunkReader::read_columns`]); the value column is not
    /// decoded.
    pub fn read_timestamps(
        &self,
        r: ChunkRef,
        cache: &TimestampCache,
    ) -> Result<Arc<[i64]>, StorageError> {
        let rec = self.chunk_record(r)?;
        self.timestamps(&rec, Some(cache))
    }

    /// The value of the newest sample of the chunk at `r`: stored beside
    /// the value column (kind 3) or the constant of a constant column, so
    /// usually read without decoding anything; otherwise the chunk's value
    /// column is decoded (its length comes from the timestamp column, shared
    /// through `cache` like [`ChunkReader::read_columns`]).
    pub fn read_last_value(
        &self,
        r: ChunkRef,
        cache: Option<&TimestampCache>,
    ) -> Result<f64, StorageError> {
        let rec = self.chunk_record(r)?;
        if let Some(v) = rec.last {
            return Ok(v);
        }
        if let Some(v) = codec::constant_value(rec.values) {
            return Ok(v);
        }
        let ts = self.timestamps(&rec, cache)?;
        let vals = codec::decode_chunk_values(rec.values, ts.len()).map_err(|e| {
            corrupt(
                &rec.seg.path,
                rec.off as u64,
                format!("undecodable chunk: {e}"),
            )
        })?;
        vals.last()
            .copied()
            .ok_or_else(|| corrupt(&rec.seg.path, rec.off as u64, "chunk without samples"))
    }

    /// [`ChunkReader::read_columns`] with the cache optional.
    pub(crate) fn read_with(
        &self,
        r: ChunkRef,
        cache: Option<&TimestampCache>,
    ) -> Result<(Arc<[i64]>, Vec<f64>), StorageError> {
        let rec = self.chunk_record(r)?;
        let ts = self.timestamps(&rec, cache)?;
        let err = |m: String| corrupt(&rec.seg.path, rec.off as u64, m);
        let vals = codec::decode_chunk_values(rec.values, ts.len())
            .map_err(|e| err(format!("undecodable chunk: {e}")))?;
        check_stored_last(rec.last, vals.last().copied()).map_err(err)?;
        Ok((ts, vals))
    }

    /// The chunk record at `r`, parsed but not decoded.
    fn chunk_record(&self, r: ChunkRef) -> Result<ChunkRecord<'_>, StorageError> {
        let seq = (r >> 32) as usize;
        let off = (r & 0xffff_ffff) as usize;
        let seg = seq
            .checked_sub(1)
            .and_then(|i| self.segments.get(i))
            .ok_or_else(|| StorageError::Corruption {
                file: "chunks".into(),
                offset: off as u64,
                message: format!("chunk reference to missing segment {seq}"),
            })?;
        let data: &[u8] = &seg.data;
        let (kind, payload, _) =
            parse_record(data, off).map_err(|m| corrupt(&seg.path, off as u64, m))?;
        if kind != KIND_CHUNK && kind != KIND_CHUNK_LAST {
            return Err(corrupt(
                &seg.path,
                off as u64,
                "chunk reference does not point to a chunk record",
            ));
        }
        let (ts_off, last, values) = parse_chunk_payload(kind, &data[payload])
            .map_err(|m| corrupt(&seg.path, off as u64, m))?;
        Ok(ChunkRecord {
            seg,
            seq: seq as u64,
            off,
            ts_off,
            last,
            values,
        })
    }

    /// The decoded timestamp column of chunk record `rec`, from `cache` when
    /// it holds it (and added to it otherwise).
    fn timestamps(
        &self,
        rec: &ChunkRecord<'_>,
        cache: Option<&TimestampCache>,
    ) -> Result<Arc<[i64]>, StorageError> {
        self.timestamps_ordered(rec, cache).map(|(ts, _)| ts)
    }

    /// [`ChunkReader::timestamps`] and whether they strictly increase,
    /// checked once per decoded column and kept beside it in `cache` (the
    /// series scraped together share a column; checking it per series and
    /// chunk was 4.7 % of a range query over 98 series).
    fn timestamps_ordered(
        &self,
        rec: &ChunkRecord<'_>,
        cache: Option<&TimestampCache>,
    ) -> Result<(Arc<[i64]>, bool), StorageError> {
        let (seg, ts_off) = (rec.seg, rec.ts_off);
        let key = (rec.seq << 32) | (ts_off as u64 & 0xffff_ffff);
        if let Some(hit) = cache.and_then(|c| c.map.lock().get(&key).cloned()) {
            return Ok(hit);
        }
        let data: &[u8] = &seg.data;
        let (tkind, tpayload, _) =
            parse_record(data, ts_off).map_err(|m| corrupt(&seg.path, ts_off as u64, m))?;
        if tkind != KIND_TIMESTAMPS {
            return Err(corrupt(
                &seg.path,
                ts_off as u64,
                "timestamp reference does not point to a timestamp record",
            ));
        }
        let ts: Arc<[i64]> = codec::decode_chunk_timestamps(&data[tpayload])
            .map_err(|e| corrupt(&seg.path, rec.off as u64, format!("undecodable chunk: {e}")))?
            .into();
        let ordered = ts.windows(2).all(|w| w[0] < w[1]);
        if let Some(c) = cache {
            let mut m = c.map.lock();
            if m.len() >= TIMESTAMP_CACHE_ENTRIES {
                m.clear();
            }
            m.insert(key, (ts.clone(), ordered));
        }
        Ok((ts, ordered))
    }
}

/// A chunk record found by its reference, not yet decoded.
struct ChunkRecord<'a> {
    seg: &'a Segment,
    /// Segment number (from 1).
    seq: u64,
    /// Offset of the record in its segment.
    off: usize,
    /// Offset of its timestamp record.
    ts_off: usize,
    /// The stored last value (kind 3).
    last: Option<f64>,
    /// The encoded value column.
    values: &'a [u8],
}

/// Splits the payload of a chunk record of `kind` (2 or 3) into the offset
/// of its timestamp record, its stored last value (kind 3) and its value
/// column.
fn parse_chunk_payload(kind: u8, payload: &[u8]) -> Result<(usize, Option<f64>, &[u8]), String> {
    let mut pr = Reader::new(payload);
    let ts_off = usize::try_from(pr.uvarint().map_err(|e| e.message)?)
        .map_err(|_| "timestamp reference out of range".to_string())?;
    let last = if kind == KIND_CHUNK_LAST {
        let bits = pr
            .be_u64()
            .map_err(|_| "chunk record too short for its last value".to_string())?;
        Some(f64::from_bits(bits))
    } else {
        None
    };
    Ok((ts_off, last, pr.rest()))
}

/// Most timestamp columns a [`TimestampCache`] holds (about 1 KiB each for
/// full chunks); it starts over when full.
const TIMESTAMP_CACHE_ENTRIES: usize = 4096;

/// Decoded timestamp columns by record position, shared by the series of
/// one selection (and dropped with it).
#[derive(Default)]
pub struct TimestampCache {
    /// Each column with whether its timestamps strictly increase.
    #[allow(clippy::type_complexity)]
    map: parking_lot::Mutex<HashMap<u64, (Arc<[i64]>, bool), BuildHasherDefault<PositionHasher>>>,
}

/// Hashes the cache's keys, record positions in the block's own files
/// (nothing a client chooses, so no protection against collision attacks
/// is needed): one multiplication instead of SipHash, which took a third
/// of each chunk lookup.
#[derive(Default)]
struct PositionHasher(u64);

impl Hasher for PositionHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        let h = (self.0 ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 32);
    }
}

impl std::fmt::Debug for TimestampCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampCache")
            .field("entries", &self.map.lock().len())
            .finish()
    }
}

fn verify_segment(path: &Path, data: &[u8]) -> Result<(), StorageError> {
    let mut r = Reader::new(data);
    let magic = r
        .be_u32()
        .map_err(|_| corrupt(path, 0, "segment shorter than its header"))?;
    if magic != SEGMENT_MAGIC {
        return Err(corrupt(path, 0, format!("bad segment magic {magic:#x}")));
    }
    if data.get(4..8) != Some(&[1u8, 0, 0, 0][..]) {
        return Err(corrupt(path, 4, "unsupported segment version"));
    }
    let mut ts_offsets: Vec<usize> = Vec::new();
    let mut off = SEGMENT_HEADER;
    while off < data.len() {
        let (kind, payload, next) =
            parse_record(data, off).map_err(|m| corrupt(path, off as u64, m))?;
        let want = crc32fast::hash(&data[off..payload.end]);
        let got = u32::from_be_bytes([
            data[payload.end],
            data[payload.end + 1],
            data[payload.end + 2],
            data[payload.end + 3],
        ]);
        if want != got {
            return Err(corrupt(
                path,
                off as u64,
                format!("record checksum mismatch (stored {got:#010x}, computed {want:#010x})"),
            ));
        }
        match kind {
            KIND_TIMESTAMPS => ts_offsets.push(off),
            KIND_CHUNK | KIND_CHUNK_LAST => {
                let (ts, _, values) = parse_chunk_payload(kind, &data[payload])
                    .map_err(|m| corrupt(path, off as u64, m))?;
                if values.is_empty() {
                    return Err(corrupt(path, off as u64, "chunk without a value column"));
                }
                if ts_offsets.binary_search(&ts).is_err() {
                    return Err(corrupt(
                        path,
                        off as u64,
                        "chunk references an unknown timestamp record",
                    ));
                }
            }
            k => {
                return Err(corrupt(
                    path,
                    off as u64,
                    format!("unknown record kind {k}"),
                ))
            }
        }
        off = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record header decoded entirely by the codec's reader.
    fn parse_slow(data: &[u8], off: usize) -> Result<(u8, std::ops::Range<usize>, usize), String> {
        let mut r = Reader::new(data.get(off..).ok_or("record offset beyond end of file")?);
        let kind = r.u8().map_err(|e| e.message)?;
        let len = r.len(data.len()).map_err(|e| e.message)?;
        let start = off + r.pos();
        let end = start
            .checked_add(len)
            .filter(|&e| e + 4 <= data.len())
            .ok_or("record runs past end of file")?;
        Ok((kind, start..end, end + 4))
    }

    #[test]
    fn record_headers_parse_as_with_the_codec_reader() {
        for len in [
            0usize,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            (1 << 21) - 1,
            1 << 21,
        ] {
            let rec = record(KIND_CHUNK, &vec![7u8; len]);
            let mut data = vec![0u8; 3];
            data.extend_from_slice(&rec);
            let want = parse_slow(&data, 3);
            assert!(want.is_ok(), "length {len}");
            assert_eq!(parse_record(&data, 3), want, "length {len}");
            // Truncated anywhere: both fail (the messages may differ).
            for cut in [3, 4, 5, 6, data.len() - 1] {
                assert!(parse_record(&data[..cut], 3).is_err(), "{len} cut at {cut}");
                assert!(parse_slow(&data[..cut], 3).is_err());
            }
        }
        assert!(parse_record(&[1, 2], 5).is_err());
        // An overlong length varint is rejected by the reader's checks.
        let bad = [
            KIND_CHUNK, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert_eq!(parse_record(&bad, 0), parse_slow(&bad, 0));
    }

    /// The kind of the record at chunk reference `r` in `dir`'s segment 1.
    fn kind_at(dir: &Path, r: ChunkRef) -> u8 {
        let data = std::fs::read(dir.join(segment_name(1))).unwrap();
        data[(r & 0xffff_ffff) as usize]
    }

    #[test]
    fn newest_value_is_stored_beside_non_constant_columns() {
        let dir = tempfile::tempdir().unwrap();
        let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
        let chunks: Vec<Vec<(i64, f64)>> = vec![
            (0..120).map(|i| (i * 15_000, 2.5)).collect(),
            (0..120).map(|i| (i * 15_000, i as f64 * 0.1)).collect(),
            (0..120)
                .map(|i| (i * 15_000, if i == 119 { stale } else { 1.0 }))
                .collect(),
            (0..7).map(|i| (i * 15_000, (i as f64).sqrt())).collect(),
            vec![(5, -0.0)],
        ];
        let mut w = ChunkWriter::new(dir.path());
        let refs: Vec<ChunkRef> = chunks.iter().map(|c| w.write_chunk(c).unwrap()).collect();
        w.finish().unwrap();
        let kinds: Vec<u8> = refs.iter().map(|&r| kind_at(dir.path(), r)).collect();
        assert_eq!(
            kinds,
            [
                KIND_CHUNK,
                KIND_CHUNK_LAST,
                KIND_CHUNK_LAST,
                KIND_CHUNK_LAST,
                KIND_CHUNK
            ]
        );
        let reader = ChunkReader::open(dir.path()).unwrap();
        let cache = TimestampCache::default();
        for (c, &r) in chunks.iter().zip(&refs) {
            let want = c.last().unwrap().1.to_bits();
            let got = reader.read_last_value(r, None).unwrap();
            assert_eq!(got.to_bits(), want);
            assert_eq!(
                reader.read_last_value(r, Some(&cache)).unwrap().to_bits(),
                want
            );
            let back = reader.read(r).unwrap();
            let bits = |v: &[(i64, f64)]| -> Vec<(i64, u64)> {
                v.iter().map(|&(t, v)| (t, v.to_bits())).collect()
            };
            assert_eq!(bits(&back), bits(c));
        }
        assert_eq!(
            codec::constant_value(&[0, 0x40, 4, 0, 0, 0, 0, 0, 0]),
            Some(2.5)
        );
        assert_eq!(codec::constant_value(&[0, 0x40, 4, 0, 0, 0, 0, 0]), None);
        assert_eq!(codec::constant_value(&[2, 0x40, 4, 0, 0, 0, 0, 0, 0]), None);
    }

    /// A segment holding one timestamp column and one kind-3 chunk record
    /// whose payload after the timestamp reference is `rest`.
    fn segment_with_last_record(rest: &[u8]) -> (tempfile::TempDir, ChunkRef) {
        let dir = tempfile::tempdir().unwrap();
        let enc = codec::encode_chunk(&[(0, 1.0), (15, 2.0)]);
        let mut data = SEGMENT_MAGIC.to_be_bytes().to_vec();
        data.extend_from_slice(&[1, 0, 0, 0]);
        let ts_off = data.len() as u64;
        data.extend_from_slice(&record(KIND_TIMESTAMPS, &enc.timestamps));
        let off = data.len() as u64;
        let mut payload = Vec::new();
        put_uvarint(&mut payload, ts_off);
        payload.extend_from_slice(rest);
        data.extend_from_slice(&record(KIND_CHUNK_LAST, &payload));
        std::fs::write(dir.path().join(segment_name(1)), data).unwrap();
        (dir, (1 << 32) | off)
    }

    #[test]
    fn a_wrong_stored_newest_value_is_corruption_not_a_panic() {
        let enc = codec::encode_chunk(&[(0, 1.0), (15, 2.0)]);
        // Stored 3.0, but the column ends with 2.0 (checksums all valid).
        let mut rest = 3.0f64.to_bits().to_be_bytes().to_vec();
        rest.extend_from_slice(&enc.values);
        let (dir, r) = segment_with_last_record(&rest);
        let reader = ChunkReader::open(dir.path()).unwrap();
        // Read without decoding, the stored value is all there is.
        assert_eq!(reader.read_last_value(r, None).unwrap(), 3.0);
        // Decoding the chunk finds the contradiction.
        for res in [
            reader.read(r).map(|_| ()),
            reader
                .read_columns(r, &TimestampCache::default())
                .map(|_| ()),
        ] {
            match res {
                Err(StorageError::Corruption { message, .. }) => {
                    assert!(message.contains("last value"), "{message}")
                }
                other => panic!("expected corruption, got {other:?}"),
            }
        }
        // The right value decodes.
        let mut rest = 2.0f64.to_bits().to_be_bytes().to_vec();
        rest.extend_from_slice(&enc.values);
        let (dir, r) = segment_with_last_record(&rest);
        let reader = ChunkReader::open(dir.path()).unwrap();
        assert_eq!(reader.read(r).unwrap(), vec![(0, 1.0), (15, 2.0)]);
    }

    #[test]
    fn a_truncated_newest_value_fails_verification() {
        for rest in [&[0x40u8, 0, 0][..], &2.0f64.to_bits().to_be_bytes()[..]] {
            let (dir, _) = segment_with_last_record(rest);
            match ChunkReader::open(dir.path()) {
                Err(StorageError::Corruption { offset, .. }) => assert!(offset > 8),
                other => panic!("expected corruption, got {:?}", other.map(|_| ())),
            }
        }
    }

    #[test]
    fn timestamp_cache_keeps_columns_by_position() {
        let cache = TimestampCache::default();
        let mut m = cache.map.lock();
        for seg in 1..4u64 {
            for off in (8..20_000u64).step_by(97) {
                let ts: Arc<[i64]> = vec![(seg * off) as i64].into();
                m.insert((seg << 32) | off, (ts, true));
            }
        }
        for seg in 1..4u64 {
            for off in (8..20_000u64).step_by(97) {
                let got = m.get(&((seg << 32) | off)).map(|t| t.0[0]);
                assert_eq!(got, Some((seg * off) as i64));
            }
        }
        assert!(!m.contains_key(&((1 << 32) | 9)));
    }
}
