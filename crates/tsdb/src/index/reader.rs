//! Memory-mapped, fully verified index reader.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use promlite_model::{Labels, StorageError};

use super::entry::Entry;
use super::label_cache::LabelCache;
use super::{ChunkMeta, INDEX_MAGIC, INDEX_VERSION, TOC_LEN};
use crate::codec::{DecodeError, Reader};

/// Label pairs of a series decoded without a heap allocation.
const INLINE_LABELS: usize = 16;

/// Label pairs a [`LabelRefs`] holds (more are read from the entry again).
pub const LABEL_REFS: usize = 8;

/// A series' label set as checked symbol references, to be built only if
/// asked for ([`IndexReader::labels_from_refs`]).
#[derive(Clone, Copy, Debug)]
pub struct LabelRefs {
    /// The series.
    id: u32,
    /// Number of labels.
    len: usize,
    /// (name, value) symbol ids of the first [`LABEL_REFS`] labels.
    pairs: [(u32, u32); LABEL_REFS],
}

/// An opened index file. Symbols and the postings offset table are held in
/// memory (as offsets / ids); series and postings are read from the map.
pub struct IndexReader {
    path: PathBuf,
    data: Mmap,
    /// (offset, len) of each symbol, in sorted order.
    symbols: Vec<(usize, usize)>,
    series_table: usize,
    num_series: u32,
    /// ((name sym, value sym), offset of the postings list), sorted.
    postings: Vec<((u32, u32), usize)>,
    /// Label sets built by [`IndexReader::labels_from_refs`] lately.
    label_cache: LabelCache,
}

fn be32(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(d: &[u8], off: usize) -> Option<u64> {
    let b = d.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_be_bytes(a))
}

impl IndexReader {
    fn corrupt(&self, offset: usize, msg: impl Into<String>) -> StorageError {
        corrupt(&self.path, offset, msg)
    }

    /// Opens `path`, verifying every checksum and every structural bound.
    pub fn open(path: &Path) -> Result<IndexReader, StorageError> {
        let f =
            File::open(path).map_err(|e| StorageError::Io(format!("{}: {e}", path.display())))?;
        // SAFETY: block files are immutable once written and only deleted whole.
        let data = unsafe { Mmap::map(&f) }
            .map_err(|e| StorageError::Io(format!("{}: {e}", path.display())))?;
        let mut ir = IndexReader {
            path: path.to_path_buf(),
            data,
            symbols: Vec::new(),
            series_table: 0,
            num_series: 0,
            postings: Vec::new(),
            label_cache: LabelCache::default(),
        };
        ir.load()?;
        Ok(ir)
    }

    /// Reads a `len u32 | body | crc32` section at `off`, checking the CRC.
    fn section(&self, off: usize) -> Result<(usize, usize), StorageError> {
        let d: &[u8] = &self.data;
        let len = be32(d, off)
            .ok_or_else(|| self.corrupt(off, "section header beyond end of file"))?
            as usize;
        let start = off + 4;
        let end = start
            .checked_add(len)
            .filter(|&e| e + 4 <= d.len())
            .ok_or_else(|| self.corrupt(off, "section runs past end of file"))?;
        let stored = be32(d, end).unwrap_or(0);
        if crc32fast::hash(&d[start..end]) != stored {
            return Err(self.corrupt(off, "section checksum mismatch"));
        }
        Ok((start, end))
    }

    /// Like [`IndexReader::section`] for a section whose checksum `load`
    /// already verified: only the bounds are checked again.
    fn verified_section(&self, off: usize) -> Result<(usize, usize), StorageError> {
        let d: &[u8] = &self.data;
        let len = be32(d, off)
            .ok_or_else(|| self.corrupt(off, "section header beyond end of file"))?
            as usize;
        let start = off + 4;
        let end = start
            .checked_add(len)
            .filter(|&e| e + 4 <= d.len())
            .ok_or_else(|| self.corrupt(off, "section runs past end of file"))?;
        Ok((start, end))
    }

