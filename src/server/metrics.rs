//! promlite's own metrics on `/metrics`: one [`MetricsSource`] per running
//! component, named like Prometheus's where the meaning is the same, plus
//! the process metrics read from `/proc` and the configuration reload state.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use promlite_http::providers::{MetricsSource, ServerInfoProvider};
use promlite_http::self_metrics::FamilyWriter;
use promlite_rules::{Notifier, RuleManager};
use promlite_scrape::ScrapeManager;

/// Storage engine metrics (`prometheus_tsdb_*`).
pub struct TsdbMetricsSource(pub Arc<promlite_tsdb::Db>);

fn ms_or(v: Option<i64>, none: i64) -> f64 {
    v.unwrap_or(none) as f64
}

impl MetricsSource for TsdbMetricsSource {
    fn write_metrics(&self, out: &mut String) {
        let m = self.0.metrics();
        let mut one = |name: &str, typ: &str, help: &str, v: f64| {
            FamilyWriter::new(out, name, typ, help).sample(&[], v);
        };
        let (g, c) = ("gauge", "counter");
        one(
            "prometheus_tsdb_head_series",
            g,
            "Total number of series in the head block.",
            m.head_series as f64,
        );
        one(
            "prometheus_tsdb_head_chunks",
            g,
            "Total number of chunks in the head block.",
            m.head_chunks as f64,
        );
        // An empty head reports the sentinels Prometheus uses.
        one(
            "prometheus_tsdb_head_min_time",
            g,
            "Minimum time bound of the head block.",
            ms_or(m.head_min_time_ms, i64::MAX),
        );
        one(
            "prometheus_tsdb_head_max_time",
            g,
            "Maximum timestamp of the head block.",
            ms_or(m.head_max_time_ms, i64::MIN),
        );
        one(
            "prometheus_tsdb_head_samples_appended_total",
            c,
            "Total number of appended samples.",
            m.samples_appended as f64,
        );
        one(
            "prometheus_tsdb_out_of_order_samples_total",
            c,
            "Total number of out of order samples ingestion failed attempts.",
            m.out_of_order_samples as f64,
        );
        one(
            "prometheus_tsdb_out_of_bound_samples_total",
            c,
            "Total number of out of bound samples ingestion failed attempts.",
            m.out_of_bounds_samples as f64,
        );
        one(
            "promlite_tsdb_duplicate_samples_total",
            c,
            "Samples rejected because their series already had another value at that timestamp.",
            m.duplicate_samples as f64,
        );
        one(
            "promlite_tsdb_series_limit_rejections_total",
            c,
            "New series refused because the head reached its series limit.",
            m.series_limit_rejections as f64,
        );
        FamilyWriter::new(
            out,
            "prometheus_tsdb_wal_fsync_duration_seconds",
            "summary",
            "Duration of write log fsync.",
        )
        .suffixed("_sum", &[], m.wal_fsync_seconds)
        .suffixed("_count", &[], m.wal_fsyncs as f64);
        let mut one = |name: &str, typ: &str, help: &str, v: f64| {
            FamilyWriter::new(out, name, typ, help).sample(&[], v);
        };
        one(
            "prometheus_tsdb_wal_corruptions_total",
            c,
            "Total number of WAL corruptions.",
            m.wal_corruptions as f64,
        );
        one(
            "prometheus_tsdb_wal_truncations_total",
            c,
            "Total number of write log truncations attempted.",
            m.wal_truncations as f64,
        );
        one(
            "prometheus_tsdb_wal_truncations_failed_total",
            c,
            "Total number of write log truncations that failed.",
            m.wal_truncations_failed as f64,
        );
        one(
            "prometheus_tsdb_head_truncations_total",
            c,
            "Total number of head truncations attempted.",
            m.head_truncations as f64,
        );
        one(
            "prometheus_tsdb_compactions_total",
            c,
            "Total number of compactions that were executed for the partition.",
            m.compactions as f64,
        );
        one(
            "prometheus_tsdb_compactions_failed_total",
            c,
            "Total number of compactions that failed for the partition.",
            m.compactions_failed as f64,
        );
        one(
            "promlite_tsdb_head_chunks_spilled_total",
            c,
            "Full head chunks moved from memory to spill segments on disk.",
            m.head_chunks_spilled as f64,
        );
        one(
            "promlite_tsdb_head_spill_failures_total",
            c,
            "Spill passes stopped by a write error; their chunks stayed in memory.",
            m.head_spill_failures as f64,
        );
        one(
            "prometheus_tsdb_blocks_loaded",
            g,
            "Number of currently loaded data blocks",
            m.blocks_loaded as f64,
        );
        one(
            "prometheus_tsdb_storage_blocks_bytes",
            g,
            "The number of bytes that are currently used for local storage by all blocks.",
            m.blocks_bytes as f64,
        );
        one(
            "prometheus_tsdb_retention_limit_bytes",
            g,
            "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled",
            m.retention_limit_bytes as f64,
        );
        one(
            "prometheus_tsdb_time_retentions_total",
            c,
            "The number of times that blocks were deleted because the maximum time limit was exceeded.",
            m.time_retentions as f64,
        );
        one(
            "prometheus_tsdb_size_retentions_total",
            c,
            "The number of times that blocks were deleted because the maximum number of bytes was exceeded.",
            m.size_retentions as f64,
        );
    }
}

