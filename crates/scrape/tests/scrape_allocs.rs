//! Heap allocations per scrape of a target whose series are all cached:
//! parse, scrape cache, append to the real head (promlite-tsdb), commit
//! through the WAL. Counted with a counting allocator; every allocation
//! and reallocation costs malloc time on the scrape path.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use promlite_exposition::Format;
use promlite_model::Appendable;
use promlite_scrape::{Health, ScrapeLoop};
use promlite_tsdb::{Db, DbOptions};

struct Counting;

/// Calls to `alloc` and `realloc`.
static CALLS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to the system allocator and only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A body of `n` series (node-exporter-like names and labels; constant
/// values, so the head's chunk buffers rarely grow), with `extra` series
/// appended that exist in this scrape only.
fn body(n: usize, extra: &[usize], step: i64) -> Vec<u8> {
    use std::fmt::Write;
    let mut b = String::new();
    let _ = writeln!(b, "# HELP node_cpu_seconds_total Seconds the CPUs spent.");
    let _ = writeln!(b, "# TYPE node_cpu_seconds_total counter");
    for i in 0..n {
        let _ = writeln!(
            b,
            "node_cpu_seconds_total{{cpu=\"{}\",mode=\"m{}\"}} {}",
            i / 10,
            i % 10,
            i
        );
    }
    for e in extra {
        let _ = writeln!(b, "churn_series{{id=\"{e}\"}} {step}");
    }
    b.into_bytes()
}

fn scrape_loop(storage: Arc<dyn Appendable>) -> ScrapeLoop {
    common::scrape_loop_for(
        "scrape_configs:\n  - job_name: node\n    static_configs: [{targets: ['node:9100']}]\n",
        storage,
    )
}

fn ingest(sl: &mut ScrapeLoop, body: &[u8], step: i64) -> usize {
    let before = CALLS.load(Ordering::Relaxed);
    let r = sl.ingest(
        body,
        Format::PrometheusText,
        1_700_006_400_000 + step * 5_000,
        Instant::now(),
    );
    let calls = CALLS.load(Ordering::Relaxed) - before;
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    calls
}

/// A steady scrape (same 1,000 series as the last one) allocates a small,
/// fixed number of times, not per sample; scrapes with series coming and
/// going keep working and go back to that.
#[test]
fn a_cached_scrape_allocates_a_few_times_not_per_sample() {
    const N: usize = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(
        Db::open(
            dir.path(),
            DbOptions {
                background: false,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let mut sl = scrape_loop(db.clone());
    let steady = body(N, &[], 0);
    // Warm-up: series created, cache filled, buffers grown.
    for step in 0..3 {
        ingest(&mut sl, &steady, step);
    }
    let mut counts = Vec::new();
    for step in 3..8 {
        counts.push(ingest(&mut sl, &steady, step));
    }
    // Series come and go (staleness markers, new cache entries), then the
    // steady body again.
    let mut churn_calls = Vec::new();
    for step in 8..12 {
        let extra: Vec<usize> = (step as usize * 10..step as usize * 10 + 30).collect();
        churn_calls.push(ingest(&mut sl, &body(N, &extra, step), step));
    }
    let mut after = Vec::new();
    for step in 12..16 {
        after.push(ingest(&mut sl, &steady, step));
    }
    println!(
        "allocations per scrape of {N} cached series: {counts:?}; with 30 new series each: {churn_calls:?}; steady again: {after:?}"
    );
    let max_steady = counts.iter().chain(&after[1..]).copied().max().unwrap_or(0);
    assert!(
        max_steady <= MAX_STEADY_ALLOCS,
        "{max_steady} allocations in a steady scrape of {N} series"
    );
    // Every sample is there: 16 scrapes of 1,000 series, 5 report series.
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let m = promlite_model::Matcher::equal("__name__", "node_cpu_seconds_total");
    let got = q.select(&Default::default(), &[m]).unwrap();
    assert_eq!(got.len(), N);
    let mut samples = 0;
    for s in got {
        let mut it = s.iter();
        while it.next() == promlite_model::ValueType::Float {
            samples += 1;
        }
    }
    assert_eq!(samples, N * 16);
}

/// The bound [`a_cached_scrape_allocates_a_few_times_not_per_sample`]
/// holds a steady scrape to.
const MAX_STEADY_ALLOCS: usize = 16;
