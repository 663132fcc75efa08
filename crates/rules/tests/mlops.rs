//! The ML drift rule pack against the real PromQL engine with synthetic data
//! in `MemStorage`: the confidence alert goes pending → firing and reaches a
//! webhook; PSI is ~0 for identical distributions and large for shifted ones.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use common::samples;
use promlite_model::{labels, Labels, ManualClock, MemStorage};
use promlite_promql::{Engine, EngineOptions};
use promlite_rules::{
    load_rule_files, AlertingConfig, EngineQuery, ManagerOptions, Notifier, NotifierOptions,
    RuleManager, WebhookConfig,
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const PACK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/rules/mlops.yml"
);

fn manager(
    db: &Arc<MemStorage>,
    clock: Arc<ManualClock>,
    notifier: Option<Notifier>,
) -> Arc<RuleManager> {
    let q = Arc::new(EngineQuery::new(
        Engine::new(EngineOptions::default()),
        db.clone(),
    ));
    let mut opts = ManagerOptions::new(q, db.clone(), clock);
    opts.notifier = notifier;
    let mgr = RuleManager::new(opts);
    mgr.update(load_rule_files(&[PACK.to_string()]).unwrap());
    mgr
}

fn assert_healthy(mgr: &RuleManager, group: &str) {
    for g in mgr.groups().iter().filter(|g| g.name == group) {
        let json = serde_json::to_value(g).unwrap();
        for r in json["rules"].as_array().unwrap() {
            assert_eq!(r["health"], "ok", "{r}");
        }
    }
}

