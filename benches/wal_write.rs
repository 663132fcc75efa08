//! WAL write throughput (`promlite_tsdb::wal`), in samples/s: one commit's
//! worth of samples (10,000 samples over 1,000 series, as a scrape-loop
//! commit carries) encoded as a samples record (`record::encode_samples`,
//! the column layout of WAL format 2) and written with `WalWriter::log`
//! (which Snappy-compresses it), under both fsync policies:
//!
//! * `interval_1s` — `FsyncPolicy::Interval(1 s)`, the default: the write
//!   reaches the OS on every commit, and a group commit fsyncs once a second
//!   (done inline here when a second of wall time has passed, as the
//!   background thread would).
//! * `always` — `FsyncPolicy::Always`: every commit waits for an fsync
//!   covering it (`Wal::sync_to`).
//!
//! WAL bytes per sample are printed once. Old segments are deleted as the
//! log rolls (every 128 MiB), so a run does not fill the disk.
//!
//! Target (docs/performance-anchors.md §2, §5): the WAL must not be what
//! limits ingestion — well above 1M samples/s per core with the interval
//! policy (Prometheus sustains 380K samples/s on 8 vCPU including
//! everything; VictoriaMetrics budgets 1 core per 300K samples/s). Note
//! that Prometheus Snappy-compresses its WAL by default (since 2.20);
//! promlite's records are not compressed.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use promlite_tsdb::record::{encode_samples, RefSample};
use promlite_tsdb::wal::{list_segments, segment_path, Wal};

const SERIES: u64 = 1_000;
const BATCH: usize = 10_000;
const SEGMENT_SIZE: u64 = 128 << 20;

/// Samples of one commit: `BATCH` samples round-robin over the series,
/// successive scrapes 15 s apart, counter-like values.
fn batch(round: i64) -> Vec<RefSample> {
    (0..BATCH)
        .map(|k| {
            let scrape = round * (BATCH as i64 / SERIES as i64) + (k as i64 / SERIES as i64);
            RefSample {
                series_ref: k as u64 % SERIES + 1,
                t: 1_700_000_000_000 + scrape * 15_000,
                v: (scrape * 7 + (k as i64 % 13)) as f64,
            }
        })
        .collect()
}

/// Deletes segments older than the one being written.
fn drop_old_segments(dir: &Path, current: u32) {
    if let Ok(segs) = list_segments(dir) {
        for s in segs.into_iter().filter(|&s| s < current) {
            let _ = std::fs::remove_file(segment_path(dir, s));
        }
    }
}

struct Writer {
    wal: Wal,
    buf: Vec<u8>,
    round: i64,
    segment: u32,
    last_sync: Instant,
}

impl Writer {
    fn new(dir: &Path) -> Writer {
        let wal = Wal::open(dir, SEGMENT_SIZE).expect("open wal");
        let segment = wal.lock().segment();
        Writer {
            wal,
            buf: Vec::with_capacity(16 * BATCH),
            round: 0,
            segment,
            last_sync: Instant::now(),
        }
    }

    /// Encodes and logs one commit; fsyncs per `always` or once a second.
    fn commit(&mut self, samples: &[RefSample], always: bool) {
        self.buf.clear();
        encode_samples(samples, &mut self.buf);
        let (pos, segment) = {
            let mut w = self.wal.lock();
            let pos = w.log(&[&self.buf]).expect("log");
            (pos, w.segment())
        };
        if always {
            self.wal.sync_to(pos).expect("fsync");
        } else if self.last_sync.elapsed() >= Duration::from_secs(1) {
            self.wal.sync_if_dirty().expect("fsync");
            self.last_sync = Instant::now();
        }
        if segment != self.segment {
            drop_old_segments(self.wal.dir(), segment);
            self.segment = segment;
        }
        self.round += 1;
    }
}

fn bench_wal<M: Measurement>(c: &mut Criterion<M>) {
    // Pre-built batches (rotating timestamps) keep sample generation out of the timing.
    let batches: Vec<Vec<RefSample>> = (0..8).map(batch).collect();
    let mut one = Vec::new();
    encode_samples(&batches[1], &mut one);
    eprintln!(
        "wal_write: {:.2} WAL bytes/sample (Samples record, {} samples, before framing)",
        one.len() as f64 / BATCH as f64,
        BATCH
    );

    let mut g = c.benchmark_group("wal_write");
    g.throughput(Throughput::Elements(BATCH as u64));
    for (name, always) in [("interval_1s", false), ("always", true)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = Writer::new(dir.path());
        g.bench_function(format!("{name}_10k_samples"), |b| {
            b.iter(|| {
                let k = (w.round % batches.len() as i64) as usize;
                w.commit(&batches[k], always)
            })
        });
        w.wal.sync_if_dirty().expect("final fsync");
    }
    g.finish();
}

#[path = "support/cpu_time.rs"]
mod cpu_time;

fn main() {
    cpu_time::run(bench_wal, bench_wal);
}
