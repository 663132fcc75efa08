//! `promlite-compare`: loads one seeded dataset into promlite, Prometheus
//! and VictoriaMetrics, times a standard query set and compares every answer
//! with Prometheus's, then lets each system scrape the same synthetic
//! targets; writes a Markdown report. See `benches/compare/README.md`.

mod backfill;
mod client;
mod dataset;
mod measure;
mod queries;
mod report;
mod scrape;
mod series;
mod systems;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::systems::{Binaries, System};

/// Command-line options.
#[derive(Parser, Debug)]
#[command(about = "Side-by-side benchmark: promlite vs Prometheus vs VictoriaMetrics")]
struct Args {
    /// Approximate number of series in the backfill dataset (0: skip the backfill run).
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Hours of data in the backfill dataset.
    #[arg(long, default_value_t = 6.0)]
    hours: f64,
    /// Scrape interval of the backfill dataset, seconds.
    #[arg(long, default_value_t = 15)]
    interval: u64,
    /// First timestamp of the dataset, Unix seconds (default 2026-11-01T00:00:00Z).
    #[arg(long, default_value_t = 1_793_491_200)]
    start: i64,
    /// RNG seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Backfill dataset generator: `noisy` (hard to compress on purpose,
    /// with the standard query set) or `field` (the storage tests'
    /// realistic scrape data; no query set).
    #[arg(long, value_enum, default_value_t = dataset::Profile::Noisy)]
    profile: dataset::Profile,
    /// Query set of the `noisy` profile: `standard` (12 queries) or
    /// `broad` (those and 48 more shapes).
    #[arg(long, value_enum, default_value_t = queries::QuerySetName::Standard)]
    query_set: queries::QuerySetName,
    /// Timed repetitions per query (the median is reported; sub-millisecond
    /// queries need more than a handful for a stable one).
    #[arg(long, default_value_t = 21)]
    reps: usize,
    /// Synthetic targets of the scrape run (0: skip the scrape run).
    #[arg(long, default_value_t = 50)]
    targets: usize,
    /// Minutes each system scrapes.
    #[arg(long, default_value_t = 3.0)]
    minutes: f64,
    /// Scrape interval of the scrape run, seconds.
    #[arg(long, default_value_t = 5)]
    scrape_interval: u64,
    /// Systems to run (comma-separated: prometheus,promlite,victoria).
    #[arg(
        long,
        default_value = "prometheus,promlite,victoria",
        value_delimiter = ','
    )]
    systems: Vec<String>,
    /// Working directory for data and logs (removed first if it exists).
    #[arg(long, default_value = "target/compare-work")]
    work: PathBuf,
    /// First port used (the server under test; targets from port+10).
    #[arg(long, default_value_t = 29_100)]
    port: u16,
    /// The promlite binary.
    #[arg(long, default_value = "target/release/promlite")]
    promlite: PathBuf,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "docs/benchmarks-compare.md")]
    out: PathBuf,
}

fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn parse_systems(names: &[String]) -> anyhow::Result<Vec<System>> {
    let mut out = Vec::new();
    for sys in System::ALL {
        if names.iter().any(|n| n == sys.slug()) {
            out.push(sys);
        }
    }
    for n in names {
        anyhow::ensure!(
            System::ALL.iter().any(|s| s.slug() == n),
            "unknown system {n:?} (want prometheus, promlite, victoria)"
        );
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let systems = parse_systems(&args.systems)?;
    let bins = Binaries {
        promlite: std::fs::canonicalize(&args.promlite).map_err(|e| {
            anyhow::anyhow!(
                "{:?}: {e}; build it with `cargo build --release --bin promlite`",
                args.promlite
            )
        })?,
        prometheus: "prometheus".into(),
        promtool: "promtool".into(),
        victoria: "victoria-metrics".into(),
    };
    let _ = std::fs::remove_dir_all(&args.work);
    std::fs::create_dir_all(&args.work)?;
    let work = std::fs::canonicalize(&args.work)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let (load0, when0) = (measure::loadavg(), utc_now());
    eprintln!("[{when0}] load {load0}");

    let query_set = match args.profile {
        dataset::Profile::Noisy => queries::named_set(args.query_set),
        dataset::Profile::Field => Vec::new(),
    };
    let (mut ds, mut gen_s, mut loads) = (None, 0.0, Vec::new());
    if args.series > 0 {
        let spec = dataset::DatasetSpec {
            profile: args.profile,
            series: args.series,
            hours: args.hours,
            interval_s: args.interval,
            start_ms: args.start * 1000,
            seed: args.seed,
        };
        let t = Instant::now();
        let d = dataset::generate(&spec, &work)?;
        gen_s = t.elapsed().as_secs_f64();
        eprintln!(
            "[{}] dataset: {} series, {} samples, {} bytes",
            utc_now(),
            d.series,
            d.samples,
            d.bytes
        );
        let settings = backfill::BackfillSettings {
            bins: &bins,
            work: &work,
            port: args.port,
            queries: &query_set,
            reps: args.reps,
        };
        for sys in &systems {
            eprintln!("[{}] backfill: {}", utc_now(), sys.name());
            let r = backfill::run_one(*sys, &d, &settings, &http).await;
            if let Err(e) = &r {
                eprintln!("  failed: {e:#}");
            }
            loads.push((*sys, r));
        }
        ds = Some(d);
    }

    let (mut scrapes, mut scrape_settings) = (Vec::new(), None);
    if args.targets > 0 {
        let tport = args.port + 10;
        let (addrs, per_target, tasks) =
            scrape::serve_targets(args.targets, tport, args.seed).await?;
        let config = work.join("prometheus.yml");
        std::fs::write(&config, scrape::scrape_config(&addrs, args.scrape_interval))?;
        for sys in &systems {
            eprintln!("[{}] scrape: {}", utc_now(), sys.name());
            let r =
                scrape::run_one(*sys, &bins, &work, args.port, &config, args.minutes, &http).await;
            if let Err(e) = &r {
                eprintln!("  failed: {e:#}");
            }
            scrapes.push((*sys, r));
        }
        for t in tasks {
            t.abort();
        }
        scrape_settings = Some((args.targets, per_target, args.scrape_interval, args.minutes));
    }

    let input = report::ReportInput {
        command,
        load: (load0, measure::loadavg()),
        when: (when0, utc_now()),
        bins: &bins,
        dataset: ds.as_ref(),
        gen_s,
        profile: args.profile,
        loads: &loads,
        queries: &query_set,
        reps: args.reps,
        scrape_settings,
        scrapes: &scrapes,
    };
    let text = report::render(&input);
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, &text)?;
    eprintln!("[{}] wrote {:?}", utc_now(), args.out);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_system_lists() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_systems(&v(&["victoria", "promlite"])).unwrap(),
            vec![System::Promlite, System::Victoria]
        );
        assert!(parse_systems(&v(&["influx"])).is_err());
        assert_eq!(utc_now().len(), 19);
    }
}
