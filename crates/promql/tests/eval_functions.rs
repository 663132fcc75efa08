//! The function library, family by family.

mod common;
use common::assert_script;

#[test]
fn rate_increase_delta_irate_idelta() {
    assert_script(
        r#"
load 1m
  c{j="a"} 0 60 120 180 240 300
  r{j="a"} 100 200 10 20
  g{j="a"} 10 5 20 15

eval instant at 5m rate(c[5m])
  {j="a"} 1

eval instant at 5m increase(c[5m])
  {j="a"} 300

# 20 - 200 + 200 (reset) = 20, extrapolated by half a window: 30.
eval instant at 3m increase(r[3m])
  {j="a"} 30

eval instant at 3m irate(r[3m])
  {j="a"} 0.16666666666666666

eval instant at 3m idelta(g[3m])
  {j="a"} -5

eval instant at 3m delta(g[3m])
  {j="a"} 15

eval instant at 0 rate(c[5m])

eval range from 4m to 5m step 1m rate(c[2m])
  {j="a"} 1 1
"#,
    );
}

#[test]
fn changes_resets_deriv_predict_linear() {
    assert_script(
        r#"
load 1m
  m 1 2 2 1 3 NaN NaN
  lin 0+60x10

eval instant at 6m changes(m[10m])
  {} 4

eval instant at 6m resets(m[10m])
  {} 1

eval instant at 10m deriv(lin[5m])
  {} 1

eval instant at 10m predict_linear(lin[5m], 60)
  {} 660
"#,
    );
}

#[test]
fn over_time_family() {
    assert_script(
        r#"
load 1m
  m 1 2 3 4 stale

eval instant at 3m avg_over_time(m[5m])
  {} 2.5

eval instant at 3m sum_over_time(m[5m])
  {} 10

eval instant at 3m min_over_time(m[5m])
  {} 1

eval instant at 3m max_over_time(m[5m])
  {} 4

eval instant at 3m count_over_time(m[5m])
  {} 4

eval instant at 4m count_over_time(m[5m])
  {} 4

eval instant at 3m last_over_time(m[5m])
  m 4

eval instant at 3m quantile_over_time(0.5, m[5m])
  {} 2.5

eval instant at 3m stdvar_over_time(m[5m])
  {} 1.25

eval instant at 3m present_over_time(m[5m])
  {} 1

eval instant at 3m absent_over_time(m[5m])

eval instant at 3m absent_over_time(nope{a="b"}[5m])
  {a="b"} 1

eval instant at 3m mad_over_time(m[5m])
  {} 1
"#,
    );
}

#[test]
fn math_clamp_round_and_time() {
    assert_script(
        r#"
load 1m
  m{x="a"} -2.5
  m{x="b"} 7.45

eval instant at 0 abs(m)
  {x="a"} 2.5
  {x="b"} 7.45

eval instant at 0 round(m)
  {x="a"} -2
  {x="b"} 7

eval instant at 0 round(m, 0.1)
  {x="a"} -2.5
  {x="b"} 7.5

eval instant at 0 clamp(m, 0, 5)
  {x="a"} 0
  {x="b"} 5

eval instant at 0 clamp(m, 5, 0)

eval instant at 0 clamp_max(m, 1)
  {x="a"} -2.5
  {x="b"} 1

eval instant at 0 sgn(m)
  {x="a"} -1
  {x="b"} 1

eval instant at 1h hour()
  {} 1

eval instant at 0 year(vector(1709214300))
  {} 2024

eval instant at 90s time()
  90

eval instant at 1m timestamp(m)
  {x="a"} 0
  {x="b"} 0

eval instant at 0 scalar(m)
  NaN

eval instant at 0 scalar(m{x="a"})
  -2.5

eval instant at 0 vector(1)
  {} 1

eval instant at 0 pi()
  3.141592653589793
"#,
    );
}

#[test]
fn labels_sort_and_absent() {
    assert_script(
        r#"
load 1m
  m{src="a-1", x="2"} 2
  m{src="b-2", x="10"} 1
  m{src="c-3", x="1"} 3

eval instant at 0 label_replace(m, "dst", "$1", "src", "(.*)-.*")
  m{src="a-1", x="2", dst="a"} 2
  m{src="b-2", x="10", dst="b"} 1
  m{src="c-3", x="1", dst="c"} 3

eval instant at 0 label_join(m{x="1"}, "j", ":", "src", "x")
  m{src="c-3", x="1", j="c-3:1"} 3

eval instant at 0 label_replace(label_replace(m, "src", "", "", ""), "x", "", "", "")
  expect fail msg: vector cannot contain metrics with the same labelset

eval instant at 0 sort(m)
  expect ordered
  m{src="b-2", x="10"} 1
  m{src="a-1", x="2"} 2
  m{src="c-3", x="1"} 3

eval instant at 0 sort_desc(m)
  expect ordered
  m{src="c-3", x="1"} 3
  m{src="a-1", x="2"} 2
  m{src="b-2", x="10"} 1

eval instant at 0 sort_by_label(m, "x")
  expect ordered
  m{src="c-3", x="1"} 3
  m{src="a-1", x="2"} 2
  m{src="b-2", x="10"} 1

eval instant at 0 absent(m)

eval instant at 0 absent(nope{a="b", c=~"d"})
  {a="b"} 1
"#,
    );
}

