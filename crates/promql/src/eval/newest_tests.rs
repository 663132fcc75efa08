//! An instant vector selector at a single time reads only each series'
//! newest sample in the lookback window ([`Series::last_sample`]); these
//! tests check that it does, and that the answers keep Prometheus's
//! semantics: the left-open window `(t - 5m, t]` after `offset` / `@`,
//! a staleness marker as the newest sample meaning "no value",
//! `timestamp()`, `count by (__name__)`.

use std::sync::atomic::{AtomicUsize, Ordering};

use promlite_model::{labels, STALE_NAN};

use super::hooked_storage::{Hooked, ReadHooks};
use crate::engine::{Engine, QueryOptions};
use crate::value::Value;

/// Hooks that count how a storage's series are read.
#[derive(Default)]
struct Counting {
    /// `append_samples` calls (every sample read).
    bulk: AtomicUsize,
    /// `last_sample` calls.
    newest: AtomicUsize,
}

impl ReadHooks for Counting {
    fn on_bulk(&self) {
        self.bulk.fetch_add(1, Ordering::Relaxed);
    }

    fn on_newest(&self) {
        self.newest.fetch_add(1, Ordering::Relaxed);
    }
}

const MIN: i64 = 60_000;

/// Series `m{i="…"}` and `other{job="x"}` around t = 20 minutes.
fn storage() -> Hooked<Counting> {
    let s = Hooked::<Counting>::default();
    let t = 20 * MIN;
    let m = |i: &str| labels!("__name__" => "m", "i" => i, "job" => "x");
    // Newest sample exactly 5 minutes old: outside the left-open window.
    s.inner
        .insert(m("edge"), &[(t - 6 * MIN, 1.0), (t - 5 * MIN, 2.0)]);
    // One millisecond younger: inside.
    s.inner
        .insert(m("inside"), &[(t - 6 * MIN, 1.0), (t - 5 * MIN + 1, 3.0)]);
    // A staleness marker as the newest sample: no value.
    s.inner
        .insert(m("stale"), &[(t - 2 * MIN, 4.0), (t - MIN, STALE_NAN)]);
    // A staleness marker followed by a sample: that sample.
    s.inner.insert(
        m("revived"),
        &[(t - 3 * MIN, 5.0), (t - 2 * MIN, STALE_NAN), (t - MIN, 6.0)],
    );
    // Samples after t do not count.
    s.inner.insert(
        m("later"),
        &[(t - 4 * MIN, 7.0), (t, 8.0), (t + 1, 9.0), (t + MIN, 10.0)],
    );
    s.inner.insert(
        labels!("__name__" => "other", "job" => "x"),
        &[(t - MIN, 11.0)],
    );
    s
}

/// `(series label i or __name__, t, value)` of an instant vector.
fn vector(v: Value) -> Vec<(String, i64, f64)> {
    let Value::Vector(v) = v else {
        panic!("vector expected, got {v:?}")
    };
    v.into_iter()
        .map(|s| {
            let key = s
                .metric
                .get("i")
                .or_else(|| s.metric.get("__name__"))
                .unwrap_or("")
                .to_string();
            (key, s.t, s.f)
        })
        .collect()
}

fn instant(s: &Hooked<Counting>, q: &str, t: i64) -> Vec<(String, i64, f64)> {
    let engine = Engine::default();
    let mut got = vector(
        engine
            .instant_query(s, q, t, &QueryOptions::default())
            .unwrap()
            .value,
    );
    got.sort_by(|a, b| a.0.cmp(&b.0));
    got
}

fn row(k: &str, t: i64, f: f64) -> (String, i64, f64) {
    (k.to_string(), t, f)
}

#[test]
fn instant_selector_reads_only_the_newest_sample() {
    let s = storage();
    let t = 20 * MIN;
    let got = instant(&s, "m", t);
    assert_eq!(
        got,
        vec![
            row("inside", t, 3.0),
            row("later", t, 8.0),
            row("revived", t, 6.0)
        ]
    );
    assert_eq!(
        s.hooks.bulk.load(Ordering::Relaxed),
        0,
        "no series read whole"
    );
    // "edge" has no sample in the querier's range: storage leaves it out.
    assert_eq!(s.hooks.newest.load(Ordering::Relaxed), 4);
}

#[test]
fn offset_and_at_move_the_window() {
    let s = storage();
    let t = 20 * MIN;
    // The window is (t - 6m, t - 1m]: "edge" is in it now; "stale" has its
    // marker at t - 1m; "later" has t - 4m.
    let want = vec![
        row("edge", t, 2.0),
        row("inside", t, 3.0),
        row("later", t, 7.0),
        row("revived", t, 6.0),
    ];
    assert_eq!(instant(&s, "m offset 1m", t), want);
    let at = format!("m @ {}", (t - MIN) / 1000);
    assert_eq!(instant(&s, &at, t), want);
    // A range query whose steps all use one `@` time reads the newest
    // samples too, and gives the same value at every step.
    let engine = Engine::default();
    let before = s.hooks.bulk.load(Ordering::Relaxed);
    let res = engine
        .range_query(&s, &at, t, t + 2 * MIN, MIN, &QueryOptions::default())
        .unwrap();
    assert_eq!(s.hooks.bulk.load(Ordering::Relaxed), before);
    let Value::Matrix(m) = res.value else {
        panic!("matrix expected")
    };
    let got: Vec<(String, Vec<f64>)> = m
        .iter()
        .map(|x| {
            let k = x.metric.get("i").unwrap_or("").to_string();
            (k, x.floats.iter().map(|p| p.f).collect())
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("edge".to_string(), vec![2.0; 3]),
            ("inside".to_string(), vec![3.0; 3]),
            ("later".to_string(), vec![7.0; 3]),
            ("revived".to_string(), vec![6.0; 3]),
        ]
    );
}

