//! Valid PromQL: the exact tree the parser builds, case by case.

use promlite_model::{MatchOp, Matcher};
use promlite_promql::ast::*;
use promlite_promql::parser::{parse, parse_metric_selector};

/// The `Debug` text of `e` without the source positions of calls, which
/// hand-built trees do not have.
fn without_positions(e: &Expr) -> String {
    let re = regex::Regex::new(r"pos: (CallPos \{[^}]*\}|Pos\(\d+\))").expect("valid regex");
    re.replace_all(&format!("{e:?}"), "").into_owned()
}

fn num(v: f64) -> Expr {
    Expr::Number(v)
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).expect("valid matcher")
}

fn vs_m(name: Option<&str>, matchers: Vec<Matcher>) -> VectorSelector {
    let mut matchers = matchers;
    if let Some(n) = name {
        matchers.push(Matcher::equal("__name__", n));
    }
    VectorSelector {
        name: name.map(str::to_string),
        matchers,
        offset: 0,
        offset_expr: None,
        at: None,
        boundary: Boundary::Plain,
    }
}

fn sel(name: &str) -> Expr {
    Expr::VectorSelector(vs_m(Some(name), vec![]))
}

fn sel_with(
    name: Option<&str>,
    matchers: Vec<Matcher>,
    offset: i64,
    at: Option<AtModifier>,
) -> Expr {
    Expr::VectorSelector(VectorSelector {
        offset,
        at,
        ..vs_m(name, matchers)
    })
}

fn matrix(name: &str, range: i64, offset: i64, at: Option<AtModifier>) -> Expr {
    Expr::MatrixSelector(MatrixSelector {
        selector: VectorSelector {
            offset,
            at,
            ..vs_m(Some(name), vec![])
        },
        range,
        range_expr: None,
    })
}

fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let card = if op.is_set_operator() {
        Cardinality::ManyToMany
    } else {
        Cardinality::OneToOne
    };
    Expr::Binary(BinaryExpr {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        return_bool: false,
        matching: VectorMatching {
            card,
            ..Default::default()
        },
    })
}

fn bin_full(op: BinOp, lhs: Expr, rhs: Expr, return_bool: bool, matching: VectorMatching) -> Expr {
    Expr::Binary(BinaryExpr {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        return_bool,
        matching,
    })
}

fn matching(card: Cardinality, on: bool, labels: &[&str], include: &[&str]) -> VectorMatching {
    VectorMatching {
        card,
        on,
        labels: labels.iter().map(|s| s.to_string()).collect(),
        include: include.iter().map(|s| s.to_string()).collect(),
    }
}

fn neg(e: Expr) -> Expr {
    Expr::Unary(UnaryOp::Neg, Box::new(e))
}

fn paren(e: Expr) -> Expr {
    Expr::Paren(Box::new(e))
}

fn call(f: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(Call {
        func: f.to_string(),
        args,
        pos: Default::default(),
    })
}

fn agg(op: AggregateOp, expr: Expr, param: Option<Expr>, grouping: &[&str], without: bool) -> Expr {
    Expr::Aggregate(AggregateExpr {
        op,
        expr: Box::new(expr),
        param: param.map(Box::new),
        grouping: grouping.iter().map(|s| s.to_string()).collect(),
        without,
        param_pos: Default::default(),
    })
}

fn subquery(
    expr: Expr,
    range: i64,
    step: Option<i64>,
    offset: i64,
    at: Option<AtModifier>,
) -> Expr {
    Expr::Subquery(SubqueryExpr {
        expr: Box::new(expr),
        range,
        step,
        offset,
        range_expr: None,
        step_expr: None,
        offset_expr: None,
        at,
    })
}

const S: i64 = 1000;
const MIN: i64 = 60 * S;
const H: i64 = 60 * MIN;

