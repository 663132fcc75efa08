//! Duration expressions: arithmetic where PromQL takes a duration.
//!
//! Prometheus 3.x (on by default since its duration-expression feature
//! became stable) accepts an expression in a range (`foo[26m+4m]`), in a
//! subquery's range and step (`foo[29s+1s:20*500ms]`) and after `offset`
//! (`foo offset (1h / 2)`, `foo offset -step()`). Numbers are seconds,
//! duration literals are converted to seconds, and the operators are
//! `+ - * / % ^`, unary signs, parentheses, `step()` (the query's step, 0 for
//! an instant query), `range()` (end − start of the query) and
//! `min_of(a, b)` / `max_of(a, b)`.
//!
//! An expression without `step()` or `range()` is computed by the parser;
//! one that needs them is kept in the tree and computed when a query starts
//! ([`resolve`]). The tree keeps the expression (not only its value) so
//! that printing and reparsing give the same tree, and, as Prometheus's
//! does, the parentheses as written ([`DurationExpr::Paren`]), which
//! `/api/v1/parse_query` shows (`"wrapped": true`). Parentheses take no part
//! in `==`: `(1m + 1m) * 2` equals `Binary(Mul, Binary(Add, 1m, 1m), 2)`
//! built by hand, which prints with the parentheses it needs.
//!
//! The parser bounds an expression's height ([`MAX_HEIGHT`]), so the
//! recursive evaluation, printing and drop here cannot overflow the stack.

use std::fmt;

use promlite_model::duration::format_duration;

use crate::ast::{Expr, SubqueryExpr, VectorSelector};
use crate::eval::{go_max, go_min};
use crate::printer::format_number;

/// The deepest duration expression the parser accepts (a chain `1+1+…`
/// counts one level per operator).
pub const MAX_HEIGHT: usize = 64;

/// Prometheus holds durations as nanoseconds in an `i64`: about ±9.2e12 ms.
const MAX_ABS_MS: f64 = 9.2e12;

/// A duration expression; values are in seconds.
#[derive(Clone, Debug)]
pub enum DurationExpr {
    /// A number: seconds (`90`, `1.5`).
    Number(f64),
    /// A duration literal (`1m30s`), in milliseconds.
    Duration(i64),
    /// `step()`: the query's step in seconds (0 for an instant query).
    Step,
    /// `range()`: the query's end minus its start, in seconds.
    Range,
    /// Unary `-` (unary `+` is dropped by the parser).
    Neg(Box<DurationExpr>),
    /// `a op b`.
    Binary(DurationOp, Box<DurationExpr>, Box<DurationExpr>),
    /// `min_of(a, b)`.
    MinOf(Box<DurationExpr>, Box<DurationExpr>),
    /// `max_of(a, b)`.
    MaxOf(Box<DurationExpr>, Box<DurationExpr>),
    /// `( e )` as written (ignored by `==`).
    Paren(Box<DurationExpr>),
}

impl DurationExpr {
    /// `self` without the parentheses around it.
    pub fn without_parens(&self) -> &DurationExpr {
        let mut e = self;
        while let DurationExpr::Paren(inner) = e {
            e = inner;
        }
        e
    }
}

/// Structural equality that looks through parentheses.
impl PartialEq for DurationExpr {
    fn eq(&self, other: &Self) -> bool {
        use DurationExpr::*;
        match (self.without_parens(), other.without_parens()) {
            (Number(a), Number(b)) => a == b,
            (Duration(a), Duration(b)) => a == b,
            (Step, Step) | (Range, Range) => true,
            (Neg(a), Neg(b)) => a == b,
            (Binary(o1, a1, b1), Binary(o2, a2, b2)) => o1 == o2 && a1 == a2 && b1 == b2,
            (MinOf(a1, b1), MinOf(a2, b2)) | (MaxOf(a1, b1), MaxOf(a2, b2)) => a1 == a2 && b1 == b2,
            _ => false,
        }
    }
}

/// The binary operators of duration expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurationOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (division by zero is an error)
    Div,
    /// `%` (modulo by zero is an error; the sign follows the dividend)
    Mod,
    /// `^`
    Pow,
}

impl DurationOp {
    /// The operator as written (`+`, `-`, `*`, `/`, `%`, `^`).
    pub fn as_str(self) -> &'static str {
        match self {
            DurationOp::Add => "+",
            DurationOp::Sub => "-",
            DurationOp::Mul => "*",
            DurationOp::Div => "/",
            DurationOp::Mod => "%",
            DurationOp::Pow => "^",
        }
    }
}

