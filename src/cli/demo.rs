//! `promlite demo`: the simulated model server plus promlite scraping it,
//! in one process with no set-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use promlite_demo_model::{DemoModel, DemoOptions};
use tokio::net::TcpListener;

use super::serve::{init_logging, CommonArgs};

/// What `demo` was asked for.
pub struct DemoArgs {
    pub listen_address: String,
    pub storage_path: PathBuf,
    pub model_address: String,
    pub drift_after: Option<String>,
    pub drift_ramp: String,
    pub scrape_interval: String,
    pub rps: f64,
    pub common: CommonArgs,
}

/// The embedded configuration: the model and promlite itself.
fn demo_config(model: SocketAddr, promlite: SocketAddr, interval: &str) -> String {
    [
        "# Written by `promlite demo`; regenerated at each start.".to_string(),
        "global:".into(),
        format!("  scrape_interval: {interval}"),
        format!("  evaluation_interval: {interval}"),
        "scrape_configs:".into(),
        "  - job_name: demo-model".into(),
        "    static_configs:".into(),
        format!("      - targets: [\"{model}\"]"),
        "  - job_name: promlite".into(),
        "    static_configs:".into(),
        format!("      - targets: [\"{promlite}\"]"),
        String::new(),
    ]
    .join("\n")
}

async fn bind_model(addr: &str) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e) => {
            tracing::warn!("demo model: cannot listen on {addr} ({e}); using a free port");
            TcpListener::bind("127.0.0.1:0")
                .await
                .context("demo model listener")
        }
    }
}

fn loopback(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// Runs `promlite demo` until Ctrl-C / SIGTERM.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    init_logging(&args.common.log_level)?;
    let drift_after = match &args.drift_after {
        Some(s) => Some(
            promlite_demo_model::parse_duration(s)
                .map_err(|e| anyhow::anyhow!("--drift-after={s}: {e}"))?,
        ),
        None => None,
    };
    let drift_ramp = promlite_demo_model::parse_duration(&args.drift_ramp)
        .map_err(|e| anyhow::anyhow!("--drift-ramp={}: {e}", args.drift_ramp))?;
    std::fs::create_dir_all(&args.storage_path)
        .with_context(|| format!("creating {}", args.storage_path.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // Bind promlite's port first so the config can name it.
        let promlite_listener =
            std::net::TcpListener::bind(&args.listen_address).with_context(|| {
                format!("listening on --web.listen-address={}", args.listen_address)
            })?;
        let promlite_addr = loopback(promlite_listener.local_addr()?);
        drop(promlite_listener);

        let model = DemoModel::new(DemoOptions {
            drift_after,
            drift_ramp,
            ..DemoOptions::default()
        });
        let model_listener = bind_model(&args.model_address).await?;
        let model_addr = loopback(model_listener.local_addr()?);
        let app = model.router();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let model_server = tokio::spawn(async move {
            let r = axum::serve(model_listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
            if let Err(e) = r {
                tracing::error!("demo model server: {e}");
            }
        });
        let traffic = model.spawn_traffic(args.rps);

        let config_file = args.storage_path.join("promlite-demo.yml");
        std::fs::write(
            &config_file,
            demo_config(model_addr, promlite_addr, &args.scrape_interval),
        )
        .with_context(|| format!("writing {}", config_file.display()))?;
        let opts = args.common.options(
            config_file.clone(),
            args.storage_path.clone(),
            promlite_addr.to_string(),
        );
        let data_dir = args.storage_path.clone();
        let result = crate::server::run(
            opts,
            move |addr| print_banner(loopback(addr), model_addr, &data_dir, &config_file),
            std::future::pending(),
        )
        .await;

        traffic.stop().await;
        let _ = stop_tx.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), model_server).await;
        result
    })
}

fn print_banner(promlite: SocketAddr, model: SocketAddr, data_dir: &Path, config: &Path) {
    println!(
        "\npromlite demo is running (Ctrl-C to stop)\n\n\
  promlite API     http://{promlite}/api/v1/query?query=up\n\
  Grafana source   http://{promlite}   (type: Prometheus)\n\
  demo model       http://{model}/metrics   (POST /admin/drift to start drift)\n\
  data directory   {data}\n\
  config           {config}\n\n\
Queries to try:\n\
  sum by (endpoint, status) (rate(model_requests_total[1m]))\n\
  histogram_quantile(0.99, sum by (le) (rate(inference_latency_seconds_bucket[1m])))\n\
  avg(prediction_confidence)\n\
  histogram_quantile(0.5, sum by (le) (rate(prediction_confidence_score_bucket[5m])))\n",
        data = data_dir.display(),
        config = config.display(),
    );
}
