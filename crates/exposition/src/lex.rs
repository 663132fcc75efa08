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

const NAME_START: u8 = 1;
const NAME: u8 = 2;
const LABEL_START: u8 = 4;
const LABEL: u8 = 8;

/// Character classes of every byte value, so each scanning step is one load
/// and one test.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alpha = b.is_ascii_alphabetic() || b == b'_';
        if alpha || b == b':' {
            t[c] |= NAME_START | NAME;
        }
        if alpha {
            t[c] |= LABEL_START | LABEL;
        }
        if b.is_ascii_digit() {
            t[c] |= NAME | LABEL;
        }
        c += 1;
    }
    t
};

/// Metric name characters: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
#[inline(always)]
pub(crate) fn is_name_start(c: u8) -> bool {
    CLASS[usize::from(c)] & NAME_START != 0
}

#[inline(always)]
pub(crate) fn is_name_char(c: u8) -> bool {
    CLASS[usize::from(c)] & NAME != 0
}

/// Label name characters: `[a-zA-Z_][a-zA-Z0-9_]*`.
#[inline(always)]
pub(crate) fn is_label_start(c: u8) -> bool {
    CLASS[usize::from(c)] & LABEL_START != 0
}

#[inline(always)]
pub(crate) fn is_label_char(c: u8) -> bool {
    CLASS[usize::from(c)] & LABEL != 0
}

/// Index of the first byte at or after `i` for which `keep` is false
/// (`b.len()` if none; `i` if `i` is past the end).
#[inline(always)]
pub(crate) fn scan_while(b: &[u8], i: usize, keep: impl Fn(u8) -> bool) -> usize {
    match b.get(i..) {
        Some(rest) => rest.iter().position(|&c| !keep(c)).map_or(b.len(), |p| i + p),
        None => i,
    }
}

/// Skips spaces and tabs.
#[inline(always)]
pub(crate) fn skip_ws(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b' ' | b'\t') => scan_while(b, i + 1, |c| c == b' ' || c == b'\t'),
        _ => i,
    }
}

/// Index of the next `\n` at or after `i`, or `b.len()`.
#[inline]
pub(crate) fn line_end(b: &[u8], i: usize) -> usize {
    match b.get(i..) {
        Some(rest) => rest.iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p),
        None => b.len(),
    }
}

/// An ASCII-only slice as `&str`. Callers pass only bytes the grammar has
/// already restricted to ASCII (names, digits); non-ASCII input would be a
/// bug in the caller, which debug builds catch and release builds answer
/// with `""` instead of undefined behaviour.
#[inline]
pub(crate) fn ascii_str(b: &[u8]) -> &str {
    debug_assert!(b.is_ascii());
    if b.is_ascii() {
        // SAFETY: every byte is ASCII, so the slice is valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(b) }
    } else {
        ""
    }
}

/// Bytes that end the fast scan inside a quoted string: `"`, `\`, `\n`
/// and every non-ASCII byte.
static QUOTE_STOP: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'\n' as usize] = true;
    let mut c = 0x80;
    while c < 256 {
        t[c] = true;
        c += 1;
    }
    t
};

/// A quoted string found by [`scan_quoted`].
pub(crate) struct Quoted<'a> {
    /// The bytes between the quotes, escapes still in place.
    pub raw: &'a [u8],
    /// Index just after the closing quote.
    pub end: usize,
    /// [`ESCAPED`] and/or [`NON_ASCII`]. A full word on purpose: with a
    /// byte-sized field LLVM stored one byte and reloaded a word, a
    /// store-forwarding stall that cost a fifth of the parse time.
    pub flags: usize,
}

/// A backslash occurs in the quoted bytes.
pub(crate) const ESCAPED: usize = 1;
/// A non-ASCII byte occurs in the quoted bytes.
pub(crate) const NON_ASCII: usize = 2;

impl Quoted<'_> {
    #[inline]
    pub(crate) fn escaped(&self) -> bool {
        self.flags & ESCAPED != 0
    }
    #[inline]
    pub(crate) fn non_ascii(&self) -> bool {
        self.flags & NON_ASCII != 0
    }
}