/// What `step()` and `range()` stand for in one query, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryTimes {
    /// The step of a range query; 0 for an instant query.
    pub step_ms: i64,
    /// End minus start of the query; 0 for an instant query.
    pub range_ms: i64,
}

impl DurationExpr {
    /// True if the value depends on the query (`step()` or `range()`).
    pub fn is_dynamic(&self) -> bool {
        match self {
            DurationExpr::Number(_) | DurationExpr::Duration(_) => false,
            DurationExpr::Step | DurationExpr::Range => true,
            DurationExpr::Neg(e) | DurationExpr::Paren(e) => e.is_dynamic(),
            DurationExpr::Binary(_, a, b)
            | DurationExpr::MinOf(a, b)
            | DurationExpr::MaxOf(a, b) => a.is_dynamic() || b.is_dynamic(),
        }
    }

    /// The height of the tree (a literal is 1).
    pub fn height(&self) -> usize {
        match self {
            DurationExpr::Number(_)
            | DurationExpr::Duration(_)
            | DurationExpr::Step
            | DurationExpr::Range => 1,
            DurationExpr::Neg(e) | DurationExpr::Paren(e) => e.height() + 1,
            DurationExpr::Binary(_, a, b)
            | DurationExpr::MinOf(a, b)
            | DurationExpr::MaxOf(a, b) => a.height().max(b.height()) + 1,
        }
    }

    /// The value in seconds. `times` gives `step()` and `range()`; without
    /// it they are an error (the parser calls this only for expressions
    /// that use neither).
    pub fn seconds(&self, times: Option<&QueryTimes>) -> Result<f64, String> {
        Ok(match self {
            DurationExpr::Number(v) => *v,
            DurationExpr::Duration(ms) => *ms as f64 / 1000.0,
            DurationExpr::Step => {
                times
                    .ok_or("step() is only known when the query runs")?
                    .step_ms as f64
                    / 1000.0
            }
            DurationExpr::Range => {
                times
                    .ok_or("range() is only known when the query runs")?
                    .range_ms as f64
                    / 1000.0
            }
            DurationExpr::Neg(e) => -e.seconds(times)?,
            DurationExpr::Paren(e) => e.seconds(times)?,
            DurationExpr::MinOf(a, b) => go_min(a.seconds(times)?, b.seconds(times)?),
            DurationExpr::MaxOf(a, b) => go_max(a.seconds(times)?, b.seconds(times)?),
            DurationExpr::Binary(op, a, b) => {
                let (l, r) = (a.seconds(times)?, b.seconds(times)?);
                match op {
                    DurationOp::Add => l + r,
                    DurationOp::Sub => l - r,
                    DurationOp::Mul => l * r,
                    DurationOp::Div if r == 0.0 => return Err("division by zero".into()),
                    DurationOp::Div => l / r,
                    DurationOp::Mod if r == 0.0 => return Err("modulo by zero".into()),
                    DurationOp::Mod => l % r,
                    DurationOp::Pow => l.powf(r),
                }
            }
        })
    }

    /// The value in whole milliseconds (truncated, as Prometheus converts
    /// seconds to a `time.Duration`). Ranges and steps must be positive
    /// (`allow_negative` false); offsets may be anything.
    pub fn millis(&self, times: Option<&QueryTimes>, allow_negative: bool) -> Result<i64, String> {
        let secs = self.seconds(times)?;
        if !allow_negative && secs <= 0.0 {
            return Err("duration must be greater than 0".into());
        }
        let ms = (secs * 1000.0).trunc();
        if !ms.is_finite() || ms.abs() >= MAX_ABS_MS {
            return Err("duration is out of range".into());
        }
        Ok(ms as i64)
    }

    /// How tightly the expression binds when printed: sums 1, products 2,
    /// a sign 3, powers 4, terms 5 (the parser's precedence levels).
    fn precedence(&self) -> u8 {
        match self {
            DurationExpr::Binary(DurationOp::Add | DurationOp::Sub, ..) => 1,
            DurationExpr::Binary(DurationOp::Mul | DurationOp::Div | DurationOp::Mod, ..) => 2,
            DurationExpr::Neg(_) => 3,
            DurationExpr::Binary(DurationOp::Pow, ..) => 4,
            _ => 5,
        }
    }

