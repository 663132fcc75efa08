//! Scrape abuse against a running `promlite serve`: an endless body, a
//! slow-loris target (one byte per second), a million series in one body,
//! invalid UTF-8 and duplicate series, next to a healthy target. Each bad
//! target gets a clear error on `/api/v1/targets` and `up` = 0 (duplicates
//! are handled as Prometheus does), the healthy target keeps being scraped
//! and the server stays responsive.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{enc, free_port, get_json, http, poll, serve_ready};

/// Serves each connection on its own thread: reads the request head, writes
/// a response head (no Content-Length, connection close), then runs `body`.
fn serve(body: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> String {
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n\r\n";
    serve_raw(head, body)
}

/// [`serve`] with the response head given.
pub fn serve_raw(
    head: &'static str,
    body: impl Fn(&mut TcpStream) + Send + Sync + 'static,
) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                if s.write_all(head.as_bytes()).is_ok() {
                    body(&mut s);
                }
            });
        }
    });
    addr
}

fn config(jobs: &[(&str, &str, &str)]) -> String {
    let mut c =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for (job, target, extra) in jobs {
        c.push_str(&format!(
            "  - job_name: {job}\n{extra}    static_configs:\n      - targets: [\"{target}\"]\n"
        ));
    }
    c
}

#[test]
fn scrape_abuse_gives_target_errors_and_the_server_stays_healthy() {
    let endless_bytes = Arc::new(AtomicU64::new(0));
    let eb = endless_bytes.clone();
    let endless = serve(move |s| {
        let line = b"endless_metric{a=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"} 1\n".repeat(1000);
        while s.write_all(&line).is_ok() {
            eb.fetch_add(line.len() as u64, Ordering::Relaxed);
        }
    });
    let slow = serve(|s| {
        for b in b"slow_metric 1\n".iter().cycle().take(120) {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let million = serve(|s| {
        let mut buf = String::with_capacity(1 << 20);
        for k in 0..1_000_000u32 {
            buf.push_str("many_series{k=\"");
            buf.push_str(&k.to_string());
            buf.push_str("\"} 1\n");
            if buf.len() > (1 << 20) - 64 {
                if s.write_all(buf.as_bytes()).is_err() {
                    return;
                }
                buf.clear();
            }
        }
        let _ = s.write_all(buf.as_bytes());
    });
    let invalid = serve(|s| {
        let _ = s.write_all(b"good_metric 1\nbad_utf8{a=\"\xff\xfe\xfd\"} 2\n");
    });
    let dup = serve(|s| {
        let _ = s.write_all(b"dup_metric{a=\"1\"} 1\ndup_metric{a=\"1\"} 2\nother_metric 3\n");
    });
    let healthy_hits = Arc::new(AtomicU64::new(0));
    let hh = healthy_hits.clone();
    let healthy = serve(move |s| {
        let n = hh.fetch_add(1, Ordering::SeqCst);
        let _ = s.write_all(format!("healthy_total {n}\n").as_bytes());
    });

    let root = tempfile::tempdir().expect("tempdir");
    let cfg = root.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        config(&[
            ("endless", endless.as_str(), "    body_size_limit: 1MB\n"),
            ("slow", slow.as_str(), ""),
            // A 25 MB body: a longer timeout, so that a loaded machine still
            // reads it all and the error is the limit, not the clock.
            (
                "million",
                million.as_str(),
                "    scrape_interval: 5s\n    scrape_timeout: 5s\n    sample_limit: 10000\n",
            ),
            ("invalid", invalid.as_str(), ""),
            ("dup", dup.as_str(), ""),
            ("healthy", healthy.as_str(), ""),
        ]),
    )
    .expect("config");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = root.path().join("promlite.log");
    let data = root.path().join("data");
    let p = serve_ready(&cfg, &data, &addr, &log);

    // Wait until every target has been scraped at least twice.
    let targets = || -> HashMap<String, (String, String)> {
        let v = get_json(&addr, "/api/v1/targets");
        v["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|t| {
                (
                    t["labels"]["job"].as_str().unwrap_or("").to_string(),
                    (
                        t["health"].as_str().unwrap_or("").to_string(),
                        t["lastError"].as_str().unwrap_or("").to_string(),
                    ),
                )
            })
            .collect()
    };
    let settled = poll(Duration::from_secs(30), || {
        let t = targets();
        t.len() == 6 && t.values().all(|(h, _)| h != "unknown")
    });
    assert!(settled, "targets never scraped: {:?}", targets());
    std::thread::sleep(Duration::from_secs(3));
    let t = targets();
    eprintln!("target states: {t:#?}");
    let err = |job: &str| t.get(job).map(|x| x.1.clone()).unwrap_or_default();
    let health = |job: &str| t.get(job).map(|x| x.0.clone()).unwrap_or_default();
    assert_eq!(health("endless"), "down");
    assert!(
        err("endless").contains("body size limit"),
        "{}",
        err("endless")
    );
    assert_eq!(health("slow"), "down");
    assert!(
        err("slow").to_lowercase().contains("timeout") || err("slow").contains("deadline"),
        "{}",
        err("slow")
    );
    assert_eq!(health("million"), "down");
    assert!(
        err("million").contains("sample_limit"),
        "{}",
        err("million")
    );
    assert_eq!(health("invalid"), "down");
    assert!(!err("invalid").is_empty());
    assert_eq!(health("healthy"), "up", "{}", err("healthy"));
    assert_eq!(
        health("dup"),
        "up",
        "duplicates are not a scrape failure: {}",
        err("dup")
    );
    // The endless body was cut off, not drained.
    let sent = endless_bytes.load(Ordering::Relaxed);
    eprintln!("endless target wrote {sent} bytes in total");

    let q = |expr: &str| {
        let v = get_json(&addr, &format!("/api/v1/query?query={}", enc(expr)));
        assert_eq!(v["status"], "success", "{expr}: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    };
    // Nothing of a rejected scrape was stored (sample_limit is all-or-nothing).
    assert!(
        q("many_series").is_empty(),
        "sample-limited scrape stored samples"
    );
    assert!(
        q("endless_metric").is_empty(),
        "body-limited scrape stored samples"
    );
    assert!(q("bad_utf8").is_empty() && q("good_metric").is_empty());
    // up = 0 for the bad ones, 1 for the good ones.
    for (job, want) in [
        ("endless", "0"),
        ("slow", "0"),
        ("million", "0"),
        ("invalid", "0"),
        ("dup", "1"),
        ("healthy", "1"),
    ] {
        let r = q(&format!("up{{job=\"{job}\"}}"));
        assert_eq!(
            r.first().map(|s| s["value"][1].clone()),
            Some(want.into()),
            "up of {job}: {r:?}"
        );
    }
    // Duplicate series: one sample kept, the rest of the body ingested.
    assert_eq!(q("dup_metric").len(), 1);
    assert_eq!(q("other_metric").len(), 1);
    // The healthy target keeps its schedule and the API answers quickly.
    let before = healthy_hits.load(Ordering::SeqCst);
    let t0 = Instant::now();
    assert!(poll(Duration::from_secs(10), || healthy_hits
        .load(Ordering::SeqCst)
        >= before + 3));
    eprintln!("healthy target: 3 more scrapes in {:?}", t0.elapsed());
    let t0 = Instant::now();
    let (code, _) = http(&addr, "GET", "/-/healthy", "").expect("healthy");
    assert_eq!(code, 200);
    assert!(t0.elapsed() < Duration::from_secs(2));
    let failures = q("sum(prometheus_target_scrapes_exceeded_sample_limit_total)");
    eprintln!("exceeded sample limit counter: {failures:?}");
    drop(p);
}
