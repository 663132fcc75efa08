//! Valid PromQL: the exact tree the parser builds for aggregations,
//! function calls and the metric-selector entry point, case by case.

#[path = "common/trees.rs"]
mod trees;

use promlite_model::{MatchOp, Matcher};
use promlite_promql::ast::*;
use promlite_promql::parser::{parse, parse_metric_selector};
use trees::*;

#[test]
fn aggregations() {
    use AggregateOp::*;
    check(vec![
        (
            "sum by (foo)(some_metric)",
            agg(Sum, sel("some_metric"), None, &["foo"], false),
        ),
        (
            "avg by (foo)(some_metric)",
            agg(Avg, sel("some_metric"), None, &["foo"], false),
        ),
        (
            "max by (foo)(some_metric)",
            agg(Max, sel("some_metric"), None, &["foo"], false),
        ),
        (
            "sum without (foo) (some_metric)",
            agg(Sum, sel("some_metric"), None, &["foo"], true),
        ),
        (
            "sum (some_metric) without (foo)",
            agg(Sum, sel("some_metric"), None, &["foo"], true),
        ),
        (
            "stddev(some_metric)",
            agg(Stddev, sel("some_metric"), None, &[], false),
        ),
        (
            "stdvar by (foo)(some_metric)",
            agg(Stdvar, sel("some_metric"), None, &["foo"], false),
        ),
        (
            "sum by ()(some_metric)",
            agg(Sum, sel("some_metric"), None, &[], false),
        ),
        (
            "sum by (foo,bar,)(some_metric)",
            agg(Sum, sel("some_metric"), None, &["foo", "bar"], false),
        ),
        (
            "sum by (foo,)(some_metric)",
            agg(Sum, sel("some_metric"), None, &["foo"], false),
        ),
        (
            "sum without () (some_metric)",
            agg(Sum, sel("some_metric"), None, &[], true),
        ),
        (
            "SUM BY (Foo) (some_metric)",
            agg(Sum, sel("some_metric"), None, &["Foo"], false),
        ),
        (
            "sum by (\"foo.bar\", on) (x)",
            agg(Sum, sel("x"), None, &["foo.bar", "on"], false),
        ),
        (
            "group by (a:b) (x)",
            agg(Group, sel("x"), None, &["a:b"], false),
        ),
        (
            "topk(5, some_metric)",
            agg(TopK, sel("some_metric"), Some(num(5.0)), &[], false),
        ),
        (
            "bottomk by (a) (5, some_metric)",
            agg(BottomK, sel("some_metric"), Some(num(5.0)), &["a"], false),
        ),
        (
            "count_values(\"value\", some_metric)",
            agg(
                CountValues,
                sel("some_metric"),
                Some(Expr::String("value".into())),
                &[],
                false,
            ),
        ),
        (
            "sum without(and, by, avg, count, alert, annotations)(some_metric)",
            agg(
                Sum,
                sel("some_metric"),
                None,
                &["and", "by", "avg", "count", "alert", "annotations"],
                true,
            ),
        ),
        (
            "quantile(0.9, x)",
            agg(Quantile, sel("x"), Some(num(0.9)), &[], false),
        ),
        (
            "sum(x) + count(y)",
            bin(
                BinOp::Add,
                agg(Sum, sel("x"), None, &[], false),
                agg(Count, sel("y"), None, &[], false),
            ),
        ),
        (
            "topk(scalar(foo), bar)",
            agg(
                TopK,
                sel("bar"),
                Some(call("scalar", vec![sel("foo")])),
                &[],
                false,
            ),
        ),
    ]);
}