    /// Reads a `len uvarint | body | crc32` entry at `off`, checking the CRC.
    fn entry(&self, off: usize) -> Result<(usize, usize), StorageError> {
        let (start, end) = self.verified_entry(off)?;
        let d: &[u8] = &self.data;
        if crc32fast::hash(&d[start..end]) != be32(d, end).unwrap_or(0) {
            return Err(self.corrupt(off, "series entry checksum mismatch"));
        }
        Ok((start, end))
    }

    fn load(&mut self) -> Result<(), StorageError> {
        let d: &[u8] = &self.data;
        if be32(d, 0) != Some(INDEX_MAGIC) {
            return Err(self.corrupt(0, "bad index magic"));
        }
        if d.get(4..8) != Some(&[INDEX_VERSION, 0, 0, 0][..]) {
            return Err(self.corrupt(4, "unsupported index version"));
        }
        let toc = d
            .len()
            .checked_sub(TOC_LEN)
            .filter(|&t| t >= 8)
            .ok_or_else(|| self.corrupt(0, "index too short"))?;
        if crc32fast::hash(&d[toc..toc + 40]) != be32(d, toc + 40).unwrap_or(0) {
            return Err(self.corrupt(toc, "table of contents checksum mismatch"));
        }
        let offs: Vec<usize> = (0..5)
            .map(|i| be64(d, toc + 8 * i).unwrap_or(u64::MAX) as usize)
            .collect();
        let (sym_off, series_off, table_off, postings_off, ptable_off) =
            (offs[0], offs[1], offs[2], offs[3], offs[4]);
        if !(8..=toc).contains(&sym_off)
            || sym_off > series_off
            || series_off > table_off
            || table_off > postings_off
            || postings_off > ptable_off
            || ptable_off > toc
        {
            return Err(self.corrupt(toc, "table of contents offsets out of order"));
        }

        // Symbols.
        let (s, e) = self.section(sym_off)?;
        let mut r = Reader::new(&d[s..e]);
        let n = r.len(e - s).map_err(|x| self.dec(s, x))?;
        let mut symbols = Vec::with_capacity(n);
        let mut prev: Option<&str> = None;
        for _ in 0..n {
            let at = s + r.pos();
            let len = r.len(e - s).map_err(|x| self.dec(s, x))?;
            let start = s + r.pos();
            let bytes = r.bytes(len).map_err(|x| self.dec(s, x))?;
            let sym =
                std::str::from_utf8(bytes).map_err(|_| self.corrupt(at, "symbol is not UTF-8"))?;
            if prev.is_some_and(|p| p >= sym) {
                return Err(self.corrupt(at, "symbols not sorted"));
            }
            prev = Some(sym);
            symbols.push((start, len));
        }
        self.symbols = symbols;

        // Series table and every series entry.
        let (s, e) = self.section(table_off)?;
        let num = be32(d, s).ok_or_else(|| self.corrupt(s, "series table too short"))?;
        if (e - s) != 4 + 8 * num as usize {
            return Err(self.corrupt(table_off, "series table size does not match its count"));
        }
        self.series_table = s + 4;
        self.num_series = num;
        for id in 0..num {
            let off = self.series_offset(id)?;
            if off < series_off || off >= table_off {
                return Err(self.corrupt(
                    s + 4 + 8 * id as usize,
                    "series offset outside the series section",
                ));
            }
            self.entry(off)?;
        }

        // Postings offset table and every postings list.
        let (s, e) = self.section(ptable_off)?;
        let mut r = Reader::new(&d[s..e]);
        let n = r.len(e - s).map_err(|x| self.dec(s, x))?;
        let mut postings = Vec::with_capacity(n);
        for _ in 0..n {
            let at = s + r.pos();
            let name = r.uvarint().map_err(|x| self.dec(s, x))?;
            let value = r.uvarint().map_err(|x| self.dec(s, x))?;
            let off = r.uvarint().map_err(|x| self.dec(s, x))? as usize;
            if name >= self.symbols.len() as u64 || value >= self.symbols.len() as u64 {
                return Err(self.corrupt(at, "postings table references unknown symbol"));
            }
            if off < postings_off || off >= ptable_off {
                return Err(self.corrupt(at, "postings offset outside the postings section"));
            }
            self.section(off)?;
            let key = (name as u32, value as u32);
            if postings.last().is_some_and(|(k, _)| *k >= key) {
                return Err(self.corrupt(at, "postings table not sorted"));
            }
            postings.push((key, off));
        }
        self.postings = postings;
        Ok(())
    }

