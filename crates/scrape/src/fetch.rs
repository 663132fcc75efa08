//! The HTTP side of a scrape: request headers, auth, TLS, and reading the
//! body with a limit on its *decompressed* size.
//!
//! `http://` targets go through the lean HTTP/1.1 client of
//! [`crate::http1`]: one kept-alive connection per target, driven by hyper
//! inside the scrape task. `https://` targets (TLS, client certificates,
//! `server_name`), and a redirect that leaves the target's `http://` host,
//! go through reqwest.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, USER_AGENT};

use crate::config::{Authorization, BasicAuth, ScrapeConfig, TlsConfig};
use crate::http1::{Lean, LeanClient};

/// `User-Agent` of scrape requests.
pub const USER_AGENT_VALUE: &str = concat!("promlite/", env!("CARGO_PKG_VERSION"));

/// The header carrying the scrape timeout.
pub(crate) const TIMEOUT_HEADER: &str = "X-Prometheus-Scrape-Timeout-Seconds";

/// A fetched body and its `Content-Type`.
#[derive(Debug)]
pub struct Fetched {
    /// The decompressed body.
    pub body: Vec<u8>,
    /// The response's `Content-Type` header.
    pub content_type: Option<String>,
}

/// What a client needs of the scrape config (kept by the lean client to
/// build the reqwest client lazily when a redirect leaves its host).
#[derive(Clone, Debug)]
pub(crate) struct ClientOptions {
    pub follow_redirects: bool,
    pub compression: bool,
    pub tls: TlsConfig,
    pub timeout: Duration,
    pub body_limit: u64,
}

/// Fetches one target's URL.
#[derive(Debug)]
pub struct Fetcher {
    url: String,
    timeout: Duration,
    basic_auth: Option<BasicAuth>,
    authorization: Option<Authorization>,
    client: Client,
}

#[derive(Debug)]
enum Client {
    Lean(Box<LeanClient>),
    Reqwest(ReqwestClient),
}

impl Fetcher {
    /// Builds the HTTP client from a scrape config's settings; `body_limit`
    /// of 0 means [`crate::config::DEFAULT_BODY_SIZE_LIMIT`].
    pub fn new(cfg: &ScrapeConfig, url: String, timeout: Duration) -> Result<Fetcher, String> {
        let opts = ClientOptions {
            follow_redirects: cfg.follow_redirects,
            compression: cfg.enable_compression,
            tls: cfg.tls_config.clone(),
            timeout,
            body_limit: if cfg.body_size_limit == 0 {
                crate::config::DEFAULT_BODY_SIZE_LIMIT
            } else {
                cfg.body_size_limit
            },
        };
        let client = match reqwest::Url::parse(&url) {
            Ok(u) if u.scheme() == "http" => {
                // The TLS files are still read now (an unreadable ca_file
                // fails the loop whatever the scheme, as before): a
                // configured tls_config builds the fallback client at once.
                let fallback = if opts.tls == TlsConfig::default() {
                    None
                } else {
                    Some(ReqwestClient::new(&opts)?)
                };
                Client::Lean(Box::new(LeanClient::new(&u, opts, fallback)?))
            }
            _ => Client::Reqwest(ReqwestClient::new(&opts)?),
        };
        Ok(Fetcher {
            url,
            timeout,
            basic_auth: cfg.basic_auth.clone(),
            authorization: cfg.authorization.clone(),
            client,
        })
    }

    /// The URL this fetcher scrapes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this fetcher uses the lean HTTP/1.1 client (`http://`).
    pub fn is_lean(&self) -> bool {
        matches!(self.client, Client::Lean(_))
    }

