//! Persistent block write and read (`promlite_tsdb::block`), in samples/s,
//! on the seeded realistic data set of `promlite_tsdb::codec::testdata`
//! (model-server counters, gauges and histogram buckets, 15 s scrapes with
//! up to 8 ms jitter):
//!
//! * `write_2h` — `write_block` of a 2 h block (10 targets × 480 scrapes):
//!   block codec, index, meta, fsyncs and the final rename.
//! * `read_2h` — `Block::open` plus decoding every series
//!   (`Block::read_series`).
//!
//! Bytes/sample on disk (whole block, and the chunk files alone) are
//! printed once for the 2 h block and for a 1-day block of the default data
//! set (10 targets × 5,760 scrapes), which is what compaction produces.
//!
//! Targets (docs/performance-anchors.md, "Suggested goals"): ≤ 0.8 B/sample
//! on disk (Prometheus 1.2–2.1 B, chunk data alone about 1.3 B;
//! VictoriaMetrics 0.3–0.5 B), lossless; reads must keep up with ≥ 20M
//! scanned samples/s per core; writing a block must cost far less than
//! ingesting its samples did (≥ 1M samples/s).

use std::path::Path;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput};
use promlite_model::Labels;
use promlite_tsdb::block::{write_block, Block};
use promlite_tsdb::codec::testdata::{generate, num_samples, DatasetSpec};

type Data = Vec<(Labels, Vec<(i64, f64)>)>;

/// True unless run by `cargo bench` (which passes `--bench`): then the
/// data set is small so the one-shot test run takes seconds.
fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn data(targets: usize, scrapes: usize) -> Data {
    generate(&DatasetSpec {
        targets,
        scrapes,
        ..Default::default()
    })
}

fn range(d: &Data) -> (i64, i64) {
    let mint = d.iter().filter_map(|s| s.1.first()).map(|x| x.0).min();
    let maxt = d.iter().filter_map(|s| s.1.last()).map(|x| x.0).max();
    (mint.unwrap_or(0), maxt.unwrap_or(0) + 1)
}

fn dir_bytes(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Writes `d` as a block under `parent`; returns the block directory.
fn write(parent: &Path, d: &Data) -> std::path::PathBuf {
    let (mint, maxt) = range(d);
    let meta = write_block(parent, mint, maxt, &mut d.iter().cloned())
        .expect("write block")
        .expect("non-empty");
    parent.join(meta.id)
}

fn report(what: &str, d: &Data) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = write(tmp.path(), d);
    let n = num_samples(d) as f64;
    eprintln!(
        "block_io: {what}: {} series, {} samples, {:.3} bytes/sample on disk, {:.3} in chunk files",
        d.len(),
        n,
        dir_bytes(&dir) as f64 / n,
        dir_bytes(&dir.join("chunks")) as f64 / n
    );
}

fn bench_block<M: Measurement>(c: &mut Criterion<M>) {
    let (targets, scrapes) = if quick() { (1, 120) } else { (10, 480) };
    let d = data(targets, scrapes);
    let samples = num_samples(&d) as u64;
    report("2 h block", &d);
    if !quick() {
        report("1 day block (default data set)", &data(10, 5_760));
    }

    let mut g = c.benchmark_group("block_io");
    g.throughput(Throughput::Elements(samples));
    let tmp = tempfile::tempdir().expect("tempdir");
    g.bench_function("write_2h", |b| {
        b.iter(|| {
            let dir = write(tmp.path(), &d);
            // Keep the disk clean; removal is small next to the write.
            let _ = std::fs::remove_dir_all(dir);
        })
    });

    let dir = write(tmp.path(), &d);
    g.bench_function("read_2h", |b| {
        b.iter(|| {
            let block = Block::open(&dir).expect("open block");
            let mut n = 0;
            for id in 0..block.index().num_series() {
                n += block.read_series(id).map(|s| s.1.len()).unwrap_or(0);
            }
            assert_eq!(n as u64, samples);
        })
    });
    g.finish();
}

#[path = "support/cpu_time.rs"]
mod cpu_time;

fn main() {
    cpu_time::run(bench_block, bench_block);
}