    /// Writes `self`, in parentheses if it binds less tightly than `min`.
    /// Only parentheses the tree needs are added: a parsed tree prints with
    /// exactly the parentheses it was written with.
    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }

    /// True for a term that can follow `offset` without parentheses.
    pub fn is_single_term(&self) -> bool {
        !matches!(self, DurationExpr::Binary(..) | DurationExpr::Neg(_))
    }

    /// True if `offset <self>` parses back to `self`: a single term, or a
    /// minus before one that is not a literal (`offset -5m` is the plain
    /// offset −5m, not an expression).
    fn fits_after_offset(&self) -> bool {
        match self {
            DurationExpr::Neg(e) => {
                e.is_single_term()
                    && !matches!(**e, DurationExpr::Number(_) | DurationExpr::Duration(_))
            }
            e => e.is_single_term(),
        }
    }
}

impl fmt::Display for DurationExpr {
    /// Prints the expression so that it parses back to the same tree: the
    /// parentheses as written, and those the precedence needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationExpr::Number(v) => f.write_str(&format_number(*v)),
            DurationExpr::Duration(ms) => f.write_str(&format_duration(*ms)),
            DurationExpr::Step => f.write_str("step()"),
            DurationExpr::Range => f.write_str("range()"),
            // The sign covers a power (`-2 ^ 2` is −4).
            DurationExpr::Neg(e) => {
                f.write_str("-")?;
                e.fmt_operand(f, 3)
            }
            // `+ - * / %` are left-associative; `^` is right-associative and
            // its exponent may carry a sign.
            DurationExpr::Binary(op, a, b) => {
                let p = self.precedence();
                let (lhs_min, rhs_min) = if *op == DurationOp::Pow {
                    (p + 1, 3)
                } else {
                    (p, p + 1)
                };
                a.fmt_operand(f, lhs_min)?;
                write!(f, " {} ", op.as_str())?;
                b.fmt_operand(f, rhs_min)
            }
            DurationExpr::MinOf(a, b) => write!(f, "min_of({a}, {b})"),
            DurationExpr::MaxOf(a, b) => write!(f, "max_of({a}, {b})"),
            DurationExpr::Paren(e) => write!(f, "({e})"),
        }
    }
}

/// The text after `offset` for an offset written as an expression.
pub(crate) fn offset_text(e: &DurationExpr) -> String {
    if e.fits_after_offset() {
        format!(" offset {e}")
    } else {
        format!(" offset ({e})")
    }
}

/// True if `expr` has a duration expression that needs the query's step or
/// range (so [`resolve`] must run before it is evaluated).
pub fn needs_resolve(expr: &Expr) -> bool {
    let mut found = false;
    visit(expr, &mut |e| {
        found |= match e {
            Expr::VectorSelector(vs) => vs_dynamic(vs),
            Expr::MatrixSelector(m) => {
                vs_dynamic(&m.selector) || m.range_expr.as_ref().is_some_and(|d| d.is_dynamic())
            }
            Expr::Subquery(sq) => sq_dynamic(sq),
            _ => false,
        };
    });
    found
}

fn vs_dynamic(vs: &VectorSelector) -> bool {
    vs.offset_expr.as_ref().is_some_and(|d| d.is_dynamic())
}

fn sq_dynamic(sq: &SubqueryExpr) -> bool {
    [&sq.range_expr, &sq.step_expr, &sq.offset_expr]
        .iter()
        .any(|d| d.as_ref().is_some_and(|d| d.is_dynamic()))
}

/// Computes every query-dependent duration expression in `expr` for one
/// query, writing the results into the numeric fields the evaluator reads.
/// Errors name the expression and the problem
/// (`range [step()]: duration must be greater than 0`).
pub fn resolve(expr: &mut Expr, times: &QueryTimes) -> Result<(), String> {
    let mut result = Ok(());
    visit_mut(expr, &mut |e| {
        if result.is_err() {
            return;
        }
        result = match e {
            Expr::VectorSelector(vs) => resolve_offset(vs, times),
            Expr::MatrixSelector(m) => resolve_offset(&mut m.selector, times).and_then(|()| {
                if let Some(d) = m.range_expr.as_ref().filter(|d| d.is_dynamic()) {
                    m.range = d
                        .millis(Some(times), false)
                        .map_err(|e| format!("range [{d}]: {e}"))?;
                }
                Ok(())
            }),
            Expr::Subquery(sq) => resolve_subquery(sq, times),
            _ => Ok(()),
        };
    });
    result
}

