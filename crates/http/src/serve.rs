//! Serving a router on a listener: plain HTTP or TLS, basic auth, extra
//! headers, graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::conns::{drive, ConnTable, Tasks, EVICT_GRACE};
use crate::limits::{body_deadline, ConnLimits};
use crate::webconfig::WebConfig;

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
const AUTH_CACHE_MAX: usize = 1024;

struct Auth {
    users: HashMap<String, String>,
    cache: Mutex<HashMap<u64, bool>>,
    hasher: RandomState,
}

/// A hash to compare against when the user is unknown, so unknown users
/// cost as much time as wrong passwords.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        bcrypt::hash("promlite-dummy-password", bcrypt::DEFAULT_COST).unwrap_or_default()
    })
}

/// The credentials of a `Basic` authorization header, decoded as Go's
/// `Request.BasicAuth` does it: the scheme name in any case, then standard
/// base64 with its padding.
fn basic_credentials(value: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case("basic ") {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(&value[6..])
        .ok()
}

fn unauthorized() -> Response {
    let mut r = (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    r
}

async fn check_auth(State(auth): State<Arc<Auth>>, req: Request, next: Next) -> Response {
    let creds = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_credentials)
        .and_then(|b| String::from_utf8(b).ok());
    let Some((user, pass)) = creds.as_deref().and_then(|c| c.split_once(':')) else {
        return unauthorized();
    };
    let known = auth.users.get(user);
    let hash = known.map(String::as_str).unwrap_or_else(|| dummy_hash());
    let key = auth.hasher.hash_one((user, pass, hash));
    let cached = auth.cache.lock().ok().and_then(|c| c.get(&key).copied());
    let ok = match cached {
        Some(ok) => ok,
        None => {
            let (p, h) = (pass.to_string(), hash.to_string());
            let ok = tokio::task::spawn_blocking(move || bcrypt::verify(p, &h).unwrap_or(false))
                .await
                .unwrap_or(false);
            if let Ok(mut c) = auth.cache.lock() {
                if c.len() >= AUTH_CACHE_MAX {
                    c.clear();
                }
                c.insert(key, ok);
            }
            ok
        }
    };
    if ok && known.is_some() {
        next.run(req).await
    } else {
        unauthorized()
    }
}

async fn add_headers(
    State(headers): State<Arc<Vec<(HeaderName, HeaderValue)>>>,
    req: Request,
    next: Next,
) -> Response {
    let mut r = next.run(req).await;
    for (k, v) in headers.iter() {
        r.headers_mut().insert(k.clone(), v.clone());
    }
    r
}

/// Applies the web config's basic auth and response headers to `router`.
fn wrap(router: Router, config: &WebConfig) -> std::io::Result<Router> {
    let mut app = router;
    if !config.basic_auth_users.is_empty() {
        let auth = Arc::new(Auth {
            users: config.basic_auth_users.clone().into_iter().collect(),
            cache: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
        });
        app = app.layer(from_fn_with_state(auth, check_auth));
    }
    if !config.http_server_config.headers.is_empty() {
        let mut hs = Vec::new();
        for (k, v) in &config.http_server_config.headers {
            let name = HeaderName::try_from(k.as_str())
                .map_err(|e| invalid(format!("header {k:?}: {e}")))?;
            let value = HeaderValue::try_from(v.as_str())
                .map_err(|e| invalid(format!("header {k:?}: {e}")))?;
            hs.push((name, value));
        }
        app = app.layer(from_fn_with_state(Arc::new(hs), add_headers));
    }
    Ok(app)
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg)
}

