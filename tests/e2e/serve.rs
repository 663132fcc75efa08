//! `promlite serve`: scrape, query, targets, reload with a bad config,
//! SIGTERM, restart on the same data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::harness::*;

fn config(target: &str) -> String {
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [\"{target}\"]\n"
    )
}

#[test]
fn serve_scrapes_answers_reloads_and_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    let target = spawn_target(move || {
        let n = h.fetch_add(1, Ordering::SeqCst) + 1;
        format!("# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\napp_requests_total{{path=\"/\"}} {}\n", n * 10)
    });
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, config(&target)).expect("write config");
    let data = dir.path().join("data");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("promlite.log");
    let mut p = serve_ready_with(&cfg, &data, &addr, &["--web.enable-lifecycle"], &log);

    // `up` becomes 1 and the counter grows.
    let up = poll(Duration::from_secs(15), || {
        scalar_of(&query(&addr, "up{job=\"app\"}", None)) == Some(1.0)
    });
    assert!(
        up,
        "up never became 1: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(poll(Duration::from_secs(10), || hits
        .load(Ordering::SeqCst)
        >= 3));
    let r = query(&addr, "app_requests_total", None);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["metric"]["instance"], target.as_str());
    assert_eq!(r[0]["metric"]["job"], "app");
    let v = scalar_of(&r).expect("value");
    assert!(v >= 20.0 && v % 10.0 == 0.0, "{v}");
    // A rate over the 10-per-second counter.
    let rate = scalar_of(&query(&addr, "rate(app_requests_total[3s])", None)).expect("rate");
    assert!(rate > 5.0 && rate < 15.0, "rate {rate}");

    // Targets and metadata.
    let t = get_json(&addr, "/api/v1/targets");
    let active = t["data"]["activeTargets"]
        .as_array()
        .expect("activeTargets");
    assert_eq!(active.len(), 1, "{t}");
    assert_eq!(active[0]["labels"]["job"], "app");
    assert_eq!(active[0]["health"], "up");
    assert_eq!(active[0]["scrapeUrl"], format!("http://{target}/metrics"));
    let md = get_json(&addr, "/api/v1/metadata?metric=app_requests_total");
    assert_eq!(
        md["data"]["app_requests_total"][0]["type"], "counter",
        "{md}"
    );
    let status = get_json(&addr, "/api/v1/status/tsdb");
    assert!(
        status["data"]["headStats"]["numSeries"]
            .as_u64()
            .unwrap_or(0)
            >= 2,
        "{status}"
    );
    let flags = get_json(&addr, "/api/v1/status/flags");
    assert_eq!(flags["data"]["web.enable-lifecycle"], "true");

    // A bad config is rejected by /-/reload and the old one keeps running.
    std::fs::write(
        &cfg,
        "scrape_configs:\n  - job_name: app\n    scrape_interval: banana\n",
    )
    .expect("write");
    let (code, body) = http(&addr, "POST", "/-/reload", "").expect("reload");
    assert_ne!(code, 200, "bad config accepted: {body}");
    let c = get_json(&addr, "/api/v1/status/config");
    assert!(
        c["data"]["yaml"].as_str().unwrap_or("").contains(&target),
        "{c}"
    );
    let rt = get_json(&addr, "/api/v1/status/runtimeinfo");
    assert_eq!(rt["data"]["reloadConfigSuccess"], false, "{rt}");
    let before = hits.load(Ordering::SeqCst);
    assert!(
        poll(Duration::from_secs(10), || hits.load(Ordering::SeqCst)
            >= before + 2),
        "scraping stopped"
    );

    // A good config via SIGHUP: a second job appears.
    std::fs::write(
        &cfg,
        format!(
            "{}  - job_name: app2\n    static_configs:\n      - targets: [\"{target}\"]\n",
            config(&target)
        ),
    )
    .expect("write");
    p.signal(libc::SIGHUP);
    assert!(
        poll(Duration::from_secs(10), || get_json(
            &addr,
            "/api/v1/targets"
        )["data"]["activeTargets"]
            .as_array()
            .is_some_and(|a| a.len() == 2)),
        "SIGHUP reload did not add the job"
    );

    // SIGTERM: clean exit 0.
    let t_end = now_s();
    let last = scalar_of(&query(
        &addr,
        "max(max_over_time(app_requests_total{job=\"app\"}[1m]))",
        Some(t_end),
    ))
    .expect("last value");
    let status = p.signal_and_wait(libc::SIGTERM);
    assert!(
        status.success(),
        "exit status {status}: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // Restart on the same data dir: the data is still there.
    std::fs::write(&cfg, "global:\n  scrape_interval: 1s\n").expect("write");
    let addr2 = format!("127.0.0.1:{}", free_port());
    let log2 = dir.path().join("promlite2.log");
    let mut p2 = serve_ready(&cfg, &data, &addr2, &log2);
    let again = scalar_of(&query(
        &addr2,
        "max(max_over_time(app_requests_total{job=\"app\"}[1m]))",
        Some(t_end),
    ))
    .expect("data after restart");
    assert_eq!(again, last);
    // Staleness markers were written at shutdown: nothing is current now.
    assert!(query(&addr2, "app_requests_total", Some(now_s() + 1.0)).is_empty());
    let status = p2.signal_and_wait(libc::SIGINT);
    assert!(status.success(), "exit status {status}");
}

#[test]
fn serve_refuses_a_bad_config_at_startup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bad.yml");
    std::fs::write(&cfg, "scrape_configs: [{job_name: x, nonsense: 1}]\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_promlite"))
        .args([
            "serve",
            "--config.file",
            cfg.to_str().expect("utf8"),
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .arg("--storage.tsdb.path")
        .arg(dir.path().join("data"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.file"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "data dir created despite a bad config"
    );
}
