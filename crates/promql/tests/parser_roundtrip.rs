//! Printing and re-parsing: `parse(print(e)) == e`, for a corpus of
//! hand-written queries and for random trees (proptest), and the same for
//! `prettify`.

use promlite_model::{MatchOp, Matcher};
use promlite_promql::ast::*;
use promlite_promql::functions;
use promlite_promql::parser::{parse, parse_with, ParserOptions};
use promlite_promql::printer::prettify;
use proptest::prelude::*;

fn opts() -> ParserOptions {
    ParserOptions {
        enable_experimental_functions: true,
        ..ParserOptions::default()
    }
}

/// Debug text compares NaN equal to NaN, unlike `==` on f64.
/// Equal trees, NaN included (compared through `Debug`); source positions
/// of calls are not part of a tree's meaning and are left out.
fn same(a: &Expr, b: &Expr) -> bool {
    let strip = |e: &Expr| {
        let re = regex::Regex::new(r"pos: (CallPos \{[^}]*\}|Pos\(\d+\))").expect("valid regex");
        re.replace_all(&format!("{e:?}"), "").into_owned()
    };
    strip(a) == strip(b)
}

/// (input, canonical printed form)
const CORPUS: &[(&str, &str)] = &[
    ("1", "1"),
    ("-1.5e-7", "-0.00000015"),
    ("1e6", "1000000"),
    ("0x10", "16"),
    ("5m", "300"),
    ("inf", "+Inf"),
    ("-Inf", "-Inf"),
    ("nan", "NaN"),
    ("'a\"b'", "\"a\\\"b\""),
    ("`a\\b`", "\"a\\\\b\""),
    ("foo", "foo"),
    ("foo{}", "foo"),
    (
        "foo{a='b',c!=\"d\", e=~'f.*' , g!~\"h\",}",
        "foo{a=\"b\",c!=\"d\",e=~\"f.*\",g!~\"h\"}",
    ),
    (
        "{\"foo.bar\", \"a b\"=\"c\"}",
        "{__name__=\"foo.bar\",\"a b\"=\"c\"}",
    ),
    ("{__name__=~\"a|b\"}", "{__name__=~\"a|b\"}"),
    ("foo:bar:rate5m", "foo:bar:rate5m"),
    ("sum", "sum"),
    ("foo offset 90s", "foo offset 1m30s"),
    ("foo offset -1h", "foo offset -1h"),
    ("foo @ 100", "foo @ 100.000"),
    ("foo @ -1.5", "foo @ -1.500"),
    ("foo offset 5m @ start()", "foo @ start() offset 5m"),
    ("foo[5m] offset 1w @ end()", "foo[5m] @ end() offset 1w"),
    // Duration expressions keep their text and their parentheses, as
    // Prometheus does.
    ("foo[26m+4m]", "foo[26m + 4m]"),
    ("foo[2m*(10+5)]", "foo[2m * (10 + 5)]"),
    ("foo[(5m)]", "foo[(5m)]"),
    (
        "foo[((1m+1m))*2] offset (5m)",
        "foo[((1m + 1m)) * 2] offset (5m)",
    ),
    ("foo offset -(1m+1m)", "foo offset -(1m + 1m)"),
    ("foo offset -(5m)", "foo offset -(5m)"),
    ("foo offset -step()", "foo offset -step()"),
    ("foo[30m1s-30m1s % 1m]", "foo[30m1s - 30m1s % 1m]"),
    ("foo[-5m+35m]", "foo[-5m + 35m]"),
    ("foo[step()]", "foo[step()]"),
    ("foo[1+(STep()-5)*2]", "foo[1 + (step() - 5) * 2]"),
    ("foo[29s+1s:20*500ms]", "foo[29s + 1s:20 * 500ms]"),
    ("foo[1m:min_of(step(),1h)]", "foo[1m:min_of(step(), 1h)]"),
    ("foo offset (100 + 2)", "foo offset (100 + 2)"),
    (
        "foo offset max_of(3s,min_of(step(), 1s))",
        "foo offset max_of(3s, min_of(step(), 1s))",
    ),
    ("foo[5m:] offset range()", "foo[5m:] offset range()"),
    ("foo offset (2 ^ -1)", "foo offset (2 ^ -1)"),
    ("foo[300]", "foo[5m]"),
    ("foo[1h:]", "foo[1h:]"),
    ("foo[1h:5m] offset 2m @ 3", "foo[1h:5m] @ 3.000 offset 2m"),
    ("(a + b)[1h:]", "(a + b)[1h:]"),
    ("foo offset 1m [1h:]", "foo offset 1m[1h:]"),
    ("rate(foo[5m] offset 1m)", "rate(foo[5m] offset 1m)"),
    ("sum(x)", "sum(x)"),
    ("sum by () (x)", "sum(x)"),
    ("sum(x) by (a,b)", "sum by (a, b) (x)"),
    ("SUM without(a) (x)", "sum without (a) (x)"),
    ("sum without () (x)", "sum without () (x)"),
    (
        "sum by (\"a.b\", on, \"inf\") (x)",
        "sum by (\"a.b\", on, \"inf\") (x)",
    ),
    ("topk(5, x)", "topk(5, x)"),
    (
        "count_values by (a) ('v', x)",
        "count_values by (a) (\"v\", x)",
    ),
    ("quantile(0.9, rate(x[5m]))", "quantile(0.9, rate(x[5m]))"),
    ("a+b*c", "a + b * c"),
    ("(a+b)*c", "(a + b) * c"),
    ("a^b^c", "a ^ b ^ c"),
    ("(a^b)^c", "(a ^ b) ^ c"),
    ("-a^b", "-a ^ b"),
    ("(-a)^b", "(-a) ^ b"),
    ("-2^2", "-2 ^ 2"),
    ("(-2)^2", "(-2) ^ 2"),
    ("(Inf)^2", "(+Inf) ^ 2"),
    ("Inf^2", "Inf ^ 2"),
    ("2^Inf", "2 ^ +Inf"),
    ("a - -1", "a - -1"),
    ("--a", "--a"),
    ("a > bool 1", "a > bool 1"),
    ("1 < bool 2", "1 < bool 2"),
    ("a * on(b) group_left(c) d", "a * on (b) group_left (c) d"),
    (
        "a * ignoring(b) group_right d",
        "a * ignoring (b) group_right () d",
    ),
    (
        "a * ignoring() group_left d",
        "a * ignoring () group_left () d",
    ),
    ("a + on() b", "a + on () b"),
    (
        "a and on(x) b or c unless d",
        "a and on (x) b or c unless d",
    ),
    ("a atan2 b", "a atan2 b"),
    // Extended range selectors print after the range and before `@` and
    // `offset`, wherever they were written; the keywords stay usable as
    // names.
    ("rate(foo[5m]  ANCHORED)", "rate(foo[5m] anchored)"),
    ("foo[5m] offset 1m smoothed", "foo[5m] smoothed offset 1m"),
    (
        "foo[5m] @ 10 offset 1m anchored",
        "foo[5m] anchored @ 10.000 offset 1m",
    ),
    ("foo anchored[5m]", "foo[5m] anchored"),
    (
        "foo offset 1m smoothed @ 10",
        "foo @ 10.000 smoothed offset 1m",
    ),
    (
        "anchored + smoothed{anchored=\"x\"}",
        "anchored + smoothed{anchored=\"x\"}",
    ),
    ("a == bool on(x) b", "a == bool on (x) b"),
    ("time() - 5m", "time() - 300"),
    (
        "label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\")",
        "label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\")",
    ),
    (
        "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))",
        "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))",
    ),
    (
        "max_over_time(deriv(rate(x[1m])[5m:1m])[10m:])",
        "max_over_time(deriv(rate(x[1m])[5m:1m])[10m:])",
    ),
    ("foo{a=\"\\n\\t\\u00e9\\x01\"}", "foo{a=\"\\n\\té\\x01\"}"),
    ("limitk(1, x)", "limitk(1, x)"),
];

