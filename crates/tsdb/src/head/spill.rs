//! Moving the head's closed chunks, and the complete bytes of open ones
//! (`open.rs`), out of the heap (see [`crate::chunk::SpillDir`]).

use std::sync::Arc;

use super::open::{OpenSpill, OPEN_SPILL_THRESHOLD};
use super::{Head, MemSeries};
use crate::chunk::{Segment, SpillDir};

/// Chunk bytes gathered before one write to a spill segment.
const BATCH_BYTES: usize = 1 << 20;

/// What one [`Head::spill_closed_chunks`] pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpillReport {
    /// Chunks moved to spill segments.
    pub chunks: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Bytes of open chunks written to their regions.
    pub open_bytes: usize,
    /// Open chunks that outgrew their region in this pass (their further
    /// bytes stay on the heap).
    pub open_overflows: usize,
    /// Chunks that were closed straight into their region and moved to
    /// the compact list in this pass.
    pub closed_in_region: usize,
}

/// Closed chunks waiting for one write: their series, heap bytes and
/// offset in the batch buffer.
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    items: Vec<(Arc<MemSeries>, Arc<[u8]>, usize)>,
}

impl Head {
    /// Writes every closed chunk still on the heap to `spill` and points the
    /// series at the written copy, so the heap copy is freed (at once, or
    /// when the last query reading it finishes). Appends and queries go on
    /// meanwhile: each series is locked only to gather and to swap.
    ///
    /// On a write error (a full disk, say) the pass stops and returns the
    /// error with what it moved so far; the chunks not moved stay on the
    /// heap, correct and readable, and a later pass tries again.
    pub fn spill_closed_chunks(
        &self,
        spill: &mut SpillDir,
    ) -> Result<SpillReport, (SpillReport, std::io::Error)> {
        let _pass = self.spill_pass.lock();
        let mut all: Vec<Arc<MemSeries>> = Vec::with_capacity(self.num_series());
        self.for_each_series(|s| all.push(s.clone()));
        let limit = BATCH_BYTES.min(spill.segment_size());
        let mut report = SpillReport::default();
        let mut batch = Batch::default();
        let mut found: Vec<Arc<[u8]>> = Vec::new();
        // Segment slots registered in this pass (see below).
        let mut slots: Vec<(Arc<Segment>, u16)> = Vec::new();
        for s in all {
            // Gathered first: a flush locks series, this one among them.
            let mut d = s.data.lock();
            found.extend(d.heap_closed().cloned());
            match d.spill_open(spill, OPEN_SPILL_THRESHOLD) {
                Ok(OpenSpill::Written(n)) => report.open_bytes += n,
                Ok(OpenSpill::Overflowed) => report.open_overflows += 1,
                Ok(OpenSpill::Nothing | OpenSpill::StillFull) => {}
                Err(e) => return Err((report, e)),
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
                    .filter(|seg| !slots.iter().any(|(x, _)| Arc::ptr_eq(x, seg)))
                    .collect();
                if !unseen.is_empty() {
                    let mut t = self.segments.write();
                    slots.extend(
                        unseen
                            .into_iter()
                            .filter_map(|seg| t.register(&seg).map(|slot| (seg, slot))),
                    );
                }
                report.closed_in_region += s.data.lock().compact_wide(&slots);
            }
            for b in found.drain(..) {
                if b.len() > limit {
                    continue; // cannot happen with 120-sample chunks; stays on the heap
                }
                if batch.buf.len() + b.len() > limit {
                    self.flush(&mut batch, spill, &mut report)
                        .map_err(|e| (report, e))?;
                }
                let at = batch.buf.len();
                batch.buf.extend_from_slice(&b);
                batch.items.push((s.clone(), b, at));
            }
        }
        self.flush(&mut batch, spill, &mut report)
            .map_err(|e| (report, e))?;
        Ok(report)
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
}
