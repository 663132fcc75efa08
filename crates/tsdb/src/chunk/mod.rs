//! The head's in-memory chunks: Gorilla/XOR-compressed runs of up to
//! [`SAMPLES_PER_CHUNK`] samples, and an iterator over a list of them.

mod bstream;
mod spill;
mod xor;

use promlite_model::{SampleIterator, StorageError, ValueType};

#[cfg(test)]
pub(crate) use spill::FAIL_SEGMENT_IO;
pub use spill::{ChunkBytes, Segment, SpillDir, SEGMENT_SIZE};
pub use xor::{XorAppender, XorDecoder};

/// Samples per chunk before a new one is cut (as Prometheus).
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// An immutable chunk (or a snapshot of an open one).
#[derive(Clone, Debug)]
pub struct ChunkData {
    /// Encoded samples (on the heap or in a spill segment).
    pub data: ChunkBytes,
    /// Number of samples encoded.
    pub num: u16,
    /// First timestamp.
    pub mint: i64,
    /// Last timestamp.
    pub maxt: i64,
}

impl ChunkData {
    /// Decodes every sample (used by head truncation and block cutting).
    pub fn samples(&self) -> Vec<(i64, f64)> {
        let mut d = XorDecoder::new(self.data.as_ref(), self.num);
        let mut out = Vec::with_capacity(self.num as usize);
        while let Some(s) = d.next_sample() {
            out.push(s);
        }
        out
    }
}

/// Iterates the samples of consecutive, time-ordered chunks within
/// `[mint, maxt]`.
pub struct ChunksIterator {
    chunks: Vec<ChunkData>,
    idx: usize,
    dec: Option<XorDecoder<ChunkBytes>>,
    mint: i64,
    maxt: i64,
    at: (i64, f64),
    positioned: bool,
    done: bool,
    err: Option<StorageError>,
}

impl ChunksIterator {
    /// An iterator over `chunks` (sorted, non-overlapping) restricted to `[mint, maxt]`.
    pub fn new(chunks: Vec<ChunkData>, mint: i64, maxt: i64) -> Self {
        ChunksIterator {
            chunks,
            idx: 0,
            dec: None,
            mint,
            maxt,
            at: (0, 0.0),
            positioned: false,
            done: false,
            err: None,
        }
    }

    fn finish(&mut self) -> ValueType {
        self.done = true;
        self.positioned = false;
        ValueType::None
    }
}

impl SampleIterator for ChunksIterator {
    fn next(&mut self) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        loop {
            if self.dec.is_none() {
                let Some(c) = self.chunks.get(self.idx) else {
                    return self.finish();
                };
                if c.maxt < self.mint {
                    self.idx += 1;
                    continue;
                }
                if c.mint > self.maxt {
                    return self.finish();
                }
                self.dec = Some(XorDecoder::new(c.data.clone(), c.num));
            }
            let Some(dec) = self.dec.as_mut() else {
                return self.finish();
            };
            match dec.next_sample() {
                Some((t, _)) if t < self.mint => continue,
                Some((t, _)) if t > self.maxt => return self.finish(),
                Some(s) => {
                    self.at = s;
                    self.positioned = true;
                    return ValueType::Float;
                }
                None => {
                    if dec.failed() {
                        self.err = Some(StorageError::Other("damaged in-memory chunk".into()));
                        return self.finish();
                    }
                    self.dec = None;
                    self.idx += 1;
                }
            }
        }
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        if self.positioned && self.at.0 >= t {
            return ValueType::Float;
        }
        while let Some(c) = self.chunks.get(self.idx) {
            if c.maxt < t {
                self.idx += 1;
                self.dec = None;
            } else {
                break;
            }
        }
        loop {
            match self.next() {
                ValueType::Float if self.at.0 < t => continue,
                other => return other,
            }
        }
    }

    fn at(&self) -> (i64, f64) {
        self.at
    }

    fn err(&self) -> Option<StorageError> {
        self.err.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks_of(samples: &[(i64, f64)], per: usize) -> Vec<ChunkData> {
        samples
            .chunks(per)
            .map(|part| {
                let mut a = XorAppender::new();
                for &(t, v) in part {
                    a.append(t, v);
                }
                ChunkData {
                    num: a.num_samples(),
                    data: ChunkBytes::from(a.to_bytes()),
                    mint: part[0].0,
                    maxt: part[part.len() - 1].0,
                }
            })
            .collect()
    }

    fn collect(it: &mut ChunksIterator) -> Vec<i64> {
        let mut out = Vec::new();
        while it.next() == ValueType::Float {
            out.push(it.at().0);
        }
        out
    }

    #[test]
    fn iterates_range_across_chunks() {
        let samples: Vec<(i64, f64)> = (0..50).map(|i| (i * 10, i as f64)).collect();
        let mut it = ChunksIterator::new(chunks_of(&samples, 7), 95, 305);
        let expect: Vec<i64> = (10..=30).map(|i| i * 10).collect();
        assert_eq!(collect(&mut it), expect);
        assert_eq!(it.next(), ValueType::None);
    }

    #[test]
    fn seek_never_moves_back() {
        let samples: Vec<(i64, f64)> = (0..50).map(|i| (i * 10, i as f64)).collect();
        let mut it = ChunksIterator::new(chunks_of(&samples, 7), 0, 1000);
        assert_eq!(it.seek(201), ValueType::Float);
        assert_eq!(it.at(), (210, 21.0));
        assert_eq!(it.seek(100), ValueType::Float);
        assert_eq!(it.at(), (210, 21.0));
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (220, 22.0));
        assert_eq!(it.seek(490), ValueType::Float);
        assert_eq!(it.seek(491), ValueType::None);
        assert_eq!(it.next(), ValueType::None);
    }
}
