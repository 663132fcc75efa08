//! Moving the head's closed chunks, and the complete bytes of open ones
//! (`open.rs`; at ticks in runs, [`write_runs`]), out of the heap (see
//! [`crate::chunk::SpillDir`]).

use std::sync::Arc;

use super::open::{OpenSpill, PendingOpen, OPEN_SPILL_THRESHOLD};
use super::series::SeriesData;
use super::{Head, MemSeries};
use crate::chunk::{Segment, SpillDir};

/// Chunk bytes gathered before one write to a spill segment.
const BATCH_BYTES: usize = 1 << 20;

/// The longest run of a segment the tick's combined write of open-chunk
/// bytes reads, patches and writes back in one `pread` and one `pwrite`.
const RUN_BYTES: usize = 1 << 20;

/// The largest gap between two open chunks' pending bytes that one run
/// covers (rewriting the bytes in between unchanged): a page costs less
/// to copy twice than a further pair of system calls.
const RUN_GAP: u32 = 4 << 10;

/// Fewest complete bytes for which the tick's pass reserves a region for
/// an open chunk that has none (chunks smaller than that, of constants
/// for instance, close on the heap and leave it as closed chunks).
const MIN_NEW_REGION: usize = 32;

/// What one [`Head::spill_closed_chunks`] pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpillReport {
    /// Chunks moved to spill segments.
    pub chunks: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Bytes of open chunks written to their regions.
    pub open_bytes: usize,
    /// Writes of those bytes (one per series that had enough of them).
    pub open_writes: usize,
    /// Open chunks that outgrew their region in this pass (their further
    /// bytes stay on the heap).
    pub open_overflows: usize,
    /// Chunks that were closed straight into their region and moved to
    /// the compact list in this pass.
    pub closed_in_region: usize,
    /// Runs of segments read, patched with open chunks' bytes and written
    /// back (the tick's pass writes every open chunk's complete bytes
    /// this way, sorted by offset, instead of one `pwrite` per series).
    pub open_runs: usize,
    /// Open chunks whose bytes went out in those runs.
    pub open_in_runs: usize,
}

/// Closed chunks waiting for one write: their series, heap bytes and
/// offset in the batch buffer.
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    items: Vec<(Arc<MemSeries>, Arc<[u8]>, usize)>,
}

/// Most series a commit queues for the next pass (see
/// [`Head::queue_for_spill`]); beyond it the pass visits every series.
pub(crate) const MAX_DUE: usize = 1 << 14;

/// Series whose chunks a pass should look at, queued by commits.
///
/// The list and the pass's spare (swapped at each pass) are allocated at
/// their full size once and never grow or shrink, so commits never
/// reallocate them and the heap does not see vectors of tens of KB come
/// and go every 10 s. At 128 KiB each, glibc maps them apart from the
/// heap, and only the pages written are resident.
#[derive(Debug)]
pub(crate) struct DueList {
    pub(super) series: Vec<Arc<MemSeries>>,
    /// Set when a commit found the list full: the next pass visits all.
    overflowed: bool,
}

impl Default for DueList {
    fn default() -> Self {
        DueList {
            series: due_vec(),
            overflowed: false,
        }
    }
}

/// An empty list with room for [`MAX_DUE`] series.
pub(super) fn due_vec() -> Vec<Arc<MemSeries>> {
    Vec::with_capacity(MAX_DUE)
}

/// An open chunk's complete bytes for the tick's combined write: where
/// they go (a segment of [`Pass::run_segs`], an offset), how many, and
/// the series (an index in the tick's list of series).
#[derive(Clone, Copy, Debug)]
struct Pending {
    seg: u32,
    at: u32,
    n: u32,
    series: u32,
}

/// State of one pass.
struct Pass {
    report: SpillReport,
    batch: Batch,
    limit: usize,
    found: Vec<Arc<[u8]>>,
    /// Segment slots registered in this pass (see `spill_series`).
    slots: Vec<(Arc<Segment>, u16)>,
    /// The tick's pass: open chunks' bytes to write in runs.
    pending: Vec<Pending>,
    /// The segments those bytes go to.
    run_segs: Vec<Arc<Segment>>,
}

impl Pass {
    fn new(spill: &SpillDir) -> Pass {
        Pass {
            report: SpillReport::default(),
            batch: Batch::default(),
            limit: BATCH_BYTES.min(spill.segment_size()),
            found: Vec::new(),
            slots: Vec::new(),
            pending: Vec::new(),
            run_segs: Vec::new(),
        }
    }

