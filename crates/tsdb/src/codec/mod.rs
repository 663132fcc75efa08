//! The block sample codec: how one chunk of one series is stored on disk.
//!
//! A chunk is two byte strings, kept apart so that series scraped together
//! (identical timestamps) can share one timestamp column inside a chunk file:
//!
//! * a timestamp column ([`timestamps`]): sample count, then either
//!   delta-of-delta or "grid + jitter" residuals, bit-packed in blocks;
//! * a value column ([`values`]): constant, decimal (values that are
//!   `k / 10^e` become integers, then delta / delta-of-delta and bit-packing,
//!   with NaN / stale markers as exceptions), or Gorilla XOR.
//!
//! Every variant is lossless and bit-exact (NaN payloads included). The
//! byte-level layout is documented in `docs/format/chunks.md`.
//!
//! ```
//! use promlite_tsdb::codec;
//! let samples = vec![(1_000, 1.5), (16_003, 2.25), (30_999, f64::NAN)];
//! let bytes = codec::encode(&samples);
//! let back = codec::decode(&bytes).unwrap();
//! assert_eq!(back.len(), 3);
//! assert_eq!(back[1], (16_003, 2.25));
//! assert!(back[2].1.is_nan());
//! ```

pub mod bits;
pub mod extreme;
pub mod ints;
mod ints_decode;
pub mod testdata;
pub mod timestamps;
pub mod values;
pub mod varint;
pub mod xor;

#[cfg(test)]
mod decode_bench;
#[cfg(test)]
mod decode_tests;

pub use varint::{DecodeError, Reader};

/// The two encoded columns of one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedChunk {
    /// The timestamp column (self-describing: starts with the sample count).
    pub timestamps: Vec<u8>,
    /// The value column (needs the count from the timestamp column).
    pub values: Vec<u8>,
}

/// Encodes samples (any order is accepted; sorted input compresses well).
pub fn encode_chunk(samples: &[(i64, f64)]) -> EncodedChunk {
    let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
    let vs: Vec<f64> = samples.iter().map(|s| s.1).collect();
    let mut timestamps = Vec::new();
    timestamps::encode_timestamps(&ts, &mut timestamps);
    let mut values = Vec::new();
    values::encode_values(&vs, &mut values);
    EncodedChunk { timestamps, values }
}

/// Decodes only the timestamp column.
pub fn decode_chunk_timestamps(ts: &[u8]) -> Result<Vec<i64>, DecodeError> {
    let mut r = Reader::new(ts);
    let out = timestamps::decode_timestamps(&mut r)?;
    if r.remaining() != 0 {
        return Err(DecodeError::new(
            r.pos(),
            "trailing bytes after timestamp column",
        ));
    }
    Ok(out)
}

/// Decodes a chunk from its two columns.
pub fn decode_chunk(ts: &[u8], vals: &[u8]) -> Result<Vec<(i64, f64)>, DecodeError> {
    let t = decode_chunk_timestamps(ts)?;
    let v = decode_chunk_values(vals, t.len())?;
    Ok(t.into_iter().zip(v).collect())
}

/// Decodes only the value column, of `n` values (the length of the
/// chunk's timestamp column).
pub fn decode_chunk_values(vals: &[u8], n: usize) -> Result<Vec<f64>, DecodeError> {
    let mut r = Reader::new(vals);
    let v = values::decode_values(&mut r, n)?;
    if r.remaining() != 0 {
        return Err(DecodeError::new(
            r.pos(),
            "trailing bytes after value column",
        ));
    }
    Ok(v)
}

/// [`decode_chunk_values`] of `out.len()` values straight into the value
/// half of `out`'s `(timestamp, value)` pairs.
pub fn decode_chunk_values_into(vals: &[u8], out: &mut [(i64, f64)]) -> Result<(), DecodeError> {
    let mut r = Reader::new(vals);
    values::decode_values_into(&mut r, out, |slot, v| slot.1 = v)?;
    if r.remaining() != 0 {
        return Err(DecodeError::new(
            r.pos(),
            "trailing bytes after value column",
        ));
    }
    Ok(())
}

/// Values `lo..lo + out.len()` of the value column `vals` of `n` values
/// straight into the value half of `out`'s pairs, reading the column only
/// as far as they need ([`values::decode_values_range`]: neither its
/// length nor trailing bytes are checked).
pub fn decode_chunk_values_range_into(
    vals: &[u8],
    n: usize,
    lo: usize,
    out: &mut [(i64, f64)],
) -> Result<(), DecodeError> {
    values::decode_values_range(vals, n, lo, out, |slot, v| slot.1 = v)
}

/// The value of a constant value column (every value the same, so known
/// without decoding), or `None` for any other column, well-formed or not.
pub fn constant_value(vals: &[u8]) -> Option<f64> {
    match *vals {
        [0, b0, b1, b2, b3, b4, b5, b6, b7] => Some(f64::from_bits(u64::from_be_bytes([
            b0, b1, b2, b3, b4, b5, b6, b7,
        ]))),
        _ => None,
    }
}

/// Encodes samples as one self-contained byte string: the timestamp column
/// length (uvarint), the timestamp column, the value column.
pub fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    let c = encode_chunk(samples);
    let mut out = Vec::with_capacity(c.timestamps.len() + c.values.len() + 4);
    varint::put_uvarint(&mut out, c.timestamps.len() as u64);
    out.extend_from_slice(&c.timestamps);
    out.extend_from_slice(&c.values);
    out
}

/// Decodes the output of [`encode`].
pub fn decode(buf: &[u8]) -> Result<Vec<(i64, f64)>, DecodeError> {
    let mut r = Reader::new(buf);
    let n = r.len(buf.len())?;
    let start = r.pos();
    let ts = r.bytes(n)?;
    decode_chunk(ts, r.rest()).map_err(|e| DecodeError::new(e.offset + start, e.message))
}
