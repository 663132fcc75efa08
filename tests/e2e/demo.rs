//! `promlite demo`: the demo model in-process, scraped every second.

use std::time::{Duration, Instant};

use crate::harness::*;

fn generator_total(model: &str) -> f64 {
    let v: serde_json::Value =
        serde_json::from_str(&http(model, "GET", "/admin/stats", "").expect("stats").1)
            .expect("json");
    v["requests"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["count"].as_f64()).sum())
        .unwrap_or(0.0)
}

fn mean_confidence(addr: &str) -> Option<f64> {
    scalar_of(&query(
        addr,
        "sum(rate(prediction_confidence_score_sum[3s])) / sum(rate(prediction_confidence_score_count[3s]))",
        None,
    ))
}

#[test]
fn demo_counts_latency_and_drift() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = format!("127.0.0.1:{}", free_port());
    let model = format!("127.0.0.1:{}", free_port());
    let data = dir.path().join("data-demo");
    let log = dir.path().join("demo.log");
    let args = [
        "demo",
        "--web.listen-address",
        &addr,
        "--model.listen-address",
        &model,
        "--storage.tsdb.path",
        data.to_str().expect("utf8"),
        "--scrape-interval",
        "1s",
        "--rps",
        "50",
        "--drift-ramp",
        "0s",
    ];
    let mut p = Promlite::start(&args, addr.clone(), &log);
    p.wait_ready(&log);
    let up = poll(Duration::from_secs(15), || {
        query(&addr, "up", None)
            .iter()
            .filter(|s| s["value"][1] == "1")
            .count()
            == 2
    });
    assert!(
        up,
        "demo-model and promlite targets not both up: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // The generator's count over a window vs increase() over the same window.
    let t0 = Instant::now();
    let c0 = generator_total(&model);
    std::thread::sleep(Duration::from_secs(8));
    let c1 = generator_total(&model);
    let window = t0.elapsed().as_secs_f64().round() as u64;
    // Let the last scrape of the window land.
    std::thread::sleep(Duration::from_millis(1200));
    let inc = scalar_of(&query(
        &addr,
        &format!("sum(increase(model_requests_total[{window}s] offset 1s))"),
        None,
    ))
    .expect("increase");
    let sent = c1 - c0;
    assert!(sent > 100.0, "traffic too low: {sent}");
    assert!(
        (inc - sent).abs() / sent < 0.3,
        "increase {inc} vs generator {sent}"
    );

    // p99 latency lies within the histogram's configured range.
    let p99 = scalar_of(&query(
        &addr,
        "histogram_quantile(0.99, sum by (le) (rate(inference_latency_seconds_bucket[5s])))",
        None,
    ))
    .expect("p99");
    assert!(p99 > 0.0 && p99 <= 5.0, "p99 {p99}");

    // Drift lowers confidence.
    let before = mean_confidence(&addr).expect("confidence before");
    let (code, body) = http(&model, "POST", "/admin/drift", "").expect("drift");
    assert_eq!(code, 200, "{body}");
    std::thread::sleep(Duration::from_secs(5));
    let after = mean_confidence(&addr).expect("confidence after");
    assert!(
        after < before,
        "confidence did not fall: {before} -> {after}"
    );

    let status = p.signal_and_wait(libc::SIGINT);
    assert!(
        status.success(),
        "exit {status}: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}
