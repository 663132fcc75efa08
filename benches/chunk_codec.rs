//! Compression codecs on realistic data (`promlite_tsdb::codec::testdata`:
//! model-server counters, gauges, histogram buckets with 15 s jittered
//! scrapes): the head's Gorilla/XOR chunks (120 samples each) and the block
//! codec (`codec::encode`/`decode`, up to 1,024 samples per chunk).
//! Throughput is in samples per second (×16 for MB/s of raw samples); the
//! timed data set is 2 targets × 1 day. Bytes/sample of each encoding is
//! printed once at start-up, for that set and for the default data set
//! (10 targets × 1 day of 15 s scrapes).
//!
//! Targets (docs/performance-anchors.md): Prometheus's chunks take 1–2
//! bytes/sample (about 1.3 B on typical data), VictoriaMetrics about 0.3–0.4;
//! the block codec should land near VictoriaMetrics. Decoding must keep up
//! with ≥ 20M scanned samples/s per core (320 MB/s of raw samples).

use criterion::measurement::Measurement;
use criterion::{black_box, Criterion, Throughput};
use promlite_tsdb::chunk::{XorAppender, XorDecoder, SAMPLES_PER_CHUNK};
use promlite_tsdb::codec::testdata::{generate, num_samples, DatasetSpec};

/// True unless run by `cargo bench` (which passes `--bench`): then the
/// data set is small so the one-shot test run takes seconds.
fn quick() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

fn dataset(targets: usize) -> Vec<Vec<(i64, f64)>> {
    let spec = DatasetSpec {
        targets,
        scrapes: if quick() { 240 } else { 5760 },
        ..Default::default()
    };
    let data = generate(&spec);
    eprintln!(
        "chunk_codec: {} series, {} samples",
        data.len(),
        num_samples(&data)
    );
    data.into_iter().map(|(_, s)| s).collect()
}

fn xor_encode(series: &[Vec<(i64, f64)>]) -> Vec<(Vec<u8>, u16)> {
    let mut out = Vec::new();
    for s in series {
        for chunk in s.chunks(SAMPLES_PER_CHUNK as usize) {
            let mut app = XorAppender::new();
            for &(t, v) in chunk {
                app.append(t, v);
            }
            let n = app.num_samples();
            out.push((app.into_bytes(), n));
        }
    }
    out
}

fn block_encode(series: &[Vec<(i64, f64)>]) -> Vec<Vec<u8>> {
    series
        .iter()
        .flat_map(|s| {
            s.chunks(promlite_tsdb::block::MAX_CHUNK_SAMPLES)
                .map(promlite_tsdb::codec::encode)
        })
        .collect()
}

/// Prints bytes/sample of both encodings of `series`.
fn report(what: &str, series: &[Vec<(i64, f64)>]) {
    let samples: usize = series.iter().map(|s| s.len()).sum();
    let xor_bytes: usize = xor_encode(series).iter().map(|(b, _)| b.len()).sum();
    let block_bytes: usize = block_encode(series).iter().map(|b| b.len()).sum();
    eprintln!(
        "chunk_codec: {what}: head XOR {:.3} bytes/sample, block codec {:.3} bytes/sample",
        xor_bytes as f64 / samples as f64,
        block_bytes as f64 / samples as f64
    );
}

fn bench_codecs<M: Measurement>(c: &mut Criterion<M>) {
    if !quick() {
        report("default data set (10 targets)", &dataset(10));
    }
    let series = dataset(2);
    report("timed data set (2 targets)", &series);
    let samples: usize = series.iter().map(|s| s.len()).sum();
    let xor = xor_encode(&series);
    let block = block_encode(&series);

    let mut g = c.benchmark_group("chunk_codec");
    g.throughput(Throughput::Elements(samples as u64));
    g.bench_function("head_xor_encode", |b| {
        b.iter(|| xor_encode(black_box(&series)))
    });
    g.bench_function("head_xor_decode", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for (bytes, n) in &xor {
                let mut d = XorDecoder::new(bytes.as_slice(), *n);
                while let Some((_, v)) = d.next_sample() {
                    sum += v;
                }
            }
            sum
        })
    });
    g.bench_function("block_encode", |b| {
        b.iter(|| block_encode(black_box(&series)))
    });
    g.bench_function("block_decode", |b| {
        b.iter(|| {
            let mut n = 0;
            for bytes in &block {
                n += promlite_tsdb::codec::decode(bytes)
                    .map(|v| v.len())
                    .unwrap_or(0);
            }
            n
        })
    });
    g.finish();
}

#[path = "support/cpu_time.rs"]
mod cpu_time;

fn main() {
    cpu_time::run(bench_codecs, bench_codecs);
}