    /// Notes `p` (of series `series`) for the combined write.
    fn add_pending(&mut self, p: PendingOpen, series: u32) {
        let seg = match self.run_segs.iter().position(|x| Arc::ptr_eq(x, &p.seg)) {
            Some(i) => i,
            None => {
                self.run_segs.push(p.seg);
                self.run_segs.len() - 1
            }
        };
        self.pending.push(Pending {
            seg: seg as u32,
            at: p.at,
            n: p.n,
            series,
        });
    }
}

impl Head {
    /// Queues `s` (whose lock the caller holds, as `d`) for the next
    /// between-ticks pass, once: a commit calls this when an append says the
    /// series has work for a pass (a chunk closed, or its open chunk has
    /// bytes to write out), so that pass visits only such series.
    ///
    /// `s` must be the series of an `Arc` that is alive (the commit's era
    /// keeps every staged series alive).
    pub(crate) fn queue_for_spill(&self, s: &MemSeries, d: &mut SeriesData) {
        if d.spill_queued {
            return;
        }
        let mut due = self.spill_due.lock();
        if due.series.len() < MAX_DUE {
            let p: *const MemSeries = s;
            // SAFETY: every `MemSeries` lives in an `Arc` (`MemSeries::new`)
            // and this one is alive: one more strong count for the queue.
            let owned = unsafe {
                Arc::increment_strong_count(p);
                Arc::from_raw(p)
            };
            due.series.push(owned);
            d.spill_queued = true;
        } else {
            due.overflowed = true;
        }
    }

    /// The pass between ticks: visits only the series commits queued
    /// (see [`Self::queue_for_spill`]), or every series when the queue
    /// overflowed. Same result and errors as [`Self::spill_closed_chunks`]
    /// for those series; series appended to by other paths (WAL replay,
    /// deletion) wait for the next full pass at a tick.
    pub fn spill_queued_chunks(
        &self,
        spill: &mut SpillDir,
    ) -> Result<SpillReport, (SpillReport, std::io::Error)> {
        let mut work = self.spill_pass.lock();
        let overflowed = {
            let mut due = self.spill_due.lock();
            std::mem::swap(&mut due.series, &mut *work);
            std::mem::take(&mut due.overflowed)
        };
        if overflowed {
            for s in work.drain(..) {
                s.data.lock().spill_queued = false;
            }
            drop(work);
            return self.spill_closed_chunks(spill);
        }
        let mut pass = Pass::new(spill);
        let mut res = Ok(());
        for s in work.drain(..) {
            if res.is_ok() {
                res = self.spill_series(&s, true, None, spill, &mut pass);
            } else {
                // After a failed write the rest stay due: queue them again.
                let mut d = s.data.lock();
                d.spill_queued = false;
                self.queue_for_spill(&s, &mut d);
            }
        }
        drop(work);
        res.and_then(|()| self.flush(&mut pass.batch, spill, &mut pass.report))
            .map(|()| pass.report)
            .map_err(|e| (pass.report, e))
    }

    /// Writes every closed chunk still on the heap to `spill` and points the
    /// series at the written copy, so the heap copy is freed (at once, or
    /// when the last query reading it finishes). Appends and queries go on
    /// meanwhile: each series is locked only to gather and to swap. Visits
    /// every series (the queue of [`Self::spill_queued_chunks`] is emptied).
    ///
    /// On a write error (a full disk, say) the pass stops and returns the
    /// error with what it moved so far; the chunks not moved stay on the
    /// heap, correct and readable, and a later pass tries again.
    pub fn spill_closed_chunks(
        &self,
        spill: &mut SpillDir,
    ) -> Result<SpillReport, (SpillReport, std::io::Error)> {
        let mut work = self.spill_pass.lock();
        {
            let mut due = self.spill_due.lock();
            std::mem::swap(&mut due.series, &mut *work);
            due.overflowed = false;
        }
        for s in work.drain(..) {
            s.data.lock().spill_queued = false;
        }
        let mut all: Vec<Arc<MemSeries>> = Vec::with_capacity(self.num_series());
        self.for_each_series(|s| all.push(s.clone()));
        let mut pass = Pass::new(spill);
        pass.pending.reserve_exact(all.len());
        for (i, s) in all.iter().enumerate() {
            self.spill_series(s, false, u32::try_from(i).ok(), spill, &mut pass)
                .map_err(|e| (pass.report, e))?;
        }
        self.flush(&mut pass.batch, spill, &mut pass.report)
            .map_err(|e| (pass.report, e))?;
        write_runs(&all, &mut pass).map_err(|e| (pass.report, e))?;
        drop(work);
        Ok(pass.report)
    }

