//! Duration expressions (`foo[26m+4m]`, `foo offset -step()`): parse
//! errors with positions, bounded nesting, and `step()`/`range()` computed
//! per query. Their evaluation is also covered by the conformance script
//! `duration_expression.test`.

use promlite_model::{labels, MemStorage};
use promlite_promql::ast::{DurationExpr, Expr};
use promlite_promql::parser::parse;
use promlite_promql::{Engine, EngineOptions, QueryError, QueryOptions, Value};

/// `parse` fails with `message` starting at 1-based `column` of line 1.
fn fails_at(query: &str, column: usize, message: &str) {
    match parse(query) {
        Ok(e) => panic!("{query}: parsed as {e:?}"),
        Err(e) => {
            assert_eq!((e.line, e.column), (1, column), "{query}: {e}");
            assert!(e.message.contains(message), "{query}: {e}");
        }
    }
}

#[test]
fn constant_expressions_are_computed_by_the_parser() {
    let e = parse("foo[2m*(10+5)]").expect("parses");
    let Expr::MatrixSelector(m) = &e else {
        panic!("not a matrix selector");
    };
    assert_eq!(m.range, 30 * 60_000);
    assert!(m.range_expr.is_some());
    let e = parse("foo offset -(20*((((8 - 2) / 3) * 7s) % 4) + 8000ms)").expect("parses");
    let Expr::VectorSelector(vs) = &e else {
        panic!("not a vector selector");
    };
    assert_eq!(vs.offset, -(20 * 2 + 8) * 1000);
    // A plain literal keeps the simple form; a parenthesised one is an
    // expression, as in Prometheus (and prints back with its parentheses).
    let range = |q: &str| match &parse(q).expect("parses") {
        Expr::MatrixSelector(m) => (m.range, m.range_expr.as_ref().map(|e| e.to_string())),
        other => panic!("not a matrix selector: {other:?}"),
    };
    assert_eq!(range("foo[5m]"), (300_000, None));
    assert_eq!(range("foo[(5m)]"), (300_000, Some("(5m)".into())));
    assert_eq!(
        range("foo[((1m + 1m)) * 2]"),
        (240_000, Some("((1m + 1m)) * 2".into()))
    );
}

#[test]
fn offset_takes_one_term_so_operators_after_it_apply_to_the_selector() {
    let e = parse("foo offset 100 + 2").expect("parses");
    let Expr::Binary(b) = &e else {
        panic!("not a binary expression");
    };
    let Expr::VectorSelector(vs) = &*b.lhs else {
        panic!("lhs is not the selector");
    };
    assert_eq!(vs.offset, 100_000);
    assert!(matches!(*b.rhs, Expr::Number(v) if v == 2.0));
    let e = parse("foo offset -step() * 2").expect("parses");
    let Expr::Binary(b) = &e else {
        panic!("not a binary expression");
    };
    let Expr::VectorSelector(vs) = &*b.lhs else {
        panic!("lhs is not the selector");
    };
    assert_eq!(
        vs.offset_expr.as_deref(),
        Some(&DurationExpr::Neg(Box::new(DurationExpr::Step)))
    );
}

#[test]
fn bad_expressions_fail_with_a_position() {
    fails_at("foo[5m-10m]", 5, "duration must be greater than 0");
    fails_at("foo[1m/0]", 5, "division by zero");
    fails_at("foo offset (1m % 0)", 12, "modulo by zero");
    fails_at("foo[10^20]", 5, "duration is out of range");
    fails_at("foo[1m:30s-30s]", 8, "duration must be greater than 0");
    fails_at("foo[foo]", 5, "unexpected identifier \"foo\"");
    fails_at("foo[step]", 5, "unexpected identifier \"step\"");
    fails_at(
        "foo[min_of(1m)]",
        14,
        "unexpected \")\" in call to min_of(), expected \",\"",
    );
    fails_at("foo[5m+]", 8, "unexpected \"]\"");
    fails_at(
        "foo offset 1m offset (2m)",
        1,
        "offset may not be set multiple times",
    );
    fails_at(
        "foo offset (1m) [5m]",
        17,
        "no offset modifiers allowed before range",
    );
}

#[test]
fn nesting_is_bounded_before_any_recursion_gets_deep() {
    let deep = format!("foo[{}1m{}]", "(".repeat(5000), ")".repeat(5000));
    assert!(parse(&deep)
        .unwrap_err()
        .message
        .contains("duration expression nesting too deep"));
    let chain = format!("foo[{}1m]", "1s+".repeat(5000));
    assert!(parse(&chain)
        .unwrap_err()
        .message
        .contains("duration expression nesting too deep"));
    let signs = format!("foo[{}1m]", "-".repeat(5000));
    assert!(parse(&signs).is_err());
    // Within the bound it parses.
    let ok = format!("foo[{}1m]", "1s+".repeat(50));
    assert!(parse(&ok).is_ok());
}

fn storage() -> MemStorage {
    let s = MemStorage::new();
    let pts: Vec<(i64, f64)> = (0..=100).map(|i| (i * 1000, i as f64)).collect();
    s.insert(labels!("__name__" => "m"), &pts);
    s
}

#[test]
fn step_and_range_are_computed_for_each_query() {
    let st = storage();
    let engine = Engine::new(EngineOptions::default());
    let q = QueryOptions::default();
    let r = engine
        .range_query(&st, "count_over_time(m[step()])", 50_000, 60_000, 5_000, &q)
        .unwrap();
    let Value::Matrix(ss) = r.value else {
        panic!("not a matrix")
    };
    let vals: Vec<f64> = ss[0].floats.iter().map(|p| p.f).collect();
    assert_eq!(vals, vec![5.0, 5.0, 5.0]);
    // The same parsed text with another step gives another window.
    let r = engine
        .range_query(
            &st,
            "count_over_time(m[step()])",
            50_000,
            60_000,
            10_000,
            &q,
        )
        .unwrap();
    let Value::Matrix(ss) = r.value else {
        panic!("not a matrix")
    };
    assert_eq!(ss[0].floats.len(), 2);
    assert!(ss[0].floats.iter().all(|p| p.f == 10.0));
    // range() is end − start; an instant query has step() = range() = 0.
    let r = engine
        .range_query(&st, "m offset range()", 50_000, 60_000, 5_000, &q)
        .unwrap();
    let Value::Matrix(ss) = r.value else {
        panic!("not a matrix")
    };
    let vals: Vec<f64> = ss[0].floats.iter().map(|p| p.f).collect();
    assert_eq!(vals, vec![40.0, 45.0, 50.0]);
    let r = engine
        .instant_query(&st, "m offset step()", 50_000, &q)
        .unwrap();
    let Value::Vector(v) = r.value else {
        panic!("not a vector")
    };
    assert_eq!(v[0].f, 50.0);
    let err = engine
        .instant_query(&st, "count_over_time(m[step()])", 50_000, &q)
        .unwrap_err();
    assert!(matches!(err, QueryError::BadData(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("range [step()]: duration must be greater than 0"),
        "{err}"
    );
}
