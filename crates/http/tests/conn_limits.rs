//! HTTP-level abuse against `serve` (reliability checklist B8): idle and
//! slowloris connections, the connection cap (and 10,000 idle connections
//! against it), huge headers, huge and stalled bodies. Each case checks that
//! the abuser is cut off within the configured limit and that a normal
//! client is still served.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use promlite_http::{router, serve, ConnLimits, WebConfig};
use tokio::net::TcpListener;

const READ_TIMEOUT: Duration = Duration::from_millis(400);

async fn start(max_connections: usize) -> SocketAddr {
    start_with(max_connections, READ_TIMEOUT).await
}

async fn start_with(max_connections: usize, read_timeout: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = ConnLimits {
        max_connections,
        read_timeout,
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

/// Whether the server has closed `c` (EOF or reset), without waiting.
fn closed_by_server(c: &mut TcpStream) -> bool {
    c.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    let r = c.read(&mut buf);
    c.set_nonblocking(false).unwrap();
    match r {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_at_the_read_timeout() {
    let addr = start(64).await;
    blocking(move || {
        let mut idle = TcpStream::connect(addr).unwrap();
        let took = time_to_close(&mut idle, Duration::from_secs(3));
        assert!(
            took.is_some_and(|t| t >= READ_TIMEOUT / 2),
            "silent connection closed after {took:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_a_new_client_takes_the_slot_of_the_longest_idle_one() {
    // A read timeout far longer than the test: only eviction can free a slot.
    let addr = start_with(2, Duration::from_secs(60)).await;
    blocking(move || {
        // Slot 1: a connection that never sends anything (the oldest).
        let mut silent = TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        // Slot 2: a keep-alive connection after one request.
        let mut kept = TcpStream::connect(addr).unwrap();
        kept.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = kept.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        // A third client is served at once, in the silent one's slot.
        let t = Instant::now();
        assert!(get(addr, "/-/healthy").unwrap().contains("200"));
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert!(
            time_to_close(&mut silent, Duration::from_secs(3)).is_some(),
            "the longest-idle connection was not closed"
        );
        // Fill the freed slot with a new silent connection: the keep-alive
        // one is now the longest idle, and the next client takes its slot.
        let _silent2 = TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let t = Instant::now();
        assert!(get(addr, "/-/healthy").unwrap().contains("200"));
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert!(time_to_close(&mut kept, Duration::from_secs(3)).is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_connections_keep_their_slots_and_a_new_client_waits() {
    let addr = start(2).await;
    blocking(move || {
        // Two requests whose bodies stall: both are being handled.
        let mut busy: Vec<TcpStream> = (0..2)
            .map(|_| {
                let mut c = TcpStream::connect(addr).unwrap();
                c.write_all(
                    b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nquery=",
                )
                .unwrap();
                c
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        // A third client waits until the body deadline ends one of them.
        let t = Instant::now();
        let status = get(addr, "/-/healthy").unwrap();
        assert!(status.contains("200"), "{status}");
        let waited = t.elapsed();
        assert!(
            waited >= READ_TIMEOUT / 2 && waited < Duration::from_secs(3),
            "served after {waited:?}: busy connections must not be evicted"
        );
        // Each busy one got its own answer (a timeout error), not a reset.
        for c in &mut busy {
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            let mut head = [0u8; 64];
            let n = c.read(&mut head).unwrap_or(0);
            let status = String::from_utf8_lossy(&head[..n]).to_string();
            assert!(status.starts_with("HTTP/1.1 4"), "stalled body: {status:?}");
        }
    })
    .await;
}

/// Raises the soft file-descriptor limit to the hard one; returns it.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        let want = lim.rlim_max.min(65_536);
        if lim.rlim_cur < want {
            lim.rlim_cur = want;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        }
    }
    lim.rlim_cur as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_connections_do_not_lock_out_a_client() {
    // The default cap (512) and a read timeout longer than the test.
    let addr = start_with(512, Duration::from_secs(60)).await;
    // Client and server share this process's descriptors: 10,000 client
    // sockets plus at most 513 server ones, plus the test harness's own.
    let n = 10_000.min(raise_fd_limit().saturating_sub(800) as usize);
    assert!(n >= 1_000, "file-descriptor limit too low for this test");
    blocking(move || {
        let t = Instant::now();
        let mut idle: Vec<TcpStream> = (0..n)
            .map(|i| {
                // Paced a little, so that the listen backlog (1,024) does not
                // overflow into 1 s SYN retries on a slow test machine.
                if i % 256 == 255 {
                    std::thread::sleep(Duration::from_millis(50));
                }
                TcpStream::connect(addr).unwrap_or_else(|e| panic!("connection {i}: {e}"))
            })
            .collect();
        let opened = t.elapsed();
        let t = Instant::now();
        let status = get(addr, "/-/healthy").unwrap();
        assert!(status.contains("200"), "{status}");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "served after {:?}",
            t.elapsed()
        );
        // The server holds at most the cap: the rest were closed to make room.
        std::thread::sleep(Duration::from_millis(200));
        let open = idle
            .iter_mut()
            .map(closed_by_server)
            .filter(|closed| !closed)
            .count();
        assert!(open <= 512, "{open} of {n} idle connections still open");
        eprintln!("{n} idle connections opened in {opened:?}; {open} still open");
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
