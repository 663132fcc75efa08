//! The ML retraining loop end to end (issue #7): the demo model drifts →
//! a confidence alert fires → promlite's webhook calls the model's
//! `POST /retrain` → drift clears → the alert resolves.
//!
//! The demo model runs in-process (its own tokio runtime) with traffic;
//! `promlite serve` scrapes it every second and evaluates a rule group every
//! second. A second webhook records the payloads so the test can check what
//! the retraining endpoint was sent.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use promlite_demo_model::{DemoModel, DemoOptions};
use serde_json::Value;

use crate::harness::*;

type Bodies = Arc<Mutex<Vec<Value>>>;

const RULES: &str = r#"groups:
  - name: mlops-loop
    interval: 1s
    rules:
      - record: model:prediction_confidence:mean3s
        expr: sum(rate(prediction_confidence_score_sum[3s])) / sum(rate(prediction_confidence_score_count[3s]))
      - alert: ModelConfidenceLow
        expr: model:prediction_confidence:mean3s < 0.75
        for: 0s
        labels:
          severity: warning
          action: retrain
        annotations:
          summary: "mean confidence {{ $value | humanizePercentage }}"
"#;

async fn record(State(bodies): State<Bodies>, body: String) -> &'static str {
    let v = serde_json::from_str(&body).unwrap_or(Value::Null);
    bodies.lock().expect("lock").push(v);
    "ok"
}

/// Payloads that carry `alertname` with the given top-level `status`.
fn payloads(bodies: &Bodies, status: &str) -> Vec<Value> {
    bodies
        .lock()
        .expect("lock")
        .iter()
        .filter(|b| b["status"] == status)
        .filter(|b| {
            b["alerts"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| x["labels"]["alertname"] == "ModelConfidenceLow")
            })
        })
        .cloned()
        .collect()
}

fn model_status(model: &str) -> Value {
    let (code, body) = http(model, "GET", "/", "").expect("model status");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).expect("status JSON")
}

fn mean_confidence(addr: &str) -> Option<f64> {
    scalar_of(&query(addr, "model:prediction_confidence:mean3s", None))
}

fn alert_active(addr: &str) -> bool {
    let a = get_json(addr, "/api/v1/alerts");
    a["data"]["alerts"].as_array().is_some_and(|v| {
        v.iter()
            .any(|x| x["labels"]["alertname"] == "ModelConfidenceLow")
    })
}

