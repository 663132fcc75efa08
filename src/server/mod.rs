//! `promlite serve`: wires the storage engine, the PromQL engine, the scrape
//! manager and the HTTP API together, and handles signals and reloads.

mod admin;
mod metrics;
mod procfs;
mod providers;
mod rules;
mod startup;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use promlite_http::{router, ApiOptions, ApiState, WebConfig};
use promlite_model::duration::parse_duration;
use promlite_model::{Appendable, Clock, Queryable, SystemClock};
use promlite_promql::{Engine, EngineOptions};
use promlite_scrape::{ScrapeManager, ScrapeOptions, ScrapeRuntime};
use promlite_tsdb::DbOptions;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use metrics::{
    ProcessMetricsSource, RulesMetricsSource, ScrapeMetricsSource, TsdbMetricsSource,
};
pub use providers::{load_and_apply, Reloader, ScrapeTargets, TsdbStats};
pub use rules::{Alertmanagers, Rules};

/// Settings of a server, one field per command-line flag.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// `--config.file`.
    pub config_file: PathBuf,
    /// `--storage.tsdb.path`.
    pub storage_path: PathBuf,
    /// `--storage.tsdb.retention.time` (Prometheus duration; `0s` = unlimited).
    pub retention_time: String,
    /// `--storage.tsdb.retention.size` (e.g. `10GB`).
    pub retention_size: Option<String>,
    /// `--web.listen-address`.
    pub listen_address: String,
    /// `--web.config.file`.
    pub web_config_file: Option<PathBuf>,
    /// `--web.max-connections` (0: no limit).
    pub max_connections: usize,
    /// `--web.read-timeout` (Prometheus duration).
    pub read_timeout: String,
    /// `--storage.tsdb.head-series-limit` (0: no limit).
    pub head_series_limit: usize,
    /// `--web.enable-admin-api`.
    pub enable_admin_api: bool,
    /// `--web.enable-lifecycle`.
    pub enable_lifecycle: bool,
    /// `--query.lookback-delta`.
    pub lookback_delta: String,
    /// `--query.max-samples`.
    pub max_samples: usize,
    /// `--query.timeout`.
    pub query_timeout: String,
    /// `--query.max-concurrency`.
    pub max_concurrency: usize,
    /// `--rules.alert.resend-delay` (Prometheus duration).
    pub resend_delay: String,
}

