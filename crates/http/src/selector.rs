//! `match[]` selectors: a small metric-selector parser used until
//! `promlite_promql::parser::parse_metric_selector` lands, then deleted.
//!
//! Accepts `name`, `name{…}`, `{…}`, `{"utf8.name", k="v"}`, quoted label
//! names, the four operators, the three quote styles, `, ` separators and a
//! trailing comma — every spelling Grafana sends.

use promlite_model::{MatchOp, Matcher, METRIC_NAME};
use promlite_promql::ParseError;

/// Parses one series selector into its matchers.
pub fn parse_metric_selector(input: &str) -> Result<Vec<Matcher>, ParseError> {
    let mut p = P { s: input, pos: 0 };
    let mut out = Vec::new();
    p.ws();
    if p.peek().is_some_and(is_name_start) {
        let name = p.ident(true);
        out.push(Matcher::equal(METRIC_NAME, name));
        p.ws();
    }
    if p.peek() == Some('{') {
        p.pos += 1;
        loop {
            p.ws();
            match p.peek() {
                Some('}') => {
                    p.pos += 1;
                    break;
                }
                None => return Err(p.err("unexpected end of input inside braces")),
                _ => {}
            }
            let start = p.pos;
            let (name, quoted) = match p.peek() {
                Some('"' | '\'' | '`') => (p.string()?, true),
                Some(c) if is_name_start(c) => (p.ident(false).to_string(), false),
                Some(c) => return Err(p.err(&format!("unexpected character inside braces: {c:?}"))),
                None => return Err(p.err("unexpected end of input")),
            };
            p.ws();
            let op = p.op();
            match op {
                None if quoted => {
                    if out.iter().any(|m: &Matcher| m.name == METRIC_NAME) {
                        return Err(ParseError::at(input, start, p.pos, "metric name must not be set twice"));
                    }
                    out.push(Matcher::equal(METRIC_NAME, name));
                }
                None => return Err(p.err(&format!("unexpected {:?} in label matching, expected label matching operator", p.rest_char()))),
                Some(op) => {
                    p.ws();
                    let value = match p.peek() {
                        Some('"' | '\'' | '`') => p.string()?,
                        _ => return Err(p.err("unexpected token in label matching, expected string")),
                    };
                    let m = Matcher::new(op, name, value).map_err(|e| ParseError::at(input, start, p.pos, e.to_string()))?;
                    out.push(m);
                }
            }
            p.ws();
            match p.peek() {
                Some(',') => p.pos += 1,
                Some('}') => {}
                _ => return Err(p.err(&format!("unexpected {:?} in label matching, expected \",\" or \"}}\"", p.rest_char()))),
            }
        }
        p.ws();
    }
    if p.pos < input.len() {
        return Err(p.err(&format!("unexpected character: {:?}", p.rest_char())));
    }
    if out.is_empty() {
        return Err(ParseError::at(input, 0, input.len(), "vector selector must contain at least one non-empty matcher"));
    }
    if out.iter().all(|m| m.matches_empty()) {
        return Err(ParseError::at(input, 0, input.len(), "vector selector must contain at least one non-empty matcher"));
    }
    Ok(out)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

struct P<'a> {
    s: &'a str,
    pos: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos..).and_then(|r| r.chars().next())
    }
    fn rest_char(&self) -> String {
        self.peek().map(String::from).unwrap_or_default()
    }
    fn err(&self, msg: &str) -> ParseError {
        ParseError::at(self.s, self.pos, self.pos, msg)
    }
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }
    fn ident(&mut self, metric: bool) -> &str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || (metric && c == ':') {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.s[start..self.pos]
    }
    fn op(&mut self) -> Option<MatchOp> {
        let rest = self.s.get(self.pos..).unwrap_or("");
        let (op, len) = if rest.starts_with("!=") {
            (MatchOp::NotEqual, 2)
        } else if rest.starts_with("=~") {
            (MatchOp::Regex, 2)
        } else if rest.starts_with("!~") {
            (MatchOp::NotRegex, 2)
        } else if rest.starts_with('=') {
            (MatchOp::Equal, 1)
        } else {
            return None;
        };
        self.pos += len;
        Some(op)
    }
    /// A quoted string with Go/PromQL escapes (none in backquotes).
    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let q = self.peek().unwrap_or('"');
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(ParseError::at(self.s, start, self.pos, "unterminated quoted string"));
            };
            self.pos += c.len_utf8();
            if c == q {
                return Ok(out);
            }
            if c != '\\' || q == '`' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else { continue };
            self.pos += e.len_utf8();
            let hex = |p: &mut Self, n: usize| -> Result<char, ParseError> {
                let h = p.s.get(p.pos..p.pos + n).ok_or_else(|| p.err("invalid escape sequence"))?;
                let v = u32::from_str_radix(h, 16).map_err(|_| p.err("invalid escape sequence"))?;
                p.pos += n;
                char::from_u32(v).ok_or_else(|| p.err("invalid escape sequence"))
            };
            out.push(match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                'a' => '\x07',
                'b' => '\x08',
                'f' => '\x0c',
                'v' => '\x0b',
                '\\' | '"' | '\'' => e,
                'x' => hex(self, 2)?,
                'u' => hex(self, 4)?,
                'U' => hex(self, 8)?,
                _ => return Err(self.err(&format!("unknown escape sequence {e:?}"))),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(s: &str) -> Vec<String> {
        parse_metric_selector(s).unwrap().iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn grafana_spellings() {
        assert_eq!(show("up"), vec!["__name__=\"up\""]);
        assert_eq!(show("up{job=\"x\"}"), vec!["__name__=\"up\"", "job=\"x\""]);
        assert_eq!(show("{__name__=~\".+\",}"), vec!["__name__=~\".+\""]);
        assert_eq!(show("{k1=\"v1\", __name__=\"m\"}"), vec!["k1=\"v1\"", "__name__=\"m\""]);
        assert_eq!(show("{\"utf8.name\", job!=''}"), vec!["__name__=\"utf8.name\"", "job!=\"\""]);
        assert_eq!(show("{\"a.b\"=~`x\\d`}"), vec!["a.b=~\"x\\\\d\""]);
        assert_eq!(show(" ns:rate5m { a = \"\\u00e9\\n\" } "), vec!["__name__=\"ns:rate5m\"", "a=\"é\\n\""]);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_metric_selector("{job=~\".*\"}").unwrap_err();
        assert!(e.message.contains("at least one non-empty matcher"));
        assert!(parse_metric_selector("{}").is_err());
        assert!(parse_metric_selector("").is_err());
        let e = parse_metric_selector("up{job=\"x\"").unwrap_err();
        assert_eq!((e.line, e.column), (1, 11));
        assert!(parse_metric_selector("up{job=x}").is_err());
        assert!(parse_metric_selector("up{job=\"x}").is_err());
        assert!(parse_metric_selector("up[5m]").is_err());
        assert!(parse_metric_selector("{a=~\"(\"}").is_err());
        assert!(parse_metric_selector("{\"a\", \"b\"}").is_err());
    }
}
