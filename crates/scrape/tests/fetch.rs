//! The HTTP side of a scrape against hand-written HTTP/1.1 servers, so the
//! bytes on the wire (splits, stalls, closes, redirects) are exactly what
//! each test needs: the lean client of `http://` targets, and the reqwest
//! path it falls back to for a redirect to another host.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use promlite_scrape::fetch::Fetcher;
use promlite_scrape::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a test server saw.
#[derive(Default)]
struct Seen {
    /// Connections accepted.
    conns: AtomicUsize,
    /// Request heads, in order.
    requests: Mutex<Vec<String>>,
    /// Whether a write of the server failed (the client closed the
    /// connection while the server was still sending).
    write_failed: Mutex<bool>,
}

/// Reads one request head; None at EOF.
async fn read_head(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b).await {
            Ok(1) => head.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// A server running `conn(stream, seen, connection index)` for each
/// accepted connection.
async fn server<F, Fut>(conn: F) -> (SocketAddr, Arc<Seen>)
where
    F: Fn(TcpStream, Arc<Seen>, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let seen = Arc::new(Seen::default());
    let s2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = l.accept().await {
            let n = s2.conns.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(conn(stream, s2.clone(), n));
        }
    });
    (addr, seen)
}

fn fetcher(addr: SocketAddr, path: &str, extra: &str, timeout: Duration) -> Fetcher {
    let yaml = format!(
        "scrape_configs:\n  - job_name: j\n    static_configs: [{{targets: ['{addr}']}}]\n{extra}"
    );
    let cfg = Config::from_str(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let f = Fetcher::new(
        &cfg.scrape_configs[0],
        format!("http://{addr}{path}"),
        timeout,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(f.is_lean());
    f
}

fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// Answers every request on the connection with `body` (keep-alive).
async fn keep_alive(mut s: TcpStream, seen: Arc<Seen>, body: &'static [u8]) {
    while let Some(h) = read_head(&mut s).await {
        seen.requests.lock().push(h);
        if s.write_all(&ok_response(body)).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn one_kept_alive_connection_serves_every_scrape() {
    let (addr, seen) = server(|s, seen, _| keep_alive(s, seen, b"a 1\n")).await;
    let mut f = fetcher(addr, "/metrics?x=1", "", Duration::from_secs(5));
    for _ in 0..3 {
        let r = f.fetch(0).await.expect("fetch");
        assert_eq!(r.body, b"a 1\n");
        assert_eq!(r.content_type.as_deref(), Some("text/plain; version=0.0.4"));
    }
    assert_eq!(seen.conns.load(Ordering::SeqCst), 1);
    let reqs = seen.requests.lock().clone();
    assert_eq!(reqs.len(), 3);
    let head = reqs[0].to_ascii_lowercase();
    assert!(head.starts_with("get /metrics?x=1 http/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("host: {addr}\r\n")), "{head}");
    assert!(head.contains("accept-encoding: gzip\r\n"), "{head}");
    assert!(
        head.contains("x-prometheus-scrape-timeout-seconds: 5\r\n"),
        "{head}"
    );
    assert!(head.contains("user-agent: promlite/"), "{head}");
    assert!(head.contains("accept: "), "{head}");
}

#[tokio::test]
async fn a_connection_closed_between_scrapes_is_replaced() {
    // One response per connection, then close, without `Connection: close`.
    let (addr, seen) = server(|mut s, seen, n| async move {
        if let Some(h) = read_head(&mut s).await {
            seen.requests.lock().push(h);
            let _ = s
                .write_all(&ok_response(format!("a {n}\n").as_bytes()))
                .await;
        }
    })
    .await;
    let mut f = fetcher(addr, "/metrics", "", Duration::from_secs(5));
    for i in 0..3 {
        let r = f.fetch(0).await.expect("fetch");
        assert_eq!(r.body, format!("a {i}\n").as_bytes());
        // Let the close reach the client before the next scrape.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(seen.conns.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_request_lost_on_a_closing_connection_is_retried_once() {
    // Connection 0 answers once, then reads the next request and closes
    // without answering (the keep-alive race); later connections answer.
    let (addr, seen) = server(|mut s, _, n| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let _ = s.write_all(&ok_response(b"a 1\n")).await;
        if n == 0 {
            let _ = read_head(&mut s).await;
            return;
        }
        while read_head(&mut s).await.is_some() {
            if s.write_all(&ok_response(b"a 1\n")).await.is_err() {
                return;
            }
        }
    })
    .await;
    let mut f = fetcher(addr, "/metrics", "", Duration::from_secs(5));
    assert_eq!(f.fetch(0).await.expect("first").body, b"a 1\n");
    assert_eq!(f.fetch(0).await.expect("retried").body, b"a 1\n");
    assert_eq!(seen.conns.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_split_across_many_small_writes() {
    let body: Vec<u8> = (0..2_000)
        .flat_map(|i| format!("m{{i=\"{i}\"}} {i}\n").into_bytes())
        .collect();
    let expect = body.clone();
    let body = Arc::new(body);
    let (addr, _) = server(move |mut s, _, n| {
        let body = body.clone();
        async move {
            while read_head(&mut s).await.is_some() {
                // Content-Length on the first connection, chunked on the rest.
                let chunked = n > 0;
                let head = if chunked {
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_string()
                } else {
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                };
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for (i, piece) in body.chunks(97).enumerate() {
                    let mut w = Vec::new();
                    if chunked {
                        w.extend(format!("{:x}\r\n", piece.len()).into_bytes());
                        w.extend_from_slice(piece);
                        w.extend_from_slice(b"\r\n");
                    } else {
                        w.extend_from_slice(piece);
                    }
                    if s.write_all(&w).await.is_err() {
                        return;
                    }
                    let _ = s.flush().await;
                    if i % 50 == 0 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                if chunked && s.write_all(b"0\r\n\r\n").await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    let mut f = fetcher(addr, "/metrics", "", Duration::from_secs(5));
    let r = f.fetch(0).await.expect("content-length body");
    assert_eq!(r.body, expect);
    // Sized from Content-Length: one allocation, no growth.
    assert_eq!(r.body.capacity(), expect.len());
    let r = f.fetch(0).await.expect("second body");
    assert_eq!(r.body, expect);
}

#[tokio::test]
async fn chunked_body_is_read_and_sized_from_the_last_scrape() {
    let (addr, _) = server(|mut s, _, _| async move {
        while read_head(&mut s).await.is_some() {
            let w = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\na 1\n\r\n4\r\nb 2\n\r\n0\r\n\r\n";
            if s.write_all(w).await.is_err() {
                return;
            }
        }
    })
    .await;
    let mut f = fetcher(addr, "/metrics", "", Duration::from_secs(5));
    let r = f.fetch(800).await.expect("chunked");
    assert_eq!(r.body, b"a 1\nb 2\n");
    assert_eq!(r.body.capacity(), 900);
}

/// A gzip stream that never ends: the client must stop at the limit and
/// close the connection rather than read (drain) the rest.
#[tokio::test]
async fn endless_gzip_stops_at_the_limit_and_drops_the_connection() {
    let (addr, seen) = server(|mut s, seen, _| async move {
        if read_head(&mut s).await.is_none() {
            return;
        }
        let head =
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
        if s.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![b'0'; 1 << 20];
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if enc.write_all(&zeros).is_err() || enc.flush().is_err() {
                return;
            }
            let out = std::mem::take(enc.get_mut());
            let mut w = format!("{:x}\r\n", out.len()).into_bytes();
            w.extend_from_slice(&out);
            w.extend_from_slice(b"\r\n");
            if s.write_all(&w).await.is_err() {
                *seen.write_failed.lock() = true;
                return;
            }
        }
    })
    .await;
    let mut f = fetcher(
        addr,
        "/metrics",
        "    body_size_limit: 1MB\n",
        Duration::from_secs(10),
    );
    let started = Instant::now();
    let err = f.fetch(0).await.expect_err("over the limit");
    assert!(err.contains("body size limit exceeded"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The server notices the closed connection on a later write.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !*seen.write_failed.lock() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        *seen.write_failed.lock(),
        "the connection was drained, not closed"
    );
}

#[tokio::test]
async fn gzip_body_within_the_limit_is_decompressed() {
    let text: Vec<u8> = (0..3_000)
        .flat_map(|i| format!("m{{i=\"{i}\"}} {i}\n").into_bytes())
        .collect();
    let gz = Arc::new(gzip(&text));
    let (addr, _) = server(move |mut s, _, _| {
        let gz = gz.clone();
        async move {
            while read_head(&mut s).await.is_some() {
                let mut w = format!(
                    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                    gz.len()
                )
                .into_bytes();
                w.extend_from_slice(&gz);
                if s.write_all(&w).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    let mut f = fetcher(addr, "/metrics", "", Duration::from_secs(5));
    let r = f.fetch(0).await.expect("gzip");
    assert_eq!(r.body, text);
    // The compressed Content-Length does not size the decompressed buffer.
    let r = f.fetch(r.body.len()).await.expect("gzip again");
    assert_eq!(r.body.capacity(), text.len() + text.len() / 8);
}

#[tokio::test]
async fn timeout_mid_body_fails_and_the_next_scrape_reconnects() {
    let (addr, seen) = server(|mut s, _, n| async move {
        while read_head(&mut s).await.is_some() {
            if n == 0 {
                // Half the body, then a stall longer than the timeout.
                let head = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\na 1\n";
                let _ = s.write_all(head.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
                return;
            }
            if s.write_all(&ok_response(b"a 1\nb 2\n")).await.is_err() {
                return;
            }
        }
    })
    .await;
    let mut f = fetcher(addr, "/metrics", "", Duration::from_millis(300));
    let started = Instant::now();
    let err = f.fetch(0).await.expect_err("stalled body");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        err,
        format!("Get \"http://{addr}/metrics\": context deadline exceeded (timeout 300ms)")
    );
    assert_eq!(f.fetch(0).await.expect("next scrape").body, b"a 1\nb 2\n");
    assert_eq!(seen.conns.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn status_errors_and_connection_errors_read_like_prometheus() {
    let (addr, _) = server(|mut s, _, _| async move {
        while read_head(&mut s).await.is_some() {
            let w = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";
            if s.write_all(w.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    let mut f = fetcher(addr, "/metrics", "", Duration::from_secs(5));
    assert_eq!(
        f.fetch(0).await.expect_err("503"),
        "server returned HTTP status 503 Service Unavailable"
    );

    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = l.local_addr().expect("addr");
    drop(l);
    let mut f = fetcher(closed, "/metrics", "", Duration::from_secs(5));
    let err = f.fetch(0).await.expect_err("refused");
    assert!(
        err.starts_with(&format!(
            "Get \"http://{closed}/metrics\": dial tcp {closed}: "
        )),
        "{err}"
    );
}

/// Serves `/metrics` as a redirect to `/real` and `/real` as a body;
/// `/away` redirects to `other`.
async fn redirecting(other: Option<SocketAddr>) -> (SocketAddr, Arc<Seen>) {
    server(move |mut s, seen, _| async move {
        while let Some(h) = read_head(&mut s).await {
            seen.requests.lock().push(h.clone());
            let w = if h.starts_with("GET /metrics ") {
                b"HTTP/1.1 302 Found\r\nLocation: /real?y=2\r\nContent-Length: 5\r\n\r\nmoved".to_vec()
            } else if h.starts_with("GET /away ") {
                let to = other.map(|o| o.to_string()).unwrap_or_default();
                format!("HTTP/1.1 301 Moved Permanently\r\nLocation: http://{to}/elsewhere\r\nContent-Length: 0\r\n\r\n").into_bytes()
            } else {
                ok_response(b"r 1\n")
            };
            if s.write_all(&w).await.is_err() {
                return;
            }
        }
    })
    .await
}

#[tokio::test]
async fn redirects_are_followed_on_the_same_connection() {
    let (addr, seen) = redirecting(None).await;
    let mut f = fetcher(addr, "/metrics", "", Duration::from_secs(5));
    assert_eq!(f.fetch(0).await.expect("redirected").body, b"r 1\n");
    assert_eq!(f.fetch(0).await.expect("again").body, b"r 1\n");
    assert_eq!(seen.conns.load(Ordering::SeqCst), 1);
    let reqs = seen.requests.lock().clone();
    assert_eq!(reqs.len(), 4);
    assert!(
        reqs[1].starts_with("GET /real?y=2 HTTP/1.1\r\n"),
        "{}",
        reqs[1]
    );

    let mut f = fetcher(
        addr,
        "/metrics",
        "    follow_redirects: false\n",
        Duration::from_secs(5),
    );
    assert_eq!(
        f.fetch(0).await.expect_err("not followed"),
        "server returned HTTP status 302 Found"
    );
}

#[tokio::test]
async fn a_redirect_to_another_host_goes_through_reqwest_without_credentials() {
    let (other, other_seen) = server(|s, seen, _| keep_alive(s, seen, b"o 1\n")).await;
    let (addr, _) = redirecting(Some(other)).await;
    let mut f = fetcher(
        addr,
        "/away",
        "    authorization: {credentials: tok}\n",
        Duration::from_secs(5),
    );
    assert_eq!(f.fetch(0).await.expect("redirected").body, b"o 1\n");
    let reqs = other_seen.requests.lock().clone();
    assert_eq!(reqs.len(), 1);
    assert!(
        reqs[0].starts_with("GET /elsewhere HTTP/1.1\r\n"),
        "{}",
        reqs[0]
    );
    // Another port is another origin: the credentials stay behind.
    assert!(
        !reqs[0].to_ascii_lowercase().contains("authorization"),
        "{}",
        reqs[0]
    );
}

#[tokio::test]
async fn auth_headers_and_password_files_are_read_every_scrape() {
    let (addr, seen) = server(|s, seen, _| keep_alive(s, seen, b"a 1\n")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "first\n").expect("write");
    let extra = format!(
        "    basic_auth: {{username: user, password_file: '{}'}}\n",
        pw.display()
    );
    let mut f = fetcher(addr, "/metrics", &extra, Duration::from_secs(5));
    f.fetch(0).await.expect("first");
    std::fs::write(&pw, "second").expect("write");
    f.fetch(0).await.expect("second");
    let reqs = seen.requests.lock().clone();
    // base64("user:first"), base64("user:second")
    assert!(
        reqs[0].contains("Basic dXNlcjpmaXJzdA==\r\n"),
        "{}",
        reqs[0]
    );
    assert!(
        reqs[1].contains("Basic dXNlcjpzZWNvbmQ=\r\n"),
        "{}",
        reqs[1]
    );

    let mut f = fetcher(
        addr,
        "/metrics",
        "    authorization: {type: Token, credentials: abc}\n",
        Duration::from_secs(5),
    );
    f.fetch(0).await.expect("token");
    let last = seen.requests.lock().last().cloned().unwrap_or_default();
    assert!(last.contains("Token abc\r\n"), "{last}");

    let mut f = fetcher(
        addr,
        "/metrics",
        "    enable_compression: false\n",
        Duration::from_secs(5),
    );
    f.fetch(0).await.expect("identity");
    let last = seen.requests.lock().last().cloned().unwrap_or_default();
    assert!(
        last.to_ascii_lowercase()
            .contains("accept-encoding: identity\r\n"),
        "{last}"
    );
    assert!(
        !last.to_ascii_lowercase().contains("authorization"),
        "{last}"
    );
}
