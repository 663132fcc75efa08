//! Primary expressions: literals, parentheses, vector selectors, function
//! calls and aggregations.

use promlite_model::duration::parse_duration;
use promlite_model::{MatchOp, Matcher, METRIC_NAME};

use crate::ast::{
    AggregateExpr, AggregateOp, Boundary, Call, CallPos, Expr, Pos, ValueType, VectorSelector,
};
use crate::functions;

use super::lexer::{Kind, Token};
use super::{go_quote, Node, PResult, Parser, EMPTY_SELECTOR};

/// Aggregation keywords (lower case).
pub(crate) const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Other keywords (lower case).
pub(crate) const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "start",
    "end",
];

/// Keywords that cannot name a metric (Prometheus's `metric_identifier`).
const NOT_METRIC_NAMES: &[&str] = &[
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "atan2",
];

/// True if the word may be used as a metric name outside braces.
pub(crate) fn metric_identifier(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    !NOT_METRIC_NAMES.contains(&lower.as_str()) && lower != "inf" && lower != "nan"
}

impl Parser<'_> {
    pub fn parse_primary(&mut self) -> PResult<Node> {
        let tok = self.peek().clone();
        match tok.kind {
            Kind::Number | Kind::Duration => {
                self.advance();
                let v = if tok.kind == Kind::Number {
                    self.number_token_value(&tok)
                } else {
                    self.duration_token_ms(&tok) as f64 / 1000.0
                };
                Ok(leaf(Expr::Number(v), ValueType::Scalar, &tok))
            }
            Kind::Str => {
                self.advance();
                Ok(leaf(
                    Expr::String(tok.value.clone()),
                    ValueType::String,
                    &tok,
                ))
            }
            Kind::LParen => {
                self.advance();
                let inner = self.parse_expr(0)?;
                let close = self.expect(Kind::RParen, "paren expression", "\")\"")?;
                let height = inner.height + 1;
                self.check_height(height, tok.start, close.end)?;
                let ty = inner.ty;
                Ok(Node {
                    expr: Expr::Paren(Box::new(inner.expr)),
                    ty,
                    start: tok.start,
                    end: close.end,
                    height,
                })
            }
            Kind::LBrace => self.parse_selector(None, tok.start),
            Kind::Ident | Kind::MetricIdent => {
                let word = self.text(&tok);
                let lower = word.to_ascii_lowercase();
                let next = self.peek_n(1).clone();
                if AGGREGATORS.contains(&lower.as_str())
                    && (next.kind == Kind::LParen
                        || self.is_kw(&next, "by")
                        || self.is_kw(&next, "without"))
                {
                    return self.parse_aggregate(&tok, &lower);
                }
                // `start()` and `end()` are also functions (experimental in
                // Prometheus 3.12+), besides `@ start()`.
                if tok.kind == Kind::Ident
                    && next.kind == Kind::LParen
                    && !AGGREGATORS.contains(&lower.as_str())
                    && (!KEYWORDS.contains(&lower.as_str()) || lower == "start" || lower == "end")
                    && !NOT_METRIC_NAMES.contains(&lower.as_str())
                {
                    return self.parse_call(&tok, word);
                }
                if !metric_identifier(&word) {
                    return Err(self.unexpected(&tok, "", ""));
                }
                self.advance();
                self.parse_selector(Some(word), tok.start)
            }
            _ => Err(self.unexpected(&tok, "", "")),
        }
    }

    /// Prometheus's `number()`: integers in Go syntax (hex, octal with a
    /// leading 0, `_` between digits), else a float.
    #[inline(never)]
    pub fn number_token_value(&mut self, tok: &Token) -> f64 {
        let raw = self.text(tok);
        let s = raw.replace('_', "");
        if let Some(v) = parse_go_int(&s) {
            return v as f64;
        }
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "inf" => return f64::INFINITY,
            "nan" => return f64::NAN,
            _ => {}
        }
        let msg = match s.parse::<f64>() {
            Ok(v) if v.is_finite() && !lower.starts_with("0x") => return v,
            Ok(_) if !lower.starts_with("0x") => "value out of range",
            _ => "invalid syntax",
        };
        let msg = format!(
            "error parsing number: strconv.ParseFloat: parsing {}: {msg}",
            go_quote(&raw)
        );
        self.semantic(tok.start, tok.end, msg);
        0.0
    }

    /// A duration token in ms; zero and malformed durations are errors.
    #[inline(never)]
    pub fn duration_token_ms(&mut self, tok: &Token) -> i64 {
        let s = self.text(tok);
        match parse_duration(&s) {
            Ok(0) => {
                self.semantic(tok.start, tok.end, "duration must be greater than 0");
                0
            }
            Ok(ms) => ms,
            Err(e) => {
                self.semantic(tok.start, tok.end, e.to_string());
                0
            }
        }
    }

    /// `{...}` after an optional metric name (already consumed).
    #[inline(never)]
    pub fn parse_selector(&mut self, name: Option<String>, start: usize) -> PResult<Node> {
        let mut matchers = Vec::new();
        let mut end = self
            .toks
            .get(self.pos.saturating_sub(1))
            .map(|t| t.end)
            .unwrap_or(start);
        if self.peek().kind == Kind::LBrace {
            self.advance();
            loop {
                let tok = self.peek().clone();
                if tok.kind == Kind::RBrace {
                    end = self.advance().end;
                    break;
                }
                if let Some(m) = self.parse_matcher()? {
                    matchers.push(m);
                }
                let sep = self.peek().clone();
                match sep.kind {
                    Kind::Comma => {
                        self.advance();
                    }
                    Kind::RBrace => {}
                    _ => return Err(self.unexpected(&sep, "label matching", "\",\" or \"}\"")),
                }
            }
        }
        let mut vs = VectorSelector {
            name: None,
            matchers,
            offset: 0,
            offset_expr: None,
            at: None,
            boundary: Boundary::Plain,
        };
        if let Some(name) = name {
            if let Some(m) = vs.matchers.iter().find(|m| m.name == METRIC_NAME) {
                let msg = format!(
                    "metric name must not be set twice: {} or {}",
                    go_quote(&name),
                    go_quote(&m.value)
                );
                self.type_error(start, end, msg);
            }
            vs.matchers.push(Matcher::equal(METRIC_NAME, name.clone()));
            vs.name = Some(name);
        } else if !vs.matchers.iter().any(|m| !m.matches_empty()) {
            self.type_error(start, end, EMPTY_SELECTOR);
        }
        Ok(Node {
            expr: Expr::VectorSelector(vs),
            ty: ValueType::Vector,
            start,
            end,
            height: 1,
        })
    }

    /// One `label op "value"` or a bare `"metric name"` inside braces.
    #[inline(never)]
    fn parse_matcher(&mut self) -> PResult<Option<Matcher>> {
        let tok = self.peek().clone();
        let name = match tok.kind {
            Kind::Ident => self.text(&tok),
            Kind::Str => self.utf8_string(&tok, "label name"),
            _ => return Err(self.unexpected(&tok, "label matching", "identifier or \"}\"")),
        };
        self.advance();
        let op_tok = self.peek().clone();
        let op = match op_tok.kind {
            Kind::Assign => MatchOp::Equal,
            Kind::Neq => MatchOp::NotEqual,
            Kind::EqlRegex => MatchOp::Regex,
            Kind::NeqRegex => MatchOp::NotRegex,
            Kind::Comma | Kind::RBrace if tok.kind == Kind::Str => {
                return Ok(Some(Matcher::equal(METRIC_NAME, name)));
            }
            _ => return Err(self.unexpected(&op_tok, "label matching", "label matching operator")),
        };
        self.advance();
        let val = self.peek().clone();
        if val.kind != Kind::Str {
            return Err(self.unexpected(&val, "label matching", "string"));
        }
        self.advance();
        let value = self.utf8_string(&val, "label matcher value");
        match Matcher::new(op, name, value) {
            Ok(m) => Ok(Some(m)),
            Err(e) => {
                self.semantic(tok.start, val.end, e.to_string());
                Ok(None)
            }
        }
    }

    /// A string token's text where promlite needs UTF-8: a label name or
    /// value in a selector. Prometheus takes any bytes there (the selector
    /// then matches no series, as stored labels are UTF-8, or all of them
    /// for `!=`); promlite's matchers hold text, so such a string is a parse
    /// error here.
    fn utf8_string(&mut self, tok: &Token, what: &str) -> String {
        match tok.value.as_str() {
            Some(s) => s.to_string(),
            None => {
                let msg = format!("invalid UTF-8 in {what} {}", tok.value.quoted());
                self.semantic(tok.start, tok.end, msg);
                tok.value.to_string_lossy()
            }
        }
    }

    /// `( label, ... )` for `by`, `without`, `on`, `ignoring`, `group_x`.
    #[inline(never)]
    pub fn parse_grouping_labels(&mut self) -> PResult<Vec<String>> {
        self.expect(Kind::LParen, "grouping opts", "\"(\"")?;
        let mut labels = Vec::new();
        loop {
            let tok = self.peek().clone();
            match tok.kind {
                Kind::RParen => {
                    self.advance();
                    return Ok(labels);
                }
                Kind::Ident | Kind::MetricIdent => labels.push(self.text(&tok)),
                Kind::Str => match tok.value.as_str() {
                    Some(name) if !name.is_empty() => labels.push(name.to_string()),
                    _ => {
                        // Prometheus: a label name is non-empty UTF-8.
                        let msg =
                            format!("invalid label name for grouping: {}", tok.value.quoted());
                        self.semantic(tok.start, tok.end, msg);
                        labels.push(tok.value.to_string_lossy());
                    }
                },
                _ => return Err(self.unexpected(&tok, "grouping opts", "label")),
            }
            self.advance();
            let sep = self.peek().clone();
            match sep.kind {
                Kind::Comma => {
                    self.advance();
                }
                Kind::RParen => {}
                _ => return Err(self.unexpected(&sep, "grouping opts", "\",\" or \")\"")),
            }
        }
    }

    /// `( expr, ... )`, returning the arguments and the closing paren.
    fn parse_call_args(&mut self, bypass_first_empty: bool) -> PResult<(Vec<Node>, Token)> {
        self.expect(Kind::LParen, "function call", "\"(\"")?;
        let mut args = Vec::new();
        if self.peek().kind == Kind::RParen {
            return Ok((args, self.advance()));
        }
        loop {
            let before = self.type_errors.len();
            let arg = self.parse_expr(0)?;
            if bypass_first_empty && args.len() == 1 && matches!(arg.expr, Expr::VectorSelector(_))
            {
                // `info`'s second argument may be `{}`: drop that check's error.
                let start = arg.start;
                let mut idx = 0;
                self.type_errors.retain(|e| {
                    let keep = idx < before || !(e.start == start && e.message == EMPTY_SELECTOR);
                    idx += 1;
                    keep
                });
            }
            args.push(arg);
            let sep = self.peek().clone();
            match sep.kind {
                Kind::Comma => {
                    self.advance();
                    if self.peek().kind == Kind::RParen {
                        self.semantic(
                            sep.start,
                            sep.end,
                            "trailing commas not allowed in function call args",
                        );
                        return Ok((args, self.advance()));
                    }
                }
                Kind::RParen => return Ok((args, self.advance())),
                _ => return Err(self.unexpected(&sep, "function call", "\",\" or \")\"")),
            }
        }
    }

    #[inline(never)]
    fn parse_call(&mut self, name_tok: &Token, name: String) -> PResult<Node> {
        self.advance();
        let func = functions::lookup(&name);
        match func {
            None => self.semantic(
                name_tok.start,
                name_tok.end,
                format!("unknown function with name {}", go_quote(&name)),
            ),
            Some(f) if f.experimental && !self.opts.enable_experimental_functions => self.semantic(
                name_tok.start,
                name_tok.end,
                format!("function {} is not enabled", go_quote(&name)),
            ),
            _ => {}
        }
        let (args, close) = self.parse_call_args(name == "info")?;
        let (start, end) = (name_tok.start, close.end);
        let height = args.iter().map(|a| a.height).max().unwrap_or(0) + 1;
        self.check_height(height, start, end)?;
        let ty = func.map(|f| f.return_type).unwrap_or(ValueType::Vector);
        if let Some(f) = func {
            self.check_call(f, &args, start, end);
        }
        let pos = CallPos::new(start, args.iter().map(|a| a.start));
        let expr = Expr::Call(Call {
            func: name,
            args: args.into_iter().map(|a| a.expr).collect(),
            pos,
        });
        Ok(Node {
            expr,
            ty,
            start,
            end,
            height,
        })
    }

    #[inline(never)]
    fn check_call(&mut self, f: &functions::Function, args: &[Node], start: usize, end: usize) {
        let nargs = f.arg_types.len();
        let name = go_quote(f.name);
        if f.variadic == 0 {
            if nargs != args.len() {
                self.type_error(
                    start,
                    end,
                    format!(
                        "expected {nargs} argument(s) in call to {name}, got {}",
                        args.len()
                    ),
                );
            }
        } else {
            let min = nargs.saturating_sub(1);
            if min > args.len() {
                let msg = format!(
                    "expected at least {min} argument(s) in call to {name}, got {}",
                    args.len()
                );
                self.type_error(start, end, msg);
            } else if f.variadic > 0 && (min + f.variadic as usize) < args.len() {
                let max = min + f.variadic as usize;
                let msg = format!(
                    "expected at most {max} argument(s) in call to {name}, got {}",
                    args.len()
                );
                self.type_error(start, end, msg);
            }
        }
        if f.name == "info" {
            if let Some(a) = args.get(1) {
                match &a.expr {
                    Expr::VectorSelector(vs) if vs.name.is_some() => self.type_error(
                        a.start,
                        a.end,
                        "expected label selectors only, got vector selector instead",
                    ),
                    Expr::VectorSelector(_) => {}
                    _ => {
                        let msg = format!(
                            "expected type instant vector in call to function {name}, got {}",
                            a.ty.describe()
                        );
                        self.type_error(start, end, msg);
                    }
                }
            }
        }
        for (i, arg) in args.iter().enumerate() {
            let want = match f.arg_types.get(i) {
                Some(t) => *t,
                None if f.variadic == 0 => break,
                None => match f.arg_types.last() {
                    Some(t) => *t,
                    None => break,
                },
            };
            if arg.ty != want {
                let msg = format!(
                    "expected type {} in call to function {name}, got {}",
                    want.describe(),
                    arg.ty.describe()
                );
                self.type_error(arg.start, arg.end, msg);
            }
        }
    }

    #[inline(never)]
    fn parse_aggregate(&mut self, op_tok: &Token, lower: &str) -> PResult<Node> {
        self.advance();
        let op = AggregateOp::from_name(lower).unwrap_or(AggregateOp::Sum);
        let mut grouping = Vec::new();
        let mut without = false;
        let mut has_modifier = false;
        let t = self.peek().clone();
        if self.is_kw(&t, "by") || self.is_kw(&t, "without") {
            self.advance();
            without = self.is_kw(&t, "without");
            grouping = self.parse_grouping_labels()?;
            has_modifier = true;
        }
        if self.peek().kind != Kind::LParen {
            let t = self.peek().clone();
            return Err(self.unexpected(&t, "aggregation", ""));
        }
        let (args, close) = self.parse_call_args(false)?;
        let mut end = close.end;
        let t = self.peek().clone();
        if !has_modifier && (self.is_kw(&t, "by") || self.is_kw(&t, "without")) {
            self.advance();
            without = self.is_kw(&t, "without");
            grouping = self.parse_grouping_labels()?;
            end = self
                .toks
                .get(self.pos.saturating_sub(1))
                .map(|t| t.end)
                .unwrap_or(end);
        }
        let start = op_tok.start;
        let height = args.iter().map(|a| a.height).max().unwrap_or(0) + 1;
        self.check_height(height, start, end)?;
        let mut args = args.into_iter();
        let experimental = matches!(op, AggregateOp::LimitK | AggregateOp::LimitRatio);
        let desired = if op.takes_param() { 2 } else { 1 };
        let placeholder = || Node {
            expr: Expr::Number(0.0),
            ty: ValueType::Vector,
            start,
            end,
            height: 1,
        };
        let (param, expr) = if args.len() == 0 {
            self.semantic(start, end, "no arguments for aggregate expression provided");
            (None, placeholder())
        } else if experimental && !self.opts.enable_experimental_functions {
            let msg = format!(
                "{}() is experimental and must be enabled with --enable-feature=promql-experimental-functions",
                op.as_str()
            );
            self.semantic(start, end, msg);
            (None, placeholder())
        } else if args.len() != desired {
            let msg = format!(
                "wrong number of arguments for aggregate expression provided, expected {desired}, got {}",
                args.len()
            );
            self.semantic(start, end, msg);
            (None, placeholder())
        } else if desired == 2 {
            let p = args.next();
            (p, args.next().unwrap_or_else(placeholder))
        } else {
            (None, args.next().unwrap_or_else(placeholder))
        };
        if expr.ty != ValueType::Vector {
            let msg = format!(
                "expected type instant vector in aggregation expression, got {}",
                expr.ty.describe()
            );
            self.type_error(expr.start, expr.end, msg);
        }
        if let Some(p) = &param {
            let want = if op == AggregateOp::CountValues {
                ValueType::String
            } else {
                ValueType::Scalar
            };
            if p.ty != want {
                let msg = format!(
                    "expected type {} in aggregation parameter, got {}",
                    want.describe(),
                    p.ty.describe()
                );
                self.type_error(p.start, p.end, msg);
            }
        }
        let param_pos = param
            .as_ref()
            .map(|p| Pos::new(p.start))
            .unwrap_or_default();
        let expr = Expr::Aggregate(AggregateExpr {
            op,
            expr: Box::new(expr.expr),
            param: param.map(|p| Box::new(p.expr)),
            grouping,
            without,
            param_pos,
        });
        Ok(Node {
            expr,
            ty: ValueType::Vector,
            start,
            end,
            height,
        })
    }
}

fn leaf(expr: Expr, ty: ValueType, tok: &Token) -> Node {
    Node {
        expr,
        ty,
        start: tok.start,
        end: tok.end,
        height: 1,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` for the forms the lexer produces.
fn parse_go_int(s: &str) -> Option<i64> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i64::from_str_radix(h, 16).ok();
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return i64::from_str_radix(&s[1..], 8).ok();
    }
    s.parse().ok()
}
