//! promlite's own `/metrics`: valid text format (parsed with promlite's own
//! exposition parser), the tsdb/scrape/rules/engine/process families move,
//! promlite scrapes itself, and `/api/v1/status/walreplay` reports the
//! replayed WAL segments after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use promlite_exposition::{sample_labels, Entry, Format, Parser};

use crate::harness::*;

/// Families promlite's `/metrics` must always have (Prometheus's names).
const REQUIRED: &[&str] = &[
    "prometheus_tsdb_head_series",
    "prometheus_tsdb_head_samples_appended_total",
    "prometheus_tsdb_head_chunks",
    "prometheus_tsdb_head_min_time",
    "prometheus_tsdb_head_max_time",
    "prometheus_tsdb_out_of_order_samples_total",
    "prometheus_tsdb_out_of_bound_samples_total",
    "prometheus_tsdb_wal_fsync_duration_seconds",
    "prometheus_tsdb_wal_corruptions_total",
    "prometheus_tsdb_wal_truncations_total",
    "prometheus_tsdb_compactions_total",
    "prometheus_tsdb_compactions_failed_total",
    "prometheus_tsdb_blocks_loaded",
    "prometheus_tsdb_storage_blocks_bytes",
    "prometheus_tsdb_retention_limit_bytes",
    "prometheus_tsdb_time_retentions_total",
    "prometheus_tsdb_size_retentions_total",
    "prometheus_target_scrape_pool_targets",
    "prometheus_target_scrapes_exceeded_sample_limit_total",
    "prometheus_target_scrapes_sample_out_of_order_total",
    "prometheus_target_interval_length_seconds",
    "prometheus_target_scrape_pool_reloads_total",
    "prometheus_sd_discovered_targets",
    "prometheus_rule_evaluations_total",
    "prometheus_rule_evaluation_failures_total",
    "prometheus_rule_group_last_duration_seconds",
    "prometheus_rule_group_rules",
    "prometheus_notifications_sent_total",
    "prometheus_notifications_dropped_total",
    "prometheus_notifications_queue_length",
    "prometheus_engine_queries",
    "prometheus_engine_query_duration_seconds",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_open_fds",
    "prometheus_config_last_reload_successful",
    "prometheus_config_last_reload_success_timestamp_seconds",
    "prometheus_http_requests_total",
];

