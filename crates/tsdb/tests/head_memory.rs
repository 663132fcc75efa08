//! Memory per active series, measured with a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use promlite_model::{Labels, SeriesRef};
use promlite_tsdb::{Db, DbOptions};

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);
/// Calls to `alloc` and `realloc`.
static CALLS: AtomicIsize = AtomicIsize::new(0);
/// Bytes of the malloc chunks glibc uses for those allocations (16-byte
/// granules, an 8-byte header, 32 bytes at least): what the RSS sees.
static CHUNKS: AtomicIsize = AtomicIsize::new(0);

fn chunk(n: usize) -> isize {
    ((n + 8 + 15) & !15).max(32) as isize
}

// SAFETY: delegates to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(l.size() as isize, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        CHUNKS.fetch_add(chunk(l.size()), Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        ALLOCATED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_sub(chunk(l.size()), Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        CHUNKS.fetch_add(chunk(new) - chunk(l.size()), Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A database without the background thread (the tests tick it).
fn open(dir: &std::path::Path) -> Db {
    Db::open(
        dir,
        DbOptions {
            background: false,
            ..Default::default()
        },
    )
    .unwrap()
}

/// The counter is process-wide: the tests take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn bytes_per_active_series() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 10_000;
    const SAMPLES: i64 = 120;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    // Typical exporter labels: name, job, instance, one more.
    let start = ALLOCATED.load(Ordering::Relaxed);
    let labels: Vec<Labels> = (0..N)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", format!("http_requests_total_{}", i % 50)),
                ("job", "model-server".to_string()),
                ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
                ("code", ["200", "404", "500"][i % 3].to_string()),
            ])
        })
        .collect();
    let labels_bytes = ALLOCATED.load(Ordering::Relaxed) - start;
    let before = ALLOCATED.load(Ordering::Relaxed);
    let mut refs = vec![None; N];
    for t in 0..SAMPLES {
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            // Counters increasing by varying amounts, 15 s scrapes.
            let v = (t * (i as i64 % 7 + 1)) as f64;
            refs[i] = Some(
                app.append(refs[i], l, 1_700_000_000_000 + t * 15_000, v)
                    .unwrap(),
            );
        }
        app.commit().unwrap();
    }
    let used = ALLOCATED.load(Ordering::Relaxed) - before;
    let per_series = used as f64 / N as f64;
    let stats = db.head_stats();
    let label_set = labels_bytes as f64 / N as f64;
    println!(
        "head memory: {:.0} bytes per active series = {per_series:.0} head structures and chunks + {label_set:.0} label set \
         ({N} series x {SAMPLES} samples; chunk data {:.2} B/sample)",
        per_series + label_set,
        stats.chunk_bytes as f64 / (N as f64 * SAMPLES as f64)
    );
    assert_eq!(stats.num_series, N as u64);
    // Prometheus needs ~3.5 KB per active series; we aim well under.
    assert!(
        per_series + label_set < 2000.0,
        "{} bytes per series",
        per_series + label_set
    );
}

/// A Db in `dir` with `n` series of full-precision gauges (about 8 bytes
/// a sample), `samples` each at 5 s from a time aligned to the 2 h block
/// range, so no chunk is cut early.
/// Returns the Db, the label sets and their references.
fn noisy_db(
    dir: &std::path::Path,
    n: usize,
    samples: i64,
) -> (Db, Vec<Labels>, Vec<Option<SeriesRef>>) {
    let db = open(dir);
    let labels: Vec<Labels> = (0..n)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "model_latency_seconds".to_string()),
                ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
            ])
        })
        .collect();
    let mut refs = vec![None; n];
    for t in 0..samples {
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            let v = ((t as f64) * 0.37 + i as f64).sin() * 1.234_567;
            refs[i] = Some(app.append(refs[i], l, T0 + t * 5_000, v).unwrap());
        }
        app.commit().unwrap();
    }
    (db, labels, refs)
}

/// Number and sum of the samples of the `model_latency_seconds` series.
fn sample_sum(db: &Db) -> (usize, f64) {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let m = promlite_model::Matcher::equal("__name__", "model_latency_seconds");
    let mut n = 0;
    let mut s = 0.0;
    for series in q.select(&Default::default(), &[m]).unwrap() {
        let mut it = series.iter();
        while it.next() == promlite_model::ValueType::Float {
            n += 1;
            s += it.at().1;
        }
    }
    (n, s)
}

/// First timestamp of [`noisy_db`]'s samples.
const T0: i64 = 1_700_006_400_000;

