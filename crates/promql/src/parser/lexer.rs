//! The PromQL lexer: text to tokens with byte spans.
//!
//! It follows the modes of Prometheus's `lex.go`: inside `{...}` words are
//! plain label names (never keywords), inside `[...]` a `:` separates range
//! and step, everywhere else `:` may be part of a metric name. The lexer
//! stops at the first problem and ends the stream with an [`Kind::Error`]
//! token carrying the message; the parser reports it only if it gets that
//! far, as Prometheus's lazy lexer does.

use nom::bytes::complete::take_while;
use nom::{IResult, Parser};

use super::unquote::{scan_quoted, scan_raw};
use crate::ast::StringLiteral;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `[a-zA-Z_][a-zA-Z0-9_]*`; keywords are classified by the parser.
    Ident,
    /// An identifier containing `:` (outside braces only).
    MetricIdent,
    /// A number literal, including the words `Inf` and `NaN`.
    Number,
    /// A duration such as `5m` or `1h30m`.
    Duration,
    /// A string literal; `Token::value` holds the unescaped bytes.
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    /// `=`
    Assign,
    /// `==`
    Eqlc,
    Neq,
    EqlRegex,
    NeqRegex,
    Lss,
    Lte,
    Gtr,
    Gte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eof,
    /// A lexical error; `Token::value` holds the message.
    Error,
}

/// One token: its kind, byte span and, for strings and errors, a value
/// (an error's message is UTF-8).
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub value: StringLiteral,
}

/// Go's `isAlpha`: ASCII letters and `_`.
fn is_alpha(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_alnum(c: char) -> bool {
    is_alpha(c) || c.is_ascii_digit()
}

/// The longest prefix of `s` whose chars satisfy `pred` (a nom `take_while`).
fn run(s: &str, pred: impl Fn(char) -> bool) -> &str {
    let r: IResult<&str, &str> = take_while(pred).parse(s);
    r.map(|(_, m)| m).unwrap_or("")
}

/// Go's `%q` for a single rune, as used in Prometheus's lexer messages.
pub(crate) fn quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '\\' => "'\\\\'".to_string(),
        '\n' => "'\\n'".to_string(),
        '\t' => "'\\t'".to_string(),
        '\r' => "'\\r'".to_string(),
        c if c.is_control() => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    toks: Vec<Token>,
    paren_depth: usize,
    brace_open: bool,
    bracket_open: bool,
}

/// Tokenizes `input`. The result always ends with an `Eof` or `Error` token.
pub(crate) fn lex(input: &str) -> Vec<Token> {
    let mut l = Lexer {
        input,
        pos: 0,
        toks: Vec::new(),
        paren_depth: 0,
        brace_open: false,
        bracket_open: false,
    };
    loop {
        match l.step() {
            Ok(true) => {}
            Ok(false) => break,
            Err((start, msg)) => {
                l.toks.push(Token {
                    kind: Kind::Error,
                    start,
                    end: input.len(),
                    value: msg.into(),
                });
                break;
            }
        }
    }
    l.toks
}

type Step = Result<bool, (usize, String)>;