#[tokio::test]
async fn confidence_alert_fires_and_reaches_the_webhook() {
    let bodies: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    async fn hook(State(b): State<Arc<Mutex<Vec<serde_json::Value>>>>, body: String) {
        b.lock()
            .unwrap()
            .push(serde_json::from_str(&body).unwrap_or_default());
    }
    let app = Router::new()
        .route("/retrain", post(hook))
        .with_state(bodies.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let db = Arc::new(MemStorage::new());
    // Confidence 0.92 for 30 minutes, then 0.55.
    let series =
        labels!("__name__" => "prediction_confidence", "job" => "demo", "model_version" => "v2");
    let pts: Vec<(i64, f64)> = (0..=60)
        .map(|m| (m * MIN, if m < 30 { 0.92 } else { 0.55 }))
        .collect();
    db.insert(series, &pts);

    let clock = Arc::new(ManualClock::new(0));
    let cfg = AlertingConfig {
        alertmanagers: vec![],
        webhooks: vec![WebhookConfig::new(format!("http://{addr}/retrain"))],
    };
    let notifier = Notifier::new(&cfg, NotifierOptions::default(), clock.clone());
    let mgr = manager(&db, clock.clone(), Some(notifier.clone()));

    let mut first_pending = None;
    let mut first_firing = None;
    for m in 25..=50 {
        clock.set(m * MIN);
        mgr.evaluate_group_at("mlops-confidence", m * MIN);
        notifier.flush().await;
        for a in mgr.alerts() {
            if a.labels.get("alertname").map(String::as_str) != Some("ModelConfidenceBelowBaseline")
            {
                continue;
            }
            if a.state == "pending" && first_pending.is_none() {
                first_pending = Some(m);
            }
            if a.state == "firing" && first_firing.is_none() {
                first_firing = Some(m);
            }
        }
    }
    assert_healthy(&mgr, "mlops-confidence");
    let p = first_pending.expect("alert never pending");
    let f = first_firing.expect("alert never fired");
    // The 5m average drops below 0.7 a few minutes after the switch at 30m;
    // firing follows 10 minutes (`for: 10m`) later.
    assert!((31..=35).contains(&p), "pending at {p}m");
    assert_eq!(f, p + 10);
    let avg = samples(&db, "model:prediction_confidence:avg5m");
    assert!(
        avg.iter().any(|s| (s.2 - 0.92).abs() < 1e-9)
            && avg.iter().any(|s| (s.2 - 0.55).abs() < 1e-9)
    );

    let b = bodies.lock().unwrap();
    let firing = b
        .iter()
        .find(|x| x["status"] == "firing")
        .expect("webhook got no firing alert");
    let a = &firing["alerts"][0];
    assert_eq!(a["labels"]["alertname"], "ModelConfidenceBelowBaseline");
    assert_eq!(a["labels"]["action"], "retrain");
    assert_eq!(a["labels"]["model_version"], "v2");
    assert_eq!(
        a["annotations"]["summary"],
        "Average confidence of model v2 is 55%"
    );
}

const LES: [&str; 11] = [
    "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0", "+Inf",
];
const HEALTHY: [f64; 11] = [1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 10.0, 20.0, 30.0, 24.0, 0.0];
const DRIFTED: [f64; 11] = [20.0, 20.0, 15.0, 10.0, 10.0, 10.0, 5.0, 5.0, 3.0, 2.0, 0.0];

/// Writes cumulative bucket counters every 5 minutes for 26 hours; each step
/// adds `before` per bucket until 25h and `after` from then on.
fn write_histogram(db: &MemStorage, before: &[f64; 11], after: &[f64; 11]) {
    let step = 5 * MIN;
    let mut noncum = [0.0f64; 11];
    let mut points: Vec<Vec<(i64, f64)>> = vec![Vec::new(); 11];
    let mut t = 0;
    while t <= 26 * HOUR {
        let add = if t <= 25 * HOUR { before } else { after };
        let mut cum = 0.0;
        for i in 0..11 {
            noncum[i] += add[i];
            cum += noncum[i];
            points[i].push((t, cum));
        }
        t += step;
    }
    for (i, le) in LES.iter().enumerate() {
        let ls = Labels::from_pairs([
            ("__name__", "prediction_confidence_score_bucket"),
            ("job", "demo"),
            ("instance", "m:8080"),
            ("le", le),
        ]);
        db.insert(ls, &points[i]);
    }
}

fn psi_after(before: &[f64; 11], after: &[f64; 11]) -> f64 {
    let db = Arc::new(MemStorage::new());
    write_histogram(&db, before, after);
    let mgr = manager(&db, Arc::new(ManualClock::new(26 * HOUR)), None);
    mgr.evaluate_group_at("mlops-drift", 26 * HOUR);
    assert_healthy(&mgr, "mlops-drift");
    let shares = samples(&db, "model:confidence_bucket:share1h");
    assert_eq!(shares.len(), 11, "one share per bucket: {shares:?}");
    let psi = samples(&db, "model:confidence_psi:1h_vs_1d");
    assert_eq!(psi.len(), 1, "{psi:?}");
    assert_eq!(
        psi[0].0,
        labels!("__name__" => "model:confidence_psi:1h_vs_1d", "job" => "demo")
    );
    psi[0].2
}

#[test]
fn psi_is_zero_for_identical_distributions() {
    let psi = psi_after(&HEALTHY, &HEALTHY);
    assert!(psi.abs() < 1e-9, "psi = {psi}");
}

#[test]
fn psi_is_large_for_a_shifted_distribution() {
    let psi = psi_after(&HEALTHY, &DRIFTED);
    // Computed by hand from the two distributions: well above the 0.2 threshold.
    let total = |d: &[f64; 11]| d.iter().sum::<f64>();
    let expected: f64 = (0..11)
        .map(|i| {
            let p = (DRIFTED[i] / total(&DRIFTED)).max(1e-4);
            let q = (HEALTHY[i] / total(&HEALTHY)).max(1e-4);
            (p - q) * (p / q).ln()
        })
        .sum();
    assert!(expected > 1.0);
    assert!(
        (psi - expected).abs() < 1e-6,
        "psi = {psi}, expected {expected}"
    );
}