#[test]
fn function_calls() {
    check(vec![
        ("time()", call("time", vec![])),
        (
            "floor(some_metric{foo!=\"bar\"})",
            call(
                "floor",
                vec![sel_with(
                    Some("some_metric"),
                    vec![m(MatchOp::NotEqual, "foo", "bar")],
                    0,
                    None,
                )],
            ),
        ),
        (
            "rate(some_metric[5m])",
            call("rate", vec![matrix("some_metric", 5 * MIN, 0, None)]),
        ),
        (
            "round(some_metric)",
            call("round", vec![sel("some_metric")]),
        ),
        (
            "round(some_metric, 5)",
            call("round", vec![sel("some_metric"), num(5.0)]),
        ),
        ("hour()", call("hour", vec![])),
        (
            "label_join(a, \"dst\", \",\", \"s1\", \"s2\", \"s3\")",
            call(
                "label_join",
                vec![
                    sel("a"),
                    Expr::String("dst".into()),
                    Expr::String(",".into()),
                    Expr::String("s1".into()),
                    Expr::String("s2".into()),
                    Expr::String("s3".into()),
                ],
            ),
        ),
        (
            "histogram_quantile(0.9, rate(x[5m]))",
            call(
                "histogram_quantile",
                vec![num(0.9), call("rate", vec![matrix("x", 5 * MIN, 0, None)])],
            ),
        ),
        ("vector(1)", call("vector", vec![num(1.0)])),
        ("scalar (x)", call("scalar", vec![sel("x")])),
        (
            "clamp(x, -1, 1)",
            call("clamp", vec![sel("x"), num(-1.0), num(1.0)]),
        ),
        (
            "max_over_time(x[1h:5m] @ end())",
            call(
                "max_over_time",
                vec![subquery(
                    sel("x"),
                    H,
                    Some(5 * MIN),
                    0,
                    Some(AtModifier::End),
                )],
            ),
        ),
    ]);
}

#[test]
fn metric_selector_entry_point() {
    assert_eq!(
        parse_metric_selector("up{job=\"api\"}"),
        Ok(vec![
            m(MatchOp::Equal, "job", "api"),
            Matcher::equal("__name__", "up")
        ])
    );
    assert_eq!(
        parse_metric_selector("{__name__=~\"a.*\"}"),
        Ok(vec![m(MatchOp::Regex, "__name__", "a.*")])
    );
    assert_eq!(
        parse_metric_selector("{\"my.metric\"}"),
        Ok(vec![Matcher::equal("__name__", "my.metric")])
    );
    assert_eq!(
        parse_metric_selector("sum"),
        Ok(vec![Matcher::equal("__name__", "sum")])
    );
    // No type check, as in Prometheus: the HTTP API judges empty matchers.
    assert_eq!(parse_metric_selector("{}"), Ok(vec![]));
    assert_eq!(
        parse_metric_selector("{a=\"\"}"),
        Ok(vec![m(MatchOp::Equal, "a", "")])
    );
    for bad in [
        "up[5m]",
        "up offset 5m",
        "rate(up[5m])",
        "1",
        "",
        "up + up",
        "{a=~\"(\"}",
        "up{",
    ] {
        assert!(parse_metric_selector(bad).is_err(), "{bad}");
    }
    assert_eq!(
        parse_metric_selector("up[5m]").map_err(|e| e.message),
        Err("unexpected \"[\"".to_string())
    );
}

#[test]
fn calls_record_where_they_and_their_arguments_start() {
    // `Expr` has a `Drop` impl, so the call is matched by reference.
    let parsed = parse("histogram_quantile(0.8,\n  sum by (le) (x))");
    let Ok(Expr::Call(c)) = &parsed else {
        panic!("expected a call");
    };
    assert_eq!(c.pos.start(), Some(0));
    assert_eq!(c.pos.arg(0), Some(19));
    assert_eq!(c.pos.arg(1), Some(26));
    assert_eq!(c.pos.arg(2), None);
    // Positions do not take part in equality.
    assert_eq!(
        Expr::Call(c.clone()),
        parse(" histogram_quantile(0.8, sum by (le) (x))").unwrap_or(Expr::Number(0.0))
    );
}
