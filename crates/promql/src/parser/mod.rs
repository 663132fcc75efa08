//! The PromQL parser: text to a type-checked [`Expr`].
//!
//! Grammar and messages follow Prometheus 3.x (`promql/parser`): a lexer
//! ([`lexer`], built on nom) and a precedence-climbing parser. Syntax errors
//! stop the parse; semantic errors (unknown functions, bad modifiers) are
//! collected and the first is reported, and type errors are reported only
//! when nothing else is wrong, as in Prometheus.
//!
//! Safety: the query length is capped ([`MAX_QUERY_LEN`]), and both the
//! recursion depth of the parser and the height of the produced tree are
//! capped by [`ParserOptions::max_depth`], so deep input fails with
//! "expression nesting too deep" instead of overflowing the stack (and a
//! tree that exists is shallow enough to drop and walk recursively).
//!
//! ```
//! use promlite_promql::parser::parse;
//! let e = parse("sum by (job) (rate(http_requests_total[5m]))").unwrap();
//! assert_eq!(e.to_string(), "sum by (job) (rate(http_requests_total[5m]))");
//! let err = parse("rate(foo)").unwrap_err();
//! assert_eq!(err.message, "expected type range vector in call to function \"rate\", got instant vector");
//! ```

mod duration;
mod expr;
mod lexer;
mod primary;
mod unquote;

use promlite_model::Matcher;

use crate::ast::{Expr, ValueType};
use crate::error::ParseError;
use lexer::{Kind, Token};

pub use unquote::{go_quote, go_quote_bytes};

/// The longest query text accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 1 << 20;

/// Parser settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParserOptions {
    /// Accept the functions and aggregations Prometheus gates behind
    /// `--enable-feature=promql-experimental-functions` (`limitk`,
    /// `limit_ratio`, `sort_by_label`, …).
    pub enable_experimental_functions: bool,
    /// Maximum nesting of the expression (parentheses, operators, calls,
    /// subqueries…); deeper input is rejected.
    pub max_depth: usize,
}

impl Default for ParserOptions {
    fn default() -> Self {
        ParserOptions {
            enable_experimental_functions: false,
            max_depth: 256,
        }
    }
}

/// Parses a PromQL expression with the default [`ParserOptions`].
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    parse_with(input, &ParserOptions::default())
}

/// Parses a PromQL expression.
pub fn parse_with(input: &str, opts: &ParserOptions) -> Result<Expr, ParseError> {
    let mut p = Parser::new(input, opts)?;
    let result = p.parse_top();
    p.finish(result)
}

/// Parses a metric selector such as `up{job="x"}` or `{__name__=~"a.*"}`
/// into its matchers (for the HTTP API's `match[]`). Offsets, ranges and
/// anything else are rejected.
///
/// Like Prometheus's `ParseMetricSelector` this does not type-check: `{}`
/// and `{a=""}` are accepted, and the API answers them with "match[] must
/// contain at least one non-empty matcher".
pub fn parse_metric_selector(input: &str) -> Result<Vec<Matcher>, ParseError> {
    let opts = ParserOptions::default();
    let mut p = Parser::new(input, &opts)?;
    let result = p.parse_selector_only();
    p.type_errors.clear();
    p.finish(result)
}

/// A parsed sub-expression with its span, type and tree height.
#[derive(Debug)]
pub(crate) struct Node {
    pub expr: Expr,
    pub ty: ValueType,
    pub start: usize,
    pub end: usize,
    pub height: usize,
}

pub(crate) type PResult<T> = Result<T, ParseError>;

pub(crate) const TOO_DEEP: &str = "expression nesting too deep";
pub(crate) const EMPTY_SELECTOR: &str =
    "vector selector must contain at least one non-empty matcher";

/// An error found while parsing: byte span and message.
#[derive(Debug)]
pub(crate) struct Pending {
    pub start: usize,
    pub end: usize,
    pub message: String,
}

