//! Adapters from the running components (scrape manager, tsdb, config
//! reloader) to the provider traits of `promlite_http`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use promlite_http::providers::{
    ActiveTarget, DroppedTarget, HeadStats, Health, Lifecycle, RuntimeInfo, ServerInfoProvider,
    TargetMetadata, TargetsProvider, TsdbStatus, TsdbStatusProvider, WalReplayStatus,
};
use promlite_model::Clock;
use promlite_rules::{load_rule_files_with, RuleManager};
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
            .map(|t| DroppedTarget {
                discovered_labels: t.discovered_labels,
                scrape_pool: t.scrape_pool,
            })
            .collect()
    }

    fn metadata(&self) -> Vec<TargetMetadata> {
        self.0
            .metadata()
            .into_iter()
            .map(|m| TargetMetadata {
                target: m.target,
                metric: m.metric,
                metadata: m.metadata,
            })
            .collect()
    }
}

/// `/api/v1/status/tsdb` and WAL replay status from the storage engine.
pub struct TsdbStats(pub Arc<promlite_tsdb::Db>);

fn top(v: Vec<promlite_tsdb::NameCount>, limit: usize) -> Vec<(String, u64)> {
    v.into_iter()
        .take(limit)
        .map(|n| (n.name, n.value))
        .collect()
}

impl TsdbStatusProvider for TsdbStats {
    fn status(&self, limit: usize) -> TsdbStatus {
        let s = self.0.head_stats();
        let num_label_pairs = s
            .label_value_count_by_label_name
            .iter()
            .map(|n| n.value)
            .sum();
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

    /// The replay finished before the API started: `current` is `max`.
    fn wal_replay(&self) -> WalReplayStatus {
        match self.0.replay_report().segments {
            Some((first, last)) => WalReplayStatus {
                min: i64::from(first),
                max: i64::from(last),
                current: i64::from(last),
            },
            None => WalReplayStatus::default(),
        }
    }
}

/// What the last (re)load of the configuration file left behind.
struct Loaded {
    yaml: String,
    success: bool,
    time_ms: i64,
}

/// Reloads the configuration file into the scrape manager and the rule
/// files into the rule manager (SIGHUP, `POST /-/reload`), answers `/api/v1/status/{config,flags,runtimeinfo}`,
/// and starts the shutdown on `/-/quit`.
pub struct Reloader {
    config_file: PathBuf,
    scrape: ScrapeManager,
    rules: Arc<RuleManager>,
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
        rules: Arc<RuleManager>,
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
            rules,
            clock,
            loaded: Mutex::new(Loaded {
                yaml,
                success: true,
                time_ms: now,
            }),
            flags,
            start_ms: now,
            retention,
            corruptions,
            quit,
        }
    }

    /// Re-reads the configuration file and its rule files and applies them;
    /// on any error the running configuration and rules are kept and the
    /// error returned (and logged).
    pub fn reload_config(&self) -> Result<(), String> {
        let result = load_and_apply(&self.config_file, &self.scrape, &self.rules);
        let mut loaded = self.loaded.lock();
        match result {
            Ok(yaml) => {
                *loaded = Loaded {
                    yaml,
                    success: true,
                    time_ms: self.clock.now_ms(),
                };
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

/// Loads and validates `path` and the rule files it names (globs resolved
/// relative to its directory), then applies the scrape configuration and
/// replaces the rule groups; returns the configuration's text. Nothing is
/// applied when the file or any rule file is invalid.
pub fn load_and_apply(
    path: &std::path::Path,
    scrape: &ScrapeManager,
    rules: &RuleManager,
) -> Result<String, String> {
    let yaml =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let cfg = Config::load(path).map_err(|e| format!("loading {}: {e}", path.display()))?;
    let groups = load_rule_files_with(&cfg.rule_files, &super::rules::load_options(&cfg))
        .map_err(|errs| super::rules::format_rule_errors(&errs))?;
    scrape.apply_config(&cfg)?;
    super::rules::apply_alerting(&cfg, rules);
    let n = groups.len();
    rules.update(groups);
    if !cfg.rule_files.is_empty() {
        tracing::info!(groups = n, "rule files loaded");
    }
    Ok(yaml)
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
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            reload_config_success: loaded.success,
            last_config_time_ms: loaded.time_ms,
            corruption_count: self.corruptions,
            thread_count: 0,
            max_procs: std::thread::available_parallelism()
                .map(|n| n.get() as u64)
                .unwrap_or(1),
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
