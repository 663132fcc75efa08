//! A rough speed check on Prometheus's range-query benchmark shapes
//! (`#[ignore]`d: run with `cargo test -p promlite-promql --test eval_perf -- --ignored --nocapture`).

use std::time::Instant;

use promlite_model::{labels, MemStorage};
use promlite_promql::{Engine, QueryOptions, Value};

#[test]
#[ignore]
fn range_query_shapes() {
    let st = MemStorage::new();
    let n_series = 100;
    let n_samples = 8640; // one day at 10 s
    for i in 0..n_series {
        let pts: Vec<(i64, f64)> = (0..n_samples)
            .map(|j| (j as i64 * 10_000, (j * (i + 1)) as f64))
            .collect();
        st.insert(
            labels!("__name__" => "a", "l" => &i.to_string(), "g" => &(i % 10).to_string()),
            &pts,
        );
    }
    let e = Engine::default();
    let end = (n_samples as i64 - 1) * 10_000;
    for q in [
        "a",
        "rate(a[1m])",
        "sum(rate(a[1m]))",
        "sum by (g) (rate(a[5m]))",
        "a + a",
        "avg_over_time(a[10m])",
        "topk(5, a)",
    ] {
        let t = Instant::now();
        let r = e
            .range_query(&st, q, 0, end, 60_000, &QueryOptions::default())
            .unwrap();
        let n = match &r.value {
            Value::Matrix(m) => m.iter().map(|s| s.floats.len()).sum::<usize>(),
            _ => 0,
        };
        println!(
            "{q:32} {:>8.1} ms  {n} points",
            t.elapsed().as_secs_f64() * 1000.0
        );
        assert!(n > 0);
    }
}
