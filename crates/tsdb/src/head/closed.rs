//! A series' full chunks: compact references to the ones in spill
//! segments, and the few still on the heap.
//!
//! A series holds 10–20 full chunks until the head is cut, almost all of
//! them spilled ([`crate::chunk::SpillDir`]). Each spilled chunk keeps a
//! 16-byte [`MappedRef`] in memory: the segment as a slot number in the
//! head's [`SegTable`] (not an `Arc` per chunk), offset and length, and its
//! times as deltas from a per-series base. A chunk whose reference does not
//! fit that form (a segment table with 65,536 live segments, a chunk
//! spanning more than 4.6 hours, a series older than 49 days in the head)
//! keeps the wide form, a [`ChunkData`] with an `Arc` of its segment, in the
//! heap list. Both lists are boxed slices grown and shrunk to their exact
//! length: no doubling slack.
//!
//! Segment lifetime: the table holds one handle per live segment; a chunk
//! reference holds none. [`SegTable::retain_used`] (after head truncation
//! and deletion) drops the handles of segments no chunk refers to any
//! more, which deletes their files once no query snapshot holds them.

use std::sync::Arc;

use crate::chunk::{ChunkBytes, ChunkData, Segment};

/// The spill segments the head's chunks refer to, by slot.
#[derive(Debug, Default)]
pub(crate) struct SegTable {
    slots: Vec<Option<Arc<Segment>>>,
}

#[cfg(test)]
impl SegTable {
    /// Registers every segment of `segs` (test helper; there are slots).
    pub(crate) fn register_all(&mut self, segs: Vec<Arc<Segment>>) -> Vec<(Arc<Segment>, u16)> {
        segs.into_iter()
            .map(|seg| {
                let slot = self.register(&seg).expect("a free slot");
                (seg, slot)
            })
            .collect()
    }
}

impl SegTable {
    /// The slot of `seg`, adding it if new; `None` when all 65,536 slots
    /// are taken (the chunk then keeps the wide form).
    pub(crate) fn register(&mut self, seg: &Arc<Segment>) -> Option<u16> {
        let mut free = None;
        for (i, s) in self.slots.iter().enumerate() {
            match s {
                Some(s) if Arc::ptr_eq(s, seg) => return u16::try_from(i).ok(),
                None if free.is_none() => free = Some(i),
                _ => {}
            }
        }
        let i = match free {
            Some(i) => i,
            None => {
                let i = self.slots.len();
                if i > usize::from(u16::MAX) {
                    return None;
                }
                self.slots.push(None);
                i
            }
        };
        self.slots[i] = Some(seg.clone());
        u16::try_from(i).ok()
    }

    /// The segment in `slot`.
    pub(crate) fn get(&self, slot: u16) -> Option<&Arc<Segment>> {
        self.slots.get(usize::from(slot)).and_then(Option::as_ref)
    }

    /// A flag per slot, all false, for [`ClosedChunks::mark_used`].
    pub(crate) fn unused_flags(&self) -> Vec<bool> {
        vec![false; self.slots.len()]
    }

    /// Drops the segments whose flag in `used` is false (a segment file
    /// goes with its last handle). Returns how many were dropped.
    pub(crate) fn retain_used(&mut self, used: &[bool]) -> usize {
        let mut dropped = 0;
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.is_some() && !used.get(i).copied().unwrap_or(true) {
                *s = None;
                dropped += 1;
            }
        }
        while matches!(self.slots.last(), Some(None)) {
            self.slots.pop();
        }
        dropped
    }

    /// Number of live segments.
    pub(crate) fn live(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }
}

/// Bits of [`MappedRef::span_num`] holding `maxt - mint`.
const SPAN_BITS: u32 = 24;
const SPAN_MASK: u32 = (1 << SPAN_BITS) - 1;

/// Sample count and first and last timestamp of a chunk.
#[derive(Clone, Copy)]
struct Times {
    num: u16,
    mint: i64,
    maxt: i64,
}

