//! `promlite serve` with `rule_files` and `alerting`: a recording rule lands
//! in storage, an alert fires, the rules/alerts APIs show both, and an
//! Alertmanager-shaped receiver gets the alert.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::*;

/// A receiver in a thread that records the body of every POST.
fn spawn_receiver(bodies: Arc<Mutex<Vec<String>>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let addr = l.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut req = Vec::new();
            let mut buf = [0u8; 8192];
            // Read headers, then Content-Length bytes of body.
            let mut want: Option<usize> = None;
            loop {
                if let Some(pos) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    if want.is_none() {
                        let head = String::from_utf8_lossy(&req[..pos]).to_ascii_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        want = Some(pos + 4 + len);
                    }
                    if want.is_some_and(|w| req.len() >= w) {
                        let body = String::from_utf8_lossy(&req[pos + 4..]).into_owned();
                        bodies.lock().expect("lock").push(body);
                        break;
                    }
                }
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    addr
}

#[test]
fn serve_evaluates_rules_and_notifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = spawn_target(|| "# TYPE app_up gauge\napp_up 1\n".to_string());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let receiver = spawn_receiver(bodies.clone());
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: e2e\n    interval: 1s\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n      - alert: AlwaysFiring\n        expr: vector(1) > 0\n        for: 0s\n        labels:\n          severity: page\n        annotations:\n          summary: \"value is {{ $value }}\"\n",
    )
    .expect("write rules");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"{receiver}\"]\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .expect("write config");
    let data = dir.path().join("data");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("promlite.log");
    let mut p = serve_ready(&cfg, &data, &addr, &log);
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();

    // The recording rule's output is queryable.
    let recorded = poll(Duration::from_secs(20), || {
        scalar_of(&query(&addr, "job:up:sum{job=\"app\"}", None)) == Some(1.0)
    });
    assert!(recorded, "job:up:sum never appeared: {}", logs());

    // Both rules are listed and healthy.
    let ok = poll(Duration::from_secs(10), || {
        let r = get_json(&addr, "/api/v1/rules");
        let rules: Vec<_> = r["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        rules.len() == 2 && rules.iter().all(|x| x["health"] == "ok")
    });
    assert!(
        ok,
        "rules not healthy: {}",
        get_json(&addr, "/api/v1/rules")
    );

    // The alert fires, is listed, and reaches the receiver.
    let firing = poll(Duration::from_secs(10), || {
        let a = get_json(&addr, "/api/v1/alerts");
        a["data"]["alerts"].as_array().is_some_and(|v| {
            v.iter()
                .any(|x| x["labels"]["alertname"] == "AlwaysFiring" && x["state"] == "firing")
        })
    });
    assert!(
        firing,
        "alert not firing: {}",
        get_json(&addr, "/api/v1/alerts")
    );
    let series = poll(Duration::from_secs(10), || {
        query(
            &addr,
            "ALERTS{alertname=\"AlwaysFiring\",alertstate=\"firing\"}",
            None,
        )
        .len()
            == 1
    });
    assert!(
        series,
        "no ALERTS series: {:?}",
        query(&addr, "{__name__=~\"ALERTS.*\"}[1m]", None)
    );
    let received = poll(Duration::from_secs(15), || {
        bodies
            .lock()
            .expect("lock")
            .iter()
            .any(|b| b.contains("AlwaysFiring"))
    });
    assert!(
        received,
        "receiver got no alert: {:?}\n{}",
        bodies.lock().expect("lock"),
        logs()
    );
    let body = bodies
        .lock()
        .expect("lock")
        .iter()
        .find(|b| b.contains("AlwaysFiring"))
        .cloned()
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).expect("alert JSON");
    let first = &v[0];
    assert_eq!(first["labels"]["severity"], "page", "{v}");
    assert_eq!(first["annotations"]["summary"], "value is 1", "{v}");

    assert!(p.signal_and_wait(libc::SIGTERM).success());
}
