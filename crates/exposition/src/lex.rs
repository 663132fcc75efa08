//! Byte-level scanning shared by both formats: character classes, quoted
//! strings, unescaping, UTF-8 checks and the internal error type.

use std::borrow::Cow;

use promlite_model::MetricType;

use crate::entry::describe;
use crate::float::{format_openmetrics_float, parse_go_float};

/// An error at a byte offset; turned into a [`crate::ParseError`] (with line
/// and column) only when it leaves the parser.
#[derive(Debug)]
pub(crate) struct Fail {
    pub off: usize,
    pub msg: String,
}

pub(crate) type PResult<T> = Result<T, Fail>;

#[cold]
pub(crate) fn fail<T>(off: usize, msg: impl Into<String>) -> PResult<T> {
    Err(Fail { off, msg: msg.into() })
}

/// `expected X, got <what is at i>`.
#[cold]
pub(crate) fn expected<T>(b: &[u8], i: usize, what: &str) -> PResult<T> {
    fail(i, format!("expected {what}, got {}", describe(b, i)))
}

/// Metric name characters: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
#[inline]
pub(crate) fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

#[inline]
pub(crate) fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// Label name characters: `[a-zA-Z_][a-zA-Z0-9_]*`.
#[inline]
pub(crate) fn is_label_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

#[inline]
pub(crate) fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Index of the first byte at or after `i` for which `keep` is false.
#[inline]
pub(crate) fn scan_while(b: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while let Some(&c) = b.get(i) {
        if !keep(c) {
            break;
        }
        i += 1;
    }
    i
}

/// Skips spaces and tabs.
#[inline]
pub(crate) fn skip_ws(b: &[u8], i: usize) -> usize {
    scan_while(b, i, |c| c == b' ' || c == b'\t')
}

/// Index of the next `\n` at or after `i`, or `b.len()`.
#[inline]
pub(crate) fn line_end(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some(rest) => rest.iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p),
        None => b.len(),
    }
}

/// An ASCII-only slice as `&str` (callers have checked every byte).
#[inline]
pub(crate) fn ascii_str(b: &[u8]) -> &str {
    debug_assert!(b.is_ascii());
    // All bytes are ASCII, hence valid UTF-8; from_utf8 on short ASCII input
    // is a fast word-at-a-time check, and the error branch is unreachable.
    std::str::from_utf8(b).unwrap_or("")
}

/// A quoted string found by [`scan_quoted`].
pub(crate) struct Quoted<'a> {
    /// The bytes between the quotes, escapes still in place.
    pub raw: &'a [u8],
    /// Index just after the closing quote.
    pub end: usize,
    /// A backslash occurs in `raw`.
    pub escaped: bool,
    /// A non-ASCII byte occurs in `raw`.
    pub non_ascii: bool,
}

/// Scans `"…"` starting at the opening quote `b[i]`. `\` escapes any next
/// byte except a newline; a raw newline is allowed only if `newline_ok`.
#[inline]
pub(crate) fn scan_quoted(b: &[u8], i: usize, newline_ok: bool) -> PResult<Quoted<'_>> {
    let start = i + 1;
    let mut j = start;
    let mut escaped = false;
    let mut non_ascii = false;
    loop {
        let Some(&c) = b.get(j) else {
            return fail(i, "unterminated quoted string (missing closing '\"')");
        };
        match c {
            b'"' => break,
            b'\\' => {
                escaped = true;
                match b.get(j + 1) {
                    None | Some(b'\n') => return fail(j, "invalid escape: '\\' at end of line"),
                    Some(&n) => {
                        non_ascii |= n >= 0x80;
                        j += 2;
                    }
                }
            }
            b'\n' if !newline_ok => return fail(j, "unterminated quoted string: newline before closing '\"'"),
            _ => {
                non_ascii |= c >= 0x80;
                j += 1;
            }
        }
    }
    Ok(Quoted { raw: b.get(start..j).unwrap_or(&[]), end: j + 1, escaped, non_ascii })
}

/// The quoted bytes as `&str`, checking UTF-8 only when non-ASCII bytes occur.
#[inline]
pub(crate) fn quoted_str<'a>(q: &Quoted<'a>, off: usize, what: &str) -> PResult<&'a str> {
    if q.non_ascii {
        std::str::from_utf8(q.raw).map_err(|e| Fail {
            off: off + 1 + e.valid_up_to(),
            msg: format!("invalid UTF-8 in {what}"),
        })
    } else {
        Ok(ascii_str(q.raw))
    }
}

