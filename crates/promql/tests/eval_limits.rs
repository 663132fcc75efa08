//! Limits: too many samples, cancellation, timeout, deep nesting, bad input.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use promlite_model::{labels, MemStorage};
use promlite_promql::{Engine, EngineOptions, QueryError, QueryOptions, Value};

fn storage(series: usize, samples: usize) -> MemStorage {
    let s = MemStorage::new();
    for i in 0..series {
        let pts: Vec<(i64, f64)> = (0..samples)
            .map(|j| (j as i64 * 15_000, j as f64))
            .collect();
        s.insert(labels!("__name__" => "m", "i" => &i.to_string()), &pts);
    }
    s
}

#[test]
fn too_many_samples_is_an_error_with_prometheus_text() {
    let st = storage(10, 100);
    let q = QueryOptions::default();
    // A 10m window holds 40 samples of one series.
    let engine = Engine::new(EngineOptions {
        max_samples: 30,
        ..Default::default()
    });
    let err = engine
        .instant_query(&st, "sum_over_time(m[10m])", 1_500_000, &q)
        .unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples(_)));
    assert_eq!(
        err.to_string(),
        "query processing would load too many samples into memory in query execution"
    );
    let engine = Engine::new(EngineOptions {
        max_samples: 60,
        ..Default::default()
    });
    assert!(engine
        .instant_query(&st, "sum_over_time(m[10m])", 1_500_000, &q)
        .is_ok());
    // A range query holds one point per series and step: 10 × 11 here.
    assert!(matches!(
        engine.range_query(&st, "m", 0, 150_000, 15_000, &q),
        Err(QueryError::TooManySamples(_))
    ));
    let engine = Engine::new(EngineOptions {
        max_samples: 110,
        ..Default::default()
    });
    assert!(engine.range_query(&st, "m", 0, 150_000, 15_000, &q).is_ok());
    // A range vector result counts its samples.
    let engine = Engine::new(EngineOptions {
        max_samples: 100,
        ..Default::default()
    });
    assert!(matches!(
        engine.instant_query(&st, "m[10m]", 1_500_000, &q),
        Err(QueryError::TooManySamples(_))
    ));
}

#[test]
fn a_set_cancel_flag_stops_the_query() {
    let st = storage(3, 10);
    let flag = Arc::new(AtomicBool::new(true));
    let q = QueryOptions {
        cancel: Some(flag),
        ..Default::default()
    };
    let err = Engine::default()
        .range_query(&st, "rate(m[1m])", 0, 150_000, 15_000, &q)
        .unwrap_err();
    assert!(matches!(err, QueryError::Canceled(_)), "{err:?}");
    assert_eq!(err.to_string(), "query was canceled in query execution");
}

#[test]
fn an_expired_deadline_times_out() {
    let st = storage(50, 200);
    let q = QueryOptions {
        timeout: Some(Duration::ZERO),
        ..Default::default()
    };
    let err = Engine::default()
        .range_query(&st, "sum(rate(m[1m]))", 0, 3_000_000, 15_000, &q)
        .unwrap_err();
    assert!(matches!(err, QueryError::Timeout(_)), "{err:?}");
}

#[test]
fn deeply_nested_queries_fail_cleanly() {
    let st = storage(1, 10);
    let deep = format!("{}m{}", "-(".repeat(2000), ")".repeat(2000));
    let r = Engine::default().instant_query(&st, &deep, 0, &QueryOptions::default());
    assert!(r.is_err());
    let ok = format!("{}m{}", "-(".repeat(20), ")".repeat(20));
    assert!(Engine::default()
        .instant_query(&st, &ok, 0, &QueryOptions::default())
        .is_ok());
}

#[test]
fn bad_range_parameters_are_bad_data() {
    let st = storage(1, 10);
    let e = Engine::default();
    let q = QueryOptions::default();
    assert!(matches!(
        e.range_query(&st, "m", 0, 100, 0, &q),
        Err(QueryError::BadData(_))
    ));
    assert!(matches!(
        e.range_query(&st, "m", 100, 0, 10, &q),
        Err(QueryError::BadData(_))
    ));
    assert!(matches!(
        e.range_query(&st, "m[5m]", 0, 100, 10, &q),
        Err(QueryError::BadData(_))
    ));
    assert!(matches!(
        e.range_query(&st, "\"x\"", 0, 100, 10, &q),
        Err(QueryError::BadData(_))
    ));
    assert!(matches!(
        e.instant_query(&st, "sum(", 0, &q),
        Err(QueryError::Parse(_))
    ));
}

#[test]
fn range_query_of_a_scalar_is_one_series() {
    let st = storage(1, 10);
    let r = Engine::default()
        .range_query(&st, "1 + 1", 0, 30_000, 15_000, &QueryOptions::default())
        .unwrap();
    match r.value {
        Value::Matrix(m) => {
            assert_eq!(m.len(), 1);
            assert!(m[0].metric.is_empty());
            assert_eq!(
                m[0].floats.iter().map(|p| (p.t, p.f)).collect::<Vec<_>>(),
                vec![(0, 2.0), (15_000, 2.0), (30_000, 2.0)]
            );
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn nesting_within_the_parser_limit_never_overflows_the_stack() {
    let st = storage(1, 10);
    for depth in [100, 250] {
        let q = format!("{}m{}", "abs(".repeat(depth), ")".repeat(depth));
        let _ = Engine::default().instant_query(&st, &q, 0, &QueryOptions::default());
        let q = format!("{}1{}", "1 + (".repeat(depth), ")".repeat(depth));
        let _ = Engine::default().instant_query(&st, &q, 0, &QueryOptions::default());
    }
    // Trees up to the engine's inline height run on the caller's stack.
    for depth in [20, 31, 40] {
        let q = format!("{}m{}", "abs(".repeat(depth), ")".repeat(depth));
        assert!(Engine::default()
            .range_query(&st, &q, 0, 60_000, 15_000, &QueryOptions::default())
            .is_ok());
    }
    // Everything the parser accepts evaluates, on a default 2 MiB thread stack.
    let q = format!("{}m{}", "abs(".repeat(240), ")".repeat(240));
    assert!(Engine::default()
        .instant_query(&st, &q, 0, &QueryOptions::default())
        .is_ok());
    let q = format!("{}1{}", "1 + (".repeat(120), ")".repeat(120));
    assert!(Engine::default()
        .range_query(&st, &q, 0, 60_000, 15_000, &QueryOptions::default())
        .is_ok());
}

#[test]
fn extreme_times_and_step_counts_do_not_panic() {
    let st = storage(2, 10);
    let e = Engine::default();
    let q = QueryOptions::default();
    // 10^12 steps: refused instead of allocated.
    let err = e
        .range_query(&st, "m", 0, 1_000_000_000_000, 1, &q)
        .unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples(_)));
    for query in [
        "m offset 100000y",
        "m offset -100000y",
        "rate(m[100000y])",
        "max_over_time(m[100000y:1y])",
        "m @ 9999999999",
        "count_over_time(m[1m:1ms])",
    ] {
        let _ = e.instant_query(&st, query, i64::MAX / 4, &q);
        let _ = e.instant_query(&st, query, i64::MIN / 4, &q);
        let _ = e.range_query(&st, query, 0, 600_000, 60_000, &q);
    }
}
