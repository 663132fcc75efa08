//! Operators: binary (precedence climbing), unary, and the postfix
//! modifiers `[range]`, `[range:step]`, `offset`, `@`, `anchored` and
//! `smoothed`.

use crate::ast::{
    AtModifier, BinOp, BinaryExpr, Boundary, Cardinality, Expr, MatrixSelector, SubqueryExpr,
    UnaryOp, ValueType, VectorMatching,
};

use super::lexer::{Kind, Token};
use super::{Node, PResult, Parser, TOO_DEEP};

/// Precedence given to unary `+`/`-` (that of `*`): only `^` binds tighter.
const UNARY_PREC: u8 = 5;

impl Parser<'_> {
    /// Parses an expression whose binary operators all have precedence
    /// `>= min_prec`.
    pub fn parse_expr(&mut self, min_prec: u8) -> PResult<Node> {
        self.depth += 1;
        if self.depth > self.opts.max_depth {
            let t = self.peek();
            return Err(self.err_at(t.start, t.end, TOO_DEEP));
        }
        // Grow the stack on demand: the depth limit bounds recursion, and this
        // keeps that bound safe even on small (2 MiB) thread stacks in
        // unoptimized builds.
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.parse_expr_inner(min_prec));
        self.depth -= 1;
        r
    }

    fn parse_expr_inner(&mut self, min_prec: u8) -> PResult<Node> {
        let mut lhs = self.parse_unary()?;
        loop {
            let tok = self.peek().clone();
            let Some(op) = self.binary_op(&tok) else {
                break;
            };
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            self.advance();
            let (return_bool, matching) = self.parse_bin_modifiers()?;
            let next_min = if op.is_right_associative() {
                prec
            } else {
                prec + 1
            };
            let rhs = self.parse_expr(next_min)?;
            lhs = self.new_binary(lhs, op, &tok, return_bool, matching, rhs)?;
        }
        Ok(lhs)
    }

    #[inline(never)]
    fn binary_op(&self, t: &Token) -> Option<BinOp> {
        Some(match t.kind {
            Kind::Add => BinOp::Add,
            Kind::Sub => BinOp::Sub,
            Kind::Mul => BinOp::Mul,
            Kind::Div => BinOp::Div,
            Kind::Mod => BinOp::Mod,
            Kind::Pow => BinOp::Pow,
            Kind::Eqlc => BinOp::Eql,
            Kind::Neq => BinOp::Neq,
            Kind::Gtr => BinOp::Gtr,
            Kind::Lss => BinOp::Lss,
            Kind::Gte => BinOp::Gte,
            Kind::Lte => BinOp::Lte,
            Kind::Ident if self.is_kw(t, "and") => BinOp::And,
            Kind::Ident if self.is_kw(t, "or") => BinOp::Or,
            Kind::Ident if self.is_kw(t, "unless") => BinOp::Unless,
            Kind::Ident if self.is_kw(t, "atan2") => BinOp::Atan2,
            _ => return None,
        })
    }

    /// `bool`, `on(...)`/`ignoring(...)`, `group_left(...)`/`group_right(...)`.
    #[inline(never)]
    fn parse_bin_modifiers(&mut self) -> PResult<(bool, VectorMatching)> {
        let mut m = VectorMatching::default();
        let t = self.peek().clone();
        let return_bool = self.is_kw(&t, "bool");
        if return_bool {
            self.advance();
        }
        let t = self.peek().clone();
        let on = self.is_kw(&t, "on");
        if on || self.is_kw(&t, "ignoring") {
            self.advance();
            m.on = on;
            m.labels = self.parse_grouping_labels()?;
            let t = self.peek().clone();
            let left = self.is_kw(&t, "group_left");
            if left || self.is_kw(&t, "group_right") {
                self.advance();
                m.card = if left {
                    Cardinality::ManyToOne
                } else {
                    Cardinality::OneToMany
                };
                if self.peek().kind == Kind::LParen {
                    m.include = self.parse_grouping_labels()?;
                }
            }
        }
        Ok((return_bool, m))
    }

    #[inline(never)]
    fn new_binary(
        &mut self,
        lhs: Node,
        op: BinOp,
        op_tok: &Token,
        return_bool: bool,
        mut matching: VectorMatching,
        rhs: Node,
    ) -> PResult<Node> {
        let (start, end) = (lhs.start, rhs.end);
        let height = lhs.height.max(rhs.height) + 1;
        self.check_height(height, start, end)?;
        let (lt, rt) = (lhs.ty, rhs.ty);
        let (os, oe) = (op_tok.start, op_tok.end);
        if return_bool && !op.is_comparison() {
            self.type_error(
                os,
                oe,
                "bool modifier can only be used on comparison operators",
            );
        }
        if op.is_comparison() && !return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar
        {
            self.type_error(os, oe, "comparisons between scalars must use BOOL modifier");
        }
        if op.is_set_operator() && matching.card == Cardinality::OneToOne {
            matching.card = Cardinality::ManyToMany;
        }
        if matching.on {
            if let Some(l) = matching
                .labels
                .iter()
                .find(|l| matching.include.contains(l))
            {
                let msg = format!(
                    "label {} must not occur in ON and GROUP clause at once",
                    super::go_quote(l)
                );
                self.type_error(os, oe, msg);
            }
        }
        for (ty, s, e) in [(lt, lhs.start, lhs.end), (rt, rhs.start, rhs.end)] {
            if ty != ValueType::Scalar && ty != ValueType::Vector {
                self.type_error(
                    s,
                    e,
                    "binary expression must contain only scalar and instant vector types",
                );
            }
        }
        if lt != ValueType::Vector || rt != ValueType::Vector {
            if !matching.labels.is_empty() {
                self.type_error(
                    start,
                    end,
                    "vector matching only allowed between instant vectors",
                );
            }
            matching = VectorMatching::default();
        } else if op.is_set_operator()
            && matches!(
                matching.card,
                Cardinality::OneToMany | Cardinality::ManyToOne
            )
        {
            self.type_error(
                start,
                end,
                format!("no grouping allowed for \"{}\" operation", op.as_str()),
            );
        }
        if (lt == ValueType::Scalar || rt == ValueType::Scalar) && op.is_set_operator() {
            let msg = format!(
                "set operator \"{}\" not allowed in binary scalar expression",
                op.as_str()
            );
            self.type_error(start, end, msg);
        }
        let ty = if lt == ValueType::Scalar && rt == ValueType::Scalar {
            ValueType::Scalar
        } else {
            ValueType::Vector
        };
        let expr = Expr::Binary(BinaryExpr {
            op,
            lhs: Box::new(lhs.expr),
            rhs: Box::new(rhs.expr),
            return_bool,
            matching,
        });
        Ok(Node {
            expr,
            ty,
            start,
            end,
            height,
        })
    }

    /// Unary `+`/`-` bind like `*`: `-a ^ b` is `-(a ^ b)`, `-a * b` is
    /// `(-a) * b`. A sign on a number literal is folded into the number.
    fn parse_unary(&mut self) -> PResult<Node> {
        let tok = self.peek().clone();
        let op = match tok.kind {
            Kind::Add => UnaryOp::Pos,
            Kind::Sub => UnaryOp::Neg,
            _ => return self.parse_postfix(),
        };
        self.advance();
        let inner = self.parse_expr(UNARY_PREC + 1)?;
        let (start, end) = (tok.start, inner.end);
        if let Expr::Number(v) = inner.expr {
            let v = if op == UnaryOp::Neg { -v } else { v };
            return Ok(Node {
                expr: Expr::Number(v),
                ty: ValueType::Scalar,
                start,
                end,
                height: inner.height,
            });
        }
        if inner.ty != ValueType::Scalar && inner.ty != ValueType::Vector {
            let msg = format!(
                "unary expression only allowed on expressions of type scalar or instant vector, got \"{}\"",
                inner.ty.describe()
            );
            self.type_error(start, end, msg);
        }
        let height = inner.height + 1;
        self.check_height(height, start, end)?;
        Ok(Node {
            expr: Expr::Unary(op, Box::new(inner.expr)),
            ty: inner.ty,
            start,
            end,
            height,
        })
    }

    /// A primary expression followed by any number of `[...]`, `offset`,
    /// `@`, `anchored` and `smoothed` modifiers.
    fn parse_postfix(&mut self) -> PResult<Node> {
        let mut node = self.parse_primary()?;
        loop {
            let tok = self.peek().clone();
            node = match tok.kind {
                Kind::LBracket => self.parse_range_or_subquery(node)?,
                Kind::At => self.parse_at(node)?,
                Kind::Ident if self.is_kw(&tok, "offset") => self.parse_offset(node)?,
                Kind::Ident if self.is_kw(&tok, "anchored") => {
                    self.parse_boundary(node, Boundary::Anchored)
                }
                Kind::Ident if self.is_kw(&tok, "smoothed") => {
                    self.parse_boundary(node, Boundary::Smoothed)
                }
                _ => return Ok(node),
            };
        }
    }

    /// `anchored` / `smoothed` after a selector (Prometheus's `setAnchored`
    /// and `setSmoothed`: errors name the expression's span, the keyword is
    /// consumed either way).
    #[inline(never)]
    fn parse_boundary(&mut self, mut node: Node, b: Boundary) -> Node {
        let kw = self.advance();
        let name = b.keyword().unwrap_or("");
        let (start, end) = (node.start, node.end);
        let subquery = matches!(node.expr, Expr::Subquery(_));
        let slot = match &mut node.expr {
            Expr::VectorSelector(vs) => Some(&mut vs.boundary),
            Expr::MatrixSelector(ms) => Some(&mut ms.selector.boundary),
            _ => None,
        };
        match slot {
            Some(cur) => {
                if *cur != Boundary::Plain && *cur != b {
                    self.semantic(
                        start,
                        end,
                        "anchored and smoothed modifiers cannot be used together",
                    );
                }
                *cur = b;
            }
            None if subquery => self.semantic(
                start,
                end,
                format!("{name} modifier is not supported for subqueries"),
            ),
            None => self.semantic(start, end, format!("{name} modifier not implemented")),
        }
        Node {
            end: kw.end,
            ..node
        }
    }

    /// A number or duration in seconds-as-ms, for ranges, steps and offsets.
    /// With `positive` (ranges and subquery steps) a number must be greater
    /// than 0 like a duration, so `[0]` fails as `[0s]` does (Prometheus 3.x's
    /// `positive_duration_expr`); so does a number under a millisecond, the
    /// resolution here.
    #[inline(never)]
    pub(crate) fn parse_duration_ms(
        &mut self,
        context: &str,
        expected: &str,
        positive: bool,
    ) -> PResult<(i64, Token)> {
        let tok = self.peek().clone();
        let ms = match tok.kind {
            Kind::Duration => self.duration_token_ms(&tok),
            Kind::Number => {
                let v = self.number_token_value(&tok);
                let ms = (v * 1000.0).trunc();
                // Prometheus holds durations in nanoseconds (i64).
                if !ms.is_finite() || ms.abs() >= 9.2e12 {
                    self.semantic(tok.start, tok.end, "duration out of range");
                    0
                } else if positive && ms <= 0.0 {
                    self.semantic(tok.start, tok.end, "duration must be greater than 0");
                    0
                } else {
                    ms as i64
                }
            }
            _ => return Err(self.unexpected(&tok, context, expected)),
        };
        self.advance();
        Ok((ms, tok))
    }

    #[inline(never)]
    fn parse_range_or_subquery(&mut self, node: Node) -> PResult<Node> {
        let open = self.advance();
        let range =
            self.parse_bracket_duration("subquery or range selector", "number or duration")?;
        let tok = self.peek().clone();
        match tok.kind {
            Kind::RBracket => {
                let close = self.advance();
                let (start, end) = (node.start, close.end);
                let selector = match node.expr.into_vector_selector() {
                    Ok(vs) => {
                        if vs.offset != 0 || vs.offset_expr.is_some() {
                            self.semantic(
                                open.start,
                                close.end,
                                "no offset modifiers allowed before range",
                            );
                        } else if vs.at.is_some() {
                            self.semantic(
                                open.start,
                                close.end,
                                "no @ modifiers allowed before range",
                            );
                        }
                        vs
                    }
                    Err(expr) => {
                        self.semantic(
                            open.start,
                            close.end,
                            "ranges only allowed for vector selectors",
                        );
                        return Ok(Node {
                            expr,
                            ty: ValueType::Matrix,
                            end,
                            ..node
                        });
                    }
                };
                let expr = Expr::MatrixSelector(MatrixSelector {
                    selector,
                    range: range.ms,
                    range_expr: range.expr,
                });
                Ok(Node {
                    expr,
                    ty: ValueType::Matrix,
                    start,
                    end,
                    height: node.height + 1,
                })
            }
            Kind::Colon => {
                self.advance();
                let (step, step_expr) = if self.peek().kind == Kind::RBracket {
                    (None, None)
                } else {
                    let s = self.parse_bracket_duration(
                        "subquery selector",
                        "number or duration or \"]\"",
                    )?;
                    ((s.ms != 0).then_some(s.ms), s.expr)
                };
                let close = self.expect(Kind::RBracket, "subquery selector", "\"]\"")?;
                let (start, end) = (node.start, close.end);
                if node.ty != ValueType::Vector {
                    let msg = format!(
                        "subquery is only allowed on instant vector, got {} instead",
                        node.ty.api_name()
                    );
                    self.type_error(start, end, msg);
                }
                let height = node.height + 1;
                self.check_height(height, start, end)?;
                let expr = Expr::Subquery(SubqueryExpr {
                    expr: Box::new(node.expr),
                    range: range.ms,
                    step,
                    offset: 0,
                    range_expr: range.expr,
                    step_expr,
                    offset_expr: None,
                    at: None,
                });
                Ok(Node {
                    expr,
                    ty: ValueType::Matrix,
                    start,
                    end,
                    height,
                })
            }
            _ => Err(self.unexpected(&tok, "subquery or range", "\":\" or \"]\"")),
        }
    }

    #[inline(never)]
    fn parse_offset(&mut self, mut node: Node) -> PResult<Node> {
        self.advance();
        let (offset, end) = self.parse_offset_duration()?;
        let start = node.start;
        let slot = match &mut node.expr {
            Expr::VectorSelector(vs) => Some((&mut vs.offset, &mut vs.offset_expr)),
            Expr::MatrixSelector(ms) => {
                Some((&mut ms.selector.offset, &mut ms.selector.offset_expr))
            }
            Expr::Subquery(sq) => Some((&mut sq.offset, &mut sq.offset_expr)),
            _ => None,
        };
        match slot {
            None => self.semantic(
                start,
                end,
                "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
            ),
            Some((o, oe)) if *o != 0 || oe.is_some() => {
                self.semantic(start, end, "offset may not be set multiple times")
            }
            Some((o, oe)) => {
                *o = offset.ms;
                *oe = offset.expr;
            }
        }
        Ok(Node { end, ..node })
    }

    #[inline(never)]
    fn parse_at(&mut self, mut node: Node) -> PResult<Node> {
        self.advance();
        let tok = self.peek().clone();
        let (at, end) = if self.is_kw(&tok, "start") || self.is_kw(&tok, "end") {
            self.advance();
            self.expect(Kind::LParen, "@", "\"(\"")?;
            let close = self.expect(Kind::RParen, "@", "\")\"")?;
            (
                if self.is_kw(&tok, "start") {
                    AtModifier::Start
                } else {
                    AtModifier::End
                },
                close.end,
            )
        } else {
            let neg = tok.kind == Kind::Sub;
            if neg || tok.kind == Kind::Add {
                self.advance();
            }
            let t = self.peek().clone();
            let secs = match t.kind {
                Kind::Number => self.number_token_value(&t),
                Kind::Duration => self.duration_token_ms(&t) as f64 / 1000.0,
                _ => return Err(self.unexpected(&t, "@", "timestamp")),
            };
            self.advance();
            let secs = if neg { -secs } else { secs };
            if !secs.is_finite() || secs.abs() >= 9.2e15 {
                let shown = if secs.is_nan() {
                    "NaN".to_string()
                } else if secs.is_infinite() {
                    if secs > 0.0 { "+Inf" } else { "-Inf" }.to_string()
                } else {
                    format!("{secs:.6}")
                };
                self.semantic(
                    node.start,
                    node.end,
                    format!("timestamp out of bounds for @ modifier: {shown}"),
                );
            }
            let ms = (secs * 1000.0).round();
            let ms = if ms.is_finite() && ms.abs() < 9.2e18 {
                ms as i64
            } else {
                0
            };
            (AtModifier::Timestamp(ms), t.end)
        };
        let start = node.start;
        let slot = match &mut node.expr {
            Expr::VectorSelector(vs) => Some(&mut vs.at),
            Expr::MatrixSelector(ms) => Some(&mut ms.selector.at),
            Expr::Subquery(sq) => Some(&mut sq.at),
            _ => None,
        };
        match slot {
            None => self.semantic(
                start,
                end,
                "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
            ),
            Some(Some(_)) => self.semantic(start, end, "@ <timestamp> may not be set multiple times"),
            Some(slot) => *slot = Some(at),
        }
        Ok(Node { end, ..node })
    }
}
