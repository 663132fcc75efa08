//! Binary operators and vector matching.

mod common;
use common::assert_script;

#[test]
fn arithmetic_and_comparisons() {
    assert_script(
        r#"
load 1m
  a{x="1"} 10
  a{x="2"} 20
  b{x="1"} 3
  b{x="2"} 4

eval instant at 0 a + b
  {x="1"} 13
  {x="2"} 24

eval instant at 0 a % b
  {x="1"} 1
  {x="2"} 0

eval instant at 0 a ^ 2
  {x="1"} 100
  {x="2"} 400

eval instant at 0 a > 15
  a{x="2"} 20

eval instant at 0 15 < a
  a{x="2"} 20

eval instant at 0 a > bool 15
  {x="1"} 0
  {x="2"} 1

eval instant at 0 a == bool b * 5
  {x="1"} 0
  {x="2"} 1

eval instant at 0 2 * 3 - 1
  5

eval instant at 0 1 > bool 2
  0

eval instant at 0 -a
  {x="1"} -10
  {x="2"} -20
"#,
    );
}

#[test]
fn set_operators() {
    assert_script(
        r#"
load 1m
  a{x="1"} 1
  a{x="2"} 2
  b{x="2"} 20
  b{x="3"} 30

eval instant at 0 a and b
  a{x="2"} 2

eval instant at 0 a or b
  a{x="1"} 1
  a{x="2"} 2
  b{x="3"} 30

eval instant at 0 a unless b
  a{x="1"} 1

eval instant at 0 a and on() b
  a{x="1"} 1
  a{x="2"} 2
"#,
    );
}

#[test]
fn group_left_and_matching_errors() {
    assert_script(
        r#"
load 1m
  req{job="a", path="/x"} 10
  req{job="a", path="/y"} 20
  info{job="a", version="v1"} 1
  dup{job="a", i="1"} 1
  dup{job="a", i="2"} 1

eval instant at 0 req * on(job) group_left(version) info
  {job="a", path="/x", version="v1"} 10
  {job="a", path="/y", version="v1"} 20

eval instant at 0 info * on(job) group_right(version) req
  {job="a", path="/x", version="v1"} 10
  {job="a", path="/y", version="v1"} 20

eval instant at 0 req * on(job) info
  expect fail msg: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)

eval instant at 0 req * on(job) group_left dup
  expect fail regex: many-to-many matching not allowed: matching labels must be unique on one side

eval instant at 0 req + on(job) group_left info * 0 + on(job) group_left dup
  expect fail

clear
load 1m
  x{job="a"} 1
  y{job="a"} 2

eval instant at 0 {job="a"} * 0
  expect fail msg: vector cannot contain metrics with the same labelset

eval instant at 0 {job="a"} > 0
  x{job="a"} 1
  y{job="a"} 2
"#,
    );
}