fn resolve_offset(vs: &mut VectorSelector, times: &QueryTimes) -> Result<(), String> {
    if let Some(d) = vs.offset_expr.as_ref().filter(|d| d.is_dynamic()) {
        vs.offset = d
            .millis(Some(times), true)
            .map_err(|e| format!("offset {d}: {e}"))?;
    }
    Ok(())
}

fn resolve_subquery(sq: &mut SubqueryExpr, times: &QueryTimes) -> Result<(), String> {
    if let Some(d) = sq.range_expr.as_ref().filter(|d| d.is_dynamic()) {
        sq.range = d
            .millis(Some(times), false)
            .map_err(|e| format!("subquery range {d}: {e}"))?;
    }
    if let Some(d) = sq.step_expr.as_ref().filter(|d| d.is_dynamic()) {
        let step = d
            .millis(Some(times), false)
            .map_err(|e| format!("subquery step {d}: {e}"))?;
        sq.step = Some(step);
    }
    if let Some(d) = sq.offset_expr.as_ref().filter(|d| d.is_dynamic()) {
        sq.offset = d
            .millis(Some(times), true)
            .map_err(|e| format!("offset {d}: {e}"))?;
    }
    Ok(())
}

/// Calls `f` on every node of `expr` (iteratively: trees may be deep).
fn visit(expr: &Expr, f: &mut impl FnMut(&Expr)) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        f(e);
        match e {
            Expr::Number(_)
            | Expr::String(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => {}
            Expr::Subquery(sq) => stack.push(&sq.expr),
            Expr::Paren(inner) | Expr::Unary(_, inner) => stack.push(inner),
            Expr::Binary(b) => {
                stack.push(&b.lhs);
                stack.push(&b.rhs);
            }
            Expr::Aggregate(a) => {
                stack.push(&a.expr);
                if let Some(p) = &a.param {
                    stack.push(p);
                }
            }
            Expr::Call(c) => stack.extend(c.args.iter()),
        }
    }
}

