//! WAL record payloads: what one WAL record says, and its byte encoding.
//!
//! Every record starts with a one-byte [`RecordType`]. Integers are varints
//! (LEB128; signed ones zig-zag encoded), values raw little-endian `f64` bits.
//!
//! * `Series` (1): repeated `ref:uvarint  n:uvarint  (name:str value:str)×n`,
//!   where `str` is `len:uvarint bytes`.
//! * `SampleColumns` (4, written since WAL format 2): `base_t:varint
//!   n:uvarint`, then three columns of `n` entries each: `dref:varint`
//!   (each reference minus the previous one; the first minus zero),
//!   `dt:varint` (timestamp minus `base_t`), `value:u64le`. Keeping the
//!   columns apart lets the compressor collapse the reference and timestamp
//!   columns of a scrape (mostly `+1` and `0`) to almost nothing.
//! * `Samples` (2, WAL format 1, still read): `base_ref:uvarint
//!   base_t:varint`, then repeated `dref:varint dt:varint value:u64le`
//!   relative to the base.
//! * `Tombstones` (3): repeated `ref:uvarint mint:varint maxt:varint` —
//!   samples of series `ref` in `[mint, maxt]` (inclusive) were deleted.
//!   Replay applies it in log order: it removes what was appended before it.
//!
//! A type byte with the high bit set ([`COMPRESSED`]) means the rest of the
//! payload is a Snappy block (raw format, as Prometheus's WAL) holding the
//! body of the record of type `type & 0x7f`. [`compress`] applies it when it
//! saves bytes; [`decode`] reads both.
//!
//! The full layout, with the framing around records, is in `docs/format/wal.md`.

use promlite_model::Labels;

/// Record type numbers. Fixed forever: they are on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordType {
    /// New series with their labels and references.
    Series = 1,
    /// Float samples for series referenced by number, in rows (WAL format 1;
    /// read, no longer written).
    Samples = 2,
    /// Deleted time ranges of series.
    Tombstones = 3,
    /// Float samples in columns (WAL format 2).
    SampleColumns = 4,
}

/// Flag on the type byte: the body is Snappy-compressed.
pub const COMPRESSED: u8 = 0x80;

/// Payloads shorter than this are written as they are.
const MIN_COMPRESS: usize = 64;

/// Largest decompressed body accepted (guards allocations on damaged input;
/// the same bound as a frame's length).
const MAX_BODY: usize = 1 << 30;

/// Writes `raw` (an encoded record) to `out` (cleared first), Snappy-compressed
/// with the [`COMPRESSED`] flag when that makes it smaller.
pub fn compress(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(Compressor::default().compress(raw));
}

/// Snappy state kept between records (the WAL writer has one): the
/// encoder's hash table (16,384 entries for a scrape's record, allocated
/// and zeroed on every use by a new encoder) and an output buffer that is
/// not cleared and refilled with zeros for every record.
#[derive(Debug, Default)]
pub struct Compressor {
    enc: Box<Encoder>,
    out: Vec<u8>,
}

/// `snap`'s raw encoder, with a `Default`.
#[derive(Debug)]
struct Encoder(snap::raw::Encoder);

impl Default for Encoder {
    fn default() -> Self {
        Encoder(snap::raw::Encoder::new())
    }
}

impl Compressor {
    /// `raw` (an encoded record) Snappy-compressed with the [`COMPRESSED`]
    /// flag when that makes it smaller, else `raw` itself (as [`compress`]).
    pub fn compress<'a>(&'a mut self, raw: &'a [u8]) -> &'a [u8] {
        let Some((&typ, body)) = raw.split_first() else {
            return raw;
        };
        if raw.len() < MIN_COMPRESS || typ & COMPRESSED != 0 {
            return raw;
        }
        let need = 1 + snap::raw::max_compress_len(body.len());
        if self.out.len() < need {
            self.out.resize(need, 0);
        }
        let Some(dst) = self.out.get_mut(1..need) else {
            return raw;
        };
        match self.enc.0.compress(body, dst) {
            Ok(n) if n + 1 < raw.len() => match self.out.get_mut(..n + 1) {
                Some(packed) => {
                    packed[0] = typ | COMPRESSED;
                    packed
                }
                None => raw,
            },
            _ => raw,
        }
    }

