//! Append throughput of the storage engine (`promlite_tsdb::Db`), in
//! samples/s: batches of 10,000 samples over 1,000 series (series refs
//! cached, as a scrape loop does), committed through the WAL with
//! `FsyncPolicy::Interval(1 s)` and the background group-commit thread, from
//! one thread and from two threads appending to disjoint series at once.
//!
//!
//! `scrape_order_200k_series` is the scrape path's shape: 200 targets of
//! 1,000 series each, one target's batch (1,000 samples, one per series, in
//! the same order every time) per iteration, targets in turn — so, as in a
//! real scrape, every series was last touched 199 batches ago and its lines
//! are out of the cache. `prefetch` passes each sample's series 8 ahead to
//! `Appender::prefetch` (as the scrape loop does), `no_prefetch` does not.
//!
//! Target (docs/performance-anchors.md): beat Prometheus's CPU per sample —
//! Prometheus sustains 380K samples/s on 8 vCPU and VictoriaMetrics budgets
//! 1 core per 300K samples/s, so one core should append well over 300K
//! samples/s here (the engine alone, without scraping or parsing).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use promlite_model::{Labels, SeriesRef};
use promlite_tsdb::{Db, DbOptions, FsyncPolicy};

const SERIES: usize = 1_000;
const BATCH: usize = 10_000;

struct Writer {
    labels: Vec<Labels>,
    refs: Mutex<Vec<Option<SeriesRef>>>,
}

impl Writer {
    fn new(thread: usize) -> Writer {
        let labels = (0..SERIES)
            .map(|i| {
                Labels::from_pairs([
                    ("__name__".to_string(), format!("metric_{}", i % 50)),
                    (
                        "instance".to_string(),
                        format!("10.0.{thread}.{}:9100", i / 50),
                    ),
                    ("job".to_string(), "bench".to_string()),
                ])
            })
            .collect();
        Writer {
            labels,
            refs: Mutex::new(vec![None; SERIES]),
        }
    }

    /// Appends `n` samples round-robin over the series at successive timestamps, then commits.
    fn batch(&self, db: &Db, clock: &AtomicI64, n: usize) {
        let mut refs = self.refs.lock().unwrap_or_else(|e| e.into_inner());
        let mut app = db.appender();
        let mut t = clock.fetch_add(15_000, Ordering::Relaxed);
        for k in 0..n {
            let i = k % SERIES;
            if i == 0 && k > 0 {
                t = clock.fetch_add(15_000, Ordering::Relaxed);
            }
            match app.append(refs[i], &self.labels[i], t, k as f64) {
                Ok(r) => refs[i] = Some(r),
                Err(e) => panic!("append: {e}"),
            }
        }
        app.commit().expect("commit");
    }
}

/// Appends one sample to every series of `target`, in order, then commits.
fn scrape_batch(
    db: &Db,
    labels: &[Labels],
    refs: &mut [Option<SeriesRef>],
    t: i64,
    prefetch: bool,
) {
    let mut app = db.appender();
    for i in 0..labels.len() {
        if prefetch {
            if let Some(Some(next)) = refs.get(i + 8) {
                app.prefetch(*next);
            }
        }
        // Gauges with a fractional part: a few bytes per sample.
        let v = (t / 1000 % 1000) as f64 * 0.25 + i as f64;
        match app.append(refs[i], &labels[i], t, v) {
            Ok(r) => refs[i] = Some(r),
            Err(e) => panic!("append: {e}"),
        }
    }
    app.commit().expect("commit");
}

fn bench_scrape_order<M: Measurement>(c: &mut Criterion<M>) {
    const TARGETS: usize = 200;
    const PER_TARGET: usize = 1_000;
    let mut g = c.benchmark_group("tsdb_append/scrape_order_200k_series");
    g.throughput(Throughput::Elements(PER_TARGET as u64));
    for prefetch in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = open(dir.path());
        let targets: Vec<Vec<Labels>> = (0..TARGETS)
            .map(|k| {
                (0..PER_TARGET)
                    .map(|i| {
                        Labels::from_pairs([
                            ("__name__".to_string(), format!("metric_{}", i % 100)),
                            ("instance".to_string(), format!("host-{k}:9100")),
                            ("job".to_string(), "node".to_string()),
                            ("le".to_string(), (i / 100).to_string()),
                        ])
                    })
                    .collect()
            })
            .collect();
        let mut refs = vec![vec![None; PER_TARGET]; TARGETS];
        let mut t = 1_700_000_000_000i64;
        // Create every series and open its chunk.
        for (l, r) in targets.iter().zip(refs.iter_mut()) {
            scrape_batch(&db, l, r, t, false);
        }
        let mut k = 0;
        let name = if prefetch { "prefetch" } else { "no_prefetch" };
        g.bench_function(name, |b| {
            b.iter(|| {
                if k == 0 {
                    t += 5_000;
                }
                scrape_batch(&db, &targets[k], &mut refs[k], t, prefetch);
                k = (k + 1) % TARGETS;
            })
        });
        db.close().expect("close");
    }
    g.finish();
}

fn open(dir: &std::path::Path) -> Db {
    let opts = DbOptions {
        fsync: FsyncPolicy::Interval(Duration::from_secs(1)),
        retention_ms: None,
        ..Default::default()
    };
    Db::open(dir, opts).expect("open db")
}

fn bench_append<M: Measurement>(c: &mut Criterion<M>) {
    let mut g = c.benchmark_group("tsdb_append");
    g.throughput(Throughput::Elements(BATCH as u64));

    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let clock = AtomicI64::new(1_700_000_000_000);
    let w = Writer::new(0);
    g.bench_function("1_thread_10k_samples", |b| {
        b.iter(|| w.batch(&db, &clock, BATCH))
    });
    db.close().expect("close");

    let dir = tempfile::tempdir().expect("tempdir");
    let db = open(dir.path());
    let clocks = [
        AtomicI64::new(1_700_000_000_000),
        AtomicI64::new(1_700_000_000_000),
    ];
    let ws = [Writer::new(0), Writer::new(1)];
    g.bench_function("2_threads_10k_samples", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for (w, clock) in ws.iter().zip(&clocks) {
                    let db = &db;
                    s.spawn(move || w.batch(db, clock, BATCH / 2));
                }
            })
        })
    });
    db.close().expect("close");
    g.finish();
}

#[path = "support/cpu_time.rs"]
mod cpu_time;

fn benches<M: Measurement>(c: &mut Criterion<M>) {
    bench_append(c);
    bench_scrape_order(c);
}

fn main() {
    cpu_time::run(benches, benches);
}