/// A spilled chunk in 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MappedRef {
    /// Slot in the head's [`SegTable`].
    seg: u16,
    /// Byte length.
    len: u16,
    /// Byte offset in the segment.
    off: u32,
    /// `mint - base` of the owning [`ClosedChunks`].
    mint: u32,
    /// `maxt - mint` in the low 24 bits, the sample count in the high 8.
    span_num: u32,
}

impl MappedRef {
    fn new(seg: u16, off: u32, len: usize, c: Times, base: i64) -> Option<MappedRef> {
        let span = u32::try_from(c.maxt.checked_sub(c.mint)?).ok()?;
        let num = u8::try_from(c.num).ok()?;
        if span > SPAN_MASK {
            return None;
        }
        Some(MappedRef {
            seg,
            len: u16::try_from(len).ok()?,
            off,
            mint: u32::try_from(c.mint.checked_sub(base)?).ok()?,
            span_num: span | (u32::from(num) << SPAN_BITS),
        })
    }

    fn mint(&self, base: i64) -> i64 {
        base + i64::from(self.mint)
    }

    fn maxt(&self, base: i64) -> i64 {
        self.mint(base) + i64::from(self.span_num & SPAN_MASK)
    }

    fn num(&self) -> u16 {
        (self.span_num >> SPAN_BITS) as u16
    }

    /// `self` relative to `new_base` instead of `base`, if it fits.
    fn rebased(&self, base: i64, new_base: i64) -> Option<MappedRef> {
        let mint = u32::try_from(self.mint(base).checked_sub(new_base)?).ok()?;
        Some(MappedRef { mint, ..*self })
    }

    /// The chunk it refers to; empty bytes (read as a damaged chunk) if its
    /// segment is not in `segs`.
    fn resolve(&self, base: i64, segs: &SegTable) -> ChunkData {
        let data = match segs.get(self.seg) {
            Some(seg) => ChunkBytes::Mapped {
                seg: seg.clone(),
                off: self.off,
                len: u32::from(self.len),
            },
            None => ChunkBytes::from(Vec::new()),
        };
        ChunkData {
            data,
            num: self.num(),
            mint: self.mint(base),
            maxt: self.maxt(base),
        }
    }
}

/// Inserts `x` at `at`, growing the slice by exactly one.
fn insert_exact<T>(b: &mut Box<[T]>, at: usize, x: T) {
    let mut v = std::mem::take(b).into_vec();
    v.reserve_exact(1);
    v.insert(at, x);
    *b = v.into_boxed_slice();
}

/// Keeps the elements `keep` accepts, shrinking to the exact length.
fn retain_exact<T>(b: &mut Box<[T]>, keep: impl FnMut(&T) -> bool) {
    let mut v = std::mem::take(b).into_vec();
    v.retain(keep);
    *b = v.into_boxed_slice();
}

/// Removes and returns the element at `at`, shrinking to the exact length.
fn remove_exact<T>(b: &mut Box<[T]>, at: usize) -> T {
    let mut v = std::mem::take(b).into_vec();
    let x = v.remove(at);
    *b = v.into_boxed_slice();
    x
}

/// The full chunks of one series, sorted by time and non-overlapping.
#[derive(Debug, Default)]
pub(crate) struct ClosedChunks {
    /// Spilled chunks, in 16 bytes each.
    mapped: Box<[MappedRef]>,
    /// Chunks on the heap (not spilled yet), and spilled chunks whose
    /// reference does not fit a [`MappedRef`].
    heap: Box<[ChunkData]>,
    /// What the times in `mapped` are relative to.
    base: i64,
}

impl ClosedChunks {
    /// Number of chunks.
    pub(crate) fn len(&self) -> usize {
        self.mapped.len() + self.heap.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.mapped.is_empty() && self.heap.is_empty()
    }

    /// First timestamp of the oldest chunk.
    pub(crate) fn first_mint(&self) -> Option<i64> {
        let m = self.mapped.first().map(|r| r.mint(self.base));
        let h = self.heap.first().map(|c| c.mint);
        m.into_iter().chain(h).min()
    }

    /// Last timestamp of the newest chunk.
    pub(crate) fn last_maxt(&self) -> Option<i64> {
        let m = self.mapped.last().map(|r| r.maxt(self.base));
        let h = self.heap.last().map(|c| c.maxt);
        m.into_iter().chain(h).max()
    }