/// [`visit`] with mutable access.
fn visit_mut(expr: &mut Expr, f: &mut impl FnMut(&mut Expr)) {
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        f(e);
        match e {
            Expr::Number(_)
            | Expr::String(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => {}
            Expr::Subquery(sq) => stack.push(&mut sq.expr),
            Expr::Paren(inner) | Expr::Unary(_, inner) => stack.push(inner),
            Expr::Binary(b) => {
                stack.push(&mut b.lhs);
                stack.push(&mut b.rhs);
            }
            Expr::Aggregate(a) => {
                stack.push(&mut a.expr);
                if let Some(p) = &mut a.param {
                    stack.push(p);
                }
            }
            Expr::Call(c) => stack.extend(c.args.iter_mut()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DurationExpr::*;

    fn lit(v: f64) -> Box<DurationExpr> {
        Box::new(Number(v))
    }

    fn dur(ms: i64) -> Box<DurationExpr> {
        Box::new(Duration(ms))
    }

    #[test]
    fn arithmetic_follows_prometheus() {
        let e = Binary(
            DurationOp::Sub,
            dur(1_801_000),
            Box::new(Binary(DurationOp::Mod, dur(1_801_000), dur(60_000))),
        );
        assert_eq!(e.millis(None, false), Ok(1_800_000));
        assert_eq!(
            Binary(DurationOp::Div, lit(1.0), lit(0.0)).seconds(None),
            Err("division by zero".into())
        );
        assert_eq!(
            Binary(DurationOp::Mod, lit(1.0), lit(0.0)).seconds(None),
            Err("modulo by zero".into())
        );
        assert_eq!(
            Neg(lit(5.0)).millis(None, false),
            Err("duration must be greater than 0".into())
        );
        assert_eq!(Neg(lit(5.0)).millis(None, true), Ok(-5000));
        assert_eq!(
            Binary(DurationOp::Pow, lit(10.0), lit(20.0)).millis(None, false),
            Err("duration is out of range".into())
        );
        // Truncation toward zero, as Go's time.Duration(float) does.
        assert_eq!(Number(0.0019).millis(None, false), Ok(1));
        assert_eq!(Neg(lit(0.0019)).millis(None, true), Ok(-1));
    }

    #[test]
    fn step_and_range_come_from_the_query() {
        let e = MinOf(
            Box::new(Binary(DurationOp::Add, Box::new(Step), lit(1.0))),
            lit(3600.0),
        );
        assert!(e.is_dynamic());
        assert!(e.seconds(None).is_err());
        let t = QueryTimes {
            step_ms: 5000,
            range_ms: 10_000,
        };
        assert_eq!(e.millis(Some(&t), false), Ok(6000));
        assert_eq!(
            MaxOf(Box::new(Range), lit(1.0)).millis(Some(&t), false),
            Ok(10_000)
        );
        let instant = QueryTimes::default();
        assert_eq!(
            Step.millis(Some(&instant), false),
            Err("duration must be greater than 0".into())
        );
        assert_eq!(Range.millis(Some(&instant), true), Ok(0));
    }

    #[test]
    fn printing_adds_the_parentheses_precedence_needs() {
        let e = Binary(
            DurationOp::Mul,
            Box::new(Binary(DurationOp::Add, dur(540_000), lit(30.0))),
            lit(3.0),
        );
        assert_eq!(e.to_string(), "(9m + 30) * 3");
        assert_eq!(
            Neg(Box::new(Binary(DurationOp::Pow, lit(2.0), lit(2.0)))).to_string(),
            "-2 ^ 2"
        );
        assert_eq!(
            Neg(Box::new(Binary(DurationOp::Mul, lit(2.0), lit(2.0)))).to_string(),
            "-(2 * 2)"
        );
        let sub = |a, b| Box::new(Binary(DurationOp::Sub, a, b));
        assert_eq!(
            sub(sub(lit(1.0), lit(2.0)), lit(3.0)).to_string(),
            "1 - 2 - 3"
        );
        assert_eq!(
            sub(lit(1.0), sub(lit(2.0), lit(3.0))).to_string(),
            "1 - (2 - 3)"
        );
        let pow = |a, b| Box::new(Binary(DurationOp::Pow, a, b));
        assert_eq!(
            pow(lit(2.0), pow(lit(3.0), lit(2.0))).to_string(),
            "2 ^ 3 ^ 2"
        );
        assert_eq!(
            pow(pow(lit(2.0), lit(3.0)), lit(2.0)).to_string(),
            "(2 ^ 3) ^ 2"
        );
        assert_eq!(pow(lit(2.0), Box::new(Neg(lit(1.0)))).to_string(), "2 ^ -1");
        assert_eq!(
            Binary(DurationOp::Mul, lit(2.0), Box::new(Neg(lit(1.0)))).to_string(),
            "2 * -1"
        );
        assert_eq!(
            Binary(DurationOp::Pow, Box::new(Neg(dur(2000))), lit(0.5)).to_string(),
            "(-2s) ^ 0.5"
        );
        assert_eq!(
            MinOf(Box::new(Step), lit(0.0)).to_string(),
            "min_of(step(), 0)"
        );
        assert_eq!(offset_text(&Neg(Box::new(Step))), " offset -step()");
        assert_eq!(offset_text(&Neg(dur(5000))), " offset (-5s)");
        assert_eq!(offset_text(&Range), " offset range()");
        // Written parentheses are printed, and not doubled.
        let p = Paren(Box::new(Binary(DurationOp::Add, dur(60_000), lit(1.0))));
        assert_eq!(offset_text(&p), " offset (1m + 1)");
        assert_eq!(
            Binary(DurationOp::Mul, Box::new(p.clone()), lit(2.0)).to_string(),
            "(1m + 1) * 2"
        );
        assert_eq!(Paren(dur(300_000)).to_string(), "(5m)");
    }

    #[test]
    fn parentheses_take_no_part_in_equality() {
        let sum = || Box::new(Binary(DurationOp::Add, dur(60_000), lit(1.0)));
        assert_eq!(
            Binary(DurationOp::Mul, Box::new(Paren(sum())), lit(2.0)),
            Binary(
                DurationOp::Mul,
                sum(),
                Box::new(Paren(Box::new(Paren(lit(2.0)))))
            )
        );
        assert_ne!(Paren(sum()), Paren(dur(60_000)));
        assert_eq!(Paren(Box::new(Step)).millis(None, false).ok(), None);
        assert_eq!(Paren(dur(2000)).millis(None, false), Ok(2000));
    }
}
