//! The lean client of `http://` targets: one kept-alive HTTP/1.1 connection
//! per target on hyper's connection API, driven by the scrape task itself.
//!
//! reqwest's pool, its connection task and its decoding layers cost a
//! task hand-off and several wake-ups per scrape; here the connection's
//! state machine is polled in the same task as the request and the body
//! (no spawned connection task, no pool), the request headers are built
//! once per target (only `Authorization` is added per scrape), and the body
//! goes straight into one buffer sized from the last scrape (gunzipped on
//! the way, against the decompressed-size limit). A connection the server
//! closed between scrapes is noticed before reuse, and a request that was
//! not answered on a reused connection is retried once on a new one.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::task::Poll;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http1::{Builder, Connection, SendRequest};
use hyper::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HOST, LOCATION,
};
use hyper::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use reqwest::Url;
use tokio::net::TcpStream;

use crate::fetch::{
    buffer_size, error_chain, fixed_headers, limit_error, status_error, ClientOptions, Fetched,
    ReqwestClient,
};

/// Redirects followed before giving up (Go's client stops after 10).
const MAX_REDIRECTS: usize = 10;

/// Bytes of a redirect's body read (and thrown away) to keep the connection.
const REDIRECT_BODY_LIMIT: u64 = 64 << 10;

/// hyper's read buffer: large reads, a bounded buffer kept per connection.
const READ_BUF: usize = 64 << 10;

type Driver = Connection<TokioIo<TcpStream>, Empty<Bytes>>;

/// One open connection: the request sender and the connection's state
/// machine (`None` once it finished, i.e. the connection is closed).
struct Conn {
    sender: SendRequest<Empty<Bytes>>,
    driver: Option<Pin<Box<Driver>>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("open", &self.driver.is_some())
            .finish()
    }
}

/// Polls `fut` to completion, driving the connection in the same task.
async fn drive<F: Future>(driver: &mut Option<Pin<Box<Driver>>>, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| {
        if let Some(d) = driver.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                *driver = None;
            }
        }
        fut.as_mut().poll(cx)
    })
    .await
}

/// Where to connect.
#[derive(Debug)]
enum Addr {
    Ip(SocketAddr),
    Name(String, u16),
}

/// The outcome of a lean fetch.
pub(crate) enum Lean {
    /// The body of a 200 response.
    Done(Fetched),
    /// A redirect (followed) to another host or scheme: for reqwest.
    Elsewhere(Url),
}

/// The lean client of one `http://` target.
#[derive(Debug)]
pub(crate) struct LeanClient {
    /// The scrape URL (the base of relative redirects).
    url: Url,
    addr: Addr,
    /// `host:port` for error messages.
    authority: String,
    /// The request target (origin form: path and query).
    path: Uri,
    /// `Host` and the fixed headers of every request.
    headers: HeaderMap,
    opts: ClientOptions,
    conn: Option<Conn>,
    /// reqwest, for a redirect that leaves this host (built on first use,
    /// or up front when a TLS config is given).
    fallback: Option<ReqwestClient>,
}

