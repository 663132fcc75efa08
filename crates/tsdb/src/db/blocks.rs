//! The Db's set of persistent blocks, and selecting from one block with
//! results that keep the block alive.
//!
//! This is the only place the Db touches the block modules
//! (`crate::block`, `crate::compact`, `crate::retention`, `crate::quarantine`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use promlite_model::{
    Labels, Matcher, SampleIterator, SelectHints, Series, StorageError, ValueType,
};

use crate::block::{
    postings_for_matchers, Block, BlockMeta, TimestampCache, META_FILE, TMP_SUFFIX,
};
use crate::index::{ChunkMeta, LabelRefs};
use crate::tombstones::Intervals;

/// Blocks in the data directory, sorted by `min_time`.
pub(crate) struct BlockSet {
    dir: PathBuf,
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Decoded timestamp columns of the blocks read most recently, most
    /// recent last (see [`BlockSet::timestamp_cache`]).
    ts_caches: parking_lot::Mutex<Vec<(String, Arc<TimestampCache>)>>,
}

/// Blocks whose decoded timestamp columns are kept between queries. Each
/// cache holds at most 4,096 columns (about 1 KiB each for full chunks)
/// and starts over when full, so this bounds the memory to about 16 MiB;
/// with a few hundred targets it is a few MiB.
const TS_CACHED_BLOCKS: usize = 4;

impl BlockSet {
    /// Opens every block in `dir`. Half-written blocks are removed; blocks
    /// that fail to open are quarantined (moved, never deleted) and logged.
    pub(crate) fn open(dir: &Path) -> Result<BlockSet, StorageError> {
        let io = |e: std::io::Error| StorageError::Io(format!("{}: {e}", dir.display()));
        let mut blocks = Vec::new();
        for e in std::fs::read_dir(dir).map_err(io)? {
            let e = e.map_err(io)?;
            if !e.file_type().map_err(io)?.is_dir() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if name.ends_with(TMP_SUFFIX) {
                tracing::info!(target: "promlite_tsdb", "removing half-written block {}", path.display());
                std::fs::remove_dir_all(&path).map_err(io)?;
                continue;
            }
            if !is_block_dir(&name, &path) {
                continue;
            }
            match Block::open(&path) {
                Ok(b) => blocks.push(Arc::new(b)),
                Err(err) => {
                    let moved = crate::quarantine::quarantine(dir, &path, &err.to_string())?;
                    tracing::error!(target: "promlite_tsdb", "block {} is damaged ({err}); moved to {}", path.display(), moved.display());
                }
            }
        }
        // A block whose replacement (compaction or tombstone clean-up) is
        // in place survived a crash before its deletion: remove it, as
        // Prometheus does with the parents of loaded blocks.
        let parents: std::collections::HashSet<String> = blocks
            .iter()
            .flat_map(|b| b.meta().compaction.parents.iter().cloned())
            .collect();
        let (stale, mut blocks): (Vec<_>, Vec<_>) = blocks
            .into_iter()
            .partition(|b| parents.contains(&b.meta().id));
        for b in stale {
            tracing::info!(target: "promlite_tsdb", "removing block {} replaced before a crash", b.dir().display());
            std::fs::remove_dir_all(b.dir()).map_err(io)?;
        }
        sort(&mut blocks);
        Ok(BlockSet {
            dir: dir.to_path_buf(),
            blocks: RwLock::new(blocks),
            ts_caches: parking_lot::Mutex::new(Vec::new()),
        })
    }

    /// The timestamp-column cache of `block`, kept across queries for the
    /// [`TS_CACHED_BLOCKS`] blocks read most recently. Block files never
    /// change, and series scraped together share their timestamp columns,
    /// so a dashboard's repeated queries decode each column once instead of
    /// once per query (a timestamp column is as costly to decode as a value
    /// column). Keyed by block id: a rewritten block has a new one.
    pub(crate) fn timestamp_cache(&self, block: &Block) -> Arc<TimestampCache> {
        cache_for(&mut self.ts_caches.lock(), &block.meta().id)
    }

