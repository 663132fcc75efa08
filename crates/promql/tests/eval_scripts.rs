//! Scenario tests written in the test-script language, run through the
//! engine (cases the conformance files do not pin down, or pin down only
//! together with native histograms).

mod common;
use common::assert_script;

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