/// String arguments are Go strings in Prometheus: `\xNN` is a byte, and the
/// bytes need not be UTF-8. Where one must be a label name, evaluation fails
/// with Prometheus's message (`%q` for `count_values`, `%s` elsewhere, which
/// reaches an API client with U+FFFD for the bad bytes); where the bytes
/// become a label value, they arrive as U+FFFD, as a client sees them.
#[test]
fn string_arguments_that_are_not_utf8() {
    assert_script(
        r#"
load 1m
  m{src="a-1", x="2"} 2
  m{src="b-2", x="1"} 1

eval instant at 0 count_values("a\xc5z", m)
  expect fail msg:invalid label name "a\xc5z"

eval instant at 0 count_values by (x) ("", m)
  expect fail msg:invalid label name ""

eval instant at 0 count_values("a\xc5z", nothing)
  expect fail msg:invalid label name "a\xc5z"

eval instant at 0 label_replace(m, "d\xc5", "x", "src", ".*")
  expect fail msg:invalid destination label name in label_replace(): d�

eval instant at 0 label_replace(m, "d", "x", "src", "\xc5(")
  expect fail msg:invalid regular expression in label_replace(): �(: invalid UTF-8

eval instant at 0 label_replace(m, "dst", "a\xc5z-$1", "src", "(.*)-.*")
  m{src="a-1", x="2", dst="a�z-a"} 2
  m{src="b-2", x="1", dst="a�z-b"} 1

eval instant at 0 label_replace(m, "dst", "none", "s\xc5", "")
  m{src="a-1", x="2", dst="none"} 2
  m{src="b-2", x="1", dst="none"} 1

eval instant at 0 label_join(m, "j", "\xe2\x82", "src", "x")
  m{src="a-1", x="2", j="a-1��2"} 2
  m{src="b-2", x="1", j="b-2��1"} 1

eval instant at 0 label_join(m, "j", ",", "src", "\xc5")
  expect fail msg:invalid source label name in label_join(): �

eval instant at 0 label_join(m, "\xc5", ",", "src")
  expect fail msg:invalid destination label name in label_join(): �

eval instant at 0 sort_by_label(m, "\xc5", "x")
  expect ordered
  m{src="b-2", x="1"} 1
  m{src="a-1", x="2"} 2

eval instant at 0 histogram_quantiles(m, "q\xc5", 0.5)
  expect fail msg:invalid label name "q\xc5"
"#,
    );
}

#[test]
fn classic_histogram_quantile() {
    assert_script(
        r#"
load 1m
  h_bucket{le="0.1"} 0+1x2
  h_bucket{le="1"} 0+3x2
  h_bucket{le="+Inf"} 0+4x2
  bad_bucket{le="1"} 5
  bad_bucket{le="2"} 3
  bad_bucket{le="+Inf"} 6

eval instant at 2m histogram_quantile(0.5, h_bucket)
  {} 0.55

eval instant at 2m histogram_quantile(1, h_bucket)
  {} 1

eval instant at 2m histogram_quantile(2, h_bucket)
  expect warn
  {} +Inf

eval instant at 0 histogram_quantile(0.5, h_bucket)
  {} NaN

eval instant at 0 histogram_quantile(0.5, bad_bucket)
  expect info
  {} 0.6

# (0.1, 1]: 2 of 4 observations; the first bucket is [0, 0.1].
eval instant at 2m histogram_fraction(0.1, 1, h_bucket)
  {} 0.5

eval instant at 2m histogram_fraction(0, 0.05, h_bucket)
  {} 0.125

# Observations in (1, +Inf] sit at +Inf.
eval instant at 2m histogram_fraction(2, 3, h_bucket)
  {} 0

eval instant at 2m histogram_fraction(2, +Inf, h_bucket)
  {} 0.25
"#,
    );
}

#[test]
fn experimental_functions() {
    assert_script(
        r#"
load 1m
  m{instance="a", job="j"} 1 2 4 8
  target_info{instance="a", job="j", version="v1", region="eu"} 1 1 1 1
  lin 0+10x4

eval instant at 3m info(m)
  m{instance="a", job="j", version="v1", region="eu"} 8

eval instant at 3m info(m, {version=~".+"})
  m{instance="a", job="j", version="v1"} 8

eval instant at 3m info(m, {nope=~".+"})

eval instant at 3m double_exponential_smoothing(lin[5m], 0.5, 0.5)
  {} 30

eval instant at 3m double_exponential_smoothing(lin[5m], 1, 0.5)
  expect fail

eval instant at 3m ts_of_max_over_time(m[5m])
  {instance="a", job="j"} 180

eval instant at 3m ts_of_first_over_time(m[5m])
  {instance="a", job="j"} 0

eval instant at 3m first_over_time(m[5m])
  m{instance="a", job="j"} 1

eval instant at 3m limitk(1, lin)
  lin 30
"#,
    );
}

#[test]
fn pinned_predict_linear_uses_each_evaluation_time() {
    // The window is pinned by `@`, the prediction is from each step's time
    // (functions.test checks the same in range mode).
    assert_script(
        r#"
load 1m
  lin 0+60x10

eval range from 0 to 2m step 1m predict_linear(lin[5m] @ 300, 60)
  {} 60 120 180

eval instant at 2m predict_linear(lin[5m] @ 300, 60)
  {} 180
"#,
    );
}
