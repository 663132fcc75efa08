//! The Db's querier: blocks and head seen as one, consistently.

use std::collections::BTreeSet;
use std::sync::Arc;

use promlite_model::{Matcher, Querier, SelectHints, Series, StorageError};

use super::blocks::select_block;
use super::Shared;
use crate::head::{check_matchers, HeadQuerier};
use crate::querier::merge_series;

/// The Db's querier: blocks and head, snapshotted together per call.
pub(super) struct DbQuerier<'a> {
    pub(super) shared: &'a Shared,
    pub(super) mint: i64,
    pub(super) maxt: i64,
}

impl DbQuerier<'_> {
    fn blocks(&self) -> Vec<Arc<crate::block::Block>> {
        let mut v = self.shared.blocks.snapshot();
        v.retain(|b| b.meta().min_time <= self.maxt && b.meta().max_time > self.mint);
        v
    }
}

impl Querier for DbQuerier<'_> {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series + '_>>, StorageError> {
        check_matchers(matchers)?;
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, head_series) = {
            let _cut = self.shared.cut_lock.read();
            (self.blocks(), head.select_series(hints, matchers)?)
        };
        let mut lists: Vec<Vec<Box<dyn Series + '_>>> = Vec::with_capacity(blocks.len() + 1);
        for b in &blocks {
            let ts_cache = self.shared.blocks.timestamp_cache(b);
            lists.push(select_block(
                b, ts_cache, self.mint, self.maxt, hints, matchers,
            )?);
        }
        // Last: the head wins on equal timestamps.
        lists.push(
            head_series
                .into_iter()
                .map(|s| Box::new(s) as Box<dyn Series>)
                .collect(),
        );
        Ok(merge_series(lists, hints.limit))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, mut set) = {
            let _cut = self.shared.cut_lock.read();
            (
                self.blocks(),
                head.label_values(name, matchers)?
                    .into_iter()
                    .collect::<BTreeSet<String>>(),
            )
        };
        for b in &blocks {
            set.extend(
                b.querier(self.mint, self.maxt)
                    .label_values(name, matchers)?,
            );
        }
        Ok(set.into_iter().collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, mut set) = {
            let _cut = self.shared.cut_lock.read();
            (
                self.blocks(),
                head.label_names(matchers)?
                    .into_iter()
                    .collect::<BTreeSet<String>>(),
            )
        };
        for b in &blocks {
            set.extend(b.querier(self.mint, self.maxt).label_names(matchers)?);
        }
        Ok(set.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    //! `Series::last_sample` of the Db's series (block, head, merged) gives
    //! the last sample that iteration gives, for every query range.

    use promlite_model::{labels, Labels, Matcher, SelectHints, ValueType, STALE_NAN};

    use crate::block::write_block;
    use crate::{Db, DbOptions};

    const BLOCK: i64 = 7_200_000;

    fn opts() -> DbOptions {
        DbOptions {
            background: false,
            ..Default::default()
        }
    }

    /// For every `[mint, maxt]` from `ranges`: each series' `last_sample`
    /// equals the last sample its iterator yields (bit for bit).
    fn check(db: &Db, ranges: &[(i64, i64)]) -> usize {
        let mut checked = 0;
        for &(mint, maxt) in ranges {
            let q = db.querier(mint, maxt).unwrap();
            let m = Matcher::new(promlite_model::MatchOp::Regex, "__name__", ".+").unwrap();
            for s in q.select(&SelectHints::default(), &[m]).unwrap() {
                let mut it = s.iter();
                let mut last = None;
                while it.next() == ValueType::Float {
                    last = Some(it.at());
                }
                assert!(it.err().is_none());
                let got = s.last_sample().unwrap();
                assert_eq!(
                    got.map(|(t, v)| (t, v.to_bits())),
                    last.map(|(t, v)| (t, v.to_bits())),
                    "{} in [{mint}, {maxt}]",
                    s.labels()
                );
                checked += 1;
            }
        }
        checked
    }

    /// For every `[mint, maxt]` from `ranges`: each series' thin read
    /// ([`Series::append_samples_thin`]) is its full read with some samples
    /// left out, each of which lies inside a run that never falls and holds
    /// no NaN, between two kept samples: the same first and last samples,
    /// count, and falls. Returns the samples left out in all.
    fn check_thin(db: &Db, ranges: &[(i64, i64)]) -> usize {
        let mut hidden_all = 0;
        for &(mint, maxt) in ranges {
            let q = db.querier(mint, maxt).unwrap();
            let m = Matcher::new(promlite_model::MatchOp::Regex, "__name__", ".+").unwrap();
            for s in q.select(&SelectHints::default(), &[m]).unwrap() {
                let mut full = Vec::new();
                s.append_samples(&mut full).unwrap();
                let mut thin = Vec::new();
                let hidden = s.append_samples_thin(&mut thin).unwrap();
                let at = format!("{} in [{mint}, {maxt}]", s.labels());
                assert_eq!(thin.len() + hidden, full.len(), "{at}");
                let b = |x: &(i64, f64)| (x.0, x.1.to_bits());
                assert_eq!(thin.first().map(b), full.first().map(b), "{at}");
                assert_eq!(thin.last().map(b), full.last().map(b), "{at}");
                // Walk both: every left-out sample sits in a non-falling,
                // NaN-free stretch between the kept samples around it.
                let mut k = 0;
                for (i, x) in full.iter().enumerate() {
                    if thin.get(k).map(b) == Some(b(x)) {
                        k += 1;
                        continue;
                    }
                    let (prev, next) = (full[i - 1].1, full[i + 1].1);
                    assert!(x.1 >= prev && next >= x.1, "{at}: sample {i} left out");
                    assert!(k > 0 && k < thin.len(), "{at}");
                }
                assert_eq!(k, thin.len(), "{at}: thin read not a subsequence");
                hidden_all += hidden;
            }
        }
        hidden_all
    }

    /// For every `[mint, maxt]` from `ranges`, both directions: each
    /// series' extreme read ([`Series::append_samples_extreme`]) keeps the
    /// full read's first and last timestamps, count (with the samples left
    /// out), every NaN and `-0` in place, and `max_over_time`'s
    /// (`min_over_time`'s) answer bit for bit. Returns the samples left
    /// out in all.
    fn check_extreme(db: &Db, ranges: &[(i64, i64)]) -> usize {
        let odd = |v: f64| v.is_nan() || (v == 0.0 && v.is_sign_negative());
        let pick = |s: &[(i64, f64)], max: bool| {
            let mut m = s.first().map(|x| x.1)?;
            for &(_, v) in s {
                if (max && v > m) || (!max && v < m) || m.is_nan() {
                    m = v;
                }
            }
            Some(m.to_bits())
        };
        let mut hidden_all = 0;
        for &(mint, maxt) in ranges {
            let q = db.querier(mint, maxt).unwrap();
            let m = Matcher::new(promlite_model::MatchOp::Regex, "__name__", ".+").unwrap();
            for s in q.select(&SelectHints::default(), &[m]).unwrap() {
                let mut full = Vec::new();
                s.append_samples(&mut full).unwrap();
                for max in [true, false] {
                    let mut ext = Vec::new();
                    let hidden = s.append_samples_extreme(&mut ext, max).unwrap();
                    let at = format!("{} in [{mint}, {maxt}] max {max}", s.labels());
                    assert_eq!(ext.len() + hidden, full.len(), "{at}");
                    assert_eq!(ext.first().map(|x| x.0), full.first().map(|x| x.0), "{at}");
                    assert_eq!(ext.last().map(|x| x.0), full.last().map(|x| x.0), "{at}");
                    assert_eq!(pick(&ext, max), pick(&full, max), "{at}");
                    let odd_of = |v: &[(i64, f64)]| -> Vec<(i64, u64)> {
                        v.iter()
                            .filter(|x| odd(x.1))
                            .map(|x| (x.0, x.1.to_bits()))
                            .collect()
                    };
                    assert_eq!(odd_of(&ext), odd_of(&full), "{at}");
                    assert!(ext.windows(2).all(|w| w[0].0 < w[1].0), "{at}");
                    hidden_all += hidden;
                }
            }
        }
        hidden_all
    }

    /// Query ranges ending everywhere around `[lo, hi]`: on, just before
    /// and just after sample times and chunk edges, 5-minute lookbacks.
    fn ranges(lo: i64, hi: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for maxt in (lo..=hi).step_by(7_499) {
            for d in [-1, 0, 1] {
                out.push((maxt + d - 300_000, maxt + d));
            }
        }
        out.push((i64::MIN, i64::MAX));
        out
    }

    /// `n` samples every 15 s from `start` with values from `f`.
    fn samples(start: i64, n: i64, f: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
        (0..n).map(|i| (start + i * 15_000, f(i))).collect()
    }

    fn series() -> Vec<(Labels, Vec<(i64, f64)>)> {
        // 300 samples: chunks of 120, 120 and 60.
        let mut stale_end = samples(0, 300, |i| i as f64 * 0.5);
        if let Some(last) = stale_end.last_mut() {
            last.1 = STALE_NAN;
        }
        let mut stale_mid = samples(0, 300, |i| (i % 7) as f64 + 0.25);
        stale_mid[119].1 = STALE_NAN; // the last sample of the first chunk
        stale_mid[150].1 = STALE_NAN;
        let mut all = vec![
            (labels!("__name__" => "const"), samples(0, 300, |_| 3.0)),
            (
                labels!("__name__" => "float"),
                samples(7, 300, |i| (i as f64).sin()),
            ),
            (labels!("__name__" => "stale_end"), stale_end),
            (labels!("__name__" => "stale_mid"), stale_mid),
            (
                labels!("__name__" => "sparse"),
                samples(1_000, 20, |i| i as f64)
                    .into_iter()
                    .step_by(3)
                    .collect(),
            ),
        ];
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The newest sample of the series named `name` in `[mint, maxt]`.
    fn newest(db: &Db, mint: i64, maxt: i64, name: &str) -> Option<(i64, f64)> {
        let q = db.querier(mint, maxt).unwrap();
        let s = q
            .select(&SelectHints::default(), &[Matcher::equal("__name__", name)])
            .unwrap();
        s[0].last_sample().unwrap()
    }

    #[test]
    fn block_series_newest_sample_matches_iteration() {
        let dir = tempfile::tempdir().unwrap();
        write_block(dir.path(), 0, BLOCK, &mut series().into_iter())
            .unwrap()
            .unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        assert!(check(&db, &ranges(-20_000, 4_600_000)) > 1000);
        // A stale marker as a chunk's newest sample is returned as such.
        let s = newest(&db, 0, 299 * 15_000, "stale_end");
        let (t, v) = s.unwrap();
        assert_eq!((t, v.to_bits()), (299 * 15_000, STALE_NAN.to_bits()));
        // Inside a chunk: decoded.
        let s = newest(&db, 0, 7 + 130 * 15_000 + 1, "float");
        assert_eq!(s, Some((7 + 130 * 15_000, 130f64.sin())));
        // With tombstones, the newest sample left.
        db.delete_series(
            &[vec![Matcher::equal("__name__", "float")]],
            200 * 15_000,
            i64::MAX,
        )
        .unwrap();
        let s = newest(&db, 0, i64::MAX, "float");
        assert_eq!(s, Some((7 + 199 * 15_000, 199f64.sin())));
        check(&db, &ranges(2_900_000, 3_100_000));
    }

    /// Counters with resets inside chunks and at chunk edges, NaN and
    /// staleness markers (chunks of 120 samples).
    fn counters() -> Vec<(Labels, Vec<(i64, f64)>)> {
        let mut nan = samples(0, 300, |i| i as f64);
        nan[200].1 = f64::NAN;
        let mut stale = samples(0, 300, |i| i as f64 * 3.0);
        stale[130].1 = STALE_NAN;
        let mut all = vec![
            (
                labels!("__name__" => "ctr"),
                samples(0, 300, |i| (i * 1500 + i % 7) as f64),
            ),
            (
                labels!("__name__" => "ctr_float"),
                samples(3, 300, |i| 10.0 + i as f64 * std::f64::consts::SQRT_2),
            ),
            (
                labels!("__name__" => "ctr_reset_edge"),
                samples(0, 300, |i| ((i % 120) * 4) as f64),
            ),
            (
                labels!("__name__" => "ctr_reset_inside"),
                samples(0, 300, |i| ((i % 50) * 4) as f64),
            ),
            (labels!("__name__" => "ctr_nan"), nan),
            (labels!("__name__" => "ctr_stale"), stale),
            (
                labels!("__name__" => "gauge_int"),
                samples(0, 300, |i| ((i * 7919) % 23) as f64 - 4.0),
            ),
            (
                labels!("__name__" => "gauge_neg_zero"),
                samples(0, 300, |i| if i == 7 { -0.0 } else { (i % 3) as f64 }),
            ),
        ];
        all.extend(series());
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    #[test]
    fn block_series_thin_reads_keep_what_rate_needs() {
        let dir = tempfile::tempdir().unwrap();
        write_block(dir.path(), 0, BLOCK, &mut counters().into_iter())
            .unwrap()
            .unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let mut rs = ranges(-20_000, 4_600_000);
        for maxt in (0..4_600_000).step_by(450_000) {
            rs.push((maxt - 3_600_000, maxt));
            rs.push((maxt - 1_800_000 + 1, maxt));
        }
        assert!(check_thin(&db, &rs) > 5_000);
        assert!(check_extreme(&db, &rs) > 5_000);
        // A whole-range extreme read folds the integer gauge's three
        // chunks; the chunk holding a -0 is read whole.
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        let ext_len = |name: &str| {
            let s = q
                .select(&SelectHints::default(), &[Matcher::equal("__name__", name)])
                .unwrap();
            let mut out = Vec::new();
            let hidden = s[0].append_samples_extreme(&mut out, true).unwrap();
            (out.len(), hidden)
        };
        assert_eq!(ext_len("gauge_int"), (6, 294));
        assert_eq!(ext_len("gauge_neg_zero"), (120 + 2 + 2, 118 + 58));
        drop(q);
        // A whole-range read of the plain counter leaves out all but the
        // ends of its three chunks; the reset-inside counter's chunks are
        // read whole.
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        let thin_len = |name: &str| thin_len(q.as_ref(), name);
        assert_eq!(thin_len("ctr"), (6, 294));
        assert_eq!(thin_len("ctr_reset_edge"), (6, 294));
        assert_eq!(thin_len("ctr_reset_inside"), (300, 0));
        assert_eq!(thin_len("ctr_nan").1, 118 + 58);
        assert_eq!(thin_len("ctr_stale").1, 118 + 58);
        // With tombstones, nothing is left out.
        db.delete_series(
            &[vec![Matcher::equal("__name__", "ctr")]],
            200 * 15_000,
            210 * 15_000,
        )
        .unwrap();
        assert_eq!(thin_len("ctr"), (289, 0));
        check_thin(&db, &rs);
        check_extreme(&db, &rs);
    }

    /// Samples a thin read of the series `name` keeps, and how many it
    /// leaves out.
    fn thin_len(q: &dyn promlite_model::storage::Querier, name: &str) -> (usize, usize) {
        let s = q
            .select(&SelectHints::default(), &[Matcher::equal("__name__", name)])
            .unwrap();
        let mut out = Vec::new();
        let hidden = s[0].append_samples_thin(&mut out).unwrap();
        (out.len(), hidden)
    }

    /// Compaction re-encodes chunks and sets the flag on its own longer
    /// chunks: one 300-sample chunk per series here, monotone or not.
    #[test]
    fn compacted_chunks_carry_the_monotone_flag() {
        let dir = tempfile::tempdir().unwrap();
        let meta = write_block(dir.path(), 0, BLOCK, &mut counters().into_iter())
            .unwrap()
            .unwrap();
        let block = crate::block::Block::open(&dir.path().join(&meta.id)).unwrap();
        let out = tempfile::tempdir().unwrap();
        crate::compact::compact(out.path(), &[std::sync::Arc::new(block)])
            .unwrap()
            .unwrap();
        let db = Db::open(out.path(), opts()).unwrap();
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        let thin_len = |name: &str| thin_len(q.as_ref(), name);
        assert_eq!(thin_len("ctr"), (2, 298));
        assert_eq!(thin_len("ctr_float"), (2, 298));
        assert_eq!(thin_len("ctr_reset_edge"), (300, 0));
        assert_eq!(thin_len("ctr_nan"), (300, 0));
        assert!(check_thin(&db, &ranges(-20_000, 4_600_000)) > 0);
        assert!(check_extreme(&db, &ranges(-20_000, 4_600_000)) > 0);
    }

    #[test]
    fn merged_series_newest_sample_matches_iteration() {
        let dir = tempfile::tempdir().unwrap();
        // Two overlapping blocks (the later one wins equal timestamps) ...
        let old: Vec<_> = series()
            .into_iter()
            .map(|(l, s)| (l, s.into_iter().map(|(t, v)| (t, v + 100.0)).collect()))
            .collect();
        write_block(dir.path(), 0, BLOCK, &mut old.into_iter())
            .unwrap()
            .unwrap();
        let shifted: Vec<_> = series()
            .into_iter()
            .map(|(l, s)| {
                let s: Vec<_> = s.into_iter().map(|(t, v)| (t + 900_000, v)).collect();
                (l, s)
            })
            .collect();
        write_block(
            dir.path(),
            900_000,
            BLOCK + 900_000,
            &mut shifted.into_iter(),
        )
        .unwrap()
        .unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        // ... and the head after them.
        let mut app = db.appender();
        for (l, s) in series() {
            for (t, v) in s.into_iter().take(40) {
                app.append(None, &l, BLOCK + 900_000 + t, v - 1.0).unwrap();
            }
        }
        app.commit().unwrap();
        assert!(check(&db, &ranges(-20_000, BLOCK + 900_000 + 700_000)) > 1000);
        check_thin(&db, &ranges(-20_000, BLOCK + 900_000 + 700_000));
        check_extreme(&db, &ranges(-20_000, BLOCK + 900_000 + 700_000));
        // Equal timestamps in both blocks: the later block's value.
        let s = newest(&db, 0, 900_007, "float");
        assert_eq!(s, Some((900_007, 0f64.sin())));
    }
}
