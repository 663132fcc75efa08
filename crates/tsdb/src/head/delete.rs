//! Deleting samples from the head (the admin API's `delete_series`).
//!
//! The head deletes for real: the affected series' chunks are re-encoded
//! without the deleted samples, so queries stop seeing them at once and a
//! later block cut never writes them. The [`crate::Db`] logs a WAL
//! `Tombstones` record first, and replay re-applies it in log order.

use std::collections::BTreeSet;
use std::sync::Arc;

use promlite_model::Matcher;

use super::closed::SegTable;
use super::series::SeriesData;
use super::{Head, MemSeries};

impl SeriesData {
    /// [`Self::delete_range_in`] for WAL replay, which runs before any
    /// chunk is spilled (so no segment table is needed).
    pub(crate) fn delete_range(&mut self, mint: i64, maxt: i64, chunk_range: i64) -> usize {
        self.delete_range_in(mint, maxt, chunk_range, &SegTable::default())
    }

    /// Removes the samples in `[mint, maxt]` (inclusive), re-encoding the
    /// chunks (cut by the same rules as appends) on the heap. Spilled
    /// chunks are read through `segs`; if a chunk cannot be read in full,
    /// nothing is changed. Returns how many went.
    pub(crate) fn delete_range_in(
        &mut self,
        mint: i64,
        maxt: i64,
        chunk_range: i64,
        segs: &SegTable,
    ) -> usize {
        let Some((lo, hi)) = self.time_range() else {
            return 0;
        };
        if mint > maxt || hi < mint || lo > maxt {
            return 0;
        }
        let chunks = self.snapshot(i64::MIN, i64::MAX, segs);
        let all: Vec<(i64, f64)> = chunks.iter().flat_map(|c| c.samples()).collect();
        let before = all.len();
        if before != chunks.iter().map(|c| usize::from(c.num)).sum::<usize>() {
            tracing::warn!(target: "promlite_tsdb", "head deletion skipped a series with an unreadable chunk");
            return 0;
        }
        let kept: Vec<(i64, f64)> = all
            .into_iter()
            .filter(|s| s.0 < mint || s.0 > maxt)
            .collect();
        let removed = before - kept.len();
        if removed == 0 {
            return 0;
        }
        *self = SeriesData::default();
        for (t, v) in kept {
            self.append(t, v, chunk_range);
        }
        removed
    }
}

impl Head {
    /// Series matching any of `matcher_sets` that hold samples in
    /// `[mint, maxt]`, by reference.
    pub(crate) fn deletion_targets(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<Arc<MemSeries>> {
        let refs: BTreeSet<u64> = matcher_sets
            .iter()
            .flat_map(|set| self.select_refs(set))
            .collect();
        refs.into_iter()
            .filter_map(|r| self.series_by_ref(r))
            .filter(|s| {
                s.data
                    .lock()
                    .time_range()
                    .is_some_and(|(a, b)| a <= maxt && b >= mint)
            })
            .collect()
    }

    /// Deletes `[mint, maxt]` from each series, atomically for queries.
    /// Returns the number of samples removed. The caller holds the commit
    /// lock and has logged the deletion to the WAL. Segments left without
    /// chunks are let go.
    pub(crate) fn delete_from(&self, series: &[Arc<MemSeries>], mint: i64, maxt: i64) -> usize {
        let isolation = self.isolation.write();
        let segs = self.segments.read();
        let removed = series
            .iter()
            .map(|s| {
                s.data
                    .lock()
                    .delete_range_in(mint, maxt, self.chunk_range, &segs)
            })
            .sum();
        drop(segs);
        drop(isolation);
        // Appends may go back to timestamps before the deleted ones.
        self.resync_hot(series);
        if removed > 0 {
            self.sweep_segments();
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_range_keeps_the_rest_and_appends_go_on() {
        let mut d = SeriesData::default();
        for i in 0..300 {
            d.append(i * 10, i as f64, 1000);
        }
        assert_eq!(d.delete_range(5000, 4000, 1000), 0, "empty range");
        assert_eq!(d.delete_range(3000, 9000, 1000), 0, "after the data");
        assert_eq!(d.delete_range(995, 2005, 1000), 101);
        let got: Vec<(i64, f64)> = d
            .snapshot(i64::MIN, i64::MAX, &SegTable::default())
            .iter()
            .flat_map(|c| c.samples())
            .collect();
        let want: Vec<(i64, f64)> = (0..300)
            .filter(|i| !(100..=200).contains(i))
            .map(|i| (i * 10, i as f64))
            .collect();
        assert_eq!(got, want);
        // Deleting the tail lets older timestamps be appended again.
        assert_eq!(d.delete_range(2500, i64::MAX, 1000), 50);
        assert_eq!(d.last(), Some((2490, 249f64.to_bits())));
        assert_eq!(d.delete_range(i64::MIN, i64::MAX, 1000), 149);
        assert_eq!(d.time_range(), None);
    }
}
