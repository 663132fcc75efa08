//! Range-query evaluation on the data and query list of Prometheus's
//! `BenchmarkRangeQuery` (promql/bench_test.go, 3.x): metrics `a_X`, `b_X`
//! (X = one/ten/hundred: 1, 10, 100 series, label `l`), classic histograms
//! `h_X` (`le` = 0..9 and `+Inf` per `l`), and `sparse` (50 series that each
//! hold 1/50 of the time range); every series sampled every 10 s for one day
//! plus 10,000 steps (18,640 points), values `s + i/#series` as Prometheus
//! does. Each expression runs at 1, 100 and 1000 steps of 10 s ending at the
//! last sample (some at a fixed 1, 100 or 10,000 steps, as in Prometheus),
//! over the in-memory `MemStorage` (Prometheus uses its TSDB test storage;
//! our storage read path is benched in `select` and `chunk_codec`).
//!
//! Throughput is reported in output points (series × steps) per second.
//! Cases the engine rejects are printed and skipped; cases that would scan
//! more than [`SCAN_BUDGET`] raw samples per query (the `[1d]` windows at
//! 1000 steps over 10 or 100 series) are skipped to keep a run to minutes.
//!
//! Target (docs/performance-anchors.md §3, Prometheus PR 16404 on an
//! Apple M1): `a_one` 1000 steps 35 µs, `a_ten` 1000 steps 302 µs,
//! `a_hundred` 100 steps 538 µs and 1000 steps 2.98 ms (≈30 ns per output
//! point). Goal: within 2x of the Prometheus engine on the same box, and
//! ≥ 20M scanned samples/s per core.

use criterion::measurement::Measurement;
use criterion::{BenchmarkId, Criterion, Throughput};
use promlite_model::{Labels, MemStorage};
use promlite_promql::value::Value;
use promlite_promql::{Engine, QueryOptions};

/// Sample interval and query step (10 s).
const INTERVAL_MS: i64 = 10_000;
/// One day plus 10,000 steps of data, as in Prometheus.
const NUM_INTERVALS: i64 = 8_640 + 10_000;
/// Points per series and largest step count when run as a test
/// (`cargo test --benches` runs each routine once, unoptimised).
const QUICK_INTERVALS: i64 = 1_000;
const QUICK_MAX_STEPS: i64 = 100;
/// Skip cases that would visit more raw samples than this per query.
const SCAN_BUDGET: i64 = 10_000_000;

/// True unless run by `cargo bench` (which passes `--bench`): then the
/// data set is smaller so the one-shot test run takes seconds.
fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn num_intervals() -> i64 {
    if quick() {
        QUICK_INTERVALS
    } else {
        NUM_INTERVALS
    }
}

fn labels(pairs: &[(&str, String)]) -> Labels {
    Labels::from_pairs(pairs.iter().map(|(n, v)| (n.to_string(), v.clone())))
}

/// The series set of Prometheus's `setupRangeQueryTestData`.
fn metrics() -> Vec<Labels> {
    let mut out = Vec::new();
    let name = |n: &str| ("__name__", n.to_string());
    for (suffix, n) in [("one", 1), ("ten", 10), ("hundred", 100)] {
        for i in 0..n {
            let l = ("l", i.to_string());
            let with_l = |m: String| {
                if n == 1 {
                    labels(&[name(&m)])
                } else {
                    labels(&[name(&m), l.clone()])
                }
            };
            out.push(with_l(format!("a_{suffix}")));
            out.push(with_l(format!("b_{suffix}")));
            for le in (0..10).map(|j| j.to_string()).chain(["+Inf".to_string()]) {
                let mut pairs = vec![name(&format!("h_{suffix}")), ("le", le)];
                if n > 1 {
                    pairs.push(l.clone());
                }
                out.push(labels(&pairs));
            }
        }
    }
    out
}

fn storage() -> MemStorage {
    let s = MemStorage::new();
    let ms = metrics();
    let count = ms.len() as f64;
    let intervals = num_intervals();
    for (i, l) in ms.into_iter().enumerate() {
        let samples: Vec<(i64, f64)> = (0..intervals)
            .map(|k| (k * INTERVAL_MS, k as f64 + i as f64 / count))
            .collect();
        s.insert(l, &samples);
    }
    let per_sparse = intervals / 50;
    for j in 0..50 {
        let samples: Vec<(i64, f64)> = (j * per_sparse..(j + 1) * per_sparse)
            .map(|k| (k * INTERVAL_MS, k as f64 / count))
            .collect();
        s.insert(
            labels(&[("__name__", "sparse".into()), ("l", j.to_string())]),
            &samples,
        );
    }
    s
}

