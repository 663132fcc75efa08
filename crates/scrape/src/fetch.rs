//! The HTTP side of a scrape: request headers, auth, TLS, and reading the
//! body with a limit on its *decompressed* size.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, USER_AGENT};

use crate::config::{Authorization, BasicAuth, ScrapeConfig};

/// `User-Agent` of scrape requests.
pub const USER_AGENT_VALUE: &str = concat!("promlite/", env!("CARGO_PKG_VERSION"));

/// A fetched body and its `Content-Type`.
#[derive(Debug)]
pub struct Fetched {
    /// The decompressed body.
    pub body: Vec<u8>,
    /// The response's `Content-Type` header.
    pub content_type: Option<String>,
}

/// Fetches one target's URL. Cheap to clone (the client is shared).
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    url: String,
    /// `url` parsed once (None if it does not parse: each scrape then
    /// fails with reqwest's message, as before).
    parsed: Option<reqwest::Url>,
    timeout: Duration,
    body_limit: u64,
    basic_auth: Option<BasicAuth>,
    authorization: Option<Authorization>,
}

impl Fetcher {
    /// Builds the HTTP client from a scrape config's settings; `body_limit`
    /// of 0 means [`crate::config::DEFAULT_BODY_SIZE_LIMIT`].
    pub fn new(cfg: &ScrapeConfig, url: String, timeout: Duration) -> Result<Fetcher, String> {
        let mut b = reqwest::Client::builder()
            .redirect(if cfg.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .no_proxy();
        if !cfg.enable_compression {
            b = b.no_gzip();
        }
        let tls = &cfg.tls_config;
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
        // its defaults into every request) instead of a header map built
        // per scrape; only `Authorization` can change between scrapes.
        b = b.default_headers(fixed_headers(cfg.enable_compression, timeout));
        let client = b
            .build()
            .map_err(|e| format!("building HTTP client: {e}"))?;
        let parsed = reqwest::Url::parse(&url).ok();
        let body_limit = if cfg.body_size_limit == 0 {
            crate::config::DEFAULT_BODY_SIZE_LIMIT
        } else {
            cfg.body_size_limit
        };
        Ok(Fetcher {
            client,
            url,
            parsed,
            timeout,
            body_limit,
            basic_auth: cfg.basic_auth.clone(),
            authorization: cfg.authorization.clone(),
        })
    }

    /// The URL this fetcher scrapes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `Authorization` header, if configured (its file is re-read
    /// every scrape).
    fn authorization(&self) -> Result<Option<HeaderValue>, String> {
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
        Ok(None)
    }

    /// GETs the URL and reads the body, failing when the status is not 200,
    /// the timeout passes, or the decompressed body exceeds the limit (the
    /// connection is dropped at once, without draining the rest).
    /// `size_hint` is the expected body size (the last scrape's): the buffer
    /// is allocated for it, plus an eighth, when the response has no
    /// `Content-Length`.
    pub async fn fetch(&self, size_hint: usize) -> Result<Fetched, String> {
        match tokio::time::timeout(self.timeout, self.fetch_inner(size_hint)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "Get \"{}\": context deadline exceeded (timeout {:?})",
                self.url, self.timeout
            )),
        }
    }

    async fn fetch_inner(&self, size_hint: usize) -> Result<Fetched, String> {
        let mut req = match &self.parsed {
            Some(u) => self.client.get(u.clone()),
            None => self.client.get(&self.url),
        };
        if let Some(v) = self.authorization()? {
            req = req.header(AUTHORIZATION, v);
        }
        if let Some(b) = &self.basic_auth {
            let pw = match (&b.password, &b.password_file) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(f)) => Some(read_secret(f)?),
                (None, None) => None,
            };
            req = req.basic_auth(&b.username, pw);
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| format!("Get \"{}\": {}", self.url, error_chain(&e)))?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(format!("server returned HTTP status {status}"));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // Sized once from Content-Length when the target sends it, else from
        // the last body's size (bounded by the limit, and by 64 MiB so a
        // lying header cannot reserve more).
        let last = size_hint as u64;
        let hint = resp
            .content_length()
            .unwrap_or(last.saturating_add(last / 8))
            .min(self.body_limit)
            .min(64 << 20);
        let mut body = Vec::with_capacity(hint as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > self.body_limit {
                        drop(resp);
                        return Err(format!(
                            "body size limit exceeded: response body is larger than {} bytes",
                            self.body_limit
                        ));
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

/// The headers every scrape of a target sends: `Accept`, `User-Agent`,
/// `Accept-Encoding: identity` without compression (reqwest adds `gzip`
/// otherwise) and the scrape timeout.
fn fixed_headers(compression: bool, timeout: Duration) -> HeaderMap {
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
        h.insert("X-Prometheus-Scrape-Timeout-Seconds", v);
    }
    h
}

fn read_secret(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| format!("reading {path}: {e}"))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
