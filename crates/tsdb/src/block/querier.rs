//! Reading a block through the [`Querier`] trait.

use std::sync::Arc;

use promlite_model::{
    Labels, MatchOp, Matcher, Querier, SampleIterator, SelectHints, Series, StorageError, ValueType,
};

use super::reader::Block;
use crate::index::{intersect_postings, merge_postings, subtract_postings, ChunkMeta, IndexReader};

/// A querier over one block and an inclusive time range.
pub struct BlockQuerier<'a> {
    block: &'a Block,
    mint: i64,
    maxt: i64,
}

/// Lower numbers are evaluated first: cheap, selective lookups lead.
fn cost(m: &Matcher) -> u8 {
    match (m.op, m.matches_empty()) {
        (MatchOp::Equal, false) => 0,
        (MatchOp::Regex, false) if m.set_matches().is_some() => 1,
        (_, false) => 2,
        (MatchOp::NotEqual, true) => 3,
        _ => 4,
    }
}

/// Sorted ids of the series matching all `matchers` (all series when empty).
pub fn postings_for_matchers(
    ix: &IndexReader,
    matchers: &[Matcher],
) -> Result<Vec<u32>, StorageError> {
    let mut ms: Vec<&Matcher> = matchers.iter().collect();
    ms.sort_by_key(|m| cost(m));
    let mut acc: Option<Vec<u32>> = None;
    let mut remove: Vec<Vec<u32>> = Vec::new();
    for m in ms {
        if m.matches_empty() {
            // Series lacking the label match; remove those whose value does not.
            let neg = if m.op == MatchOp::NotEqual {
                ix.postings(&m.name, &m.value)?
            } else {
                ix.postings_for_values(&m.name, |v| !m.matches(v))?
            };
            remove.push(neg);
            continue;
        }
        let p = match m.set_matches() {
            Some(vals) => merge_postings(
                vals.iter()
                    .map(|v| ix.postings(&m.name, v))
                    .collect::<Result<_, _>>()?,
            ),
            None => ix.postings_for_values(&m.name, |v| m.matches(v))?,
        };
        let next = match acc {
            Some(a) => intersect_postings(&a, &p),
            None => p,
        };
        if next.is_empty() {
            return Ok(next);
        }
        acc = Some(next);
    }
    let mut out = match acc {
        Some(a) => a,
        None => ix.all_postings()?,
    };
    for r in remove {
        if !r.is_empty() {
            out = subtract_postings(&out, &r);
        }
    }
    Ok(out)
}

impl<'a> BlockQuerier<'a> {
    pub(crate) fn new(block: &'a Block, mint: i64, maxt: i64) -> Self {
        BlockQuerier { block, mint, maxt }
    }

    /// True if the range covers the whole block, so index-wide answers
    /// need no per-series time check.
    fn covers_block(&self) -> bool {
        let m = self.block.meta();
        self.mint <= m.min_time && self.maxt >= m.max_time.saturating_sub(1)
    }

    fn overlaps_block(&self) -> bool {
        let m = self.block.meta();
        self.mint < m.max_time && self.maxt >= m.min_time && self.mint <= self.maxt
    }

    /// Checks that the overlapping `chunks` really hold a sample in range.
    /// This is true at once if a chunk lies fully inside. Otherwise chunks
    /// are decoded in order. Leading chunks without in-range samples are
    /// dropped. The in-range samples of the first chunk that has some are
    /// returned so the iterator need not decode it again.
    fn check_in_range(
        &self,
        chunks: &mut Vec<ChunkMeta>,
    ) -> Result<Option<Preloaded>, StorageError> {
        if chunks
            .iter()
            .any(|c| c.min_time >= self.mint && c.max_time <= self.maxt)
        {
            return Ok(Some(None));
        }
        for i in 0..chunks.len() {
            let mut s = self.block.read_chunk(&chunks[i])?;
            s.retain(|x| x.0 >= self.mint && x.0 <= self.maxt);
            if !s.is_empty() {
                chunks.drain(..i);
                return Ok(Some(Some(Arc::new(s))));
            }
        }
        Ok(None)
    }

