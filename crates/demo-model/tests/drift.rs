//! Drift lowers confidence and raises latency; retraining bumps the version and heals it.

mod common;

use std::time::Duration;

use common::{parse_exposition, select, start, sum};
use promlite_demo_model::{DemoModel, DemoOptions};
use serde_json::Value;

/// Mean confidence and mean predict latency over `n` in-process predictions (by metric deltas).
async fn run_predictions(model: &DemoModel, n: usize) -> (f64, f64) {
    let before = parse_exposition(&model.metrics_text());
    let mut conf = 0.0;
    for i in 0..n {
        let body = format!(r#"{{"features": [{i}]}}"#);
        let reply = model.predict(body.as_bytes()).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        conf += reply.body["confidence"].as_f64().unwrap();
    }
    let after = parse_exposition(&model.metrics_text());
    let lat = |s: &[common::Sample]| {
        (
            sum(
                s,
                "inference_latency_seconds_sum",
                &[("endpoint", "predict")],
            ),
            sum(
                s,
                "inference_latency_seconds_count",
                &[("endpoint", "predict")],
            ),
        )
    };
    let (s0, c0) = lat(&before);
    let (s1, c1) = lat(&after);
    assert_eq!(c1 - c0, n as f64);
    (conf / n as f64, (s1 - s0) / n as f64)
}

fn healthy_opts() -> DemoOptions {
    DemoOptions {
        error_rate: 0.0,
        drift_ramp: Duration::ZERO,
        ..DemoOptions::default()
    }
}

#[tokio::test(start_paused = true)]
async fn manual_drift_lowers_confidence_and_raises_latency() {
    let (model, url) = start(healthy_opts()).await;
    let (conf0, lat0) = run_predictions(&model, 200).await;
    assert!(conf0 > 0.85, "healthy confidence {conf0}");

    let client = reqwest::Client::new();
    let d: Value = client
        .post(format!("{url}/admin/drift"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["drifting"], true);
    assert_eq!(d["severity"], 1.0);

    let (conf1, lat1) = run_predictions(&model, 200).await;
    assert!(conf1 < conf0 - 0.2, "confidence {conf0} -> {conf1}");
    assert!(lat1 > 1.8 * lat0, "latency {lat0} -> {lat1}");
    // The latest-confidence gauge follows.
    let s = parse_exposition(&model.metrics_text());
    let g = select(&s, "prediction_confidence", &[("model_version", "v2.1")]);
    assert!(g[0].value < 0.85, "gauge {}", g[0].value);
}

#[tokio::test(start_paused = true)]
async fn drift_after_ramps_in_on_schedule() {
    let model = DemoModel::new(DemoOptions {
        drift_after: Some(Duration::from_secs(600)),
        drift_ramp: Duration::from_secs(60),
        ..healthy_opts()
    });
    assert_eq!(model.drift_severity(), 0.0);
    tokio::time::advance(Duration::from_secs(599)).await;
    assert_eq!(model.drift_severity(), 0.0);
    assert!(!model.drift_status().drifting);
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(
        (model.drift_severity() - 0.5).abs() < 0.02,
        "{}",
        model.drift_severity()
    );
    assert!(model.drift_status().drifting);
    tokio::time::advance(Duration::from_secs(120)).await;
    assert_eq!(model.drift_severity(), 1.0);
    let (conf, _) = run_predictions(&model, 100).await;
    assert!(conf < 0.7, "{conf}");

    // Retraining heals, and the schedule starts over from the new deployment.
    model.retrain();
    assert_eq!(model.drift_severity(), 0.0);
    let (conf, _) = run_predictions(&model, 100).await;
    assert!(conf > 0.85, "{conf}");
    tokio::time::advance(Duration::from_secs(660)).await;
    assert_eq!(model.drift_severity(), 1.0);
}

#[tokio::test(start_paused = true)]
async fn retrain_bumps_version_and_clears_drift() {
    let (model, url) = start(healthy_opts()).await;
    let client = reqwest::Client::new();
    run_predictions(&model, 5).await;
    model.set_drift(true);
    assert_eq!(model.drift_severity(), 1.0);

    let r: Value = client
        .post(format!("{url}/retrain"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["previous_version"], "v2.1");
    assert_eq!(r["model_version"], "v2.2");
    assert_eq!(model.drift_severity(), 0.0);
    let st: Value = client
        .get(format!("{url}/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["model_version"], "v2.2");
    assert_eq!(st["drifting"], false);

    let p: Value = client
        .post(format!("{url}/predict"))
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["model_version"], "v2.2");

    let r: Value = client
        .post(format!("{url}/retrain"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["model_version"], "v2.3");
    client
        .post(format!("{url}/predict"))
        .body("{}")
        .send()
        .await
        .unwrap();

    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let s = parse_exposition(&text);
    let info = select(&s, "model_info", &[]);
    assert_eq!(info.len(), 1, "only the served version has model_info");
    assert_eq!(info[0].labels["model_version"], "v2.3");
    // Counters keep every version's history; the latest-confidence gauge only the served one.
    assert_eq!(
        sum(&s, "model_requests_total", &[("model_version", "v2.1")]),
        5.0
    );
    assert_eq!(
        sum(&s, "model_requests_total", &[("model_version", "v2.2")]),
        1.0
    );
    assert_eq!(
        sum(&s, "model_requests_total", &[("model_version", "v2.3")]),
        1.0
    );
    let gauges = select(&s, "prediction_confidence", &[]);
    assert_eq!(gauges.len(), 1);
    assert_eq!(gauges[0].labels["model_version"], "v2.3");
}
