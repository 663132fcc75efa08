//! Printing expressions back to PromQL.
//!
//! [`Expr`]'s `Display` gives the canonical one-line form of Prometheus's
//! `String()`: `sum by (job) (rate(x[5m] offset 1m))`, `x @ 100.000`,
//! `a + on (b) group_left (c) d`, `foo{a="b",c=~"d"}`, numbers without
//! exponent (`1000000`, `+Inf`, `NaN`), strings double-quoted with Go
//! escapes, durations via
//! `format_duration`. For every tree the parser produces,
//! `parse(&e.to_string()) == Ok(e)`.
//!
//! Differences from Prometheus, all to keep that round trip exact: matchers
//! keep their order (Prometheus sorts them), and `group_left`/`group_right`
//! are printed even after an empty `ignoring ()`. For trees built by hand
//! that the parser could not produce (say `Binary(*)` under `Binary(^)`
//! without a `Paren`), parentheses are added so the text means the tree.
//!
//! [`prettify`] is the multi-line form of `/api/v1/format_query`.

use std::fmt::{self, Write};

use promlite_model::duration::format_duration;
use promlite_model::{Matcher, METRIC_NAME};

use crate::ast::{
    AggregateExpr, AtModifier, BinOp, BinaryExpr, Boundary, Cardinality, Expr, SubqueryExpr,
    VectorMatching, VectorSelector,
};
use crate::duration_expr::{offset_text, DurationExpr};
use crate::parser::go_quote;

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, self)
    }
}

/// Formats a float like Prometheus's printer (`strconv.FormatFloat(v, 'f',
/// -1, 64)`): shortest round-trip digits, never an exponent; `+Inf`,
/// `-Inf`, `NaN`.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        // Rust's `Display` is shortest-round-trip without exponent, as Go's 'f' with -1.
        format!("{v}")
    }
}

/// True for names Prometheus prints unquoted (`[a-zA-Z_][a-zA-Z0-9_]*`).
fn is_legacy_label(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// True for metric names that can be written before braces.
fn is_bare_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    let lower = s.to_ascii_lowercase();
    chars
        .next()
        .is_some_and(|c| c == '_' || c == ':' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c == ':' || c.is_ascii_alphanumeric())
        && ![
            "on",
            "ignoring",
            "group_left",
            "group_right",
            "bool",
            "atan2",
            "inf",
            "nan",
        ]
        .contains(&lower.as_str())
}

fn label_name(s: &str) -> String {
    // `inf`/`nan` would lex as numbers in a grouping list.
    if is_legacy_label(s) && !s.eq_ignore_ascii_case("inf") && !s.eq_ignore_ascii_case("nan") {
        s.to_string()
    } else {
        go_quote(s)
    }
}

fn label_list(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| label_name(l))
        .collect::<Vec<_>>()
        .join(", ")
}

fn matcher(m: &Matcher) -> String {
    format!(
        "{}{}{}",
        label_name(&m.name),
        m.op.as_str(),
        go_quote(&m.value)
    )
}

fn at_suffix(at: &Option<AtModifier>) -> String {
    match at {
        None => String::new(),
        Some(AtModifier::Start) => " @ start()".to_string(),
        Some(AtModifier::End) => " @ end()".to_string(),
        Some(AtModifier::Timestamp(ms)) => {
            let sign = if *ms < 0 { "-" } else { "" };
            let a = ms.unsigned_abs();
            format!(" @ {sign}{}.{:03}", a / 1000, a % 1000)
        }
    }
}

fn offset_suffix(offset: i64, expr: &Option<Box<DurationExpr>>) -> String {
    if let Some(e) = expr {
        offset_text(e)
    } else if offset == 0 {
        String::new()
    } else {
        format!(" offset {}", format_duration(offset))
    }
}

/// A range or step: the expression as written, else the value.
fn duration_text(ms: i64, expr: &Option<Box<DurationExpr>>) -> String {
    match expr {
        Some(e) => e.to_string(),
        None => format_duration(ms),
    }
}

/// A subquery's step (empty for `[range:]`).
fn step_text(sq: &SubqueryExpr) -> String {
    match (&sq.step_expr, sq.step) {
        (Some(e), _) => e.to_string(),
        (None, Some(ms)) => format_duration(ms),
        (None, None) => String::new(),
    }
}

