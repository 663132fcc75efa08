//! A seeded, deterministic generator of realistic scrape data, used by the
//! compression tests and benchmarks (no `rand` dependency: xorshift64*).
//!
//! Each simulated target is scraped every `interval_ms` with a few
//! milliseconds of jitter (all its series share the scrape timestamp, as in
//! Prometheus) and exposes 41 series: integer request counters (one target
//! in four restarts halfway, resetting them), 2-decimal CPU-seconds
//! counters, a 12-bucket latency histogram with a full-precision `_sum`,
//! integer gauges (memory bytes, file descriptors, goroutines), constant
//! gauges, full-precision float gauges, and counters that never move.
//! One series per target goes stale (staleness marker) partway through.

use promlite_model::{Labels, STALE_NAN_BITS};

/// A small xorshift64* pseudo-random generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is remapped).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `[0, n)` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Roughly normal with mean 0 and standard deviation 1.
    pub fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.f64()).sum::<f64>() - 6.0
    }
}

/// Shape of the generated data set.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    /// Number of scrape targets.
    pub targets: usize,
    /// Scrapes per target.
    pub scrapes: usize,
    /// Scrape interval in ms.
    pub interval_ms: i64,
    /// First scrape time in ms.
    pub start_ms: i64,
    /// Maximum timestamp jitter in ms (uniform in `[0, jitter_ms]`).
    pub jitter_ms: u64,
    /// Seed.
    pub seed: u64,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        DatasetSpec {
            targets: 10,
            scrapes: 5760,
            interval_ms: 15_000,
            start_ms: 1_700_000_000_000,
            jitter_ms: 8,
            seed: 42,
        }
    }
}

const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];

