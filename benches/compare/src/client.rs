//! The client that times the query set: one kept-alive HTTP/1.1 connection
//! driven by hyper directly.
//!
//! reqwest adds about 20 µs to every request over a bare hyper connection
//! (its pool, redirect and decoding layers), the same for every system; on
//! sub-millisecond queries that constant pulls the ratios towards 1. This
//! client does what a server's latency needs and no more: it keeps one
//! connection, sends `Accept-Encoding: gzip` as Grafana's Go client and
//! reqwest do, and reads the whole body. A request is timed from sending it
//! to the answer's last byte, as `wrk` and Prometheus's own request-duration
//! histogram see it; gunzipping the answer (flate2) happens after the clock
//! stops: it is the client's work, not the server's, and it added 20–100 µs
//! (more for larger answers) to every system's median alike.

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// One kept-alive connection to a server (reconnected when it closes).
pub struct TimedClient {
    /// `host:port` of the server.
    authority: String,
    sender: Option<SendRequest<Empty<Bytes>>>,
}

impl TimedClient {
    /// A client for `url` (`http://host:port`, no path); connects lazily.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let authority = url
            .strip_prefix("http://")
            .with_context(|| format!("{url}: only http:// is supported"))?
            .trim_end_matches('/')
            .to_string();
        Ok(TimedClient {
            authority,
            sender: None,
        })
    }

    async fn connect(&mut self) -> anyhow::Result<&mut SendRequest<Empty<Bytes>>> {
        let stale = match &self.sender {
            Some(s) => s.is_closed(),
            None => true,
        };
        if stale {
            let stream = tokio::net::TcpStream::connect(&self.authority)
                .await
                .with_context(|| format!("connecting to {}", self.authority))?;
            stream.set_nodelay(true)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                // Ends when the server or the client closes the connection.
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        self.sender
            .as_mut()
            .context("no connection after connecting")
    }

    /// GETs `path_and_query`; returns the time until the body's last byte
    /// arrived, the status and the (decompressed) body.
    pub async fn get(&mut self, path_and_query: &str) -> anyhow::Result<(Duration, u16, Vec<u8>)> {
        let (elapsed, status, gzipped, raw) = self.fetch(path_and_query).await?;
        let body = if gzipped {
            let mut out = Vec::with_capacity(raw.len() * 4);
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .context("gunzipping the answer")?;
            out
        } else {
            raw.to_vec()
        };
        Ok((elapsed, status, body))
    }

    /// GETs `path_and_query` and reads the whole body, without gunzipping
    /// it; returns the time until its last byte arrived and the status.
    /// For timed repetitions whose answer was already checked: the less the
    /// client does between two requests, the less the server sits idle
    /// between them (on this VM an idle core takes ≈ 0.4 ms to wake, which
    /// lands on the next request; `docs/benchmarks-compare.md`).
    pub async fn time(&mut self, path_and_query: &str) -> anyhow::Result<(Duration, u16)> {
        let (elapsed, status, _, _) = self.fetch(path_and_query).await?;
        Ok((elapsed, status))
    }

    /// The request itself: time to the last byte, status, whether the body
    /// is gzipped, and the raw body.
    async fn fetch(
        &mut self,
        path_and_query: &str,
    ) -> anyhow::Result<(Duration, u16, bool, Bytes)> {
        let started = Instant::now();
        let req = hyper::Request::get(path_and_query)
            .header(hyper::header::HOST, self.authority.as_str())
            .header(hyper::header::ACCEPT_ENCODING, "gzip")
            .body(Empty::<Bytes>::new())?;
        let sender = self.connect().await?;
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let gzipped = resp
            .headers()
            .get(hyper::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let raw = resp.into_body().collect().await?.to_bytes();
        Ok((started.elapsed(), status, gzipped, raw))
    }
}

/// `path?k=v&…` with the values percent-encoded as a query string.
pub fn path_with_params(path: &str, params: &[(&str, String)]) -> String {
    let mut out = String::from(path);
    for (i, (k, v)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_promql_in_the_query_string() {
        let p = path_with_params(
            "/api/v1/query",
            &[
                ("query", "sum by (x) (rate(a{b=\"c d\"}[5m]))".to_string()),
                ("time", "1.5".to_string()),
            ],
        );
        assert_eq!(
            p,
            "/api/v1/query?query=sum%20by%20%28x%29%20%28rate%28a%7Bb%3D%22c%20d%22%7D%5B5m%5D%29%29&time=1.5"
        );
    }

    #[test]
    fn rejects_urls_it_cannot_reach() {
        assert!(TimedClient::new("https://example.org").is_err());
        assert_eq!(
            TimedClient::new("http://127.0.0.1:9090/")
                .map(|c| c.authority)
                .ok(),
            Some("127.0.0.1:9090".to_string())
        );
    }
}
