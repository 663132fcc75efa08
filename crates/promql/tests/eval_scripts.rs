//! Scenario tests written in the test-script language, run through the
//! engine (cases the conformance files do not pin down, or pin down only
//! together with native histograms).

use promlite_promql::promqltest::{conformance_engine, run_script};

fn assert_script(script: &str) {
    let results = run_script(script, &conformance_engine());
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("line {}: {e}", r.line)))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(!results.is_empty());
}

#[test]
fn comparison_bool_over_range_with_gaps_and_stale() {
    assert_script(
        r#"
load 6m
  left_floats  1 2 _ _ 3 stale 4  5  NaN Inf -Inf
  right_floats 4 _ _ 5 3 7     -1 20 NaN Inf -Inf

eval range from 0 to 60m step 6m left_floats == bool right_floats
  {} 0 _ _ _ 1 _ 0 0 0 1 1

eval range from 0 to 60m step 6m left_floats == right_floats
  left_floats _ _ _ _ 3 _ _ _ _ Inf -Inf
"#,
    );
}