#[test]
fn corpus_prints_canonically_and_round_trips() {
    for &(input, printed) in CORPUS {
        let e = parse_with(input, &opts()).unwrap_or_else(|err| panic!("{input:?}: {err}"));
        assert_eq!(e.to_string(), printed, "printing {input:?}");
        let again = parse_with(printed, &opts()).unwrap_or_else(|err| panic!("{printed:?}: {err}"));
        assert!(same(&again, &e), "{input:?} -> {printed:?} -> {again:?}");
        let pretty = prettify(&e);
        let again = parse_with(&pretty, &opts()).unwrap_or_else(|err| panic!("{pretty:?}: {err}"));
        assert!(same(&again, &e), "prettified {input:?}");
    }
}

#[test]
fn prettify_splits_long_expressions() {
    let q = "sum by (job, instance) (rate(http_requests_total{job=\"api-server\", handler=~\"/api/v1/.*\"}[5m])) / on (job) group_left sum by (job) (rate(http_requests_total[5m]))";
    let e = parse(q).expect("valid");
    let want = [
        "  sum by (job, instance) (rate(http_requests_total{job=\"api-server\",handler=~\"/api/v1/.*\"}[5m]))",
        "/ on (job) group_left ()",
        "  sum by (job) (rate(http_requests_total[5m]))",
    ]
    .join("\n");
    assert_eq!(prettify(&e), want);
    // Deeper nesting splits aggregations, calls and parentheses too.
    let long_selector = format!("http_requests_total{{job=\"{}\"}}", "a".repeat(90));
    let q = format!("sum by (job) (rate({long_selector}[5m]))");
    let want = format!("sum by (job) (\n  rate(\n    {long_selector}[5m]\n  )\n)");
    assert_eq!(prettify(&parse(&q).expect("valid")), want);
    let q = format!("-({long_selector} + 1)");
    let want = format!("-(\n    {long_selector}\n  +\n    1\n)");
    assert_eq!(prettify(&parse(&q).expect("valid")), want);
    // Short expressions stay on one line.
    assert_eq!(
        prettify(&parse("sum(rate(x[5m]))").expect("valid")),
        "sum(rate(x[5m]))"
    );
}

