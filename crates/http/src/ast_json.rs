//! The `parse_query` syntax tree as Prometheus 3 renders it (`translateAST`
//! in its `web/api/v1`), including, since Prometheus 3.12, the tree of a
//! duration written as an expression (`rangeExpr`, `stepExpr`,
//! `offsetExpr`).
//!
//! Prometheus renders the tree as parsed, before any duration expression is
//! computed: a range, step or offset given by an expression shows `0` in
//! its plain field and the expression beside it; a plain duration shows
//! its value and `null` beside it. An expression node is
//! `{"type": "durationExpr", "op", "lhs", "rhs", "wrapped"}`: `op` is the
//! operator, `step`, `range`, `min_of` or `max_of`; a unary minus has no
//! `lhs`; `wrapped` says the expression was written in parentheses. A
//! literal is `{"type": "numberLiteral", "val": <seconds>, "duration":
//! <written as a duration>}`. Prometheus's parser folds a minus into the
//! literal it precedes (`-5m` is the literal −300) and writes a
//! parenthesised literal as a unary plus (`(5m)` is `+` with `rhs` 300,
//! `wrapped`); both are reproduced here from promlite's tree.

use promlite_model::Matcher;
use promlite_promql::ast::{
    AtModifier, Boundary, Cardinality, DurationExpr, Expr, ValueType, VectorSelector,
};
use serde_json::{json, Map, Value as Json};

use promlite_promql::value::write_float;

/// A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
fn go_float(v: f64) -> String {
    let mut s = String::new();
    write_float(&mut s, v);
    s
}

fn value_type_go(t: ValueType) -> &'static str {
    t.api_name()
}

fn matchers_json(ms: &[Matcher]) -> Json {
    Json::Array(
        ms.iter()
            .map(|m| json!({"name": m.name, "value": m.value, "type": m.op.as_str()}))
            .collect(),
    )
}

fn at_json(at: Option<AtModifier>) -> (Json, Json) {
    match at {
        None => (Json::Null, Json::Null),
        Some(AtModifier::Timestamp(ms)) => (json!(ms), Json::Null),
        Some(AtModifier::Start) => (Json::Null, json!("start")),
        Some(AtModifier::End) => (Json::Null, json!("end")),
    }
}

/// The literal a duration expression is in Prometheus's tree, if it is one:
/// its value in seconds and whether it was written as a duration. A minus
/// before a literal is folded into it; parentheses make it an expression.
fn literal(d: &DurationExpr) -> Option<(f64, bool)> {
    match d {
        DurationExpr::Number(v) => Some((*v, false)),
        // Go's `Duration.Seconds()`: whole seconds plus the fraction.
        DurationExpr::Duration(ms) => Some((
            (ms / 1000) as f64 + ((ms % 1000) * 1_000_000) as f64 / 1e9,
            true,
        )),
        DurationExpr::Neg(x) => literal(x).map(|(v, dur)| (-v, dur)),
        _ => None,
    }
}

fn duration_node(op: &str, lhs: Json, rhs: Json, wrapped: bool) -> Json {
    json!({"type": "durationExpr", "op": op, "lhs": lhs, "rhs": rhs, "wrapped": wrapped})
}

/// One node of a duration expression (`translateDurationExpr`).
fn duration_json(d: &DurationExpr, wrapped: bool) -> Json {
    if let Some((v, duration)) = literal(d) {
        let lit = json!({"type": "numberLiteral", "val": go_float(v), "duration": duration});
        return if wrapped {
            duration_node("+", Json::Null, lit, true)
        } else {
            lit
        };
    }
    let two = |op: &str, a: &DurationExpr, b: &DurationExpr| {
        duration_node(
            op,
            duration_json(a, false),
            duration_json(b, false),
            wrapped,
        )
    };
    match d {
        // Parentheses mark the expression inside (twice is once).
        DurationExpr::Paren(inner) => duration_json(inner, true),
        DurationExpr::Neg(x) => duration_node("-", Json::Null, duration_json(x, false), wrapped),
        DurationExpr::Binary(op, a, b) => two(op.as_str(), a, b),
        DurationExpr::MinOf(a, b) => two("min_of", a, b),
        DurationExpr::MaxOf(a, b) => two("max_of", a, b),
        DurationExpr::Step => duration_node("step", Json::Null, Json::Null, wrapped),
        DurationExpr::Range => duration_node("range", Json::Null, Json::Null, wrapped),
        // Literals were handled above.
        DurationExpr::Number(_) | DurationExpr::Duration(_) => Json::Null,
    }
}

/// A range, step or offset: (the plain field, the expression field).
fn duration_fields(ms: i64, expr: Option<&DurationExpr>) -> (Json, Json) {
    match expr {
        Some(d) if literal(d).is_none() => (json!(0), duration_json(d, false)),
        _ => (json!(ms), Json::Null),
    }
}

