//! Starting, probing and stopping the three systems under test on loopback.

use std::path::{Path, PathBuf};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::measure::{dir_bytes, Probe};

/// The systems compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// `promlite serve` from `target/release/promlite`.
    Promlite,
    /// The Debian `prometheus` binary.
    Prometheus,
    /// The Debian `victoria-metrics` binary.
    Victoria,
}

impl System {
    /// Bytes the system keeps in its data directory `data`, measured after
    /// a graceful stop: VictoriaMetrics keeps recent parts in memory for a
    /// while even after `/internal/force_flush`, so a measurement while it
    /// runs undercounts it (a run measured 19 MiB that was 37 MiB on disk
    /// later). Its `cache/` directory (rebuildable caches) is left out.
    pub fn stored_bytes(self, data: &Path) -> u64 {
        let cache = if self == System::Victoria {
            dir_bytes(data, &["cache"])
        } else {
            0
        };
        dir_bytes(data, &[]).saturating_sub(cache)
    }

    /// All three, Prometheus first (it is the reference).
    pub const ALL: [System; 3] = [System::Prometheus, System::Promlite, System::Victoria];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            System::Promlite => "promlite",
            System::Prometheus => "Prometheus 2.42",
            System::Victoria => "VictoriaMetrics",
        }
    }

    /// Short name for file names.
    pub fn slug(self) -> &'static str {
        match self {
            System::Promlite => "promlite",
            System::Prometheus => "prometheus",
            System::Victoria => "victoria",
        }
    }
}

/// Paths of the binaries.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `promlite`.
    pub promlite: PathBuf,
    /// `prometheus`.
    pub prometheus: PathBuf,
    /// `promtool`.
    pub promtool: PathBuf,
    /// `victoria-metrics`.
    pub victoria: PathBuf,
}

/// A running server.
pub struct Server {
    /// Which system.
    pub system: System,
    /// Base URL, e.g. `http://127.0.0.1:9190`.
    pub url: String,
    /// CPU/RSS probe, started at spawn.
    pub probe: Probe,
    child: Child,
}

/// Starts `system` on `port` with data in `data`, scraping per `config`
/// (a prometheus.yml; `None` for no scraping), logging into `log`.
pub fn start(
    system: System,
    bins: &Binaries,
    port: u16,
    data: &Path,
    config: &Path,
    scrape: bool,
    log: &Path,
) -> anyhow::Result<Server> {
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = match system {
        System::Promlite => {
            let mut c = Command::new(&bins.promlite);
            c.arg("serve")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--storage.tsdb.retention.time=0s")
                .arg("--log.level=warn");
            c
        }
        System::Prometheus => {
            let mut c = Command::new(&bins.prometheus);
            c.arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--storage.tsdb.retention.time=10y")
                .arg("--log.level=warn");
            c
        }
        System::Victoria => {
            let mut c = Command::new(&bins.victoria);
            c.arg(format!("-storageDataPath={}", data.display()))
                .arg(format!("-httpListenAddr={addr}"))
                .arg("-retentionPeriod=10y")
                .arg("-search.latencyOffset=0s")
                .arg("-dedup.minScrapeInterval=0s")
                .arg("-search.disableCache")
                .arg("-loggerLevel=WARN");
            if scrape {
                c.arg(format!("-promscrape.config={}", config.display()));
            }
            c
        }
    };
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let probe = Probe::new(child.id())?;
    Ok(Server {
        system,
        url: format!("http://{addr}"),
        probe,
        child,
    })
}

impl Server {
    /// Waits until the readiness endpoint answers 200 (up to `timeout`).
    pub async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let path = match self.system {
            System::Victoria => "/health",
            _ => "/-/ready",
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                anyhow::bail!("{} exited early: {st}", self.system.name());
            }
            if let Ok(r) = http.get(format!("{}{path}", self.url)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} not ready after {timeout:?}",
                self.system.name()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Asks VictoriaMetrics to write its in-memory parts (no-op for others).
    pub async fn flush(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        if self.system == System::Victoria {
            http.get(format!("{}/internal/force_flush", self.url))
                .send()
                .await?
                .error_for_status()?;
        }
        Ok(())
    }

    /// Stops the server with SIGTERM (SIGKILL after 60 s).
    pub fn stop(mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a PromQL query (`range` = (start, end, step) in seconds) and
/// returns the latency and the decoded JSON answer.
pub async fn query(
    http: &reqwest::Client,
    url: &str,
    expr: &str,
    time: f64,
    range: Option<(f64, f64, f64)>,
) -> anyhow::Result<(Duration, serde_json::Value)> {
    let started = Instant::now();
    let req = match range {
        Some((s, e, step)) => http.get(format!("{url}/api/v1/query_range")).query(&[
            ("query", expr.to_string()),
            ("start", format!("{s}")),
            ("end", format!("{e}")),
            ("step", format!("{step}")),
        ]),
        None => http
            .get(format!("{url}/api/v1/query"))
            .query(&[("query", expr.to_string()), ("time", format!("{time}"))]),
    };
    let resp = req.send().await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    let elapsed = started.elapsed();
    Ok((elapsed, success_json(expr, status.as_u16(), &body)?))
}

/// A query API answer's JSON, which must be a success (`expr` and the
/// status name the failure otherwise).
pub fn success_json(expr: &str, status: u16, body: &[u8]) -> anyhow::Result<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_slice(body)
        .with_context(|| format!("{status}: {}", String::from_utf8_lossy(body)))?;
    anyhow::ensure!(
        json.get("status").and_then(|s| s.as_str()) == Some("success"),
        "{expr}: {json}"
    );
    Ok(json)
}

/// The single number of a one-element instant-vector answer.
pub fn scalar_of(json: &serde_json::Value) -> Option<f64> {
    json.pointer("/data/result/0/value/1")?
        .as_str()?
        .parse()
        .ok()
}
