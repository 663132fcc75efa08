//! Notifications over HTTP to an in-process axum server: Alertmanager v2
//! bodies, resend, resolve, webhook payloads, queue limits, errors.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use common::Scripted;
use promlite_model::{labels, ManualClock, MemStorage};
use promlite_rules::{
    parse_rules, AlertingConfig, AlertmanagerConfig, LoadOptions, ManagerOptions, Notifier,
    NotifierOptions, NotifyAlert, RuleManager, WebhookConfig,
};
use serde_json::Value;

const MIN: i64 = 60_000;

type Bodies = Arc<Mutex<Vec<(String, Value)>>>;

async fn receiver(status: StatusCode) -> (String, Bodies) {
    let bodies: Bodies = Arc::default();
    async fn am(State((b, s)): State<(Bodies, StatusCode)>, body: String) -> StatusCode {
        b.lock().unwrap().push((
            "am".into(),
            serde_json::from_str(&body).unwrap_or(Value::Null),
        ));
        s
    }
    async fn hook(State((b, s)): State<(Bodies, StatusCode)>, body: String) -> StatusCode {
        b.lock().unwrap().push((
            "hook".into(),
            serde_json::from_str(&body).unwrap_or(Value::Null),
        ));
        s
    }
    let app = Router::new()
        .route("/prefix/api/v2/alerts", post(am))
        .route("/hook", post(hook))
        .with_state((bodies.clone(), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, bodies)
}

fn config(addr: &str) -> AlertingConfig {
    let mut am = AlertmanagerConfig::new(addr);
    am.path_prefix = "/prefix".into();
    AlertingConfig {
        alertmanagers: vec![am],
        webhooks: vec![WebhookConfig::new(format!("http://{addr}/hook"))],
    }
}

const RULES: &str = r#"
groups:
- name: g
  interval: 1m
  rules:
  - alert: LowConfidence
    expr: conf < 0.7
    labels: {action: retrain}
    annotations:
      summary: "{{ $labels.model_version }} at {{ $value }}"
"#;

#[tokio::test]
async fn alertmanager_and_webhook_receive_firing_resend_and_resolved() {
    let (addr, bodies) = receiver(StatusCode::OK).await;
    let clock = Arc::new(ManualClock::new(0));
    let mut nopts = NotifierOptions::default();
    nopts.external_labels.insert("cluster".into(), "eu1".into());
    let notifier = Notifier::new(&config(&addr), nopts, clock.clone());
    let q = Arc::new(Scripted::default());
    let db = Arc::new(MemStorage::new());
    let mut opts = ManagerOptions::new(q.clone(), db, clock.clone());
    opts.notifier = Some(notifier.clone());
    opts.context.external_url = "http://promlite:9090".into();
    let mgr = RuleManager::new(opts);
    mgr.update(parse_rules("r.yml", RULES, &LoadOptions::default()).unwrap());

    q.set(
        "conf < 0.7",
        vec![(labels!("__name__" => "conf", "model_version" => "v3"), 0.5)],
    );
    clock.set(MIN);
    mgr.evaluate_group_at("g", MIN);
    notifier.flush().await;
    {
        let b = bodies.lock().unwrap();
        assert_eq!(b.len(), 2, "{b:?}");
        let am = &b.iter().find(|x| x.0 == "am").unwrap().1;
        let a = &am[0];
        assert_eq!(a["labels"]["alertname"], "LowConfidence");
        assert_eq!(a["labels"]["cluster"], "eu1");
        assert_eq!(a["labels"]["action"], "retrain");
        assert_eq!(a["labels"]["model_version"], "v3");
        assert_eq!(a["annotations"]["summary"], "v3 at 0.5");
        assert_eq!(a["startsAt"], "1970-01-01T00:01:00.000Z");
        // endsAt = now + 4 × max(interval 1m, resend 1m).
        assert_eq!(a["endsAt"], "1970-01-01T00:05:00.000Z");
        assert!(a["generatorURL"]
            .as_str()
            .unwrap()
            .starts_with("http://promlite:9090/graph?g0.expr=conf+%3C+0.7"));
        let hook = &b.iter().find(|x| x.0 == "hook").unwrap().1;
        assert_eq!(hook["status"], "firing");
        assert_eq!(hook["version"], "4");
        assert_eq!(hook["alerts"][0]["status"], "firing");
        assert_eq!(hook["commonLabels"]["action"], "retrain");
    }

    // 30 s later: not resent yet (resend delay 1 m).
    mgr.evaluate_group_at("g", MIN + 30_000);
    notifier.flush().await;
    assert_eq!(bodies.lock().unwrap().len(), 2);
    // 1 m later: resent.
    mgr.evaluate_group_at("g", 2 * MIN);
    notifier.flush().await;
    assert_eq!(bodies.lock().unwrap().len(), 4);

    // Resolved: sent at once with endsAt = resolution time.
    q.set("conf < 0.7", vec![]);
    clock.set(3 * MIN);
    mgr.evaluate_group_at("g", 3 * MIN);
    notifier.flush().await;
    {
        let b = bodies.lock().unwrap();
        assert_eq!(b.len(), 6);
        let am = &b.iter().rev().find(|x| x.0 == "am").unwrap().1;
        assert_eq!(am[0]["endsAt"], "1970-01-01T00:03:00.000Z");
        let hook = &b.iter().rev().find(|x| x.0 == "hook").unwrap().1;
        assert_eq!(hook["status"], "resolved");
    }
    // Resolved alerts keep being resent (every resend delay) for 15 minutes, then forgotten.
    mgr.evaluate_group_at("g", 4 * MIN);
    notifier.flush().await;
    assert_eq!(bodies.lock().unwrap().len(), 8);
    mgr.evaluate_group_at("g", 19 * MIN);
    notifier.flush().await;
    let n = bodies.lock().unwrap().len();
    mgr.evaluate_group_at("g", 20 * MIN);
    notifier.flush().await;
    assert_eq!(
        bodies.lock().unwrap().len(),
        n,
        "forgotten after 15 minutes"
    );
    let c = notifier.counters();
    assert_eq!(c.len(), 2);
    assert!(c
        .iter()
        .all(|c| c.errors.load(std::sync::atomic::Ordering::Relaxed) == 0));
    assert!(c
        .iter()
        .all(|c| c.sent.load(std::sync::atomic::Ordering::Relaxed) >= 4));
}

fn alert(i: usize) -> NotifyAlert {
    let mut labels = std::collections::BTreeMap::new();
    labels.insert("alertname".into(), format!("A{i}"));
    NotifyAlert {
        labels,
        annotations: Default::default(),
        starts_at_ms: 0,
        ends_at_ms: Some(1),
        generator_url: String::new(),
    }
}

#[tokio::test]
async fn queue_drops_oldest_and_batches() {
    let (addr, bodies) = receiver(StatusCode::OK).await;
    let mut cfg = config(&addr);
    cfg.webhooks.clear();
    let opts = NotifierOptions {
        queue_capacity: 300,
        batch_size: 256,
        ..Default::default()
    };
    let n = Notifier::new(&cfg, opts, Arc::new(ManualClock::new(0)));
    n.send((0..400).map(alert).collect());
    assert_eq!(n.queue_len(), 300);
    assert_eq!(n.dropped(), 100);
    n.flush().await;
    let b = bodies.lock().unwrap();
    let sizes: Vec<usize> = b.iter().map(|x| x.1.as_array().unwrap().len()).collect();
    assert_eq!(sizes, vec![256, 44]);
    assert_eq!(
        b[0].1[0]["labels"]["alertname"], "A100",
        "oldest were dropped"
    );
}

#[tokio::test]
async fn failed_deliveries_are_counted() {
    let (addr, _bodies) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let mut cfg = config(&addr);
    cfg.webhooks
        .push(WebhookConfig::new("http://127.0.0.1:1/unreachable"));
    let n = Notifier::new(
        &cfg,
        NotifierOptions::default(),
        Arc::new(ManualClock::new(0)),
    );
    n.send(vec![alert(1)]);
    n.flush().await;
    for c in n.counters() {
        assert_eq!(
            c.errors.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "{}",
            c.url
        );
    }
    assert_eq!(n.dropped(), 1, "no destination took the alert");
}

#[tokio::test]
async fn run_delivers_in_the_background_and_stops_on_shutdown() {
    let (addr, bodies) = receiver(StatusCode::OK).await;
    let mut cfg = config(&addr);
    cfg.alertmanagers.clear();
    let n = Notifier::new(
        &cfg,
        NotifierOptions::default(),
        Arc::new(ManualClock::new(0)),
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let runner = n.clone();
    let task = tokio::spawn(async move {
        runner
            .run(async move {
                let _ = rx.await;
            })
            .await
    });
    n.send(vec![alert(1)]);
    for _ in 0..100 {
        if !bodies.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(bodies.lock().unwrap().len(), 1);
    assert_eq!(
        bodies.lock().unwrap()[0].1["alerts"][0]["labels"]["alertname"],
        "A1"
    );
    tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

fn firing(i: usize) -> NotifyAlert {
    NotifyAlert {
        ends_at_ms: Some(10 * MIN),
        ..alert(i)
    }
}

#[tokio::test]
async fn webhook_without_send_resolved_gets_only_firing_alerts() {
    let (addr, bodies) = receiver(StatusCode::OK).await;
    let mut cfg = config(&addr);
    cfg.alertmanagers.clear();
    cfg.webhooks[0].send_resolved = false;
    let n = Notifier::new(
        &cfg,
        NotifierOptions::default(),
        Arc::new(ManualClock::new(MIN)),
    );
    // alert(1) ended at 1 ms: resolved; firing(2) is still active.
    n.send(vec![alert(1), firing(2)]);
    n.flush().await;
    n.send(vec![alert(3)]);
    n.flush().await;
    let b = bodies.lock().unwrap();
    assert_eq!(
        b.len(),
        1,
        "a batch of resolved alerts only is not sent: {b:?}"
    );
    let alerts = b[0].1["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["labels"]["alertname"], "A2");
    assert_eq!(b[0].1["status"], "firing");
}

#[tokio::test]
async fn apply_config_replaces_destinations_and_keeps_counters() {
    let (addr, bodies) = receiver(StatusCode::OK).await;
    let only_hook = AlertingConfig {
        alertmanagers: vec![],
        webhooks: vec![WebhookConfig::new(format!("http://{addr}/hook"))],
    };
    let n = Notifier::new(
        &AlertingConfig::default(),
        NotifierOptions::default(),
        Arc::new(ManualClock::new(0)),
    );
    assert!(n.counters().is_empty());
    n.send(vec![firing(1)]);
    assert_eq!(n.queue_len(), 0, "nothing is queued without destinations");

    n.apply_config(&only_hook);
    n.set_external_labels([("env".to_string(), "prod".to_string())].into());
    n.send(vec![firing(2)]);
    n.flush().await;
    {
        let b = bodies.lock().unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].0, "hook");
        assert_eq!(b[0].1["alerts"][0]["labels"]["env"], "prod");
    }
    // Adding an Alertmanager keeps the webhook's counters.
    n.apply_config(&config(&addr));
    let c = n.counters();
    assert_eq!(c.len(), 2);
    let hook = c.iter().find(|c| c.url.ends_with("/hook")).unwrap();
    assert_eq!(hook.sent.load(std::sync::atomic::Ordering::Relaxed), 1);
    n.send(vec![firing(3)]);
    n.flush().await;
    assert_eq!(bodies.lock().unwrap().len(), 3);
    // Removing everything stops delivery.
    n.apply_config(&AlertingConfig::default());
    assert!(n.counters().is_empty());
    n.send(vec![firing(4)]);
    n.flush().await;
    assert_eq!(bodies.lock().unwrap().len(), 3);
}