fn check(cases: Vec<(&str, Expr)>) {
    let mut failures = Vec::new();
    for (input, want) in cases {
        match parse(input) {
            // Debug comparison so that NaN equals NaN.
            Ok(got) if without_positions(&got) == without_positions(&want) => {}
            Ok(got) => failures.push(format!("{input:?}:\n  got  {got:?}\n  want {want:?}")),
            Err(e) => failures.push(format!("{input:?}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn numbers_and_strings() {
    check(vec![
        ("1", num(1.0)),
        ("+Inf", num(f64::INFINITY)),
        ("-Inf", num(f64::NEG_INFINITY)),
        ("inf", num(f64::INFINITY)),
        ("nAn", num(f64::NAN)),
        (".5", num(0.5)),
        ("5.", num(5.0)),
        ("123.4567", num(123.4567)),
        ("5e-3", num(0.005)),
        ("5E3", num(5000.0)),
        ("0xc", num(12.0)),
        ("0X1F", num(31.0)),
        ("0755", num(493.0)),
        ("089", num(89.0)),
        ("1_000", num(1000.0)),
        ("+5.5e-3", num(0.0055)),
        ("-0755", num(-493.0)),
        ("--1", num(1.0)),
        ("5m", num(300.0)),
        ("1h30m", num(5400.0)),
        ("500ms", num(0.5)),
        ("\"double\\tquoted\"", Expr::String("double\tquoted".into())),
        ("'single \\'q\\''", Expr::String("single 'q'".into())),
        ("`raw \\n`", Expr::String("raw \\n".into())),
        (
            "\"\\x41\\101\\u00e9\\U0001F600\\a\\v\"",
            Expr::String("AAé😀\u{7}\u{b}".into()),
        ),
        ("\"\\xc3\\xa9\"", Expr::String("é".into())),
    ]);
    assert!(
        parse("\"multi\nline\"").is_err(),
        "newlines end quoted strings"
    );
    assert_eq!(
        parse("`multi\nline`"),
        Ok(Expr::String("multi\nline".into()))
    );
}

#[test]
fn operator_precedence_and_unary() {
    use BinOp::*;
    check(vec![
        ("1 + 1", bin(Add, num(1.0), num(1.0))),
        (
            "1 == bool 1",
            bin_full(Eql, num(1.0), num(1.0), true, VectorMatching::default()),
        ),
        ("-1^2", neg(bin(Pow, num(1.0), num(2.0)))),
        ("-1*2", bin(Mul, num(-1.0), num(2.0))),
        ("-1+2", bin(Add, num(-1.0), num(2.0))),
        ("-1^-2", neg(bin(Pow, num(1.0), num(-2.0)))),
        (
            "+1 + -2 * 1",
            bin(Add, num(1.0), bin(Mul, num(-2.0), num(1.0))),
        ),
        (
            "1 + 2/(3*1)",
            bin(
                Add,
                num(1.0),
                bin(Div, num(2.0), paren(bin(Mul, num(3.0), num(1.0)))),
            ),
        ),
        (
            "1 < bool 2 - 1 * 2",
            bin_full(
                Lss,
                num(1.0),
                bin(Sub, num(2.0), bin(Mul, num(1.0), num(2.0))),
                true,
                VectorMatching::default(),
            ),
        ),
        (
            "2 ^ 3 ^ 2",
            bin(Pow, num(2.0), bin(Pow, num(3.0), num(2.0))),
        ),
        (
            "1 - 2 - 3",
            bin(Sub, bin(Sub, num(1.0), num(2.0)), num(3.0)),
        ),
        (
            "a or b and c",
            bin(Or, sel("a"), bin(And, sel("b"), sel("c"))),
        ),
        (
            "a unless b or c",
            bin(Or, bin(Unless, sel("a"), sel("b")), sel("c")),
        ),
        (
            "a > b + c",
            bin(Gtr, sel("a"), bin(Add, sel("b"), sel("c"))),
        ),
        (
            "a atan2 b * c",
            bin(Mul, bin(Atan2, sel("a"), sel("b")), sel("c")),
        ),
        (
            "a % b ^ c",
            bin(Mod, sel("a"), bin(Pow, sel("b"), sel("c"))),
        ),
        ("-some_metric", neg(sel("some_metric"))),
        (
            " +some_metric",
            Expr::Unary(UnaryOp::Pos, Box::new(sel("some_metric"))),
        ),
        ("-a * b", bin(Mul, neg(sel("a")), sel("b"))),
        ("-a ^ b", neg(bin(Pow, sel("a"), sel("b")))),
        ("a * -b", bin(Mul, sel("a"), neg(sel("b")))),
        ("-(1)", neg(paren(num(1.0)))),
        (
            "-foo offset 5m",
            neg(sel_with(Some("foo"), vec![], 5 * MIN, None)),
        ),
        ("a AND b", bin(And, sel("a"), sel("b"))),
        ("(((foo)))", paren(paren(paren(sel("foo"))))),
        ("foo # a comment\n  + bar", bin(Add, sel("foo"), sel("bar"))),
    ]);
}

#[test]
fn vector_matching() {
    use BinOp::*;
    use Cardinality::*;
    check(vec![
        (
            "foo * on(test,blub) bar",
            bin_full(
                Mul,
                sel("foo"),
                sel("bar"),
                false,
                matching(OneToOne, true, &["test", "blub"], &[]),
            ),
        ),
        (
            "foo * on(test,blub) group_left bar",
            bin_full(
                Mul,
                sel("foo"),
                sel("bar"),
                false,
                matching(ManyToOne, true, &["test", "blub"], &[]),
            ),
        ),
        (
            "foo and on(test,blub) bar",
            bin_full(
                And,
                sel("foo"),
                sel("bar"),
                false,
                matching(ManyToMany, true, &["test", "blub"], &[]),
            ),
        ),
        (
            "foo and on() bar",
            bin_full(
                And,
                sel("foo"),
                sel("bar"),
                false,
                matching(ManyToMany, true, &[], &[]),
            ),
        ),
        (
            "foo and ignoring(test,blub) bar",
            bin_full(
                And,
                sel("foo"),
                sel("bar"),
                false,
                matching(ManyToMany, false, &["test", "blub"], &[]),
            ),
        ),
        (
            "foo unless on(bar) baz",
            bin_full(
                Unless,
                sel("foo"),
                sel("baz"),
                false,
                matching(ManyToMany, true, &["bar"], &[]),
            ),
        ),
        (
            "foo / on(test,blub) group_left(bar) bar",
            bin_full(
                Div,
                sel("foo"),
                sel("bar"),
                false,
                matching(ManyToOne, true, &["test", "blub"], &["bar"]),
            ),
        ),
        (
            "foo / ignoring(test,blub) group_left(blub) bar",
            bin_full(
                Div,
                sel("foo"),
                sel("bar"),
                false,
                matching(ManyToOne, false, &["test", "blub"], &["blub"]),
            ),
        ),
        (
            "foo - on(test,blub) group_right(bar,foo) bar",
            bin_full(
                Sub,
                sel("foo"),
                sel("bar"),
                false,
                matching(OneToMany, true, &["test", "blub"], &["bar", "foo"]),
            ),
        ),
        (
            "foo > bool ignoring(a,) group_right() bar",
            bin_full(
                Gtr,
                sel("foo"),
                sel("bar"),
                true,
                matching(OneToMany, false, &["a"], &[]),
            ),
        ),
        (
            "foo + on(on, by, sum, bool) bar",
            bin_full(
                Add,
                sel("foo"),
                sel("bar"),
                false,
                matching(OneToOne, true, &["on", "by", "sum", "bool"], &[]),
            ),
        ),
        (
            "foo + on(\"a.b\") bar",
            bin_full(
                Add,
                sel("foo"),
                sel("bar"),
                false,
                matching(OneToOne, true, &["a.b"], &[]),
            ),
        ),
        // Matching is dropped when a side is a scalar.
        ("foo * ignoring() 2", bin(Mul, sel("foo"), num(2.0))),
        (
            "foo == bool 1",
            bin_full(Eql, sel("foo"), num(1.0), true, VectorMatching::default()),
        ),
    ]);
}

#[test]
fn selectors() {
    use MatchOp::*;
    let at = |ms| Some(AtModifier::Timestamp(ms));
    check(vec![
        ("foo", sel("foo")),
        ("min", sel("min")),
        ("sum", sel("sum")),
        ("by", sel("by")),
        ("offset", sel("offset")),
        ("start", sel("start")),
        ("and", sel("and")),
        ("foo:bar:baz", sel("foo:bar:baz")),
        (":foo", sel(":foo")),
        (
            "foo offset 5m",
            sel_with(Some("foo"), vec![], 5 * MIN, None),
        ),
        (
            "foo offset -7m",
            sel_with(Some("foo"), vec![], -7 * MIN, None),
        ),
        (
            "foo OFFSET 1h30m",
            sel_with(Some("foo"), vec![], 90 * MIN, None),
        ),
        (
            "foo OFFSET 1m30ms",
            sel_with(Some("foo"), vec![], MIN + 30, None),
        ),
        ("foo offset 10", sel_with(Some("foo"), vec![], 10 * S, None)),
        ("foo offset 1.5", sel_with(Some("foo"), vec![], 1500, None)),
        (
            "foo @ 1603774568",
            sel_with(Some("foo"), vec![], 0, at(1_603_774_568_000)),
        ),
        ("foo @ -100", sel_with(Some("foo"), vec![], 0, at(-100_000))),
        ("foo @ .3", sel_with(Some("foo"), vec![], 0, at(300))),
        ("foo @ 3.", sel_with(Some("foo"), vec![], 0, at(3000))),
        ("foo @ 3.33", sel_with(Some("foo"), vec![], 0, at(3330))),
        ("foo @ 3.3333", sel_with(Some("foo"), vec![], 0, at(3333))),
        ("foo @ 3.3335", sel_with(Some("foo"), vec![], 0, at(3334))),
        ("foo @ 3e2", sel_with(Some("foo"), vec![], 0, at(300_000))),
        ("foo @ 3e-1", sel_with(Some("foo"), vec![], 0, at(300))),
        ("foo @ 0xA", sel_with(Some("foo"), vec![], 0, at(10_000))),
        (
            "foo @ -3.3e1",
            sel_with(Some("foo"), vec![], 0, at(-33_000)),
        ),
        ("foo @ 1m40s", sel_with(Some("foo"), vec![], 0, at(100_000))),
        (
            "foo @ start()",
            sel_with(Some("foo"), vec![], 0, Some(AtModifier::Start)),
        ),
        (
            "foo @ end()",
            sel_with(Some("foo"), vec![], 0, Some(AtModifier::End)),
        ),
        (
            "foo @ 10 offset 1m",
            sel_with(Some("foo"), vec![], MIN, at(10_000)),
        ),
        (
            "foo offset 1m @ END()",
            sel_with(Some("foo"), vec![], MIN, Some(AtModifier::End)),
        ),
        (
            "foo:bar{a=\"bc\"}",
            sel_with(Some("foo:bar"), vec![m(Equal, "a", "bc")], 0, None),
        ),
        (
            "foo{NaN='bc'}",
            sel_with(Some("foo"), vec![m(Equal, "NaN", "bc")], 0, None),
        ),
        (
            "foo{bar='}'}",
            sel_with(Some("foo"), vec![m(Equal, "bar", "}")], 0, None),
        ),
        (
            "foo{a=\"b\", foo!=\"bar\", test=~\"test\", bar!~\"baz\"}",
            sel_with(
                Some("foo"),
                vec![
                    m(Equal, "a", "b"),
                    m(NotEqual, "foo", "bar"),
                    m(Regex, "test", "test"),
                    m(NotRegex, "bar", "baz"),
                ],
                0,
                None,
            ),
        ),
        (
            "foo{a=\"b\", foo!~\"bar\", test=~\"test\", bar!~\"baz\",}",
            sel_with(
                Some("foo"),
                vec![
                    m(Equal, "a", "b"),
                    m(NotRegex, "foo", "bar"),
                    m(Regex, "test", "test"),
                    m(NotRegex, "bar", "baz"),
                ],
                0,
                None,
            ),
        ),
        (
            "{__name__=~\"foo.+\"}",
            sel_with(None, vec![m(Regex, "__name__", "foo.+")], 0, None),
        ),
        (
            "{__name__=\"foo\",__name__=\"bar\"}",
            sel_with(
                None,
                vec![m(Equal, "__name__", "foo"), m(Equal, "__name__", "bar")],
                0,
                None,
            ),
        ),
        (
            "{\"foo\"}",
            sel_with(None, vec![m(Equal, "__name__", "foo")], 0, None),
        ),
        (
            "{\"foo\", a=\"bc\"}",
            sel_with(
                None,
                vec![m(Equal, "__name__", "foo"), m(Equal, "a", "bc")],
                0,
                None,
            ),
        ),
        (
            "{'foo.bar', \"a.b\"=\"c\"}",
            sel_with(
                None,
                vec![m(Equal, "__name__", "foo.bar"), m(Equal, "a.b", "c")],
                0,
                None,
            ),
        ),
        (
            "foo{on=\"a\", by=\"b\", sum=\"c\", offset=\"d\", bool=\"e\", inf=\"f\"}",
            sel_with(
                Some("foo"),
                vec![
                    m(Equal, "on", "a"),
                    m(Equal, "by", "b"),
                    m(Equal, "sum", "c"),
                    m(Equal, "offset", "d"),
                    m(Equal, "bool", "e"),
                    m(Equal, "inf", "f"),
                ],
                0,
                None,
            ),
        ),
        (
            "{x=~\"a\\\\.b\"}",
            sel_with(None, vec![m(Regex, "x", "a\\.b")], 0, None),
        ),
        (
            "{x=~`a\\.b`}",
            sel_with(None, vec![m(Regex, "x", "a\\.b")], 0, None),
        ),
        ("foo{}", sel("foo")),
    ]);
}

#[test]
fn ranges_and_subqueries() {
    let at = |ms| Some(AtModifier::Timestamp(ms));
    check(vec![
        ("test[5s]", matrix("test", 5 * S, 0, None)),
        ("test[5m]", matrix("test", 5 * MIN, 0, None)),
        ("test[5m30s]", matrix("test", 5 * MIN + 30 * S, 0, None)),
        ("test[5h] OFFSET 5m", matrix("test", 5 * H, 5 * MIN, None)),
        (
            "test[5d] OFFSET 10s",
            matrix("test", 5 * 24 * H, 10 * S, None),
        ),
        (
            "test[5w] offset 2w",
            matrix("test", 5 * 7 * 24 * H, 2 * 7 * 24 * H, None),
        ),
        ("test[1800]", matrix("test", 30 * MIN, 0, None)),
        ("test[1.5]", matrix("test", 1500, 0, None)),
        (
            "test[5m] @ 100 offset -1m",
            matrix("test", 5 * MIN, -MIN, at(100_000)),
        ),
        (
            "test[5m] offset 1m @ start()",
            matrix("test", 5 * MIN, MIN, Some(AtModifier::Start)),
        ),
        (
            "foo[5m:1m]",
            subquery(sel("foo"), 5 * MIN, Some(MIN), 0, None),
        ),
        ("foo[5m:]", subquery(sel("foo"), 5 * MIN, None, 0, None)),
        (
            "foo[5m:1m] offset 10m @ 3",
            subquery(sel("foo"), 5 * MIN, Some(MIN), 10 * MIN, at(3000)),
        ),
        (
            "foo offset 5m [10m:1m]",
            subquery(
                sel_with(Some("foo"), vec![], 5 * MIN, None),
                10 * MIN,
                Some(MIN),
                0,
                None,
            ),
        ),
        (
            "min_over_time(rate(foo{bar=\"baz\"}[2s])[5m:5s])",
            call(
                "min_over_time",
                vec![subquery(
                    call(
                        "rate",
                        vec![Expr::MatrixSelector(MatrixSelector {
                            selector: vs_m(Some("foo"), vec![m(MatchOp::Equal, "bar", "baz")]),
                            range: 2 * S,
                            range_expr: None,
                        })],
                    ),
                    5 * MIN,
                    Some(5 * S),
                    0,
                    None,
                )],
            ),
        ),
        (
            "(foo + bar)[5m:]",
            subquery(
                paren(bin(BinOp::Add, sel("foo"), sel("bar"))),
                5 * MIN,
                None,
                0,
                None,
            ),
        ),
        (
            "max_over_time(rate(foo[5m:1m] offset 1m)[1h:])",
            call(
                "max_over_time",
                vec![subquery(
                    call(
                        "rate",
                        vec![subquery(sel("foo"), 5 * MIN, Some(MIN), MIN, None)],
                    ),
                    H,
                    None,
                    0,
                    None,
                )],
            ),
        ),
    ]);
}

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
