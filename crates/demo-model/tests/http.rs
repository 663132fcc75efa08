//! The HTTP surface: endpoints answer as documented and `/metrics` carries every family.

mod common;

use common::{parse_exposition, select, start, sum};
use promlite_demo_model::{DemoOptions, CLASSES, CONFIDENCE_BUCKETS, OPENMETRICS_CONTENT_TYPE};
use serde_json::{json, Value};

fn no_errors() -> DemoOptions {
    DemoOptions {
        error_rate: 0.0,
        ..DemoOptions::default()
    }
}

#[tokio::test(start_paused = true)]
async fn predict_and_generate_answer_json() {
    let (_model, url) = start(no_errors()).await;
    let client = reqwest::Client::new();

    let resp = client
        .post(format!("{url}/predict"))
        .json(&json!({"features": [0.1, 2.0, 3.5]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let label = body["label"].as_str().unwrap();
    assert!(CLASSES.contains(&label), "{body}");
    let confidence = body["confidence"].as_f64().unwrap();
    assert!(confidence > 0.2 && confidence < 1.0, "{body}");
    assert_eq!(body["model_version"], "v2.1");

    let resp = client
        .post(format!("{url}/generate"))
        .json(&json!({"prompt": "hi", "max_tokens": 12}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let tokens = body["tokens"].as_u64().unwrap();
    assert!((1..=12).contains(&tokens), "{body}");
    assert_eq!(
        body["text"].as_str().unwrap().split(' ').count() as u64,
        tokens
    );
    assert!(body["time_per_output_token_seconds"].as_f64().unwrap() > 0.0);
    assert!(["stop", "length"].contains(&body["finish_reason"].as_str().unwrap()));
}

#[tokio::test(start_paused = true)]
async fn bad_requests_get_400_and_are_counted() {
    let (_model, url) = start(no_errors()).await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{url}/predict"))
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("invalid JSON"),
        "{body}"
    );
    let resp = client
        .post(format!("{url}/generate"))
        .json(&json!({"max_tokens": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = parse_exposition(&text);
    assert_eq!(
        sum(
            &samples,
            "model_requests_total",
            &[("endpoint", "predict"), ("status", "400")]
        ),
        1.0
    );
    assert_eq!(
        sum(
            &samples,
            "model_requests_total",
            &[("endpoint", "generate"), ("status", "400")]
        ),
        1.0
    );
    // No inference happened, so nothing was observed.
    assert!(select(&samples, "inference_latency_seconds_count", &[]).is_empty());
}

#[tokio::test(start_paused = true)]
async fn metrics_expose_every_family_with_sane_values() {
    let (_model, url) = start(no_errors()).await;
    let client = reqwest::Client::new();
    for i in 0..20 {
        let r = client
            .post(format!("{url}/predict"))
            .json(&json!({"features": [i]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    for _ in 0..5 {
        let r = client
            .post(format!("{url}/generate"))
            .json(&json!({"max_tokens": 40}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let resp = client.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], OPENMETRICS_CONTENT_TYPE);
    let text = resp.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"));
    for (family, kind) in [
        ("model_requests", "counter"),
        ("prediction_confidence", "gauge"),
        ("prediction_confidence_score", "histogram"),
        ("inference_latency_seconds", "histogram"),
        ("generated_tokens", "histogram"),
        ("time_per_output_token_seconds", "histogram"),
        ("predicted_class", "counter"),
        ("model_info", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} {kind}\n")),
            "missing {family} {kind} in\n{text}"
        );
    }
    let s = parse_exposition(&text);

    let v = [("model_version", "v2.1")];
    assert_eq!(
        sum(
            &s,
            "model_requests_total",
            &[("endpoint", "predict"), ("status", "200")]
        ),
        20.0
    );
    assert_eq!(
        sum(
            &s,
            "model_requests_total",
            &[("endpoint", "generate"), ("status", "200")]
        ),
        5.0
    );
    for r in select(&s, "model_requests_total", &[]) {
        let keys: Vec<&str> = r.labels.keys().map(String::as_str).collect();
        assert_eq!(keys, ["endpoint", "model_version", "status"]);
    }

    let conf = select(&s, "prediction_confidence", &v);
    assert_eq!(conf.len(), 1);
    assert!(conf[0].value > 0.2 && conf[0].value < 1.0);

    // Confidence histogram: exactly the buckets 0.1 … 1.0 and +Inf, cumulative, count 20.
    let buckets = select(&s, "prediction_confidence_score_bucket", &[]);
    let les: Vec<f64> = buckets
        .iter()
        .map(|b| b.labels["le"].parse::<f64>().unwrap())
        .collect();
    let mut want: Vec<f64> = CONFIDENCE_BUCKETS.to_vec();
    want.push(f64::INFINITY);
    assert_eq!(les, want);
    assert!(
        buckets.windows(2).all(|w| w[0].value <= w[1].value),
        "not cumulative"
    );
    assert_eq!(buckets.last().unwrap().value, 20.0);
    assert_eq!(sum(&s, "prediction_confidence_score_count", &[]), 20.0);
    let mean = sum(&s, "prediction_confidence_score_sum", &[]) / 20.0;
    assert!((0.8..0.97).contains(&mean), "mean confidence {mean}");
    // A healthy model is rarely below 0.7.
    let low = select(&s, "prediction_confidence_score_bucket", &[("le", "0.7")])[0].value;
    assert!(low <= 2.0, "{low} predictions under 0.7");

    for endpoint in ["predict", "generate"] {
        let l = [("model_version", "v2.1"), ("endpoint", endpoint)];
        let n = sum(&s, "inference_latency_seconds_count", &l);
        let total = sum(&s, "inference_latency_seconds_sum", &l);
        assert!(n > 0.0, "{endpoint}");
        let mean = total / n;
        assert!(
            (0.002..1.0).contains(&mean),
            "{endpoint} mean latency {mean}"
        );
        assert_eq!(
            select(&s, "inference_latency_seconds_bucket", &l)
                .last()
                .unwrap()
                .value,
            n
        );
    }

    assert_eq!(sum(&s, "generated_tokens_count", &[]), 5.0);
    let mean_tokens = sum(&s, "generated_tokens_sum", &[]) / 5.0;
    assert!((10.0..=40.0).contains(&mean_tokens), "{mean_tokens}");
    assert_eq!(sum(&s, "time_per_output_token_seconds_count", &[]), 5.0);
    let tpot = sum(&s, "time_per_output_token_seconds_sum", &[]) / 5.0;
    assert!((0.001..0.01).contains(&tpot), "{tpot}");

    assert_eq!(sum(&s, "predicted_class_total", &v), 20.0);
    for c in select(&s, "predicted_class_total", &[]) {
        assert!(CLASSES.contains(&c.labels["class"].as_str()));
    }
    let info = select(&s, "model_info", &[]);
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].labels["model_version"], "v2.1");
    assert_eq!(info[0].value, 1.0);
}

#[tokio::test(start_paused = true)]
async fn errors_are_counted_as_500() {
    let (_model, url) = start(DemoOptions {
        error_rate: 1.0,
        ..DemoOptions::default()
    })
    .await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let r = client
            .post(format!("{url}/predict"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500);
    }
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let s = parse_exposition(&text);
    assert_eq!(sum(&s, "model_requests_total", &[("status", "500")]), 3.0);
    assert_eq!(sum(&s, "model_requests_total", &[("status", "200")]), 0.0);
    assert!(select(&s, "predicted_class_total", &[]).is_empty());
}

#[tokio::test(start_paused = true)]
async fn status_health_and_admin_routes() {
    let (_model, url) = start(no_errors()).await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok\n"
    );
    let st: Value = client
        .get(format!("{url}/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["model_version"], "v2.1");
    assert_eq!(st["drifting"], false);

    let r = client
        .post(format!("{url}/admin/drift"))
        .body("[1]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .post(format!("{url}/admin/drift"))
        .json(&json!({"enabled": "yes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let d: Value = client
        .post(format!("{url}/admin/drift"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["drifting"], true);
    let d: Value = client
        .post(format!("{url}/admin/drift"))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d["drifting"], false);
    assert_eq!(
        client
            .get(format!("{url}/predict"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    let stats: Value = client
        .get(format!("{url}/admin/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], json!([]));
}