    /// Drops the output buffer if a large record left it over `limit` bytes.
    pub fn shrink_above(&mut self, limit: usize) {
        if self.out.len() > limit {
            self.out = Vec::new();
        }
    }
}

/// A series as the WAL knows it: its head reference and labels.
#[derive(Clone, Debug, PartialEq)]
pub struct RefSeries {
    /// The head's reference number for the series.
    pub series_ref: u64,
    /// Its labels.
    pub labels: Labels,
}

/// A sample for a series given by reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefSample {
    /// The series' reference number.
    pub series_ref: u64,
    /// Timestamp in ms.
    pub t: i64,
    /// Value.
    pub v: f64,
}

/// A deleted range of one series: samples in `[mint, maxt]` are gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefTombstone {
    /// The series' reference number.
    pub series_ref: u64,
    /// Start of the deleted range (ms, inclusive).
    pub mint: i64,
    /// End of the deleted range (ms, inclusive).
    pub maxt: i64,
}

/// A decoded record.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// New series.
    Series(Vec<RefSeries>),
    /// Samples.
    Samples(Vec<RefSample>),
    /// Deletions.
    Tombstones(Vec<RefTombstone>),
    /// A record type this version does not read; skipped.
    Unknown(u8),
}

/// Why a record payload could not be decoded.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("bad {kind} record at byte {offset}: {message}")]
pub struct DecodeError {
    /// Which record kind was being read.
    pub kind: &'static str,
    /// Offset inside the payload.
    pub offset: usize,
    /// What went wrong.
    pub message: &'static str,
}

/// Appends the encoding of a `Series` record to `out`.
pub fn encode_series(series: &[RefSeries], out: &mut Vec<u8>) {
    out.push(RecordType::Series as u8);
    for s in series {
        put_uvarint(out, s.series_ref);
        put_uvarint(out, s.labels.len() as u64);
        for l in s.labels.iter() {
            put_str(out, l.name);
            put_str(out, l.value);
        }
    }
}

/// Appends the encoding of a samples record ([`RecordType::SampleColumns`]) to `out`.
pub fn encode_samples(samples: &[RefSample], out: &mut Vec<u8>) {
    out.push(RecordType::SampleColumns as u8);
    let Some(first) = samples.first() else {
        return;
    };
    out.reserve(samples.len() * 11 + 12);
    put_varint(out, first.t);
    put_uvarint(out, samples.len() as u64);
    let mut prev = 0u64;
    for s in samples {
        put_varint(out, s.series_ref.wrapping_sub(prev) as i64);
        prev = s.series_ref;
    }
    for s in samples {
        put_varint(out, s.t.wrapping_sub(first.t));
    }
    for s in samples {
        out.extend_from_slice(&s.v.to_bits().to_le_bytes());
    }
}

/// Appends the encoding of a `Tombstones` record to `out`.
pub fn encode_tombstones(tombstones: &[RefTombstone], out: &mut Vec<u8>) {
    out.push(RecordType::Tombstones as u8);
    for t in tombstones {
        put_uvarint(out, t.series_ref);
        put_varint(out, t.mint);
        put_varint(out, t.maxt);
    }
}

/// Decodes one record payload (compressed or not).
pub fn decode(rec: &[u8]) -> Result<Record, DecodeError> {
    let Some((&typ, body)) = rec.split_first() else {
        return Err(DecodeError {
            kind: "empty",
            offset: 0,
            message: "no type byte",
        });
    };
    if typ & COMPRESSED == 0 {
        return decode_body(typ, body);
    }
    let err = |message| DecodeError {
        kind: "compressed",
        offset: 1,
        message,
    };
    let len = snap::raw::decompress_len(body).map_err(|_| err("bad Snappy header"))?;
    // Snappy expands at most ~21× (a 3-byte copy yields 64 bytes).
    if len > MAX_BODY || len > body.len().saturating_mul(24).saturating_add(64) {
        return Err(err("implausible decompressed length"));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|_| err("bad Snappy data"))?;
    decode_body(typ & !COMPRESSED, &raw)
}

