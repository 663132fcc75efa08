//! Parse cost over a generated, node-exporter-like body (~7.3k samples:
//! counters and gauges with 0–3 labels, summaries, histogram buckets, one
//! HELP/TYPE pair per family).
//!
//! Time is measured as this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, `support/cpu_time.rs`,
//! falling back to wall time), because the build machine is shared and wall
//! time would mostly measure other processes. The "thrpt" line is reported
//! directly as nanoseconds of CPU per sample.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::CpuTime;
use promlite_exposition::{parse_all, sample_labels, Format, Parsed, Parser, SampleEntry};

/// Builds the body; returns it with its sample count.
fn node_exporter_like(openmetrics: bool) -> (String, u64) {
    use std::fmt::Write;
    let mut b = String::new();
    let mut n = 0u64;
    let family = |b: &mut String, name: &str, typ: &str, help: &str| {
        let _ = writeln!(b, "# HELP {name} {help}");
        let _ = writeln!(b, "# TYPE {name} {typ}");
    };
    let modes = [
        "guest",
        "guest_nice",
        "idle",
        "iowait",
        "irq",
        "nice",
        "softirq",
        "steal",
        "system",
        "user",
    ];
    family(
        &mut b,
        "node_cpu_seconds_total",
        "counter",
        "Seconds the CPUs spent in each mode.",
    );
    for cpu in 0..64 {
        for (k, mode) in modes.iter().enumerate() {
            let _ = writeln!(
                b,
                "node_cpu_seconds_total{{cpu=\"{cpu}\",mode=\"{mode}\"}} {}.{:02}",
                1000 * cpu + 37 * k,
                k * 7 % 100
            );
            n += 1;
        }
    }
    for (name, typ) in [
        ("node_filesystem_avail_bytes", "gauge"),
        ("node_filesystem_size_bytes", "gauge"),
        ("node_filesystem_files_free", "gauge"),
        ("node_filesystem_readonly", "gauge"),
    ] {
        family(&mut b, name, typ, "Filesystem statistic.");
        for i in 0..100 {
            let _ = writeln!(
                b,
                "{name}{{device=\"/dev/nvme0n1p{i}\",fstype=\"ext4\",mountpoint=\"/var/lib/kubelet/pods/{i:08x}/volumes\"}} {}",
                4.1871663104e10 + f64::from(i) * 1.5e7
            );
            n += 1;
        }
    }
    for stat in [
        "receive_bytes",
        "transmit_bytes",
        "receive_packets",
        "transmit_packets",
        "receive_errs",
        "transmit_drop",
    ] {
        let name = format!("node_network_{stat}_total");
        family(&mut b, &name, "counter", "Network device statistic.");
        for dev in 0..150 {
            let _ = writeln!(
                b,
                "{name}{{device=\"veth{dev:05x}\"}} {}",
                1.0239891e9 + f64::from(dev) * 12345.0
            );
            n += 1;
        }
    }
    family(
        &mut b,
        "go_gc_duration_seconds",
        "summary",
        "A summary of the pause duration of GC cycles.",
    );
    for q in ["0", "0.25", "0.5", "0.75", "1"] {
        let _ = writeln!(b, "go_gc_duration_seconds{{quantile=\"{q}\"}} 3.3686e-05");
        n += 1;
    }
    let _ = writeln!(
        b,
        "go_gc_duration_seconds_sum 0.011409384\ngo_gc_duration_seconds_count 222"
    );
    n += 2;
    let bounds = [
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
    ];
    family(
        &mut b,
        "http_request_duration_seconds",
        "histogram",
        "Request latency.",
    );
    for h in 0..300 {
        let handler = format!("/api/v1/endpoint_{h}");
        for (k, le) in bounds.iter().enumerate() {
            let _ = writeln!(b, "http_request_duration_seconds_bucket{{handler=\"{handler}\",method=\"GET\",le=\"{le}\"}} {}", 10 * k + h);
            n += 1;
        }
        let _ = writeln!(
            b,
            "http_request_duration_seconds_sum{{handler=\"{handler}\",method=\"GET\"}} {}.25",
            h * 3
        );
        let _ = writeln!(
            b,
            "http_request_duration_seconds_count{{handler=\"{handler}\",method=\"GET\"}} {}",
            110 + h
        );
        n += 2;
    }
    for g in 0..1200 {
        let name = format!("process_gauge_{g}");
        family(&mut b, &name, "gauge", "A plain gauge.");
        let _ = writeln!(b, "{name} {}", f64::from(g) * 0.5);
        n += 1;
    }
    if openmetrics {
        b.push_str("# EOF\n");
    }
    (b, n)
}