fn selector_json(
    kind: &str,
    vs: &VectorSelector,
    range: Option<(i64, Option<&DurationExpr>)>,
) -> Json {
    let (ts, soe) = at_json(vs.at);
    let (offset, offset_expr) = duration_fields(vs.offset, vs.offset_expr.as_deref());
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("name".into(), json!(vs.name.clone().unwrap_or_default()));
    if let Some((ms, expr)) = range {
        let (range, range_expr) = duration_fields(ms, expr);
        m.insert("range".into(), range);
        m.insert("rangeExpr".into(), range_expr);
    }
    m.insert("offset".into(), offset);
    m.insert("offsetExpr".into(), offset_expr);
    m.insert("matchers".into(), matchers_json(&vs.matchers));
    m.insert("timestamp".into(), ts);
    m.insert("startOrEnd".into(), soe);
    m.insert("anchored".into(), json!(vs.boundary == Boundary::Anchored));
    m.insert("smoothed".into(), json!(vs.boundary == Boundary::Smoothed));
    Json::Object(m)
}

/// The syntax tree as Prometheus 3's `parse_query` renders it (`translateAST`).
/// Recursion depth follows the tree, which the parser bounds.
pub fn ast_json(e: &Expr) -> Json {
    match e {
        Expr::Number(v) => json!({"type": "numberLiteral", "val": go_float(*v)}),
        // Bytes that are not UTF-8 reach a client as U+FFFD, as Go's JSON writes them.
        Expr::String(s) => json!({"type": "stringLiteral", "val": s.to_string_lossy()}),
        Expr::VectorSelector(vs) => selector_json("vectorSelector", vs, None),
        Expr::MatrixSelector(ms) => selector_json(
            "matrixSelector",
            &ms.selector,
            Some((ms.range, ms.range_expr.as_deref())),
        ),
        Expr::Subquery(sq) => {
            let (ts, soe) = at_json(sq.at);
            let (range, range_expr) = duration_fields(sq.range, sq.range_expr.as_deref());
            let (offset, offset_expr) = duration_fields(sq.offset, sq.offset_expr.as_deref());
            let (step, step_expr) = duration_fields(sq.step.unwrap_or(0), sq.step_expr.as_deref());
            json!({"type": "subquery", "expr": ast_json(&sq.expr), "range": range, "rangeExpr": range_expr,
                   "offset": offset, "offsetExpr": offset_expr, "step": step, "stepExpr": step_expr,
                   "timestamp": ts, "startOrEnd": soe})
        }
        Expr::Paren(inner) => json!({"type": "parenExpr", "expr": ast_json(inner)}),
        Expr::Unary(op, inner) => {
            let op = match op {
                promlite_promql::ast::UnaryOp::Neg => "-",
                promlite_promql::ast::UnaryOp::Pos => "+",
            };
            json!({"type": "unaryExpr", "op": op, "expr": ast_json(inner)})
        }
        Expr::Binary(b) => {
            let vectors =
                b.lhs.value_type() == ValueType::Vector && b.rhs.value_type() == ValueType::Vector;
            let matching = if vectors {
                let card = match b.matching.card {
                    Cardinality::OneToOne => "one-to-one",
                    Cardinality::ManyToOne => "many-to-one",
                    Cardinality::OneToMany => "one-to-many",
                    Cardinality::ManyToMany => "many-to-many",
                };
                // `fillValues` (Prometheus 3.10): the experimental `fill*`
                // modifiers, which promlite does not parse.
                json!({"card": card, "labels": b.matching.labels, "on": b.matching.on,
                       "include": b.matching.include, "fillValues": {"lhs": null, "rhs": null}})
            } else {
                Json::Null
            };
            json!({"type": "binaryExpr", "op": b.op.as_str(), "lhs": ast_json(&b.lhs), "rhs": ast_json(&b.rhs),
                   "matching": matching, "bool": b.return_bool})
        }
        Expr::Aggregate(a) => {
            let param = a.param.as_deref().map(ast_json).unwrap_or(Json::Null);
            json!({"type": "aggregation", "op": a.op.as_str(), "expr": ast_json(&a.expr), "param": param,
                   "grouping": a.grouping, "without": a.without})
        }
        Expr::Call(c) => {
            let f = promlite_promql::functions::lookup(&c.func);
            let arg_types: Vec<&str> = f
                .map(|f| f.arg_types.iter().map(|t| value_type_go(*t)).collect())
                .unwrap_or_default();
            let func = json!({
                "name": c.func,
                "argTypes": arg_types,
                "variadic": f.map(|f| f.variadic).unwrap_or(0),
                "returnType": value_type_go(e.value_type()),
            });
            json!({"type": "call", "func": func, "args": c.args.iter().map(ast_json).collect::<Vec<_>>()})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_promql::ast::*;
    use promlite_promql::parser::parse;

    #[test]
    fn ast_like_prometheus() {
        let vs = VectorSelector {
            name: Some("up".into()),
            matchers: vec![Matcher::equal("job", "x"), Matcher::equal("__name__", "up")],
            offset: 60_000,
            offset_expr: None,
            at: Some(AtModifier::End),
            boundary: Boundary::Plain,
        };
        let e = Expr::Aggregate(AggregateExpr {
            op: AggregateOp::Sum,
            expr: Box::new(Expr::Call(Call {
                func: "rate".into(),
                args: vec![Expr::MatrixSelector(MatrixSelector {
                    selector: vs,
                    range: 300_000,
                    range_expr: None,
                })],
                pos: Default::default(),
            })),
            param: None,
            grouping: vec!["job".into()],
            without: false,
            param_pos: Default::default(),
        });
        let j = ast_json(&e);
        assert_eq!(j["type"], "aggregation");
        assert_eq!(j["param"], Json::Null);
        assert_eq!(j["grouping"], json!(["job"]));
        let call = &j["expr"];
        assert_eq!(
            call["func"],
            json!({"name": "rate", "argTypes": ["matrix"], "variadic": 0, "returnType": "vector"})
        );
        let ms = &call["args"][0];
        assert_eq!(ms["type"], "matrixSelector");
        assert_eq!(ms["range"], 300_000);
        assert_eq!(ms["offset"], 60_000);
        assert_eq!(ms["startOrEnd"], "end");
        assert_eq!(ms["timestamp"], Json::Null);
        assert_eq!(
            (&ms["anchored"], &ms["smoothed"]),
            (&json!(false), &json!(false))
        );
        assert_eq!(
            ms["matchers"][0],
            json!({"name": "job", "value": "x", "type": "="})
        );
        let b = Expr::Binary(BinaryExpr {
            op: BinOp::Add,
            lhs: Box::new(Expr::Number(1.0)),
            rhs: Box::new(Expr::Number(2.5)),
            return_bool: false,
            matching: VectorMatching::default(),
        });
        assert_eq!(
            ast_json(&b),
            json!({"type": "binaryExpr", "op": "+", "lhs": {"type": "numberLiteral", "val": "1"},
                   "rhs": {"type": "numberLiteral", "val": "2.5"}, "matching": null, "bool": false})
        );
    }

    fn dexpr(op: &str, lhs: Json, rhs: Json, wrapped: bool) -> Json {
        json!({"type": "durationExpr", "op": op, "lhs": lhs, "rhs": rhs, "wrapped": wrapped})
    }

    fn dnum(val: &str, duration: bool) -> Json {
        json!({"type": "numberLiteral", "val": val, "duration": duration})
    }

    /// `query`'s tree has `kind` and these fields.
    fn check(query: &str, kind: &str, fields: &[(&str, Json)]) {
        let e = parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        let j = ast_json(&e);
        assert_eq!(j["type"], kind, "{query}");
        for (name, want) in fields {
            let got = j.get(*name).unwrap_or_else(|| panic!("{query}: no {name}"));
            assert_eq!(got, want, "{query}: {name}");
        }
    }

    /// The cases of Prometheus's `TestTranslateASTDurationExpressions`
    /// (web/api/v1/translate_ast_test.go), expected values as there.
    #[test]
    fn duration_expressions_like_prometheus() {
        let plus = |a, b| dexpr("+", a, b, false);
        check(
            "foo[5m]",
            "matrixSelector",
            &[
                ("range", json!(300_000)),
                ("rangeExpr", Json::Null),
                ("offset", json!(0)),
                ("offsetExpr", Json::Null),
            ],
        );
        check(
            "foo[5m] offset 1m",
            "matrixSelector",
            &[
                ("range", json!(300_000)),
                ("rangeExpr", Json::Null),
                ("offset", json!(60_000)),
                ("offsetExpr", Json::Null),
            ],
        );
        check(
            "foo[5m+1m]",
            "matrixSelector",
            &[
                ("range", json!(0)),
                ("rangeExpr", plus(dnum("300", true), dnum("60", true))),
            ],
        );
        check(
            "foo[5m+1m] offset (10m/2)",
            "matrixSelector",
            &[
                ("rangeExpr", plus(dnum("300", true), dnum("60", true))),
                ("offset", json!(0)),
                (
                    "offsetExpr",
                    dexpr("/", dnum("600", true), dnum("2", false), true),
                ),
            ],
        );
        let step = || dexpr("step", Json::Null, Json::Null, false);
        check(
            "foo[max_of(step(),5m+3m) ]",
            "matrixSelector",
            &[
                ("range", json!(0)),
                (
                    "rangeExpr",
                    dexpr(
                        "max_of",
                        step(),
                        plus(dnum("300", true), dnum("180", true)),
                        false,
                    ),
                ),
            ],
        );
        check(
            "foo[min_of(max_of(step(),5m+3m),10m-2m)]",
            "matrixSelector",
            &[
                ("range", json!(0)),
                (
                    "rangeExpr",
                    dexpr(
                        "min_of",
                        dexpr(
                            "max_of",
                            step(),
                            plus(dnum("300", true), dnum("180", true)),
                            false,
                        ),
                        dexpr("-", dnum("600", true), dnum("120", true), false),
                        false,
                    ),
                ),
            ],
        );
        check(
            "foo[range()]",
            "matrixSelector",
            &[
                ("range", json!(0)),
                ("rangeExpr", dexpr("range", Json::Null, Json::Null, false)),
            ],
        );
        check(
            "foo[5m:1m]",
            "subquery",
            &[
                ("range", json!(300_000)),
                ("rangeExpr", Json::Null),
                ("step", json!(60_000)),
                ("stepExpr", Json::Null),
                ("offset", json!(0)),
                ("offsetExpr", Json::Null),
            ],
        );
        check(
            "foo[4s+4s:1s*2] offset (5s-8)",
            "subquery",
            &[
                ("range", json!(0)),
                ("rangeExpr", plus(dnum("4", true), dnum("4", true))),
                ("step", json!(0)),
                (
                    "stepExpr",
                    dexpr("*", dnum("1", true), dnum("2", false), false),
                ),
                ("offset", json!(0)),
                (
                    "offsetExpr",
                    dexpr("-", dnum("5", true), dnum("8", false), true),
                ),
            ],
        );
        check(
            "foo offset 5m",
            "vectorSelector",
            &[("offset", json!(300_000)), ("offsetExpr", Json::Null)],
        );
        check(
            "foo offset -min_of(5s,step()+8s)",
            "vectorSelector",
            &[
                ("offset", json!(0)),
                (
                    "offsetExpr",
                    dexpr(
                        "-",
                        Json::Null,
                        dexpr(
                            "min_of",
                            dnum("5", true),
                            plus(step(), dnum("8", true)),
                            false,
                        ),
                        false,
                    ),
                ),
            ],
        );
    }

    /// Prometheus's parser folds a minus into a literal and writes a
    /// parenthesised literal as a wrapped unary plus (its
    /// `applyUnaryOpToDurationExpr` and `wrapParenDurationExpr`).
    #[test]
    fn signs_and_parentheses_like_prometheus_parser() {
        let wrapped_lit = |v: &str| dexpr("+", Json::Null, dnum(v, true), true);
        check(
            "foo[(5m)]",
            "matrixSelector",
            &[("range", json!(0)), ("rangeExpr", wrapped_lit("300"))],
        );
        check(
            "foo[((5m))]",
            "matrixSelector",
            &[("rangeExpr", wrapped_lit("300"))],
        );
        check(
            "foo[-5m+6m]",
            "matrixSelector",
            &[(
                "rangeExpr",
                dexpr("+", dnum("-300", true), dnum("360", true), false),
            )],
        );
        // A double minus folds back to a literal: a plain range.
        check(
            "foo[- -90s]",
            "matrixSelector",
            &[("range", json!(90_000)), ("rangeExpr", Json::Null)],
        );
        check(
            "foo offset -(5m)",
            "vectorSelector",
            &[
                ("offset", json!(0)),
                (
                    "offsetExpr",
                    dexpr("-", Json::Null, wrapped_lit("300"), false),
                ),
            ],
        );
        check(
            "foo offset (-5m)",
            "vectorSelector",
            &[("offsetExpr", wrapped_lit("-300"))],
        );
        check(
            "foo offset -step()",
            "vectorSelector",
            &[(
                "offsetExpr",
                dexpr(
                    "-",
                    Json::Null,
                    dexpr("step", Json::Null, Json::Null, false),
                    false,
                ),
            )],
        );
        check(
            "foo[(step())]",
            "matrixSelector",
            &[("rangeExpr", dexpr("step", Json::Null, Json::Null, true))],
        );
        check(
            "foo[1500ms * 2]",
            "matrixSelector",
            &[(
                "rangeExpr",
                dexpr("*", dnum("1.5", true), dnum("2", false), false),
            )],
        );
    }

    #[test]
    fn vector_matching_and_strings() {
        let j = ast_json(&parse("a + on(x) b").expect("parses"));
        assert_eq!(
            j["matching"],
            json!({"card": "one-to-one", "labels": ["x"], "on": true, "include": [],
                   "fillValues": {"lhs": null, "rhs": null}})
        );
        let j = ast_json(&parse(r#"count_values("a\xc5z", x)"#).expect("parses"));
        assert_eq!(
            j["param"],
            json!({"type": "stringLiteral", "val": "a\u{fffd}z"})
        );
    }
}