/// Scrape metrics (`prometheus_target_*`, `prometheus_sd_discovered_targets`).
pub struct ScrapeMetricsSource(pub ScrapeManager);

impl MetricsSource for ScrapeMetricsSource {
    fn write_metrics(&self, out: &mut String) {
        let mgr = &self.0;
        let mut active: BTreeMap<String, u64> =
            mgr.scrape_pools().into_iter().map(|p| (p, 0)).collect();
        for t in mgr.active_targets() {
            *active.entry(t.scrape_pool).or_insert(0) += 1;
        }
        let mut discovered = active.clone();
        for t in mgr.dropped_targets() {
            *discovered.entry(t.scrape_pool).or_insert(0) += 1;
        }
        let mut f = FamilyWriter::new(
            out,
            "prometheus_target_scrape_pool_targets",
            "gauge",
            "Current number of targets in this scrape pool.",
        );
        for (pool, n) in &active {
            f.sample(&[("scrape_job", pool.as_str())], *n as f64);
        }
        let mut f = FamilyWriter::new(
            out,
            "prometheus_sd_discovered_targets",
            "gauge",
            "Current number of discovered targets.",
        );
        for (pool, n) in &discovered {
            f.sample(&[("config", pool.as_str()), ("name", "scrape")], *n as f64);
        }
        let m = mgr.metrics();
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
        let counters = [
            (
                "prometheus_target_scrapes_exceeded_sample_limit_total",
                "Total number of scrapes that hit the sample limit and were rejected.",
                load(&m.exceeded_sample_limit),
            ),
            (
                "prometheus_target_scrapes_exceeded_body_size_limit_total",
                "Total number of scrapes that hit the body size limit",
                load(&m.exceeded_body_size_limit),
            ),
            (
                "prometheus_target_scrapes_sample_out_of_order_total",
                "Total number of samples rejected due to not being out of the expected order.",
                load(&m.sample_out_of_order),
            ),
            (
                "prometheus_target_scrapes_sample_duplicate_timestamp_total",
                "Total number of samples rejected due to duplicate timestamps but different values.",
                load(&m.sample_duplicate_timestamp),
            ),
            (
                "prometheus_target_scrapes_sample_out_of_bounds_total",
                "Total number of samples rejected due to timestamp falling out of the time bounds.",
                load(&m.sample_out_of_bounds),
            ),
            (
                "prometheus_target_scrape_pool_reloads_total",
                "Total number of scrape pool reloads.",
                load(&m.pool_reloads),
            ),
            (
                "prometheus_target_scrape_pool_reloads_failed_total",
                "Total number of failed scrape pool reloads.",
                load(&m.pool_reloads_failed),
            ),
            (
                "promlite_target_scrapes_total",
                "Total number of scrapes done.",
                load(&m.scrapes),
            ),
        ];
        for (name, help, v) in counters {
            FamilyWriter::new(out, name, "counter", help).sample(&[], v);
        }
        let mut f = FamilyWriter::new(
            out,
            "prometheus_target_interval_length_seconds",
            "summary",
            "Actual intervals between scrapes.",
        );
        for (interval, count, sum) in m.intervals() {
            let iv = promlite_model::duration::format_duration(
                i64::try_from(interval.as_millis()).unwrap_or(i64::MAX),
            );
            f.suffixed("_sum", &[("interval", iv.as_str())], sum);
            f.suffixed("_count", &[("interval", iv.as_str())], count as f64);
        }
    }
}

/// Rule evaluation and notification metrics (`prometheus_rule_*`,
/// `prometheus_notifications_*`).
pub struct RulesMetricsSource {
    /// The rule manager.
    pub rules: Arc<RuleManager>,
    /// The notifier alerts go through.
    pub notifier: Notifier,
}

