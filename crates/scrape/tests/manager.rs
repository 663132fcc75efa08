//! Scenario tests of the scrape manager: scheduling, target views,
//! reloads, target_limit, file SD and staleness on removal/stop. Intervals
//! are 100ms so every test finishes in well under two seconds.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use promlite_model::{is_stale_nan, MemStorage, SystemClock};
use promlite_scrape::{Config, Health, ScrapeManager, ScrapeOptions};

fn manager(db: &MemStorage) -> ScrapeManager {
    ScrapeManager::new(
        Arc::new(db.clone()),
        Arc::new(SystemClock),
        ScrapeOptions::default(),
    )
}

fn config(yaml: &str, srv: &Server) -> Config {
    Config::from_str(&yaml.replace("ADDR", &srv.addr.to_string())).unwrap_or_else(|e| panic!("{e}"))
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

const FAST: &str = "global: {scrape_interval: 100ms, scrape_timeout: 100ms}\n";

#[tokio::test]
async fn scrapes_on_schedule_and_reports_targets() {
    let srv = serve(Reply::text(
        "# TYPE jobs_total counter\n# HELP jobs_total Jobs.\njobs_total 3\n",
    ))
    .await;
    let db = MemStorage::new();
    let m = manager(&db);
    let yaml = format!(
        "{FAST}scrape_configs:\n  - job_name: app\n    static_configs: [{{targets: ['ADDR', 'skip.me:1']}}]\n    relabel_configs: [{{source_labels: [__address__], regex: 'skip.*', action: drop}}]\n"
    );
    m.apply_config(&config(&yaml, &srv)).unwrap();
    wait_for("two scrapes", || samples_len(&db, "jobs_total") >= 2).await;

    let active = m.active_targets();
    assert_eq!(active.len(), 1);
    let t = &active[0];
    assert_eq!(t.health, Health::Up);
    assert_eq!(t.scrape_pool, "app");
    assert_eq!(t.scrape_url, format!("http://{}/metrics", srv.addr));
    assert_eq!(t.labels.get("job"), Some("app"));
    assert_eq!(
        t.discovered_labels.get("__metrics_path__"),
        Some("/metrics")
    );
    assert_eq!(t.scrape_interval, Duration::from_millis(100));
    assert!(t.last_scrape_ms.is_some() && t.last_error.is_empty());

    let dropped = m.dropped_targets();
    assert_eq!(dropped.len(), 1);
    assert_eq!(
        dropped[0].discovered_labels.get("__address__"),
        Some("skip.me:1")
    );

    assert_eq!(m.scrape_pools(), vec!["app".to_string()]);
    let c = m.counters();
    assert!(c.scrapes >= 2 && c.failed == 0, "{c:?}");
    let md = m.metadata();
    assert!(
        md.iter()
            .any(|x| x.metric == "jobs_total" && x.metadata.help == "Jobs."),
        "{md:?}"
    );

    // Consecutive scrapes are one interval apart (aligned schedule).
    let s = samples(&db, "jobs_total");
    let gap = s[1].0 - s[0].0;
    assert!((90..1_000).contains(&gap), "gap {gap}");
    m.stop().await;
}

fn samples_len(db: &MemStorage, name: &str) -> usize {
    series(db, name).first().map_or(0, |s| s.1.len())
}

#[tokio::test]
async fn removed_job_gets_stale_markers_and_stop_too() {
    let srv = serve(Reply::text("g 1\n")).await;
    let db = MemStorage::new();
    let m = manager(&db);
    let yaml = format!(
        "{FAST}scrape_configs:\n  - job_name: a\n    static_configs: [{{targets: ['ADDR']}}]\n"
    );
    m.apply_config(&config(&yaml, &srv)).unwrap();
    wait_for("a scrape", || samples_len(&db, "g") >= 1).await;
    m.apply_config(&config(FAST, &srv)).unwrap();
    wait_for("stale marker", || {
        series(&db, "g")
            .first()
            .and_then(|s| s.1.last().copied())
            .is_some_and(|x| is_stale_nan(x.1))
    })
    .await;
    assert!(m.active_targets().is_empty());
    let up = samples(&db, "up");
    assert!(is_stale_nan(up.last().unwrap().1));

    // stop() writes them too, and waits for it
    m.apply_config(&config(&yaml, &srv)).unwrap();
    wait_for("scrapes again", || {
        series(&db, "g")[0]
            .1
            .last()
            .is_some_and(|x| !is_stale_nan(x.1))
    })
    .await;
    m.stop().await;
    assert!(is_stale_nan(samples(&db, "g").last().unwrap().1));
    assert!(m.active_targets().is_empty());
}

#[tokio::test]
async fn invalid_reload_keeps_the_old_config() {
    let srv = serve(Reply::text("g 1\n")).await;
    let db = MemStorage::new();
    let m = manager(&db);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    let good = format!(
        "{FAST}scrape_configs:\n  - job_name: a\n    static_configs: [{{targets: ['{}']}}]\n",
        srv.addr
    );
    std::fs::write(&path, &good).unwrap();
    m.reload_from_file(&path).unwrap();
    wait_for("a scrape", || samples_len(&db, "g") >= 1).await;
    std::fs::write(
        &path,
        "scrape_configs:\n  - job_name: a\n    scrape_interval: nope\n",
    )
    .unwrap();
    let err = m.reload_from_file(&path).unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("\"nope\""), "{err}");
    assert_eq!(
        m.config().unwrap().scrape_configs[0].scrape_interval,
        Duration::from_millis(100)
    );
    assert_eq!(m.active_targets().len(), 1);
    let before = samples_len(&db, "g");
    wait_for("still scraping", || samples_len(&db, "g") > before).await;
    m.stop().await;
}