#[test]
fn timestamp_and_count_by_name_use_the_newest_sample() {
    let s = storage();
    let t = 20 * MIN;
    let secs = |ms: i64| ms as f64 / 1000.0;
    assert_eq!(
        instant(&s, "timestamp(m)", t),
        vec![
            row("inside", t, secs(t - 5 * MIN + 1)),
            row("later", t, secs(t)),
            row("revived", t, secs(t - MIN)),
        ]
    );
    assert_eq!(
        instant(&s, "count by (__name__) ({job=\"x\"})", t),
        vec![row("m", t, 3.0), row("other", t, 1.0)]
    );
    assert_eq!(s.hooks.bulk.load(Ordering::Relaxed), 0);
}

/// The single-time path against the general one: a range query's steps
/// read every sample of the window, and its step at `t` must give what an
/// instant query at `t` gives, for every `t` around the samples.
#[test]
fn instant_answers_match_the_steps_of_a_range_query() {
    let s = storage();
    let engine = Engine::default();
    let q = QueryOptions::default();
    for expr in [
        "m",
        "timestamp(m)",
        "m offset 90s",
        "count by (__name__) ({job=\"x\"})",
    ] {
        for t in (12 * MIN..=22 * MIN).step_by(20_001) {
            let want: Vec<(String, i64, f64)> = {
                let res = engine.range_query(&s, expr, t - 1, t, 1, &q).unwrap();
                let Value::Matrix(m) = res.value else {
                    panic!("matrix expected")
                };
                let mut rows: Vec<_> = m
                    .iter()
                    .filter_map(|x| {
                        let k = x
                            .metric
                            .get("i")
                            .or_else(|| x.metric.get("__name__"))
                            .unwrap_or("")
                            .to_string();
                        x.floats.iter().find(|p| p.t == t).map(|p| (k, t, p.f))
                    })
                    .collect();
                rows.sort_by(|a, b| a.0.cmp(&b.0));
                rows
            };
            assert_eq!(instant(&s, expr, t), want, "{expr} at {t}");
        }
    }
}

/// `last_over_time` at a single time reads each series' newest sample
/// only; a series whose newest sample is a staleness marker is read whole
/// and gives its newest live sample (the range vector drops markers).
#[test]
fn last_over_time_reads_the_newest_live_sample() {
    let s = storage();
    let t = 20 * MIN;
    let got = instant(&s, "last_over_time(m[5m])", t);
    assert_eq!(
        got,
        vec![
            row("inside", t, 3.0),
            row("later", t, 8.0),
            row("revived", t, 6.0),
            row("stale", t, 4.0),
        ]
    );
    assert_eq!(s.hooks.newest.load(Ordering::Relaxed), 4);
    assert_eq!(s.hooks.bulk.load(Ordering::Relaxed), 1, "only \"stale\"");
    // A window holding nothing but the marker: no value.
    let got = instant(&s, "last_over_time(m{i=\"stale\"}[90s])", t);
    assert_eq!(got, vec![]);
    // Several steps read every sample, with the same answers.
    let engine = Engine::default();
    let r = engine
        .range_query(
            &s,
            "last_over_time(m[5m])",
            t,
            t,
            MIN,
            &QueryOptions::default(),
        )
        .unwrap();
    let Value::Matrix(m) = r.value else {
        panic!("matrix expected")
    };
    let mut vals: Vec<f64> = m
        .iter()
        .flat_map(|x| x.floats.iter().map(|p| p.f))
        .collect();
    vals.sort_by(f64::total_cmp);
    assert_eq!(vals, vec![3.0, 4.0, 6.0, 8.0]);
}

/// `irate` and `idelta` at a single time use each series' newest two
/// live samples, also when a staleness marker is among the newest two
/// (the series is then read whole).
#[test]
fn irate_and_idelta_use_the_newest_two_live_samples() {
    let s = storage();
    let t = 20 * MIN;
    assert_eq!(
        instant(&s, "irate(m[5m])", t),
        vec![row("later", t, 1.0 / 240.0), row("revived", t, 1.0 / 120.0),]
    );
    assert_eq!(
        instant(&s, "idelta(m[5m])", t),
        vec![row("later", t, 1.0), row("revived", t, 1.0)]
    );
    // Seven minutes: "inside" has two samples, "stale" one live one.
    assert_eq!(
        instant(&s, "idelta(m[7m])", t),
        vec![
            row("edge", t, 1.0),
            row("inside", t, 2.0),
            row("later", t, 1.0),
            row("revived", t, 1.0),
        ]
    );
}
