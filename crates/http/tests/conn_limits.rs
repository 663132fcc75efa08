//! HTTP-level abuse against `serve` (reliability checklist B8): idle and
//! slowloris connections, the connection cap, huge headers, huge and
//! stalled bodies. Each case checks that the abuser is cut off within the
//! configured limit and that a normal client is still served.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use promlite_http::{router, serve, ConnLimits, WebConfig};
use tokio::net::TcpListener;

const READ_TIMEOUT: Duration = Duration::from_millis(400);

async fn start(max_connections: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ConnLimits {
        max_connections,
        read_timeout: READ_TIMEOUT,
    };
    tokio::spawn(serve(
        listener,
        router(common::state()),
        WebConfig::default(),
        limits,
        std::future::pending(),
    ));
    addr
}

/// Sends a plain GET on a fresh connection and returns the status line.
fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    c.read_to_string(&mut out)?;
    Ok(out.lines().next().unwrap_or_default().to_string())
}

/// Waits until the server closes `c` (EOF or reset); returns how long it took.
fn time_to_close(c: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    c.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) if start.elapsed() < limit => return Some(start.elapsed()),
            Ok(_) => continue,
            _ => return None,
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_and_free_their_slot() {
    let addr = start(2).await;
    blocking(move || {
        // Two idle connections take both slots.
        let mut idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
        // A third client waits in the backlog until the read timeout
        // closes the idle ones, then gets its answer.
        let t = Instant::now();
        let status = get(addr, "/-/healthy").unwrap();
        assert!(status.contains("200"), "{status}");
        let waited = t.elapsed();
        assert!(
            waited >= READ_TIMEOUT / 2 && waited < Duration::from_secs(3),
            "served after {waited:?}: the cap should have held it back until the idle ones closed"
        );
        for c in &mut idle {
            assert!(
                time_to_close(c, Duration::from_secs(3)).is_some(),
                "idle connection left open"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_cut_off_at_the_read_timeout() {
    let addr = start(64).await;
    blocking(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let start = Instant::now();
        // One header byte every 50 ms: never a complete request.
        let mut closed = false;
        for _ in 0..60 {
            if c.write_all(b"X").is_err() {
                closed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            c.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 512];
            let r = c.read(&mut buf);
            c.set_nonblocking(false).unwrap();
            match r {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(_) => {
                    closed = true; // an error response, then close
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        let took = start.elapsed();
        assert!(closed, "a trickling client was kept for {took:?}");
        assert!(
            took < READ_TIMEOUT + Duration::from_secs(1),
            "closed after {took:?}"
        );
        assert!(get(addr, "/-/healthy").unwrap().contains("200"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mebibyte_header_is_refused() {
    let addr = start(64).await;
    blocking(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let big = "a".repeat(1 << 20);
        let _ = write!(
            c,
            "GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n"
        );
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        // Either a 431 or a closed connection; never a 200.
        assert!(
            !text.starts_with("HTTP/1.1 200"),
            "a 1 MiB header was accepted: {}",
            text.lines().next().unwrap_or_default()
        );
        assert!(get(addr, "/-/healthy").unwrap().contains("200"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_stalled_bodies_get_errors_without_reading_them() {
    let addr = start(64).await;
    blocking(move || {
        // A declared 1 GiB form body: refused on its length, not read.
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            c,
            "POST /api/v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\nquery=",
            1u64 << 30
        )
        .unwrap();
        let t = Instant::now();
        let mut head = [0u8; 64];
        let n = c.read(&mut head).unwrap_or(0);
        let status = String::from_utf8_lossy(&head[..n]).to_string();
        assert!(status.starts_with("HTTP/1.1 4"), "1 GiB body: {status:?}");
        assert!(t.elapsed() < Duration::from_secs(2), "took {:?}", t.elapsed());

        // A body that stops after 6 of 100 declared bytes: an error once
        // the read timeout has passed.
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(
            b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nquery=",
        )
        .unwrap();
        let t = Instant::now();
        let n = c.read(&mut head).unwrap_or(0);
        let took = t.elapsed();
        let status = String::from_utf8_lossy(&head[..n]).to_string();
        assert!(status.starts_with("HTTP/1.1 4"), "stalled body: {status:?}");
        assert!(
            took >= READ_TIMEOUT / 2 && took < READ_TIMEOUT + Duration::from_secs(1),
            "answered after {took:?}"
        );
        assert!(get(addr, "/-/healthy").unwrap().contains("200"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_idle_after_a_request_is_closed() {
    let addr = start(64).await;
    blocking(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = c.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        let took = time_to_close(&mut c, Duration::from_secs(3));
        assert!(
            took.is_some_and(|t| t < READ_TIMEOUT + Duration::from_secs(1)),
            "idle keep-alive connection: closed after {took:?}"
        );
    })
    .await;
}