fn bench(c: &mut Criterion<CpuTime>) {
    for (label, format) in [
        ("text", Format::PrometheusText),
        ("openmetrics", Format::OpenMetrics),
    ] {
        let (body, n) = node_exporter_like(format == Format::OpenMetrics);
        let body = body.into_bytes();
        // Sanity: the body parses and has the expected number of samples.
        let parsed = parse_all(&body, format).map(|v| v.len() as u64);
        assert_eq!(parsed, Ok(n), "generated body must parse");

        let mut g = c.benchmark_group(format!("parse_{label}"));
        g.throughput(Throughput::Elements(n));
        g.bench_function("next_into", |bch| {
            bch.iter(|| {
                let mut p = Parser::new(black_box(&body), format);
                let mut s = SampleEntry::default();
                let mut sum = 0.0;
                while let Some(r) = p.next_into(&mut s) {
                    if let Ok(Parsed::Sample) = r {
                        sum += s.value + s.labels.len() as f64;
                    }
                }
                sum
            })
        });
        g.bench_function("next_entry", |bch| {
            bch.iter(|| {
                let mut p = Parser::new(black_box(&body), format);
                let mut count = 0usize;
                while let Some(r) = p.next_entry() {
                    count += usize::from(r.is_ok());
                }
                count
            })
        });
        g.bench_function("parse_all_with_labels", |bch| {
            bch.iter(|| parse_all(black_box(&body), format).map(|v| v.len()))
        });
        g.finish();
    }

    // The simplest common shape alone: a counter with two short labels.
    let mut body = String::new();
    for i in 0..10_000 {
        body.push_str(&format!(
            "node_cpu_seconds_total{{cpu=\"{}\",mode=\"iowait\"}} {}.{}\n",
            i % 64,
            i * 7,
            i % 100
        ));
    }
    let body = body.into_bytes();
    let mut g = c.benchmark_group("parse_text_simple_lines");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("next_into", |bch| {
        bch.iter(|| {
            let mut p = Parser::new(black_box(&body), Format::PrometheusText);
            let mut s = SampleEntry::default();
            let mut sum = 0.0;
            while let Some(r) = p.next_into(&mut s) {
                if let Ok(Parsed::Sample) = r {
                    sum += s.value;
                }
            }
            sum
        })
    });
    g.finish();
}

/// Prometheus's own parser benchmark bodies, when present: the directory in
/// `PROMLITE_PROM_TESTDATA` holding `alltypes.237mfs.prom.txt`,
/// `alltypes.237mfs.nometa.prom.txt` (both from Prometheus's
/// `model/textparse/testdata/`), `promtestdata.txt` and
/// `promtestdata.nometa.txt` (the files its benchmark used until 2025).
/// Missing files are skipped. One iteration parses the whole file, as
/// Prometheus's `BenchmarkParsePromText` does; `lazy_skim` is the scraper's
/// path with lazy label sets; `with_labels` also builds each sample's sorted
/// label set, the counterpart of its `p.Labels(&res)`.
fn prometheus_testdata(c: &mut Criterion<CpuTime>) {
    let Some(dir) = std::env::var_os("PROMLITE_PROM_TESTDATA") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    for file in [
        "alltypes.237mfs.prom.txt",
        "alltypes.237mfs.nometa.prom.txt",
        "promtestdata.txt",
        "promtestdata.nometa.txt",
    ] {
        let Ok(body) = std::fs::read(dir.join(file)) else {
            eprintln!("skipping {file}: not in {}", dir.display());
            continue;
        };
        let n = match parse_all(&body, Format::PrometheusText) {
            Ok(v) => v.len() as u64,
            Err(e) => {
                eprintln!("skipping {file}: {e}");
                continue;
            }
        };
        eprintln!("{file}: {} bytes, {n} samples", body.len());
        let mut g = c.benchmark_group(format!("prometheus_testdata/{file}"));
        g.throughput(Throughput::Elements(n));
        g.bench_function("next_into", |bch| {
            bch.iter(|| {
                let mut p = Parser::new(black_box(&body), Format::PrometheusText);
                let mut s = SampleEntry::default();
                let mut sum = 0.0;
                while let Some(r) = p.next_into(&mut s) {
                    if let Ok(Parsed::Sample) = r {
                        sum += s.value + s.labels.len() as f64;
                    }
                }
                sum
            })
        });
        // The scraper's path for series its cache knows: label sets are
        // skimmed; only the raw series text, the value and the timestamp are used.
        g.bench_function("lazy_skim", |bch| {
            bch.iter(|| {
                let mut p = Parser::new(black_box(&body), Format::PrometheusText);
                p.set_lazy_labels(true);
                let mut s = SampleEntry::default();
                let mut sum = 0.0;
                while let Some(r) = p.next_into(&mut s) {
                    if let Ok(Parsed::Sample) = r {
                        sum += s.value + p.series_bytes().len() as f64;
                        if let Some(t) = s.timestamp_ms {
                            sum += t as f64;
                        }
                    }
                }
                sum
            })
        });
        g.bench_function("with_labels", |bch| {
            bch.iter(|| {
                let mut p = Parser::new(black_box(&body), Format::PrometheusText);
                let mut s = SampleEntry::default();
                let mut len = 0usize;
                while let Some(r) = p.next_into(&mut s) {
                    if let Ok(Parsed::Sample) = r {
                        len += sample_labels(&s).len();
                    }
                }
                len
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench, prometheus_testdata
}
criterion_main!(benches);
