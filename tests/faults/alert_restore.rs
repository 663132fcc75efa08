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

/// A webhook receiver: records when each request arrived and its body.
fn webhook_receiver() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(Instant, String)>>>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut out = conn.try_clone().expect("clone");
                let mut r = BufReader::new(conn);
                // One request after another on a keep-alive connection.
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    let mut first = true;
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" && !first {
                            break;
                        }
                        first = false;
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    sink.lock()
                        .expect("lock")
                        .push((Instant::now(), String::from_utf8_lossy(&body).into_owned()));
                    if out
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, got)
}

/// Firing notifications received so far (arrival times).
fn firing(got: &std::sync::Mutex<Vec<(Instant, String)>>) -> Vec<Instant> {
    got.lock()
        .expect("lock")
        .iter()
        .filter(|(_, b)| b.contains("\"status\":\"firing\"") && b.contains("AlwaysOn"))
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn a_firing_alert_is_not_resent_early_after_sigkill() {
    // Resend every 8 s; the server is killed 2 s after the first
    // notification and restarted at once. Prometheus (state in memory only)
    // sends again on its first evaluation after the restart; promlite's next
    // notification is the regular resend, 8 s after the first.
    const RESEND_S: u64 = 8;
    let (hook, got) = webhook_receiver();
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = root.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nscrape_configs: []\n\
             alerting:\n  webhooks:\n    - url: {hook}\n      timeout: 2s\n"
        ),
    )
    .expect("config");
    std::fs::write(
        root.path().join("rules.yml"),
        "groups:\n  - name: crash\n    interval: 1s\n    rules:\n      - alert: AlwaysOn\n        expr: vector(1)\n",
    )
    .expect("rules");
    let data = root.path().join("data");
    let addr = format!("127.0.0.1:{}", free_port());
    let resend = format!("{RESEND_S}s");
    let start = |log: &std::path::Path| -> Promlite {
        let mut p = serve(
            &cfg,
            &data,
            &addr,
            &["--rules.alert.resend-delay", &resend],
            log,
        );
        p.wait_ready(log);
        p
    };
    let log = root.path().join("promlite.log");
    let mut p = start(&log);
    assert!(
        poll(Duration::from_secs(15), || !firing(&got).is_empty()),
        "no notification: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let sent_at = firing(&got)[0];
    std::thread::sleep(Duration::from_secs(2));
    p.signal_and_wait(libc::SIGKILL);

    let log2 = root.path().join("promlite-2.log");
    let p = start(&log2);
    // Wait for the resend (with 4 s to spare for evaluation and delivery).
    let deadline = Duration::from_secs(RESEND_S + 4);
    assert!(
        poll(deadline.saturating_sub(sent_at.elapsed()), || firing(&got)
            .len()
            >= 2),
        "no resend after the restart: {}",
        std::fs::read_to_string(&log2).unwrap_or_default()
    );
    let times = firing(&got);
    let gap = times[1].duration_since(sent_at);
    eprintln!("first notification, kill at +2 s, restart; next notification after {gap:?}");
    // The evaluation clock is whole seconds apart; allow one interval of slack.
    assert!(
        gap >= Duration::from_secs(RESEND_S - 1),
        "notified again {gap:?} after the first, before the {RESEND_S} s resend delay"
    );
    drop(p);
}