    /// The `Authorization` header of this scrape, if configured: bearer (or
    /// another type) credentials, or basic auth. Files are re-read every
    /// scrape.
    fn auth_header(&self) -> Result<Option<HeaderValue>, String> {
        if let Some(a) = &self.authorization {
            let cred = match (&a.credentials, &a.credentials_file) {
                (Some(c), _) => c.clone(),
                (None, Some(f)) => read_secret(f)?,
                (None, None) => String::new(),
            };
            let v = HeaderValue::from_str(&format!("{} {}", a.auth_type, cred)).map_err(|_| {
                "authorization credentials contain invalid header characters".to_string()
            })?;
            return Ok(Some(v));
        }
        if let Some(b) = &self.basic_auth {
            let pw = match (&b.password, &b.password_file) {
                (Some(p), _) => p.clone(),
                (None, Some(f)) => read_secret(f)?,
                (None, None) => String::new(),
            };
            let mut raw = Vec::with_capacity(b.username.len() + 1 + pw.len());
            raw.extend_from_slice(b.username.as_bytes());
            raw.push(b':');
            raw.extend_from_slice(pw.as_bytes());
            let mut v = HeaderValue::from_str(&format!("Basic {}", base64(&raw)))
                .map_err(|_| "basic auth contains invalid header characters".to_string())?;
            v.set_sensitive(true);
            return Ok(Some(v));
        }
        Ok(None)
    }

    /// GETs the URL and reads the body, failing when the status is not 200,
    /// the timeout passes, or the decompressed body exceeds the limit (the
    /// connection is dropped at once, without draining the rest).
    /// `size_hint` is the expected body size (the last scrape's): the buffer
    /// is allocated for it, plus an eighth, when the response has no
    /// `Content-Length` (or is compressed).
    pub async fn fetch(&mut self, size_hint: usize) -> Result<Fetched, String> {
        let auth = self.auth_header()?;
        let timeout = self.timeout;
        let url = &self.url;
        let inner = async {
            match &mut self.client {
                Client::Reqwest(c) => c.get(url, auth, size_hint).await,
                Client::Lean(c) => match c.get(auth.clone(), size_hint).await? {
                    Lean::Done(f) => Ok(f),
                    Lean::Elsewhere(to) => {
                        // Authorization is not sent to another host or
                        // port (as reqwest's own redirects do).
                        let same_host = reqwest::Url::parse(url).is_ok_and(|u| {
                            u.host_str() == to.host_str()
                                && u.port_or_known_default() == to.port_or_known_default()
                        });
                        let auth = if same_host { auth } else { None };
                        c.fallback()?.get(to.as_str(), auth, size_hint).await
                    }
                },
            }
        };
        match tokio::time::timeout(timeout, inner).await {
            Ok(r) => r,
            // The lean client's connection was taken out for the request
            // and is dropped with it: the next scrape connects anew.
            Err(_) => Err(format!(
                "Get \"{}\": context deadline exceeded (timeout {:?})",
                self.url, self.timeout
            )),
        }
    }
}

/// The reqwest path: `https://` targets and redirects off the lean path.
#[derive(Debug)]
pub(crate) struct ReqwestClient {
    client: reqwest::Client,
    body_limit: u64,
}

