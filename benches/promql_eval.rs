//! Range-query evaluation on the shapes of Prometheus's `BenchmarkRangeQuery`
//! (promql/bench_test.go), scaled down so one run is quick: metrics `a_one`,
//! `a_ten`, `a_hundred` (1, 10, 100 series) and classic histograms `h_one`,
//! `h_ten` (11 buckets + `+Inf` per series), sampled every 10 s for 3 h
//! (Prometheus uses 1 day + 10k steps and also `*_thousand`); queries at
//! 1, 100 and 1000 steps of 10 s ending at the last sample, over the
//! in-memory `MemStorage`.
//!
//! Target (docs/performance-anchors.md): within 2x of the Prometheus engine
//! on the same box — Prometheus (Apple M1) takes 35 µs for `a_one` at 1000
//! steps, 302 µs for `a_ten`, 2.98 ms for `a_hundred` (≈30 ns per output
//! point) — and ≥ 20M scanned samples/s per core.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use promlite_model::{Labels, MemStorage};
use promlite_promql::{Engine, QueryOptions};

const INTERVAL_MS: i64 = 10_000;
const POINTS: i64 = 3 * 360; // 3 h at 10 s
const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

fn storage() -> MemStorage {
    let s = MemStorage::new();
    for (suffix, n) in [("one", 1), ("ten", 10), ("hundred", 100)] {
        for i in 0..n {
            let l = Labels::from_pairs([
                ("__name__".to_string(), format!("a_{suffix}")),
                ("l".to_string(), i.to_string()),
            ]);
            let samples: Vec<(i64, f64)> = (0..POINTS)
                .map(|k| (k * INTERVAL_MS, (k * (i + 1)) as f64))
                .collect();
            s.insert(l, &samples);
        }
    }
    for (suffix, n) in [("one", 1), ("ten", 10)] {
        for i in 0..n {
            for (b, le) in BUCKETS.iter().enumerate() {
                let l = Labels::from_pairs([
                    ("__name__".to_string(), format!("h_{suffix}")),
                    ("l".to_string(), i.to_string()),
                    ("le".to_string(), le.to_string()),
                ]);
                let samples: Vec<(i64, f64)> = (0..POINTS)
                    .map(|k| (k * INTERVAL_MS, (k * (b as i64 + 1)) as f64))
                    .collect();
                s.insert(l, &samples);
            }
        }
    }
    s
}

fn bench_eval(c: &mut Criterion) {
    let s = storage();
    let engine = Engine::default();
    let opts = QueryOptions::default();
    let end = (POINTS - 1) * INTERVAL_MS;
    let queries = [
        "a_one",
        "rate(a_one[1m])",
        "rate(a_ten[1m])",
        "rate(a_hundred[1m])",
        "sum(a_hundred)",
        "sum by (l) (rate(a_ten[5m]))",
        "a_ten * a_ten",
        "histogram_quantile(0.9, rate(h_one[5m]))",
        "histogram_quantile(0.9, rate(h_ten[5m]))",
    ];
    let mut g = c.benchmark_group("promql_range_query");
    for q in queries {
        for steps in [1i64, 100, 1000] {
            let start = end - (steps - 1) * INTERVAL_MS;
            if let Err(e) = engine.range_query(&s, q, start, end, INTERVAL_MS, &opts) {
                eprintln!("promql_eval: skipping {q}: {e}");
                continue;
            }
            g.bench_with_input(
                BenchmarkId::new(q, format!("{steps}_steps")),
                &start,
                |b, &start| {
                    b.iter(|| {
                        engine
                            .range_query(&s, q, start, end, INTERVAL_MS, &opts)
                            .map(|r| r.warnings.len())
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench_eval);
criterion_main!(benches);