    /// The newest heap chunk, if it is the newest chunk.
    pub(crate) fn newest_on_heap(&self) -> Option<&ChunkData> {
        let h = self.heap.last()?;
        match self.mapped.last() {
            Some(r) if r.maxt(self.base) > h.maxt => None,
            _ => Some(h),
        }
    }

    /// Byte length of the newest chunk.
    pub(crate) fn newest_len(&self) -> Option<usize> {
        match self.newest_on_heap() {
            Some(c) => Some(c.data.as_ref().len()),
            None => self.mapped.last().map(|r| usize::from(r.len)),
        }
    }

    /// Adds a chunk newer than all others (a chunk just closed) on the heap.
    pub(crate) fn push(&mut self, c: ChunkData) {
        let at = self.heap.partition_point(|x| x.mint < c.mint);
        insert_exact(&mut self.heap, at, c);
    }

    /// Appends the chunks overlapping `[mint, maxt]` to `out`, oldest first.
    pub(crate) fn snapshot(&self, mint: i64, maxt: i64, segs: &SegTable, out: &mut Vec<ChunkData>) {
        let start = out.len();
        out.extend(
            self.mapped
                .iter()
                .filter(|r| r.maxt(self.base) >= mint && r.mint(self.base) <= maxt)
                .map(|r| r.resolve(self.base, segs)),
        );
        let from_mapped = out.len() > start;
        let before_heap = out.len();
        out.extend(
            self.heap
                .iter()
                .filter(|c| c.maxt >= mint && c.mint <= maxt)
                .cloned(),
        );
        if from_mapped && out.len() > before_heap {
            out[start..].sort_by_key(|c| c.mint);
        }
    }

    /// Drops the chunks ending before `mint`; the oldest one left, if it
    /// starts before `mint`, is rewritten on the heap without those samples.
    pub(crate) fn truncate_before(&mut self, mint: i64, segs: &SegTable) {
        let base = self.base;
        if self.mapped.iter().any(|r| r.maxt(base) < mint) {
            retain_exact(&mut self.mapped, |r| r.maxt(base) >= mint);
        }
        if self.heap.iter().any(|c| c.maxt < mint) {
            retain_exact(&mut self.heap, |c| c.maxt >= mint);
        }
        if self.first_mint().is_none_or(|m| m >= mint) {
            return;
        }
        // The oldest chunk straddles `mint`: it is first in one of the lists.
        let old = match (self.mapped.first(), self.heap.first()) {
            (Some(r), h) if h.is_none_or(|c| r.mint(base) < c.mint) => {
                let r = *r;
                remove_exact(&mut self.mapped, 0);
                r.resolve(base, segs)
            }
            _ => remove_exact(&mut self.heap, 0),
        };
        let kept: Vec<(i64, f64)> = old.samples().into_iter().filter(|s| s.0 >= mint).collect();
        if !kept.is_empty() {
            self.push(super::series::encode(&kept));
        }
    }

    /// The chunks to spill: heap bytes not yet in a segment. With
    /// `keep_newest`, the newest chunk is left out (see
    /// [`super::series::SeriesData::last`]).
    pub(crate) fn unspilled(&self, keep_newest: bool) -> impl Iterator<Item = &Arc<[u8]>> {
        let skip_last = keep_newest && self.newest_on_heap().is_some();
        let n = self.heap.len() - usize::from(skip_last);
        self.heap[..n].iter().filter_map(|c| match &c.data {
            ChunkBytes::Heap(b) => Some(b),
            ChunkBytes::Mapped { .. } => None,
        })
    }

    /// Points the heap chunk whose bytes are `heap` at their copy of
    /// `len` bytes at `off` in `seg` (in table slot `slot`, if it has one).
    /// False if that chunk is gone (truncated or rewritten meanwhile).
    pub(crate) fn replace_heap(
        &mut self,
        heap: &Arc<[u8]>,
        slot: Option<u16>,
        seg: &Arc<Segment>,
        off: u32,
    ) -> bool {
        let Some(at) = self
            .heap
            .iter()
            .rposition(|c| matches!(&c.data, ChunkBytes::Heap(b) if Arc::ptr_eq(b, heap)))
        else {
            return false;
        };
        if !slot.is_some_and(|s| self.move_to_compact(at, s, off, heap.len())) {
            // The wide form: the chunk holds its segment itself.
            self.heap[at].data = ChunkBytes::Mapped {
                seg: seg.clone(),
                off,
                len: heap.len() as u32,
            };
        }
        true
    }