    fn dec(&self, base: usize, e: DecodeError) -> StorageError {
        self.corrupt(base + e.offset, e.message)
    }

    fn series_offset(&self, id: u32) -> Result<usize, StorageError> {
        let at = self.series_table + 8 * id as usize;
        be64(&self.data, at)
            .map(|o| o as usize)
            .ok_or_else(|| self.corrupt(at, "series table truncated"))
    }

    /// Number of series.
    pub fn num_series(&self) -> u32 {
        self.num_series
    }

    /// Size of the index file.
    pub fn size_bytes(&self) -> u64 {
        self.data.len() as u64
    }

    /// The symbol with id `id`.
    ///
    /// Every symbol was checked to be UTF-8 when the index was opened
    /// ([`IndexReader::open`] rejects a block with one that is not), so it
    /// is not validated again on each access.
    pub fn symbol(&self, id: u32) -> Result<&str, StorageError> {
        let &(off, len) = self
            .symbols
            .get(id as usize)
            .ok_or_else(|| self.corrupt(0, format!("unknown symbol {id}")))?;
        let bytes = self
            .data
            .get(off..off.saturating_add(len))
            .ok_or_else(|| self.corrupt(off, "symbol beyond end of file"))?;
        // SAFETY: `load` stores a symbol's (offset, length) only after
        // `std::str::from_utf8` accepted exactly these bytes, and the map
        // does not change afterwards (block files are immutable, see `open`).
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    }

