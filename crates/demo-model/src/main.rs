//! `promlite-demo-model`: run the simulated model server.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use promlite_demo_model::{parse_duration, DemoModel, DemoOptions, ModelVersion};

/// A simulated ML model server exposing Prometheus metrics, with built-in traffic and drift.
#[derive(Debug, Parser)]
#[command(name = "promlite-demo-model", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// Built-in traffic: requests per second (0 disables).
    #[arg(long, default_value_t = 0.0)]
    traffic: f64,
    /// Start drifting this long after start and after each retrain (e.g. 10m).
    #[arg(long, value_parser = parse_duration)]
    drift_after: Option<Duration>,
    /// How long drift takes to reach full strength.
    #[arg(long, value_parser = parse_duration, default_value = "1m")]
    drift_ramp: Duration,
    /// Add a high-cardinality user_id label to model_requests_total.
    #[arg(long)]
    bad_cardinality: bool,
    /// Distinct user_id values the traffic generator uses.
    #[arg(long, default_value_t = 5000)]
    user_ids: u32,
    /// Seed for every random decision (same seed, same run).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Version served at start.
    #[arg(long, value_parser = ModelVersion::parse, default_value = "v2.1")]
    model_version: ModelVersion,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    if !(cli.traffic.is_finite() && cli.traffic >= 0.0) {
        anyhow::bail!(
            "--traffic must be a non-negative number, got {}",
            cli.traffic
        );
    }
    let model = DemoModel::new(DemoOptions {
        seed: cli.seed,
        initial_version: cli.model_version,
        drift_after: cli.drift_after,
        drift_ramp: cli.drift_ramp,
        bad_cardinality: cli.bad_cardinality,
        user_ids: cli.user_ids,
        ..DemoOptions::default()
    });
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("binding {}", cli.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, version = %model.version(), traffic_rps = cli.traffic, "demo model listening");
    let traffic = (cli.traffic > 0.0).then(|| model.spawn_traffic(cli.traffic));
    axum::serve(listener, model.router())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    if let Some(t) = traffic {
        t.stop().await;
    }
    Ok(())
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one (containers, `kill`).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            Err(e) => tracing::warn!("cannot listen for SIGTERM: {e}"),
        }
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!("cannot listen for Ctrl-C: {e}");
        std::future::pending::<()>().await;
    }
}
