//! `max_over_time` and `min_over_time` at a single step read series
//! folded ([`Series::append_samples_extreme`]: storage may hand out a run
//! without NaN and `-0` as its first and last samples, both holding the
//! run's extreme). A storage that folds every such run must give the same
//! answers, bit for bit, as one that does not, with NaN, staleness
//! markers, `-0`, ties, offsets, `@`, range queries and aggregations.

use std::sync::atomic::{AtomicUsize, Ordering};

use promlite_model::{MemStorage, Series, StorageError};

use super::hooked_storage::{Hooked, ReadHooks};
use super::thin_tests::{bits, data};
use crate::engine::{Engine, EngineOptions, QueryOptions};

/// Hooks whose extreme reads fold every run of at least `min_run`
/// samples without NaN and `-0`, as block storage folds chunks.
#[derive(Default)]
struct Folding {
    min_run: usize,
    /// Samples left out so far.
    hidden: AtomicUsize,
    /// Extreme reads so far.
    reads: AtomicUsize,
}

impl ReadHooks for Folding {
    fn extreme(
        &self,
        inner: &dyn Series,
        out: &mut Vec<(i64, f64)>,
        max: bool,
    ) -> Result<usize, StorageError> {
        let mut all = Vec::new();
        inner.append_samples(&mut all)?;
        let (kept, hidden) = fold(&all, self.min_run, max);
        out.extend(kept);
        self.hidden.fetch_add(hidden, Ordering::Relaxed);
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(hidden)
    }
}

/// Neither NaN nor `-0`.
fn foldable(v: f64) -> bool {
    !(v.is_nan() || (v == 0.0 && v.is_sign_negative()))
}

/// `all` with every run of `min_run`+ foldable samples replaced by its
/// first and last samples holding the run's extreme; returns the folded
/// samples and how many were left out.
fn fold(all: &[(i64, f64)], min_run: usize, max: bool) -> (Vec<(i64, f64)>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && foldable(all[j].1) {
            j += 1;
        }
        if j - i >= min_run.max(1) {
            let run = &all[i..j];
            let ext = run
                .iter()
                .map(|x| x.1)
                .reduce(|m, v| {
                    if (max && v > m) || (!max && v < m) {
                        v
                    } else {
                        m
                    }
                })
                .unwrap_or(0.0);
            out.push((all[i].0, ext));
            if j - i > 1 {
                out.push((all[j - 1].0, ext));
            }
            i = j;
        } else {
            out.push(all[i]);
            i += 1;
        }
    }
    let hidden = all.len() - out.len();
    (out, hidden)
}

#[test]
fn folded_reads_give_the_same_answers_bit_for_bit() {
    let full = MemStorage::new();
    data(&full);
    for min_run in [1, 5] {
        let folding = Hooked {
            inner: MemStorage::new(),
            hooks: Folding {
                min_run,
                ..Folding::default()
            },
        };
        data(&folding.inner);
        let engine = Engine::default();
        let q = QueryOptions::default();
        let queries = [
            "max_over_time(c[1h])",
            "min_over_time(c[1h])",
            "max_over_time(c[5m])",
            "min_over_time(c[2h])",
            "max_over_time(c[30m] offset 10m)",
            "min_over_time(c[1h] @ 3000)",
            "sum by (instance) (max_over_time(c[1h]))",
            "max(min_over_time(c[90m]))",
            "-max_over_time(c[1h])",
            "max_over_time(c{instance=\"neg_zero\"}[3h])",
            "min_over_time(c{instance=\"neg_zero\"}[3h])",
            "max_over_time(c{instance=\"nan\"}[3h])",
            "count_over_time(c[1h])",
            "count_over_time(c{instance=\"nan\"}[3h])",
            "sum(count_over_time(c[90m]))",
            "present_over_time(c[5m])",
        ];
        let mut checked = 0;
        for query in queries {
            for t in [
                1_000, 14_999, 15_000, 900_000, 1_800_007, 3_600_000, 3_611_111, 5_400_000,
                7_185_000, 7_200_000, 9_000_000,
            ] {
                let a = engine.instant_query(&full, query, t, &q).unwrap();
                let b = engine.instant_query(&folding, query, t, &q).unwrap();
                assert_eq!(bits(&a.value), bits(&b.value), "{query} at {t}");
                checked += bits(&a.value).len();
            }
            let a = engine
                .range_query(&full, query, 600_000, 7_200_000, 60_000, &q)
                .unwrap();
            let b = engine
                .range_query(&folding, query, 600_000, 7_200_000, 60_000, &q)
                .unwrap();
            assert_eq!(bits(&a.value), bits(&b.value), "{query} as a range query");
        }
        assert!(checked > 500, "{checked}");
        // The folded path was taken, and left samples out.
        assert!(folding.hooks.reads.load(Ordering::Relaxed) > 1000);
        assert!(folding.hooks.hidden.load(Ordering::Relaxed) > 10_000);
    }
}

/// The sample limit counts the samples left out as read.
#[test]
fn folded_reads_count_every_sample_against_the_limit() {
    let full = MemStorage::new();
    data(&full);
    let folding = Hooked {
        inner: MemStorage::new(),
        hooks: Folding {
            min_run: 1,
            ..Folding::default()
        },
    };
    data(&folding.inner);
    let q = QueryOptions::default();
    for limit in [10, 100, 239, 240, 241, 1_000, 10_000] {
        let engine = Engine::new(EngineOptions {
            max_samples: limit,
            ..EngineOptions::default()
        });
        for query in [
            "max_over_time(c[1h])",
            "min_over_time(c{instance=\"plain\"}[1h])",
        ] {
            let a = engine.instant_query(&full, query, 3_600_000, &q);
            let b = engine.instant_query(&folding, query, 3_600_000, &q);
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!(bits(&a.value), bits(&b.value), "{query} {limit}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{query} {limit}"),
                (a, b) => panic!("{query} limit {limit}: {a:?} vs {b:?}"),
            }
        }
    }
}

/// The helper itself: runs folded, NaN and `-0` kept in place.
#[test]
fn folding_keeps_nan_and_negative_zero() {
    let s: Vec<(i64, f64)> = [1.0, 5.0, 3.0, f64::NAN, 2.0, -0.0, 4.0, 9.0, 7.0]
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64, v))
        .collect();
    let (kept, hidden) = fold(&s, 2, true);
    let got: Vec<(i64, u64)> = kept.iter().map(|x| (x.0, x.1.to_bits())).collect();
    let want: Vec<(i64, u64)> = [
        (0, 5.0),
        (2, 5.0),
        (3, f64::NAN),
        (4, 2.0),
        (5, -0.0),
        (6, 9.0),
        (8, 9.0),
    ]
    .iter()
    .map(|&(t, v): &(i64, f64)| (t, v.to_bits()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(hidden, 2);
}
