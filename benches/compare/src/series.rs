//! Series templates shared by the backfill dataset and the live scrape
//! targets: what a node-exporter-like host and an ML model server expose, and
//! how each value evolves from one scrape to the next.
//!
//! Value kinds cover what costs a TSDB differently: integer counters, CPU
//! counters with two decimals, full-precision float gauges, integer gauges
//! and cumulative histogram buckets.

/// A deterministic 64-bit generator (splitmix64); the same seed gives the
/// same stream on every platform and every run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The splitmix64 finaliser: a stateless hash of one 64-bit word.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a list of words into one seed.
pub fn hash(words: &[u64]) -> u64 {
    words.iter().fold(0x5EED_u64, |acc, w| {
        mix(acc ^ w.wrapping_mul(0x100_0000_01B3))
    })
}

/// Rounds `v` to `d` decimals (the way an exporter prints CPU seconds).
fn round_to(v: f64, d: i32) -> f64 {
    let p = 10f64.powi(d);
    (v * p).round() / p
}

/// How one scalar series evolves.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Integer counter growing by about `rate` per second.
    IntCounter { rate: f64 },
    /// Counter with two decimals growing by about `rate` per second.
    CpuCounter { rate: f64 },
    /// Full-precision gauge wandering around `base` by up to `amp`.
    FloatGauge { base: f64, amp: f64 },
    /// Integer gauge wandering around `base` by up to `amp`.
    IntGauge { base: f64, amp: f64 },
    /// Gauge with two decimals (load averages).
    Gauge2 { base: f64, amp: f64 },
    /// A value that never changes.
    Constant { value: f64 },
}

/// One group of series that evolve together.
#[derive(Debug, Clone)]
pub enum Group {
    /// One scalar series.
    Scalar {
        /// Full sample name (with `_total` for counters).
        name: &'static str,
        /// Label pairs besides `instance` and `job`.
        labels: Vec<(&'static str, String)>,
        /// How the value moves.
        kind: Kind,
    },
    /// A classic histogram: buckets, `+Inf`, `_sum` and `_count`.
    Histogram {
        /// Family name (without `_bucket`).
        name: &'static str,
        /// Label pairs besides `instance`, `job` and `le`.
        labels: Vec<(&'static str, String)>,
        /// Upper bounds, ascending, without `+Inf`.
        bounds: Vec<f64>,
        /// Requests per second.
        rate: f64,
        /// Median latency in seconds.
        median: f64,
    },
}

/// The OpenMetrics family type of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyType {
    /// `counter` (samples end in `_total`).
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram`.
    Histogram,
}

impl FamilyType {
    /// The keyword of a `# TYPE` line.
    pub fn keyword(self) -> &'static str {
        match self {
            FamilyType::Counter => "counter",
            FamilyType::Gauge => "gauge",
            FamilyType::Histogram => "histogram",
        }
    }
}

impl Group {
    /// The family name (counters without `_total`) and its type.
    pub fn family(&self) -> (&'static str, FamilyType) {
        match self {
            Group::Scalar { name, kind, .. } => match kind {
                Kind::IntCounter { .. } | Kind::CpuCounter { .. } => (
                    name.strip_suffix("_total").unwrap_or(name),
                    FamilyType::Counter,
                ),
                _ => (name, FamilyType::Gauge),
            },
            Group::Histogram { name, .. } => (name, FamilyType::Histogram),
        }
    }

    /// Number of series in the group.
    pub fn len(&self) -> usize {
        match self {
            Group::Scalar { .. } => 1,
            Group::Histogram { bounds, .. } => bounds.len() + 3,
        }
    }

    /// The series of the group as `(name, extra label pairs)`; an `le`
    /// label is included for buckets.
    pub fn series(&self) -> Vec<(String, Vec<(&'static str, String)>)> {
        match self {
            Group::Scalar { name, labels, .. } => vec![(name.to_string(), labels.clone())],
            Group::Histogram {
                name,
                labels,
                bounds,
                ..
            } => {
                let mut out = Vec::with_capacity(bounds.len() + 3);
                let les = bounds
                    .iter()
                    .map(|b| format!("{b}"))
                    .chain(std::iter::once("+Inf".to_string()));
                for le in les {
                    let mut l = labels.clone();
                    l.push(("le", le));
                    out.push((format!("{name}_bucket"), l));
                }
                out.push((format!("{name}_sum"), labels.clone()));
                out.push((format!("{name}_count"), labels.clone()));
                out
            }
        }
    }
}

/// The evolving values of one group.
#[derive(Debug, Clone)]
pub struct GroupState {
    rng: Rng,
    /// Current values, one per series of the group, in `series()` order.
    pub values: Vec<f64>,
    phase: f64,
}

impl GroupState {
    /// Initial state of `group`, seeded by `seed`.
    pub fn new(group: &Group, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let phase = rng.unit() * std::f64::consts::TAU;
        let mut values = vec![0.0; group.len()];
        if let Group::Scalar { kind, .. } = group {
            values[0] = match kind {
                Kind::IntCounter { rate } => (rng.unit() * rate * 86_400.0).floor(),
                Kind::CpuCounter { rate } => round_to(rng.unit() * rate * 86_400.0, 2),
                Kind::Constant { value } => *value,
                _ => 0.0,
            };
        }
        let mut s = GroupState { rng, values, phase };
        if !matches!(
            group,
            Group::Scalar {
                kind: Kind::IntCounter { .. } | Kind::CpuCounter { .. },
                ..
            }
        ) {
            s.step(group, 0.0);
        }
        s
    }

