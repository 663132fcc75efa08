//! The scrape-path run: N synthetic targets (about 1,000 series each,
//! values changing every scrape) served by this process, scraped by each
//! system in turn with the same `prometheus.yml`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::Mutex;

use crate::measure::dir_bytes;
use crate::series::{hash, host_groups, model_groups, series_count, Group, GroupState};
use crate::systems::{query, scalar_of, start, Binaries, System};

/// The groups of one live target: one host's series plus a model server
/// with 41 models (50 + 950 = 1,000 series).
pub fn target_groups() -> Vec<Group> {
    let mut g = host_groups();
    g.extend(model_groups(41));
    // Families must be contiguous in the exposition: stable-sort by the
    // first appearance of each family.
    let mut first: Vec<&'static str> = Vec::new();
    for x in &g {
        let f = x.family().0;
        if !first.contains(&f) {
            first.push(f);
        }
    }
    g.sort_by_key(|x| first.iter().position(|f| *f == x.family().0));
    g
}

struct Target {
    groups: Arc<Vec<Group>>,
    state: Mutex<(Vec<GroupState>, Instant)>,
}

/// Renders the current values in the Prometheus text format 0.0.4.
fn render(groups: &[Group], states: &[GroupState]) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let mut last_family = "";
    for (g, s) in groups.iter().zip(states) {
        let (family, ty) = g.family();
        if family != last_family {
            let typed = match g {
                Group::Scalar { name, .. } => name,
                Group::Histogram { name, .. } => name,
            };
            let _ = writeln!(out, "# TYPE {typed} {}", ty.keyword());
            last_family = family;
        }
        for ((name, labels), v) in g.series().iter().zip(&s.values) {
            out.push_str(name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (k, val)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{val}\"");
                }
                out.push('}');
            }
            let _ = writeln!(out, " {v}");
        }
    }
    out
}

async fn metrics(State(t): State<Arc<Target>>) -> impl IntoResponse {
    let mut st = t.state.lock().await;
    let dt = st.1.elapsed().as_secs_f64();
    st.1 = Instant::now();
    for (g, s) in t.groups.iter().zip(st.0.iter_mut()) {
        s.step(g, dt);
    }
    let body = render(&t.groups, &st.0);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

/// Serves `n` targets on consecutive ports from `port`; returns the
/// addresses, the series per target, and the server tasks.
pub async fn serve_targets(
    n: usize,
    port: u16,
    seed: u64,
) -> anyhow::Result<(Vec<String>, usize, Vec<tokio::task::JoinHandle<()>>)> {
    let groups = Arc::new(target_groups());
    let per_target = series_count(&groups);
    let (mut addrs, mut tasks) = (Vec::new(), Vec::new());
    for i in 0..n {
        let addr = format!("127.0.0.1:{}", port as usize + i);
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let states = groups
            .iter()
            .enumerate()
            .map(|(gi, g)| GroupState::new(g, hash(&[seed, 99, i as u64, gi as u64])))
            .collect();
        let target = Arc::new(Target {
            groups: groups.clone(),
            state: Mutex::new((states, Instant::now())),
        });
        let app = axum::Router::new()
            .route("/metrics", get(metrics))
            .with_state(target);
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
        addrs.push(addr);
    }
    Ok((addrs, per_target, tasks))
}

/// The shared scrape configuration.
pub fn scrape_config(targets: &[String], interval_s: u64) -> String {
    let list = targets
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "global:\n  scrape_interval: {interval_s}s\n  scrape_timeout: {interval_s}s\n\
         scrape_configs:\n  - job_name: synthetic\n    static_configs:\n      - targets: [{list}]\n"
    )
}

/// Measurements of one system in the scrape run.
#[derive(Debug, Clone)]
pub struct ScrapeResult {
    /// Wall seconds the system ran before measuring.
    pub wall_s: f64,
    /// CPU seconds over that time (start-up included).
    pub cpu_s: f64,
    /// RSS at the end.
    pub rss: u64,
    /// Peak RSS.
    pub rss_peak: u64,
    /// Bytes in the data directory (after a flush for VM).
    pub disk: u64,
    /// Bytes of the WAL (`wal/` + `chunks_head/`; VM has none).
    pub wal: u64,
    /// Samples stored for the job, counted with `count_over_time`.
    pub samples: f64,
    /// Series of the job at the end (`count({job="synthetic"})`).
    pub series: f64,
    /// CPU seconds from the end of the warm-up ([`warm_up`]) to the end of
    /// the window: the steady state, without start-up work.
    pub steady_cpu_s: f64,
    /// Samples of the job stored over that same part of the window.
    pub steady_samples: f64,
    /// `(minutes since start, RSS bytes)`, read once a minute.
    pub rss_timeline: Vec<(f64, u64)>,
}

