//! Limits that protect memory: the global head-series cap (library level;
//! `promlite serve` has no flag for it, so it is 0 = unlimited there),
//! `target_limit` in a scrape config (against `promlite serve`), and
//! compressed request bodies at the HTTP API.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use promlite_tsdb::{Db, DbOptions};

use crate::dataset;
use crate::harness::{free_port, get_json, http, poll, serve_ready, spawn_target};

const CAP: usize = 10;

#[test]
fn head_series_cap_refuses_new_series_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = || DbOptions {
        max_head_series: CAP,
        ..dataset::opts()
    };
    let db = Db::open(dir.path(), o()).expect("open");
    let mut app = db.appender();
    for i in 0..CAP {
        app.append(None, &dataset::labels(i), 1_000, 1.0)
            .expect("append under the cap");
    }
    app.commit().expect("commit under the cap");
    drop(app);

    let mut app = db.appender();
    let err = app
        .append(None, &dataset::labels(CAP), 2_000, 1.0)
        .expect_err("series beyond the cap must be refused");
    let msg = err.to_string();
    assert!(msg.contains("series limit of 10"), "{msg}");
    // Existing series still take samples, in the same appender.
    for i in 0..CAP {
        app.append(None, &dataset::labels(i), 2_000, 2.0)
            .expect("existing series keep ingesting");
    }
    app.commit().expect("commit after a refusal");
    assert!(db.head_stats().series_limit_rejections >= 1);

    let got = dataset::dump(&db);
    assert_eq!(got.len(), CAP, "no series beyond the cap was created");
    assert!(got.iter().all(|(_, s)| s.len() == 2), "{got:?}");
    // An appender still alive keeps the data directory locked.
    drop(app);
    db.close().expect("close");
    // `close` takes `&self`; the directory lock goes with the `Db`.
    drop(db);

    // The cap holds after a restart (WAL replay creates no extra series).
    let db = Db::open(dir.path(), o()).expect("reopen");
    assert_eq!(dataset::dump(&db).len(), CAP);
    let mut app = db.appender();
    assert!(app
        .append(None, &dataset::labels(CAP + 1), 3_000, 1.0)
        .is_err());
    drop(app);
    db.close().expect("close");
}

fn targets_of(addr: &str, job: &str) -> Vec<serde_json::Value> {
    let v = get_json(addr, "/api/v1/targets");
    v["data"]["activeTargets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t["labels"]["job"] == job)
        .collect()
}

/// One raw HTTP/1.1 request with extra headers and a binary body.
fn raw_post(addr: &str, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write head");
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[test]
fn target_limit_fails_the_pool_and_body_bombs_get_4xx() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = || "# TYPE up_test gauge\nup_test 1\n".to_string();
    let (a, b, c, ok) = (
        spawn_target(body),
        spawn_target(body),
        spawn_target(body),
        spawn_target(body),
    );
    let cfg = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n\
         \x20 - job_name: limited\n    target_limit: 2\n    static_configs:\n      - targets: [\"{a}\", \"{b}\", \"{c}\"]\n\
         \x20 - job_name: fine\n    static_configs:\n      - targets: [\"{ok}\"]\n"
    );
    let cfg_path = dir.path().join("prometheus.yml");
    std::fs::write(&cfg_path, cfg).expect("config");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut p = serve_ready(
        &cfg_path,
        &dir.path().join("data"),
        &addr,
        &dir.path().join("log"),
    );

    let limited_down = poll(Duration::from_secs(15), || {
        let t = targets_of(&addr, "limited");
        t.len() == 3
            && t.iter().all(|t| {
                t["health"] == "down"
                    && t["lastError"]
                        .as_str()
                        .is_some_and(|e| e.contains("target_limit exceeded"))
            })
    });
    assert!(
        limited_down,
        "limited pool: {:?}",
        targets_of(&addr, "limited")
    );
    let fine_up = poll(Duration::from_secs(15), || {
        targets_of(&addr, "fine")
            .iter()
            .any(|t| t["health"] == "up")
    });
    assert!(fine_up, "other pool: {:?}", targets_of(&addr, "fine"));
    let (code, _) = http(&addr, "GET", "/-/healthy", "").expect("healthy");
    assert_eq!(code, 200);

    // No remote-write endpoint: a snappy body with a huge declared length
    // is never decoded.
    let mut snappy = vec![0xff, 0xff, 0xff, 0xff, 0x0f];
    snappy.extend(std::iter::repeat_n(0u8, 64 * 1024));
    let (code, resp) = raw_post(
        &addr,
        "/api/v1/write",
        "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n",
        &snappy,
    );
    assert!((400..500).contains(&code), "remote write: {resp}");
    eprintln!("remote write with a snappy bomb: HTTP {code}");
    // A gzip request body is not inflated: the form is read as raw bytes
    // and the missing query is a clear 400.
    let mut gz = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff];
    gz.extend(std::iter::repeat_n(0u8, 1024 * 1024));
    let (code, resp) = raw_post(
        &addr,
        "/api/v1/query",
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Encoding: gzip\r\n",
        &gz,
    );
    assert!((400..500).contains(&code), "gzip body: {resp}");
    eprintln!("gzip-encoded query body: HTTP {code}");
    let (code, _) = http(&addr, "GET", "/-/healthy", "").expect("healthy after bombs");
    assert_eq!(code, 200);
    let status = p.signal_and_wait(libc::SIGTERM);
    assert!(status.success(), "clean shutdown: {status}");
}
