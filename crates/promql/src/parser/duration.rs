//! Durations in ranges, subquery steps and offsets: a single number or
//! duration token, or a duration expression (`[26m+4m]`,
//! `offset -min_of(step(), 1s)`); see [`crate::duration_expr`].
//!
//! Inside brackets the whole expression grammar applies. After `offset`
//! only a sign and one term do (a literal, a parenthesised expression or a
//! function), so `foo offset 100 + 2` is `(foo offset 100) + 2`, as in
//! Prometheus.

use promlite_model::duration::parse_duration;

use super::lexer::{Kind, Token};
use super::{PResult, Parser};
use crate::duration_expr::{DurationExpr, DurationOp, MAX_HEIGHT};

/// A parsed duration: its value in ms when known, and the expression when
/// it is one (`None` for a plain literal).
pub(crate) struct ParsedDuration {
    pub ms: i64,
    pub expr: Option<Box<DurationExpr>>,
}

/// An expression and its height.
type DurNode = (DurationExpr, usize);

impl Parser<'_> {
    /// The range or step inside `[...]`, up to (not including) `:` or `]`.
    pub(crate) fn parse_bracket_duration(
        &mut self,
        context: &str,
        expected: &str,
    ) -> PResult<ParsedDuration> {
        let first = self.peek().kind;
        let next = self.peek_n(1).kind;
        if matches!(first, Kind::Number | Kind::Duration)
            && matches!(next, Kind::Colon | Kind::RBracket)
        {
            let (ms, _) = self.parse_duration_ms(context, expected, true)?;
            return Ok(ParsedDuration { ms, expr: None });
        }
        let start = self.peek().start;
        let (e, _) = self.dur_sum(context, expected, 1)?;
        Ok(self.finish_duration(e, start, false))
    }

    /// The duration after `offset` (already consumed): a sign and one term.
    pub(crate) fn parse_offset_duration(&mut self) -> PResult<(ParsedDuration, usize)> {
        let (context, expected) = ("offset", "number or duration");
        let sign = self.peek().kind;
        if sign == Kind::Sub && matches!(self.peek_n(1).kind, Kind::Number | Kind::Duration) {
            self.advance();
            let (ms, tok) = self.parse_duration_ms(context, expected, false)?;
            return Ok((
                ParsedDuration {
                    ms: -ms,
                    expr: None,
                },
                tok.end,
            ));
        }
        if matches!(self.peek().kind, Kind::Number | Kind::Duration) {
            let (ms, tok) = self.parse_duration_ms(context, expected, false)?;
            return Ok((ParsedDuration { ms, expr: None }, tok.end));
        }
        let start = self.peek().start;
        let neg = match sign {
            Kind::Sub | Kind::Add => {
                self.advance();
                sign == Kind::Sub
            }
            _ => false,
        };
        let (term, _) = self.dur_atom(context, expected, 1)?;
        let end = self.prev_end();
        let e = if neg {
            DurationExpr::Neg(Box::new(term))
        } else {
            term
        };
        Ok((self.finish_duration(e, start, true), end))
    }

    /// Turns a parsed expression into a value: a literal becomes a plain
    /// duration, an expression without `step()`/`range()` is computed now
    /// (errors are reported at its span), one with them is kept for the
    /// query to compute.
    fn finish_duration(&mut self, e: DurationExpr, start: usize, offset: bool) -> ParsedDuration {
        let end = self.prev_end();
        if e.is_dynamic() {
            return ParsedDuration {
                ms: 0,
                expr: Some(Box::new(e)),
            };
        }
        let ms = match e.millis(None, offset) {
            Ok(ms) => ms,
            Err(msg) => {
                self.semantic(start, end, msg);
                0
            }
        };
        let expr = (!matches!(e, DurationExpr::Number(_) | DurationExpr::Duration(_)))
            .then(|| Box::new(e));
        ParsedDuration { ms, expr }
    }

    /// The end of the last consumed token.
    fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.end)
    }

    fn dur_check(&self, height: usize, tok: &Token) -> PResult<()> {
        if height > MAX_HEIGHT {
            Err(self.err_at(tok.start, tok.end, "duration expression nesting too deep"))
        } else {
            Ok(())
        }
    }

    /// `a (+|-) b ...`, left-associative.
    fn dur_sum(&mut self, context: &str, expected: &str, depth: usize) -> PResult<DurNode> {
        let (mut lhs, mut h) = self.dur_product(context, expected, depth)?;
        loop {
            let op = match self.peek().kind {
                Kind::Add => DurationOp::Add,
                Kind::Sub => DurationOp::Sub,
                _ => return Ok((lhs, h)),
            };
            let tok = self.advance();
            let (rhs, rh) = self.dur_product(context, expected, depth)?;
            h = h.max(rh) + 1;
            self.dur_check(h, &tok)?;
            lhs = DurationExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
    }

    /// `a (*|/|%) b ...`, left-associative.
    fn dur_product(&mut self, context: &str, expected: &str, depth: usize) -> PResult<DurNode> {
        let (mut lhs, mut h) = self.dur_unary(context, expected, depth)?;
        loop {
            let op = match self.peek().kind {
                Kind::Mul => DurationOp::Mul,
                Kind::Div => DurationOp::Div,
                Kind::Mod => DurationOp::Mod,
                _ => return Ok((lhs, h)),
            };
            let tok = self.advance();
            let (rhs, rh) = self.dur_unary(context, expected, depth)?;
            h = h.max(rh) + 1;
            self.dur_check(h, &tok)?;
            lhs = DurationExpr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
    }

    /// A signed term; `^` binds tighter than the sign (`-2^2` is −4).
    fn dur_unary(&mut self, context: &str, expected: &str, depth: usize) -> PResult<DurNode> {
        let tok = self.peek().clone();
        if matches!(tok.kind, Kind::Add | Kind::Sub) {
            self.dur_check(depth + 1, &tok)?;
            self.advance();
            let (inner, h) = self.dur_unary(context, expected, depth + 1)?;
            return Ok(if tok.kind == Kind::Sub {
                (DurationExpr::Neg(Box::new(inner)), h + 1)
            } else {
                (inner, h)
            });
        }
        self.dur_power(context, expected, depth)
    }

    /// `a ^ b`, right-associative; the exponent may carry a sign.
    fn dur_power(&mut self, context: &str, expected: &str, depth: usize) -> PResult<DurNode> {
        let (base, bh) = self.dur_atom(context, expected, depth)?;
        if self.peek().kind != Kind::Pow {
            return Ok((base, bh));
        }
        let tok = self.advance();
        self.dur_check(depth + 1, &tok)?;
        let (exp, eh) = self.dur_unary(context, expected, depth + 1)?;
        let h = bh.max(eh) + 1;
        self.dur_check(h, &tok)?;
        Ok((
            DurationExpr::Binary(DurationOp::Pow, Box::new(base), Box::new(exp)),
            h,
        ))
    }

    /// A literal, `( expr )`, `step()`, `range()`, `min_of(a, b)` or
    /// `max_of(a, b)` (names are case-insensitive).
    fn dur_atom(&mut self, context: &str, expected: &str, depth: usize) -> PResult<DurNode> {
        let tok = self.peek().clone();
        self.dur_check(depth, &tok)?;
        match tok.kind {
            Kind::Number => {
                self.advance();
                Ok((DurationExpr::Number(self.number_token_value(&tok)), 1))
            }
            Kind::Duration => {
                self.advance();
                // Unlike a lone `[0s]`, a zero term is fine (`[30m+0s]`).
                let ms = match parse_duration(&self.text(&tok)) {
                    Ok(ms) => ms,
                    Err(e) => {
                        self.semantic(tok.start, tok.end, e.to_string());
                        0
                    }
                };
                Ok((DurationExpr::Duration(ms), 1))
            }
            Kind::LParen => {
                self.advance();
                let (inner, h) = self.dur_sum(context, expected, depth + 1)?;
                self.expect(Kind::RParen, "duration expression", "\")\"")?;
                // Kept, as Prometheus keeps them (`wrapped` in its JSON).
                Ok((DurationExpr::Paren(Box::new(inner)), h + 1))
            }
            Kind::Ident if self.peek_n(1).kind == Kind::LParen => {
                let name = self.text(&tok).to_ascii_lowercase();
                let two_args = match name.as_str() {
                    "step" | "range" => false,
                    "min_of" | "max_of" => true,
                    _ => return Err(self.unexpected(&tok, context, expected)),
                };
                self.advance();
                self.advance();
                let what = format!("call to {name}()");
                if !two_args {
                    self.expect(Kind::RParen, &what, "\")\"")?;
                    let e = if name == "step" {
                        DurationExpr::Step
                    } else {
                        DurationExpr::Range
                    };
                    return Ok((e, 1));
                }
                let (a, ah) = self.dur_sum(context, expected, depth + 1)?;
                self.expect(Kind::Comma, &what, "\",\"")?;
                let (b, bh) = self.dur_sum(context, expected, depth + 1)?;
                self.expect(Kind::RParen, &what, "\")\"")?;
                let h = ah.max(bh) + 1;
                self.dur_check(h, &tok)?;
                let (a, b) = (Box::new(a), Box::new(b));
                let e = if name == "min_of" {
                    DurationExpr::MinOf(a, b)
                } else {
                    DurationExpr::MaxOf(a, b)
                };
                Ok((e, h))
            }
            _ => Err(self.unexpected(&tok, context, expected)),
        }
    }
}