impl Lexer<'_> {
    fn rest(&self) -> &str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn push(&mut self, kind: Kind, len: usize) {
        let start = self.pos;
        self.pos += len;
        self.toks.push(Token {
            kind,
            start,
            end: self.pos,
            value: StringLiteral::default(),
        });
    }

    /// Lexes one token (or skips blanks/comments). `Ok(false)` at the end.
    fn step(&mut self) -> Step {
        let Some(c) = self.peek_at(0) else {
            return self.eof();
        };
        let start = self.pos;
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                self.pos += 1;
                Ok(true)
            }
            '#' => {
                let comment = run(self.rest(), |c| c != '\n');
                self.pos += comment.len();
                Ok(true)
            }
            '"' | '\'' => {
                let (value, len) = scan_quoted(self.rest(), c).map_err(|m| (start, m))?;
                self.pos += len;
                self.toks.push(Token {
                    kind: Kind::Str,
                    start,
                    end: self.pos,
                    value,
                });
                Ok(true)
            }
            '`' => {
                let (value, len) = scan_raw(self.rest()).map_err(|m| (start, m))?;
                self.pos += len;
                self.toks.push(Token {
                    kind: Kind::Str,
                    start,
                    end: self.pos,
                    value,
                });
                Ok(true)
            }
            ',' => {
                self.push(Kind::Comma, 1);
                Ok(true)
            }
            _ if self.brace_open => self.inside_braces(c),
            _ => self.statement(c),
        }
    }

    fn eof(&mut self) -> Step {
        let msg = if self.brace_open {
            "unexpected end of input inside braces"
        } else if self.paren_depth > 0 {
            "unclosed left parenthesis"
        } else if self.bracket_open {
            "unclosed left bracket"
        } else {
            self.toks.push(Token {
                kind: Kind::Eof,
                start: self.pos,
                end: self.pos,
                value: StringLiteral::default(),
            });
            return Ok(false);
        };
        Err((self.pos, msg.to_string()))
    }

    fn inside_braces(&mut self, c: char) -> Step {
        let start = self.pos;
        let next = self.peek_at(1);
        match c {
            '=' if next == Some('~') => self.push(Kind::EqlRegex, 2),
            '=' => self.push(Kind::Assign, 1),
            '!' if next == Some('=') => self.push(Kind::Neq, 2),
            '!' if next == Some('~') => self.push(Kind::NeqRegex, 2),
            '!' => {
                let n = next.map(quote_rune).unwrap_or_else(|| "EOF".to_string());
                return Err((
                    start,
                    format!("unexpected character after '!' inside braces: {n}"),
                ));
            }
            '}' => {
                self.brace_open = false;
                self.push(Kind::RBrace, 1);
            }
            '{' => return Err((start, "unexpected left brace '{'".to_string())),
            c if is_alpha(c) => {
                let word = run(self.rest(), is_alnum);
                let len = word.len();
                self.push(Kind::Ident, len);
            }
            c => {
                return Err((
                    start,
                    format!("unexpected character inside braces: {}", quote_rune(c)),
                ))
            }
        }
        Ok(true)
    }

    fn statement(&mut self, c: char) -> Step {
        let start = self.pos;
        let next = self.peek_at(1);
        match c {
            '(' => {
                self.paren_depth += 1;
                self.push(Kind::LParen, 1);
            }
            ')' => {
                if self.paren_depth == 0 {
                    return Err((start + 1, "unexpected right parenthesis ')'".to_string()));
                }
                self.paren_depth -= 1;
                self.push(Kind::RParen, 1);
            }
            '{' => {
                self.brace_open = true;
                self.push(Kind::LBrace, 1);
            }
            '}' => return Err((start, "unexpected character: '}'".to_string())),
            '[' => {
                if self.bracket_open {
                    return Err((start, "unexpected left bracket '['".to_string()));
                }
                self.bracket_open = true;
                self.push(Kind::LBracket, 1);
            }
            ']' => {
                if !self.bracket_open {
                    return Err((start, "unexpected right bracket ']'".to_string()));
                }
                self.bracket_open = false;
                self.push(Kind::RBracket, 1);
            }
            '@' => self.push(Kind::At, 1),
            ':' if self.bracket_open => self.push(Kind::Colon, 1),
            '=' if next == Some('=') => self.push(Kind::Eqlc, 2),
            '=' if next == Some('~') => {
                return Err((start, "unexpected character after '=': '~'".to_string()))
            }
            '=' => self.push(Kind::Assign, 1),
            '!' if next == Some('=') => self.push(Kind::Neq, 2),
            '!' => {
                let n = next.map(quote_rune).unwrap_or_else(|| "EOF".to_string());
                return Err((start, format!("unexpected character after '!': {n}")));
            }
            '<' if next == Some('=') => self.push(Kind::Lte, 2),
            '<' => self.push(Kind::Lss, 1),
            '>' if next == Some('=') => self.push(Kind::Gte, 2),
            '>' => self.push(Kind::Gtr, 1),
            '+' => self.push(Kind::Add, 1),
            '-' => self.push(Kind::Sub, 1),
            '*' => self.push(Kind::Mul, 1),
            '/' => self.push(Kind::Div, 1),
            '%' => self.push(Kind::Mod, 1),
            '^' => self.push(Kind::Pow, 1),
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                return self.number_or_duration();
            }
            c if is_alpha(c) || c == ':' => {
                let word = run(self.rest(), |c| is_alnum(c) || c == ':');
                let len = word.len();
                let kind = if word.contains(':') {
                    Kind::MetricIdent
                } else if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("nan") {
                    Kind::Number
                } else {
                    Kind::Ident
                };
                self.push(kind, len);
            }
            c => return Err((start, format!("unexpected character: {}", quote_rune(c)))),
        }
        Ok(true)
    }

    /// Prometheus's `lexNumberOrDuration`: a number not followed by a word
    /// character, else a duration (`\d+unit` repeated), else an error.
    fn number_or_duration(&mut self) -> Step {
        let s = self.rest();
        let (is_number, mut i) = scan_number(s);
        if is_number {
            self.push(Kind::Number, i);
            return Ok(true);
        }
        // A duration: a unit, then optionally more `digits unit` groups.
        let b = s.as_bytes();
        let units = |c: u8| matches!(c, b'n' | b's' | b'u' | b'm' | b'h' | b'd' | b'w' | b'y');
        let mut ok = false;
        if b.get(i).is_some_and(|&c| units(c)) {
            i += 1;
            if b.get(i) == Some(&b's') {
                i += 1;
            }
            ok = true;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if !b.get(i).is_some_and(|&c| units(c) && c != b'y') {
                    ok = false;
                    break;
                }
                i += 1;
                if b.get(i) == Some(&b's') {
                    i += 1;
                }
            }
        }
        let next = s.get(i..).and_then(|r| r.chars().next());
        if ok && !next.is_some_and(is_alnum) {
            self.push(Kind::Duration, i);
            return Ok(true);
        }
        let bad_end = if ok {
            i + next.map(char::len_utf8).unwrap_or(0)
        } else {
            i
        };
        let text = s.get(..bad_end).unwrap_or(s);
        Err((self.pos, format!("bad number or duration syntax: {text:?}")))
    }
}