    /// The id of symbol `s`, if present.
    pub fn lookup_symbol(&self, s: &str) -> Option<u32> {
        let mut lo = 0usize;
        let mut hi = self.symbols.len();
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (off, len) = self.symbols[mid];
            let sym = self.data.get(off..off + len).unwrap_or(&[]);
            match sym.cmp(s.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }

    /// Start and end of the body of the entry at `off`, whose checksum
    /// [`IndexReader::open`] already verified (the file is immutable), so
    /// reads on the query path only re-check the bounds.
    fn verified_entry(&self, off: usize) -> Result<(usize, usize), StorageError> {
        let d: &[u8] = &self.data;
        let mut r = Reader::new(
            d.get(off..)
                .ok_or_else(|| self.corrupt(off, "entry offset beyond end of file"))?,
        );
        let len = r.len(d.len()).map_err(|e| self.corrupt(off, e.message))?;
        let start = off + r.pos();
        let end = start
            .checked_add(len)
            .filter(|&e| e + 4 <= d.len())
            .ok_or_else(|| self.corrupt(off, "entry runs past end of file"))?;
        Ok((start, end))
    }

    /// Labels and chunk metas of series `id`.
    ///
    /// The labels are packed straight from the symbol table (no string per
    /// name or value is allocated); the entry's checksum was verified when
    /// the index was opened.
    pub fn series(&self, id: u32) -> Result<(Labels, Vec<ChunkMeta>), StorageError> {
        self.series_in_range(id, i64::MIN, i64::MAX)
    }

    /// Like [`IndexReader::series`], with only the chunks overlapping
    /// `[mint, maxt]` (both inclusive). Chunk metas after the first chunk
    /// starting past `maxt` are not decoded at all, so a short query on a
    /// long block reads little more than the labels.
    pub fn series_in_range(
        &self,
        id: u32,
        mint: i64,
        maxt: i64,
    ) -> Result<(Labels, Vec<ChunkMeta>), StorageError> {
        let (body, off, s) = self.entry_body(id)?;
        let mut cur = Entry::new(body);
        let labels = self.entry_labels(&mut cur, off, s)?;
        let nc = cur.count().map_err(|x| self.dec(s, x))?;
        let chunks = cur
            .chunk_metas(nc, mint, maxt)
            .map_err(|x| self.dec(s, x))?;
        Ok((labels, chunks))
    }

    /// Like [`IndexReader::series_in_range`], handing each chunk to `push`
    /// instead of collecting them into a new vector (a selection keeps them
    /// in a small inline list).
    pub fn series_in_range_each(
        &self,
        id: u32,
        mint: i64,
        maxt: i64,
        push: impl FnMut(ChunkMeta),
    ) -> Result<Labels, StorageError> {
        let (body, off, s) = self.entry_body(id)?;
        let mut cur = Entry::new(body);
        let labels = self.entry_labels(&mut cur, off, s)?;
        let nc = cur.count().map_err(|x| self.dec(s, x))?;
        cur.chunk_metas_each(nc, mint, maxt, push)
            .map_err(|x| self.dec(s, x))?;
        Ok(labels)
    }

    /// Like [`IndexReader::series_in_range_each`] without building the
    /// label set: its symbol references are returned instead, to build it
    /// with [`IndexReader::labels_from_refs`] if the query asks for it.
    /// They are checked as building checks them — known symbols, no empty
    /// value, names strictly increasing (by id, which is the same: the
    /// symbol table is sorted and unique, checked at open) — so building
    /// cannot fail.
    pub fn series_chunks_in_range_each(
        &self,
        id: u32,
        mint: i64,
        maxt: i64,
        push: impl FnMut(ChunkMeta),
    ) -> Result<LabelRefs, StorageError> {
        let (body, off, s) = self.entry_body(id)?;
        let mut cur = Entry::new(body);
        let nl = cur.count().map_err(|x| self.dec(s, x))?;
        let mut refs = LabelRefs {
            id,
            len: nl,
            pairs: [(0, 0); LABEL_REFS],
        };
        let mut prev: Option<u32> = None;
        for i in 0..nl {
            let n = cur.uvarint().map_err(|x| self.dec(s, x))?;
            let v = cur.uvarint().map_err(|x| self.dec(s, x))?;
            let known = |x: u64| {
                u32::try_from(x)
                    .ok()
                    .filter(|&i| (i as usize) < self.symbols.len())
            };
            let (Some(n), Some(v)) = (known(n), known(v)) else {
                let bad = if known(n).is_none() { n } else { v };
                return Err(self.corrupt(0, format!("unknown symbol {bad}")));
            };
            let empty = self
                .symbols
                .get(v as usize)
                .is_none_or(|&(_, len)| len == 0);
            if empty || prev.is_some_and(|p| p >= n) {
                return Err(self.corrupt(off, "series labels not sorted, duplicated or empty"));
            }
            prev = Some(n);
            if let Some(slot) = refs.pairs.get_mut(i) {
                *slot = (n, v);
            }
        }
        let nc = cur.count().map_err(|x| self.dec(s, x))?;
        cur.chunk_metas_each(nc, mint, maxt, push)
            .map_err(|x| self.dec(s, x))?;
        Ok(refs)
    }

    /// The label set that `refs` (from
    /// [`IndexReader::series_chunks_in_range_each`]) stands for, packed
    /// from the symbol table; series with more than [`LABEL_REFS`] labels
    /// are read from their entry again. The sets built are kept in a
    /// bounded cache (see `label_cache.rs`), and a set still there is
    /// shared instead of built again.
    pub fn labels_from_refs(&self, refs: &LabelRefs) -> Result<Labels, StorageError> {
        if let Some(l) = self.label_cache.get(refs.id) {
            return Ok(l);
        }
        let l = self.build_labels(refs)?;
        self.label_cache.put(refs.id, self.num_series, &l);
        Ok(l)
    }

    /// [`IndexReader::labels_from_refs`] without the cache.
    fn build_labels(&self, refs: &LabelRefs) -> Result<Labels, StorageError> {
        let Some(pairs) = refs.pairs.get(..refs.len) else {
            return self.series_labels(refs.id);
        };
        let mut named = [("", ""); LABEL_REFS];
        for (slot, &(n, v)) in named.iter_mut().zip(pairs) {
            *slot = (self.symbol(n)?, self.symbol(v)?);
        }
        Ok(Labels::from_sorted_refs(
            named.get(..refs.len).unwrap_or(&[]),
        ))
    }

    /// The value of label `name` in the set `refs` stands for, read from
    /// the symbol table without building the set. `None` when the set has
    /// more labels than `refs` holds (ask [`IndexReader::labels_from_refs`]
    /// then), `Some(None)` when it lacks the label.
    pub fn label_value_from_refs(&self, refs: &LabelRefs, name: &str) -> Option<Option<&str>> {
        let pairs = refs.pairs.get(..refs.len)?;
        // Names compared as text (a symbol is an offset lookup), in the
        // set's name order: `__name__`, the usual one asked for, comes
        // first. Looking the name up in the symbol table instead was a
        // binary search per series. The references were checked at
        // selection, as `labels_from_refs` relies on too.
        for &(n, v) in pairs {
            match self.symbol(n).ok()?.cmp(name) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal => return Some(self.symbol(v).ok()),
                std::cmp::Ordering::Greater => break,
            }
        }
        Some(None)
    }

