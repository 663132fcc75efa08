//! Append throughput of the storage engine (`promlite_tsdb::Db`), in
//! samples/s: batches of 10,000 samples over 1,000 series (series refs
//! cached, as a scrape loop does), committed through the WAL with
//! `FsyncPolicy::Interval(1 s)` and the background group-commit thread, from
//! one thread and from two threads appending to disjoint series at once.
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

fn main() {
    cpu_time::run(bench_append, bench_append);
}
