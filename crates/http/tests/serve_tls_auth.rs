//! `serve` on a real listener with a real client: plain HTTP, basic auth
//! with bcrypt hashes, TLS with a self-signed certificate, response headers,
//! long URLs and graceful shutdown.

mod common;

use std::time::Duration;

use promlite_http::{router, serve, WebConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

struct Server {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(config: WebConfig) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            router(common::state()),
            config,
            Default::default(),
            async move {
                let _ = rx.await;
            },
        ));
        Server {
            addr,
            stop: Some(tx),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let res = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server stops");
        res.unwrap().unwrap();
    }
}

#[tokio::test]
async fn plain_http_with_headers_and_long_urls() {
    let cfg = WebConfig::from_yaml("http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
        .unwrap();
    let srv = Server::start(cfg).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", srv.addr);
    let r = client
        .post(format!("{base}/api/v1/labels"))
        .form(&[("match[]", "up")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "deny");
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        j["data"],
        serde_json::json!(["__name__", "instance", "job"])
    );
    // a ~70 KB selector in the query string (Grafana label-values variables)
    let alts: Vec<String> = (0..7000).map(|i| format!("v{i:05}")).collect();
    let sel = format!("{{job=~\"api|{}\"}}", alts.join("|"));
    let r = client
        .get(format!("{base}/api/v1/label/job/values"))
        .query(&[("match[]", sel.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["data"], serde_json::json!(["api"]));
    srv.stop().await;
}

#[tokio::test]
async fn basic_auth_with_bcrypt() {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let cfg = WebConfig::from_yaml(&format!("basic_auth_users:\n  alice: '{hash}'\n")).unwrap();
    let srv = Server::start(cfg).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/api/v1/status/buildinfo", srv.addr);
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic");
    for (user, pass) in [("alice", "wrong"), ("bob", "s3cret"), ("alice", "")] {
        let r = client
            .get(&url)
            .basic_auth(user, Some(pass))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{user}:{pass}");
    }
    for _ in 0..2 {
        // second time from the verification cache
        let r = client
            .get(&url)
            .basic_auth("alice", Some("s3cret"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    srv.stop().await;
}

#[tokio::test]
async fn tls_with_self_signed_certificate() {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), ck.key_pair.serialize_pem()).unwrap();
    let hash = bcrypt::hash("pw", 4).unwrap();
    std::fs::write(
        dir.path().join("web.yml"),
        format!("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  grafana: '{hash}'\n"),
    )
    .unwrap();
    let cfg = WebConfig::load(&dir.path().join("web.yml")).unwrap();
    let srv = Server::start(cfg).await;
    let ca = reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = format!(
        "https://127.0.0.1:{}/api/v1/query_exemplars",
        srv.addr.port()
    );
    let r = client
        .post(&url)
        .basic_auth("grafana", Some("pw"))
        .form(&[("query", "test")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"status":"success","data":[]}"#);
    let r = client
        .post(&url)
        .form(&[("query", "test")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // plain HTTP to the TLS port fails
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/-/healthy", srv.addr.port()))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    srv.stop().await;
}

#[tokio::test]
async fn bad_tls_files_fail_at_start() {
    let cfg = WebConfig::from_yaml(
        "tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: /nonexistent/k.pem\n",
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = serve(
        listener,
        router(common::state()),
        cfg,
        Default::default(),
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/c.pem"), "{err}");
}