impl LeanClient {
    pub(crate) fn new(
        url: &Url,
        opts: ClientOptions,
        fallback: Option<ReqwestClient>,
    ) -> Result<LeanClient, String> {
        let port = url.port_or_known_default().unwrap_or(80);
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err(format!("Get \"{url}\": no host in URL"));
        };
        // An IPv6 literal comes in brackets.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addr = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => Addr::Ip(SocketAddr::new(ip, port)),
            Err(_) => Addr::Name(bare.to_string(), port),
        };
        let host_header = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let mut headers = fixed_headers(opts.compression, opts.timeout);
        if opts.compression {
            headers.insert(
                hyper::header::ACCEPT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
        }
        headers.insert(
            HOST,
            HeaderValue::from_str(&host_header)
                .map_err(|_| format!("Get \"{url}\": invalid host"))?,
        );
        Ok(LeanClient {
            path: origin_form(url)?,
            url: url.clone(),
            addr,
            authority: format!("{host}:{port}"),
            headers,
            opts,
            conn: None,
            fallback,
        })
    }

    /// The reqwest client for redirects off this host.
    pub(crate) fn fallback(&mut self) -> Result<&ReqwestClient, String> {
        if self.fallback.is_none() {
            self.fallback = Some(ReqwestClient::new(&self.opts)?);
        }
        self.fallback
            .as_ref()
            .ok_or_else(|| "no HTTP client for the redirect".to_string())
    }

    /// GETs the target. The connection is taken out while the request runs,
    /// so a cancelled (timed-out) request drops it.
    pub(crate) async fn get(
        &mut self,
        auth: Option<HeaderValue>,
        size_hint: usize,
    ) -> Result<Lean, String> {
        let mut path = self.path.clone();
        let mut at: Option<Url> = None;
        for _ in 0..=MAX_REDIRECTS {
            // The URL in error messages: formatted only for an error.
            let (mut conn, resp) = self.send(&path, auth.as_ref(), at.as_ref()).await?;
            let status = resp.status();
            let redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            if redirect && self.opts.follow_redirects {
                let loc = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let Some(loc) = loc else {
                    return Err(status_error(status.as_u16(), status.canonical_reason()));
                };
                let base = at.as_ref().unwrap_or(&self.url);
                let to = base
                    .join(&loc)
                    .map_err(|e| format!("Get \"{base}\": bad redirect location {loc:?}: {e}"))?;
                if !same_origin(&to, &self.url) {
                    return Ok(Lean::Elsewhere(to));
                }
                // Read the redirect's (small) body to keep the connection.
                let mut sink = Sink::new(false, 0, REDIRECT_BODY_LIMIT);
                if read_body(&mut conn, resp.into_body(), &mut sink)
                    .await
                    .is_ok()
                {
                    self.conn = Some(conn);
                }
                path = origin_form(&to)?;
                at = Some(to);
                continue;
            }
            if status.as_u16() != 200 {
                return Err(status_error(status.as_u16(), status.canonical_reason()));
            }
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let gzip = self.opts.compression
                && resp
                    .headers()
                    .get(CONTENT_ENCODING)
                    .is_some_and(|v| v.as_bytes().trim_ascii().eq_ignore_ascii_case(b"gzip"));
            let length = if gzip {
                None
            } else {
                hyper::body::Body::size_hint(resp.body()).exact()
            };
            let cap = buffer_size(length, size_hint, self.opts.body_limit);
            let mut sink = Sink::new(gzip, cap, self.opts.body_limit);
            read_body(&mut conn, resp.into_body(), &mut sink).await?;
            let body = sink.finish()?;
            self.conn = Some(conn);
            return Ok(Lean::Done(Fetched { body, content_type }));
        }
        Err(format!(
            "Get \"{}\": stopped after {MAX_REDIRECTS} redirects",
            self.url
        ))
    }

    /// Sends the request on the kept connection (or a new one) and waits for
    /// the response head. A reused connection that turns out closed before
    /// answering is replaced once.
    async fn send(
        &mut self,
        path: &Uri,
        auth: Option<&HeaderValue>,
        at: Option<&Url>,
    ) -> Result<(Conn, Response<Incoming>), String> {
        let shown = || at.unwrap_or(&self.url);
        let mut reused = match self.conn.take() {
            Some(mut c) => {
                // One poll lets hyper see an EOF the server sent while idle.
                std::future::poll_fn(|cx| {
                    if let Some(d) = c.driver.as_mut() {
                        if d.as_mut().poll(cx).is_ready() {
                            c.driver = None;
                        }
                    }
                    Poll::Ready(())
                })
                .await;
                (c.driver.is_some() && !c.sender.is_closed()).then_some(c)
            }
            None => None,
        };
        loop {
            let was_reused = reused.is_some();
            let mut conn = match reused.take() {
                Some(c) => c,
                None => self.connect(shown()).await?,
            };
            let mut req = Request::new(Empty::new());
            *req.uri_mut() = path.clone();
            *req.headers_mut() = self.headers.clone();
            if let Some(a) = auth {
                req.headers_mut().insert(AUTHORIZATION, a.clone());
            }
            let sent = conn.sender.try_send_request(req);
            match drive(&mut conn.driver, sent).await {
                Ok(resp) => return Ok((conn, resp)),
                Err(e) => {
                    let unanswered = e.message().is_some()
                        || e.error().is_incomplete_message()
                        || e.error().is_canceled();
                    if was_reused && unanswered {
                        continue;
                    }
                    return Err(format!("Get \"{}\": {}", shown(), error_chain(e.error())));
                }
            }
        }
    }

    async fn connect(&self, shown: &Url) -> Result<Conn, String> {
        let stream = match &self.addr {
            Addr::Ip(a) => TcpStream::connect(a).await,
            Addr::Name(host, port) => TcpStream::connect((host.as_str(), *port)).await,
        }
        .map_err(|e| format!("Get \"{shown}\": dial tcp {}: {e}", self.authority))?;
        // Small requests: no Nagle delay on the request's write.
        let _ = stream.set_nodelay(true);
        let (sender, driver) = Builder::new()
            .read_buf_exact_size(Some(READ_BUF))
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("Get \"{shown}\": {}", error_chain(&e)))?;
        Ok(Conn {
            sender,
            driver: Some(Box::pin(driver)),
        })
    }
}