    /// One series of a pass: gathers its closed chunks on the heap into
    /// the batch (flushing it when full), writes its open chunk's complete
    /// bytes to their region, and moves chunks closed into their region to
    /// the compact list. `queued`: it came from the queue (its flag is
    /// cleared). `tick`: the series' index in the tick's list; its open
    /// chunk's complete bytes, however few, are then noted for the
    /// combined write ([`write_runs`]) instead of written here.
    fn spill_series(
        &self,
        s: &Arc<MemSeries>,
        queued: bool,
        tick: Option<u32>,
        spill: &mut SpillDir,
        pass: &mut Pass,
    ) -> std::io::Result<()> {
        // Gathered first: a flush locks series, this one among them.
        let mut d = s.data.lock();
        if queued {
            d.spill_queued = false;
        }
        pass.found.extend(d.heap_closed().cloned());
        let outcome = match tick {
            Some(i) => match d.pending_open(spill, MIN_NEW_REGION)? {
                Ok(p) => {
                    pass.add_pending(p, i);
                    OpenSpill::Nothing
                }
                Err(outcome) => outcome,
            },
            None => d.spill_open(spill, OPEN_SPILL_THRESHOLD)?,
        };
        match outcome {
            OpenSpill::Written(n) => {
                pass.report.open_bytes += n;
                pass.report.open_writes += 1;
            }
            OpenSpill::Overflowed => pass.report.open_overflows += 1,
            OpenSpill::Nothing | OpenSpill::StillFull => {}
        }
        let wide = d.wide_segments();
        drop(d);
        if !wide.is_empty() {
            // Chunks closed in a round share a few segments: the table
            // is locked only for one not seen yet in this pass, and
            // without the series' lock held, as queries take them in
            // the other order. Slots stay valid for the pass (the sweep
            // that frees them waits for `spill_pass`).
            let unseen: Vec<_> = wide
                .into_iter()
                .filter(|seg| !pass.slots.iter().any(|(x, _)| Arc::ptr_eq(x, seg)))
                .collect();
            if !unseen.is_empty() {
                let mut t = self.segments.write();
                pass.slots.extend(
                    unseen
                        .into_iter()
                        .filter_map(|seg| t.register(&seg).map(|slot| (seg, slot))),
                );
            }
            pass.report.closed_in_region += s.data.lock().compact_wide(&pass.slots);
        }
        let mut found = std::mem::take(&mut pass.found);
        for b in found.drain(..) {
            if b.len() > pass.limit {
                continue; // cannot happen with 120-sample chunks; stays on the heap
            }
            if pass.batch.buf.len() + b.len() > pass.limit {
                self.flush(&mut pass.batch, spill, &mut pass.report)?;
            }
            let at = pass.batch.buf.len();
            pass.batch.buf.extend_from_slice(&b);
            pass.batch.items.push((s.clone(), b, at));
        }
        pass.found = found;
        Ok(())
    }

    /// Writes the batch in one call and swaps each chunk to its written
    /// copy. The caller holds `spill_pass`, so the segment stays in the
    /// table while chunks are pointed at it.
    fn flush(
        &self,
        batch: &mut Batch,
        spill: &mut SpillDir,
        report: &mut SpillReport,
    ) -> std::io::Result<()> {
        if batch.items.is_empty() {
            return Ok(());
        }
        let written = spill.append(&batch.buf);
        batch.buf.clear();
        let items = std::mem::take(&mut batch.items);
        let (seg, base) = written?;
        let slot = self.segments.write().register(&seg);
        for (s, heap, at) in items {
            // Below the segment size, which fits in u32.
            let off = base + at as u32;
            if s.data.lock().replace_heap(&heap, slot, &seg, off) {
                report.chunks += 1;
                report.bytes += heap.len();
            }
        }
        Ok(())
    }
}

