//! Scraping HTTPS targets: `tls_config` (`ca_file`, `insecure_skip_verify`,
//! `server_name`, client certificates) and basic auth / `Authorization`
//! over TLS, against an in-process HTTPS server with `rcgen` certificates.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::samples;
use parking_lot::Mutex;
use promlite_model::MemStorage;
use promlite_scrape::target::{populate, Populated};
use promlite_scrape::{Config, Health, ScrapeLoop, ScrapeOptions, TargetShared};
use rcgen::{BasicConstraints, Certificate, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const BODY: &str = "# TYPE req_total counter\nreq_total{code=\"200\"} 7\n";

/// A certificate authority that signs server and client certificates.
struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, name.to_string());
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A leaf certificate for `names` (DNS names or IP addresses).
    fn issue(&self, names: &[&str]) -> (Certificate, KeyPair) {
        let p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert, key)
    }
}

/// An HTTPS server answering every request with [`BODY`]; remembers the
/// last request's head (request line and headers).
struct TlsServer {
    port: u16,
    last_request: Arc<Mutex<String>>,
}

async fn tls_server(cert: &Certificate, key: &KeyPair, client_ca: Option<&Ca>) -> TlsServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.cert.der().clone()).unwrap();
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(v)
        }
        None => builder.with_no_client_auth(),
    };
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
    let cfg = builder.with_single_cert(chain, key_der).unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let last_request = Arc::new(Mutex::new(String::new()));
    let last = last_request.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let last = last.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                *last.lock() = String::from_utf8_lossy(&head).into_owned();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    TlsServer { port, last_request }
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// A scrape loop for `https://{host}:{port}` with `extra` YAML appended
/// to the job (indented by four spaces).
fn https_loop(host: &str, port: u16, extra: &str, db: &MemStorage) -> Result<ScrapeLoop, String> {
    let yaml = format!(
        "scrape_configs:\n  - job_name: tls\n    scheme: https\n    scrape_timeout: 5s\n    static_configs: [{{targets: ['{host}:{port}']}}]\n{extra}"
    );
    let cfg = Config::from_str(&yaml).map_err(|e| e.to_string())?;
    let sc = &cfg.scrape_configs[0];
    let groups = promlite_scrape::discovery::static_groups(&sc.static_configs);
    let t = match populate(&groups[0].labels, &groups[0].targets[0], sc) {
        Ok(Populated::Target(t)) => t,
        other => panic!("target not populated: {other:?}"),
    };
    let clock: Arc<dyn promlite_model::Clock> = Arc::new(promlite_model::ManualClock::new(0));
    ScrapeLoop::new(
        sc,
        Arc::new(TargetShared::new(t)),
        Arc::new(db.clone()),
        clock,
        &ScrapeOptions::default(),
    )
}

#[tokio::test]
async fn ca_file_verifies_the_target_and_auth_headers_are_sent() {
    let ca = Ca::new("test ca");
    let (cert, key) = ca.issue(&["127.0.0.1", "localhost"]);
    let srv = tls_server(&cert, &key, None).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.cert.pem());
    let pw_file = write(dir.path(), "pw", "s3cret\n");

    // basic_auth with a password file, over TLS
    let db = MemStorage::new();
    let extra = format!(
        "    tls_config: {{ca_file: '{}'}}\n    basic_auth: {{username: alice, password_file: '{}'}}\n",
        ca_file.display(),
        pw_file.display()
    );
    let mut sl = https_loop("127.0.0.1", srv.port, &extra, &db).unwrap();
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(samples(&db, "req_total"), vec![(1_000, 7.0)]);
    assert_eq!(samples(&db, "up"), vec![(1_000, 1.0)]);
    let head = srv.last_request.lock().to_ascii_lowercase();
    assert!(head.starts_with("get /metrics http/1.1"), "{head}");
    // base64("alice:s3cret")
    assert!(
        head.contains("authorization: basic ywxpy2u6cznjcmv0"),
        "{head}"
    );

    // Authorization: Bearer, over TLS, by host name
    let db = MemStorage::new();
    let extra = format!(
        "    tls_config: {{ca_file: '{}'}}\n    authorization: {{credentials: tok3n}}\n",
        ca_file.display()
    );
    let mut sl = https_loop("localhost", srv.port, &extra, &db).unwrap();
    let r = sl.scrape_at(2_000).await;
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(samples(&db, "req_total"), vec![(2_000, 7.0)]);
    let head = srv.last_request.lock().clone();
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer tok3n"),
        "{head}"
    );
}

#[tokio::test]
async fn unknown_ca_fails_with_up_0_and_a_clear_error() {
    let ca = Ca::new("server ca");
    let other = Ca::new("some other ca");
    let (cert, key) = ca.issue(&["127.0.0.1"]);
    let srv = tls_server(&cert, &key, None).await;
    let dir = tempfile::tempdir().unwrap();
    let other_file = write(dir.path(), "other.pem", &other.cert.pem());

    for extra in [
        // the built-in roots do not know the test CA
        String::new(),
        format!("    tls_config: {{ca_file: '{}'}}\n", other_file.display()),
    ] {
        let db = MemStorage::new();
        let mut sl = https_loop("127.0.0.1", srv.port, &extra, &db).unwrap();
        let r = sl.scrape_at(1_000).await;
        assert_eq!(r.health, Health::Down);
        let err = r.error.unwrap_or_default();
        assert!(err.contains("certificate"), "{err}");
        assert!(err.contains("UnknownIssuer"), "{err}");
        assert_eq!(samples(&db, "up"), vec![(1_000, 0.0)]);
        assert!(common::series(&db, "req_total").is_empty());
        assert_eq!(sl.target().state.read().last_error, err);
    }
}

