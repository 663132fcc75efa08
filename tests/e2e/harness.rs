//! Shared helpers: a child `promlite` process killed on drop, a tiny
//! HTTP/1.0 client, bounded polling, free ports.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// A running `promlite` child; killed on drop unless it already exited.
pub struct Promlite {
    child: Option<Child>,
    pub addr: String,
}

impl Promlite {
    /// Starts `promlite <args>`; logs go to `log` (a file in the test dir).
    pub fn start(args: &[&str], addr: String, log: &Path) -> Promlite {
        let out = std::fs::File::create(log).expect("log file");
        let err = out.try_clone().expect("log file clone");
        let child = Command::new(env!("CARGO_BIN_EXE_promlite"))
            .args(args)
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start promlite");
        Promlite {
            child: Some(child),
            addr,
        }
    }

    /// Waits (bounded) until `/-/ready` answers 200.
    pub fn wait_ready(&mut self, log: &Path) {
        let addr = self.addr.clone();
        let ok = poll(Duration::from_secs(20), || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "promlite exited early with {status}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            http(&addr, "GET", "/-/ready", "")
                .map(|(code, _)| code == 200)
                .unwrap_or(false)
        });
        assert!(
            ok,
            "promlite not ready: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// Sends `sig` and waits (bounded) for the exit status.
    pub fn signal_and_wait(&mut self, sig: i32) -> ExitStatus {
        let mut child = self.child.take().expect("running child");
        let pid = i32::try_from(child.id()).expect("pid fits");
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("promlite did not exit within 20 s of signal {sig}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id of the running child (used by the `faults` target).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running child").id()
    }

    /// Sends a signal without waiting.
    pub fn signal(&self, sig: i32) {
        let child = self.child.as_ref().expect("running child");
        let pid = i32::try_from(child.id()).expect("pid fits");
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        unsafe { libc::kill(pid, sig) };
    }
}

impl Drop for Promlite {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `promlite serve --config.file cfg --storage.tsdb.path data
/// --web.listen-address addr`, followed by the `extra` flags, with its
/// output in `log`. Does not wait: see [`serve_ready`].
pub fn serve(cfg: &Path, data: &Path, addr: &str, extra: &[&str], log: &Path) -> Promlite {
    let mut args = vec![
        "serve",
        "--config.file",
        cfg.to_str().expect("utf8"),
        "--storage.tsdb.path",
        data.to_str().expect("utf8"),
        "--web.listen-address",
        addr,
    ];
    args.extend_from_slice(extra);
    Promlite::start(&args, addr.to_string(), log)
}

/// [`serve`] without extra flags, then waits until it is ready.
pub fn serve_ready(cfg: &Path, data: &Path, addr: &str, log: &Path) -> Promlite {
    serve_ready_with(cfg, data, addr, &[], log)
}

/// [`serve`], then waits until it is ready.
pub fn serve_ready_with(
    cfg: &Path,
    data: &Path,
    addr: &str,
    extra: &[&str],
    log: &Path,
) -> Promlite {
    let mut p = serve(cfg, data, addr, extra, log);
    p.wait_ready(log);
    p
}

/// Polls `f` every 100 ms until it is true or `limit` passes.
pub fn poll(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP/1.0 request; returns status code and body.
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let ctype = if body.starts_with('{') {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, body.to_string()))
}

/// GET returning parsed JSON (panics on transport or JSON errors).
pub fn get_json(addr: &str, path: &str) -> Value {
    let (code, body) = http(addr, "GET", path, "").expect("http get");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path} -> {code}: {e}: {body}"))
}

/// Percent-encodes a query parameter.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Instant query result vector (`data.result`), at `time` if given.
pub fn query(addr: &str, q: &str, time: Option<f64>) -> Vec<Value> {
    let mut path = format!("/api/v1/query?query={}", enc(q));
    if let Some(t) = time {
        path.push_str(&format!("&time={t}"));
    }
    let v = get_json(addr, &path);
    assert_eq!(v["status"], "success", "{q}: {v}");
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// The single value of a one-element instant vector, if any.
pub fn scalar_of(result: &[Value]) -> Option<f64> {
    let first = result.first()?;
    first["value"][1].as_str()?.parse().ok()
}

/// Seconds since the epoch.
pub fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A `/metrics` target in a thread: serves `body()` for every request.
pub fn spawn_target(body: impl Fn() -> String + Send + 'static) -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind target");
    let addr = l.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let b = body();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                b.len()
            );
        }
    });
    addr
}