    /// Matching series with their chunks inside the range (series without
    /// samples in range are dropped).
    fn matching(
        &self,
        matchers: &[Matcher],
        limit: usize,
    ) -> Result<Vec<(Labels, Vec<ChunkMeta>, Preloaded)>, StorageError> {
        if !self.overlaps_block() {
            return Ok(Vec::new());
        }
        let ix = self.block.index();
        let mut out = Vec::new();
        for id in postings_for_matchers(ix, matchers)? {
            let (labels, mut chunks) = ix.series_in_range(id, self.mint, self.maxt)?;
            let Some(pre) = self.check_in_range(&mut chunks)? else {
                continue;
            };
            out.push((labels, chunks, pre));
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}

/// Already decoded in-range samples of a series' first chunk.
type Preloaded = Option<Arc<Vec<(i64, f64)>>>;

impl Querier for BlockQuerier<'_> {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series + '_>>, StorageError> {
        if !matchers.is_empty() && matchers.iter().all(|m| m.matches_empty()) {
            return Err(StorageError::Other(
                "vector selector must contain at least one non-empty matcher".into(),
            ));
        }
        Ok(self
            .matching(matchers, hints.limit)?
            .into_iter()
            .map(|(labels, chunks, preloaded)| {
                let (chunks, preloaded) = if hints.labels_only {
                    (Vec::new(), None)
                } else {
                    (chunks, preloaded)
                };
                Box::new(BlockSeries {
                    block: self.block,
                    labels,
                    chunks,
                    preloaded,
                    mint: self.mint,
                    maxt: self.maxt,
                }) as Box<dyn Series + '_>
            })
            .collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if !self.overlaps_block() {
            return Ok(Vec::new());
        }
        if matchers.is_empty() && self.covers_block() {
            return self.block.index().label_values(name);
        }
        let mut vals: Vec<String> = self
            .matching(matchers, 0)?
            .into_iter()
            .filter_map(|(l, _, _)| l.get(name).map(str::to_string))
            .collect();
        vals.sort();
        vals.dedup();
        Ok(vals)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        if !self.overlaps_block() {
            return Ok(Vec::new());
        }
        if matchers.is_empty() && self.covers_block() {
            return self.block.index().label_names();
        }
        let mut names: Vec<String> = self
            .matching(matchers, 0)?
            .into_iter()
            .flat_map(|(l, _, _)| l.iter().map(|x| x.name.to_string()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
}

/// One series of a block; samples are decoded lazily, chunk by chunk.
pub struct BlockSeries<'a> {
    block: &'a Block,
    labels: Labels,
    chunks: Vec<ChunkMeta>,
    /// In-range samples of `chunks[0]` if the querier already decoded it.
    preloaded: Preloaded,
    mint: i64,
    maxt: i64,
}

impl Series for BlockSeries<'_> {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(BlockIterator {
            block: self.block,
            chunks: &self.chunks,
            next_chunk: 0,
            buf: Vec::new(),
            preloaded: self.preloaded.clone(),
            pos: 0,
            started: false,
            done: false,
            err: None,
            mint: self.mint,
            maxt: self.maxt,
        })
    }

    /// The newest chunk's stored last value, see [`Block::last_sample_in`].
    fn last_sample(&self) -> Result<Option<(i64, f64)>, StorageError> {
        self.block
            .last_sample_in(&self.chunks, self.mint, self.maxt, None)
    }
}

/// Iterates a series' samples within the querier range.
pub struct BlockIterator<'a> {
    block: &'a Block,
    chunks: &'a [ChunkMeta],
    next_chunk: usize,
    buf: Vec<(i64, f64)>,
    preloaded: Preloaded,
    pos: usize,
    started: bool,
    done: bool,
    err: Option<StorageError>,
    mint: i64,
    maxt: i64,
}

impl BlockIterator<'_> {
    /// Loads the next chunk holding samples `>= min_t` within range.
    fn load_next(&mut self, min_t: i64) -> bool {
        let lo = self.mint.max(min_t);
        if let Some(pre) = self.preloaded.take() {
            self.next_chunk = 1;
            if pre.last().is_some_and(|x| x.0 >= lo) {
                self.buf = Arc::try_unwrap(pre).unwrap_or_else(|a| a.as_ref().clone());
                self.pos = 0;
                return true;
            }
        }
        while let Some(c) = self.chunks.get(self.next_chunk) {
            self.next_chunk += 1;
            if c.max_time < lo || c.min_time > self.maxt {
                continue;
            }
            match self.block.read_chunk(c) {
                Ok(mut s) => {
                    s.retain(|x| x.0 >= self.mint && x.0 <= self.maxt);
                    if !s.is_empty() {
                        self.buf = s;
                        self.pos = 0;
                        return true;
                    }
                }
                Err(e) => {
                    self.err = Some(e);
                    break;
                }
            }
        }
        self.done = true;
        self.buf.clear();
        self.pos = 0;
        false
    }
}

impl SampleIterator for BlockIterator<'_> {
    fn next(&mut self) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        if !self.started {
            self.started = true;
            return if self.load_next(i64::MIN) {
                ValueType::Float
            } else {
                ValueType::None
            };
        }
        self.pos += 1;
        if self.pos < self.buf.len() || self.load_next(i64::MIN) {
            ValueType::Float
        } else {
            ValueType::None
        }
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        if !self.started {
            self.started = true;
            if !self.load_next(t) {
                return ValueType::None;
            }
        }
        loop {
            let rest = self.buf.get(self.pos..).unwrap_or(&[]);
            self.pos += rest.partition_point(|s| s.0 < t);
            if self.pos < self.buf.len() {
                return ValueType::Float;
            }
            if !self.load_next(t) {
                return ValueType::None;
            }
        }
    }

    fn at(&self) -> (i64, f64) {
        self.buf.get(self.pos).copied().unwrap_or((0, 0.0))
    }

    fn err(&self) -> Option<StorageError> {
        self.err.clone()
    }
}