/// Serves `router` on `listener` with `config` (TLS, basic auth, headers)
/// and `limits` until `shutdown` resolves; then stops accepting and waits up
/// to 30 s for open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: WebConfig,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = config
        .rustls_config()
        .map_err(|e| invalid(e.to_string()))?
        .map(TlsAcceptor::from);
    let app = wrap(router, &config)?.layer(axum::middleware::from_fn_with_state(
        limits.read_timeout,
        body_deadline,
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    // The header timer runs from the moment a connection waits for a
    // request, so it also closes idle keep-alive connections.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout);
    let builder = Arc::new(builder);
    let slots = (limits.max_connections > 0)
        .then(|| Arc::new(tokio::sync::Semaphore::new(limits.max_connections)));
    let table = ConnTable::new();
    let tasks = Tasks::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (slot, stream) = match &slots {
            None => {
                let Some(stream) = accept(&listener, &mut shutdown).await else {
                    break;
                };
                (None, stream)
            }
            Some(s) => match s.clone().try_acquire_owned() {
                Ok(permit) => {
                    let Some(stream) = accept(&listener, &mut shutdown).await else {
                        break;
                    };
                    (Some(permit), stream)
                }
                Err(_) => {
                    // Every slot is taken. Accept the next client and give
                    // it the slot of the connection idle the longest; when
                    // all are busy it waits for one to finish (`conns.rs`).
                    let Some(stream) = accept(&listener, &mut shutdown).await else {
                        break;
                    };
                    let permit = loop {
                        if let Ok(p) = s.clone().try_acquire_owned() {
                            break Some(p);
                        }
                        if let Some(p) = table.evict_one() {
                            break Some(p);
                        }
                        tokio::select! {
                            _ = &mut shutdown => break None,
                            p = s.clone().acquire_owned() => break p.ok(),
                            // Too many evicted ones still closing: try again
                            // when one has.
                            _ = table.evicted_one_closed() => {}
                            // A busy connection may turn idle without
                            // closing: look again.
                            _ = tokio::time::sleep(EVICT_GRACE) => {}
                        }
                    };
                    let Some(permit) = permit else {
                        break;
                    };
                    (Some(permit), stream)
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn = table.open(slot);
        let counted = conn.clone();
        let app = app.clone();
        let svc = TowerToHyperService::new(tower::service_fn(move |req: Request<Incoming>| {
            let busy = counted.enter();
            let app = app.clone();
            async move {
                let r = app.oneshot(req).await;
                drop(busy);
                r
            }
        }));
        let builder = builder.clone();
        let stopping = stop_rx.clone();
        let running = tasks.enter();
        match &tls {
            None => {
                let read_timeout = limits.read_timeout;
                let mut stopping = stopping;
                tokio::spawn(async move {
                    let _running = running;
                    // hyper's protocol detection waits for the first bytes
                    // with no timer of its own: a client that connects and
                    // sends nothing must not hold the slot (or a graceful
                    // shutdown) forever.
                    let mut first = [0u8; 1];
                    tokio::select! {
                        r = tokio::time::timeout(read_timeout, stream.peek(&mut first)) => match r {
                            Ok(Ok(n)) if n > 0 => {}
                            _ => return,
                        },
                        _ = conn.evicted() => return,
                        _ = stopping.wait_for(|s| *s) => return,
                    }
                    let fut = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc);
                    drive(&conn, fut, |f| f.graceful_shutdown(), stopping).await;
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let _running = running;
                    let tls_stream = tokio::select! {
                        r = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => match r {
                            Ok(Ok(s)) => s,
                            _ => return,
                        },
                        _ = conn.evicted() => return,
                    };
                    let fut = builder.serve_connection_with_upgrades(TokioIo::new(tls_stream), svc);
                    drive(&conn, fut, |f| f.graceful_shutdown(), stopping).await;
                });
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait()).await;
    Ok(())
}

/// Accepts the next connection; `None` once `shutdown` resolves.
async fn accept(
    listener: &TcpListener,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Option<tokio::net::TcpStream> {
    loop {
        tokio::select! {
            _ = shutdown.as_mut() => return None,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => return Some(stream),
                Err(e) => {
                    // Out of file descriptors and similar: back off, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_decode() {
        let creds = |v| basic_credentials(v).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            creds("Basic YWxpY2U6c2VjcmV0").as_deref(),
            Some("alice:secret")
        );
        assert_eq!(creds("basic YQ==").as_deref(), Some("a"));
        assert_eq!(creds("BASIC YWI=").as_deref(), Some("ab"));
        // Go's standard encoding wants the padding and nothing but the alphabet.
        assert_eq!(creds("Basic YQ"), None);
        assert_eq!(creds("Basic !!"), None);
        assert_eq!(creds("Bearer YQ=="), None);
        assert_eq!(creds("Basic"), None);
        assert_eq!(creds("Bäsic YQ=="), None);
    }
}