    /// Moves `heap[at]`, whose `len` bytes are at `off` in the segment of
    /// table slot `slot`, to the compact list; false (nothing changed) if
    /// its reference does not fit the compact form.
    fn move_to_compact(&mut self, at: usize, slot: u16, off: u32, len: usize) -> bool {
        let Some(c) = self.heap.get(at) else {
            return false;
        };
        let times = Times {
            num: c.num,
            mint: c.mint,
            maxt: c.maxt,
        };
        let Some(r) = self.compact(slot, off, len, times) else {
            return false;
        };
        remove_exact(&mut self.heap, at);
        let base = self.base;
        let pos = self.mapped.partition_point(|x| x.mint(base) < r.mint(base));
        insert_exact(&mut self.mapped, pos, r);
        true
    }

    /// Segments holding heap-list chunks in the wide form (chunks closed
    /// straight into their open chunk's region, see `open.rs`), for the
    /// spill pass to register before [`Self::compact_wide`]. With
    /// `keep_newest`, the newest chunk is left out (see
    /// [`super::series::SeriesData::last`]).
    pub(crate) fn wide_segments(&self, keep_newest: bool) -> Vec<Arc<Segment>> {
        let n = self.heap.len() - usize::from(keep_newest && self.newest_on_heap().is_some());
        let mut out: Vec<Arc<Segment>> = Vec::new();
        for c in &self.heap[..n] {
            if let ChunkBytes::Mapped { seg, .. } = &c.data {
                if !out.iter().any(|s| Arc::ptr_eq(s, seg)) {
                    out.push(seg.clone());
                }
            }
        }
        out
    }

    /// Moves the wide-form chunks whose segment is in `slots` (with its
    /// table slot) to the compact list, keeping the newest with
    /// `keep_newest`. Returns how many moved; a chunk whose reference does
    /// not fit stays wide.
    pub(crate) fn compact_wide(
        &mut self,
        slots: &[(Arc<Segment>, u16)],
        keep_newest: bool,
    ) -> usize {
        let mut moved = 0;
        let mut at = self.heap.len() - usize::from(keep_newest && self.newest_on_heap().is_some());
        while at > 0 {
            at -= 1;
            let found = match &self.heap[at].data {
                ChunkBytes::Mapped { seg, off, len } => slots
                    .iter()
                    .find(|(s, _)| Arc::ptr_eq(s, seg))
                    .map(|&(_, slot)| (slot, *off, *len as usize)),
                ChunkBytes::Heap(_) => None,
            };
            if let Some((slot, off, len)) = found {
                if self.move_to_compact(at, slot, off, len) {
                    moved += 1;
                }
            }
        }
        moved
    }

    /// The compact reference for `c`, rebasing the list if that makes it
    /// fit; `None` if it cannot.
    fn compact(&mut self, seg: u16, off: u32, len: usize, c: Times) -> Option<MappedRef> {
        if self.mapped.is_empty() {
            self.base = c.mint;
        }
        if let Some(r) = MappedRef::new(seg, off, len, c, self.base) {
            return Some(r);
        }
        let new_base = self.first_mint_mapped()?.min(c.mint);
        let r = MappedRef::new(seg, off, len, c, new_base)?;
        let rebased: Option<Vec<MappedRef>> = self
            .mapped
            .iter()
            .map(|x| x.rebased(self.base, new_base))
            .collect();
        self.mapped = rebased?.into_boxed_slice();
        self.base = new_base;
        Some(r)
    }

    fn first_mint_mapped(&self) -> Option<i64> {
        self.mapped.first().map(|r| r.mint(self.base))
    }