#[test]
fn printer_adds_parentheses_for_hand_built_trees() {
    let sel = |n: &str| {
        Expr::VectorSelector(VectorSelector {
            name: Some(n.into()),
            matchers: vec![Matcher::equal("__name__", n)],
            offset: 0,
            offset_expr: None,
            at: None,
            boundary: Boundary::Plain,
        })
    };
    let bin = |op, l, r| {
        Expr::Binary(BinaryExpr {
            op,
            lhs: Box::new(l),
            rhs: Box::new(r),
            return_bool: false,
            matching: VectorMatching::default(),
        })
    };
    let e = bin(BinOp::Mul, bin(BinOp::Add, sel("a"), sel("b")), sel("c"));
    assert_eq!(e.to_string(), "(a + b) * c");
    let e = bin(BinOp::Sub, sel("a"), bin(BinOp::Sub, sel("b"), sel("c")));
    assert_eq!(e.to_string(), "a - (b - c)");
    let e = Expr::Subquery(SubqueryExpr {
        expr: Box::new(bin(BinOp::Add, sel("a"), sel("b"))),
        range: 60_000,
        step: None,
        offset: 0,
        range_expr: None,
        step_expr: None,
        offset_expr: None,
        at: None,
    });
    assert_eq!(e.to_string(), "(a + b)[1m:]");
    let e = Expr::Unary(UnaryOp::Neg, Box::new(bin(BinOp::Add, sel("a"), sel("b"))));
    assert_eq!(e.to_string(), "-(a + b)");
}

// ---- random trees -------------------------------------------------------

fn label_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "job", "instance", "on", "by", "bool", "offset", "sum", "le", "a_b", "inf", "Nan"
        ])
        .prop_map(String::from),
        "[a-z][a-z0-9_.:]{0,6}",
        "\\PC{1,5}",
    ]
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9 ]{0,6}", "\\PC{0,6}", ".{0,6}"]
}

/// A string literal's value: text, or any bytes (Go strings need not be
/// UTF-8: `"a\xc5z"`).
fn string_literal() -> impl Strategy<Value = StringLiteral> {
    prop_oneof![
        3 => label_value().prop_map(StringLiteral::from),
        1 => prop::collection::vec(any::<u8>(), 0..6).prop_map(StringLiteral::from),
    ]
}