impl MetricsSource for RulesMetricsSource {
    fn write_metrics(&self, out: &mut String) {
        struct G {
            key: String,
            evaluations: u64,
            failures: u64,
            iterations: u64,
            last_duration: f64,
            last_eval_ms: Option<i64>,
            rules: usize,
            interval_s: f64,
        }
        let groups = self.rules.with_groups(|g| G {
            key: format!("{};{}", g.file(), g.name()),
            evaluations: g.counters.evaluations,
            failures: g.counters.evaluation_failures,
            iterations: g.counters.iterations,
            last_duration: g.evaluation_seconds,
            last_eval_ms: g.last_evaluation_ms,
            rules: g.rules().len(),
            interval_s: g.interval_ms() as f64 / 1000.0,
        });
        type Pick = fn(&G) -> f64;
        let families: [(&str, &str, &str, Pick); 7] = [
            (
                "prometheus_rule_evaluations_total",
                "counter",
                "The total number of rule evaluations.",
                |g| g.evaluations as f64,
            ),
            (
                "prometheus_rule_evaluation_failures_total",
                "counter",
                "The total number of rule evaluation failures.",
                |g| g.failures as f64,
            ),
            (
                "prometheus_rule_group_iterations_total",
                "counter",
                "The total number of scheduled rule group evaluations, whether executed or missed.",
                |g| g.iterations as f64,
            ),
            (
                "prometheus_rule_group_last_duration_seconds",
                "gauge",
                "The duration of the last rule group evaluation.",
                |g| g.last_duration,
            ),
            (
                "prometheus_rule_group_last_evaluation_timestamp_seconds",
                "gauge",
                "The timestamp of the last rule group evaluation in seconds.",
                |g| g.last_eval_ms.map(|t| t as f64 / 1000.0).unwrap_or(0.0),
            ),
            (
                "prometheus_rule_group_rules",
                "gauge",
                "The number of rules.",
                |g| g.rules as f64,
            ),
            (
                "prometheus_rule_group_interval_seconds",
                "gauge",
                "The interval of a rule group.",
                |g| g.interval_s,
            ),
        ];
        for (name, typ, help, pick) in families {
            let mut f = FamilyWriter::new(out, name, typ, help);
            for g in &groups {
                f.sample(&[("rule_group", g.key.as_str())], pick(g));
            }
        }
        let n = &self.notifier;
        let counters = n.counters();
        let mut f = FamilyWriter::new(
            out,
            "prometheus_notifications_sent_total",
            "counter",
            "Total number of alerts sent.",
        );
        for c in &counters {
            // Prometheus counts every alert it tried to send here.
            let tried = c.sent.load(Ordering::Relaxed) + c.errors.load(Ordering::Relaxed);
            f.sample(&[("alertmanager", c.url.as_str())], tried as f64);
        }
        let mut f = FamilyWriter::new(
            out,
            "prometheus_notifications_errors_total",
            "counter",
            "Total number of sent alerts affected by errors.",
        );
        for c in &counters {
            let errors = c.errors.load(Ordering::Relaxed);
            f.sample(&[("alertmanager", c.url.as_str())], errors as f64);
        }
        FamilyWriter::new(
            out,
            "prometheus_notifications_dropped_total",
            "counter",
            "Total number of alerts dropped due to errors when sending to Alertmanager.",
        )
        .sample(&[], n.dropped() as f64);
        FamilyWriter::new(
            out,
            "prometheus_notifications_queue_length",
            "gauge",
            "The number of alert notifications in the queue.",
        )
        .sample(&[], n.queue_len() as f64);
        FamilyWriter::new(
            out,
            "prometheus_notifications_queue_capacity",
            "gauge",
            "The capacity of the alert notifications queue.",
        )
        .sample(&[], n.queue_capacity() as f64);
        FamilyWriter::new(
            out,
            "prometheus_notifications_alertmanagers_discovered",
            "gauge",
            "The number of alertmanagers discovered and active.",
        )
        .sample(&[], counters.len() as f64);
    }
}

/// Process metrics from `/proc` and the configuration reload state.
pub struct ProcessMetricsSource {
    /// Answers the reload state (`runtime_info`).
    pub server_info: Arc<dyn ServerInfoProvider>,
}

impl MetricsSource for ProcessMetricsSource {
    fn write_metrics(&self, out: &mut String) {
        let info = self.server_info.runtime_info();
        FamilyWriter::new(
            out,
            "prometheus_config_last_reload_successful",
            "gauge",
            "Whether the last configuration reload attempt was successful.",
        )
        .sample(&[], if info.reload_config_success { 1.0 } else { 0.0 });
        FamilyWriter::new(
            out,
            "prometheus_config_last_reload_success_timestamp_seconds",
            "gauge",
            "Timestamp of the last successful configuration reload.",
        )
        .sample(&[], (info.last_config_time_ms / 1000) as f64);
        super::procfs::write_process_metrics(out);
    }
}