/// A parsed `/metrics` page: family → type, and every sample as
/// (name, labels as `k=v` pairs, value).
struct Page {
    types: BTreeMap<String, String>,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Page {
    /// Parses `body`, asserting it is valid text format where every family
    /// has exactly one HELP and one TYPE and every sample belongs to a
    /// declared family.
    fn parse(body: &str) -> Page {
        let mut p = Parser::new(body.as_bytes(), Format::PrometheusText);
        let mut types = BTreeMap::new();
        let mut helps = BTreeSet::new();
        let mut samples = Vec::new();
        while let Some(e) = p.next_entry() {
            match e.unwrap_or_else(|e| panic!("invalid /metrics: {e:?}\n{body}")) {
                Entry::Type { name, metric_type } => {
                    let old = types.insert(name.to_string(), format!("{metric_type:?}"));
                    assert!(old.is_none(), "family {name} declared twice");
                }
                Entry::Help { name, .. } => {
                    assert!(helps.insert(name.to_string()), "HELP {name} twice");
                }
                Entry::Sample(s) => {
                    let labels = sample_labels(&s);
                    let map: BTreeMap<String, String> = labels
                        .iter()
                        .filter(|l| l.name != "__name__")
                        .map(|l| (l.name.to_string(), l.value.to_string()))
                        .collect();
                    samples.push((s.name.to_string(), map, s.value));
                }
                _ => {}
            }
        }
        let typed: BTreeSet<String> = types.keys().cloned().collect();
        assert_eq!(typed, helps, "every family has HELP and TYPE");
        for (name, _, _) in &samples {
            let family_declared = typed.contains(name)
                || ["_sum", "_count", "_bucket"]
                    .iter()
                    .any(|suf| name.strip_suffix(suf).is_some_and(|f| typed.contains(f)));
            assert!(family_declared, "sample {name} has no family");
        }
        Page { types, samples }
    }

    /// Sum of the values of samples named `name` whose labels include `want`.
    fn sum(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .sum()
    }
}

fn metrics(addr: &str) -> Page {
    let (code, body) = http(addr, "GET", "/metrics", "").expect("GET /metrics");
    assert_eq!(code, 200, "{body}");
    Page::parse(&body)
}

#[test]
fn self_metrics_move_and_promlite_scrapes_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = spawn_target(|| "# TYPE app_up gauge\napp_up 1\n".to_string());
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - record: job:app_up:sum\n        expr: sum by (job) (app_up)\n",
    )
    .expect("write rules");
    let addr = format!("127.0.0.1:{}", free_port());
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [\"{target}\"]\n  - job_name: promlite\n    static_configs:\n      - targets: [\"{addr}\"]\n"
        ),
    )
    .expect("write config");
    let data = dir.path().join("data");
    let log = dir.path().join("promlite.log");
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let mut p = serve_ready(&cfg, &data, &addr, &log);

    // The page is valid from the first request on and has every family.
    let first = metrics(&addr);
    for f in REQUIRED {
        assert!(first.types.contains_key(*f), "missing family {f}");
    }
    assert_eq!(
        first.types["prometheus_tsdb_wal_fsync_duration_seconds"],
        "Summary"
    );
    assert_eq!(
        first.sum("prometheus_config_last_reload_successful", &[]),
        1.0
    );
    assert!(first.sum("process_resident_memory_bytes", &[]) > 0.0);
    assert!(first.sum("process_open_fds", &[]) > 0.0);
    assert!(first.sum("process_start_time_seconds", &[]) > 1.0e9);
    assert_eq!(
        first.sum(
            "prometheus_target_scrape_pool_targets",
            &[("scrape_job", "app")]
        ),
        1.0
    );
    assert_eq!(
        first.sum(
            "prometheus_sd_discovered_targets",
            &[("config", "promlite"), ("name", "scrape")]
        ),
        1.0
    );
    assert_eq!(first.sum("prometheus_rule_group_rules", &[]), 1.0);

    // Scrapes, appends and rule evaluations are counted.
    let mut last = None;
    let moved = poll(Duration::from_secs(20), || {
        let m = metrics(&addr);
        let ok = m.sum("prometheus_tsdb_head_samples_appended_total", &[]) > 0.0
            && m.sum("prometheus_tsdb_head_series", &[]) > 0.0
            && m.sum("prometheus_tsdb_head_chunks", &[]) > 0.0
            && m.sum(
                "prometheus_target_interval_length_seconds_count",
                &[("interval", "1s")],
            ) >= 2.0
            && m.sum("prometheus_rule_evaluations_total", &[]) >= 2.0
            && m.sum("prometheus_rule_group_last_duration_seconds", &[]) > 0.0;
        last = Some(m.samples.len());
        ok
    });
    assert!(
        moved,
        "counters did not move ({last:?} samples): {}",
        logs()
    );
    let m = metrics(&addr);
    assert_eq!(m.sum("prometheus_rule_evaluation_failures_total", &[]), 0.0);
    let interval_sum = m.sum(
        "prometheus_target_interval_length_seconds_sum",
        &[("interval", "1s")],
    );
    let interval_count = m.sum(
        "prometheus_target_interval_length_seconds_count",
        &[("interval", "1s")],
    );
    let mean = interval_sum / interval_count;
    assert!(
        (0.5..2.5).contains(&mean),
        "mean scrape interval {mean} s for a 1s interval"
    );
    // Queries through the API reach the engine's counters.
    query(&addr, "vector(1)", None);
    let m = metrics(&addr);
    assert!(
        m.sum(
            "prometheus_engine_query_duration_seconds_count",
            &[("slice", "inner_eval")]
        ) >= 1.0
    );

    // promlite scrapes itself: its own series are queryable under job="promlite".
    let self_scraped = poll(Duration::from_secs(20), || {
        scalar_of(&query(&addr, "up{job=\"promlite\"}", None)) == Some(1.0)
            && query(
                &addr,
                "prometheus_tsdb_head_samples_appended_total{job=\"promlite\"} > 0",
                None,
            )
            .len()
                == 1
    });
    assert!(
        self_scraped,
        "self-scrape: {:?} / {}",
        query(&addr, "{job=\"promlite\"}", None).len(),
        logs()
    );
    let fams = query(
        &addr,
        "count({job=\"promlite\",__name__=~\"prometheus_rule_evaluations_total|process_open_fds\"})",
        None,
    );
    assert_eq!(scalar_of(&fams), Some(2.0), "{fams:?}");

    // After a restart the WAL replay status names the segments replayed.
    assert!(
        p.signal_and_wait(libc::SIGTERM).success(),
        "clean exit: {}",
        logs()
    );
    let _p = serve_ready(&cfg, &data, &addr, &log);
    let w = get_json(&addr, "/api/v1/status/walreplay");
    assert_eq!(w["status"], "success", "{w}");
    let (min, max, current) = (
        w["data"]["min"].as_i64().expect("min"),
        w["data"]["max"].as_i64().expect("max"),
        w["data"]["current"].as_i64().expect("current"),
    );
    assert!(min >= 0 && min <= max, "{w}");
    assert_eq!(current, max, "replay finished: {w}");
    let m = metrics(&addr);
    assert!(
        m.sum("prometheus_tsdb_head_series", &[]) > 0.0,
        "replayed series"
    );
    assert_eq!(m.sum("prometheus_tsdb_wal_corruptions_total", &[]), 0.0);
}
