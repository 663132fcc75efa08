//! `promlite serve` flags (Prometheus's names) and logging set-up.

use std::path::PathBuf;

use clap::Args;

use crate::server::ServeOptions;

/// The flags shared by `serve` and `demo`: storage, query and web settings.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Prometheus configuration file.
    #[arg(long = "config.file", default_value = "prometheus.yml")]
    pub config_file: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Flags common to `serve` and `demo`.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// How long to keep samples (`0s`: no time limit).
    #[arg(long = "storage.tsdb.retention.time", default_value = "15d")]
    pub retention_time: String,
    /// Maximum bytes of blocks to keep (e.g. `10GB`; unset: no size limit).
    #[arg(long = "storage.tsdb.retention.size")]
    pub retention_size: Option<String>,
    /// Web configuration file (TLS, basic auth), Prometheus's format.
    #[arg(long = "web.config.file")]
    pub web_config_file: Option<PathBuf>,
    /// Most HTTP connections served at once (0: no limit).
    #[arg(long = "web.max-connections", default_value_t = 512)]
    pub max_connections: usize,
    /// Longest time to receive a request's headers (also the idle time of
    /// a keep-alive connection) and, separately, its body.
    #[arg(long = "web.read-timeout", default_value = "5m")]
    pub read_timeout: String,
    /// Most series in the head block; a scrape or append that would create
    /// more fails with a clear error instead of exhausting memory (0: no
    /// limit). promlite-specific: Prometheus has no such cap.
    #[arg(long = "storage.tsdb.head-series-limit", default_value_t = 5_000_000)]
    pub head_series_limit: usize,
    /// Enable `/api/v1/admin/*`.
    #[arg(long = "web.enable-admin-api")]
    pub enable_admin_api: bool,
    /// Enable `POST /-/reload` and `POST /-/quit`.
    #[arg(long = "web.enable-lifecycle")]
    pub enable_lifecycle: bool,
    /// How far back instant selectors look for a sample.
    #[arg(long = "query.lookback-delta", default_value = "5m")]
    pub lookback_delta: String,
    /// Maximum samples one query may load.
    #[arg(long = "query.max-samples", default_value_t = 50_000_000)]
    pub max_samples: usize,
    /// Maximum time a query may take.
    #[arg(long = "query.timeout", default_value = "2m")]
    pub query_timeout: String,
    /// Maximum concurrent queries.
    #[arg(long = "query.max-concurrency", default_value_t = 20)]
    pub max_concurrency: usize,
    /// Minimum time between two notifications of the same firing alert.
    #[arg(long = "rules.alert.resend-delay", default_value = "1m")]
    pub resend_delay: String,
    /// Log level: debug, info, warn, error.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: String,
}

impl CommonArgs {
    /// Server options with the given config file, data dir and address.
    pub fn options(
        &self,
        config_file: PathBuf,
        storage_path: PathBuf,
        listen_address: String,
    ) -> ServeOptions {
        ServeOptions {
            config_file,
            storage_path,
            retention_time: self.retention_time.clone(),
            retention_size: self.retention_size.clone(),
            listen_address,
            web_config_file: self.web_config_file.clone(),
            max_connections: self.max_connections,
            read_timeout: self.read_timeout.clone(),
            head_series_limit: self.head_series_limit,
            enable_admin_api: self.enable_admin_api,
            enable_lifecycle: self.enable_lifecycle,
            lookback_delta: self.lookback_delta.clone(),
            max_samples: self.max_samples,
            query_timeout: self.query_timeout.clone(),
            max_concurrency: self.max_concurrency,
            resend_delay: self.resend_delay.clone(),
        }
    }
}

/// Installs the `tracing` subscriber at `level` (`RUST_LOG` overrides).
pub fn init_logging(level: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(s) if !s.is_empty() => tracing_subscriber::EnvFilter::try_new(s)?,
        _ => match level {
            "debug" | "info" | "warn" | "error" => tracing_subscriber::EnvFilter::try_new(level)?,
            other => anyhow::bail!("--log.level={other}: want debug, info, warn or error"),
        },
    };
    // A second initialisation (tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    Ok(())
}

/// Runs `promlite serve`.
pub fn run(args: ServeArgs, storage_path: PathBuf, listen_address: String) -> anyhow::Result<()> {
    init_logging(&args.common.log_level)?;
    let opts = args
        .common
        .options(args.config_file, storage_path, listen_address);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(crate::server::run(opts, |_| {}, std::future::pending()))
}