fn metric_name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "up", "sum", "by", "offset", "start", "end", "and", "without", "min"
        ])
        .prop_map(|s| Some(s.to_string())),
        "[a-z_:][a-z0-9_:]{0,8}".prop_map(Some),
    ]
}

fn matcher() -> impl Strategy<Value = Matcher> {
    let regexes = prop::sample::select(vec!["a.*", "x|y", "", "[0-9]+", "(?i)foo", ".+"]);
    prop_oneof![
        (label_name(), label_value(), prop::bool::ANY).prop_map(|(n, v, eq)| {
            let op = if eq {
                MatchOp::Equal
            } else {
                MatchOp::NotEqual
            };
            Matcher::new(op, n, v).expect("plain matcher")
        }),
        (label_name(), regexes, prop::bool::ANY).prop_map(|(n, v, eq)| {
            let op = if eq {
                MatchOp::Regex
            } else {
                MatchOp::NotRegex
            };
            Matcher::new(op, n, v).expect("valid regex")
        }),
    ]
}

fn at_modifier() -> impl Strategy<Value = Option<AtModifier>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(AtModifier::Start)),
        1 => Just(Some(AtModifier::End)),
        1 => (-1_000_000_000_000_000i64..1_000_000_000_000_000).prop_map(|t| Some(AtModifier::Timestamp(t))),
    ]
}

fn duration() -> impl Strategy<Value = i64> {
    prop_oneof![
        1i64..100_000,
        prop::sample::select(vec![60_000, 300_000, 3_600_000, 86_400_000]),
        1i64..1_000_000_000_000
    ]
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![2 => Just(0i64), 1 => duration(), 1 => duration().prop_map(|d| -d)]
}