/// Replaces `\\`, `\n` and, if `quote`, `\"`; any other escape stays as
/// written (both characters), like Prometheus's replacers.
pub(crate) fn unescape(s: &str, quote: bool) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// A label value: UTF-8 checked and unescaped.
#[inline]
pub(crate) fn label_value<'a>(q: &Quoted<'a>, off: usize) -> PResult<Cow<'a, str>> {
    let s = quoted_str(q, off, "label value")?;
    Ok(if q.escaped { unescape(s, true) } else { Cow::Borrowed(s) })
}

/// A quoted metric or label name used in a series: non-empty, valid UTF-8,
/// and (because names are borrowed) without escape sequences.
pub(crate) fn quoted_name<'a>(q: &Quoted<'a>, off: usize, what: &str) -> PResult<&'a str> {
    if q.raw.is_empty() {
        return fail(off, format!("empty {what}"));
    }
    if q.escaped {
        return fail(off, format!("escape sequences in a quoted {what} are not supported"));
    }
    quoted_str(q, off, what)
}

/// Prometheus 3.x rewrites `le` of histograms and `quantile` of summaries to
/// the canonical float form (`1` → `1.0`) when the value parses as a float.
#[inline]
pub(crate) fn normalize_bound<'a>(mtype: MetricType, name: &str, value: Cow<'a, str>) -> Cow<'a, str> {
    let applies = match mtype {
        MetricType::Histogram => name == "le",
        MetricType::Summary => name == "quantile",
        _ => false,
    };
    if !applies || value == "+Inf" {
        return value;
    }
    match parse_go_float(value.as_bytes()) {
        Ok(f) => {
            let canon = format_openmetrics_float(f);
            if canon == value.as_ref() {
                value
            } else {
                Cow::Owned(canon)
            }
        }
        Err(_) => value,
    }
}

/// Rejects a sample whose label names repeat (including `__name__`, which
/// the metric name already occupies).
pub(crate) fn check_duplicates(labels: &[(&str, Cow<'_, str>)], off: usize) -> PResult<()> {
    for (k, (name, _)) in labels.iter().enumerate() {
        if *name == promlite_model::METRIC_NAME {
            return fail(off, "label name \"__name__\" is not unique: the metric name is already set");
        }
        if labels.get(..k).is_some_and(|before| before.iter().any(|(n, _)| n == name)) {
            return fail(off, format!("label name \"{name}\" is not unique"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_like_prometheus() {
        assert_eq!(unescape(r#"a\\b\nc\"d"#, true), "a\\b\nc\"d");
        assert_eq!(unescape(r#"a\"d"#, false), "a\\\"d");
        assert_eq!(unescape(r#"\t\\n"#, true), "\\t\\n");
        assert!(matches!(unescape("plain", true), Cow::Borrowed("plain")));
    }

    #[test]
    fn quoted_scanning() {
        let b = br#""a\"b" rest"#;
        let q = scan_quoted(b, 0, false).unwrap_or_else(|e| panic!("{}", e.msg));
        assert_eq!(q.raw, br#"a\"b"#);
        assert_eq!(q.end, 6);
        assert!(q.escaped);
        assert!(scan_quoted(b"\"abc", 0, true).is_err());
        assert!(scan_quoted(b"\"a\nb\"", 0, false).is_err());
        assert!(scan_quoted(b"\"a\nb\"", 0, true).is_ok());
        assert!(scan_quoted(b"\"a\\", 0, true).is_err());
    }

    #[test]
    fn bound_normalisation() {
        let h = MetricType::Histogram;
        assert_eq!(normalize_bound(h, "le", Cow::Borrowed("1")), "1.0");
        assert_eq!(normalize_bound(h, "le", Cow::Borrowed("0.5")), "0.5");
        assert_eq!(normalize_bound(h, "le", Cow::Borrowed("+Inf")), "+Inf");
        assert_eq!(normalize_bound(h, "le", Cow::Borrowed("1e6")), "1e+06");
        assert_eq!(normalize_bound(h, "le", Cow::Borrowed("abc")), "abc");
        assert_eq!(normalize_bound(h, "quantile", Cow::Borrowed("1")), "1");
        assert_eq!(normalize_bound(MetricType::Summary, "quantile", Cow::Borrowed("0.50")), "0.5");
        assert_eq!(normalize_bound(MetricType::Gauge, "le", Cow::Borrowed("1")), "1");
    }
}
