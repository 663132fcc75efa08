//! Hand-built syntax trees for the parser tests (`parser_valid*.rs`), which
//! include this file with `#[path]`.
#![allow(dead_code)]

use promlite_model::{MatchOp, Matcher};
use promlite_promql::ast::*;
use promlite_promql::parser::parse;

/// The `Debug` text of `e` without the source positions of calls, which
/// hand-built trees do not have.
pub fn without_positions(e: &Expr) -> String {
    let re = regex::Regex::new(r"pos: (CallPos \{[^}]*\}|Pos\(\d+\))").expect("valid regex");
    re.replace_all(&format!("{e:?}"), "").into_owned()
}

pub fn num(v: f64) -> Expr {
    Expr::Number(v)
}

pub fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).expect("valid matcher")
}

pub fn vs_m(name: Option<&str>, matchers: Vec<Matcher>) -> VectorSelector {
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

pub fn sel(name: &str) -> Expr {
    Expr::VectorSelector(vs_m(Some(name), vec![]))
}

pub fn sel_with(
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

pub fn matrix(name: &str, range: i64, offset: i64, at: Option<AtModifier>) -> Expr {
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

pub fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
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

pub fn bin_full(
    op: BinOp,
    lhs: Expr,
    rhs: Expr,
    return_bool: bool,
    matching: VectorMatching,
) -> Expr {
    Expr::Binary(BinaryExpr {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        return_bool,
        matching,
    })
}

pub fn matching(card: Cardinality, on: bool, labels: &[&str], include: &[&str]) -> VectorMatching {
    VectorMatching {
        card,
        on,
        labels: labels.iter().map(|s| s.to_string()).collect(),
        include: include.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn neg(e: Expr) -> Expr {
    Expr::Unary(UnaryOp::Neg, Box::new(e))
}

pub fn paren(e: Expr) -> Expr {
    Expr::Paren(Box::new(e))
}

pub fn call(f: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(Call {
        func: f.to_string(),
        args,
        pos: Default::default(),
    })
}

pub fn agg(
    op: AggregateOp,
    expr: Expr,
    param: Option<Expr>,
    grouping: &[&str],
    without: bool,
) -> Expr {
    Expr::Aggregate(AggregateExpr {
        op,
        expr: Box::new(expr),
        param: param.map(Box::new),
        grouping: grouping.iter().map(|s| s.to_string()).collect(),
        without,
        param_pos: Default::default(),
    })
}

pub fn subquery(
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

pub const S: i64 = 1000;
pub const MIN: i64 = 60 * S;
pub const H: i64 = 60 * MIN;

pub fn check(cases: Vec<(&str, Expr)>) {
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
