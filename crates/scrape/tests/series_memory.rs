//! Scrape-side memory per active series, measured with a counting allocator:
//! the final label sets the scrape cache holds (shared with the storage,
//! which gets the same `Labels`) and the cache entries themselves, for
//! targets of 1,000 series scraped repeatedly. The storage here keeps
//! nothing (it hands out references), so the head's own cost is not
//! included (`crates/tsdb/tests/head_memory.rs` measures that).
//!
//! Two figures per part: bytes requested, and the bytes glibc's malloc
//! actually uses for them (16-byte granules, an 8-byte header, 32 bytes at
//! least), which is what the process's RSS sees.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use promlite_exposition::Format;
use promlite_model::{AppendError, Appendable, Appender, Labels, SeriesRef, StorageError};
use promlite_scrape::{Health, ScrapeLoop};

struct Counting;

static REQUESTED: AtomicIsize = AtomicIsize::new(0);
static CHUNKS: AtomicIsize = AtomicIsize::new(0);
static COUNT: AtomicIsize = AtomicIsize::new(0);

/// Bytes glibc's malloc uses for a request of `n` bytes (64-bit).
fn chunk(n: usize) -> isize {
    ((n + 8 + 15) & !15).max(32) as isize
}

// SAFETY: delegates to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        REQUESTED.fetch_add(l.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_add(chunk(l.size()), Ordering::Relaxed);
        COUNT.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        REQUESTED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_sub(chunk(l.size()), Ordering::Relaxed);
        COUNT.fetch_sub(1, Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        REQUESTED.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_add(chunk(new) - chunk(l.size()), Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Copy, Debug)]
struct Snapshot {
    requested: isize,
    chunks: isize,
    count: isize,
}

fn snapshot() -> Snapshot {
    Snapshot {
        requested: REQUESTED.load(Ordering::Relaxed),
        chunks: CHUNKS.load(Ordering::Relaxed),
        count: COUNT.load(Ordering::Relaxed),
    }
}

fn per_series(a: Snapshot, b: Snapshot, n: usize) -> (f64, f64, f64) {
    let n = n as f64;
    (
        (b.requested - a.requested) as f64 / n,
        (b.chunks - a.chunks) as f64 / n,
        (b.count - a.count) as f64 / n,
    )
}

/// Storage that hands out a new reference per unknown series and keeps
/// nothing.
#[derive(Default)]
struct Refs {
    next: Arc<AtomicU64>,
}

struct RefsAppender(Arc<AtomicU64>);

impl Appendable for Refs {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(RefsAppender(self.next.clone()))
    }
}

impl Appender for RefsAppender {
    fn append(
        &mut self,
        hint: Option<SeriesRef>,
        _labels: &Labels,
        _t: i64,
        _v: f64,
    ) -> Result<SeriesRef, AppendError> {
        Ok(hint.unwrap_or_else(|| SeriesRef(self.0.fetch_add(1, Ordering::Relaxed) + 1)))
    }
    fn commit(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
    fn rollback(&mut self) {}
}

/// Series of a model-server-like target: 400 two-label counters, 40
/// histograms of 12 buckets plus sum and count, 40 unlabelled gauges.
fn series() -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    for cpu in 0..40 {
        for mode in [
            "guest", "nice", "idle", "iowait", "irq", "steal", "softirq", "system", "user", "x",
        ] {
            out.push(vec![
                ("__name__".into(), "node_cpu_seconds_total".into()),
                ("cpu".into(), cpu.to_string()),
                ("mode".into(), mode.into()),
            ]);
        }
    }
    for h in 0..40 {
        let base = || {
            vec![
                ("model".to_string(), format!("resnet_{h}")),
                ("version".to_string(), "v2".to_string()),
            ]
        };
        for le in [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0",
            "+Inf",
        ] {
            let mut l = base();
            l.push((
                "__name__".into(),
                "model_request_duration_seconds_bucket".into(),
            ));
            l.push(("le".into(), le.into()));
            out.push(l);
        }
        for suffix in ["sum", "count"] {
            let mut l = base();
            l.push((
                "__name__".into(),
                format!("model_request_duration_seconds_{suffix}"),
            ));
            out.push(l);
        }
    }
    for g in 0..40 {
        out.push(vec![("__name__".into(), format!("process_gauge_{g}"))]);
    }
    out
}