fn push_series(
    out: &mut Vec<(Labels, Vec<(i64, f64)>)>,
    name: &str,
    inst: &str,
    extra: &[(&str, &str)],
    s: Vec<(i64, f64)>,
) {
    let mut pairs: Vec<(String, String)> = vec![
        ("__name__".into(), name.into()),
        ("instance".into(), inst.into()),
        ("job".into(), "model-server".into()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out.push((Labels::from_pairs(pairs), s));
}

/// Generates the data set: series sorted by labels, samples in time order.
pub fn generate(spec: &DatasetSpec) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut rng = Rng::new(spec.seed);
    let mut out = Vec::new();
    for t in 0..spec.targets {
        let inst = format!("10.0.{}.{}:9100", t / 200, t % 200);
        let ts: Vec<i64> = (0..spec.scrapes)
            .map(|i| {
                spec.start_ms + i as i64 * spec.interval_ms + rng.below(spec.jitter_ms + 1) as i64
            })
            .collect();
        let n = ts.len();
        let restart_at = if t % 4 == 0 { n / 2 } else { usize::MAX };
        let zip = |v: Vec<f64>| -> Vec<(i64, f64)> { ts.iter().copied().zip(v).collect() };
        // Integer request counters.
        for (code, rate) in [
            ("200", 40.0),
            ("200", 7.0),
            ("404", 0.3),
            ("500", 0.02),
            ("200", 120.0),
            ("429", 0.01),
            ("200", 1.5),
            ("503", 0.001),
        ]
        .iter()
        .enumerate()
        .map(|(i, (c, r))| ((c, i), *r))
        {
            let mut c = 0.0f64;
            let v: Vec<f64> = (0..n)
                .map(|i| {
                    if i == restart_at {
                        c = 0.0;
                    }
                    let mean = rate * 15.0 * (1.0 + 0.3 * (i as f64 / 500.0).sin());
                    c += (mean + rng.normal() * mean.sqrt()).max(0.0).round();
                    c
                })
                .collect();
            push_series(
                &mut out,
                "http_requests_total",
                &inst,
                &[("code", code.0), ("handler", &format!("/api/v{}", code.1))],
                zip(v),
            );
        }
        // 2-decimal CPU counters.
        for (mode, frac) in [
            ("idle", 0.7),
            ("user", 0.2),
            ("system", 0.08),
            ("iowait", 0.02),
        ] {
            let mut c = rng.below(100_000_000) as f64;
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    c += (1500.0 * frac * (1.0 + 0.2 * rng.normal()))
                        .max(0.0)
                        .round();
                    c / 100.0
                })
                .collect();
            push_series(
                &mut out,
                "node_cpu_seconds_total",
                &inst,
                &[("cpu", "0"), ("mode", mode)],
                zip(v),
            );
        }
        // Latency histogram.
        let mut buckets = [0.0f64; 12];
        let (mut sum, mut count) = (0.0f64, 0.0f64);
        let mut cols: Vec<Vec<f64>> = (0..14).map(|_| Vec::with_capacity(n)).collect();
        for _ in 0..n {
            let obs = (50.0 + rng.normal() * 7.0).max(0.0).round() as usize;
            for _ in 0..obs {
                let lat = 0.02 * (rng.normal() * 0.8).exp();
                sum += lat;
                for (b, le) in BUCKETS.iter().enumerate() {
                    if *le == "+Inf" || lat <= le.parse::<f64>().unwrap_or(f64::INFINITY) {
                        buckets[b] += 1.0;
                    }
                }
            }
            count += obs as f64;
            for b in 0..12 {
                cols[b].push(buckets[b]);
            }
            cols[12].push(sum);
            cols[13].push(count);
        }
        let mut cols = cols.into_iter();
        for le in BUCKETS {
            push_series(
                &mut out,
                "request_latency_seconds_bucket",
                &inst,
                &[("le", le)],
                zip(cols.next().unwrap_or_default()),
            );
        }
        push_series(
            &mut out,
            "request_latency_seconds_sum",
            &inst,
            &[],
            zip(cols.next().unwrap_or_default()),
        );
        push_series(
            &mut out,
            "request_latency_seconds_count",
            &inst,
            &[],
            zip(cols.next().unwrap_or_default()),
        );
        // Integer gauges.
        for (name, base, step, p) in [
            (
                "process_resident_memory_bytes",
                812_000_000.0,
                4096.0 * 16.0,
                0.6,
            ),
            (
                "go_memstats_heap_inuse_bytes",
                300_000_000.0,
                8192.0 * 8.0,
                0.9,
            ),
            ("process_open_fds", 40.0, 1.0, 0.2),
            ("go_goroutines", 120.0, 1.0, 0.5),
            ("model_queue_depth", 3.0, 1.0, 0.7),
            ("model_batch_size", 16.0, 8.0, 0.1),
        ] {
            let mut g: f64 = base;
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    if rng.f64() < p {
                        g = (g + step * (rng.below(7) as f64 - 3.0)).max(0.0);
                    }
                    g
                })
                .collect();
            push_series(&mut out, name, &inst, &[], zip(v));
        }
        // Constant gauges.
        let start_time = (spec.start_ms / 1000 - rng.below(86_400) as i64) as f64;
        for (name, val) in [
            ("up", 1.0),
            ("model_build_info", 1.0),
            ("process_start_time_seconds", start_time),
            ("process_max_fds", 1_048_576.0),
        ] {
            push_series(&mut out, name, &inst, &[], zip(vec![val; n]));
        }
        // Full-precision float gauges.
        for name in [
            "model_gpu_utilization_ratio",
            "model_prediction_score_avg",
            "model_drift_score",
        ] {
            let mut g = rng.f64();
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    g = (g + rng.normal() * 0.01).clamp(0.0, 1.0);
                    g
                })
                .collect();
            push_series(&mut out, name, &inst, &[], zip(v));
        }
        // Counters that never move, one of which goes stale halfway.
        push_series(
            &mut out,
            "model_errors_total",
            &inst,
            &[],
            zip(vec![0.0; n]),
        );
        let mut v = vec![3.0; n];
        let cut = n / 3;
        v.truncate(cut);
        if cut > 0 {
            v.push(f64::from_bits(STALE_NAN_BITS));
        }
        push_series(
            &mut out,
            "model_reloads_total",
            &inst,
            &[],
            ts.iter().copied().zip(v).collect(),
        );
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Total number of samples in a generated data set.
pub fn num_samples(data: &[(Labels, Vec<(i64, f64)>)]) -> usize {
    data.iter().map(|s| s.1.len()).sum()
}
