//! The seeded, deterministic data set: a simulated ML inference service
//! written as one OpenMetrics file that both `promtool tsdb
//! create-blocks-from openmetrics` and `promlite import openmetrics` read.
//!
//! Every series is sampled every 15 s for 3 h starting at `base` (a whole
//! hour). Each series has its own phase of whole seconds plus 250, 500 or
//! 750 ms, so no sample ever sits on a whole second: query times, steps,
//! ranges and offsets are whole seconds, which keeps every sample off every
//! range-selector and lookback boundary (Prometheus 2.42 closes those on the
//! left, 3.x leaves them open). The fractions are exact in binary, so
//! `seconds * 1000` gives the same millisecond in both parsers.

use std::fmt::Write as _;

/// Sample interval in seconds.
pub const INTERVAL_S: i64 = 15;
/// Length of the data set in seconds (3 h).
pub const SPAN_S: i64 = 3 * 3600;
/// Seed of the value generator.
const SEED: u64 = 0x5eed_2026_0003;

/// Model versions and instances used as label values.
pub const VERSIONS: [&str; 3] = ["v1", "v2", "v3-canary"];
/// Scrape targets of the inference service.
pub const INSTANCES: [&str; 4] = [
    "10.0.0.1:8000",
    "10.0.0.2:8000",
    "10.0.0.3:8000",
    "10.0.0.4:8000",
];
/// HTTP status codes of `model_requests_total`.
const STATUSES: [&str; 4] = ["200", "400", "500", "503"];
/// Latency bucket bounds, written as Prometheus 3 normalizes them.
const LATENCY_LE: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf"];
/// Confidence-score bucket bounds (the PSI rules of `examples/rules/mlops.yml`).
const CONFIDENCE_LE: [&str; 11] = [
    "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0", "+Inf",
];

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `[0, n)`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Builds the OpenMetrics text of the data set.
struct Writer {
    out: String,
    rng: Rng,
    base: i64,
    series: usize,
    samples: usize,
}

impl Writer {
    /// Timestamps (ms) of one series: `base` plus the phase of its target,
    /// then every 15 s, ending `stop_s` seconds after `base` (exclusive).
    fn times(&self, target: &str, stop_s: i64) -> Vec<i64> {
        let mut t = self.base * 1000 + phase_ms(target);
        let mut out = Vec::new();
        while t < (self.base + stop_s) * 1000 {
            out.push(t);
            t += INTERVAL_S * 1000;
        }
        out
    }

    /// Writes one series; `values` is called once per timestamp and
    /// returns the value text.
    fn series(
        &mut self,
        name: &str,
        labels: &str,
        target: &str,
        stop_s: i64,
        mut value: impl FnMut(&mut Rng, usize) -> String,
    ) {
        let times = self.times(target, stop_s);
        self.series += 1;
        for (i, t) in times.iter().enumerate() {
            let v = value(&mut self.rng, i);
            let _ = writeln!(
                self.out,
                "{name}{{{labels}}} {v} {}.{:03}",
                t.div_euclid(1000),
                t.rem_euclid(1000)
            );
            self.samples += 1;
        }
    }
}

/// The scrape phase of a target in ms after `base`: every series of one
/// target shares its timestamps, as with a real scrape.
pub fn phase_ms(target: &str) -> i64 {
    match INSTANCES.iter().position(|i| *i == target) {
        Some(0) => 3_250,
        Some(1) => 7_500,
        Some(2) => 11_750,
        Some(3) => 14_500,
        _ => 500,
    }
}

/// The generated file plus facts the queries need.
pub struct Dataset {
    /// The OpenMetrics text (ends with `# EOF`).
    pub text: String,
    /// Number of series written.
    pub series: usize,
    /// Number of samples written.
    pub samples: usize,
}

/// The instance whose `model_queue_depth` stops after two thirds of the span.
pub const STOPPED_INSTANCE: &str = "10.0.0.3:8000";
/// Seconds after `base` at which the stopped gauge ends.
pub const STOP_AFTER_S: i64 = 2 * 3600;

