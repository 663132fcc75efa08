//! A micro driver for profiling the column decoders (run under callgrind):
//! `cargo test --release -p promlite-tsdb --lib decode_driver -- --ignored`
//! with `DECODE_CHUNK` (samples per chunk, default 120) and `DECODE_REPS`
//! (default 20), and optionally `DECODE_KIND` (only value columns of that
//! kind byte: 0 constant, 1 decimal, 2 XOR, 3 ordered) and `DECODE_REF=1`
//! (value columns by the reference decoder, as before session 11). It decodes the value and timestamp columns of the realistic
//! test data (`testdata.rs`) `DECODE_REPS` times in
//! [`decode_value_columns`] and [`decode_timestamp_columns`], so callgrind's
//! inclusive cost of those functions divided by the values printed is the
//! cost per value.
use super::testdata::{generate, DatasetSpec};
use super::{decode_chunk_timestamps, decode_chunk_values, encode_chunk, EncodedChunk};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn chunks(chunk: usize) -> Vec<(EncodedChunk, usize)> {
    let spec = DatasetSpec {
        targets: 2,
        scrapes: 2880,
        ..Default::default()
    };
    generate(&spec)
        .iter()
        .flat_map(|(_, s)| s.chunks(chunk).map(|c| (encode_chunk(c), c.len())))
        .collect()
}

/// `DECODE_REF=1`: value columns by the decoder before session 11.
fn reference() -> bool {
    std::env::var("DECODE_REF").is_ok_and(|v| v == "1")
}

/// Decodes every value column `reps` times; returns the values decoded.
#[inline(never)]
pub fn decode_value_columns(cols: &[(EncodedChunk, usize)], reps: usize) -> usize {
    let use_ref = reference();
    let mut total = 0;
    for _ in 0..reps {
        for (c, n) in cols {
            let v = if use_ref {
                let mut r = super::Reader::new(&c.values);
                super::values::decode_values_reference(&mut r, *n).map(|v| v.len())
            } else {
                decode_chunk_values(&c.values, *n).map(|v| v.len())
            };
            total += std::hint::black_box(v).unwrap_or(0);
        }
    }
    total
}

/// Decodes every timestamp column `reps` times; returns the values decoded.
#[inline(never)]
pub fn decode_timestamp_columns(cols: &[(EncodedChunk, usize)], reps: usize) -> usize {
    let mut total = 0;
    for _ in 0..reps {
        for (c, _) in cols {
            let v = decode_chunk_timestamps(&c.timestamps).map(|v| v.len());
            total += std::hint::black_box(v).unwrap_or(0);
        }
    }
    total
}

/// `DECODE_NOISY=1`: integer gauges of about 3.4e9 with noise of about
/// 1e8 (the harness's `process_resident_memory_bytes`), whose residuals
/// are Rice-coded with a parameter above the tables' (`k > 7`).
fn noisy_gauges(chunk: usize) -> Vec<(EncodedChunk, usize)> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut out = Vec::new();
    for _ in 0..200 {
        let samples: Vec<(i64, f64)> = (0..chunk as i64)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let noise = (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                let wave = (i as f64 * 0.01).sin();
                (
                    i * 15_000,
                    (3.4e9 + 2e8 * (0.7 * wave + 0.6 * noise)).round(),
                )
            })
            .collect();
        out.push((encode_chunk(&samples), samples.len()));
    }
    out
}

#[test]
#[ignore = "profiling driver, run under callgrind"]
fn decode_driver() {
    let mut cols = chunks(env("DECODE_CHUNK", 120));
    if std::env::var("DECODE_NOISY").is_ok_and(|v| v == "1") {
        cols = noisy_gauges(env("DECODE_CHUNK", 120));
    }
    if let Ok(k) = std::env::var("DECODE_KIND") {
        // Bit 7 of the kind byte is the monotone flag.
        cols.retain(|(c, _)| c.values.first().map(|b| (b & 0x7f).to_string()) == Some(k.clone()));
    }
    let reps = env("DECODE_REPS", 20);
    let mut kinds = [0usize; 4];
    for (c, n) in &cols {
        if let Some(&k) = c.values.first() {
            if let Some(slot) = kinds.get_mut(usize::from(k & 0x7f)) {
                *slot += n;
            }
        }
    }
    eprintln!("values by kind (constant, decimal, xor, ordered): {kinds:?}");
    let bytes: usize = cols.iter().map(|(c, _)| c.values.len()).sum();
    eprintln!("value column bytes: {bytes}");
    let start = std::time::Instant::now();
    let v = decode_value_columns(&cols, reps);
    let tv = start.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    let t = decode_timestamp_columns(&cols, reps);
    let tt = start.elapsed().as_secs_f64();
    let per = |secs: f64, n: usize| secs * 1e9 / n.max(1) as f64;
    eprintln!(
        "decoded {v} values ({:.2} ns each), {t} timestamps ({:.2} ns each)",
        per(tv, v),
        per(tt, t)
    );
    assert_eq!(v, t);
    assert!(v > 0);
}
