//! The backfill run: load the dataset into each system, measure the load,
//! then time the query set and compare answers with Prometheus's.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::dataset::{prom_text_chunks, Dataset};
use crate::measure::run_measured;
use crate::queries::{run_set, QueryDef, QueryRun};
use crate::systems::{start, Binaries, System};

/// Measurements of one system in the backfill run.
#[derive(Debug)]
pub struct LoadResult {
    /// Wall seconds of the load.
    pub wall_s: f64,
    /// CPU seconds of the load (importer process, or the server for VM).
    pub cpu_s: f64,
    /// Peak RSS of the importer process (0 for VM: it loads in the server).
    pub import_peak_rss: u64,
    /// Bytes in the data directory after the load.
    pub disk: u64,
    /// promlite only: bytes of the one block that the server's compaction
    /// code makes of all the loaded blocks (see [`compact_all`]).
    pub compacted: Option<u64>,
    /// Server RSS once ready after the load (for VM: after the import).
    pub rss_loaded: u64,
    /// Server peak RSS after the query runs.
    pub rss_peak: u64,
    /// Per query of the set.
    pub queries: Vec<anyhow::Result<QueryRun>>,
}

/// Settings of the backfill run.
pub struct BackfillSettings<'a> {
    /// The binaries.
    pub bins: &'a Binaries,
    /// Working directory (data directories and logs go here).
    pub work: &'a Path,
    /// Port of the server under test.
    pub port: u16,
    /// The query set.
    pub queries: &'a [QueryDef],
    /// Timed repetitions per query.
    pub reps: usize,
}

const EMPTY_CONFIG: &str = "global:\n  scrape_interval: 15s\nscrape_configs: []\n";

/// Loads `ds` into `system` and runs the query set on it.
pub async fn run_one(
    system: System,
    ds: &Dataset,
    s: &BackfillSettings<'_>,
    http: &reqwest::Client,
) -> anyhow::Result<LoadResult> {
    let data = s.work.join(format!("backfill-{}", system.slug()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let config = s.work.join("empty.yml");
    std::fs::write(&config, EMPTY_CONFIG)?;
    let log = |what: &str| s.work.join(format!("{}-{what}.log", system.slug()));

    let (wall_s, cpu_s, import_peak_rss, mut server) = match system {
        System::Prometheus | System::Promlite => {
            let mut cmd = if system == System::Prometheus {
                let mut c = Command::new(&s.bins.promtool);
                c.args(["tsdb", "create-blocks-from", "openmetrics"])
                    .arg(&ds.path)
                    .arg(&data);
                c
            } else {
                let mut c = Command::new(&s.bins.promlite);
                c.args(["import", "openmetrics"])
                    .arg(&ds.path)
                    .arg(format!("--storage.tsdb.path={}", data.display()));
                c
            };
            let cost = run_measured(&mut cmd, &log("import"))?;
            let server = start(system, s.bins, s.port, &data, &config, false, &log("serve"))?;
            (cost.wall_s, cost.cpu_s, cost.max_rss, server)
        }
        System::Victoria => {
            let mut server = start(system, s.bins, s.port, &data, &config, false, &log("serve"))?;
            server.wait_ready(http, Duration::from_secs(60)).await?;
            let cpu0 = server.probe.cpu();
            let started = Instant::now();
            import_victoria(&server.url, ds, http).await?;
            server.flush(http).await?;
            let wall = started.elapsed().as_secs_f64();
            (wall, server.probe.cpu() - cpu0, 0, server)
        }
    };
    let result = async {
        server.wait_ready(http, Duration::from_secs(600)).await?;
        // Let start-up work (block loading, VM's merges) settle briefly.
        tokio::time::sleep(Duration::from_secs(5)).await;
        server.flush(http).await?;
        let rss_loaded = server.probe.rss();
        let end_s = (ds.max_ms / 1000) as f64;
        let step = 60.0;
        let start_s = ((ds.min_ms / 1000 + 600) as f64 / step).ceil() * step;
        let range = (start_s, (end_s / step).floor() * step, step);
        let queries = run_set(&server.url, s.queries, end_s, range, s.reps).await;
        Ok::<_, anyhow::Error>(LoadResult {
            wall_s,
            cpu_s,
            import_peak_rss,
            disk: 0,
            compacted: None,
            rss_loaded,
            rss_peak: server.probe.hwm(),
            queries,
        })
    }
    .await;
    server.stop();
    result.map(|mut r| {
        r.disk = system.stored_bytes(&data);
        if system == System::Promlite {
            match compact_all(&data, &s.work.join("compacted-promlite")) {
                Ok(bytes) => r.compacted = Some(bytes),
                Err(e) => eprintln!("  compacting promlite's blocks failed: {e:#}"),
            }
        }
        r
    })
}

/// Compacts every block under `data` into one block under `out` with
/// `promlite_tsdb::compact::compact` (what the server's background
/// compaction runs, without its rule that the newest block waits) and
/// returns the new block's bytes (chunk files + index, `stats.numBytes`).
pub fn compact_all(data: &Path, out: &Path) -> anyhow::Result<u64> {
    use std::sync::Arc;
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out)?;
    let mut blocks = Vec::new();
    for entry in std::fs::read_dir(data)? {
        let dir = entry?.path();
        if dir.join("meta.json").is_file() {
            blocks.push(Arc::new(promlite_tsdb::block::Block::open(&dir)?));
        }
    }
    blocks.sort_by_key(|b| b.meta().min_time);
    anyhow::ensure!(!blocks.is_empty(), "no blocks in {data:?}");
    let meta = promlite_tsdb::compact::compact(out, &blocks)?
        .ok_or_else(|| anyhow::anyhow!("compaction produced no block"))?;
    Ok(meta.stats.num_bytes)
}

/// Sends the dataset to VictoriaMetrics' `/api/v1/import/prometheus` in
/// chunks of about 8 MiB, one request at a time.
async fn import_victoria(url: &str, ds: &Dataset, http: &reqwest::Client) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(4);
    let path = ds.path.clone();
    let producer = tokio::task::spawn_blocking(move || {
        prom_text_chunks(&path, 8 << 20, |chunk| {
            tx.blocking_send(chunk)
                .map_err(|_| anyhow::anyhow!("import aborted"))
        })
    });
    let endpoint = format!("{url}/api/v1/import/prometheus");
    let mut failure = None;
    while let Some(chunk) = rx.recv().await {
        let r = http.post(&endpoint).body(chunk).send().await;
        match r.map(|r| r.error_for_status()) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) | Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(rx);
    if let Some(e) = failure {
        return Err(e.into());
    }
    producer.await??;
    Ok(())
}