fn decode_body(typ: u8, body: &[u8]) -> Result<Record, DecodeError> {
    let mut d = Decoder {
        buf: body,
        pos: 0,
        kind: "",
    };
    match typ {
        1 => {
            d.kind = "series";
            let mut out = Vec::new();
            while !d.done() {
                let series_ref = d.uvarint()?;
                let n = d.uvarint()?;
                if n > d.remaining() as u64 {
                    return Err(d.err("label count exceeds record"));
                }
                let mut pairs = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let name = d.string()?;
                    let value = d.string()?;
                    pairs.push((name, value));
                }
                out.push(RefSeries {
                    series_ref,
                    labels: Labels::from_pairs(pairs),
                });
            }
            Ok(Record::Series(out))
        }
        2 => {
            d.kind = "samples";
            let mut out = Vec::new();
            if d.done() {
                return Ok(Record::Samples(out));
            }
            let base_ref = d.uvarint()?;
            let base_t = d.varint()?;
            if d.done() {
                return Err(d.err("no samples after the base"));
            }
            while !d.done() {
                let dref = d.varint()?;
                let dt = d.varint()?;
                let v = f64::from_bits(d.u64le()?);
                out.push(RefSample {
                    series_ref: (base_ref as i64).wrapping_add(dref) as u64,
                    t: base_t.wrapping_add(dt),
                    v,
                });
            }
            Ok(Record::Samples(out))
        }
        4 => {
            d.kind = "samples";
            if d.done() {
                return Ok(Record::Samples(Vec::new()));
            }
            let base_t = d.varint()?;
            let n = d.uvarint()?;
            // Every sample takes at least 10 bytes.
            if n == 0 || n > (d.remaining() / 10) as u64 {
                return Err(d.err("sample count does not match the record"));
            }
            let n = n as usize;
            let mut out = Vec::with_capacity(n);
            let mut r = 0u64;
            for _ in 0..n {
                r = r.wrapping_add(d.varint()? as u64);
                out.push(RefSample {
                    series_ref: r,
                    t: 0,
                    v: 0.0,
                });
            }
            for s in out.iter_mut() {
                s.t = base_t.wrapping_add(d.varint()?);
            }
            for s in out.iter_mut() {
                s.v = f64::from_bits(d.u64le()?);
            }
            if !d.done() {
                return Err(d.err("bytes after the last sample"));
            }
            Ok(Record::Samples(out))
        }
        3 => {
            d.kind = "tombstones";
            let mut out = Vec::new();
            while !d.done() {
                let series_ref = d.uvarint()?;
                let mint = d.varint()?;
                let maxt = d.varint()?;
                out.push(RefTombstone {
                    series_ref,
                    mint,
                    maxt,
                });
            }
            Ok(Record::Tombstones(out))
        }
        other => Ok(Record::Unknown(other)),
    }
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    kind: &'static str,
}