    /// The label set of series `id`, packed from the symbol table.
    pub fn series_labels(&self, id: u32) -> Result<Labels, StorageError> {
        let (body, off, s) = self.entry_body(id)?;
        let mut cur = Entry::new(body);
        self.entry_labels(&mut cur, off, s)
    }

    /// The body of series `id`'s entry, the entry's offset and the body's.
    fn entry_body(&self, id: u32) -> Result<(&[u8], usize, usize), StorageError> {
        let off = self.series_offset(id)?;
        let (s, e) = self.verified_entry(off)?;
        let body = self
            .data
            .get(s..e)
            .ok_or_else(|| self.corrupt(off, "entry runs past end of file"))?;
        Ok((body, off, s))
    }

    /// The label set at the start of a series entry (`off`: the entry,
    /// `s`: its body).
    fn entry_labels(&self, cur: &mut Entry, off: usize, s: usize) -> Result<Labels, StorageError> {
        let nl = cur.count().map_err(|x| self.dec(s, x))?;
        // Label sets this small are the rule; they need no allocation here.
        let mut inline = [("", ""); INLINE_LABELS];
        let mut spilled = Vec::new();
        let pairs: &mut [(&str, &str)] = match inline.get_mut(..nl) {
            Some(p) => p,
            None => {
                spilled.resize(nl, ("", ""));
                &mut spilled
            }
        };
        let mut prev: Option<&str> = None;
        for slot in pairs.iter_mut() {
            let n = cur.uvarint().map_err(|x| self.dec(s, x))?;
            let v = cur.uvarint().map_err(|x| self.dec(s, x))?;
            let name = self.symbol(u32::try_from(n).unwrap_or(u32::MAX))?;
            let value = self.symbol(u32::try_from(v).unwrap_or(u32::MAX))?;
            if value.is_empty() || prev.is_some_and(|p| p >= name) {
                return Err(self.corrupt(off, "series labels not sorted, duplicated or empty"));
            }
            prev = Some(name);
            *slot = (name, value);
        }
        Ok(Labels::from_sorted_refs(pairs))
    }