fn selector(vs: &VectorSelector, with_modifiers: bool) -> String {
    let mut out = String::new();
    let mut matchers: Vec<&Matcher> = vs.matchers.iter().collect();
    if let Some(name) = vs.name.as_deref().filter(|n| is_bare_metric_name(n)) {
        // The parser appends the name matcher last; drop exactly that one.
        if let Some(pos) = matchers.iter().rposition(|m| {
            m.name == METRIC_NAME && m.op == promlite_model::MatchOp::Equal && m.value == name
        }) {
            matchers.remove(pos);
        }
        out.push_str(name);
    }
    if !matchers.is_empty() || out.is_empty() {
        out.push('{');
        out.push_str(
            &matchers
                .iter()
                .map(|m| matcher(m))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('}');
    }
    if with_modifiers {
        out.push_str(&at_suffix(&vs.at));
        out.push_str(&boundary_suffix(vs.boundary));
        out.push_str(&offset_suffix(vs.offset, &vs.offset_expr));
    }
    out
}

/// ` anchored`, ` smoothed` or nothing.
fn boundary_suffix(b: Boundary) -> String {
    b.keyword().map(|k| format!(" {k}")).unwrap_or_default()
}

fn matching_str(b: &BinaryExpr) -> String {
    let m: &VectorMatching = &b.matching;
    let grouped = matches!(m.card, Cardinality::ManyToOne | Cardinality::OneToMany);
    if m.labels.is_empty() && !m.on && !grouped {
        return String::new();
    }
    let mut s = format!(
        " {} ({})",
        if m.on { "on" } else { "ignoring" },
        label_list(&m.labels)
    );
    if grouped {
        let side = if m.card == Cardinality::ManyToOne {
            "left"
        } else {
            "right"
        };
        let _ = write!(s, " group_{side} ({})", label_list(&m.include));
    }
    s
}

/// Does `child` need parentheses as the `lhs`/`rhs` of `op`?
fn needs_parens(op: BinOp, child: &Expr, is_rhs: bool) -> bool {
    match child {
        Expr::Binary(c) => {
            let (p, cp) = (op.precedence(), c.op.precedence());
            cp < p || (cp == p && (is_rhs != op.is_right_associative()))
        }
        Expr::Unary(..) => op == BinOp::Pow && !is_rhs,
        Expr::Number(v) => op == BinOp::Pow && !is_rhs && prints_negative(*v),
        _ => false,
    }
}

/// True if the number prints with a `-`, which would re-parse as a unary
/// minus binding looser than `^`.
fn prints_negative(v: f64) -> bool {
    !v.is_nan() && v.is_sign_negative()
}

/// Does `e` need parentheses before a postfix `[...]`, or as the operand
/// of a unary operator (`postfix == false`)?
fn needs_parens_operand(e: &Expr, postfix: bool) -> bool {
    match e {
        Expr::Binary(b) => postfix || b.op != BinOp::Pow,
        Expr::Unary(..) => postfix,
        Expr::Number(v) => postfix || prints_negative(*v) || v.is_infinite(),
        _ => false,
    }
}

fn paren_if(f: &mut fmt::Formatter<'_>, e: &Expr, cond: bool) -> fmt::Result {
    if cond {
        write!(f, "({e})")
    } else {
        write_expr(f, e)
    }
}

fn agg_head(a: &AggregateExpr) -> String {
    let mut s = a.op.as_str().to_string();
    if a.without {
        let _ = write!(s, " without ({}) ", label_list(&a.grouping));
    } else if !a.grouping.is_empty() {
        let _ = write!(s, " by ({}) ", label_list(&a.grouping));
    }
    s
}

fn write_expr(f: &mut fmt::Formatter<'_>, e: &Expr) -> fmt::Result {
    match e {
        Expr::Number(v) => f.write_str(&format_number(*v)),
        Expr::String(s) => f.write_str(&s.quoted()),
        Expr::VectorSelector(vs) => f.write_str(&selector(vs, true)),
        Expr::MatrixSelector(m) => {
            write!(
                f,
                "{}[{}]{}{}{}",
                selector(&m.selector, false),
                duration_text(m.range, &m.range_expr),
                boundary_suffix(m.selector.boundary),
                at_suffix(&m.selector.at),
                offset_suffix(m.selector.offset, &m.selector.offset_expr)
            )
        }
        Expr::Subquery(sq) => {
            paren_if(f, &sq.expr, needs_parens_operand(&sq.expr, true))?;
            let step = step_text(sq);
            write!(
                f,
                "[{}:{}]{}{}",
                duration_text(sq.range, &sq.range_expr),
                step,
                at_suffix(&sq.at),
                offset_suffix(sq.offset, &sq.offset_expr)
            )
        }
        Expr::Paren(inner) => write!(f, "({inner})"),
        Expr::Unary(op, inner) => {
            f.write_str(if *op == crate::ast::UnaryOp::Neg {
                "-"
            } else {
                "+"
            })?;
            paren_if(f, inner, needs_parens_operand(inner, false))
        }
        Expr::Binary(b) => {
            match &*b.lhs {
                // `+Inf ^ x` would parse as `+(Inf ^ x)`.
                Expr::Number(v) if b.op == BinOp::Pow && *v == f64::INFINITY => {
                    f.write_str("Inf")?
                }
                lhs => paren_if(f, lhs, needs_parens(b.op, lhs, false))?,
            }
            write!(
                f,
                " {}{}{} ",
                b.op.as_str(),
                if b.return_bool { " bool" } else { "" },
                matching_str(b)
            )?;
            paren_if(f, &b.rhs, needs_parens(b.op, &b.rhs, true))
        }
        Expr::Aggregate(a) => {
            write!(f, "{}(", agg_head(a))?;
            if let Some(p) = &a.param {
                write!(f, "{p}, ")?;
            }
            write!(f, "{})", a.expr)
        }
        Expr::Call(c) => {
            write!(f, "{}(", c.func)?;
            for (i, a) in c.args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_expr(f, a)?;
            }
            f.write_str(")")
        }
    }
}