/// The tick's combined write of open chunks' bytes: sorted by segment and
/// offset, the pending bytes are grouped into runs of at most
/// [`RUN_BYTES`] whose gaps are at most [`RUN_GAP`]; each run is read with
/// one `pread`, patched with the bytes of each series (copied under its
/// lock), written back with one `pwrite`, and only then are the bytes
/// dropped from the series (under a second lock, if the chunk did not
/// change meanwhile). The rest of a run is rewritten unchanged: regions'
/// written bytes and closed chunks never change, the pass is the only
/// writer besides appends that close a chunk into its region, and those
/// are kept out of the segment while a run is rewritten
/// ([`Segment::try_share`]; they take the heap path instead). Rewriting
/// a page costs less than the `pwrite` per series it replaces, and the
/// open chunks of about six series share a page.
///
/// On an error the bytes not yet committed stay on the heap.
fn write_runs(all: &[Arc<MemSeries>], pass: &mut Pass) -> std::io::Result<()> {
    let mut pending = std::mem::take(&mut pass.pending);
    if pending.is_empty() {
        return Ok(());
    }
    pending.sort_unstable_by_key(|p| (p.seg, p.at));
    // Mapped apart from the heap, so that it goes back to the system
    // after the pass instead of staying in the heap's free lists.
    let mut buf = memmap2::MmapMut::map_anon(RUN_BYTES)?;
    let mut copied: Vec<bool> = Vec::new();
    let mut i = 0;
    while i < pending.len() {
        let first = pending[i];
        let start = first.at;
        let mut end = start.saturating_add(first.n);
        let mut j = i + 1;
        while let Some(p) = pending.get(j) {
            let p_end = p.at.saturating_add(p.n);
            if p.seg != first.seg
                || p.at < end
                || p.at - end > RUN_GAP
                || (p_end - start) as usize > RUN_BYTES
            {
                break;
            }
            end = p_end;
            j += 1;
        }
        let run = &pending[i..j];
        i = j;
        let (Some(seg), Some(bytes)) = (
            pass.run_segs.get(first.seg as usize),
            buf.get_mut(..(end - start) as usize),
        ) else {
            continue; // an entry larger than a run: stays on the heap
        };
        copied.clear();
        {
            let _alone = seg.exclusive();
            seg.read_at(bytes, u64::from(start))?;
            for p in run {
                let at = (p.at - start) as usize;
                let ok = match (
                    all.get(p.series as usize),
                    bytes.get_mut(at..at + p.n as usize),
                ) {
                    (Some(s), Some(out)) => s.data.lock().copy_pending(seg, p.at, out),
                    _ => false,
                };
                copied.push(ok);
            }
            if !copied.contains(&true) {
                continue;
            }
            seg.write_at(bytes, u64::from(start))?;
        }
        pass.report.open_runs += 1;
        for (p, _) in run.iter().zip(&copied).filter(|(_, ok)| **ok) {
            let Some(s) = all.get(p.series as usize) else {
                continue;
            };
            if s.data.lock().commit_pending(seg, p.at, p.n) {
                pass.report.open_bytes += p.n as usize;
                pass.report.open_in_runs += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use promlite_model::Labels;

    use super::*;

    fn labels(i: usize) -> Labels {
        Labels::from_pairs([("__name__", "m".to_string()), ("i", i.to_string())])
    }

    fn fill(head: &Head, series: usize, samples: i64) {
        for i in 0..series {
            let (s, _) = head.get_or_create(&labels(i), None).unwrap();
            let mut d = s.data.lock();
            for t in 0..samples {
                d.append(t * 1000, (t as f64) * 0.1 + i as f64, head.chunk_range());
            }
            head.update_time_range(0, (samples - 1) * 1000);
        }
    }

    fn dump(head: &Head) -> Vec<(Labels, Vec<(i64, f64)>)> {
        head.series_in_range(i64::MIN, i64::MAX).collect()
    }

    #[test]
    fn spilled_chunks_read_the_same_and_leave_the_heap() {
        let tmp = tempfile::tempdir().unwrap();
        let mut spill = SpillDir::open_sized(&tmp.path().join("spill"), 64 << 10).unwrap();
        let head = Head::new(i64::MAX, 0);
        fill(&head, 50, 500);
        let before = dump(&head);
        let heap_before = head.stats(1).chunk_bytes;

        let r = head.spill_closed_chunks(&mut spill).unwrap();
        // 500 samples = 4 closed chunks of 120 and an open one, per series.
        assert_eq!(r.chunks, 50 * 4);
        assert_eq!(dump(&head), before);
        assert!(head.stats(1).chunk_bytes < heap_before / 3);
        assert_eq!(head.stats(1).spilled_chunks, 200);
        // Several segments at this size; a second pass has nothing to do.
        assert!(std::fs::read_dir(tmp.path().join("spill")).unwrap().count() > 1);
        assert_eq!(head.spill_closed_chunks(&mut spill).unwrap().chunks, 0);

        // Appending goes on after a spill; truncation frees whole segments.
        for i in 0..50 {
            let s = head.series_by_labels(&labels(i)).unwrap();
            s.data.lock().append(500_000, 1.0, head.chunk_range());
        }
        head.truncate(480_000);
        let after = dump(&head);
        assert_eq!(after.len(), 50);
        assert_eq!(after[0].1.first(), Some(&(480_000, 48.0)));
        assert_eq!(after[0].1.last(), Some(&(500_000, 1.0)));
        // Segments left: the writer's, those of the chunks after 480 s,
        // and the regions of the open chunks. Once all is gone, the
        // writer's alone.
        assert_eq!(head.truncate(600_000), 50);
        assert_eq!(
            std::fs::read_dir(tmp.path().join("spill")).unwrap().count(),
            1
        );
    }

    #[test]
    fn segments_go_when_their_chunks_do_but_not_under_a_query() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spill");
        let mut spill = SpillDir::open_sized(&dir, 16 << 10).unwrap();
        let head = Head::new(i64::MAX, 0);
        fill(&head, 20, 500);
        let before = dump(&head);
        head.spill_closed_chunks(&mut spill).unwrap();
        let files = || std::fs::read_dir(&dir).unwrap().count();
        assert!(head.live_segments() > 2);
        let head_segments_before = head.live_segments();
        // Files also hold the open chunks' regions.
        let files_before = files();
        assert!(files_before >= head_segments_before);

        // A query's snapshot keeps reading its chunks after they leave the head.
        let q = crate::head::HeadQuerier::new(&head, i64::MIN, i64::MAX);
        let m = promlite_model::Matcher::equal("i", "3");
        let held = q.select_series(&Default::default(), &[m]).unwrap();
        // Deleting every sample frees every segment but the writer's.
        let all: Vec<Arc<MemSeries>> = (0..20)
            .filter_map(|i| head.series_by_labels(&labels(i)))
            .collect();
        assert_eq!(head.delete_from(&all, i64::MIN, i64::MAX), 20 * 500);
        assert_eq!(head.live_segments(), 0);
        // Left: the writer's segment and those the query holds.
        assert!(files() < files_before);
        let mut it = promlite_model::Series::iter(&held[0]);
        let mut got = Vec::new();
        while it.next() == promlite_model::ValueType::Float {
            got.push(it.at());
        }
        let want = before
            .iter()
            .find(|(l, _)| l.get("i") == Some("3"))
            .unwrap();
        assert_eq!(got, want.1);
        drop(it);
        drop(held);
        assert_eq!(
            files(),
            1,
            "only the writer's segment once the query is done"
        );
        drop(spill);
        assert_eq!(files(), 0);
    }

    #[test]
    fn a_failed_write_keeps_chunks_on_the_heap() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spill");
        let mut spill = SpillDir::open_sized(&dir, 64 << 10).unwrap();
        let head = Head::new(i64::MAX, 0);
        fill(&head, 5, 300);
        let before = dump(&head);
        // The directory vanishes: creating the first segment fails.
        std::fs::remove_dir_all(&dir).unwrap();
        let (r, _e) = head.spill_closed_chunks(&mut spill).unwrap_err();
        assert_eq!(r.chunks, 0);
        assert_eq!(dump(&head), before);
        // Once writable again, the next pass moves them.
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(head.spill_closed_chunks(&mut spill).unwrap().chunks, 10);
        assert_eq!(dump(&head), before);
    }

    fn queue(head: &Head, i: usize) {
        let s = head.series_by_labels(&labels(i)).unwrap();
        let mut d = s.data.lock();
        head.queue_for_spill(&s, &mut d);
    }

    fn queued(head: &Head) -> usize {
        head.spill_due.lock().series.len()
    }

    #[test]
    fn the_queued_pass_visits_only_queued_series() {
        let tmp = tempfile::tempdir().unwrap();
        let mut spill = SpillDir::open_sized(&tmp.path().join("spill"), 64 << 10).unwrap();
        let head = Head::new(i64::MAX, 0);
        fill(&head, 10, 500);
        let before = dump(&head);
        // Nothing queued: nothing moves.
        assert_eq!(head.spill_queued_chunks(&mut spill).unwrap().chunks, 0);
        // Three queued (each once, however often): their 4 closed chunks each.
        for i in [1, 4, 7, 4, 1] {
            queue(&head, i);
        }
        assert_eq!(queued(&head), 3);
        let r = head.spill_queued_chunks(&mut spill).unwrap();
        assert_eq!(r.chunks, 3 * 4);
        assert_eq!(queued(&head), 0);
        assert_eq!(dump(&head), before);
        // Flags were cleared: they can be queued again.
        queue(&head, 1);
        assert_eq!(queued(&head), 1);
        // The full pass takes the rest and empties the queue.
        let r = head.spill_closed_chunks(&mut spill).unwrap();
        assert_eq!(r.chunks, 7 * 4);
        assert_eq!(queued(&head), 0);
        queue(&head, 1);
        assert_eq!(queued(&head), 1, "the full pass cleared the flags");
        assert_eq!(dump(&head), before);
    }

    #[test]
    fn a_full_queue_makes_the_next_pass_visit_every_series() {
        let tmp = tempfile::tempdir().unwrap();
        let mut spill = SpillDir::open_sized(&tmp.path().join("spill"), 64 << 10).unwrap();
        let head = Head::new(i64::MAX, 0);
        fill(&head, 2, 300);
        // One sample each: nothing to spill, but they fill the queue.
        for i in 2..MAX_DUE + 3 {
            let (s, _) = head.get_or_create(&labels(i), None).unwrap();
            let mut d = s.data.lock();
            d.append(0, 1.0, head.chunk_range());
            head.queue_for_spill(&s, &mut d);
        }
        assert_eq!(queued(&head), MAX_DUE);
        assert!(head.spill_due.lock().overflowed);
        // The two series never queued are visited anyway.
        let r = head.spill_queued_chunks(&mut spill).unwrap();
        assert_eq!(r.chunks, 2 * 2);
        assert_eq!(queued(&head), 0);
        assert!(!head.spill_due.lock().overflowed);
        let s = head.series_by_labels(&labels(5)).unwrap();
        assert!(!s.data.lock().spill_queued);
    }

    #[test]
    fn queued_series_can_still_be_truncated_away() {
        let head = Head::new(i64::MAX, 0);
        fill(&head, 3, 10);
        let (s, _) = head.get_or_create(&labels(9), None).unwrap();
        s.data.lock().append(50_000, 1.0, head.chunk_range());
        drop(s);
        for i in [0, 9] {
            queue(&head, i);
        }
        // Everything but series 9 is older than 20 s.
        assert_eq!(head.truncate(20_000), 3);
        assert!(head.series_by_labels(&labels(0)).is_none());
        assert_eq!(queued(&head), 1, "series 9 stays queued");
        let q = head.spill_due.lock().series[0].clone();
        assert_eq!(q.labels, labels(9));
    }

    #[test]
    fn commits_queue_series_when_a_chunk_closes_or_open_bytes_are_due() {
        use promlite_model::Appender;
        let dir = tempfile::tempdir().unwrap();
        let wal = Arc::new(crate::wal::Wal::open(dir.path(), 1 << 20).unwrap());
        let head = Arc::new(Head::new(i64::MAX, 0));
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (noisy, flat) = (labels(0), labels(1));
        let mut first_queued = None;
        for t in 0..150i64 {
            let mut app =
                super::super::HeadAppender::new(head.clone(), wal.clone(), false, closed.clone());
            let v = (t as f64 * 0.71).sin() * 3.210_987;
            app.append(None, &noisy, t * 5_000, v).unwrap();
            app.append(None, &flat, t * 5_000, 2.0).unwrap();
            app.commit().unwrap();
            let q = head.spill_due.lock();
            assert!(q.series.len() <= 2, "queued once at most");
            if first_queued.is_none() && !q.series.is_empty() {
                first_queued = Some((t, q.series[0].labels.clone()));
            }
        }
        // The noisy series' open chunk reached the threshold (about 9
        // bytes a sample) long before its chunk closed at sample 120; the
        // constant one only queued when its chunk closed. 30 samples of the
        // next chunk are due for writing out again.
        let (t, who) = first_queued.unwrap();
        assert!(t < 30 && who == noisy, "{t} {who}");
        assert_eq!(queued(&head), 2);
        let tmp = tempfile::tempdir().unwrap();
        let mut spill = SpillDir::open_sized(&tmp.path().join("spill"), 64 << 10).unwrap();
        let before = dump(&head);
        let r = head.spill_queued_chunks(&mut spill).unwrap();
        assert!(r.open_writes >= 1);
        assert_eq!(r.chunks + r.closed_in_region, 2);
        assert_eq!(dump(&head), before);
    }

    fn fill_noisy(head: &Head, series: usize, from: i64, to: i64) {
        for i in 0..series {
            let (s, _) = head.get_or_create(&labels(i), None).unwrap();
            let mut d = s.data.lock();
            for t in from..to {
                let v = ((t * 7 + i as i64) as f64 * 0.29).sin() * 5.432_1;
                d.append(t * 5_000, v, head.chunk_range());
            }
        }
        head.update_time_range(0, (to - 1) * 5_000);
    }

    #[test]
    fn the_tick_writes_every_open_chunk_in_a_few_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let mut spill = SpillDir::open_sized(&tmp.path().join("spill"), 1 << 20).unwrap();
        let head = Head::new(i64::MAX, 0);
        fill_noisy(&head, 300, 0, 50);
        let before = dump(&head);
        let heap_before = head.stats(1).chunk_bytes;
        let r = head.spill_closed_chunks(&mut spill).unwrap();
        assert_eq!(r.open_in_runs, 300, "{r:?}");
        assert_eq!(r.open_writes, 0, "no write per series");
        // Regions were reserved back to back: a run per 1 MiB at most.
        assert!(r.open_runs >= 1 && r.open_runs <= 2, "{r:?}");
        assert!(head.stats(1).chunk_bytes < heap_before / 4);
        assert_eq!(dump(&head), before);
        // Nothing new: nothing to write.
        let r = head.spill_closed_chunks(&mut spill).unwrap();
        assert_eq!((r.open_in_runs, r.open_runs), (0, 0));
        // More samples: written behind the earlier ones, and the chunks
        // that close go straight from their regions to the compact list.
        for round in 0..4 {
            fill_noisy(&head, 300, 50 + round * 30, 80 + round * 30);
            let r = head.spill_closed_chunks(&mut spill).unwrap();
            assert!(r.open_in_runs > 0, "{r:?}");
            assert_eq!(r.chunks, 0, "no closed chunk went to the heap: {r:?}");
            assert_eq!(
                head.series_in_range(i64::MIN, i64::MAX)
                    .map(|(_, v)| v.len())
                    .sum::<usize>(),
                300 * (80 + round as usize * 30)
            );
        }
        assert_eq!(head.stats(1).spilled_chunks, 300);
        let want: Vec<_> = {
            let fresh = Head::new(i64::MAX, 0);
            fill_noisy(&fresh, 300, 0, 170);
            dump(&fresh)
        };
        assert_eq!(dump(&head), want);
    }

    #[test]
    fn a_failed_run_keeps_the_open_bytes_on_the_heap() {
        use crate::chunk::FAIL_SEGMENT_IO;
        let tmp = tempfile::tempdir().unwrap();
        let mut spill = SpillDir::open_sized(&tmp.path().join("spill"), 1 << 20).unwrap();
        let head = Head::new(i64::MAX, 0);
        fill_noisy(&head, 50, 0, 40);
        let before = dump(&head);
        let heap_before = head.stats(1).chunk_bytes;
        for fail in [(true, false), (false, true)] {
            FAIL_SEGMENT_IO.with(|f| f.set(fail));
            let (r, _e) = head.spill_closed_chunks(&mut spill).unwrap_err();
            FAIL_SEGMENT_IO.with(|f| f.set((false, false)));
            assert_eq!((r.open_in_runs, r.open_bytes), (0, 0), "{fail:?}");
            assert_eq!(head.stats(1).chunk_bytes, heap_before, "{fail:?}");
            assert_eq!(dump(&head), before, "{fail:?}");
        }
        let r = head.spill_closed_chunks(&mut spill).unwrap();
        assert_eq!(r.open_in_runs, 50);
        assert!(head.stats(1).chunk_bytes < heap_before / 4);
        assert_eq!(dump(&head), before);
    }
}
