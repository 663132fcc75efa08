//! `rate` and `increase` at a single step read series thin
//! ([`Series::append_samples_thin`]: storage may leave out the middle of
//! runs that never fall). A storage that thins every such run must give
//! the same answers, bit for bit, as one that does not, with resets inside
//! and at the edges of runs, NaN, staleness markers, negative values,
//! offsets, `@`, range queries and aggregations around them.
//!
//! The same wrapper counts `Series::labels` calls: an aggregation that
//! drops every label must not ask for them (block storage builds them
//! lazily).

use std::sync::atomic::{AtomicUsize, Ordering};

use promlite_model::{labels, MemStorage, Series, StorageError, STALE_NAN};

use super::hooked_storage::{Hooked, ReadHooks};
use crate::engine::{Engine, QueryOptions};
use crate::value::Value;

/// Hooks whose thin reads leave out the middle of every run of at least
/// `min_run` samples that never falls (and holds no NaN), as block storage
/// does for chunks flagged monotone; they also count `Series::labels`
/// calls.
#[derive(Default)]
struct Thinning {
    min_run: usize,
    /// Samples left out so far.
    hidden: AtomicUsize,
    /// `Series::labels` calls so far.
    labels: AtomicUsize,
}

impl ReadHooks for Thinning {
    fn on_labels(&self) {
        self.labels.fetch_add(1, Ordering::Relaxed);
    }

    fn thin(&self, inner: &dyn Series, out: &mut Vec<(i64, f64)>) -> Result<usize, StorageError> {
        let mut all = Vec::new();
        inner.append_samples(&mut all)?;
        let (kept, hidden) = thin(&all, self.min_run);
        out.extend(kept);
        self.hidden.fetch_add(hidden, Ordering::Relaxed);
        Ok(hidden)
    }
}

/// `all` with the middle of every monotone run of `min_run`+ samples left
/// out; returns the thinned samples and how many were left out.
fn thin(all: &[(i64, f64)], min_run: usize) -> (Vec<(i64, f64)>, usize) {
    let mut out = Vec::new();
    let mut i = 0;
    while i < all.len() {
        // The longest run from `i` with no NaN and no fall.
        let mut j = i;
        while j < all.len() && !all[j].1.is_nan() && (j == i || all[j].1 >= all[j - 1].1) {
            j += 1;
        }
        if j - i >= min_run.max(3) {
            out.push(all[i]);
            out.push(all[j - 1]);
            i = j;
        } else {
            out.push(all[i]);
            i += 1;
        }
    }
    let hidden = all.len() - out.len();
    (out, hidden)
}

/// Counters every 15 s for 2 hours with resets inside and at the edges of
/// monotone runs, NaN, staleness markers, negative values and gauges.
pub(super) fn data(storage: &MemStorage) {
    let n = 480i64;
    let ts = |i: i64| i * 15_000 + (i * 7919) % 13;
    let put = |name: &str, inst: &str, f: &dyn Fn(i64) -> f64| {
        let samples: Vec<(i64, f64)> = (0..n).map(|i| (ts(i), f(i))).collect();
        storage.insert(labels!("__name__" => name, "instance" => inst), &samples);
    };
    put("c", "plain", &|i| (i * 1500 + (i * i) % 17) as f64);
    put("c", "float", &|i| {
        100.0 + i as f64 * std::f64::consts::SQRT_2
    });
    put("c", "reset_edge", &|i| ((i % 120) * 10 + 5) as f64);
    put("c", "reset_inside", &|i| ((i % 77) * 3) as f64);
    put("c", "reset_to_zero", &|i| {
        if i % 100 == 99 {
            0.0
        } else {
            i as f64
        }
    });
    put("c", "nan", &|i| {
        if i % 50 == 25 {
            f64::NAN
        } else {
            i as f64
        }
    });
    put("c", "stale", &|i| {
        if i % 90 == 45 {
            STALE_NAN
        } else {
            i as f64 * 2.0
        }
    });
    put("c", "negative", &|i| i as f64 - 300.0);
    put("c", "neg_zero", &|i| if i == 0 { -0.0 } else { i as f64 });
    put("c", "flat", &|_| 7.0);
    put("c", "gauge", &|i| ((i as f64) * 0.3).sin() * 50.0);
    put("c", "steps", &|i| {
        ((i / 40) * 40) as f64 + if i % 40 == 39 { -1.0 } else { 0.0 }
    });
}

