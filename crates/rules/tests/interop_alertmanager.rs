//! Interop with the real Alertmanager (`/usr/bin/prometheus-alertmanager`).
//! Skips (and passes) when it is not installed, unless
//! `PROMLITE_REQUIRE_INTEROP=1`.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use promlite_model::{Clock, SystemClock};
use promlite_rules::{AlertingConfig, AlertmanagerConfig, Notifier, NotifierOptions, NotifyAlert};

const BIN: &str = "/usr/bin/prometheus-alertmanager";

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

#[tokio::test]
async fn alerts_show_up_in_real_alertmanager() {
    if !std::path::Path::new(BIN).exists() {
        if std::env::var("PROMLITE_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("prometheus-alertmanager not installed but PROMLITE_REQUIRE_INTEROP=1");
        }
        println!("skipped: prometheus-alertmanager not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager");
    let _guard = Kill(child);
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("http://{addr}/-/ready")).send().await {
            if r.status().is_success() {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "alertmanager did not become ready");

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now_ms();
    let mut opts = NotifierOptions::default();
    opts.external_labels
        .insert("cluster".into(), "interop".into());
    let cfg = AlertingConfig {
        alertmanagers: vec![AlertmanagerConfig::new(addr.clone())],
        webhooks: vec![],
    };
    let notifier = Notifier::new(&cfg, opts, clock.clone());
    let mut labels = BTreeMap::new();
    labels.insert(
        "alertname".to_string(),
        "ModelConfidenceBelowBaseline".to_string(),
    );
    labels.insert("model_version".to_string(), "v7".to_string());
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".to_string(), "confidence 61%".to_string());
    notifier.send(vec![NotifyAlert {
        labels: labels.clone(),
        annotations,
        starts_at_ms: now - 60_000,
        ends_at_ms: Some(now + 240_000),
        generator_url: "http://promlite/graph".into(),
    }]);
    notifier.flush().await;
    let c = &notifier.counters()[0];
    assert_eq!(
        c.sent.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "delivery failed"
    );

    let found = poll_alerts(&client, &addr, "/api/v2/alerts", |a| !a.is_empty()).await;
    let alerts = found.expect("alert not visible in alertmanager");
    let a = &alerts[0];
    assert_eq!(a["labels"]["alertname"], "ModelConfidenceBelowBaseline");
    assert_eq!(a["labels"]["model_version"], "v7");
    assert_eq!(a["labels"]["cluster"], "interop");
    assert_eq!(a["annotations"]["summary"], "confidence 61%");
    assert_eq!(a["status"]["state"], "active");
    assert_eq!(a["generatorURL"], "http://promlite/graph");

    // Resolve it, as Prometheus does: the same alert with an end time in
    // the past. Alertmanager then stops listing it as active.
    let resolved_at = clock.now_ms() - 1_000;
    notifier.send(vec![NotifyAlert {
        labels,
        annotations: BTreeMap::new(),
        starts_at_ms: now - 60_000,
        ends_at_ms: Some(resolved_at),
        generator_url: "http://promlite/graph".into(),
    }]);
    notifier.flush().await;
    assert_eq!(
        c.sent.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "resolve delivery failed"
    );
    let cleared = poll_alerts(&client, &addr, "/api/v2/alerts?active=true", |a| {
        a.is_empty()
    })
    .await
    .is_some();
    assert!(cleared, "alert still active in alertmanager after resolve");
}

/// Polls Alertmanager's `path` (bounded, 5 s) until its alert list
/// satisfies `done`; returns that answer.
async fn poll_alerts(
    client: &reqwest::Client,
    addr: &str,
    path: &str,
    done: impl Fn(&Vec<serde_json::Value>) -> bool,
) -> Option<serde_json::Value> {
    for _ in 0..50 {
        let r: serde_json::Value = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r.as_array().is_some_and(&done) {
            return Some(r);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