impl ServeOptions {
    /// The flags as `/api/v1/status/flags` shows them.
    pub fn flag_map(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put("config.file", self.config_file.display().to_string());
        put("storage.tsdb.path", self.storage_path.display().to_string());
        put("storage.tsdb.retention.time", self.retention_time.clone());
        put(
            "storage.tsdb.retention.size",
            self.retention_size.clone().unwrap_or_else(|| "0B".into()),
        );
        put("web.listen-address", self.listen_address.clone());
        put(
            "web.config.file",
            self.web_config_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        put("web.max-connections", self.max_connections.to_string());
        put("web.read-timeout", self.read_timeout.clone());
        put(
            "storage.tsdb.head-series-limit",
            self.head_series_limit.to_string(),
        );
        put("web.enable-admin-api", self.enable_admin_api.to_string());
        put("web.enable-lifecycle", self.enable_lifecycle.to_string());
        put("query.lookback-delta", self.lookback_delta.clone());
        put("query.max-samples", self.max_samples.to_string());
        put("query.timeout", self.query_timeout.clone());
        put("rules.alert.resend-delay", self.resend_delay.clone());
        put("query.max-concurrency", self.max_concurrency.to_string());
        m
    }
}

fn duration_ms(flag: &str, s: &str) -> anyhow::Result<i64> {
    parse_duration(s).map_err(|e| anyhow!("--{flag}={s}: {e}"))
}

/// Runs the server until SIGTERM/SIGINT, `/-/quit`, or `extra_shutdown`
/// resolves. `on_listening` is called with the bound address once the API
/// is reachable.
pub async fn run(
    opts: ServeOptions,
    on_listening: impl FnOnce(SocketAddr),
    extra_shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let retention_ms = duration_ms("storage.tsdb.retention.time", &opts.retention_time)?;
    let retention_bytes = match &opts.retention_size {
        Some(s) => Some(
            promlite_scrape::config::parse_size(s)
                .map_err(|e| anyhow!("--storage.tsdb.retention.size={s}: {e}"))?,
        ),
        None => None,
    };
    let lookback_delta_ms = duration_ms("query.lookback-delta", &opts.lookback_delta)?;
    let timeout_ms = duration_ms("query.timeout", &opts.query_timeout)?;
    let read_timeout_ms = duration_ms("web.read-timeout", &opts.read_timeout)?;
    if read_timeout_ms <= 0 {
        return Err(anyhow!(
            "--web.read-timeout={}: must be greater than 0",
            opts.read_timeout
        ));
    }
    let conn_limits = promlite_http::ConnLimits {
        max_connections: opts.max_connections,
        read_timeout: std::time::Duration::from_millis(read_timeout_ms as u64),
    };
    let web_config = match &opts.web_config_file {
        Some(p) => {
            WebConfig::load(p).with_context(|| format!("--web.config.file={}", p.display()))?
        }
        None => WebConfig::default(),
    };
    // Validate the configuration and its rule files before touching the
    // data directory.
    let cfg = promlite_scrape::Config::load(&opts.config_file)
        .map_err(|e| anyhow!("loading --config.file={}: {e}", opts.config_file.display()))?;
    promlite_rules::load_rule_files_with(&cfg.rule_files, &rules::load_options(&cfg))
        .map_err(|errs| anyhow!("{}", rules::format_rule_errors(&errs)))?;

    // Listen before the WAL replay, answering 503 until it is done (as
    // Prometheus's `/-/ready`); the same socket then serves the API.
    let std_listener = std::net::TcpListener::bind(&opts.listen_address)
        .with_context(|| format!("listening on --web.listen-address={}", opts.listen_address))?;
    std_listener
        .set_nonblocking(true)
        .context("listener: non-blocking mode")?;
    let (replayed, starting) =
        startup::serve_not_ready(&std_listener, web_config.clone(), conn_limits)?;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let db_opts = DbOptions {
        retention_ms: (retention_ms > 0).then_some(retention_ms),
        retention_bytes: retention_bytes.filter(|b| *b > 0),
        clock: clock.clone(),
        background: true,
        max_head_series: opts.head_series_limit,
        ..DbOptions::default()
    };
    let path = opts.storage_path.clone();
    tracing::info!(path = %path.display(), "opening storage");
    let db = tokio::task::spawn_blocking(move || promlite_tsdb::Db::open(&path, db_opts))
        .await
        .context("opening storage")?
        .with_context(|| format!("opening storage at {}", opts.storage_path.display()))?;
    let db = Arc::new(db);
    startup::finish(replayed, starting).await;
    let listener = TcpListener::from_std(std_listener).context("listener")?;
    let report = db.replay_report();
    tracing::info!(
        records = report.records,
        corruptions = report.corruptions,
        "storage ready"
    );
    let corruptions = report.corruptions;

    let result = serve_db(
        &opts,
        &cfg,
        db.clone(),
        clock,
        web_config,
        conn_limits,
        listener,
        lookback_delta_ms,
        timeout_ms,
        corruptions,
        on_listening,
        extra_shutdown,
    )
    .await;

    tracing::info!("closing storage");
    let closed = tokio::task::spawn_blocking(move || db.close()).await;
    match closed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("closing storage: {e}"),
        Err(e) => tracing::error!("closing storage: {e}"),
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn serve_db(
    opts: &ServeOptions,
    cfg: &promlite_scrape::Config,
    db: Arc<promlite_tsdb::Db>,
    clock: Arc<dyn Clock>,
    web_config: WebConfig,
    conn_limits: promlite_http::ConnLimits,
    listener: TcpListener,
    lookback_delta_ms: i64,
    timeout_ms: i64,
    corruptions: u64,
    on_listening: impl FnOnce(SocketAddr),
    extra_shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let engine = Engine::new(EngineOptions {
        lookback_delta_ms,
        max_samples: opts.max_samples,
        timeout: Duration::from_millis(timeout_ms.max(1) as u64),
        ..EngineOptions::default()
    });
    // The scrape loops get a single-threaded runtime of their own (see
    // `ScrapeRuntime`); it ends when `scrape_rt` is dropped, after
    // `scrape.stop()` below.
    let scrape_rt = ScrapeRuntime::start().context("starting the scrape thread")?;
    let scrape = ScrapeManager::new(
        db.clone() as Arc<dyn Appendable>,
        clock.clone(),
        ScrapeOptions {
            runtime: Some(scrape_rt.handle()),
            // One wake-up per scrape for its timer (see `ScrapeOptions`).
            kernel_timers: true,
            ..ScrapeOptions::default()
        },
    );
    let resend_delay_ms = duration_ms("rules.alert.resend-delay", &opts.resend_delay)?;
    if resend_delay_ms <= 0 {
        bail!(
            "--rules.alert.resend-delay={}: must be greater than 0",
            opts.resend_delay
        );
    }
    let (rule_manager, notifier) = rules::build(
        cfg,
        engine.clone(),
        db.clone() as Arc<dyn Queryable>,
        db.clone() as Arc<dyn Appendable>,
        clock.clone(),
        rules::Sending {
            resend_delay_ms,
            sent_state_file: Some(opts.storage_path.join("alerts-sent.json")),
        },
    );
    let yaml = load_and_apply(&opts.config_file, &scrape, &rule_manager).map_err(|e| anyhow!(e))?;

    let (quit_tx, mut quit_rx) = watch::channel(false);
    // Rule evaluation and notification run until `stop_rules` fires.
    let (stop_rules, rules_stopped) = watch::channel(false);
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let rules_task = tokio::spawn(rule_manager.clone().run(stopped(rules_stopped.clone())));
    let notifier_task = {
        let n = notifier.clone();
        let done = stopped(rules_stopped);
        tokio::spawn(async move { n.run(done).await })
    };
    let reloader = Arc::new(Reloader::new(
        opts.config_file.clone(),
        yaml,
        scrape.clone(),
        rule_manager.clone(),
        clock.clone(),
        opts.flag_map(),
        opts.retention_time.clone(),
        corruptions,
        quit_tx.clone(),
    ));

    let api_options = ApiOptions {
        enable_admin: opts.enable_admin_api,
        enable_lifecycle: opts.enable_lifecycle,
        max_concurrency: opts.max_concurrency.max(1),
        query_timeout: Duration::from_millis(timeout_ms.max(1) as u64),
        lookback_delta_ms,
        ..ApiOptions::default()
    };
    let state = ApiState::new(db.clone() as Arc<dyn Queryable>, engine)
        .with_options(api_options)
        .with_clock(clock)
        .with_targets(Arc::new(ScrapeTargets(scrape.clone())))
        .with_tsdb(Arc::new(TsdbStats(db.clone())))
        .with_rules(Arc::new(Rules(rule_manager.clone())))
        .with_alertmanagers(Arc::new(Alertmanagers(notifier.clone())))
        .with_server_info(reloader.clone())
        .with_lifecycle(reloader.clone())
        .with_metrics_source(Arc::new(TsdbMetricsSource(db.clone())))
        .with_metrics_source(Arc::new(ScrapeMetricsSource(scrape.clone())))
        .with_metrics_source(Arc::new(RulesMetricsSource {
            rules: rule_manager.clone(),
            notifier: notifier.clone(),
        }))
        .with_metrics_source(Arc::new(ProcessMetricsSource {
            server_info: reloader.clone(),
        }));
    // Only with --web.enable-admin-api (the handlers check the flag too).
    let state = if opts.enable_admin_api {
        state.with_admin(Arc::new(admin::TsdbAdmin(db.clone())))
    } else {
        state
    };

    let addr = listener.local_addr().context("listener address")?;
    tracing::info!(%addr, "serving the Prometheus API");

    // Signals: SIGHUP reloads; SIGTERM/SIGINT (or /-/quit, or the caller) stop.
    let signals = spawn_signal_handler(reloader.clone(), quit_tx.clone())?;
    tokio::spawn(async move {
        extra_shutdown.await;
        let _ = quit_tx.send(true);
    });
    let shutdown = async move {
        while !*quit_rx.borrow_and_update() {
            if quit_rx.changed().await.is_err() {
                break;
            }
        }
        tracing::info!("shutting down");
    };
    let app = router(state);
    on_listening(addr);
    let served = promlite_http::serve(listener, app, web_config, conn_limits, shutdown).await;
    signals.abort();
    tracing::info!("stopping scrapes");
    scrape.stop().await;
    drop(scrape_rt);
    tracing::info!("stopping rule evaluation and notifications");
    let _ = stop_rules.send(true);
    if let Err(e) = rules_task.await {
        tracing::error!("rule manager task: {e}");
    }
    if let Err(e) = notifier_task.await {
        tracing::error!("notifier task: {e}");
    }
    served.context("HTTP server")
}

#[cfg(unix)]
fn spawn_signal_handler(
    reloader: Arc<Reloader>,
    quit: watch::Sender<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).context("installing SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: reloading configuration");
                    let r = reloader.clone();
                    // Reload off the async workers; errors are logged inside.
                    let _ = tokio::task::spawn_blocking(move || r.reload_config()).await;
                }
                _ = term.recv() => { tracing::info!("SIGTERM received"); let _ = quit.send(true); }
                _ = int.recv() => { tracing::info!("SIGINT received"); let _ = quit.send(true); }
            }
        }
    }))
}

#[cfg(not(unix))]
fn spawn_signal_handler(
    _reloader: Arc<Reloader>,
    quit: watch::Sender<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    Ok(tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = quit.send(true);
        }
    }))
}
