//! The series notation of test scripts: `name{l="v"} 1 2+3x4 _ stale`.

use promlite_model::{Labels, LabelsBuilder, METRIC_NAME};

/// One expanded value slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Slot {
    /// No sample (`_`).
    Empty,
    /// A float sample.
    Float(f64),
    /// A staleness marker (`stale`).
    Stale,
    /// A native histogram literal (not supported by the engine yet).
    Histogram,
}

/// Parses a number as the scripts write them (`1e3`, `.5`, `Inf`, `-nan`).
pub fn parse_number(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else {
        if body.is_empty()
            || !body
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Reads a quoted string (`"…"`, `'…'` or backticks) at the start of `s`;
/// returns the value and the rest.
pub fn parse_quoted(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, q) = chars.next()?;
    if !matches!(q, '"' | '\'' | '`') {
        return None;
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == q {
            return Some((out, &s[i + c.len_utf8()..]));
        }
        if c == '\\' && q != '`' {
            let (_, e) = chars.next()?;
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'v' => out.push('\x0b'),
                '\\' | '"' | '\'' => out.push(e),
                'x' | 'u' | 'U' => {
                    let n = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let mut hex = String::new();
                    for _ in 0..n {
                        hex.push(chars.next()?.1);
                    }
                    let v = u32::from_str_radix(&hex, 16).ok()?;
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                d if d.is_digit(8) => {
                    let mut oct = String::from(d);
                    for _ in 0..2 {
                        oct.push(chars.next()?.1);
                    }
                    let v = u32::from_str_radix(&oct, 8).ok()?;
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    None
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

fn read_name(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(i, c)| !is_name_char(c, i == 0))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// Parses the metric part of a series line; returns the labels and the rest.
pub fn parse_metric(s: &str) -> Result<(Labels, &str), String> {
    let s = s.trim_start();
    let mut b = LabelsBuilder::new();
    let (name, mut rest) = read_name(s);
    if !name.is_empty() {
        b.set(METRIC_NAME, name);
    }
    if let Some(r) = rest.strip_prefix('{') {
        rest = r.trim_start();
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let (lname, r) = if rest.starts_with(['"', '\'', '`']) {
                parse_quoted(rest).ok_or_else(|| format!("bad quoted label name in {s:?}"))?
            } else {
                let (n, r) = read_name(rest);
                if n.is_empty() {
                    return Err(format!("expected a label name in {s:?}"));
                }
                (n.to_string(), r)
            };
            let r = r.trim_start();
            if let Some(r2) = r.strip_prefix('=') {
                let (v, r3) = parse_quoted(r2.trim_start())
                    .ok_or_else(|| format!("bad label value in {s:?}"))?;
                b.set(lname, v);
                rest = r3.trim_start();
            } else {
                // A bare quoted string is the metric name.
                b.set(METRIC_NAME, lname);
                rest = r;
            }
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
            } else if !rest.starts_with('}') {
                return Err(format!("expected ',' or '}}' in {s:?}"));
            }
        }
    } else if name.is_empty() {
        return Err(format!("expected a metric in {s:?}"));
    }
    Ok((b.build(), rest))
}

/// Splits value items on whitespace, keeping `{{ … }}` literals whole.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        let mut depth = 0;
        while i < b.len() && (depth > 0 || !b[i].is_ascii_whitespace()) {
            if b[i] == b'{' {
                depth += 1;
            } else if b[i] == b'}' {
                depth -= 1;
            }
            i += 1;
        }
        if i > start {
            out.push(&s[start..i]);
        }
    }
    out
}

/// Expands value items into slots.
pub fn parse_values(s: &str) -> Result<Vec<Slot>, String> {
    let mut out = Vec::new();
    for tok in tokens(s) {
        if tok.contains("{{") {
            let copies = tok
                .rsplit_once("}}x")
                .and_then(|(_, k)| k.parse::<usize>().ok())
                .map(|k| k + 1)
                .unwrap_or(1);
            out.extend(std::iter::repeat_n(Slot::Histogram, copies.min(1_000_000)));
            continue;
        }
        if tok == "_" {
            out.push(Slot::Empty);
            continue;
        }
        if let Some(k) = tok.strip_prefix("_x") {
            let k: usize = k.parse().map_err(|_| format!("bad item {tok:?}"))?;
            out.extend(std::iter::repeat_n(Slot::Empty, k.min(10_000_000)));
            continue;
        }
        if tok == "stale" {
            out.push(Slot::Stale);
            continue;
        }
        let (base, times) = match tok.rfind('x') {
            Some(i) => {
                let k: usize = tok[i + 1..]
                    .parse()
                    .map_err(|_| format!("bad item {tok:?}"))?;
                (&tok[..i], Some(k.min(10_000_000)))
            }
            None => (tok, None),
        };
        // Find the operator of `A+B` / `A-B` (not a sign or an exponent sign).
        let bytes = base.as_bytes();
        let op = (1..bytes.len())
            .find(|&i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
        match (op, times) {
            (Some(i), Some(k)) => {
                let a = parse_number(&base[..i]).ok_or_else(|| format!("bad number in {tok:?}"))?;
                let d =
                    parse_number(&base[i + 1..]).ok_or_else(|| format!("bad number in {tok:?}"))?;
                let d = if bytes[i] == b'-' { -d } else { d };
                let mut v = a;
                for _ in 0..=k {
                    out.push(Slot::Float(v));
                    v += d;
                }
            }
            (Some(_), None) => return Err(format!("bad item {tok:?}")),
            (None, k) => {
                let v = parse_number(base).ok_or_else(|| format!("bad number in {tok:?}"))?;
                out.extend(std::iter::repeat_n(
                    Slot::Float(v),
                    k.map(|k| k + 1).unwrap_or(1),
                ));
            }
        }
    }
    Ok(out)
}

/// Parses a whole series line.
pub fn parse_series_line(s: &str) -> Result<(Labels, Vec<Slot>), String> {
    let (labels, rest) = parse_metric(s)?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return Err(format!("unexpected {rest:?} after the metric"));
    }
    Ok((labels, parse_values(rest)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    #[test]
    fn expands_items() {
        let (l, v) =
            parse_series_line(r#"foo{a="b", c='d'} 1 _ 0+10x2 5-1x1 _x2 stale 3x1 0x10"#).unwrap();
        assert_eq!(l, labels!("__name__" => "foo", "a" => "b", "c" => "d"));
        use Slot::*;
        let mut want = vec![
            Float(1.0),
            Empty,
            Float(0.0),
            Float(10.0),
            Float(20.0),
            Float(5.0),
            Float(4.0),
        ];
        want.extend([Empty, Empty, Stale, Float(3.0), Float(3.0)]);
        want.extend(std::iter::repeat_n(Float(0.0), 11));
        assert_eq!(v, want);
    }

    #[test]
    fn numbers_and_metric_forms() {
        assert_eq!(parse_values("-1e-3+1e+3x1 .5 -Inf").unwrap().len(), 4);
        assert!(matches!(parse_values("nan").unwrap()[0], Slot::Float(f) if f.is_nan()));
        let (l, _) = parse_series_line(r#"{__name__="m", x="1"} 1"#).unwrap();
        assert_eq!(l.metric_name(), Some("m"));
        let (l, _) = parse_series_line(r#"{"my.metric", x="\"q\""} 1"#).unwrap();
        assert_eq!(l.metric_name(), Some("my.metric"));
        assert_eq!(l.get("x"), Some("\"q\""));
        let (l, v) = parse_series_line("{} 5").unwrap();
        assert!(l.is_empty());
        assert_eq!(v, vec![Slot::Float(5.0)]);
        assert_eq!(parse_values("{{schema:0 sum:5}}x2 1").unwrap().len(), 4);
        assert!(parse_series_line("foo 1x").is_err());
    }
}