impl Decoder<'_> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    fn err(&self, message: &'static str) -> DecodeError {
        DecodeError {
            kind: self.kind,
            offset: self.pos + 1,
            message,
        }
    }
    fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err("truncated varint"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint too long"))
    }
    fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
    fn u64le(&mut self) -> Result<u64, DecodeError> {
        let end = self
            .pos
            .checked_add(8)
            .ok_or_else(|| self.err("overflow"))?;
        let Some(b) = self.buf.get(self.pos..end) else {
            return Err(self.err("truncated value"));
        };
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        self.pos = end;
        Ok(u64::from_le_bytes(a))
    }
    fn string(&mut self) -> Result<String, DecodeError> {
        let len = self.uvarint()?;
        if len > self.remaining() as u64 {
            return Err(self.err("string exceeds record"));
        }
        let end = self.pos + len as usize;
        let s = std::str::from_utf8(&self.buf[self.pos..end])
            .map_err(|_| self.err("label is not UTF-8"))?;
        self.pos = end;
        Ok(s.to_string())
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn label_set() -> impl Strategy<Value = Labels> {
        proptest::collection::vec(("[a-z_]{1,8}", "\\PC{1,10}"), 1..5).prop_map(Labels::from_pairs)
    }

    proptest! {
        #[test]
        fn series_round_trip(items in proptest::collection::vec((any::<u64>(), label_set()), 0..20)) {
            let series: Vec<RefSeries> = items.into_iter().map(|(r, l)| RefSeries { series_ref: r, labels: l }).collect();
            let mut buf = Vec::new();
            encode_series(&series, &mut buf);
            prop_assert_eq!(decode(&buf).unwrap(), Record::Series(series));
        }

        #[test]
        fn samples_round_trip(items in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<u64>()), 0..50)) {
            let samples: Vec<RefSample> = items.iter().map(|&(r, t, v)| RefSample { series_ref: r, t, v: f64::from_bits(v) }).collect();
            let mut buf = Vec::new();
            encode_samples(&samples, &mut buf);
            match decode(&buf).unwrap() {
                Record::Samples(got) => {
                    prop_assert_eq!(got.len(), samples.len());
                    for (g, s) in got.iter().zip(samples.iter()) {
                        prop_assert_eq!((g.series_ref, g.t, g.v.to_bits()), (s.series_ref, s.t, s.v.to_bits()));
                    }
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        #[test]
        fn tombstones_round_trip(items in proptest::collection::vec((any::<u64>(), any::<i64>(), any::<i64>()), 0..20)) {
            let ts: Vec<RefTombstone> = items.iter().map(|&(r, a, b)| RefTombstone { series_ref: r, mint: a, maxt: b }).collect();
            let mut buf = Vec::new();
            encode_tombstones(&ts, &mut buf);
            prop_assert_eq!(decode(&buf).unwrap(), Record::Tombstones(ts));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
            let mut flagged = bytes.clone();
            if let Some(b) = flagged.first_mut() {
                *b |= COMPRESSED;
            }
            let _ = decode(&flagged);
        }
    }

    #[test]
    fn truncated_records_are_errors() {
        let mut buf = Vec::new();
        let samples = [
            RefSample {
                series_ref: 5,
                t: 1000,
                v: 1.0,
            },
            RefSample {
                series_ref: 7,
                t: 2000,
                v: 2.0,
            },
        ];
        encode_samples(&samples, &mut buf);
        assert_eq!(decode(&buf), Ok(Record::Samples(samples.to_vec())));
        for cut in 2..buf.len() {
            assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = buf.clone();
        longer.push(0);
        assert!(decode(&longer).is_err(), "trailing byte");
        assert_eq!(decode(&[9, 1, 2]), Ok(Record::Unknown(9)));
        assert!(decode(&[3, 1, 2]).is_err(), "truncated tombstone");
        assert!(decode(&[]).is_err());
    }

    /// A samples record as WAL format 1 wrote it (type 2, rows against a base)
    /// still decodes, so segments written before the format change replay.
    #[test]
    fn format_1_sample_rows_still_decode() {
        let mut buf = vec![2u8];
        put_uvarint(&mut buf, 5); // base ref
        put_varint(&mut buf, 1000); // base t
        let mut first_row_end = 0;
        for (dref, dt, v) in [(0i64, 0i64, 1.0f64), (2, 1000, 2.0)] {
            put_varint(&mut buf, dref);
            put_varint(&mut buf, dt);
            buf.extend_from_slice(&v.to_bits().to_le_bytes());
            if first_row_end == 0 {
                first_row_end = buf.len();
            }
        }
        let want = vec![
            RefSample {
                series_ref: 5,
                t: 1000,
                v: 1.0,
            },
            RefSample {
                series_ref: 7,
                t: 2000,
                v: 2.0,
            },
        ];
        assert_eq!(decode(&buf), Ok(Record::Samples(want)));
        // A cut between rows was a valid shorter record in format 1.
        assert!(matches!(decode(&buf[..first_row_end]), Ok(Record::Samples(v)) if v.len() == 1));
    }

    #[test]
    fn compression_round_trips_and_is_skipped_when_it_does_not_pay() {
        // A scrape-like batch: consecutive refs, one timestamp, integer values.
        let samples: Vec<RefSample> = (0..1000u64)
            .map(|i| RefSample {
                series_ref: 100 + i,
                t: 1_700_000_000_000,
                v: (i * 7) as f64,
            })
            .collect();
        let mut raw = Vec::new();
        encode_samples(&samples, &mut raw);
        let mut packed = Vec::new();
        compress(&raw, &mut packed);
        assert_eq!(packed[0], RecordType::SampleColumns as u8 | COMPRESSED);
        assert!(
            packed.len() * 2 < raw.len(),
            "{} vs {}",
            packed.len(),
            raw.len()
        );
        assert_eq!(decode(&packed), Ok(Record::Samples(samples)));

        // Short or incompressible payloads stay as they are.
        let mut small = Vec::new();
        encode_tombstones(
            &[RefTombstone {
                series_ref: 1,
                mint: 2,
                maxt: 3,
            }],
            &mut small,
        );
        compress(&small, &mut packed);
        assert_eq!(packed, small);
        let mut noise = vec![RecordType::Series as u8];
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            noise.push(x as u8);
        }
        compress(&noise, &mut packed);
        assert_eq!(packed, noise);
    }

    #[test]
    fn a_reused_compressor_writes_what_a_fresh_one_does() {
        // Records of different sizes and kinds through one compressor (its
        // hash table and buffer carry over), each compared with a fresh
        // compression and decoded back.
        let mut c = Compressor::default();
        let mut fresh = Vec::new();
        for (n, t) in [
            (1000u64, 5_000i64),
            (3, 10_000),
            (20_000, 15_000),
            (700, 20_000),
        ] {
            let samples: Vec<RefSample> = (0..n)
                .map(|i| RefSample {
                    series_ref: 1 + i * 3,
                    t: t + (i % 7) as i64,
                    v: ((i * 13) % 101) as f64 / 4.0,
                })
                .collect();
            let mut raw = Vec::new();
            encode_samples(&samples, &mut raw);
            compress(&raw, &mut fresh);
            let packed = c.compress(&raw).to_vec();
            assert_eq!(packed, fresh, "{n} samples");
            assert_eq!(decode(&packed), Ok(Record::Samples(samples)));
            let series: Vec<RefSeries> = (0..n.min(50))
                .map(|i| RefSeries {
                    series_ref: i,
                    labels: promlite_model::labels!("__name__" => "m", "i" => &i.to_string()),
                })
                .collect();
            let mut raw = Vec::new();
            encode_series(&series, &mut raw);
            compress(&raw, &mut fresh);
            assert_eq!(c.compress(&raw), &fresh[..]);
            assert_eq!(decode(&fresh), Ok(Record::Series(series)));
        }
        c.shrink_above(1024);
        assert!(c.out.is_empty(), "the large record's buffer was dropped");
        assert_eq!(c.compress(&[]), &[] as &[u8]);
    }

    #[test]
    fn damaged_compressed_records_are_errors() {
        let series: Vec<RefSeries> = (0..50u64)
            .map(|r| RefSeries {
                series_ref: r,
                labels: Labels::from_pairs(vec![("__name__", "up"), ("job", "node")]),
            })
            .collect();
        let mut raw = Vec::new();
        encode_series(&series, &mut raw);
        let mut packed = Vec::new();
        compress(&raw, &mut packed);
        assert_eq!(packed[0], 1 | COMPRESSED);
        assert_eq!(decode(&packed), Ok(Record::Series(series)));
        for cut in 1..packed.len() {
            assert!(decode(&packed[..cut]).is_err(), "cut at {cut}");
        }
        // A header claiming a huge body is refused before allocating it.
        assert!(decode(&[0x82, 0xff, 0xff, 0xff, 0xff, 0x0f, 0]).is_err());
    }
}