/// A duration expression (leaves: literals, `step()`, `range()`).
fn duration_expr() -> impl Strategy<Value = DurationExpr> {
    let leaf = prop_oneof![
        prop::sample::select(vec![0.0, 0.5, 1.0, 2.0, 60.0, 3600.0]).prop_map(DurationExpr::Number),
        prop::sample::select(vec![0i64, 1, 500, 60_000, 3_600_000])
            .prop_map(DurationExpr::Duration),
        Just(DurationExpr::Step),
        Just(DurationExpr::Range),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        let ops = vec![
            DurationOp::Add,
            DurationOp::Sub,
            DurationOp::Mul,
            DurationOp::Div,
            DurationOp::Mod,
            DurationOp::Pow,
        ];
        prop_oneof![
            inner.clone().prop_map(|e| DurationExpr::Neg(Box::new(e))),
            (prop::sample::select(ops), inner.clone(), inner.clone())
                .prop_map(|(op, a, b)| DurationExpr::Binary(op, Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| DurationExpr::MinOf(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| DurationExpr::MaxOf(Box::new(a), Box::new(b))),
        ]
    })
}

/// A duration expression as the parser builds it from its printed form: the
/// printer adds the parentheses precedence needs (and around an offset that
/// is not a single term), and the parser keeps written parentheses.
fn duration_canon(e: DurationExpr, offset: bool) -> DurationExpr {
    use DurationExpr::*;
    // Sums 1, products 2, a sign 3, powers 4, terms 5.
    fn prec(e: &DurationExpr) -> u8 {
        match e {
            Binary(DurationOp::Add | DurationOp::Sub, ..) => 1,
            Binary(DurationOp::Pow, ..) => 4,
            Binary(..) => 2,
            Neg(_) => 3,
            _ => 5,
        }
    }
    fn operand(e: DurationExpr, min: u8) -> Box<DurationExpr> {
        let e = canon_dur(e);
        Box::new(if prec(&e) < min {
            Paren(Box::new(e))
        } else {
            e
        })
    }
    fn canon_dur(e: DurationExpr) -> DurationExpr {
        match e {
            Neg(x) => Neg(operand(*x, 3)),
            Binary(DurationOp::Pow, a, b) => {
                Binary(DurationOp::Pow, operand(*a, 5), operand(*b, 3))
            }
            Binary(op, a, b) => {
                let p = prec(&Binary(op, Box::new(Step), Box::new(Step)));
                Binary(op, operand(*a, p), operand(*b, p + 1))
            }
            MinOf(a, b) => MinOf(Box::new(canon_dur(*a)), Box::new(canon_dur(*b))),
            MaxOf(a, b) => MaxOf(Box::new(canon_dur(*a)), Box::new(canon_dur(*b))),
            Paren(x) => Paren(Box::new(canon_dur(*x))),
            leaf => leaf,
        }
    }
    let single = |e: &DurationExpr| !matches!(e, Binary(..) | Neg(_));
    let e = canon_dur(e);
    let fits = match &e {
        Neg(x) => single(x) && !matches!(**x, Number(_) | Duration(_)),
        e => single(e),
    };
    if offset && !fits {
        Paren(Box::new(e))
    } else {
        e
    }
}

/// A duration as the parser stores it: a plain value, or an expression with
/// its value (0 until a query computes it when it uses `step()`/`range()`).
/// Expressions the parser would reject are filtered out.
fn duration_spec(negative: bool) -> impl Strategy<Value = (i64, Option<Box<DurationExpr>>)> {
    let plain = if negative {
        offset().boxed()
    } else {
        duration().boxed()
    };
    prop_oneof![
        4 => plain.prop_map(|ms| (ms, None)),
        1 => duration_expr().prop_filter_map("valid duration expression", move |e| {
            let e = duration_canon(e, negative);
            if matches!(e, DurationExpr::Number(_) | DurationExpr::Duration(_)) {
                None
            } else if e.is_dynamic() {
                Some((0, Some(Box::new(e))))
            } else {
                e.millis(None, negative).ok().map(|ms| (ms, Some(Box::new(e))))
            }
        }),
    ]
}

fn selector() -> impl Strategy<Value = VectorSelector> {
    (
        metric_name(),
        prop::collection::vec(matcher(), 0..3),
        duration_spec(true),
        at_modifier(),
        prop_oneof![
            6 => Just(Boundary::Plain),
            1 => Just(Boundary::Anchored),
            1 => Just(Boundary::Smoothed),
        ],
    )
        .prop_map(|(name, ms, (offset, offset_expr), at, boundary)| {
            let mut matchers: Vec<Matcher> =
                ms.into_iter().filter(|m| m.name != "__name__").collect();
            if name.is_none() {
                matchers.push(Matcher::equal("job", "x"));
            }
            if let Some(n) = &name {
                matchers.push(Matcher::equal("__name__", n.as_str()));
            }
            VectorSelector {
                name,
                matchers,
                offset,
                offset_expr,
                at,
                boundary,
            }
        })
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => prop::num::f64::ANY,
        2 => (0u32..1000).prop_map(f64::from),
        1 => prop::sample::select(vec![f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -0.0, 1e21, 1e-5]),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        number().prop_map(Expr::Number),
        string_literal().prop_map(Expr::String),
        selector().prop_map(Expr::VectorSelector),
        (selector(), duration_spec(false)).prop_map(|(selector, (range, range_expr))| {
            Expr::MatrixSelector(MatrixSelector {
                selector,
                range,
                range_expr,
            })
        }),
    ]
}

const BIN_OPS: &[BinOp] = &[
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::Mod,
    BinOp::Pow,
    BinOp::Atan2,
    BinOp::Eql,
    BinOp::Neq,
    BinOp::Gtr,
    BinOp::Lss,
    BinOp::Gte,
    BinOp::Lte,
    BinOp::And,
    BinOp::Or,
    BinOp::Unless,
];

const FUNCS: &[&str] = &[
    "abs",
    "rate",
    "time",
    "round",
    "clamp",
    "label_replace",
    "label_join",
    "histogram_quantile",
    "vector",
    "scalar",
    "absent_over_time",
    "predict_linear",
    "day_of_month",
    "pi",
    "quantile_over_time",
    "sort_by_label",
];

fn vector_matching() -> impl Strategy<Value = VectorMatching> {
    let card = prop::sample::select(vec![
        Cardinality::OneToOne,
        Cardinality::ManyToOne,
        Cardinality::OneToMany,
    ]);
    (
        card,
        prop::collection::vec(label_name(), 0..3),
        prop::bool::ANY,
        prop::collection::vec(label_name(), 0..2),
    )
        .prop_map(|(card, labels, on, include)| VectorMatching {
            card,
            labels,
            on,
            include,
        })
}