/// Prometheus's `rangeQueryCases`: expression (X = one/ten/hundred) and a
/// fixed step count (0 = run at 1, 100 and 1000 steps).
const CASES: &[(&str, i64)] = &[
    ("a_X", 0),
    ("rate(a_X[1m])", 0),
    ("rate(a_X[1m])", 10_000),
    ("rate(sparse[1m])", 10_000),
    ("holt_winters(a_X[1d], 0.3, 0.3)", 0),
    ("changes(a_X[1d])", 0),
    ("rate(a_X[1d])", 0),
    ("absent_over_time(a_X[1d])", 0),
    ("-a_X", 0),
    ("a_X - b_X", 0),
    ("a_X - b_X", 10_000),
    ("a_X and b_X{l=~'.*[0-4]$'}", 0),
    ("a_X or b_X{l=~'.*[0-4]$'}", 0),
    ("a_X unless b_X{l=~'.*[0-4]$'}", 0),
    ("a_X and b_X{l='notfound'}", 0),
    ("abs(a_X)", 0),
    ("label_replace(a_X, 'l2', '$1', 'l', '(.*)')", 0),
    ("label_join(a_X, 'l2', '-', 'l', 'l')", 0),
    ("sum(a_X)", 0),
    ("sum without (l)(h_X)", 0),
    ("sum without (le)(h_X)", 0),
    ("sum by (l)(h_X)", 0),
    ("sum by (le)(h_X)", 0),
    ("count_values('value', h_X)", 100),
    ("topk(1, a_X)", 0),
    ("topk(5, a_X)", 0),
    ("rate(a_X[1m]) + rate(b_X[1m])", 0),
    ("sum without (l)(rate(a_X[1m]))", 0),
    (
        "sum without (l)(rate(a_X[1m])) / sum without (l)(rate(b_X[1m]))",
        0,
    ),
    ("histogram_quantile(0.9, rate(h_X[5m]))", 0),
    ("a_X + on(l) group_right a_one", 0),
    ("count({__name__!=\"\"})", 1),
    ("count({__name__!=\"\",l=\"\"})", 1),
    ("timestamp(a_X)", 0),
];

/// Expands `X` and the default step counts; returns (expr, steps, series per `a_X`).
fn expand() -> Vec<(String, i64, i64)> {
    let mut out = Vec::new();
    for &(expr, steps) in CASES {
        let sizes: Vec<(&str, i64)> = if expr.contains('X') {
            vec![("one", 1), ("ten", 10), ("hundred", 100)]
        } else {
            vec![("", 100)]
        };
        for (name, n) in sizes {
            let e = expr.replace('X', name);
            if steps == 0 {
                for s in [1, 100, 1000] {
                    out.push((e.clone(), s, n));
                }
            } else {
                out.push((e.clone(), steps, n));
            }
        }
    }
    out
}

/// Raw samples one query visits, roughly: series × steps × points per window.
fn scanned(expr: &str, steps: i64, series: i64) -> i64 {
    let window = if expr.contains("[1d]") { 8_640 } else { 30 };
    series * (steps + 1) * window
}

fn points(v: &Value) -> u64 {
    match v {
        Value::Matrix(m) => m.iter().map(|s| s.floats.len() as u64).sum(),
        Value::Vector(v) => v.len() as u64,
        Value::Scalar { .. } | Value::String { .. } => 1,
    }
}

fn bench_eval<M: Measurement>(c: &mut Criterion<M>) {
    let s = storage();
    let engine = Engine::default();
    let opts = QueryOptions::default();
    let end = num_intervals() * INTERVAL_MS;
    let mut g = c.benchmark_group("promql_range_query");
    for (q, steps, series) in expand() {
        if quick() && steps > QUICK_MAX_STEPS {
            continue;
        }
        if scanned(&q, steps, series) > SCAN_BUDGET {
            eprintln!("promql_eval: skipping {q} at {steps} steps (over the scan budget)");
            continue;
        }
        let start = end - steps * INTERVAL_MS;
        let n = match engine.range_query(&s, &q, start, end, INTERVAL_MS, &opts) {
            Ok(r) => points(&r.value),
            Err(e) => {
                eprintln!("promql_eval: skipping {q}: {e}");
                continue;
            }
        };
        g.throughput(Throughput::Elements(n.max(1)));
        g.bench_with_input(
            BenchmarkId::new(q.as_str(), format!("{steps}_steps")),
            &start,
            |b, &start| {
                b.iter(|| {
                    engine
                        .range_query(&s, &q, start, end, INTERVAL_MS, &opts)
                        .map(|r| r.warnings.len())
                })
            },
        );
    }
    g.finish();
}

#[path = "support/cpu_time.rs"]
mod cpu_time;

fn main() {
    cpu_time::run(bench_eval, bench_eval);
}
