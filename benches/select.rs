//! Series selection over 10,000 series (10 metric names × 500 instances ×
//! 2 jobs, 8 samples each): `select` through a persistent block
//! (`Block::querier`) and through the head (`Db::querier`), plus postings
//! intersection alone on the block index (`postings_for_matchers`) and on
//! the head's in-memory index (`Head::select_refs`). Each select returns
//! 1,000 series, 1 for the narrow equality case and 444 for the regex
//! case; throughput is in returned series per second.
//!
//! Target (docs/performance-anchors.md): the query path should scan ≥ 20M
//! samples/s per core and stay within 2x of Prometheus's engine; series
//! lookup must be a small fraction of a query's time.

use criterion::measurement::Measurement;
use criterion::{black_box, Criterion, Throughput};
use promlite_model::{Labels, MatchOp, Matcher, Querier, SelectHints};
use promlite_tsdb::block::{postings_for_matchers, write_block, Block};
use promlite_tsdb::{Db, DbOptions};

fn series() -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut out = Vec::new();
    for m in 0..10 {
        for i in 0..500 {
            for job in ["api", "batch"] {
                let l = Labels::from_pairs([
                    ("__name__".to_string(), format!("metric_{m}")),
                    ("instance".to_string(), format!("host-{i}:9100")),
                    ("job".to_string(), job.to_string()),
                ]);
                out.push((l, (0..8).map(|k| (k * 15_000, (k + i) as f64)).collect()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn cases() -> Vec<(&'static str, Vec<Matcher>)> {
    let re = |n: &str, v: &str| Matcher::new(MatchOp::Regex, n, v).expect("regex");
    vec![
        ("name_eq", vec![Matcher::equal("__name__", "metric_3")]),
        (
            "name_eq_job_eq_instance_eq",
            vec![
                Matcher::equal("__name__", "metric_3"),
                Matcher::equal("job", "api"),
                Matcher::equal("instance", "host-42:9100"),
            ],
        ),
        (
            "name_eq_instance_regex",
            vec![
                Matcher::equal("__name__", "metric_3"),
                re("instance", "host-(1|2).*"),
            ],
        ),
    ]
}

fn run(q: &dyn Querier, ms: &[Matcher]) -> usize {
    q.select(&SelectHints::default(), ms)
        .map(|s| s.len())
        .unwrap_or(0)
}

fn bench_select<M: Measurement>(c: &mut Criterion<M>) {
    let data = series();
    let bdir = tempfile::tempdir().expect("tempdir");
    let meta = write_block(bdir.path(), 0, 200_000, &mut data.clone().into_iter())
        .expect("write")
        .expect("non-empty");
    let block = Block::open(&bdir.path().join(&meta.id)).expect("open block");

    let hdir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(
        hdir.path(),
        DbOptions {
            background: false,
            retention_ms: None,
            ..Default::default()
        },
    )
    .expect("open db");
    let mut app = db.appender();
    for (l, s) in &data {
        for &(t, v) in s {
            app.append(None, l, t, v).expect("append");
        }
    }
    app.commit().expect("commit");

    let mut g = c.benchmark_group("select_10k_series");
    for (name, ms) in cases() {
        let n = run(&block.querier(0, 200_000), &ms);
        g.throughput(Throughput::Elements(n.max(1) as u64));
        g.bench_function(format!("block/{name}"), |b| {
            b.iter(|| {
                let q = block.querier(0, 200_000);
                run(&q, black_box(&ms))
            })
        });
        g.bench_function(format!("head/{name}"), |b| {
            b.iter(|| match db.querier(0, 200_000) {
                Ok(q) => run(q.as_ref(), black_box(&ms)),
                Err(_) => 0,
            })
        });
        g.bench_function(format!("block_postings/{name}"), |b| {
            b.iter(|| {
                postings_for_matchers(block.index(), black_box(&ms))
                    .map(|p| p.len())
                    .unwrap_or(0)
            })
        });
        g.bench_function(format!("head_postings/{name}"), |b| {
            b.iter(|| db.head().select_refs(black_box(&ms)).len())
        });
    }
    g.finish();
    db.close().expect("close");
}

#[path = "support/cpu_time.rs"]
mod cpu_time;

fn main() {
    cpu_time::run(bench_select, bench_select);
}