/// Scans `"…"` starting at the opening quote `b[i]`. `\` escapes any next
/// byte except a newline; a raw newline is allowed only if `newline_ok`.
#[inline]
pub(crate) fn scan_quoted(b: &[u8], i: usize, newline_ok: bool) -> PResult<Quoted<'_>> {
    let start = i + 1;
    let mut j = start;
    let mut flags = 0usize;
    loop {
        // Fast path: plain ASCII runs.
        j = scan_while(b, j, |c| !QUOTE_STOP[usize::from(c)]);
        let Some(&c) = b.get(j) else {
            return fail(i, "unterminated quoted string (missing closing '\"')");
        };
        match c {
            b'"' => break,
            b'\\' => {
                flags |= ESCAPED;
                match b.get(j + 1) {
                    None | Some(b'\n') => return fail(j, "invalid escape: '\\' at end of line"),
                    Some(&n) => {
                        if n >= 0x80 {
                            flags |= NON_ASCII;
                        }
                        j += 2;
                    }
                }
            }
            b'\n' if !newline_ok => return fail(j, "unterminated quoted string: newline before closing '\"'"),
            _ => {
                if c >= 0x80 {
                    flags |= NON_ASCII;
                }
                j += 1;
            }
        }
    }
    Ok(Quoted { raw: b.get(start..j).unwrap_or(&[]), end: j + 1, flags })
}

/// The quoted bytes as `&str`, checking UTF-8 only when non-ASCII bytes occur.
#[inline]
pub(crate) fn quoted_str<'a>(q: &Quoted<'a>, off: usize, what: &str) -> PResult<&'a str> {
    if q.non_ascii() {
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
    Ok(if q.escaped() { unescape(s, true) } else { Cow::Borrowed(s) })
}

/// A quoted metric or label name used in a series: non-empty, valid UTF-8,
/// and (because names are borrowed) without escape sequences.
pub(crate) fn quoted_name<'a>(q: &Quoted<'a>, off: usize, what: &str) -> PResult<&'a str> {
    if q.raw.is_empty() {
        return fail(off, format!("empty {what}"));
    }
    if q.escaped() {
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
    match canonical_shape(value.as_bytes()) {
        Shape::Canonical => return value,
        Shape::Integer => return Cow::Owned(format!("{value}.0")),
        Shape::Other => {}
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

enum Shape {
    /// Already what `format_openmetrics_float` would print.
    Canonical,
    /// A small integer: canonical form is the text plus `.0`.
    Integer,
    /// Needs the full parse-and-format.
    Other,
}

/// Recognises, without formatting, the bounds that are already canonical
/// (`-?(0|[1-9]\d*)\.\d*[1-9]` with 1–15 significant digits and a decimal
/// exponent in -4..=5, the range Go prints without an exponent) and small
/// integers (`0` or `[1-9]\d{0,5}`).
fn canonical_shape(s: &[u8]) -> Shape {
    let digits = match s.first() {
        Some(b'-') => s.get(1..).unwrap_or(&[]),
        _ => s,
    };
    let int_len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    let (int, rest) = digits.split_at(int_len);
    if int.is_empty() || (int.len() > 1 && int.first() == Some(&b'0')) || int.len() > 6 {
        return Shape::Other;
    }
    if rest.is_empty() {
        // "-0" prints as "-0.0" in Go but "0.0" here; leave signs to the slow path.
        return if s.first() == Some(&b'-') { Shape::Other } else { Shape::Integer };
    }
    let Some(frac) = rest.strip_prefix(b".") else { return Shape::Other };
    if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) || frac.last() == Some(&b'0') {
        return Shape::Other;
    }
    let significant = if int == b"0" {
        let zeros = frac.iter().take_while(|&&c| c == b'0').count();
        if zeros > 3 {
            return Shape::Other;
        }
        frac.len() - zeros
    } else {
        int.len() + frac.len()
    };
    if significant > 15 {
        return Shape::Other;
    }
    Shape::Canonical
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
        assert!(q.escaped());
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

    #[test]
    fn shape_shortcut_agrees_with_formatting() {
        let cases = [
            "0", "1", "10", "250", "999999", "1000000", "0.5", "0.005", "0.0001", "0.00001", "0.10", "00.5", "-1",
            "-0.5", "-0", "1.5", "123456.5", "1234567.5", "0.123456789012345", "0.1234567890123456", "2.50",
            "1e3", ".5", "5.", "+1", "0.30000000000000004", "7.25", "100.125",
        ];
        for c in cases {
            let fast = normalize_bound(MetricType::Histogram, "le", Cow::Borrowed(c));
            let slow = match parse_go_float(c.as_bytes()) {
                Ok(f) => format_openmetrics_float(f),
                Err(_) => c.to_string(),
            };
            assert_eq!(fast, slow, "{c}");
        }
    }
}