/// Generates the data set starting at `base` (seconds since the epoch).
pub fn generate(base: i64) -> Dataset {
    let mut w = Writer {
        out: String::new(),
        rng: Rng(SEED),
        base,
        series: 0,
        samples: 0,
    };
    let n_points = (SPAN_S / INTERVAL_S) as usize;

    // Requests by status: integer increments; one series resets halfway.
    w.out.push_str(
        "# TYPE model_requests counter\n# HELP model_requests Inference requests by HTTP status.\n",
    );
    for (vi, v) in VERSIONS.iter().enumerate() {
        for inst in INSTANCES {
            for (si, status) in STATUSES.iter().enumerate() {
                let scale = [40u64, 4, 2, 1][si] * (vi as u64 + 1);
                let reset = vi == 1 && inst == INSTANCES[1] && si == 0;
                let mut total = 0u64;
                let labels =
                    format!("instance=\"{inst}\",model_version=\"{v}\",status=\"{status}\"");
                w.series("model_requests_total", &labels, inst, SPAN_S, |r, i| {
                    // Counters start at 0 (a fresh process) and report
                    // before adding the interval's requests.
                    if reset && i == n_points / 2 {
                        total = 0;
                    }
                    let shown = total;
                    total += r.below(scale + 1);
                    shown.to_string()
                });
            }
        }
    }

    // CPU seconds: 2-decimal counters.
    w.out.push_str("# TYPE process_cpu_seconds counter\n");
    for v in VERSIONS {
        for inst in INSTANCES {
            let mut hundredths = 100_000 + w.rng.below(50_000);
            let labels = format!("instance=\"{inst}\",model_version=\"{v}\"");
            w.series(
                "process_cpu_seconds_total",
                &labels,
                inst,
                SPAN_S,
                |r, _| {
                    hundredths += 50 + r.below(1_400);
                    format!("{}.{:02}", hundredths / 100, hundredths % 100)
                },
            );
        }
    }

    // Confidence: a float gauge drifting down for the canary.
    w.out.push_str("# TYPE prediction_confidence gauge\n");
    for (vi, v) in VERSIONS.iter().enumerate() {
        for inst in INSTANCES {
            let labels = format!("instance=\"{inst}\",model_version=\"{v}\"");
            w.series("prediction_confidence", &labels, inst, SPAN_S, |r, i| {
                let drift = if vi == 2 {
                    i as f64 / n_points as f64 * 0.3
                } else {
                    0.0
                };
                let c = 0.92 - 0.04 * vi as f64 - drift + (r.unit() - 0.5) * 0.1;
                format!("{}", c.clamp(0.0, 1.0))
            });
        }
    }

    // Queue depth: an integer gauge; one series stops (staleness via lookback).
    w.out.push_str("# TYPE model_queue_depth gauge\n");
    for v in VERSIONS {
        for inst in INSTANCES {
            let stop = if v == "v1" && inst == STOPPED_INSTANCE {
                STOP_AFTER_S
            } else {
                SPAN_S
            };
            let labels = format!("instance=\"{inst}\",model_version=\"{v}\"");
            w.series("model_queue_depth", &labels, inst, stop, |r, _| {
                r.below(30).to_string()
            });
        }
    }

    // Static info metric for group_left joins.
    w.out.push_str("# TYPE model_info gauge\n");
    for (v, fw) in VERSIONS.iter().zip(["torch", "torch", "onnx"]) {
        let labels = format!("framework=\"{fw}\",model_version=\"{v}\"");
        w.series("model_info", &labels, "", SPAN_S, |_, _| "1".to_string());
    }

    histogram(
        &mut w,
        "request_latency_seconds",
        &LATENCY_LE,
        &INSTANCES,
        n_points,
        |vi, r| {
            // Latency in seconds, slower for the canary.
            -(1.0 - r.unit()).ln() * (0.12 + 0.1 * vi as f64)
        },
    );
    histogram(
        &mut w,
        "prediction_confidence_score",
        &CONFIDENCE_LE,
        &INSTANCES[..2],
        n_points,
        |vi, r| {
            let shift = if vi == 2 { 0.25 } else { 0.0 };
            (0.6 + 0.4 * r.unit() - shift * r.unit()).clamp(0.0, 1.0)
        },
    );

    w.out.push_str("# EOF\n");
    Dataset {
        text: w.out,
        series: w.series,
        samples: w.samples,
    }
}

/// Writes a classic histogram family: per (version, instance) a batch of
/// observations per interval, cumulative `_bucket` counts, `_sum`, `_count`.
fn histogram(
    w: &mut Writer,
    name: &str,
    les: &[&str],
    instances: &[&str],
    n_points: usize,
    mut observe: impl FnMut(usize, &mut Rng) -> f64,
) {
    let _ = writeln!(w.out, "# TYPE {name} histogram");
    for (vi, v) in VERSIONS.iter().enumerate() {
        for inst in instances {
            // Observations per interval, generated up front so the bucket,
            // sum and count series agree.
            let mut counts = vec![vec![0u64; les.len()]; n_points];
            let mut sums = vec![0.0f64; n_points];
            let (mut cum, mut sum) = (vec![0u64; les.len()], 0.0f64);
            for (i, row) in counts.iter_mut().enumerate() {
                // Each sample shows the totals before its interval's
                // observations, so every series starts at 0.
                row.clone_from(&cum);
                sums[i] = (sum * 1000.0).round() / 1000.0;
                for _ in 0..w.rng.below(12) {
                    // Observations rounded to milliseconds keep `_sum` short.
                    let x = (observe(vi, &mut w.rng) * 1000.0).round() / 1000.0;
                    sum += x;
                    for (b, le) in les.iter().enumerate() {
                        let bound = if *le == "+Inf" {
                            f64::INFINITY
                        } else {
                            le.parse().unwrap_or(f64::INFINITY)
                        };
                        if x <= bound {
                            cum[b] += 1;
                        }
                    }
                }
            }
            let base_labels = format!("instance=\"{inst}\",model_version=\"{v}\"");
            for (b, le) in les.iter().enumerate() {
                let labels = format!("{base_labels},le=\"{le}\"");
                w.series(&format!("{name}_bucket"), &labels, inst, SPAN_S, |_, i| {
                    counts
                        .get(i)
                        .and_then(|c| c.get(b))
                        .copied()
                        .unwrap_or(0)
                        .to_string()
                });
            }
            w.series(
                &format!("{name}_sum"),
                &base_labels,
                inst,
                SPAN_S,
                |_, i| format!("{}", sums.get(i).copied().unwrap_or(0.0)),
            );
            let last = les.len() - 1;
            w.series(
                &format!("{name}_count"),
                &base_labels,
                inst,
                SPAN_S,
                |_, i| {
                    counts
                        .get(i)
                        .and_then(|c| c.get(last))
                        .copied()
                        .unwrap_or(0)
                        .to_string()
                },
            );
        }
    }
}