#[tokio::test]
async fn target_limit_fails_all_targets_of_the_pool() {
    let srv = serve(Reply::text("g 1\n")).await;
    let db = MemStorage::new();
    let m = manager(&db);
    let yaml = format!("{FAST}scrape_configs:\n  - job_name: a\n    target_limit: 1\n    static_configs: [{{targets: ['ADDR', 'localhost:1']}}]\n");
    m.apply_config(&config(&yaml, &srv)).unwrap();
    let active = m.active_targets();
    assert_eq!(active.len(), 2);
    for t in &active {
        assert_eq!(t.health, Health::Down);
        assert_eq!(
            t.last_error,
            "target_limit exceeded (number of targets: 2, limit: 1)"
        );
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(*srv.hits.lock(), 0, "nothing scraped");
    m.stop().await;
}

#[tokio::test]
async fn file_sd_targets_follow_the_file() {
    let srv = serve(Reply::text("g 1\n")).await;
    let srv2 = serve(Reply::text("h 1\n")).await;
    let db = MemStorage::new();
    let m = manager(&db);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.json");
    std::fs::write(
        &file,
        format!(
            r#"[{{"targets": ["{}"], "labels": {{"team": "ml"}}}}]"#,
            srv.addr
        ),
    )
    .unwrap();
    let yaml = format!(
        "{FAST}scrape_configs:\n  - job_name: f\n    file_sd_configs: [{{files: ['{}']}}]\n",
        dir.path().join("*.json").display()
    );
    m.apply_config(&Config::from_str(&yaml).unwrap()).unwrap();
    wait_for("file target scraped", || samples_len(&db, "g") >= 1).await;
    let s = series(&db, "g");
    assert_eq!(s[0].0.get("team"), Some("ml"));
    // the file changes: old target removed (stale), new one scraped
    std::fs::write(&file, format!(r#"[{{"targets": ["{}"]}}]"#, srv2.addr)).unwrap();
    wait_for("new target scraped", || samples_len(&db, "h") >= 1).await;
    wait_for("old target stale", || {
        series(&db, "g")[0]
            .1
            .last()
            .is_some_and(|x| is_stale_nan(x.1))
    })
    .await;
    assert_eq!(m.active_targets().len(), 1);
    m.stop().await;
}

#[tokio::test]
async fn unchanged_job_keeps_running_across_reloads() {
    let srv = serve(Reply::text("g 1\n")).await;
    let db = MemStorage::new();
    let m = manager(&db);
    let yaml = format!(
        "{FAST}scrape_configs:\n  - job_name: a\n    static_configs: [{{targets: ['ADDR']}}]\n"
    );
    let cfg = config(&yaml, &srv);
    m.apply_config(&cfg).unwrap();
    wait_for("a scrape", || samples_len(&db, "g") >= 1).await;
    m.apply_config(&cfg).unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        samples(&db, "g").iter().all(|x| !is_stale_nan(x.1)),
        "no staleness for an unchanged job"
    );
    m.stop().await;
}

#[tokio::test]
async fn changed_job_hands_over_without_staleness() {
    let srv = serve(Reply::text("g 1\n")).await;
    let db = MemStorage::new();
    let m = manager(&db);
    let yaml = format!(
        "{FAST}scrape_configs:\n  - job_name: a\n    static_configs: [{{targets: ['ADDR']}}]\n"
    );
    m.apply_config(&config(&yaml, &srv)).unwrap();
    wait_for("a scrape", || samples_len(&db, "g") >= 1).await;
    // A setting that does not change the target's identity: handed over.
    let changed = format!("{yaml}    sample_limit: 1000\n");
    m.apply_config(&config(&changed, &srv)).unwrap();
    let before = samples_len(&db, "g");
    wait_for("scrapes under the new config", || {
        samples_len(&db, "g") >= before + 2
    })
    .await;
    assert!(
        samples(&db, "g").iter().all(|x| !is_stale_nan(x.1)),
        "no staleness on handover"
    );
    assert_eq!(m.active_targets()[0].health, Health::Up);
    // A relabeling that changes the target labels: old series go stale.
    let relabeled =
        format!("{changed}    relabel_configs: [{{target_label: team, replacement: x}}]\n");
    m.apply_config(&config(&relabeled, &srv)).unwrap();
    wait_for("new series", || series(&db, "g").len() == 2).await;
    let old = series(&db, "g")
        .into_iter()
        .find(|s| s.0.get("team").is_none())
        .unwrap();
    wait_for("old series stale", || {
        series(&db, "g")
            .into_iter()
            .find(|s| s.0 == old.0)
            .is_some_and(|s| s.1.last().is_some_and(|x| is_stale_nan(x.1)))
    })
    .await;
    m.stop().await;
}

#[tokio::test]
async fn unusable_tls_files_mark_the_target_down() {
    let srv = serve(Reply::text("g 1\n")).await;
    let db = MemStorage::new();
    let m = manager(&db);
    let yaml = format!(
        "{FAST}scrape_configs:\n  - job_name: a\n    scheme: https\n    tls_config: {{ca_file: /nonexistent/ca.pem}}\n    static_configs: [{{targets: ['ADDR']}}]\n"
    );
    m.apply_config(&config(&yaml, &srv)).unwrap();
    let t = &m.active_targets()[0];
    assert_eq!(t.health, Health::Down);
    assert!(
        t.last_error.contains("reading ca_file /nonexistent/ca.pem"),
        "{}",
        t.last_error
    );
    assert!(t.scrape_url.starts_with("https://"));
    m.stop().await;
}

/// With `ScrapeOptions::runtime` the loops run on the scrape runtime's own
/// thread, even when `apply_config` is called outside any runtime,
/// and `stop` still waits for their staleness markers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_run_on_the_dedicated_scrape_runtime() {
    let srv = serve(Reply::text("jobs_total 3\n")).await;
    let db = MemStorage::new();
    let rt = promlite_scrape::ScrapeRuntime::start().expect("scrape runtime");
    let m = ScrapeManager::new(
        Arc::new(db.clone()),
        Arc::new(SystemClock),
        ScrapeOptions {
            runtime: Some(rt.handle()),
            ..ScrapeOptions::default()
        },
    );
    let yaml = format!(
        "{FAST}scrape_configs:\n  - job_name: app\n    static_configs: [{{targets: ['ADDR']}}]\n"
    );
    let cfg = config(&yaml, &srv);
    // From a thread outside any runtime: only the given runtime can run
    // the loops.
    let m2 = m.clone();
    let applied = std::thread::spawn(move || m2.apply_config(&cfg))
        .join()
        .expect("apply thread");
    assert_eq!(applied, Ok(()));
    wait_for("two scrapes", || samples_len(&db, "jobs_total") >= 2).await;
    assert_eq!(m.active_targets()[0].health, Health::Up);
    m.stop().await;
    let s = samples(&db, "jobs_total");
    assert!(
        s.last().is_some_and(|(_, v)| is_stale_nan(*v)),
        "no staleness marker after stop: {s:?}"
    );
    drop(rt);
}