pub(super) fn bits(v: &Value) -> Vec<(String, Vec<(i64, u64)>)> {
    match v {
        Value::Vector(v) => v
            .iter()
            .map(|s| (s.metric.to_string(), vec![(s.t, s.f.to_bits())]))
            .collect(),
        Value::Matrix(m) => m
            .iter()
            .map(|s| {
                let pts = s.floats.iter().map(|p| (p.t, p.f.to_bits())).collect();
                (s.metric.to_string(), pts)
            })
            .collect(),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn thin_reads_give_the_same_answers_bit_for_bit() {
    let full = MemStorage::new();
    data(&full);
    let thinning = Hooked {
        inner: MemStorage::new(),
        hooks: Thinning {
            min_run: 3,
            ..Thinning::default()
        },
    };
    data(&thinning.inner);
    let engine = Engine::default();
    let q = QueryOptions::default();
    let queries = [
        "rate(c[1h])",
        "increase(c[1h])",
        "increase(c[5m])",
        "rate(c[30m] offset 10m)",
        "increase(c[1h] @ 3000)",
        "sum by (instance) (increase(c[1h]))",
        "sum(rate(c[90m]))",
        "avg(increase(c[2h]))",
        "increase(c[2h])",
        "delta(c[1h])",
        "resets(c[1h])",
        "changes(c[1h])",
        "rate(c{instance=\"stale\"}[3h])",
    ];
    let mut checked = 0;
    for query in queries {
        for t in [
            1_000, 900_000, 1_800_007, 3_600_000, 3_611_111, 5_400_000, 7_185_000, 7_200_000,
            9_000_000,
        ] {
            let a = engine.instant_query(&full, query, t, &q).unwrap();
            let b = engine.instant_query(&thinning, query, t, &q).unwrap();
            assert_eq!(bits(&a.value), bits(&b.value), "{query} at {t}");
            checked += bits(&a.value).len();
        }
        let a = engine
            .range_query(&full, query, 600_000, 7_200_000, 60_000, &q)
            .unwrap();
        let b = engine
            .range_query(&thinning, query, 600_000, 7_200_000, 60_000, &q)
            .unwrap();
        assert_eq!(bits(&a.value), bits(&b.value), "{query} as a range query");
    }
    assert!(checked > 500, "{checked}");
    // The thin path was taken, and left samples out.
    assert!(thinning.hooks.hidden.load(Ordering::Relaxed) > 10_000);
}

/// The helper itself: it keeps first, last and every fall.
#[test]
fn thinning_keeps_edges_and_falls() {
    let s: Vec<(i64, f64)> = [1.0, 2.0, 3.0, 4.0, 2.0, 3.0, f64::NAN, 5.0, 6.0, 7.0, 8.0]
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as i64, v))
        .collect();
    let (kept, hidden) = thin(&s, 3);
    let ts: Vec<i64> = kept.iter().map(|x| x.0).collect();
    assert_eq!(ts, vec![0, 3, 4, 5, 6, 7, 10]);
    assert_eq!(hidden, 4);
}

/// `avg(x)`, `sum(x)` never ask a selected series for its labels; a
/// grouping, a plain selector, or a function that drops the metric name
/// (whose result labels must be checked for `__type__`/`__unit__`
/// collisions) does. Answers as without the wrapper.
#[test]
fn aggregations_that_drop_every_label_do_not_ask_for_labels() {
    let full = MemStorage::new();
    data(&full);
    let counting = Hooked {
        inner: MemStorage::new(),
        hooks: Thinning {
            min_run: usize::MAX,
            ..Thinning::default()
        },
    };
    data(&counting.inner);
    let engine = Engine::default();
    let q = QueryOptions::default();
    for (query, asks) in [
        ("avg(c)", false),
        ("sum(c)", false),
        ("max by () (c)", false),
        ("count(rate(c[5m]))", true),
        ("sum(increase(c[1h]))", true),
        ("sum by (instance) (c)", true),
        ("c", true),
        ("rate(c[5m])", true),
    ] {
        counting.hooks.labels.store(0, Ordering::Relaxed);
        for t in [900_000, 3_600_000] {
            let a = engine.instant_query(&full, query, t, &q).unwrap();
            let b = engine.instant_query(&counting, query, t, &q).unwrap();
            assert_eq!(bits(&a.value), bits(&b.value), "{query} at {t}");
        }
        let a = engine
            .range_query(&full, query, 600_000, 7_200_000, 60_000, &q)
            .unwrap();
        let b = engine
            .range_query(&counting, query, 600_000, 7_200_000, 60_000, &q)
            .unwrap();
        assert_eq!(bits(&a.value), bits(&b.value), "{query} as a range query");
        let calls = counting.hooks.labels.load(Ordering::Relaxed);
        assert_eq!(calls > 0, asks, "{query}: {calls} labels calls");
    }
}