    /// Drops the timestamp caches of blocks no longer in the set.
    fn forget_caches(&self) {
        let ids: Vec<String> = self
            .blocks
            .read()
            .iter()
            .map(|b| b.meta().id.clone())
            .collect();
        self.ts_caches.lock().retain(|(id, _)| ids.contains(id));
    }

    /// The current blocks (a snapshot; the set may change afterwards).
    pub(crate) fn snapshot(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    /// End (exclusive) of the newest block, if any.
    pub(crate) fn max_time(&self) -> Option<i64> {
        self.blocks.read().iter().map(|b| b.meta().max_time).max()
    }

    /// Opens a block just written and adds it.
    pub(crate) fn add(&self, meta: &BlockMeta) -> Result<(), StorageError> {
        let b = Arc::new(Block::open(&self.dir.join(&meta.id))?);
        let mut set = self.blocks.write();
        set.push(b);
        sort(&mut set);
        Ok(())
    }

    /// Removes blocks by id from the set and deletes their directories.
    /// Queries still holding them keep reading their (unlinked) files.
    pub(crate) fn delete(&self, ids: &[String]) -> Result<(), StorageError> {
        let removed: Vec<Arc<Block>> = {
            let mut set = self.blocks.write();
            let (gone, keep): (Vec<_>, Vec<_>) =
                set.drain(..).partition(|b| ids.contains(&b.meta().id));
            *set = keep;
            gone
        };
        self.forget_caches();
        for b in removed {
            std::fs::remove_dir_all(b.dir())
                .map_err(|e| StorageError::Io(format!("{}: {e}", b.dir().display())))?;
        }
        Ok(())
    }
}

impl BlockSet {
    /// Swaps block `old_id` for the block `new` just written (or just drops
    /// it when `new` is `None`), in one step for queries, then deletes the
    /// old directory. Queries still holding the old block keep reading it.
    pub(crate) fn replace(
        &self,
        old_id: &str,
        new: Option<&BlockMeta>,
    ) -> Result<(), StorageError> {
        let opened = match new {
            Some(meta) => Some(Arc::new(Block::open(&self.dir.join(&meta.id))?)),
            None => None,
        };
        let removed: Vec<Arc<Block>> = {
            let mut set = self.blocks.write();
            let (gone, mut keep): (Vec<_>, Vec<_>) =
                set.drain(..).partition(|b| b.meta().id == old_id);
            keep.extend(opened);
            sort(&mut keep);
            *set = keep;
            gone
        };
        self.forget_caches();
        for b in removed {
            std::fs::remove_dir_all(b.dir())
                .map_err(|e| StorageError::Io(format!("{}: {e}", b.dir().display())))?;
        }
        Ok(())
    }
}

/// The cache of block `id` in the most-recently-used list `caches` (made
/// and added if missing, the least recently used dropped beyond
/// [`TS_CACHED_BLOCKS`]), moved to the end.
fn cache_for(caches: &mut Vec<(String, Arc<TimestampCache>)>, id: &str) -> Arc<TimestampCache> {
    if let Some(i) = caches.iter().position(|(b, _)| b == id) {
        let entry = caches.remove(i);
        let cache = entry.1.clone();
        caches.push(entry);
        return cache;
    }
    if caches.len() >= TS_CACHED_BLOCKS {
        caches.remove(0);
    }
    let cache = Arc::new(TimestampCache::default());
    caches.push((id.to_string(), cache.clone()));
    cache
}

fn sort(blocks: &mut [Arc<Block>]) {
    blocks.sort_by(|a, b| {
        (a.meta().min_time, a.meta().max_time, &a.meta().id).cmp(&(
            b.meta().min_time,
            b.meta().max_time,
            &b.meta().id,
        ))
    });
}

/// Block directories have a `meta.json` or a 26-character id for a name.
fn is_block_dir(name: &str, path: &Path) -> bool {
    path.join(META_FILE).exists()
        || (name.len() == 26 && name.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Series of `block` matching `matchers` with samples in `[mint, maxt]`,
/// sorted by labels. Each keeps the block alive, so results do not borrow
/// the block set (which compaction changes). Decoded timestamp columns are
/// shared through `ts_cache`.
pub(crate) fn select_block(
    block: &Arc<Block>,
    ts_cache: Arc<TimestampCache>,
    mint: i64,
    maxt: i64,
    hints: &SelectHints,
    matchers: &[Matcher],
) -> Result<Vec<Box<dyn Series>>, StorageError> {
    let mut out: Vec<Box<dyn Series>> = Vec::new();
    let m = block.meta();
    if mint > maxt || mint >= m.max_time || maxt < m.min_time {
        return Ok(out);
    }
    let ix = block.index();
    let tombstones = block.tombstones();
    for id in postings_for_matchers(ix, matchers)? {
        let deleted = tombstones.get(u64::from(id)).cloned();
        let mut chunks = ChunkList::default();
        let label_refs = ix.series_chunks_in_range_each(id, mint, maxt, |c| {
            let hidden = deleted
                .as_ref()
                .is_some_and(|d| d.covers(c.min_time, c.max_time));
            if c.max_time >= mint && c.min_time <= maxt && !hidden {
                chunks.push(c);
            }
        })?;
        if chunks.is_empty() {
            continue;
        }
        let series = OwnedBlockSeries {
            block: block.clone(),
            ts_cache: ts_cache.clone(),
            label_refs,
            labels: OnceLock::new(),
            chunks,
            deleted,
            mint,
            maxt,
        };
        // Edge chunks may overlap the range without a sample in it. A chunk's
        // first and last timestamps are samples: if one is in range (and no
        // tombstone may hide it) there is no need to decode.
        let surely_in_range = series.deleted.is_none()
            && series.chunks.iter().any(|c| {
                (mint..=maxt).contains(&c.min_time) || (mint..=maxt).contains(&c.max_time)
            });
        if !surely_in_range && !series.has_sample_in_range()? {
            continue;
        }
        let series = if hints.labels_only {
            OwnedBlockSeries {
                chunks: ChunkList::default(),
                ..series
            }
        } else {
            series
        };
        out.push(Box::new(series));
        if hints.limit > 0 && out.len() >= hints.limit {
            break;
        }
    }
    Ok(out)
}

/// Whether every timestamp is greater than the one before. Checked
/// without stopping early, so the comparisons are vectorised (a chunk's
/// column is checked whole on every read; stopping at the first
/// out-of-order pair only helps damaged data).
pub(crate) fn strictly_increasing(ts: &[i64]) -> bool {
    match (ts.get(..ts.len().saturating_sub(1)), ts.get(1..)) {
        (Some(a), Some(b)) => a.iter().zip(b).fold(true, |ok, (x, y)| ok & (x < y)),
        _ => true,
    }
}

/// Chunks a series keeps inline: a 2-hour block of 30-minute chunks has
/// four.
const INLINE_CHUNKS: usize = 4;

/// A selected series' chunks in one block, inline up to [`INLINE_CHUNKS`]
/// (more on the heap). A selection makes one list per series and drops
/// them all at its end; past a handful of blocks of one size glibc serves
/// those from its slower bins, so a vector each cost several hundred
/// instructions per series.
enum ChunkList {
    Inline(usize, [ChunkMeta; INLINE_CHUNKS]),
    Heap(Vec<ChunkMeta>),
}

impl Default for ChunkList {
    fn default() -> Self {
        let none = ChunkMeta {
            min_time: 0,
            max_time: 0,
            chunk_ref: 0,
        };
        ChunkList::Inline(0, [none; INLINE_CHUNKS])
    }
}

impl ChunkList {
    fn push(&mut self, c: ChunkMeta) {
        match self {
            ChunkList::Inline(len, items) => {
                if let Some(slot) = items.get_mut(*len) {
                    *slot = c;
                    *len += 1;
                } else {
                    let mut v = Vec::with_capacity(2 * INLINE_CHUNKS);
                    v.extend_from_slice(items);
                    v.push(c);
                    *self = ChunkList::Heap(v);
                }
            }
            ChunkList::Heap(v) => v.push(c),
        }
    }
}

impl std::ops::Deref for ChunkList {
    type Target = [ChunkMeta];

    fn deref(&self) -> &[ChunkMeta] {
        match self {
            ChunkList::Inline(len, items) => items.get(..*len).unwrap_or(&[]),
            ChunkList::Heap(v) => v,
        }
    }
}

struct OwnedBlockSeries {
    block: Arc<Block>,
    /// Timestamp columns decoded for the series of the same selection.
    ts_cache: Arc<TimestampCache>,
    /// Its label set as checked symbol references.
    label_refs: LabelRefs,
    /// Its labels, built from the index when first asked for: an
    /// aggregation that drops them all (`avg(x)`) never asks, and building
    /// a label set (symbol lookups, an allocation, a copy) was a tenth of
    /// such a query.
    labels: OnceLock<Labels>,
    chunks: ChunkList,
    /// Deleted intervals (tombstones) of this series.
    deleted: Option<Intervals>,
    mint: i64,
    maxt: i64,
}

impl OwnedBlockSeries {
    /// Whether the series has a (not deleted) sample in `[mint, maxt]`.
    /// Without tombstones only timestamp columns are read, which series
    /// scraped together share through the selection's cache; the value
    /// column is decoded later, once, when the samples are read.
    fn has_sample_in_range(&self) -> Result<bool, StorageError> {
        if self.deleted.is_some() {
            let mut probe = self.iter();
            if probe.next() == ValueType::None {
                return probe.err().map_or(Ok(false), Err);
            }
            return Ok(true);
        }
        // As the iterator decides: the first sample at or after `mint`, in
        // column order, must not be past `maxt`.
        for c in self.chunks.iter() {
            let ts = self.block.read_chunk_timestamps(c, &self.ts_cache)?;
            if let Some(&t) = ts.iter().find(|&&t| t >= self.mint) {
                return Ok(t <= self.maxt);
            }
        }
        Ok(false)
    }

    /// [`Series::append_samples`] of the chunks `chunks` (a part of the
    /// series' list), keeping samples from `*next_t` on (moved past every
    /// sample appended); true once a sample past `maxt` ended the series.
    fn append_from(
        &self,
        chunks: &[ChunkMeta],
        next_t: &mut i64,
        out: &mut Vec<(i64, f64)>,
    ) -> Result<bool, StorageError> {
        self.append_from_as(chunks, next_t, out, None)
            .map(|(ended, _)| ended)
    }

    /// [`OwnedBlockSeries::append_from`]; with `extreme = Some(max)`, the
    /// run kept of each chunk whose values allow it is appended as at most
    /// two samples holding its greatest (least) value (see
    /// [`Block::append_chunk_extreme`]). Also returns the samples left
    /// out.
    fn append_from_as(
        &self,
        chunks: &[ChunkMeta],
        next_t: &mut i64,
        out: &mut Vec<(i64, f64)>,
        extreme: Option<bool>,
    ) -> Result<(bool, usize), StorageError> {
        let mut hidden = 0usize;
        for c in chunks.iter() {
            if c.max_time < *next_t {
                continue;
            }
            // Usual case: nothing deleted and the timestamps in order, so
            // the loop below would keep one contiguous run of samples (all
            // of them, or the tail an instant query's lookback needs):
            // found by two binary searches, the values decoded straight
            // into `out`.
            if self.deleted.is_none() {
                let (from, maxt) = (*next_t, self.maxt);
                let mut run = None;
                let range = |ts: &[i64], ordered: bool| {
                    // `ordered`: strictly increasing, checked once
                    // per cached column.
                    if !ordered {
                        return None;
                    }
                    let lo = ts.partition_point(|&t| t < from);
                    let hi = ts.partition_point(|&t| t <= maxt);
                    run = Some((
                        ts.get(lo..hi).and_then(|t| t.last()).copied(),
                        hi < ts.len(),
                    ));
                    Some((lo, hi))
                };
                let appended = match extreme {
                    None => self
                        .block
                        .append_chunk_range(c, &self.ts_cache, out, range)?,
                    Some(max) => {
                        match self
                            .block
                            .append_chunk_extreme(c, &self.ts_cache, out, range, max)?
                        {
                            Some(left_out) => {
                                hidden += left_out;
                                true
                            }
                            None => false,
                        }
                    }
                };
                if let (true, Some((last, ended))) = (appended, run) {
                    if let Some(last) = last {
                        *next_t = last.saturating_add(1);
                    }
                    if ended {
                        return Ok((true, hidden));
                    }
                    continue;
                }
            }
            let (ts, vals) = self.block.read_chunk_columns(c, &self.ts_cache)?;
            out.reserve(ts.len());
            for (&t, v) in ts.iter().zip(vals) {
                if self.deleted.as_ref().is_some_and(|d| d.contains(t)) {
                    continue;
                }
                if t < *next_t {
                    continue;
                }
                if t > self.maxt {
                    return Ok((true, hidden));
                }
                out.push((t, v));
                *next_t = t.saturating_add(1);
            }
        }
        Ok((false, hidden))
    }
}

impl Series for OwnedBlockSeries {
    /// Built on first use. The selection checked the entry's label
    /// references as building checks them
    /// ([`crate::index::IndexReader::series_chunks_in_range_each`]), and
    /// block files do not change, so building cannot fail; were it to, the
    /// series would have no labels rather than take the process down.
    fn labels(&self) -> &Labels {
        self.labels.get_or_init(|| {
            self.block
                .index()
                .labels_from_refs(&self.label_refs)
                .unwrap_or_else(|_| Labels::empty())
        })
    }

    /// From the symbol references, unless the set is already built or has
    /// more labels than the references hold.
    fn label_value(&self, name: &str) -> Option<&str> {
        if let Some(l) = self.labels.get() {
            return l.get(name);
        }
        match self
            .block
            .index()
            .label_value_from_refs(&self.label_refs, name)
        {
            Some(v) => v,
            None => self.labels().get(name),
        }
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(BlockChunksIter {
            block: &self.block,
            chunks: &self.chunks,
            deleted: self.deleted.as_ref(),
            next_chunk: 0,
            buf: Vec::new(),
            pos: 0,
            at: None,
            done: false,
            err: None,
            mint: self.mint,
            maxt: self.maxt,
        })
    }

    /// Decodes chunk after chunk straight into `out`, keeping what the
    /// iterator would yield: samples in `[mint, maxt]`, not deleted, each
    /// later than the one before.
    fn append_samples(&self, out: &mut Vec<(i64, f64)>) -> Result<(), StorageError> {
        let mut next_t = self.mint;
        self.append_from(&self.chunks, &mut next_t, out).map(|_| ())
    }

    /// Without tombstones, a chunk inside `[mint, maxt]` whose value column
    /// is flagged monotone (no NaN, no value below its predecessor) gives
    /// only its first and last samples, from its timestamp column (shared
    /// through the cache) and its first and stored last value, without
    /// decoding the values between; every other chunk is read as
    /// [`Series::append_samples`] reads it.
    fn append_samples_thin(&self, out: &mut Vec<(i64, f64)>) -> Result<usize, StorageError> {
        if self.deleted.is_some() {
            return self.append_samples(out).map(|()| 0);
        }
        let mut hidden = 0usize;
        let mut next_t = self.mint;
        for c in self.chunks.iter() {
            if c.max_time < next_t {
                continue;
            }
            if c.min_time >= next_t && c.max_time <= self.maxt {
                if let Some(m) = self.block.read_chunk_monotone(c, &self.ts_cache)? {
                    let ts = &m.timestamps;
                    if let (Some(&first_t), Some(&last_t)) = (ts.first(), ts.last()) {
                        if first_t >= next_t && last_t <= self.maxt && strictly_increasing(ts) {
                            out.push((first_t, m.first));
                            if ts.len() > 1 {
                                out.push((last_t, m.last));
                            }
                            hidden += ts.len().saturating_sub(2);
                            next_t = last_t.saturating_add(1);
                            continue;
                        }
                    }
                }
            }
            // A chunk the window starts in (and that ends inside it): its
            // samples from `next_t` on, of which only the first value is
            // decoded.
            if c.min_time < next_t && c.max_time <= self.maxt {
                if let Some(m) = self
                    .block
                    .read_chunk_monotone_from(c, &self.ts_cache, next_t)?
                {
                    let ts = &m.timestamps;
                    let kept = ts.get(m.start..).unwrap_or(&[]);
                    if let (Some(&first_t), Some(&last_t)) = (kept.first(), kept.last()) {
                        if last_t <= self.maxt {
                            out.push((first_t, m.first));
                            if kept.len() > 1 {
                                out.push((last_t, m.last));
                            }
                            hidden += kept.len().saturating_sub(2);
                            next_t = last_t.saturating_add(1);
                            continue;
                        }
                    }
                }
            }
            // Any other chunk: decoded.
            if self.append_from(std::slice::from_ref(c), &mut next_t, out)? {
                break;
            }
        }
        Ok(hidden)
    }

    /// Without tombstones, each chunk's run of samples in range is
    /// appended as two holding its greatest (`max`) or least value when
    /// its value column can hold neither NaN nor `-0` (decimal columns
    /// without exceptions, constants; see
    /// [`crate::codec::extreme`]), without storing its values; every other
    /// chunk, and every chunk of a series with tombstones, is read as
    /// [`Series::append_samples`] reads it.
    fn append_samples_extreme(
        &self,
        out: &mut Vec<(i64, f64)>,
        max: bool,
    ) -> Result<usize, StorageError> {
        if self.deleted.is_some() {
            return self.append_samples(out).map(|()| 0);
        }
        let mut next_t = self.mint;
        self.append_from_as(&self.chunks, &mut next_t, out, Some(max))
            .map(|(_, hidden)| hidden)
    }

    /// Without tombstones, when the newest chunk with samples in range
    /// holds at least `n` of them: those `n`, decoded by the ranged decoder
    /// (the values before them stepped over). Otherwise, as the default,
    /// all samples read and the older ones dropped.
    fn append_newest(&self, out: &mut Vec<(i64, f64)>, n: usize) -> Result<(), StorageError> {
        if self.deleted.is_none() {
            let (mint, maxt) = (self.mint, self.maxt);
            let newest = self
                .chunks
                .iter()
                .rev()
                .find(|c| c.min_time <= maxt)
                .filter(|c| c.max_time >= mint);
            if let Some(c) = newest {
                let base = out.len();
                let range = |ts: &[i64], ordered: bool| {
                    if !ordered {
                        return None;
                    }
                    let lo = ts.partition_point(|&t| t < mint);
                    let hi = ts.partition_point(|&t| t <= maxt);
                    (hi >= lo.saturating_add(n)).then(|| (hi - n, hi))
                };
                if self
                    .block
                    .append_chunk_range(c, &self.ts_cache, out, range)?
                {
                    return Ok(());
                }
                out.truncate(base);
            }
        }
        let base = out.len();
        self.append_samples(out)?;
        let got = out.len() - base;
        if got > n {
            out.drain(base..base + (got - n));
        }
        Ok(())
    }

    /// Without tombstones, the newest chunk's stored last value (see
    /// [`Block::last_sample_in`]): an instant selector decodes nothing
    /// unless its time falls inside a chunk. With tombstones, the newest
    /// of all samples left.
    fn last_sample(&self) -> Result<Option<(i64, f64)>, StorageError> {
        if self.deleted.is_some() {
            let mut all = Vec::new();
            self.append_samples(&mut all)?;
            return Ok(all.last().copied());
        }
        self.block
            .last_sample_in(&self.chunks, self.mint, self.maxt, Some(&self.ts_cache))
    }
}

/// Decodes a block series chunk by chunk, restricted to `[mint, maxt]`.
struct BlockChunksIter<'a> {
    block: &'a Block,
    chunks: &'a [ChunkMeta],
    deleted: Option<&'a Intervals>,
    next_chunk: usize,
    buf: Vec<(i64, f64)>,
    pos: usize,
    at: Option<(i64, f64)>,
    done: bool,
    err: Option<StorageError>,
    mint: i64,
    maxt: i64,
}

impl BlockChunksIter<'_> {
    fn finish(&mut self) -> ValueType {
        self.done = true;
        self.at = None;
        ValueType::None
    }

    /// Loads the next chunk that may hold samples `>= t`.
    fn load_next(&mut self, t: i64) -> bool {
        while let Some(c) = self.chunks.get(self.next_chunk) {
            self.next_chunk += 1;
            if c.max_time < t {
                continue;
            }
            match self.block.read_chunk(c) {
                Ok(mut s) => {
                    if let Some(d) = self.deleted {
                        d.filter(&mut s);
                    }
                    self.buf = s;
                    self.pos = 0;
                    return true;
                }
                Err(e) => {
                    self.err = Some(e);
                    return false;
                }
            }
        }
        false
    }

    fn advance_to(&mut self, t: i64) -> ValueType {
        let t = t.max(self.mint);
        loop {
            while let Some(&s) = self.buf.get(self.pos) {
                if s.0 < t {
                    self.pos += 1;
                    continue;
                }
                if s.0 > self.maxt {
                    return self.finish();
                }
                self.at = Some(s);
                return ValueType::Float;
            }
            if !self.load_next(t) {
                return self.finish();
            }
        }
    }
}

impl SampleIterator for BlockChunksIter<'_> {
    fn next(&mut self) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        let t = match self.at {
            Some((t, _)) => {
                self.pos += 1;
                t.saturating_add(1)
            }
            None => self.mint,
        };
        self.advance_to(t)
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if self.done {
            return ValueType::None;
        }
        if let Some(a) = self.at {
            if a.0 >= t {
                return ValueType::Float;
            }
        }
        self.advance_to(t)
    }

    fn at(&self) -> (i64, f64) {
        self.at.unwrap_or((0, 0.0))
    }

    fn err(&self) -> Option<StorageError> {
        self.err.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block series' newest `n` samples ([`Series::append_newest`]) are
    /// the last `n` of its full read, bit for bit, for windows ending
    /// inside and at the ends of chunks, holding fewer than `n` samples of
    /// the newest chunk, staleness markers, NaN, and with tombstones.
    #[test]
    fn newest_samples_are_the_last_of_the_full_read() {
        use promlite_model::{labels, Matcher, SelectHints, STALE_NAN};
        let dir = tempfile::tempdir().unwrap();
        let samples = |start: i64, n: i64, f: &dyn Fn(i64) -> f64| -> Vec<(i64, f64)> {
            (0..n).map(|i| (start + i * 15_000, f(i))).collect()
        };
        let mut stale = samples(0, 300, &|i| i as f64);
        stale[119].1 = STALE_NAN;
        stale[200].1 = f64::NAN;
        let mut all = vec![
            (
                labels!("__name__" => "a"),
                samples(0, 300, &|i| (i * i) as f64),
            ),
            (
                labels!("__name__" => "b"),
                samples(7, 250, &|i| (i as f64).sin()),
            ),
            (labels!("__name__" => "c"), stale),
            (
                labels!("__name__" => "d"),
                samples(1_000, 9, &|i| i as f64 * 0.5),
            ),
        ];
        all.sort_by(|a, b| a.0.cmp(&b.0));
        crate::block::write_block(dir.path(), 0, 7_200_000, &mut all.into_iter())
            .unwrap()
            .unwrap();
        let opts = crate::DbOptions {
            background: false,
            ..Default::default()
        };
        let db = crate::Db::open(dir.path(), opts).unwrap();
        let check = |db: &crate::Db| {
            let mut checked = 0;
            for maxt in (0..4_600_000).step_by(7_499) {
                for (mint, maxt) in [(maxt - 300_000, maxt), (maxt - 16_000, maxt + 1), (0, maxt)] {
                    let q = db.querier(mint, maxt).unwrap();
                    let m = Matcher::new(promlite_model::MatchOp::Regex, "__name__", ".+").unwrap();
                    for s in q.select(&SelectHints::default(), &[m]).unwrap() {
                        let mut full = Vec::new();
                        s.append_samples(&mut full).unwrap();
                        for n in [1usize, 2, 3] {
                            let mut got = vec![(-1, 0.0)];
                            s.append_newest(&mut got, n).unwrap();
                            let want = &full[full.len().saturating_sub(n)..];
                            let b = |x: &(i64, f64)| (x.0, x.1.to_bits());
                            assert_eq!(
                                got[1..].iter().map(b).collect::<Vec<_>>(),
                                want.iter().map(b).collect::<Vec<_>>(),
                                "{} in [{mint}, {maxt}], {n}",
                                s.labels()
                            );
                            checked += 1;
                        }
                    }
                }
            }
            checked
        };
        assert!(check(&db) > 5_000);
        db.delete_series(
            &[vec![Matcher::equal("__name__", "b")]],
            100 * 15_000,
            180 * 15_000,
        )
        .unwrap();
        check(&db);
    }

    #[test]
    fn chunk_lists_keep_every_chunk_in_order() {
        for n in 0..11u64 {
            let mut list = ChunkList::default();
            let want: Vec<ChunkMeta> = (0..n)
                .map(|i| ChunkMeta {
                    min_time: i as i64 * 100,
                    max_time: i as i64 * 100 + 99,
                    chunk_ref: i << 3,
                })
                .collect();
            for &c in &want {
                list.push(c);
            }
            assert_eq!(&*list, want.as_slice(), "{n} chunks");
            assert_eq!(
                matches!(list, ChunkList::Inline(..)),
                n as usize <= INLINE_CHUNKS
            );
        }
    }

    #[test]
    fn strictly_increasing_checks_every_pair() {
        assert!(strictly_increasing(&[]));
        assert!(strictly_increasing(&[5]));
        let ts: Vec<i64> = (0..130).map(|i| i * 15_000 + i % 7).collect();
        assert!(strictly_increasing(&ts));
        for at in [1, 2, 63, 64, 65, 129] {
            let mut bad = ts.clone();
            bad[at] = bad[at - 1];
            assert!(!strictly_increasing(&bad), "equal pair at {at}");
            bad[at] = bad[at - 1] - 1;
            assert!(!strictly_increasing(&bad), "decrease at {at}");
        }
    }

    #[test]
    fn timestamp_caches_are_kept_for_the_blocks_read_last() {
        let mut caches = Vec::new();
        let a = cache_for(&mut caches, "a");
        assert!(Arc::ptr_eq(&a, &cache_for(&mut caches, "a")));
        let b = cache_for(&mut caches, "b");
        assert!(!Arc::ptr_eq(&a, &b));
        for id in ["c", "d"] {
            cache_for(&mut caches, id);
        }
        // "a" was used before "b": reading "a" again makes "b" the oldest.
        assert!(Arc::ptr_eq(&a, &cache_for(&mut caches, "a")));
        cache_for(&mut caches, "e");
        assert_eq!(caches.len(), TS_CACHED_BLOCKS);
        let ids: Vec<&str> = caches.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["c", "d", "a", "e"]);
        assert!(
            !Arc::ptr_eq(&b, &cache_for(&mut caches, "b")),
            "b was dropped"
        );
    }
}