/// Full head chunks leave the heap at the next maintenance tick: what stays
/// per closed chunk is its reference, not its bytes.
#[test]
fn full_chunks_leave_the_heap_at_tick() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 2_000;
    const SAMPLES: i64 = 1_200; // ten full chunks per series at 5 s
    let dir = tempfile::tempdir().unwrap();
    let (db, _, _) = noisy_db(dir.path(), N, SAMPLES);
    let stats_before = db.head_stats();
    let before = ALLOCATED.load(Ordering::Relaxed);
    let report = db.tick().unwrap();
    assert_eq!(report.blocks_written, 0, "the head is not due for a cut");
    let freed = before - ALLOCATED.load(Ordering::Relaxed);
    let stats = db.head_stats();
    let closed = stats.spilled_chunks as f64;
    println!(
        "spill: {} closed chunks moved, {:.0} bytes freed per series ({:.0} per chunk); chunk heap {} -> {} bytes",
        stats.spilled_chunks,
        freed as f64 / N as f64,
        freed as f64 / closed,
        stats_before.chunk_bytes,
        stats.chunk_bytes,
    );
    assert!(stats.spilled_chunks >= (N * 9) as u64);
    // A chunk of 120 full-precision samples is about 1 KB; all but its
    // reference must be freed.
    assert!(freed as f64 / closed > 700.0, "{freed} bytes freed");
    assert!(db.metrics().head_chunks_spilled >= (N * 9) as u64);

    // The answers are the same, and the WAL still rebuilds everything.
    let after_spill = sample_sum(&db);
    assert_eq!(after_spill.0, N * SAMPLES as usize);
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    assert_eq!(sample_sum(&db), after_spill);
    assert_eq!(db.head_stats().spilled_chunks, 0, "reopened on the heap");
}

/// What a spilled chunk keeps on the heap: the growth of the process's
/// allocations from one round of full chunks (spilled at the tick) to the
/// next, with the open chunks the same size at both points.
#[test]
fn bytes_kept_per_spilled_chunk() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 2_000;
    const ROUND: i64 = 120;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let labels = latency_labels(N);
    let mut refs = vec![None; N];
    // Aligned to the 2 h block range, so no chunk is cut early.
    let t0 = 1_700_006_400_000;
    let mut next = 0i64;
    let mut fill_to = |db: &Db, end: i64| {
        while next < end {
            let mut app = db.appender();
            for (i, l) in labels.iter().enumerate() {
                // Full-precision gauges repeating every chunk, so every
                // chunk (and the open one at a given fill) has the same size.
                let v = (((next % ROUND) as f64) * 0.37 + i as f64).sin() * 1.234_567;
                refs[i] = Some(app.append(refs[i], l, t0 + next * 5_000, v).unwrap());
            }
            app.commit().unwrap();
            next += 1;
        }
    };
    // Six full chunks and a half-full open one per series, all spilled.
    fill_to(&db, 6 * ROUND + ROUND / 2);
    db.tick().unwrap();
    let spilled_a = db.head_stats().spilled_chunks;
    let a = ALLOCATED.load(Ordering::Relaxed);
    // Four more rounds: four more spilled chunks per series.
    fill_to(&db, 10 * ROUND + ROUND / 2);
    db.tick().unwrap();
    let spilled_b = db.head_stats().spilled_chunks;
    let b = ALLOCATED.load(Ordering::Relaxed);
    assert_eq!(spilled_a, (N * 6) as u64);
    assert_eq!(spilled_b, (N * 10) as u64);
    let per_chunk = (b - a) as f64 / (spilled_b - spilled_a) as f64;
    println!(
        "spilled chunk reference: {per_chunk:.1} bytes kept on the heap per spilled chunk \
         ({} -> {} spilled chunks, {} bytes more)",
        spilled_a,
        spilled_b,
        b - a
    );
    assert!(per_chunk <= 20.0, "{per_chunk} bytes per spilled chunk");
}

/// The complete bytes of open chunks leave the heap at the tick too: what
/// stays per open chunk is its unwritten tail and the encoder's state.
#[test]
fn open_chunk_bytes_leave_the_heap_at_tick() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 2_000;
    const SAMPLES: i64 = 100; // one open chunk of noisy floats per series
    let dir = tempfile::tempdir().unwrap();
    let (db, labels, mut refs) = noisy_db(dir.path(), N, SAMPLES);
    let before_answers = sample_sum(&db);
    let heap_before = db.head_stats().chunk_bytes;
    let before = ALLOCATED.load(Ordering::Relaxed);
    db.tick().unwrap();
    let freed = before - ALLOCATED.load(Ordering::Relaxed);
    let heap_after = db.head_stats().chunk_bytes;
    println!(
        "open chunks: {:.0} bytes freed per series at the tick; open chunk heap {:.0} -> {:.0} bytes per series",
        freed as f64 / N as f64,
        heap_before as f64 / N as f64,
        heap_after as f64 / N as f64,
    );
    assert_eq!(db.head_stats().spilled_chunks, 0, "no chunk is full");
    // About 850 bytes of noisy floats per chunk: most must go.
    assert!(freed as f64 / N as f64 > 600.0, "{freed} bytes freed");
    assert_eq!(sample_sum(&db), before_answers);
    // More samples after the spill append to the tail; a reopen rebuilds
    // everything from the WAL.
    let mut app = db.appender();
    for (i, l) in labels.iter().enumerate() {
        refs[i] = Some(app.append(refs[i], l, T0 + SAMPLES * 5_000, 0.5).unwrap());
    }
    app.commit().unwrap();
    let after_append = sample_sum(&db);
    assert_eq!(after_append.0, before_answers.0 + N);
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    assert_eq!(sample_sum(&db), after_append);
}

