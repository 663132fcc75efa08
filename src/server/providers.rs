//! Adapters from the running components (scrape manager, tsdb, config
//! reloader) to the provider traits of `promlite_http`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use promlite_http::providers::{
    ActiveTarget, DroppedTarget, HeadStats, Health, Lifecycle, RuntimeInfo, ServerInfoProvider, TargetMetadata,
    TargetsProvider, TsdbStatus, TsdbStatusProvider,
};
use promlite_model::Clock;
use promlite_scrape::{Config, ScrapeManager};
use tokio::sync::watch;

/// `/api/v1/targets` and `/api/v1/targets/metadata` from the scrape manager.
pub struct ScrapeTargets(pub ScrapeManager);

fn health(h: promlite_scrape::Health) -> Health {
    match h {
        promlite_scrape::Health::Up => Health::Good,
        promlite_scrape::Health::Down => Health::Bad,
        promlite_scrape::Health::Unknown => Health::Unknown,
    }
}

fn dur(d: std::time::Duration) -> String {
    promlite_model::duration::format_duration(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl TargetsProvider for ScrapeTargets {
    fn active(&self) -> Vec<ActiveTarget> {
        self.0
            .active_targets()
            .into_iter()
            .map(|t| ActiveTarget {
                discovered_labels: t.discovered_labels,
                labels: t.labels,
                scrape_pool: t.scrape_pool,
                global_url: t.scrape_url.clone(),
                scrape_url: t.scrape_url,
                last_error: t.last_error,
                last_scrape_ms: t.last_scrape_ms,
                last_scrape_duration_s: t.last_scrape_duration.as_secs_f64(),
                health: health(t.health),
                scrape_interval: dur(t.scrape_interval),
                scrape_timeout: dur(t.scrape_timeout),
            })
            .collect()
    }

    fn dropped(&self) -> Vec<DroppedTarget> {
        self.0
            .dropped_targets()
            .into_iter()
            .map(|t| DroppedTarget { discovered_labels: t.discovered_labels, scrape_pool: t.scrape_pool })
            .collect()
    }

    fn metadata(&self) -> Vec<TargetMetadata> {
        self.0
            .metadata()
            .into_iter()
            .map(|m| TargetMetadata { target: m.target, metric: m.metric, metadata: m.metadata })
            .collect()
    }
}

/// `/api/v1/status/tsdb` and WAL replay status from the storage engine.
pub struct TsdbStats(pub Arc<promlite_tsdb::Db>);

fn top(v: Vec<promlite_tsdb::NameCount>, limit: usize) -> Vec<(String, u64)> {
    v.into_iter().take(limit).map(|n| (n.name, n.value)).collect()
}

impl TsdbStatusProvider for TsdbStats {
    fn status(&self, limit: usize) -> TsdbStatus {
        let s = self.0.head_stats();
        let num_label_pairs = s.label_value_count_by_label_name.iter().map(|n| n.value).sum();
        TsdbStatus {
            head_stats: HeadStats {
                num_series: s.num_series,
                num_label_pairs,
                chunk_count: s.num_chunks,
                min_time: s.min_time.unwrap_or(i64::MAX),
                max_time: s.max_time.unwrap_or(i64::MIN),
            },
            series_count_by_metric_name: top(s.series_count_by_metric_name, limit),
            label_value_count_by_label_name: top(s.label_value_count_by_label_name, limit),
            memory_in_bytes_by_label_name: top(s.memory_in_bytes_by_label_name, limit),
            series_count_by_label_value_pair: top(s.series_count_by_label_value_pair, limit),
        }
    }
}

/// What the last (re)load of the configuration file left behind.
struct Loaded {
    yaml: String,
    success: bool,
    time_ms: i64,
}

/// Reloads the configuration file into the scrape manager (SIGHUP,
/// `POST /-/reload`), answers `/api/v1/status/{config,flags,runtimeinfo}`,
/// and starts the shutdown on `/-/quit`.
pub struct Reloader {
    config_file: PathBuf,
    scrape: ScrapeManager,
    clock: Arc<dyn Clock>,
    loaded: Mutex<Loaded>,
    flags: BTreeMap<String, String>,
    start_ms: i64,
    retention: String,
    corruptions: u64,
    quit: watch::Sender<bool>,
}

impl Reloader {
    /// A reloader over an already-applied configuration `yaml`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config_file: PathBuf,
        yaml: String,
        scrape: ScrapeManager,
        clock: Arc<dyn Clock>,
        flags: BTreeMap<String, String>,
        retention: String,
        corruptions: u64,
        quit: watch::Sender<bool>,
    ) -> Reloader {
        let now = clock.now_ms();
        Reloader {
            config_file,
            scrape,
            clock,
            loaded: Mutex::new(Loaded { yaml, success: true, time_ms: now }),
            flags,
            start_ms: now,
            retention,
            corruptions,
            quit,
        }
    }

    /// Re-reads the configuration file and applies it; on any error the
    /// running configuration is kept and the error returned (and logged).
    pub fn reload_config(&self) -> Result<(), String> {
        let result = load_and_apply(&self.config_file, &self.scrape);
        let mut loaded = self.loaded.lock();
        match result {
            Ok(yaml) => {
                *loaded = Loaded { yaml, success: true, time_ms: self.clock.now_ms() };
                tracing::info!(file = %self.config_file.display(), "configuration reloaded");
                Ok(())
            }
            Err(e) => {
                loaded.success = false;
                tracing::error!(file = %self.config_file.display(), "reloading configuration failed, keeping the old one: {e}");
                Err(e)
            }
        }
    }
}

/// Loads, validates and applies `path`; returns its text.
pub fn load_and_apply(path: &std::path::Path, scrape: &ScrapeManager) -> Result<String, String> {
    let yaml = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let cfg = Config::load(path).map_err(|e| format!("loading {}: {e}", path.display()))?;
    warn_unsupported(&cfg);
    scrape.apply_config(&cfg)?;
    Ok(yaml)
}

/// Logs parts of a config that this build accepts but does not act on.
pub fn warn_unsupported(cfg: &Config) {
    if !cfg.rule_files.is_empty() {
        tracing::warn!("rule_files are not evaluated yet by this build (rules engine not available)");
    }
    if !cfg.alerting.alertmanagers.is_empty() {
        tracing::warn!("alerting.alertmanagers is not used yet by this build");
    }
}

impl ServerInfoProvider for Reloader {
    fn config_yaml(&self) -> String {
        self.loaded.lock().yaml.clone()
    }

    fn flags(&self) -> BTreeMap<String, String> {
        self.flags.clone()
    }

    fn runtime_info(&self) -> RuntimeInfo {
        let loaded = self.loaded.lock();
        RuntimeInfo {
            start_time_ms: self.start_ms,
            cwd: std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
            reload_config_success: loaded.success,
            last_config_time_ms: loaded.time_ms,
            corruption_count: self.corruptions,
            thread_count: 0,
            max_procs: std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(1),
            storage_retention: self.retention.clone(),
        }
    }
}

impl Lifecycle for Reloader {
    fn reload(&self) -> Result<(), String> {
        self.reload_config()
    }

    fn quit(&self) {
        tracing::info!("quit requested over HTTP");
        let _ = self.quit.send(true);
    }
}