/// The part of a window of `minutes` that is left out of the steady-state
/// figures: a minute, or a third of a shorter window.
pub fn warm_up(minutes: f64) -> Duration {
    Duration::from_secs_f64((minutes * 60.0 / 3.0).min(60.0))
}

fn unix_now() -> anyhow::Result<f64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs_f64())
}

/// Samples of the job in the last `window`, summed metric name by metric
/// name (`count_over_time` drops the name, so one query over all names
/// would collide).
async fn count_samples(
    http: &reqwest::Client,
    url: &str,
    window: &str,
    now: f64,
) -> anyhow::Result<f64> {
    let names: serde_json::Value = http
        .get(format!("{url}/api/v1/label/__name__/values"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let names = names
        .get("data")
        .and_then(|d| d.as_array())
        .cloned()
        .unwrap_or_default();
    let mut total = 0.0;
    for name in names.iter().filter_map(|n| n.as_str()) {
        let q =
            format!("sum(count_over_time({{__name__=\"{name}\",job=\"synthetic\"}}[{window}]))");
        let (_, json) = query(http, url, &q, now, None).await?;
        total += scalar_of(&json).unwrap_or(0.0);
    }
    Ok(total)
}

/// Runs `system` against the targets for `minutes`.
pub async fn run_one(
    system: System,
    bins: &Binaries,
    work: &Path,
    port: u16,
    config: &Path,
    minutes: f64,
    http: &reqwest::Client,
) -> anyhow::Result<ScrapeResult> {
    let data = work.join(format!("scrape-{}", system.slug()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let log = work.join(format!("{}-scrape.log", system.slug()));
    let mut server = start(system, bins, port, &data, config, true, &log)?;
    let result = async {
        server.wait_ready(http, Duration::from_secs(60)).await?;
        let window = Duration::from_secs_f64(minutes * 60.0);
        let warm = warm_up(minutes);
        let mut rss_timeline = Vec::new();
        let mut warm_mark: Option<(f64, f64)> = None; // (unix time, CPU seconds)
        loop {
            let elapsed = server.probe.wall();
            if warm_mark.is_none() && elapsed >= warm {
                warm_mark = Some((unix_now()?, server.probe.cpu()));
            }
            if elapsed >= window {
                break;
            }
            let next_minute = Duration::from_secs((elapsed.as_secs() / 60 + 1) * 60);
            let mut next = next_minute.min(window);
            if warm_mark.is_none() {
                next = next.min(warm);
            }
            tokio::time::sleep(next.saturating_sub(elapsed)).await;
            let at = server.probe.wall();
            if at >= next_minute || at >= window {
                rss_timeline.push((at.as_secs_f64() / 60.0, server.probe.rss()));
            }
        }
        let (wall_s, cpu_s) = (server.probe.wall().as_secs_f64(), server.probe.cpu());
        let end_unix = unix_now()?;
        let (rss, rss_peak) = (server.probe.rss(), server.probe.hwm());
        server.flush(http).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = unix_now()?;
        let window = format!("{}s", (minutes * 60.0).ceil() as u64 + 120);
        let samples = count_samples(http, &server.url, &window, now).await?;
        let (steady_cpu_s, steady_samples) = match warm_mark {
            Some((t0, c0)) => {
                let ms = ((end_unix - t0) * 1000.0).round().max(1.0) as u64;
                let n = count_samples(http, &server.url, &format!("{ms}ms"), end_unix).await?;
                (cpu_s - c0, n)
            }
            None => (0.0, 0.0),
        };
        let (_, cj) = query(http, &server.url, "count({job=\"synthetic\"})", now, None).await?;
        Ok::<_, anyhow::Error>(ScrapeResult {
            wall_s,
            cpu_s,
            rss,
            rss_peak,
            disk: 0,
            wal: 0,
            samples,
            series: scalar_of(&cj).unwrap_or(0.0),
            steady_cpu_s,
            steady_samples,
            rss_timeline,
        })
    }
    .await;
    server.stop();
    result.map(|mut r| {
        r.disk = system.stored_bytes(&data);
        r.wal = dir_bytes(&data, &["wal", "chunks_head"]);
        r
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_has_1000_series_with_contiguous_families() {
        let g = target_groups();
        assert_eq!(series_count(&g), 1000);
        let states: Vec<GroupState> = g.iter().map(|x| GroupState::new(x, 1)).collect();
        let text = render(&g, &states);
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
        let mut uniq = types.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(types.len(), uniq.len(), "a family is split");
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 1000);
    }
}
