//! Valid PromQL: the exact tree the parser builds, case by case (numbers,
//! operators, vector matching, selectors, ranges and subqueries; calls and
//! aggregations are in `parser_valid_calls.rs`).

#[path = "common/trees.rs"]
mod trees;

use promlite_model::MatchOp;
use promlite_promql::ast::*;
use promlite_promql::parser::parse;
use trees::*;

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
        // Bytes that are not UTF-8 are kept, as Go keeps them.
        (
            "\"a\\xc5z\\377\"",
            Expr::String(StringLiteral::from(&b"a\xc5z\xff"[..])),
        ),
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