/// The scrape cadence: one sample per series every 5 s, the spill pass
/// between ticks every 10 s (two samples per series per pass) and a tick
/// every minute, as the background thread runs them, for two
/// chunks of 120 samples. Series are a mix like an exporter's: noisy
/// full-precision gauges, integer counters, two-decimal CPU counters and
/// constants. Measures how often open chunks' bytes are written out (one
/// `pwrite` each) and what the chunks keep on the heap on average, and
/// checks the answers, the closed chunks' spilling and a reopen from the
/// WAL.
#[test]
fn open_chunk_writes_and_heap_at_scrape_cadence() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 2_000;
    const SAMPLES: i64 = 240;
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let labels = latency_labels(N);
    let value = |i: usize, t: i64| -> f64 {
        match i % 4 {
            0 | 1 => ((t as f64) * 0.37 + i as f64).sin() * 1.234_567,
            2 => (t * 17 + (t * t) % 7) as f64,
            _ => 3.0,
        }
    };
    let mut refs: Vec<Option<SeriesRef>> = vec![None; N];
    let (mut writes, mut written, mut passes, mut ticks) = (0usize, 0usize, 0usize, 0usize);
    let (mut heap_sum, mut heap_samples) = (0usize, 0usize);
    let mut calls = 0;
    let chunks_start = CHUNKS.load(Ordering::Relaxed);
    let mut chunks_sum = 0;
    for t in 0..SAMPLES {
        let calls_before = CALLS.load(Ordering::Relaxed);
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            refs[i] = Some(app.append(refs[i], l, T0 + t * 5_000, value(i, t)).unwrap());
        }
        app.commit().unwrap();
        if t % 12 == 11 {
            // The background thread's tick, once a minute: every open
            // chunk's complete bytes go out in a few runs.
            db.tick().unwrap();
            ticks += 1;
        } else if t % 2 == 1 {
            let r = db.spill_between_ticks().expect("spilling is on");
            writes += r.open_writes;
            written += r.open_bytes;
            passes += 1;
        }
        let calls_here = CALLS.load(Ordering::Relaxed) - calls_before;
        // Over the second chunk (regions sized from the first), sampled
        // after every scrape.
        if t > 120 {
            calls += calls_here;
            chunks_sum += CHUNKS.load(Ordering::Relaxed) - chunks_start;
            heap_sum += db.head_stats().chunk_bytes as usize;
            heap_samples += 1;
        }
    }
    let heavy = N / 2; // the noisy gauges write almost all of it
    println!(
        "scrape cadence: {writes} open-chunk writes in {passes} passes between {ticks} ticks ({:.1} per noisy series per chunk, {:.0} bytes each); \
         chunk heap {:.0} bytes per series on average over the second chunk; {:.3} allocations per sample (scrape and pass); \
         {:.0} bytes of malloc chunks per series (the whole Db) on average",
        writes as f64 / heavy as f64 / 2.0,
        written as f64 / writes.max(1) as f64,
        heap_sum as f64 / heap_samples.max(1) as f64 / N as f64,
        calls as f64 / heap_samples.max(1) as f64 / N as f64,
        chunks_sum as f64 / heap_samples.max(1) as f64 / N as f64,
    );
    // The noisy gauges' chunks are about 1 KB, about 108 bytes a minute:
    // the ticks write them out in runs before they reach the threshold of
    // a write per series (7.5 writes per noisy series per chunk before
    // session 12, 133 bytes each), and never one per pass.
    assert!(
        (writes as f64 / heavy as f64 / 2.0) < 20.0,
        "{writes} writes for {heavy} noisy series"
    );
    // The open chunks' buffers keep their room across writes: no
    // allocation per few samples (0.33 per sample when they shrank after
    // each write and regrew 16 bytes at a time).
    assert!(
        (calls as f64 / heap_samples.max(1) as f64 / N as f64) < 0.1,
        "{calls} allocations"
    );
    // The first round of chunks closed into their regions or was spilled;
    // what the heap holds per series stays small.
    let stats = db.head_stats();
    assert!(stats.spilled_chunks >= (N / 2) as u64, "{stats:?}");
    // At most a minute of each open chunk's bytes stays on the heap (88
    // bytes per series on average; 123 with a write per series at 128
    // bytes before session 12).
    assert!(
        (heap_sum as f64 / heap_samples.max(1) as f64 / N as f64) < 110.0,
        "chunk heap per series"
    );
    let sum = sample_sum;
    let want: f64 = (0..N)
        .flat_map(|i| (0..SAMPLES).map(move |t| value(i, t)))
        .sum();
    let got = sum(&db);
    assert_eq!(got.0, N * SAMPLES as usize);
    assert!(
        (got.1 - want).abs() < 1e-6 * want.abs().max(1.0),
        "{got:?} vs {want}"
    );
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    assert_eq!(sum(&db), got, "the WAL rebuilds the same head");
}

/// `n` series of one metric on different instances.
fn latency_labels(n: usize) -> Vec<Labels> {
    (0..n)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "model_latency_seconds".to_string()),
                ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
            ])
        })
        .collect()
}
