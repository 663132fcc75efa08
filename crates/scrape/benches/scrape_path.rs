//! CPU per scraped sample of the whole scrape path after the fetch:
//! parse → target labels and `metric_relabel_configs` → limits → append →
//! staleness bookkeeping → commit, through `ScrapeLoop::ingest`, for a
//! 1,000-series text body.
//!
//! * `steady`: the same body every scrape, so every series is in the scrape
//!   cache (the normal case).
//! * `churn`: three bodies with disjoint series in rotation, so every series
//!   misses the cache (label building and relabeling for every sample, and a
//!   storage lookup by labels).
//!
//! The storage is [`Sink`]: it resolves a series by its labels in a hash map
//! (or takes the reference the scraper passes) and drops the samples, so the
//! figures are the scraper's cost without the database's.
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`,
//! falling back to wall time) because the build machine is shared; the
//! throughput line reads as nanoseconds of CPU per sample.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
#[path = "../../exposition/benches/support/cpu_time.rs"]
mod cpu_time;
use cpu_time::CpuTime;
use parking_lot::Mutex;
use promlite_exposition::Format;
use promlite_model::{
    AppendError, Appendable, Appender, Clock, Labels, ManualClock, SeriesRef, StorageError,
};
use promlite_scrape::target::{populate, Populated};
use promlite_scrape::{Config, Health, ScrapeLoop, ScrapeOptions, TargetShared};

/// Storage that resolves series like a head (by reference, else by labels)
/// and discards samples.
#[derive(Default)]
struct Sink {
    series: Arc<Mutex<HashMap<Labels, u64>>>,
}

struct SinkAppender {
    series: Arc<Mutex<HashMap<Labels, u64>>>,
    staged: u64,
}

impl Appendable for Sink {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(SinkAppender {
            series: self.series.clone(),
            staged: 0,
        })
    }
}

impl Appender for SinkAppender {
    fn append(
        &mut self,
        hint: Option<SeriesRef>,
        labels: &Labels,
        _t: i64,
        _v: f64,
    ) -> Result<SeriesRef, AppendError> {
        self.staged += 1;
        if let Some(r) = hint {
            return Ok(r);
        }
        let mut m = self.series.lock();
        let next = m.len() as u64 + 1;
        Ok(SeriesRef(*m.entry(labels.clone()).or_insert(next)))
    }
    fn commit(&mut self) -> Result<(), StorageError> {
        self.staged = 0;
        Ok(())
    }
    fn rollback(&mut self) {
        self.staged = 0;
    }
}

/// A 1,000-series body in the text format: 400 CPU counters with two
/// labels, 40 histograms of 12 buckets plus sum and count (two or three
/// labels), and 40 unlabelled gauges; HELP and TYPE per family. `variant`
/// changes every series' identity.
fn body(variant: u32) -> Vec<u8> {
    use std::fmt::Write;
    let mut b = String::new();
    let _ = writeln!(b, "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n# TYPE node_cpu_seconds_total counter");
    for cpu in 0..40 {
        for mode in [
            "guest", "nice", "idle", "iowait", "irq", "steal", "softirq", "system", "user", "x",
        ] {
            let _ = writeln!(
                b,
                "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}{variant}\"}} {}.{}",
                cpu * 1000 + 17,
                cpu % 10
            );
        }
    }
    let _ = writeln!(b, "# HELP model_request_duration_seconds Inference latency.\n# TYPE model_request_duration_seconds histogram");
    for h in 0..40 {
        let labels = format!("model=\"resnet_{h}_{variant}\",version=\"v2\"");
        for le in [
            "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0",
            "+Inf",
        ] {
            let _ = writeln!(
                b,
                "model_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                h * 31
            );
        }
        let _ = writeln!(b, "model_request_duration_seconds_sum{{{labels}}} 12.75");
        let _ = writeln!(b, "model_request_duration_seconds_count{{{labels}}} 1234");
    }
    for g in 0..40 {
        let _ = writeln!(
            b,
            "# HELP process_gauge_{g}_{variant} A gauge.\n# TYPE process_gauge_{g}_{variant} gauge\nprocess_gauge_{g}_{variant} {}",
            g * 3
        );
    }
    b.into_bytes()
}

const SERIES: u64 = 1_000;

fn scrape_loop(storage: Arc<dyn Appendable>) -> ScrapeLoop {
    let cfg = Config::from_str(
        "scrape_configs:\n  - job_name: model\n    static_configs: [{targets: ['model-0:8000'], labels: {env: prod}}]\n    metric_relabel_configs:\n      - {source_labels: [__name__], regex: 'go_.*', action: drop}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sc = &cfg.scrape_configs[0];
    let groups = promlite_scrape::discovery::static_groups(&sc.static_configs);
    let t = match populate(&groups[0].labels, &groups[0].targets[0], sc) {
        Ok(Populated::Target(t)) => t,
        other => panic!("{other:?}"),
    };
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(0));
    ScrapeLoop::new(
        sc,
        Arc::new(TargetShared::new(t)),
        storage,
        clock,
        &ScrapeOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion<CpuTime>) {
    let bodies: Vec<Vec<u8>> = (0..3).map(body).collect();
    let mut g = c.benchmark_group("scrape_ingest_1000_series");
    g.throughput(Throughput::Elements(SERIES));

    let mut sl = scrape_loop(Arc::new(Sink::default()));
    let mut ts = 0i64;
    // Sanity: one scrape stores all 1,000 series.
    let r = sl.ingest(&bodies[0], Format::PrometheusText, ts, Instant::now());
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(
        (r.samples_scraped, r.samples_post_relabel, r.series_added),
        (SERIES, SERIES, SERIES)
    );
    g.bench_function("steady", |bch| {
        bch.iter(|| {
            ts += 15_000;
            let r = sl.ingest(&bodies[0], Format::PrometheusText, ts, Instant::now());
            r.samples_post_relabel
        })
    });

    let mut sl = scrape_loop(Arc::new(Sink::default()));
    let mut i = 0usize;
    g.bench_function("churn", |bch| {
        bch.iter(|| {
            ts += 15_000;
            i += 1;
            let body = &bodies[i % bodies.len()];
            let r = sl.ingest(body, Format::PrometheusText, ts, Instant::now());
            r.samples_post_relabel
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench
}
criterion_main!(benches);