/// Longest one-line form (indentation not counted, as in Prometheus)
/// that [`prettify`] keeps on one line.
pub const PRETTY_WIDTH: usize = 100;

/// Formats `e` over several indented lines, like Prometheus's
/// `prettier.go`. Rules: a node whose one-line form is at most
/// [`PRETTY_WIDTH`] characters stays on one line (after its indentation);
/// otherwise a binary expression puts its operands one level deeper and
/// the operator (with modifiers) on its own line; aggregations, calls and
/// parentheses put their contents one level deeper between the opening
/// and closing lines; subqueries keep their `[range:step]` suffix after
/// the inner expression. Indentation is two spaces. The result parses to
/// the same tree.
pub fn prettify(e: &Expr) -> String {
    let mut out = String::new();
    pretty(&mut out, e, 0);
    out
}

fn pretty(out: &mut String, e: &Expr, level: usize) {
    let pad = "  ".repeat(level);
    let flat = e.to_string();
    if flat.len() <= PRETTY_WIDTH {
        out.push_str(&pad);
        out.push_str(&flat);
        return;
    }
    match e {
        Expr::Binary(b) => {
            let wrap = |out: &mut String, child: &Expr, is_rhs: bool| {
                if b.op == BinOp::Pow
                    && !is_rhs
                    && matches!(child, Expr::Number(v) if *v == f64::INFINITY)
                {
                    out.push_str(&"  ".repeat(level + 1));
                    out.push_str("Inf");
                } else if needs_parens(b.op, child, is_rhs) {
                    pretty(out, &Expr::Paren(Box::new(child.clone())), level + 1);
                } else {
                    pretty(out, child, level + 1);
                }
            };
            wrap(out, &b.lhs, false);
            let _ = write!(
                out,
                "\n{pad}{}{}{}\n",
                b.op.as_str(),
                if b.return_bool { " bool" } else { "" },
                matching_str(b)
            );
            wrap(out, &b.rhs, true);
        }
        Expr::Aggregate(a) => {
            let _ = writeln!(out, "{pad}{}(", agg_head(a));
            if let Some(p) = &a.param {
                pretty(out, p, level + 1);
                out.push_str(",\n");
            }
            pretty(out, &a.expr, level + 1);
            let _ = write!(out, "\n{pad})");
        }
        Expr::Call(c) => {
            let _ = writeln!(out, "{pad}{}(", c.func);
            for (i, a) in c.args.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                pretty(out, a, level + 1);
            }
            let _ = write!(out, "\n{pad})");
        }
        Expr::Paren(inner) => {
            let _ = writeln!(out, "{pad}(");
            pretty(out, inner, level + 1);
            let _ = write!(out, "\n{pad})");
        }
        Expr::Subquery(sq) if !needs_parens_operand(&sq.expr, true) => {
            pretty(out, &sq.expr, level);
            let step = step_text(sq);
            let _ = write!(
                out,
                "[{}:{}]{}{}",
                duration_text(sq.range, &sq.range_expr),
                step,
                at_suffix(&sq.at),
                offset_suffix(sq.offset, &sq.offset_expr)
            );
        }
        Expr::Unary(op, inner) if !needs_parens_operand(inner, false) => {
            out.push_str(&pad);
            out.push(if *op == crate::ast::UnaryOp::Neg {
                '-'
            } else {
                '+'
            });
            let mut sub = String::new();
            pretty(&mut sub, inner, level);
            out.push_str(sub.trim_start());
        }
        _ => {
            out.push_str(&pad);
            out.push_str(&flat);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_like_go() {
        let cases = [
            (1.0, "1"),
            (-1.5, "-1.5"),
            (1e6, "1000000"),
            (0.0001, "0.0001"),
            (1.5e-7, "0.00000015"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e21, "1000000000000000000000"),
        ];
        for (v, s) in cases {
            assert_eq!(format_number(v), s);
        }
    }

    #[test]
    fn quoting_of_label_names() {
        assert!(is_legacy_label("a_b1"));
        assert!(!is_legacy_label("a.b"));
        assert!(!is_legacy_label("1a"));
        assert_eq!(label_list(&["a".into(), "b.c".into()]), "a, \"b.c\"");
        assert_eq!(label_list(&["Inf".into(), "on".into()]), "\"Inf\", on");
    }
}