pub(crate) struct Parser<'a> {
    pub input: &'a str,
    pub toks: Vec<Token>,
    pub pos: usize,
    pub opts: &'a ParserOptions,
    pub depth: usize,
    /// Errors Prometheus raises in grammar actions (parsing continues).
    /// Kept as spans: line and column are computed only for the one
    /// reported, so many errors in a long query stay linear.
    pub errors: Vec<Pending>,
    /// Errors of the type check (reported only if nothing else failed).
    pub type_errors: Vec<Pending>,
    /// Returned by `peek` if the token list were ever empty (the lexer
    /// always ends it with `Eof` or `Error`).
    eof: Token,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, opts: &'a ParserOptions) -> PResult<Parser<'a>> {
        if input.len() > MAX_QUERY_LEN {
            return Err(ParseError::at(
                input,
                0,
                0,
                format!(
                    "query too long: {} bytes, the limit is {MAX_QUERY_LEN}",
                    input.len()
                ),
            ));
        }
        let toks = lexer::lex(input);
        let eof = Token {
            kind: Kind::Eof,
            start: input.len(),
            end: input.len(),
            value: Default::default(),
        };
        Ok(Parser {
            input,
            toks,
            pos: 0,
            opts,
            depth: 0,
            errors: Vec::new(),
            type_errors: Vec::new(),
            eof,
        })
    }

    fn finish<T>(&mut self, result: PResult<T>) -> PResult<T> {
        match result {
            Err(e) if e.message == TOO_DEEP => Err(e),
            Err(e) => Err(self.first(true).unwrap_or(e)),
            Ok(v) => match self.first(false) {
                Some(e) => Err(e),
                None => Ok(v),
            },
        }
    }

    /// The first grammar-action error, else (unless `syntax_failed`) the
    /// first type error.
    fn first(&self, syntax_failed: bool) -> Option<ParseError> {
        let p = self.errors.first().or(if syntax_failed {
            None
        } else {
            self.type_errors.first()
        })?;
        Some(self.err_at(p.start, p.end, p.message.clone()))
    }

    fn parse_top(&mut self) -> PResult<Expr> {
        if self.peek().kind == Kind::Eof {
            return Err(self.err_at(0, 0, "no expression found in input"));
        }
        let node = self.parse_expr(0)?;
        self.expect_eof()?;
        Ok(node.expr)
    }

    fn parse_selector_only(&mut self) -> PResult<Vec<Matcher>> {
        if self.peek().kind == Kind::Eof {
            return Err(self.err_at(0, 0, "no expression found in input"));
        }
        let tok = self.peek().clone();
        let node = match tok.kind {
            Kind::LBrace => self.parse_selector(None, tok.start)?,
            Kind::Ident | Kind::MetricIdent if primary::metric_identifier(&self.text(&tok)) => {
                self.advance();
                self.parse_selector(Some(self.text(&tok)), tok.start)?
            }
            _ => return Err(self.unexpected(&tok, "", "")),
        };
        self.expect_eof()?;
        match node.expr.into_vector_selector() {
            Ok(vs) => Ok(vs.matchers),
            Err(_) => Err(self.err_at(node.start, node.end, "expected a vector selector")),
        }
    }

    fn expect_eof(&mut self) -> PResult<()> {
        let tok = self.peek().clone();
        if tok.kind == Kind::Eof {
            Ok(())
        } else {
            Err(self.unexpected(&tok, "", ""))
        }
    }

    // ---- token access -------------------------------------------------

    pub fn peek(&self) -> &Token {
        self.peek_n(0)
    }

    /// The token `n` ahead; the final Eof/Error token repeats forever.
    pub fn peek_n(&self, n: usize) -> &Token {
        self.toks
            .get(self.pos.saturating_add(n))
            .or(self.toks.last())
            .unwrap_or(&self.eof)
    }

    pub fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    pub fn text(&self, t: &Token) -> String {
        self.input.get(t.start..t.end).unwrap_or("").to_string()
    }

    /// True if `t` is the identifier `word` (ASCII case-insensitive, as
    /// Prometheus matches keywords).
    pub fn is_kw(&self, t: &Token, word: &str) -> bool {
        t.kind == Kind::Ident
            && self
                .input
                .get(t.start..t.end)
                .is_some_and(|s| s.eq_ignore_ascii_case(word))
    }

    pub fn expect(&mut self, kind: Kind, context: &str, expected: &str) -> PResult<Token> {
        let t = self.peek().clone();
        if t.kind == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected(&t, context, expected))
        }
    }

    // ---- errors ---------------------------------------------------------

    #[inline(never)]
    pub fn err_at(&self, start: usize, end: usize, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.input, start, end, msg)
    }

    /// A semantic error raised while parsing (parsing continues).
    #[inline(never)]
    pub fn semantic(&mut self, start: usize, end: usize, msg: impl Into<String>) {
        self.errors.push(Pending {
            start,
            end,
            message: msg.into(),
        });
    }

    /// A type error (reported only if there is no other error).
    #[inline(never)]
    pub fn type_error(&mut self, start: usize, end: usize, msg: impl Into<String>) {
        self.type_errors.push(Pending {
            start,
            end,
            message: msg.into(),
        });
    }

    /// Prometheus's `unexpected <token> in <context>, expected <expected>`.
    #[inline(never)]
    pub fn unexpected(&self, t: &Token, context: &str, expected: &str) -> ParseError {
        if t.kind == Kind::Error {
            return self.err_at(t.start, t.end, t.value.to_string_lossy());
        }
        let mut msg = format!("unexpected {}", self.describe(t));
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        self.err_at(t.start, t.end, msg)
    }

    /// Prometheus's `Item.desc()`.
    #[inline(never)]
    fn describe(&self, t: &Token) -> String {
        let text = self.text(t);
        let truncated = || {
            if text.chars().count() > 10 {
                format!(
                    "{}...",
                    go_quote(&text.chars().take(10).collect::<String>())
                )
            } else {
                go_quote(&text)
            }
        };
        match t.kind {
            Kind::Eof => "end of input".to_string(),
            Kind::Ident => {
                let lower = text.to_ascii_lowercase();
                if primary::AGGREGATORS.contains(&lower.as_str()) {
                    format!("<aggr:{text}>")
                } else if ["and", "or", "unless", "atan2"].contains(&lower.as_str()) {
                    format!("<op:{text}>")
                } else if primary::KEYWORDS.contains(&lower.as_str()) {
                    format!("<{text}>")
                } else {
                    format!("identifier {}", go_quote(&text))
                }
            }
            Kind::MetricIdent => format!("metric identifier {}", go_quote(&text)),
            Kind::Number => format!("number {}", truncated()),
            Kind::Duration => format!("duration {}", truncated()),
            Kind::Str => format!("string {}", truncated()),
            Kind::Add
            | Kind::Sub
            | Kind::Mul
            | Kind::Div
            | Kind::Mod
            | Kind::Pow
            | Kind::Eqlc
            | Kind::Neq
            | Kind::Lss
            | Kind::Lte
            | Kind::Gtr
            | Kind::Gte
            | Kind::EqlRegex
            | Kind::NeqRegex
            | Kind::At => format!("<op:{text}>"),
            _ => go_quote(&text),
        }
    }

    // ---- nesting bounds -------------------------------------------------

    /// Checks a new node's height against the limit.
    pub fn check_height(&self, height: usize, start: usize, end: usize) -> PResult<()> {
        if height > self.opts.max_depth {
            Err(self.err_at(start, end, TOO_DEEP))
        } else {
            Ok(())
        }
    }
}
