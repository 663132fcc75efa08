//! Chunk segment files (`<block>/chunks/000001`, …): writer and reader.
//! Byte layout: `docs/format/chunks.md`.
//!
//! A segment starts with an 8-byte header (magic `PLCK`, version 1, three
//! zero bytes) followed by records `kind | len (uvarint) | payload |
//! CRC32(kind, len, payload)`. Kind 1 is a timestamp column, kind 2 a chunk
//! whose payload is the offset of its timestamp record (same segment) and its
//! value column. Identical timestamp columns (series scraped together) are
//! written once per segment and shared.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use promlite_model::StorageError;

use crate::codec::{self, varint::put_uvarint, Reader};

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
        let mut payload = Vec::with_capacity(enc.values.len() + 5);
        put_uvarint(&mut payload, ts_off);
        payload.extend_from_slice(&enc.values);
        let off = self.write_rec(&record(KIND_CHUNK, &payload))?;
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
        self.locate(r, Some(cache)).map(|(ts, _, _, _)| ts)
    }

    fn read_with(
        &self,
        r: ChunkRef,
        cache: Option<&TimestampCache>,
    ) -> Result<(Arc<[i64]>, Vec<f64>), StorageError> {
        let (ts, values, seg, off) = self.locate(r, cache)?;
        let vals = codec::decode_chunk_values(values, ts.len())
            .map_err(|e| corrupt(&seg.path, off as u64, format!("undecodable chunk: {e}")))?;
        Ok((ts, vals))
    }

    /// The decoded timestamp column of the chunk at `r`, its encoded value
    /// column, its segment and its offset there.
    #[allow(clippy::type_complexity)]
    fn locate(
        &self,
        r: ChunkRef,
        cache: Option<&TimestampCache>,
    ) -> Result<(Arc<[i64]>, &[u8], &Segment, usize), StorageError> {
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
        if kind != KIND_CHUNK {
            return Err(corrupt(
                &seg.path,
                off as u64,
                "chunk reference does not point to a chunk record",
            ));
        }
        let mut pr = Reader::new(&data[payload.clone()]);
        let ts_off = pr
            .uvarint()
            .map_err(|e| corrupt(&seg.path, off as u64, e.message))? as usize;
        let values = pr.rest();
        let key = ((seq as u64) << 32) | (ts_off as u64 & 0xffff_ffff);
        let cached = cache.and_then(|c| c.map.lock().get(&key).cloned());
        let ts = match cached {
            Some(ts) => ts,
            None => {
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
                    .map_err(|e| corrupt(&seg.path, off as u64, format!("undecodable chunk: {e}")))?
                    .into();
                if let Some(c) = cache {
                    let mut m = c.map.lock();
                    if m.len() >= TIMESTAMP_CACHE_ENTRIES {
                        m.clear();
                    }
                    m.insert(key, ts.clone());
                }
                ts
            }
        };
        Ok((ts, values, seg, off))
    }
}

/// Most timestamp columns a [`TimestampCache`] holds (about 1 KiB each for
/// full chunks); it starts over when full.
const TIMESTAMP_CACHE_ENTRIES: usize = 4096;

/// Decoded timestamp columns by record position, shared by the series of
/// one selection (and dropped with it).
#[derive(Default)]
pub struct TimestampCache {
    map: parking_lot::Mutex<HashMap<u64, Arc<[i64]>, BuildHasherDefault<PositionHasher>>>,
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
            KIND_CHUNK => {
                let ts = Reader::new(&data[payload])
                    .uvarint()
                    .map_err(|e| corrupt(path, off as u64, e.message))?;
                if ts_offsets.binary_search(&(ts as usize)).is_err() {
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

    #[test]
    fn timestamp_cache_keeps_columns_by_position() {
        let cache = TimestampCache::default();
        let mut m = cache.map.lock();
        for seg in 1..4u64 {
            for off in (8..20_000u64).step_by(97) {
                let ts: Arc<[i64]> = vec![(seg * off) as i64].into();
                m.insert((seg << 32) | off, ts);
            }
        }
        for seg in 1..4u64 {
            for off in (8..20_000u64).step_by(97) {
                let got = m.get(&((seg << 32) | off)).map(|t| t[0]);
                assert_eq!(got, Some((seg * off) as i64));
            }
        }
        assert!(!m.contains_key(&((1 << 32) | 9)));
    }
}