    fn read_postings(&self, off: usize) -> Result<Vec<u32>, StorageError> {
        let (s, e) = self.verified_section(off)?;
        let mut r = Reader::new(&self.data[s..e]);
        let n = r.len(e - s).map_err(|x| self.dec(s, x))?;
        let mut out = Vec::with_capacity(n);
        let mut cur = 0u64;
        for i in 0..n {
            let d = r.uvarint().map_err(|x| self.dec(s, x))?;
            cur = if i == 0 { d } else { cur.saturating_add(d) };
            if cur >= u64::from(self.num_series) || (i > 0 && d == 0) {
                return Err(self.corrupt(
                    off,
                    "postings list references unknown series or is unsorted",
                ));
            }
            out.push(cur as u32);
        }
        Ok(out)
    }

    /// Sorted series ids having label `name="value"` (`("", "")`: all series).
    pub fn postings(&self, name: &str, value: &str) -> Result<Vec<u32>, StorageError> {
        let (Some(n), Some(v)) = (self.lookup_symbol(name), self.lookup_symbol(value)) else {
            return Ok(Vec::new());
        };
        match self.postings.binary_search_by(|(k, _)| k.cmp(&(n, v))) {
            Ok(i) => self.read_postings(self.postings[i].1),
            Err(_) => Ok(Vec::new()),
        }
    }

    /// All series ids.
    pub fn all_postings(&self) -> Result<Vec<u32>, StorageError> {
        self.postings("", "")
    }

    /// Sorted values of label `name`, each with the offset of its postings list.
    fn value_entries(&self, name: &str) -> Vec<(u32, usize)> {
        let Some(n) = self.lookup_symbol(name) else {
            return Vec::new();
        };
        if name.is_empty() {
            return Vec::new();
        }
        let lo = self.postings.partition_point(|(k, _)| k.0 < n);
        let hi = self.postings.partition_point(|(k, _)| k.0 <= n);
        self.postings[lo..hi]
            .iter()
            .map(|((_, v), off)| (*v, *off))
            .collect()
    }

    /// Sorted distinct values of label `name` across all series.
    pub fn label_values(&self, name: &str) -> Result<Vec<String>, StorageError> {
        self.value_entries(name)
            .into_iter()
            .map(|(v, _)| self.symbol(v).map(str::to_string))
            .collect()
    }

    /// Sorted distinct label names across all series.
    pub fn label_names(&self) -> Result<Vec<String>, StorageError> {
        let mut out: Vec<String> = Vec::new();
        let mut last = None;
        for ((n, _), _) in &self.postings {
            if Some(*n) != last {
                last = Some(*n);
                let s = self.symbol(*n)?;
                if !s.is_empty() {
                    out.push(s.to_string());
                }
            }
        }
        Ok(out)
    }

    /// Union of the postings of every value of `name` accepted by `pred`.
    pub fn postings_for_values(
        &self,
        name: &str,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Result<Vec<u32>, StorageError> {
        let mut lists = Vec::new();
        for (v, off) in self.value_entries(name) {
            if pred(self.symbol(v)?) {
                lists.push(self.read_postings(off)?);
            }
        }
        Ok(merge_postings(lists))
    }
}

fn corrupt(path: &Path, offset: usize, msg: impl Into<String>) -> StorageError {
    StorageError::Corruption {
        file: path.display().to_string(),
        offset: offset as u64,
        message: msg.into(),
    }
}

/// Sorted union of sorted lists ([`super::union`]).
pub fn merge_postings(lists: Vec<Vec<u32>>) -> Vec<u32> {
    super::union::union(lists)
}

/// Sorted intersection of two sorted lists.
pub fn intersect_postings(a: &[u32], b: &[u32]) -> Vec<u32> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Sorted difference `a - b` of two sorted lists.
pub fn subtract_postings(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut j = 0;
    let mut out = Vec::with_capacity(a.len());
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}
