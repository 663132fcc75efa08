//! Query timeout and cancellation against `promlite serve` (reliability
//! checklist B4): a query's `timeout` is answered with at most 10 %
//! overshoot, and its worker stops so the next query gets the slot; a
//! client that disconnects mid-query frees its slot within 1 s.
//!
//! The server runs with `--query.max-concurrency 1`, so the time a cheap
//! query waits for its answer measures how long the heavy one kept
//! running.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{enc, free_port, get_json, http, serve_ready_with, Promlite};

/// Runs for far longer than any limit below unless it is stopped, in little
/// memory: 86,400 outer steps, each sorting a 86,400-sample window.
const HEAVY: &str = "max_over_time(quantile_over_time(0.5, vector(time())[1d:1s])[1d:1s])";

fn start(root: &Path) -> Promlite {
    let dir = root.join("data");
    let cfg = root.join("prometheus.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").expect("config");
    let addr = format!("127.0.0.1:{}", free_port());
    let extra = [
        "--storage.tsdb.retention.time",
        "0s",
        "--query.timeout",
        "60s",
        "--query.max-concurrency",
        "1",
        "--query.max-samples",
        "5000000",
    ];
    serve_ready_with(&cfg, &dir, &addr, &extra, &root.join("promlite.log"))
}

/// The server's resident memory, from its own `/metrics`.
fn rss(addr: &str) -> f64 {
    let (code, text) = http(addr, "GET", "/metrics", "").expect("metrics");
    assert_eq!(code, 200);
    text.lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .expect("process_resident_memory_bytes in /metrics")
}

/// Time until a cheap query is answered (it waits for the only slot).
fn cheap_query_wait(addr: &str) -> Duration {
    let t = Instant::now();
    let v = get_json(addr, "/api/v1/query?query=vector(3)&time=1");
    assert_eq!(v["data"]["result"][0]["value"][1], "3", "{v}");
    t.elapsed()
}

#[test]
fn timeouts_hold_and_disconnects_cancel_the_query() {
    let root = tempfile::tempdir().expect("tempdir");
    let p = start(root.path());
    let addr = p.addr.clone();
    cheap_query_wait(&addr);
    let rss_before = rss(&addr);

    // 1. A 1 s timeout: answered within 1.1 s with a timeout error, and the
    //    worker stops, so the slot is free again right after.
    let form = format!("query={}&time=100&timeout=1s", enc(HEAVY));
    let t = Instant::now();
    let (code, body) = http(&addr, "POST", "/api/v1/query", &form).expect("timed-out query");
    let took = t.elapsed();
    eprintln!("timeout=1s: HTTP {code} after {took:?}: {body:.200}");
    assert_eq!(code, 503, "{body:.300}");
    assert!(body.contains("timeout"), "{body:.300}");
    assert!(took >= Duration::from_secs(1), "answered early: {took:?}");
    assert!(took <= Duration::from_millis(1100), "overshoot: {took:?}");
    let wait = cheap_query_wait(&addr);
    eprintln!("cheap query right after the timeout waited {wait:?}");
    assert!(
        wait < Duration::from_millis(500),
        "the timed-out query kept its slot for {wait:?}"
    );

    // 2. A client that sends the heavy query and goes away after 300 ms:
    //    the query is canceled and the slot is free within 1 s.
    let mut c = TcpStream::connect(&addr).expect("connect");
    let form = format!("query={}&time=100", enc(HEAVY));
    write!(
        c,
        "POST /api/v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .expect("send");
    std::thread::sleep(Duration::from_millis(300));
    drop(c);
    let wait = cheap_query_wait(&addr);
    eprintln!("cheap query after a client disconnect waited {wait:?}");
    assert!(
        wait < Duration::from_secs(1),
        "a disconnected client's query kept its slot for {wait:?}"
    );

    // 3. The process is healthy and its memory came back.
    let (code, _) = http(&addr, "GET", "/-/healthy", "").expect("healthy");
    assert_eq!(code, 200);
    let rss_after = rss(&addr);
    eprintln!(
        "RSS before {:.1} MiB, after {:.1} MiB",
        rss_before / 1048576.0,
        rss_after / 1048576.0
    );
    assert!(
        rss_after < rss_before + 64.0 * 1048576.0,
        "RSS grew from {rss_before} to {rss_after} bytes"
    );
    drop(p);
}