/// Random trees; `canon` then makes them valid and parser-shaped.
fn tree() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Paren(Box::new(e))),
            (prop::bool::ANY, inner.clone()).prop_map(|(neg, e)| Expr::Unary(
                if neg { UnaryOp::Neg } else { UnaryOp::Pos },
                Box::new(e)
            )),
            (
                prop::sample::select(BIN_OPS),
                inner.clone(),
                inner.clone(),
                prop::bool::ANY,
                vector_matching()
            )
                .prop_map(|(op, l, r, return_bool, matching)| {
                    Expr::Binary(BinaryExpr {
                        op,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                        return_bool,
                        matching,
                    })
                }),
            (
                prop::sample::select(AggregateOp::ALL.to_vec()),
                inner.clone(),
                inner.clone(),
                prop::collection::vec(label_name(), 0..3),
                prop::bool::ANY
            )
                .prop_map(|(op, e, p, grouping, without)| Expr::Aggregate(
                    AggregateExpr {
                        op,
                        expr: Box::new(e),
                        param: Some(Box::new(p)),
                        grouping,
                        without,
                        param_pos: Default::default(),
                    }
                )),
            (
                prop::sample::select(FUNCS),
                prop::collection::vec(inner.clone(), 0..5)
            )
                .prop_map(|(f, args)| Expr::Call(Call {
                    func: f.to_string(),
                    args,
                    pos: Default::default(),
                })),
            (
                inner,
                duration_spec(false),
                prop::option::of(duration_spec(false)),
                duration_spec(true),
                at_modifier()
            )
                .prop_map(
                    |(e, (range, range_expr), step, (offset, offset_expr), at)| {
                        let (step, step_expr) = match step {
                            Some((ms, expr)) => ((ms != 0).then_some(ms), expr),
                            None => (None, None),
                        };
                        Expr::Subquery(SubqueryExpr {
                            expr: Box::new(e),
                            range,
                            step,
                            offset,
                            range_expr,
                            step_expr,
                            offset_expr,
                            at,
                        })
                    }
                ),
        ]
    })
}

fn default_selector() -> Expr {
    Expr::VectorSelector(VectorSelector {
        name: Some("x".into()),
        matchers: vec![Matcher::equal("__name__", "x")],
        offset: 0,
        offset_expr: None,
        at: None,
        boundary: Boundary::Plain,
    })
}

fn coerce(e: Expr, want: ValueType) -> Expr {
    if e.value_type() == want {
        return e;
    }
    match want {
        ValueType::Scalar => Expr::Number(1.0),
        ValueType::Vector => default_selector(),
        ValueType::String => Expr::String("s".into()),
        ValueType::Matrix => Expr::MatrixSelector(MatrixSelector {
            selector: VectorSelector {
                name: Some("x".into()),
                matchers: vec![Matcher::equal("__name__", "x")],
                offset: 0,
                offset_expr: None,
                at: None,
                boundary: Boundary::Plain,
            },
            range: 60_000,
            range_expr: None,
        }),
    }
}

fn scalar_or_vector(e: Expr) -> Expr {
    match e.value_type() {
        ValueType::Scalar | ValueType::Vector => e,
        _ => default_selector(),
    }
}

fn paren(e: Expr) -> Expr {
    Expr::Paren(Box::new(e))
}

/// Would the parser need parentheses to build `child` under `op`?
fn needs_parens(op: BinOp, child: &Expr, is_rhs: bool) -> bool {
    match child {
        Expr::Binary(c) => {
            let (p, cp) = (op.precedence(), c.op.precedence());
            cp < p || (cp == p && is_rhs != op.is_right_associative())
        }
        Expr::Unary(..) => op == BinOp::Pow && !is_rhs,
        // `-1` prints with a sign, which parses as a unary operator.
        Expr::Number(v) => op == BinOp::Pow && !is_rhs && !v.is_nan() && v.is_sign_negative(),
        _ => false,
    }
}

/// Makes a random tree valid (types, modifiers) and shaped like the
/// parser's output (explicit `Paren` nodes, folded signs).
/// Moves a child out of a tree node (`Expr` implements `Drop`, so a
/// by-value `match` cannot move its fields out).
fn take(x: &mut Expr) -> Expr {
    std::mem::replace(x, Expr::Number(0.0))
}