/// Prometheus's `scanNumber`: `[0x][.]d[d._eE]*` with rules against
/// repeated dots and exponents and dangling `_`/`e`. Returns whether a
/// number was scanned and how far the scan got.
fn scan_number(s: &str) -> (bool, usize) {
    let b = s.as_bytes();
    let mut i = 0;
    let at = |i: usize, set: &[u8]| b.get(i).is_some_and(|c| set.contains(c));
    let mut hex = false;
    if at(0, b"0") {
        i = 1;
        if at(1, b"xX") {
            i = 2;
            hex = true;
            if at(i, b"_") {
                i += 1;
            }
        }
    }
    let digits: &[u8] = if hex {
        b"0123456789abcdefABCDEF"
    } else {
        b"0123456789"
    };
    if at(i, b".") {
        i += 1;
    }
    if at(i, digits) {
        i += 1;
    }
    let (mut dot, mut exp) = (false, false);
    loop {
        let is_dot = at(i, b".");
        let is_exp = at(i, b"eE");
        if !(at(i, digits) || is_dot || is_exp || at(i, b"_")) {
            break;
        }
        if is_dot && dot || is_exp && exp {
            return (false, i + 1);
        }
        if is_dot {
            dot = true;
            i += 1;
            if at(i, b"_.") {
                return (false, i + 1);
            }
            if hex {
                return (false, i);
            }
            continue;
        }
        if is_exp {
            exp = true;
            i += 1;
            if at(i, b"+-") {
                i += 1;
            }
            if at(i, b"._eE") {
                return (false, i + 1);
            }
            if i >= b.len() {
                return (false, i);
            }
            continue;
        }
        if at(i, b"_") {
            i += 1;
            if at(i, b"._eE") {
                return (false, i + 1);
            }
            if i >= b.len() {
                return (false, i);
            }
            continue;
        }
        while at(i, digits) {
            i += 1;
        }
    }
    if i == 0 {
        return (false, 0);
    }
    let next = s.get(i..).and_then(|r| r.chars().next());
    (!next.is_some_and(is_alnum), i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Kind> {
        lex(s).iter().map(|t| t.kind).collect()
    }

    #[test]
    fn lexes_statements() {
        use Kind::*;
        assert_eq!(
            kinds("foo{a=~\"b\"}[5m:1m] offset -1h"),
            vec![
                Ident, LBrace, Ident, EqlRegex, Str, RBrace, LBracket, Duration, Colon, Duration,
                RBracket, Ident, Sub, Duration, Eof
            ]
        );
        assert_eq!(
            kinds("a:b:c >= 0x1f .5 5. 1e-3 Inf nan 1_000 0x_1F"),
            vec![
                MetricIdent,
                Gte,
                Number,
                Number,
                Number,
                Number,
                Number,
                Number,
                Number,
                Number,
                Eof
            ]
        );
        assert_eq!(kinds("# comment\n1 # more"), vec![Number, Eof]);
    }

    #[test]
    fn lexer_errors() {
        let last = |s: &str| {
            lex(s)
                .pop()
                .map(|t| (t.kind, t.value.to_string_lossy()))
                .unwrap_or((Kind::Eof, String::new()))
        };
        assert_eq!(
            last("(foo"),
            (Kind::Error, "unclosed left parenthesis".into())
        );
        assert_eq!(
            last("foo)"),
            (Kind::Error, "unexpected right parenthesis ')'".into())
        );
        assert_eq!(
            last("foo{a=\"b\""),
            (Kind::Error, "unexpected end of input inside braces".into())
        );
        assert_eq!(
            last("foo[5m"),
            (Kind::Error, "unclosed left bracket".into())
        );
        assert_eq!(
            last("1a"),
            (Kind::Error, "bad number or duration syntax: \"1\"".into())
        );
        assert_eq!(
            last("2.5."),
            (
                Kind::Error,
                "bad number or duration syntax: \"2.5.\"".into()
            )
        );
        assert_eq!(
            last("100..4"),
            (
                Kind::Error,
                "bad number or duration syntax: \"100..\"".into()
            )
        );
        assert_eq!(
            last("0deadbeef"),
            (Kind::Error, "bad number or duration syntax: \"0de\"".into())
        );
        assert_eq!(
            last("foo[5mm]"),
            (Kind::Error, "bad number or duration syntax: \"5mm\"".into())
        );
        assert_eq!(
            last("foo[5m1]"),
            (Kind::Error, "bad number or duration syntax: \"5m1\"".into())
        );
        assert_eq!(last("}"), (Kind::Error, "unexpected character: '}'".into()));
        assert_eq!(
            last("foo =~ bar"),
            (Kind::Error, "unexpected character after '=': '~'".into())
        );
        assert_eq!(last("ä"), (Kind::Error, "unexpected character: 'ä'".into()));
    }
}
