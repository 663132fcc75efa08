//! Template parsing: text/action splitting, action lexing, `if` blocks.

use std::fmt;

use super::MAX_DEPTH;

/// A template did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template: {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TemplateError {}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Action(Pipe),
    If {
        cond: Pipe,
        then: Vec<Node>,
        els: Vec<Node>,
    },
}

pub(crate) type Pipe = Vec<Cmd>;
pub(crate) type Cmd = Vec<Arg>;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg {
    /// `.`, `.A.b`
    Field(Vec<String>),
    /// `$name.a.b`
    Var(String, Vec<String>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Func(String),
    Sub(Pipe),
}

pub(crate) const FUNCS: &[&str] = &[
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "printf",
    "title",
    "toUpper",
    "toLower",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "len",
    "print",
    "stripPort",
    "reReplaceAll",
    "match",
    "safeHtml",
];

/// One `{{ … }}` or text piece.
enum Piece {
    Text(String),
    Action { body: String, line: usize },
}

fn split(src: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut line = 1;
    let mut trim_next = false;
    while !rest.is_empty() {
        let Some(open) = rest.find("{{") else {
            let t = if trim_next { rest.trim_start() } else { rest };
            pieces.push(Piece::Text(t.to_string()));
            break;
        };
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[open + 2..];
        let trim_left =
            after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_left {
            text = text.trim_end();
        }
        line += rest[..open].matches('\n').count();
        pieces.push(Piece::Text(text.to_string()));
        let body_start = if trim_left { 2 } else { 0 };
        let body_all = &after[body_start..];
        // Find the closing `}}` outside string literals.
        let close = find_close(body_all).ok_or_else(|| TemplateError {
            line,
            message: "unclosed action".into(),
        })?;
        let mut body = &body_all[..close];
        trim_next = false;
        if body.ends_with(" -") || body.ends_with("\t-") || body.ends_with("\n-") {
            body = &body[..body.len() - 1];
            trim_next = true;
        }
        pieces.push(Piece::Action {
            body: body.to_string(),
            line,
        });
        line += body_all[..close].matches('\n').count();
        rest = &body_all[close + 2..];
    }
    Ok(pieces)
}

fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    if s.trim_start().starts_with("/*") {
        return s.find("*/").and_then(|e| s[e..].find("}}").map(|c| e + c));
    }
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' && q == b'"' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c == b'"' || c == b'`' || c == b'\'' {
                    quote = Some(c);
                } else if c == b'}' && b.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Pipe,
    LParen,
    RParen,
    Arg(Arg),
    Ident(String),
}

fn lex(body: &str, line: usize) -> Result<Vec<Tok>, TemplateError> {
    let e = |m: String| TemplateError { line, message: m };
    let cs: Vec<char> = body.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                toks.push(Tok::RParen);
                i += 1;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&c) = cs.get(i) else {
                        return Err(e("unterminated quoted string".into()));
                    };
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let Some(&n) = cs.get(i) else {
                                return Err(e("unterminated quoted string".into()));
                            };
                            i += 1;
                            s.push(match n {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '\\' => '\\',
                                '"' => '"',
                                other => {
                                    return Err(e(format!("invalid escape \\{other} in string")))
                                }
                            });
                        }
                        c => s.push(c),
                    }
                }
                toks.push(Tok::Arg(Arg::Str(s)));
            }
            '`' => {
                let start = i + 1;
                let Some(end) = cs[start..].iter().position(|&c| c == '`') else {
                    return Err(e("unterminated raw quoted string".into()));
                };
                toks.push(Tok::Arg(Arg::Str(cs[start..start + end].iter().collect())));
                i = start + end + 1;
            }
            '$' | '.' => {
                let start = i;
                i += 1;
                while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_' || cs[i] == '.') {
                    i += 1;
                }
                let word: String = cs[start..i].iter().collect();
                if let Some(var) = word.strip_prefix('$') {
                    let mut parts = var.split('.');
                    let name = parts.next().unwrap_or("").to_string();
                    let fields: Vec<String> = parts.map(str::to_string).collect();
                    if fields.iter().any(String::is_empty) {
                        return Err(e(format!("bad field in {word}")));
                    }
                    toks.push(Tok::Arg(Arg::Var(name, fields)));
                } else {
                    let fields: Vec<String> = if word == "." {
                        Vec::new()
                    } else {
                        word[1..].split('.').map(str::to_string).collect()
                    };
                    if fields.iter().any(String::is_empty) {
                        return Err(e(format!("bad field in {word}")));
                    }
                    toks.push(Tok::Arg(Arg::Field(fields)));
                }
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let start = i;
                i += 1;
                while i < cs.len()
                    && (cs[i].is_ascii_alphanumeric() || cs[i] == '.' || cs[i] == '_')
                {
                    i += 1;
                }
                let word: String = cs[start..i].iter().collect();
                if let Ok(n) = word.parse::<i64>() {
                    toks.push(Tok::Arg(Arg::Int(n)));
                } else if let Ok(f) = word.parse::<f64>() {
                    toks.push(Tok::Arg(Arg::Float(f)));
                } else {
                    return Err(e(format!("bad number syntax: {word:?}")));
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                    i += 1;
                }
                let word: String = cs[start..i].iter().collect();
                toks.push(match word.as_str() {
                    "true" => Tok::Arg(Arg::Bool(true)),
                    "false" => Tok::Arg(Arg::Bool(false)),
                    "nil" => Tok::Arg(Arg::Nil),
                    _ => Tok::Ident(word),
                });
            }
            other => return Err(e(format!("unexpected {other:?} in command"))),
        }
    }
    Ok(toks)
}