    /// Advances the group by `dt` seconds.
    pub fn step(&mut self, group: &Group, dt: f64) {
        self.phase += dt / 3600.0;
        let wave = self.phase.sin();
        match group {
            Group::Scalar { kind, .. } => {
                let noise = self.rng.unit() - 0.5;
                let v = &mut self.values[0];
                match kind {
                    Kind::IntCounter { rate } => {
                        *v += (rate * dt * (1.0 + 0.5 * wave + noise)).max(0.0).round();
                    }
                    Kind::CpuCounter { rate } => {
                        let inc = (rate * dt * (1.0 + 0.3 * wave + 0.5 * noise)).max(0.0);
                        *v = round_to(*v + inc, 2);
                    }
                    Kind::FloatGauge { base, amp } => {
                        *v = base + amp * (0.7 * wave + 0.6 * noise);
                    }
                    Kind::IntGauge { base, amp } => {
                        *v = (base + amp * (0.7 * wave + 0.6 * noise)).round().max(0.0);
                    }
                    Kind::Gauge2 { base, amp } => {
                        *v = round_to((base + amp * (0.7 * wave + 0.6 * noise)).max(0.0), 2);
                    }
                    Kind::Constant { value } => *v = *value,
                }
            }
            Group::Histogram {
                bounds,
                rate,
                median,
                ..
            } => {
                let n = (rate * dt * (1.0 + 0.4 * wave) * (0.8 + 0.4 * self.rng.unit()))
                    .max(0.0)
                    .round() as u64;
                // Latencies are log-normal around the median; at most 64
                // draws per step keep generation cheap, scaled up to `n`.
                let draws = n.min(64);
                let mut per_bucket = vec![0u64; bounds.len() + 1];
                let mut sum = 0.0;
                for _ in 0..draws {
                    let z = self.rng.unit() + self.rng.unit() + self.rng.unit() - 1.5;
                    let lat = median * (z * 1.4).exp();
                    sum += lat;
                    let idx = bounds
                        .iter()
                        .position(|b| lat <= *b)
                        .unwrap_or(bounds.len());
                    per_bucket[idx] += 1;
                }
                if let Some(scale) = n.checked_div(draws) {
                    for c in per_bucket.iter_mut() {
                        *c *= scale;
                    }
                    // The remainder of the scaling goes to the fullest bucket.
                    let fullest = (0..per_bucket.len())
                        .max_by_key(|i| per_bucket[*i])
                        .unwrap_or(0);
                    per_bucket[fullest] += n - scale * draws;
                    let mut cum = 0u64;
                    for (i, c) in per_bucket.iter().enumerate() {
                        cum += c;
                        self.values[i] += cum as f64;
                    }
                    let k = self.values.len();
                    self.values[k - 2] += sum * n as f64 / draws as f64;
                    self.values[k - 1] += n as f64;
                }
            }
        }
    }
}

fn lbl(k: &'static str, v: impl Into<String>) -> (&'static str, String) {
    (k, v.into())
}

/// The 50 series of a node-exporter-like host.
pub fn host_groups() -> Vec<Group> {
    let mut g = Vec::new();
    let modes = [
        ("idle", 0.7),
        ("user", 0.15),
        ("system", 0.06),
        ("iowait", 0.02),
        ("irq", 0.002),
        ("softirq", 0.01),
        ("steal", 0.001),
        ("nice", 0.003),
    ];
    for cpu in 0..4 {
        for (mode, rate) in modes {
            g.push(Group::Scalar {
                name: "node_cpu_seconds_total",
                labels: vec![lbl("cpu", cpu.to_string()), lbl("mode", mode)],
                kind: Kind::CpuCounter { rate },
            });
        }
    }
    let scalar = |name, labels, kind| Group::Scalar { name, labels, kind };
    g.push(scalar(
        "node_memory_MemTotal_bytes",
        vec![],
        Kind::Constant {
            value: 33_546_379_264.0,
        },
    ));
    g.push(scalar(
        "node_memory_MemAvailable_bytes",
        vec![],
        Kind::IntGauge {
            base: 2.1e10,
            amp: 2e9,
        },
    ));
    for (n, base) in [
        ("node_load1", 1.2),
        ("node_load5", 1.1),
        ("node_load15", 1.0),
    ] {
        g.push(scalar(n, vec![], Kind::Gauge2 { base, amp: 0.8 }));
    }
    for dev in ["eth0", "eth1"] {
        g.push(scalar(
            "node_network_receive_bytes_total",
            vec![lbl("device", dev)],
            Kind::IntCounter { rate: 250_000.0 },
        ));
        g.push(scalar(
            "node_network_transmit_bytes_total",
            vec![lbl("device", dev)],
            Kind::IntCounter { rate: 120_000.0 },
        ));
    }
    for dev in ["sda", "sdb"] {
        g.push(scalar(
            "node_disk_read_bytes_total",
            vec![lbl("device", dev)],
            Kind::IntCounter { rate: 40_000.0 },
        ));
        g.push(scalar(
            "node_disk_written_bytes_total",
            vec![lbl("device", dev)],
            Kind::IntCounter { rate: 90_000.0 },
        ));
    }
    for mp in ["/", "/data"] {
        g.push(scalar(
            "node_filesystem_avail_bytes",
            vec![lbl("mountpoint", mp)],
            Kind::IntGauge {
                base: 1.5e11,
                amp: 1e8,
            },
        ));
    }
    for sensor in ["temp1", "temp2"] {
        g.push(scalar(
            "node_hwmon_temp_celsius",
            vec![lbl("chip", "platform_coretemp_0"), lbl("sensor", sensor)],
            Kind::FloatGauge {
                base: 55.0,
                amp: 8.0,
            },
        ));
    }
    g.push(scalar(
        "node_context_switches_total",
        vec![],
        Kind::IntCounter { rate: 9_000.0 },
    ));
    g
}

/// The series of an ML model server hosting `models` models
/// (23 per model + 7 per process).
pub fn model_groups(models: usize) -> Vec<Group> {
    let bounds = vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
    let mut g = Vec::new();
    for m in 0..models {
        let model = format!("model-{m}");
        let rate = 5.0 + (m % 7) as f64 * 3.0;
        for (status, share) in [("200", 0.98), ("500", 0.02)] {
            g.push(Group::Scalar {
                name: "model_requests_total",
                labels: vec![lbl("model", model.clone()), lbl("status", status)],
                kind: Kind::IntCounter { rate: rate * share },
            });
        }
        g.push(Group::Histogram {
            name: "model_request_duration_seconds",
            labels: vec![lbl("model", model.clone())],
            bounds: bounds.clone(),
            rate,
            median: 0.04 + 0.01 * (m % 5) as f64,
        });
        g.push(Group::Scalar {
            name: "model_prediction_confidence",
            labels: vec![lbl("model", model.clone())],
            kind: Kind::FloatGauge {
                base: 0.82,
                amp: 0.1,
            },
        });
        for f in 0..7 {
            g.push(Group::Scalar {
                name: "model_feature_drift_score",
                labels: vec![lbl("model", model.clone()), lbl("feature", format!("f{f}"))],
                kind: Kind::FloatGauge {
                    base: 0.1,
                    amp: 0.05,
                },
            });
        }
    }
    for gpu in ["0", "1"] {
        g.push(Group::Scalar {
            name: "model_gpu_utilization_ratio",
            labels: vec![lbl("gpu", gpu)],
            kind: Kind::FloatGauge {
                base: 0.6,
                amp: 0.3,
            },
        });
        g.push(Group::Scalar {
            name: "model_gpu_memory_used_bytes",
            labels: vec![lbl("gpu", gpu)],
            kind: Kind::IntGauge {
                base: 1.2e10,
                amp: 1e9,
            },
        });
    }
    g.push(Group::Scalar {
        name: "process_cpu_seconds_total",
        labels: vec![],
        kind: Kind::CpuCounter { rate: 1.3 },
    });
    g.push(Group::Scalar {
        name: "model_queue_depth",
        labels: vec![],
        kind: Kind::IntGauge {
            base: 12.0,
            amp: 10.0,
        },
    });
    g.push(Group::Scalar {
        name: "process_resident_memory_bytes",
        labels: vec![],
        kind: Kind::IntGauge {
            base: 3.4e9,
            amp: 2e8,
        },
    });
    g
}

/// Total series of a list of groups.
pub fn series_count(groups: &[Group]) -> usize {
    groups.iter().map(Group::len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_have_expected_sizes() {
        assert_eq!(series_count(&host_groups()), 50);
        assert_eq!(series_count(&model_groups(2)), 2 * 23 + 7);
    }

    #[test]
    fn histogram_stays_cumulative_and_monotonic() {
        let g = &model_groups(1)[2];
        let mut s = GroupState::new(g, 7);
        let mut prev = s.values.clone();
        for _ in 0..50 {
            s.step(g, 15.0);
            let b = &s.values[..11];
            assert!(b.windows(2).all(|w| w[0] <= w[1]), "{b:?}");
            assert_eq!(s.values[10], s.values[12], "+Inf bucket equals count");
            assert!(s.values.iter().zip(&prev).all(|(a, p)| a >= p));
            prev = s.values.clone();
        }
    }

    #[test]
    fn same_seed_same_values() {
        let g = &host_groups()[0];
        let (mut a, mut b) = (GroupState::new(g, 1), GroupState::new(g, 1));
        for _ in 0..10 {
            a.step(g, 15.0);
            b.step(g, 15.0);
        }
        assert_eq!(a.values, b.values);
    }
}
