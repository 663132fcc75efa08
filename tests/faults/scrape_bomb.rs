//! A gzip bomb from a scrape target (reliability checklist C1): a target
//! answers with `Content-Encoding: gzip` and an endless stream of
//! compressed zeros (about 1,000:1). With the **default** configuration
//! (no `body_size_limit` set, so promlite's default of 100 MiB applies;
//! Prometheus's default is unlimited) the scrape must stop at the limit
//! with a clear target error, the connection must be closed rather than
//! drained, and the server's memory must stay near the limit.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::child::status_bytes;
use crate::harness::{free_port, get_json, poll, serve_ready};
use crate::scrape_abuse::serve_raw;

/// Decompressed bytes the target offers per scrape: 64 GiB, about 64 MiB
/// compressed — far more than loopback socket buffers can hold, so a
/// drained body shows up in the count of compressed bytes sent.
const BOMB_BYTES: u64 = 64 << 30;
const LIMIT: u64 = 100 << 20;

/// Serves the bomb; counts compressed bytes written over all connections.
fn bomb_target(sent: Arc<AtomicU64>) -> String {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\
                Content-Encoding: gzip\r\nConnection: close\r\n\r\n";
    serve_raw(head, move |s| {
        let Ok(s) = s.try_clone() else { return };
        let mut gz = GzEncoder::new(Counting(s, sent.clone()), Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        let mut offered = 0u64;
        while offered < BOMB_BYTES {
            if gz.write_all(&zeros).is_err() {
                return;
            }
            offered += zeros.len() as u64;
        }
        let _ = gz.finish();
    })
}

/// A writer that counts the bytes that reached the socket.
struct Counting(std::net::TcpStream, Arc<AtomicU64>);

impl Write for Counting {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(b)?;
        self.1.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[test]
fn a_gzip_bomb_stops_at_the_default_body_limit() {
    let sent = Arc::new(AtomicU64::new(0));
    let target = bomb_target(sent.clone());
    let root = tempfile::tempdir().expect("tempdir");
    let cfg = root.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 10s\n  scrape_timeout: 5s\nscrape_configs:\n  - job_name: bomb\n    static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .expect("config");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = root.path().join("promlite.log");
    let p = serve_ready(&cfg, &root.path().join("data"), &addr, &log);
    let base = status_bytes(&p.pid().to_string(), "VmHWM");

    let error = || -> String {
        let v = get_json(&addr, "/api/v1/targets");
        v["data"]["activeTargets"][0]["lastError"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let hit = poll(Duration::from_secs(30), || !error().is_empty());
    let err = error();
    assert!(hit, "the bomb target was never scraped");
    assert!(
        err.contains("body size limit") && err.contains(&LIMIT.to_string()),
        "{err}"
    );
    // Let the target notice the close; one scrape per 10 s, so this is the
    // first scrape's count.
    std::thread::sleep(Duration::from_secs(1));
    let peak = status_bytes(&p.pid().to_string(), "VmHWM");
    let compressed = sent.load(Ordering::Relaxed);
    eprintln!(
        "target error: {err}; the target wrote {:.2} MiB of compressed bytes (of about 64 MiB) \
         before the connection was closed; server peak RSS {:.1} MiB above its {:.1} MiB baseline",
        compressed as f64 / 1048576.0,
        (peak.saturating_sub(base)) as f64 / 1048576.0,
        base as f64 / 1048576.0
    );
    let v = get_json(&addr, "/api/v1/query?query=up");
    assert_eq!(v["data"]["result"][0]["value"][1], "0", "{v}");
    // Not drained: the target could push what the limit needs plus what the
    // socket buffers hold (a few MiB), never the whole bomb.
    assert!(
        compressed < 16 << 20,
        "the target wrote {compressed} compressed bytes: the body was drained"
    );
    assert!(
        peak.saturating_sub(base) <= LIMIT * 11 / 10 + (8 << 20),
        "RSS grew by {} bytes for a {LIMIT}-byte limit",
        peak.saturating_sub(base)
    );
    drop(p);
}