struct PipeParser<'a> {
    toks: &'a [Tok],
    pos: usize,
    line: usize,
}

impl PipeParser<'_> {
    fn err(&self, m: impl Into<String>) -> TemplateError {
        TemplateError {
            line: self.line,
            message: m.into(),
        }
    }

    fn pipe(&mut self, depth: usize) -> Result<Pipe, TemplateError> {
        if depth > MAX_DEPTH {
            return Err(self.err("expression nesting too deep"));
        }
        let mut cmds = Vec::new();
        loop {
            let mut cmd = Vec::new();
            while let Some(t) = self.toks.get(self.pos) {
                match t {
                    Tok::Pipe | Tok::RParen => break,
                    Tok::LParen => {
                        self.pos += 1;
                        let p = self.pipe(depth + 1)?;
                        if self.toks.get(self.pos) != Some(&Tok::RParen) {
                            return Err(self.err("unclosed left paren"));
                        }
                        self.pos += 1;
                        cmd.push(Arg::Sub(p));
                    }
                    Tok::Arg(a) => {
                        cmd.push(a.clone());
                        self.pos += 1;
                    }
                    Tok::Ident(name) => {
                        if !FUNCS.contains(&name.as_str()) {
                            return Err(self.err(format!("function {name:?} not defined")));
                        }
                        if !cmd.is_empty() {
                            // A function name as an argument: Go requires parentheses.
                            return Err(self.err(format!(
                                "function {name:?} used as an argument; wrap it in parentheses"
                            )));
                        }
                        cmd.push(Arg::Func(name.clone()));
                        self.pos += 1;
                    }
                }
            }
            if cmd.is_empty() {
                return Err(self.err("missing value for command"));
            }
            if cmd.len() > 1 && !matches!(cmd.first(), Some(Arg::Func(_))) {
                return Err(self.err("can't give argument to non-function"));
            }
            cmds.push(cmd);
            if self.toks.get(self.pos) == Some(&Tok::Pipe) {
                self.pos += 1;
                continue;
            }
            return Ok(cmds);
        }
    }
}

fn parse_pipe(body: &str, line: usize) -> Result<Pipe, TemplateError> {
    let toks = lex(body, line)?;
    let mut p = PipeParser {
        toks: &toks,
        pos: 0,
        line,
    };
    let pipe = p.pipe(0)?;
    if p.pos != toks.len() {
        return Err(p.err("unexpected right paren"));
    }
    Ok(pipe)
}

enum Stop {
    Eof,
    End,
    Else,
    ElseIf(Pipe),
}

fn parse_list(
    pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
    depth: usize,
) -> Result<(Vec<Node>, Stop, usize), TemplateError> {
    let mut nodes = Vec::new();
    let mut line = 1;
    while let Some(p) = pieces.next() {
        match p {
            Piece::Text(t) => {
                if !t.is_empty() {
                    nodes.push(Node::Text(t))
                }
            }
            Piece::Action { body, line: l } => {
                line = l;
                let b = body.trim();
                if b.starts_with("/*") {
                    if !b.ends_with("*/") {
                        return Err(TemplateError {
                            line: l,
                            message: "unclosed comment".into(),
                        });
                    }
                    continue;
                }
                let (kw, rest) = match b.split_once(char::is_whitespace) {
                    Some((k, r)) => (k, r.trim()),
                    None => (b, ""),
                };
                match kw {
                    "end" if rest.is_empty() => return Ok((nodes, Stop::End, l)),
                    "else" if rest.is_empty() => return Ok((nodes, Stop::Else, l)),
                    "else" if rest.starts_with("if ") || rest.starts_with("if\t") => {
                        let cond = parse_pipe(&rest[2..], l)?;
                        return Ok((nodes, Stop::ElseIf(cond), l));
                    }
                    "if" => {
                        if depth >= MAX_DEPTH {
                            return Err(TemplateError {
                                line: l,
                                message: "nesting too deep".into(),
                            });
                        }
                        let cond = parse_pipe(rest, l)?;
                        nodes.push(parse_if(cond, pieces, depth + 1, l)?);
                    }
                    "range" | "with" | "define" | "template" | "block" | "break" | "continue" => {
                        return Err(TemplateError {
                            line: l,
                            message: format!("{kw:?} is not supported"),
                        });
                    }
                    _ => nodes.push(Node::Action(parse_pipe(b, l)?)),
                }
            }
        }
    }
    Ok((nodes, Stop::Eof, line))
}

fn parse_if(
    cond: Pipe,
    pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
    depth: usize,
    line: usize,
) -> Result<Node, TemplateError> {
    let (then, end, l) = parse_list(pieces, depth)?;
    let els = match end {
        Stop::End => Vec::new(),
        Stop::Else => {
            let (els, end, l2) = parse_list(pieces, depth)?;
            if !matches!(end, Stop::End) {
                return Err(TemplateError {
                    line: l2,
                    message: "unexpected EOF, expected {{end}}".into(),
                });
            }
            els
        }
        Stop::ElseIf(c) => vec![parse_if(c, pieces, depth + 1, l)?],
        Stop::Eof => {
            return Err(TemplateError {
                line,
                message: "unexpected EOF, expected {{end}}".into(),
            })
        }
    };
    Ok(Node::If { cond, then, els })
}

pub(crate) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let mut pieces = split(src)?.into_iter().peekable();
    let (nodes, end, line) = parse_list(&mut pieces, 0)?;
    match end {
        Stop::Eof => Ok(nodes),
        Stop::End => Err(TemplateError {
            line,
            message: "unexpected {{end}}".into(),
        }),
        Stop::Else | Stop::ElseIf(_) => Err(TemplateError {
            line,
            message: "unexpected {{else}}".into(),
        }),
    }
}
