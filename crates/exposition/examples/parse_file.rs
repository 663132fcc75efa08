//! Parses a metrics file repeatedly with the scrape path's `next_into`, for
//! instruction counts under cachegrind and quick timing:
//!
//! ```text
//! cargo build --release -p promlite-exposition --example parse_file
//! valgrind --tool=cachegrind target/release/examples/parse_file FILE [ROUNDS] [text|openmetrics] [eager|lazy|labels]
//! ```
//!
//! Modes: `eager` (default) is `next_into` with label sets parsed; `lazy` is
//! the scraper's skim path (`set_lazy_labels(true)`, only `series_bytes()`,
//! the value and the timestamp are used); `labels` is `next_into` plus a
//! built, sorted `Labels` per sample (`sample_labels`).
//!
//! Prints the samples per round, the mean CPU time per sample over all
//! rounds (the thread's CPU time, so other processes count less) and the
//! wall time per sample of the fastest round.

use std::time::Instant;

use promlite_exposition::{sample_labels, Format, Parsed, Parser, SampleEntry};

fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: parse_file FILE [ROUNDS] [text|openmetrics] [eager|lazy|labels]");
        std::process::exit(2);
    };
    let rounds: u32 = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(10);
    let format = match args.get(3).map(String::as_str) {
        Some("openmetrics") => Format::OpenMetrics,
        _ => Format::PrometheusText,
    };
    let mode = args.get(4).map_or("eager", String::as_str);
    if !matches!(mode, "eager" | "lazy" | "labels") {
        eprintln!("unknown mode {mode:?}: expected eager, lazy or labels");
        std::process::exit(2);
    }
    let lazy = mode == "lazy";
    let labels = mode == "labels";
    let body = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let mut samples = 0u64;
    let mut best = u64::MAX;
    let mut sum = 0.0;
    let cpu_start = thread_cpu_ns();
    for _ in 0..rounds {
        let start = Instant::now();
        let mut p = Parser::new(&body, format);
        p.set_lazy_labels(lazy);
        let mut s = SampleEntry::default();
        samples = 0;
        while let Some(r) = p.next_into(&mut s) {
            match r {
                Ok(Parsed::Sample) => {
                    samples += 1;
                    sum += s.value + s.labels.len() as f64;
                    if lazy {
                        sum += p.series_bytes().len() as f64;
                        if let Some(t) = s.timestamp_ms {
                            sum += t as f64;
                        }
                    }
                    if labels {
                        sum += sample_labels(&s).len() as f64;
                    }
                }
                Ok(Parsed::Other(_)) => {}
                Err(e) => {
                    eprintln!("{path}: {e}");
                    std::process::exit(1);
                }
            }
        }
        best = best.min(start.elapsed().as_nanos() as u64);
    }
    let cpu = match (cpu_start, thread_cpu_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    };
    let per = |ns: f64| ns / samples.max(1) as f64;
    println!(
        "{samples} samples/round, {rounds} rounds: mean CPU {:.1} ns/sample, best round wall {:.1} ns/sample (checksum {sum})",
        per(cpu as f64 / f64::from(rounds.max(1))),
        per(best as f64)
    );
}