impl ReqwestClient {
    pub(crate) fn new(opts: &ClientOptions) -> Result<ReqwestClient, String> {
        let mut b = reqwest::Client::builder()
            .redirect(if opts.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .no_proxy();
        if !opts.compression {
            b = b.no_gzip();
        }
        let tls = &opts.tls;
        // With server_name (and verification on) the whole rustls config is
        // built here; otherwise reqwest's builder handles the settings.
        let custom = match (&tls.server_name, tls.insecure_skip_verify) {
            (Some(name), false) => Some(crate::tls::server_name_config(tls, name)?),
            _ => None,
        };
        let builtin = custom.is_none();
        if let Some(c) = custom {
            b = b.use_preconfigured_tls(c);
        } else if tls.insecure_skip_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if let (Some(ca), true) = (&tls.ca_file, builtin) {
            let pem = std::fs::read(ca).map_err(|e| format!("reading ca_file {ca}: {e}"))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("ca_file {ca}: {e}"))?;
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if let (Some(cert), Some(key), true) = (&tls.cert_file, &tls.key_file, builtin) {
            let mut pem =
                std::fs::read(cert).map_err(|e| format!("reading cert_file {cert}: {e}"))?;
            pem.push(b'\n');
            pem.extend(std::fs::read(key).map_err(|e| format!("reading key_file {key}: {e}"))?);
            let id = reqwest::Identity::from_pem(&pem)
                .map_err(|e| format!("client certificate: {e}"))?;
            b = b.identity(id);
        }
        // The fixed request headers go to the client once (reqwest merges
        // its defaults into every request); only `Authorization` can change
        // between scrapes.
        b = b.default_headers(fixed_headers(opts.compression, opts.timeout));
        let client = b
            .build()
            .map_err(|e| format!("building HTTP client: {e}"))?;
        Ok(ReqwestClient {
            client,
            body_limit: opts.body_limit,
        })
    }

    async fn get(
        &self,
        url: &str,
        auth: Option<HeaderValue>,
        size_hint: usize,
    ) -> Result<Fetched, String> {
        let mut req = self.client.get(url);
        if let Some(v) = auth {
            req = req.header(AUTHORIZATION, v);
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| format!("Get \"{}\": {}", url, error_chain(&e)))?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(status_error(status.as_u16(), status.canonical_reason()));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let hint = buffer_size(resp.content_length(), size_hint, self.body_limit);
        let mut body = Vec::with_capacity(hint);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > self.body_limit {
                        drop(resp);
                        return Err(limit_error(self.body_limit));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(format!("reading body: {}", error_chain(&e))),
            }
        }
        Ok(Fetched { body, content_type })
    }
}

/// The body buffer's size: `Content-Length` when known (of the decompressed
/// body), else the last body's size plus an eighth; bounded by the limit
/// and by 64 MiB so a lying header cannot reserve more.
pub(crate) fn buffer_size(content_length: Option<u64>, last: usize, limit: u64) -> usize {
    let last = last as u64;
    content_length
        .unwrap_or(last.saturating_add(last / 8))
        .min(limit)
        .min(64 << 20) as usize
}

/// Prometheus's message for a status other than 200.
pub(crate) fn status_error(code: u16, reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("server returned HTTP status {code} {r}"),
        None => format!("server returned HTTP status {code}"),
    }
}

/// The message of a body over the limit.
pub(crate) fn limit_error(limit: u64) -> String {
    format!("body size limit exceeded: response body is larger than {limit} bytes")
}

/// The headers every scrape of a target sends: `Accept`, `User-Agent`,
/// `Accept-Encoding` (`gzip`, or `identity` without compression) and the
/// scrape timeout.
pub(crate) fn fixed_headers(compression: bool, timeout: Duration) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        ACCEPT,
        HeaderValue::from_static(promlite_exposition::SCRAPE_ACCEPT_HEADER),
    );
    h.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    if !compression {
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    }
    let secs = format!("{}", timeout.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&secs) {
        h.insert(TIMEOUT_HEADER, v);
    }
    h
}

fn read_secret(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| format!("reading {path}: {e}"))
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("user:pass", "dXNlcjpwYXNz"),
        ];
        for (plain, enc) in cases {
            assert_eq!(base64(plain.as_bytes()), enc, "{plain:?}");
        }
    }

    #[test]
    fn buffer_size_prefers_content_length_and_is_bounded() {
        assert_eq!(buffer_size(Some(100), 5_000, 1 << 20), 100);
        assert_eq!(buffer_size(None, 800, 1 << 20), 900);
        assert_eq!(buffer_size(None, 800, 850), 850);
        assert_eq!(buffer_size(Some(u64::MAX), 0, u64::MAX), 64 << 20);
    }

    #[test]
    fn status_errors_read_like_prometheus() {
        assert_eq!(
            status_error(503, Some("Service Unavailable")),
            "server returned HTTP status 503 Service Unavailable"
        );
        assert_eq!(status_error(599, None), "server returned HTTP status 599");
    }
}