#[tokio::test]
async fn insecure_skip_verify_accepts_any_certificate() {
    let ca = Ca::new("unknown ca");
    // not even issued for the address scraped
    let (cert, key) = ca.issue(&["example.invalid"]);
    let srv = tls_server(&cert, &key, None).await;
    let db = MemStorage::new();
    let extra = "    tls_config: {insecure_skip_verify: true}\n";
    let mut sl = https_loop("127.0.0.1", srv.port, extra, &db).unwrap();
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(samples(&db, "req_total"), vec![(1_000, 7.0)]);
}

#[tokio::test]
async fn server_name_is_what_the_certificate_is_checked_against() {
    let ca = Ca::new("test ca");
    // issued for a name only, scraped by IP address
    let (cert, key) = ca.issue(&["metrics.internal"]);
    let srv = tls_server(&cert, &key, None).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.cert.pem());

    // without server_name the address does not match the certificate
    let db = MemStorage::new();
    let extra = format!("    tls_config: {{ca_file: '{}'}}\n", ca_file.display());
    let r = https_loop("127.0.0.1", srv.port, &extra, &db)
        .unwrap()
        .scrape_at(1_000)
        .await;
    assert_eq!(r.health, Health::Down);
    let err = r.error.unwrap_or_default();
    assert!(err.contains("not valid for name \"127.0.0.1\""), "{err}");

    // the right server_name succeeds
    let db = MemStorage::new();
    let extra = format!(
        "    tls_config: {{ca_file: '{}', server_name: metrics.internal}}\n",
        ca_file.display()
    );
    let r = https_loop("127.0.0.1", srv.port, &extra, &db)
        .unwrap()
        .scrape_at(1_000)
        .await;
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(samples(&db, "req_total"), vec![(1_000, 7.0)]);

    // a wrong server_name fails, also when the address would have matched
    let (cert2, key2) = ca.issue(&["127.0.0.1", "metrics.internal"]);
    let srv2 = tls_server(&cert2, &key2, None).await;
    for port in [srv.port, srv2.port] {
        let db = MemStorage::new();
        let extra = format!(
            "    tls_config: {{ca_file: '{}', server_name: other.internal}}\n",
            ca_file.display()
        );
        let r = https_loop("127.0.0.1", port, &extra, &db)
            .unwrap()
            .scrape_at(1_000)
            .await;
        assert_eq!(r.health, Health::Down);
        let err = r.error.unwrap_or_default();
        assert!(err.contains("certificate"), "{err}");
        assert!(
            err.contains("not valid for name \"other.internal\""),
            "{err}"
        );
        assert_eq!(samples(&db, "up"), vec![(1_000, 0.0)]);
    }
}

#[tokio::test]
async fn client_certificate_is_presented_when_configured() {
    let ca = Ca::new("test ca");
    let (cert, key) = ca.issue(&["127.0.0.1"]);
    let srv = tls_server(&cert, &key, Some(&ca)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.cert.pem());
    let (ccert, ckey) = ca.issue(&["scraper"]);
    let cert_file = write(dir.path(), "client.pem", &ccert.pem());
    let key_file = write(dir.path(), "client.key", &ckey.serialize_pem());

    // without a client certificate the server refuses the handshake
    let db = MemStorage::new();
    let extra = format!("    tls_config: {{ca_file: '{}'}}\n", ca_file.display());
    let r = https_loop("127.0.0.1", srv.port, &extra, &db)
        .unwrap()
        .scrape_at(1_000)
        .await;
    assert_eq!(r.health, Health::Down);
    assert!(common::series(&db, "req_total").is_empty());

    for server_name in ["", ", server_name: '127.0.0.1'"] {
        let db = MemStorage::new();
        let extra = format!(
            "    tls_config: {{ca_file: '{}', cert_file: '{}', key_file: '{}'{server_name}}}\n",
            ca_file.display(),
            cert_file.display(),
            key_file.display()
        );
        let r = https_loop("127.0.0.1", srv.port, &extra, &db)
            .unwrap()
            .scrape_at(1_000)
            .await;
        assert_eq!(r.health, Health::Up, "{server_name}: {:?}", r.error);
        assert_eq!(samples(&db, "req_total"), vec![(1_000, 7.0)]);
    }
}

#[test]
fn unreadable_tls_files_fail_when_the_loop_is_built() {
    let db = MemStorage::new();
    let err = https_loop(
        "127.0.0.1",
        1,
        "    tls_config: {ca_file: /nonexistent/ca.pem}\n",
        &db,
    )
    .err()
    .unwrap_or_default();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}
