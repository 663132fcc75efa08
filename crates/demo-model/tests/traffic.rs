//! The traffic generator: its stats match the counters, it is deterministic per seed, and
//! `bad_cardinality` explodes the series count.

mod common;

use std::time::Duration;

use common::{parse_exposition, select, serve, sum};
use promlite_demo_model::{DemoModel, DemoOptions, Endpoint};

async fn run(model: &DemoModel, rps: f64, secs: u64) {
    let traffic = model.spawn_traffic(rps);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    traffic.stop().await;
}

#[tokio::test(start_paused = true)]
async fn stats_match_the_request_counter() {
    let model = DemoModel::new(DemoOptions::default());
    run(&model, 20.0, 60).await;
    let stats = model.stats();
    // 20 rps for 60 s (the first tick fires at once).
    assert!(
        (1195..=1202).contains(&stats.total()),
        "sent {}",
        stats.total()
    );
    let predicts = stats.endpoint_total(Endpoint::Predict) as f64 / stats.total() as f64;
    assert!((0.65..0.75).contains(&predicts), "predict share {predicts}");
    let errors = stats.count(Endpoint::Predict, 500) + stats.count(Endpoint::Generate, 500);
    assert!(errors > 0 && errors < stats.total() / 20, "{errors} errors");

    let s = parse_exposition(&model.metrics_text());
    let mut seen = 0;
    for (endpoint, status, n) in stats.iter() {
        let got = sum(
            &s,
            "model_requests_total",
            &[
                ("endpoint", endpoint.as_str()),
                ("status", &status.to_string()),
            ],
        );
        assert_eq!(got, n as f64, "{endpoint:?} {status}");
        seen += n;
    }
    assert_eq!(
        sum(&s, "model_requests_total", &[]),
        seen as f64,
        "no series outside the stats"
    );
    // Every successful predict made exactly one class prediction.
    assert_eq!(
        sum(&s, "predicted_class_total", &[]),
        stats.count(Endpoint::Predict, 200) as f64
    );
    assert_eq!(
        sum(&s, "generated_tokens_count", &[]),
        stats.count(Endpoint::Generate, 200) as f64
    );
}

#[tokio::test(start_paused = true)]
async fn stats_are_served_over_http() {
    let model = DemoModel::new(DemoOptions::default());
    let url = serve(&model).await;
    run(&model, 10.0, 5).await;
    let v: serde_json::Value = reqwest::get(format!("{url}/admin/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = v["requests"].as_array().unwrap();
    let total: u64 = rows.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, model.stats().total());
    assert!(rows
        .iter()
        .any(|r| r["endpoint"] == "predict" && r["status"] == 200));
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_run_different_seed_different_run() {
    let mut texts = Vec::new();
    for seed in [5, 5, 6] {
        let model = DemoModel::new(DemoOptions {
            seed,
            ..DemoOptions::default()
        });
        run(&model, 20.0, 10).await;
        // prometheus-client keeps a family's series in a hash map, so only the order of
        // lines may differ between runs: compare them sorted.
        let mut lines: Vec<String> = model.metrics_text().lines().map(str::to_string).collect();
        lines.sort();
        texts.push(lines);
    }
    assert_eq!(texts[0], texts[1]);
    assert_ne!(texts[0], texts[2]);
}

#[tokio::test(start_paused = true)]
async fn zero_rate_sends_nothing_and_stops() {
    let model = DemoModel::new(DemoOptions::default());
    run(&model, 0.0, 5).await;
    run(&model, f64::NAN, 1).await;
    assert_eq!(model.stats().total(), 0);
}

#[tokio::test(start_paused = true)]
async fn bad_cardinality_creates_many_series() {
    let model = DemoModel::new(DemoOptions {
        bad_cardinality: true,
        ..DemoOptions::default()
    });
    run(&model, 50.0, 60).await;
    let s = parse_exposition(&model.metrics_text());
    let series = select(&s, "model_requests_total", &[]);
    assert!(series.len() > 1500, "only {} series", series.len());
    assert!(series.iter().all(|r| r
        .labels
        .get("user_id")
        .is_some_and(|u| u.starts_with("user-"))));
    // The totals still match what was sent.
    assert_eq!(
        sum(&s, "model_requests_total", &[]),
        model.stats().total() as f64
    );
    // Other families stay broad.
    assert!(select(&s, "inference_latency_seconds_count", &[]).len() <= 2);

    let tame = DemoModel::new(DemoOptions::default());
    run(&tame, 50.0, 60).await;
    let s = parse_exposition(&tame.metrics_text());
    let series = select(&s, "model_requests_total", &[]);
    assert!(
        series.len() <= 6,
        "{} series without bad_cardinality",
        series.len()
    );
    assert!(series.iter().all(|r| !r.labels.contains_key("user_id")));
}
