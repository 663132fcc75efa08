//! Properties over generated queries: evaluation never panics, and a range
//! query's points equal instant queries at the same times.

use proptest::prelude::*;

use promlite_model::{labels, MemStorage, STALE_NAN};
use promlite_promql::promqltest::float_eq;
use promlite_promql::{Engine, QueryOptions, Value};

fn storage() -> MemStorage {
    let st = MemStorage::new();
    for (i, job) in ["a", "b"].iter().enumerate() {
        for inst in 0..3 {
            let pts: Vec<(i64, f64)> = (0..40)
                .filter(|j| (j + inst) % 7 != 0)
                .map(|j| {
                    let v = if j == 33 && inst == 1 {
                        STALE_NAN
                    } else {
                        ((j * (inst + 1) + i) % 11) as f64 - 2.0
                    };
                    (j as i64 * 15_000, v)
                })
                .collect();
            st.insert(
                labels!("__name__" => "m", "job" => job, "instance" => &inst.to_string()),
                &pts,
            );
            let c: Vec<(i64, f64)> = (0..40)
                .map(|j| (j as i64 * 15_000, (j * (inst + 2)) as f64))
                .collect();
            st.insert(
                labels!("__name__" => "c", "job" => job, "instance" => &inst.to_string()),
                &c,
            );
        }
    }
    st
}

fn vector_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("m".to_string()),
        Just("c".to_string()),
        Just("m{job=\"a\"}".to_string()),
        Just("m offset 1m".to_string()),
        Just("rate(c[1m])".to_string()),
        Just("increase(c[2m])".to_string()),
        Just("delta(m[2m])".to_string()),
        Just("avg_over_time(m[1m])".to_string()),
        Just("max_over_time(m[90s])".to_string()),
        Just("changes(m[3m])".to_string()),
        Just("deriv(m[2m])".to_string()),
        Just("sum_over_time(m[1m:15s])".to_string()),
        Just("vector(1)".to_string()),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("sum by (job) ({e})")),
            inner
                .clone()
                .prop_map(|e| format!("avg without (instance) ({e})")),
            inner.clone().prop_map(|e| format!("max({e})")),
            inner.clone().prop_map(|e| format!("count({e})")),
            inner.clone().prop_map(|e| format!("stddev by (job) ({e})")),
            inner.clone().prop_map(|e| format!("quantile(0.3, {e})")),
            inner.clone().prop_map(|e| format!("abs({e})")),
            inner.clone().prop_map(|e| format!("clamp({e}, -1, 3)")),
            inner.clone().prop_map(|e| format!("({e}) * 2")),
            inner.clone().prop_map(|e| format!("({e}) > 1")),
            inner.clone().prop_map(|e| format!("({e}) > bool 1")),
            inner.clone().prop_map(|e| format!("-({e})")),
            inner
                .clone()
                .prop_map(|e| format!("max_over_time(({e})[1m:30s])")),
            inner
                .clone()
                .prop_map(|e| format!("label_replace({e}, \"x\", \"$1\", \"job\", \"(.*)\")")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("({a}) + on(job, instance) ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!(
                "({a}) / ignoring(instance) group_left sum by (job) ({b})"
            )),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) unless on(job) ({b})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn range_points_equal_instant_results(q in vector_expr(), t_step in 4i64..36) {
        let st = storage();
        let e = Engine::default();
        let opts = QueryOptions::default();
        let t = t_step * 15_000;
        let inst = e.instant_query(&st, &q, t, &opts);
        let range = e.range_query(&st, &q, t - 30_000, t + 30_000, 15_000, &opts);
        match (inst, range) {
            (Ok(i), Ok(r)) => {
                let Value::Vector(iv) = i.value else { panic!("instant {q} gave no vector") };
                let Value::Matrix(m) = r.value else { panic!("range {q} gave no matrix") };
                let at_t: Vec<_> = m.iter().filter_map(|s| s.floats.iter().find(|p| p.t == t).map(|p| (s.metric.clone(), p.f))).collect();
                prop_assert_eq!(iv.len(), at_t.len(), "{}", q);
                for s in &iv {
                    let found = at_t.iter().find(|(l, _)| l == &s.metric);
                    prop_assert!(found.is_some_and(|(_, f)| float_eq(*f, s.f)), "{} {:?}", q, s);
                }
            }
            // Errors (e.g. duplicate label sets) must not depend on the mode
            // at this step; the range query may also fail at another step.
            (Err(_), Err(_)) | (Ok(_), Err(_)) => {}
            (Err(ie), Ok(_)) => prop_assert!(false, "{} failed only as instant query: {}", q, ie),
        }
    }
}