    /// Sets the flag of every table slot a chunk refers to.
    pub(crate) fn mark_used(&self, used: &mut [bool]) {
        for r in self.mapped.iter() {
            if let Some(u) = used.get_mut(usize::from(r.seg)) {
                *u = true;
            }
        }
    }

    /// Chunks whose bytes are in a spill segment.
    pub(crate) fn num_spilled(&self) -> usize {
        self.mapped.len() + self.heap.iter().filter(|c| !c.data.is_heap()).count()
    }

    /// Heap bytes held: the lists and the bytes of unspilled chunks.
    pub(crate) fn heap_bytes(&self) -> usize {
        let heap_data: usize = self
            .heap
            .iter()
            .map(|c| match &c.data {
                ChunkBytes::Heap(b) => b.len() + 16,
                ChunkBytes::Mapped { .. } => 0,
            })
            .sum();
        std::mem::size_of_val::<[MappedRef]>(&self.mapped)
            + std::mem::size_of_val::<[ChunkData]>(&self.heap)
            + heap_data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::SpillDir;

    fn chunk(mint: i64, step: i64, n: i64) -> ChunkData {
        let s: Vec<(i64, f64)> = (0..n).map(|i| (mint + i * step, i as f64 * 0.5)).collect();
        super::super::series::encode(&s)
    }

    fn heap_of(c: &ChunkData) -> Arc<[u8]> {
        match &c.data {
            ChunkBytes::Heap(b) => b.clone(),
            ChunkBytes::Mapped { .. } => panic!("not on the heap"),
        }
    }

    /// Writes `c`'s bytes to `sd` and points `cc`'s copy at them.
    fn spill(cc: &mut ClosedChunks, segs: &mut SegTable, sd: &mut SpillDir, c: &ChunkData) {
        let b = heap_of(c);
        let (seg, off) = sd.append(&b).unwrap();
        let slot = segs.register(&seg);
        assert!(cc.replace_heap(&b, slot, &seg, off));
    }

    fn all(cc: &ClosedChunks, segs: &SegTable) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        cc.snapshot(i64::MIN, i64::MAX, segs, &mut out);
        out.iter().flat_map(|c| c.samples()).collect()
    }

