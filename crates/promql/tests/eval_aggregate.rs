//! Aggregation operators.

mod common;
use common::assert_script;

#[test]
fn sum_avg_count_min_max_group_by_and_without() {
    assert_script(
        r#"
load 1m
  m{job="a", i="1"} 1
  m{job="a", i="2"} 3
  m{job="b", i="1"} NaN
  m{job="b", i="2"} 5

eval instant at 0 sum by (job) (m)
  {job="a"} 4
  {job="b"} NaN

eval instant at 0 avg without (i) (m)
  {job="a"} 2
  {job="b"} NaN

eval instant at 0 count(m)
  {} 4

eval instant at 0 min by (job) (m)
  {job="a"} 1
  {job="b"} 5

eval instant at 0 max by (job) (m)
  {job="a"} 3
  {job="b"} 5

eval instant at 0 group by (i) (m)
  {i="1"} 1
  {i="2"} 1

eval instant at 0 stddev by (job) (m{job="a"})
  {job="a"} 1

eval instant at 0 stdvar(m{job="a"})
  {} 1
"#,
    );
}

#[test]
fn kahan_sum_and_avg_overflow() {
    assert_script(
        r#"
load 1m
  big{i="1"} 1e308
  big{i="2"} 1e308
  small{i="1"} 1e100
  small{i="2"} 1
  small{i="3"} -1e100

eval instant at 0 avg(big)
  {} 1e308

eval instant at 0 sum(big)
  {} +Inf

eval instant at 0 sum(small)
  {} 1
"#,
    );
}

#[test]
fn topk_bottomk_quantile_count_values() {
    assert_script(
        r#"
load 1m
  m{i="1"} 1
  m{i="2"} 2
  m{i="3"} 3
  m{i="4"} NaN

eval instant at 0 topk(2, m)
  expect ordered
  m{i="3"} 3
  m{i="2"} 2

eval instant at 0 bottomk(1, m)
  m{i="1"} 1

eval instant at 0 topk(5, m)
  expect ordered
  m{i="3"} 3
  m{i="2"} 2
  m{i="1"} 1
  m{i="4"} NaN

eval instant at 0 quantile(0.5, m{i!="4"})
  {} 2

eval instant at 0 quantile(2, m)
  {} +Inf

eval instant at 0 count_values("v", m{i!="4"})
  {v="1"} 1
  {v="2"} 1
  {v="3"} 1

eval instant at 0 topk(NaN, m)
  expect fail msg: Parameter value is NaN

eval instant at 0 limitk(2, m)
  m{i="1"} 1
  m{i="2"} 2

eval range from 0 to 2m step 1m topk(1, m)
  m{i="3"} 3 3 3
"#,
    );
}