fn body(series: &[Vec<(String, String)>], step: u64) -> Vec<u8> {
    use std::fmt::Write;
    let mut b = String::new();
    for (i, s) in series.iter().enumerate() {
        let name = s
            .iter()
            .find(|(n, _)| n == "__name__")
            .map_or("", |(_, v)| v.as_str());
        b.push_str(name);
        let rest: Vec<String> = s
            .iter()
            .filter(|(n, _)| n != "__name__")
            .map(|(n, v)| format!("{n}=\"{v}\""))
            .collect();
        if !rest.is_empty() {
            let _ = write!(b, "{{{}}}", rest.join(","));
        }
        let _ = writeln!(b, " {}", i as u64 * 7 + step);
    }
    b.into_bytes()
}

fn scrape_loop(target: usize, storage: Arc<dyn Appendable>) -> ScrapeLoop {
    common::scrape_loop_for(
        &format!(
            "scrape_configs:\n  - job_name: model\n    static_configs: [{{targets: ['model-{target}:8000']}}]\n"
        ),
        storage,
    )
}

#[test]
fn scrape_cache_and_label_bytes_per_series() {
    const TARGETS: usize = 8;
    let series = series();
    let n = series.len() * TARGETS;

    // The final label sets alone, built the way the scraper builds them
    // (exposed labels plus `instance` and `job`).
    let mut labels: Vec<Labels> = Vec::with_capacity(n);
    let a = snapshot();
    for t in 0..TARGETS {
        for s in &series {
            let mut pairs = s.clone();
            pairs.push(("instance".into(), format!("model-{t}:8000")));
            pairs.push(("job".into(), "model".into()));
            labels.push(Labels::from_pairs(pairs));
        }
    }
    let b = snapshot();
    let (lab_req, lab_chunk, lab_allocs) = per_series(a, b, n);
    drop(labels);

    // Scrape loops: cache entries plus the label sets they hold.
    let storage: Arc<dyn Appendable> = Arc::new(Refs::default());
    let bodies: Vec<Vec<u8>> = (0..4).map(|s| body(&series, s)).collect();
    let a = snapshot();
    let mut loops: Vec<ScrapeLoop> = (0..TARGETS)
        .map(|t| scrape_loop(t, storage.clone()))
        .collect();
    for (step, body) in bodies.iter().enumerate() {
        for sl in &mut loops {
            let r = sl.ingest(
                body,
                Format::PrometheusText,
                1_700_000_000_000 + step as i64 * 5_000,
                Instant::now(),
            );
            assert_eq!(r.health, Health::Up, "{:?}", r.error);
            assert_eq!(r.samples_post_relabel, series.len() as u64);
        }
    }
    let b = snapshot();
    let (loop_req, loop_chunk, loop_allocs) = per_series(a, b, n);
    println!(
        "scrape side per series ({n} series, {TARGETS} targets): label set {lab_req:.0} B requested / \
         {lab_chunk:.0} B in malloc chunks / {lab_allocs:.2} allocations (plus the {:.0}-byte handle); \
         scrape loop incl. label sets {loop_req:.0} / {loop_chunk:.0} B, {loop_allocs:.2} allocations \
         -> cache and loop {:.0} / {:.0} B",
        std::mem::size_of::<Labels>(),
        loop_req - lab_req,
        loop_chunk - lab_chunk,
    );
    // One allocation per label set (the test harness's own threads may
    // allocate a few bytes meanwhile).
    assert!(lab_allocs < 1.01, "{lab_allocs} allocations per label set");
    // The label set is one buffer of names, values and length bytes.
    assert!(lab_chunk < 160.0, "{lab_chunk} B per label set");
    assert!(
        loop_chunk < 450.0,
        "{loop_chunk} B per series in the scrape loop"
    );
    drop(loops);
}