fn canon(mut e: Expr) -> Expr {
    match &mut e {
        Expr::Paren(x) => paren(canon(take(x))),
        Expr::Unary(op, x) => match scalar_or_vector(canon(take(x))) {
            Expr::Number(v) => Expr::Number(if *op == UnaryOp::Neg { -v } else { v }),
            x @ Expr::Binary(_) if !matches!(&x, Expr::Binary(b) if b.op == BinOp::Pow) => {
                Expr::Unary(*op, Box::new(paren(x)))
            }
            x => Expr::Unary(*op, Box::new(x)),
        },
        Expr::Binary(b) => {
            let mut b = b.clone();
            let lhs = scalar_or_vector(canon(*b.lhs));
            let rhs = scalar_or_vector(canon(*b.rhs));
            let (lt, rt) = (lhs.value_type(), rhs.value_type());
            if lt == ValueType::Scalar || rt == ValueType::Scalar {
                if b.op.is_set_operator() {
                    b.op = BinOp::Add;
                }
                b.matching = VectorMatching::default();
            } else if b.op.is_set_operator() {
                b.matching.card = Cardinality::ManyToMany;
                b.matching.include.clear();
            } else if b.matching.card == Cardinality::OneToOne {
                b.matching.include.clear();
            }
            if b.matching.on {
                let labels = b.matching.labels.clone();
                b.matching.include.retain(|l| !labels.contains(l));
            }
            b.return_bool = b.op.is_comparison()
                && (b.return_bool || (lt == ValueType::Scalar && rt == ValueType::Scalar));
            let lhs = if needs_parens(b.op, &lhs, false) {
                paren(lhs)
            } else {
                lhs
            };
            let rhs = if needs_parens(b.op, &rhs, true) {
                paren(rhs)
            } else {
                rhs
            };
            Expr::Binary(BinaryExpr {
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                ..b
            })
        }
        Expr::Aggregate(a) => {
            let a = a.clone();
            let expr = coerce(canon(*a.expr), ValueType::Vector);
            let param = a.param.map(|p| canon(*p));
            let param = match a.op {
                AggregateOp::CountValues => param.map(|p| coerce(p, ValueType::String)),
                op if op.takes_param() => param.map(|p| coerce(p, ValueType::Scalar)),
                _ => None,
            };
            Expr::Aggregate(AggregateExpr {
                expr: Box::new(expr),
                param: param.map(Box::new),
                ..a
            })
        }
        Expr::Call(c) => {
            let c = c.clone();
            let f = functions::lookup(&c.func).expect("generator uses known functions");
            let mut args = c.args.into_iter().map(canon);
            let args = f
                .arg_types
                .iter()
                .map(|t| {
                    coerce(
                        args.next().unwrap_or_else(|| coerce(Expr::Number(0.0), *t)),
                        *t,
                    )
                })
                .collect();
            Expr::Call(Call {
                func: c.func,
                args,
                pos: c.pos,
            })
        }
        Expr::Subquery(sq) => {
            let sq = sq.clone();
            let inner = coerce(canon(*sq.expr), ValueType::Vector);
            let inner = if matches!(inner, Expr::Binary(_) | Expr::Unary(..)) {
                paren(inner)
            } else {
                inner
            };
            Expr::Subquery(SubqueryExpr {
                expr: Box::new(inner),
                ..sq
            })
        }
        _ => e,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_trees_round_trip(raw in tree()) {
        let e = canon(raw);
        let printed = e.to_string();
        let parsed = parse_with(&printed, &opts());
        prop_assert!(parsed.is_ok(), "{} failed: {:?}\ntree: {:?}", printed, parsed, e);
        let parsed = parsed.unwrap_or(Expr::Number(0.0));
        prop_assert!(same(&parsed, &e), "{}\n got  {:?}\n want {:?}", printed, parsed, e);
        let pretty = prettify(&e);
        let reparsed = parse_with(&pretty, &opts());
        prop_assert!(reparsed.as_ref().is_ok_and(|r| same(r, &e)), "pretty:\n{}\n{:?}", pretty, reparsed);
    }
}