#[test]
fn drift_alert_triggers_retrain_and_resolves() {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let model = DemoModel::new(DemoOptions {
        drift_ramp: Duration::ZERO,
        ..DemoOptions::default()
    });
    let bodies: Bodies = Arc::default();
    let (model_addr, recorder_addr, traffic) = rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind model");
        let model_addr = l.local_addr().expect("addr").to_string();
        let app = model.router();
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind recorder");
        let recorder_addr = l.local_addr().expect("addr").to_string();
        let app = Router::new()
            .route("/hook", post(record))
            .with_state(bodies.clone());
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        (model_addr, recorder_addr, model.spawn_traffic(100.0))
    });

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("mlops-loop.yml"), RULES).expect("write rules");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files: [mlops-loop.yml]\n\
             alerting:\n  webhooks:\n    - url: http://{model_addr}/retrain\n      timeout: 5s\n\
             \x20   - url: http://{recorder_addr}/hook\n      send_resolved: true\n\
             scrape_configs:\n  - job_name: demo-model\n    static_configs:\n      - targets: [\"{model_addr}\"]\n"
        ),
    )
    .expect("write config");
    let data = dir.path().join("data");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("promlite.log");
    let mut p = serve_ready(&cfg, &data, &addr, &log);
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();

    // Healthy: the recorded mean confidence is high and nothing fires.
    let healthy = poll(Duration::from_secs(10), || {
        mean_confidence(&addr).is_some_and(|c| c > 0.8)
    });
    assert!(
        healthy,
        "no healthy confidence: {:?}\n{}",
        mean_confidence(&addr),
        logs()
    );
    assert!(!alert_active(&addr), "alert active before drift");
    assert_eq!(model_status(&model_addr)["model_version"], "v2.1");

    // Drift: confidence falls, the alert fires, the webhook retrains the model.
    let (code, body) = http(&model_addr, "POST", "/admin/drift", "").expect("drift");
    assert_eq!(code, 200, "{body}");
    let drifted_at = Instant::now();
    let retrained = poll(Duration::from_secs(12), || {
        model_status(&model_addr)["model_version"] == "v2.2"
    });
    assert!(
        retrained,
        "model not retrained: confidence {:?}, alerts {}, payloads {:?}\n{}",
        mean_confidence(&addr),
        get_json(&addr, "/api/v1/alerts"),
        bodies.lock().expect("lock"),
        logs()
    );
    let fired_after = drifted_at.elapsed();
    let status = model_status(&model_addr);
    assert_eq!(status["drifting"], false, "retrain clears drift: {status}");

    // What the retraining endpoint was sent: Alertmanager's webhook payload.
    let firing = poll(Duration::from_secs(5), || {
        !payloads(&bodies, "firing").is_empty()
    });
    assert!(
        firing,
        "no firing payload: {:?}",
        bodies.lock().expect("lock")
    );
    let first = payloads(&bodies, "firing").remove(0);
    assert_eq!(first["version"], "4", "{first}");
    assert_eq!(first["commonLabels"]["action"], "retrain", "{first}");
    assert_eq!(first["alerts"][0]["status"], "firing", "{first}");

    // Recovery: confidence comes back, the alert resolves and receivers hear it.
    let recovered = poll(Duration::from_secs(10), || {
        mean_confidence(&addr).is_some_and(|c| c > 0.8)
    });
    assert!(
        recovered,
        "confidence did not recover: {:?}",
        mean_confidence(&addr)
    );
    let resolved = poll(Duration::from_secs(10), || {
        !alert_active(&addr) && !payloads(&bodies, "resolved").is_empty()
    });
    assert!(
        resolved,
        "alert not resolved: {} payloads {:?}\n{}",
        get_json(&addr, "/api/v1/alerts"),
        bodies.lock().expect("lock"),
        logs()
    );
    let r = payloads(&bodies, "resolved").remove(0);
    assert_eq!(r["alerts"][0]["status"], "resolved", "{r}");
    assert_ne!(r["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z", "{r}");
    // The resolved notification reached /retrain too, and did not retrain again.
    assert_eq!(model_status(&model_addr)["model_version"], "v2.2");

    assert!(p.signal_and_wait(libc::SIGTERM).success(), "{}", logs());
    rt.block_on(traffic.stop());
    eprintln!(
        "mlops loop: alert → retrain {:.1}s after drift, whole test {:.1}s",
        fired_after.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

/// `alerting` changes apply on reload: a webhook added by `POST /-/reload`
/// shows in `/api/v1/alertmanagers` and receives the alerts that fire next.
#[test]
fn reload_applies_alerting_changes() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bodies: Bodies = Arc::default();
    let recorder = rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind recorder");
        let a = l.local_addr().expect("addr").to_string();
        let app = Router::new()
            .route("/hook", post(record))
            .with_state(bodies.clone());
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        a
    });
    // Serve the recorder from a thread driving the runtime.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let driver = std::thread::spawn(move || {
        rt.block_on(async {
            let _ = stop_rx.await;
        })
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let rule = |name: &str| {
        format!("      - alert: {name}\n        expr: vector(1) > 0\n        labels: {{action: retrain}}\n")
    };
    let rules = dir.path().join("rules.yml");
    let head = "groups:\n  - name: r\n    interval: 1s\n    rules:\n";
    std::fs::write(&rules, format!("{head}{}", rule("BeforeReload"))).expect("write rules");
    let cfg = dir.path().join("prometheus.yml");
    let base = "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n";
    std::fs::write(&cfg, base).expect("write config");
    let data = dir.path().join("data");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("promlite.log");
    let mut p = serve_ready_with(&cfg, &data, &addr, &["--web.enable-lifecycle"], &log);
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();
    let active = || get_json(&addr, "/api/v1/alertmanagers")["data"]["activeAlertmanagers"].clone();
    assert_eq!(active(), serde_json::json!([]));
    let fired = poll(Duration::from_secs(10), || {
        alert_named(&addr, "BeforeReload")
    });
    assert!(fired, "BeforeReload not firing\n{}", logs());

    let hook = format!("http://{recorder}/hook");
    std::fs::write(
        &cfg,
        format!("{base}alerting:\n  webhooks:\n    - url: {hook}\n      timeout: 2s\n"),
    )
    .expect("rewrite config");
    std::fs::write(
        &rules,
        format!("{head}{}{}", rule("BeforeReload"), rule("AfterReload")),
    )
    .expect("rewrite rules");
    let (code, body) = http(&addr, "POST", "/-/reload", "").expect("reload");
    assert_eq!(code, 200, "{body}\n{}", logs());
    assert_eq!(active(), serde_json::json!([{ "url": hook }]));
    let delivered = poll(Duration::from_secs(10), || {
        bodies.lock().expect("lock").iter().any(|b| {
            b["alerts"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["labels"]["alertname"] == "AfterReload"))
        })
    });
    assert!(
        delivered,
        "webhook added on reload got nothing: {:?}\n{}",
        bodies.lock().expect("lock"),
        logs()
    );

    // Removing the webhook again empties the list.
    std::fs::write(&cfg, base).expect("rewrite config");
    let (code, body) = http(&addr, "POST", "/-/reload", "").expect("reload");
    assert_eq!(code, 200, "{body}");
    assert_eq!(active(), serde_json::json!([]));

    assert!(p.signal_and_wait(libc::SIGTERM).success(), "{}", logs());
    let _ = stop_tx.send(());
    let _ = driver.join();
}

fn alert_named(addr: &str, name: &str) -> bool {
    let a = get_json(addr, "/api/v1/alerts");
    a["data"]["alerts"]
        .as_array()
        .is_some_and(|v| v.iter().any(|x| x["labels"]["alertname"] == name))
}