    /// Chunks pushed already in a segment (closed into their region) move
    /// to the compact list, the newest one only when asked to.
    #[test]
    fn wide_chunks_move_to_the_compact_list() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 1 << 16).unwrap();
        let mut segs = SegTable::default();
        let mut cc = ClosedChunks::default();
        let mut want = Vec::new();
        for k in 0..3 {
            let c = chunk(k * 600_000, 5_000, 120);
            want.extend(c.samples());
            let b = heap_of(&c);
            let (seg, off) = sd.append(&b).unwrap();
            cc.push(ChunkData {
                data: ChunkBytes::Mapped {
                    seg,
                    off,
                    len: b.len() as u32,
                },
                ..c
            });
        }
        let wide = cc.wide_segments(true);
        assert_eq!(wide.len(), 1);
        let slots = segs.register_all(wide);
        assert_eq!(cc.compact_wide(&slots, true), 2, "the newest stays");
        assert_eq!(all(&cc, &segs), want);
        assert!(cc.newest_on_heap().is_some());
        assert_eq!(cc.compact_wide(&slots, false), 1);
        assert!(cc.newest_on_heap().is_none());
        assert!(cc.wide_segments(false).is_empty());
        assert_eq!(all(&cc, &segs), want);
        assert_eq!(cc.len(), 3);
    }

    #[test]
    fn a_spilled_chunk_costs_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<MappedRef>(), 16);
        assert_eq!(std::mem::size_of::<ChunkData>(), 48, "the wide form");
    }

    #[test]
    fn spilled_chunks_read_the_same_in_both_forms() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 1 << 16).unwrap();
        let mut segs = SegTable::default();
        let mut cc = ClosedChunks::default();
        // Ordinary chunks, then one spanning more than 2^24 ms (wide form).
        let chunks = [
            chunk(1_000, 5_000, 120),
            chunk(700_000, 5_000, 120),
            chunk(2_000_000, 200_000, 100),
            chunk(30_000_000, 5_000, 120),
        ];
        for c in &chunks {
            cc.push(c.clone());
        }
        let want = all(&cc, &segs);
        for c in &chunks {
            spill(&mut cc, &mut segs, &mut sd, c);
        }
        assert_eq!(cc.mapped.len(), 3);
        assert_eq!(cc.heap.len(), 1, "the long chunk keeps the wide form");
        assert_eq!(cc.num_spilled(), 4);
        assert_eq!(cc.unspilled(false).count(), 0);
        assert_eq!(all(&cc, &segs), want);
        assert_eq!(
            (cc.first_mint(), cc.last_maxt()),
            (Some(1_000), Some(30_595_000))
        );
        assert_eq!(cc.heap_bytes(), 3 * 16 + 48);

        // A range in the middle, from both lists, in time order.
        let mut part = Vec::new();
        cc.snapshot(700_000, 2_000_000, &segs, &mut part);
        let mints: Vec<i64> = part.iter().map(|c| c.mint).collect();
        assert_eq!(mints, vec![700_000, 2_000_000]);

        // Truncation inside a spilled chunk rewrites it on the heap.
        cc.truncate_before(1_002_000, &segs);
        assert_eq!(cc.first_mint(), Some(1_005_000));
        assert_eq!(
            all(&cc, &segs),
            want.iter()
                .copied()
                .filter(|s| s.0 >= 1_002_000)
                .collect::<Vec<_>>()
        );
        assert_eq!(cc.len(), 3);
        assert_eq!(cc.unspilled(false).count(), 1);
    }

    #[test]
    fn a_series_older_than_the_delta_range_is_rebased() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 1 << 16).unwrap();
        let mut segs = SegTable::default();
        let mut cc = ClosedChunks::default();
        let day = 86_400_000i64;
        let a = chunk(0, 5_000, 120);
        let b = chunk(40 * day, 5_000, 120);
        let c = chunk(60 * day, 5_000, 120);
        for x in [&a, &b, &c] {
            cc.push(x.clone());
        }
        let want = all(&cc, &segs);
        spill(&mut cc, &mut segs, &mut sd, &a);
        spill(&mut cc, &mut segs, &mut sd, &b);
        // 60 days after the base does not fit in u32 ms, even rebased: wide.
        spill(&mut cc, &mut segs, &mut sd, &c);
        assert_eq!((cc.mapped.len(), cc.heap.len()), (2, 1));
        assert_eq!(all(&cc, &segs), want);
        // Once the old chunk is gone, the next chunk rebases the list.
        cc.truncate_before(day, &segs);
        let d = chunk(70 * day, 5_000, 120);
        cc.push(d.clone());
        let want = all(&cc, &segs);
        spill(&mut cc, &mut segs, &mut sd, &d);
        assert_eq!((cc.mapped.len(), cc.heap.len()), (2, 1));
        assert_eq!(cc.base, 40 * day);
        assert_eq!(all(&cc, &segs), want);
    }

    #[test]
    fn the_table_reuses_slots_and_lets_unused_segments_go() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let mut sd = SpillDir::open_sized(&dir, 4096).unwrap();
        let mut segs = SegTable::default();
        let (s1, _) = sd.append(&[1; 4000]).unwrap();
        let (s2, _) = sd.append(&[2; 4000]).unwrap();
        assert_eq!(segs.register(&s1), Some(0));
        assert_eq!(segs.register(&s2), Some(1));
        assert_eq!(segs.register(&s1), Some(0));
        drop((s1, s2));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        let mut used = segs.unused_flags();
        used[1] = true;
        assert_eq!(segs.retain_used(&used), 1);
        assert_eq!(segs.live(), 1);
        // Segment 1 had no other handle: its file is gone.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        let (s3, _) = sd.append(&[3; 4000]).unwrap();
        assert_eq!(segs.register(&s3), Some(0), "slot reused");
        // A reference to a slot that is gone reads as a damaged chunk.
        let r = MappedRef::new(
            7,
            0,
            10,
            Times {
                num: 1,
                mint: 5,
                maxt: 5,
            },
            0,
        )
        .unwrap();
        assert!(r.resolve(0, &segs).data.as_ref().is_empty());
    }
}