/// Reads the whole body into `sink`, driving the connection.
async fn read_body(conn: &mut Conn, mut body: Incoming, sink: &mut Sink) -> Result<(), String> {
    loop {
        match drive(&mut conn.driver, body.frame()).await {
            None => return Ok(()),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    sink.push(&data)?;
                }
            }
            Some(Err(e)) => return Err(format!("reading body: {}", error_chain(&e))),
        }
    }
}

/// The body as it arrives: copied, or gunzipped, into one buffer with a
/// limit on the (decompressed) size.
enum Sink {
    Plain { buf: Vec<u8>, limit: u64 },
    Gzip(Box<flate2::write::GzDecoder<Limited>>),
}

impl Sink {
    fn new(gzip: bool, cap: usize, limit: u64) -> Sink {
        let buf = Vec::with_capacity(cap);
        if gzip {
            Sink::Gzip(Box::new(flate2::write::GzDecoder::new(Limited {
                buf,
                limit,
                exceeded: false,
            })))
        } else {
            Sink::Plain { buf, limit }
        }
    }

    fn push(&mut self, data: &[u8]) -> Result<(), String> {
        match self {
            Sink::Plain { buf, limit } => {
                if (buf.len() + data.len()) as u64 > *limit {
                    return Err(limit_error(*limit));
                }
                buf.extend_from_slice(data);
                Ok(())
            }
            Sink::Gzip(d) => d.write_all(data).map_err(|e| gzip_error(d.get_ref(), &e)),
        }
    }

    fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            Sink::Plain { buf, .. } => Ok(buf),
            Sink::Gzip(mut d) => match d.try_finish() {
                Ok(()) => d
                    .finish()
                    .map(|l| l.buf)
                    .map_err(|e| format!("decompressing body: {e}")),
                Err(e) => Err(gzip_error(d.get_ref(), &e)),
            },
        }
    }
}

fn gzip_error(out: &Limited, e: &std::io::Error) -> String {
    if out.exceeded {
        limit_error(out.limit)
    } else {
        format!("decompressing body: {e}")
    }
}

/// The decompressed body, refusing to grow past the limit.
struct Limited {
    buf: Vec<u8>,
    limit: u64,
    exceeded: bool,
}

impl Write for Limited {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if (self.buf.len() + data.len()) as u64 > self.limit {
            self.exceeded = true;
            return Err(std::io::Error::other("body size limit exceeded"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `/path?query` of a URL, as the request target.
fn origin_form(url: &Url) -> Result<Uri, String> {
    let mut p = url.path().to_string();
    if let Some(q) = url.query() {
        p.push('?');
        p.push_str(q);
    }
    Uri::try_from(p).map_err(|e| format!("Get \"{url}\": {e}"))
}

/// Whether `a` is served by the same `http://` host and port as `b`.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == "http"
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn request_target_and_origin() {
        assert_eq!(
            origin_form(&url("http://h:9/m?a=1&b=%20")).map(|u| u.to_string()),
            Ok("/m?a=1&b=%20".to_string())
        );
        assert!(same_origin(&url("http://h/x"), &url("http://h:80/m")));
        assert!(!same_origin(&url("https://h/x"), &url("http://h/m")));
        assert!(!same_origin(&url("http://h:81/x"), &url("http://h/m")));
        assert!(!same_origin(&url("http://g/x"), &url("http://h/m")));
    }

    #[test]
    fn gzip_sink_stops_at_the_limit() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        assert!(e.write_all(&zeros).is_ok());
        let gz = e.finish().unwrap_or_default();
        let mut s = Sink::new(true, 0, 1000);
        let r = gz.chunks(100).try_for_each(|c| s.push(c));
        assert_eq!(r, Err(limit_error(1000)));

        let mut s = Sink::new(true, 16, 2 << 20);
        assert!(gz.chunks(7).try_for_each(|c| s.push(c)).is_ok());
        assert_eq!(s.finish().map(|b| b.len()), Ok(1 << 20));
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        assert!(e.write_all(b"a 1\nb 2\n").is_ok());
        let gz = e.finish().unwrap_or_default();
        let mut s = Sink::new(true, 0, 1 << 20);
        assert!(s.push(&gz[..gz.len() - 4]).is_ok());
        let err = s.finish().err().unwrap_or_default();
        assert!(err.starts_with("decompressing body"), "{err}");
    }
}
