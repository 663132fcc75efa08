//! Alert state across a crash (reliability checklist A9): `promlite serve`
//! evaluating an alert with a long `for` is SIGKILLed while the alert is
//! pending; after the restart the alert is pending again with its
//! `activeAt` carried over from before the crash (shifted by the downtime,
//! as Prometheus restores from `ALERTS_FOR_STATE`), not restarted from
//! zero — so a crash neither delays the firing by a whole `for` period nor
//! makes it fire early.

use std::time::{Duration, Instant};

use promlite_http::params::parse_time;

use crate::harness::{free_port, get_json, poll, serve, Promlite};

const CONFIG: &str =
    "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs: []\n";
const RULES: &str = "groups:\n  - name: crash\n    interval: 1s\n    rules:\n      - alert: LongPending\n        expr: vector(1)\n        for: 1h\n        labels:\n          severity: page\n";

/// The `LongPending` alert's state and `activeAt` (ms), if listed.
fn alert(addr: &str) -> Option<(String, i64)> {
    let v = get_json(addr, "/api/v1/alerts");
    let a = v["data"]["alerts"]
        .as_array()?
        .iter()
        .find(|a| a["labels"]["alertname"] == "LongPending")?
        .clone();
    let at = parse_time(a["activeAt"].as_str()?).ok()?;
    Some((a["state"].as_str()?.to_string(), at))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[test]
fn a_pending_alert_keeps_its_active_time_across_sigkill() {
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = root.path().join("prometheus.yml");
    std::fs::write(&cfg, CONFIG).expect("config");
    std::fs::write(root.path().join("rules.yml"), RULES).expect("rules");
    let data = root.path().join("data");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = root.path().join("promlite.log");
    let start = |log: &std::path::Path| -> Promlite {
        let mut p = serve(&cfg, &data, &addr, &[], log);
        p.wait_ready(log);
        p
    };

    let mut p = start(&log);
    let mut first = None;
    assert!(
        poll(Duration::from_secs(10), || {
            first = alert(&addr);
            first.is_some()
        }),
        "the alert never became pending: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let (state, active_at) = first.expect("alert");
    assert_eq!(state, "pending");
    // Several evaluations (each writes ALERTS_FOR_STATE), then the crash.
    std::thread::sleep(Duration::from_secs(6));
    let killed_at = now_ms();
    p.signal_and_wait(libc::SIGKILL);

    let log2 = root.path().join("promlite-2.log");
    let t = Instant::now();
    let p = start(&log2);
    let restarted_at = now_ms();
    let mut after = None;
    assert!(
        poll(Duration::from_secs(10), || {
            after = alert(&addr);
            after.is_some()
        }),
        "no alert after the restart: {}",
        std::fs::read_to_string(&log2).unwrap_or_default()
    );
    let (state, restored) = after.expect("alert");
    eprintln!(
        "activeAt before {active_at}, after restart {restored} (downtime {} ms, restart took {:?})",
        restarted_at - killed_at,
        t.elapsed()
    );
    assert_eq!(state, "pending", "fired early after the restart");
    // Restored: the old start (stored in whole seconds), moved forward by
    // the downtime, which counts from the last evaluation before the kill
    // to the first after the restart (allow 3 s for those intervals); a
    // fresh start would be at least 6 s later.
    assert!(restored >= active_at, "{restored} < {active_at}");
    assert!(
        restored <= active_at + (restarted_at - killed_at) + 3_000,
        "activeAt {restored} was not restored from {active_at} (restart at {restarted_at})"
    );
    drop(p);
}
