//! Selectors, lookback, staleness, offset, `@` and subqueries.

mod common;
use common::assert_script;

#[test]
fn lookback_and_staleness() {
    assert_script(
        r#"
load 1m
  m 1 _ _ _ _ _ _ 2 stale

eval instant at 4m m
  m 1

eval instant at 5m m

eval instant at 7m m
  m 2

eval instant at 8m m

eval range from 0 to 8m step 2m m
  m 1 1 1 _ _

eval instant at 8m count_over_time(m[2m])
  {} 1
"#,
    );
}

#[test]
fn offset_and_at() {
    assert_script(
        r#"
load 1m
  m 0+1x10

eval instant at 5m m offset 2m
  m 3

eval instant at 5m m offset -2m
  m 7

eval instant at 5m m @ 60
  m 1

eval range from 0 to 2m step 1m m @ 300
  m 5 5 5

eval range from 1m to 3m step 1m m @ start()
  m 1 1 1

eval range from 1m to 3m step 1m m @ end()
  m 3 3 3

eval instant at 10m sum_over_time(m[3m] @ 180)
  {} 6

eval instant at 5m m[2m]
  expect range vector from 4m to 5m step 1m
  m 4 5
"#,
    );
}

#[test]
fn subqueries() {
    assert_script(
        r#"
load 1m
  m 0+1x20

eval instant at 10m sum_over_time(m[5m:1m])
  {} 40

# Steps at absolute multiples of 2m inside (5m, 10m]: 6m, 8m, 10m.
eval instant at 10m count_over_time(m[5m:2m])
  {} 3

eval instant at 10m max_over_time(rate(m[2m])[5m:])
  {} 0.016666666666666666

eval instant at 10m m[3m:1m]
  expect range vector from 8m to 10m step 1m
  m 8 9 10

eval instant at 10m count_over_time(m[5m:1m] offset 2m)
  {} 5

eval instant at 10m last_over_time(m[5m:1m] @ 300)
  m 5
"#,
    );
}
