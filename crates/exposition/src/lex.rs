//! Byte-level scanning shared by both formats: character classes, quoted
//! strings, unescaping, UTF-8 checks and the internal error type.

use std::borrow::Cow;

use promlite_model::MetricType;

use crate::entry::describe;
#[cfg(test)]
use crate::float::format_openmetrics_float;
use crate::float::{parse_go_float, write_openmetrics_float, StackStr};
use crate::scan::{find, skim_set_blocks, Stop};

/// An error at a byte offset; turned into a [`crate::ParseError`] (with line
/// and column) only when it leaves the parser.
#[derive(Debug)]
pub(crate) struct Fail {
    pub off: usize,
    pub msg: String,
}

/// Boxed so that `PResult<T>` of a small `T` is returned in registers: the
/// hot path never writes a wide result to memory and reads it back (a
/// store-forwarding stall). Errors are rare and allocate their message anyway.
pub(crate) type PResult<T> = Result<T, Box<Fail>>;

#[cold]
pub(crate) fn fail<T>(off: usize, msg: impl Into<String>) -> PResult<T> {
    Err(Box::new(Fail {
        off,
        msg: msg.into(),
    }))
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
const BLANK: u8 = 16;

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
        if b == b' ' || b == b'\t' {
            t[c] |= BLANK;
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

#[cfg(test)]
pub(crate) fn is_name_char(c: u8) -> bool {
    CLASS[usize::from(c)] & NAME != 0
}

/// Label name characters: `[a-zA-Z_][a-zA-Z0-9_]*`.
#[inline(always)]
pub(crate) fn is_label_start(c: u8) -> bool {
    CLASS[usize::from(c)] & LABEL_START != 0
}

#[cfg(test)]
pub(crate) fn is_label_char(c: u8) -> bool {
    CLASS[usize::from(c)] & LABEL != 0
}

/// End of a metric name whose rest starts at `i`.
#[inline(always)]
pub(crate) fn scan_name(b: &[u8], i: usize) -> usize {
    find(b, i, Stop::NotName)
}

/// End of a label name whose rest starts at `i`.
#[inline(always)]
pub(crate) fn scan_label(b: &[u8], i: usize) -> usize {
    find(b, i, Stop::NotLabel)
}

/// Index of the first byte at or after `i` for which `keep` is false
/// (`b.len()` if none; `i` if `i` is past the end).
#[inline(always)]
pub(crate) fn scan_while(b: &[u8], i: usize, keep: impl Fn(u8) -> bool) -> usize {
    match b.get(i..) {
        Some(rest) => rest
            .iter()
            .position(|&c| !keep(c))
            .map_or(b.len(), |p| i + p),
        None => i,
    }
}

/// End of a text-format value token (`[^{ \t\n]*`) starting at `i`.
#[inline(always)]
pub(crate) fn scan_text_value(b: &[u8], i: usize) -> usize {
    find(b, i, Stop::ValueEnd)
}

/// Skips spaces and tabs.
#[inline(always)]
pub(crate) fn skip_ws(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(&c) if CLASS[usize::from(c)] & BLANK != 0 => {
            scan_while(b, i + 1, |c| c == b' ' || c == b'\t')
        }
        _ => i,
    }
}

/// Index of the next `\n` at or after `i`, or `b.len()`.
#[inline]
pub(crate) fn line_end(b: &[u8], i: usize) -> usize {
    // SIMD search: HELP text and comments are the longest lines.
    match b.get(i..) {
        Some(rest) => memchr::memchr(b'\n', rest).map_or(b.len(), |p| i + p),
        None => b.len(),
    }
}

/// An ASCII-only slice as `&str`, without re-checking it.
///
/// Every caller passes bytes that its scanner has already restricted to
/// ASCII (name and label-name character classes, digits, or quoted bytes
/// whose `NON_ASCII` flag is clear); checking again would scan each name
/// and value a second time.
#[inline(always)]
pub(crate) fn ascii_str(b: &[u8]) -> &str {
    debug_assert!(b.is_ascii());
    // SAFETY: callers guarantee `b` is ASCII (see above), hence UTF-8.
    unsafe { std::str::from_utf8_unchecked(b) }
}

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
#[inline(always)]
pub(crate) fn scan_quoted(b: &[u8], i: usize, newline_ok: bool) -> PResult<Quoted<'_>> {
    let start = i + 1;
    let mut j = start;
    let mut flags = 0usize;
    loop {
        // Fast path: plain ASCII runs.
        j = find(b, j, Stop::Quote);
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
            b'\n' if !newline_ok => {
                return fail(j, "unterminated quoted string: newline before closing '\"'")
            }
            _ => {
                if c >= 0x80 {
                    flags |= NON_ASCII;
                }
                j += 1;
            }
        }
    }
    Ok(Quoted {
        raw: b.get(start..j).unwrap_or(&[]),
        end: j + 1,
        flags,
    })
}

/// Index just after the `}` that closes the label set whose inside starts
/// at `i`, found *without validating* the set: quoted strings are skipped
/// (honouring `\` escapes), so a `}` inside a value does not end the set.
/// For a valid set this is exactly where the full parse ends. `None` when
/// the set does not close on this line, a quoted string does not end, or a
/// quoted string holds a raw newline and `newline_ok` is false; the caller
/// then parses the set fully, which reports the error.
#[inline]
pub(crate) fn skim_label_set(b: &[u8], i: usize, newline_ok: bool) -> Option<usize> {
    if let Some(end) = skim_set_blocks(b, i) {
        return Some(end);
    }
    skim_label_set_bytewise(b, i, newline_ok)
}

/// [`skim_label_set`] one stop byte at a time (backslashes, newlines, the
/// end of the body).
pub(crate) fn skim_label_set_bytewise(b: &[u8], mut i: usize, newline_ok: bool) -> Option<usize> {
    loop {
        i = find(b, i, Stop::LabelSet);
        match *b.get(i)? {
            b'}' => return Some(i + 1),
            b'"' => {
                i += 1;
                loop {
                    i = find(b, i, Stop::QuoteAscii);
                    match *b.get(i)? {
                        b'"' => break,
                        b'\\' => {
                            if matches!(b.get(i + 1), None | Some(b'\n')) {
                                return None;
                            }
                            i += 2;
                        }
                        b'\n' if !newline_ok => return None,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            _ => return None,
        }
    }
}

/// The quoted bytes as `&str`, checking UTF-8 only when non-ASCII bytes occur.
#[inline(always)]
pub(crate) fn quoted_str<'a>(q: &Quoted<'a>, off: usize, what: &str) -> PResult<&'a str> {
    if q.non_ascii() {
        std::str::from_utf8(q.raw).map_err(|e| {
            Box::new(Fail {
                off: off + 1 + e.valid_up_to(),
                msg: format!("invalid UTF-8 in {what}"),
            })
        })
    } else {
        Ok(ascii_str(q.raw))
    }
}

/// The help text `b[start..end]` (`end` at a newline or the end of the
/// body) as `&str`, unescaped: borrowed without any further pass when a
/// block scan from `start` meets neither a backslash nor a non-ASCII byte
/// before the line ends (the usual case), else UTF-8 checked (an error
/// names `what` and points into the text) and unescaped.
#[inline]
pub(crate) fn help_text<'a>(
    b: &'a [u8],
    start: usize,
    end: usize,
    quote: bool,
    what: &str,
) -> PResult<Cow<'a, str>> {
    let text = b.get(start..end).unwrap_or_default();
    // The newline at `end` stops the scan, so it never runs past the line.
    if find(b, start, Stop::NotPlain) >= end {
        return Ok(Cow::Borrowed(ascii_str(text)));
    }
    let t = std::str::from_utf8(text).map_err(|e| {
        Box::new(Fail {
            off: start + e.valid_up_to(),
            msg: format!("{what} is not valid UTF-8"),
        })
    })?;
    Ok(unescape(t, quote))
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
#[inline(always)]
pub(crate) fn label_value<'a>(q: &Quoted<'a>, off: usize) -> PResult<Cow<'a, str>> {
    let s = quoted_str(q, off, "label value")?;
    Ok(if q.escaped() {
        unescape(s, true)
    } else {
        Cow::Borrowed(s)
    })
}

/// A quoted metric or label name used in a series: non-empty, valid UTF-8,
/// and (because names are borrowed) without escape sequences.
pub(crate) fn quoted_name<'a>(q: &Quoted<'a>, off: usize, what: &str) -> PResult<&'a str> {
    if q.raw.is_empty() {
        return fail(off, format!("empty {what}"));
    }
    if q.escaped() {
        return fail(
            off,
            format!("escape sequences in a quoted {what} are not supported"),
        );
    }
    quoted_str(q, off, what)
}

/// Prometheus 3.x rewrites `le` of histograms and `quantile` of summaries to
/// the canonical float form (`1` → `1.0`) when the value parses as a float.
/// The check whether it applies is inlined; the rest is not.
#[inline(always)]
pub(crate) fn normalize_bound<'a>(
    mtype: MetricType,
    name: &str,
    value: Cow<'a, str>,
) -> Cow<'a, str> {
    let applies = match mtype {
        MetricType::Histogram => name == "le",
        MetricType::Summary => name == "quantile",
        _ => false,
    };
    if !applies {
        return value;
    }
    canonical_bound(value)
}

/// The canonical form of a bound, `value` itself when it already is one
/// or is not a float.
#[inline(never)]
fn canonical_bound(value: Cow<'_, str>) -> Cow<'_, str> {
    if value == "+Inf" {
        return value;
    }
    match canonical_shape(value.as_bytes()) {
        Shape::Canonical => return value,
        Shape::Integer => {
            return match common_integer_bound(&value) {
                Some(canon) => Cow::Borrowed(canon),
                None => Cow::Owned(format!("{value}.0")),
            }
        }
        Shape::Other => {}
    }
    match parse_go_float(value.as_bytes()) {
        Ok(f) => {
            let mut canon = StackStr::new();
            write_openmetrics_float(f, &mut canon);
            if canon.as_str() == value.as_ref() {
                value
            } else {
                Cow::Owned(canon.as_str().to_string())
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

/// The canonical form of integer bounds that bucket layouts commonly use,
/// without allocating (`"60"` → `"60.0"`); `None` for the others.
fn common_integer_bound(v: &str) -> Option<&'static str> {
    macro_rules! dotted {
        ($($n:literal),*) => {
            match v {
                $($n => Some(concat!($n, ".0")),)*
                _ => None,
            }
        };
    }
    dotted!(
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "15", "16", "20", "25", "30",
        "32", "40", "50", "60", "64", "75", "80", "90", "100", "120", "128", "150", "180", "200",
        "240", "250", "256", "300", "400", "500", "512", "600", "750", "800", "900", "1000",
        "1024", "1200", "1500", "2000", "2048", "2500", "3000", "3600", "4000", "4096", "5000",
        "7500", "8000", "8192", "10000", "15000", "20000", "25000", "30000", "50000", "60000",
        "65536", "100000", "250000", "500000"
    )
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
    if canonical_exponent_form(digits) {
        return Shape::Canonical;
    }
    let int_len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    let (int, rest) = digits.split_at(int_len);
    if int.is_empty() || (int.len() > 1 && int.first() == Some(&b'0')) || int.len() > 6 {
        return Shape::Other;
    }
    if rest.is_empty() {
        // "-0" prints as "-0.0" in Go but "0.0" here; leave signs to the slow path.
        return if s.first() == Some(&b'-') {
            Shape::Other
        } else {
            Shape::Integer
        };
    }
    let Some(frac) = rest.strip_prefix(b".") else {
        return Shape::Other;
    };
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

/// True for unsigned `d(.d*[1-9])?e±XX` text that Go's shortest `%g` would
/// print as is: 1–15 significant digits (so the text is the shortest form
/// of its float), a decimal exponent below -4 or at least 6 (the range Go
/// prints with an exponent), at least two exponent digits without a
/// leading zero beyond them, and an exponent within ±300 (no overflow or
/// subnormals). `1e+09` and `2.5e-07` qualify; `1e9` and `1e+05` do not.
fn canonical_exponent_form(s: &[u8]) -> bool {
    let Some(e) = s.iter().position(|&c| c == b'e') else {
        return false;
    };
    let (mant, exp) = s.split_at(e);
    let (first, frac) = match mant {
        [f, b'.', frac @ ..] => (*f, frac),
        [f] => (*f, &[][..]),
        _ => return false,
    };
    if !(b'1'..=b'9').contains(&first) {
        return false;
    }
    if !frac.is_empty()
        && (frac.len() > 14 || !frac.iter().all(u8::is_ascii_digit) || frac.last() == Some(&b'0'))
    {
        return false;
    }
    if mant.len() == 2 {
        // "1." has a dot and no digits.
        return false;
    }
    let (neg, digits) = match exp {
        [b'e', b'+', d @ ..] => (false, d),
        [b'e', b'-', d @ ..] => (true, d),
        _ => return false,
    };
    if digits.len() < 2
        || digits.len() > 3
        || !digits.iter().all(u8::is_ascii_digit)
        || (digits.len() == 3 && digits.first() == Some(&b'0'))
    {
        return false;
    }
    let n = digits
        .iter()
        .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
    if neg {
        (5..=300).contains(&n)
    } else {
        (6..=300).contains(&n)
    }
}

/// Rejects a sample whose label names repeat (including `__name__`, which
/// the metric name already occupies).
#[inline(always)]
pub(crate) fn check_duplicates(labels: &[(&str, Cow<'_, str>)], off: usize) -> PResult<()> {
    let is_reserved = |n: &str| n.len() == 8 && n == promlite_model::METRIC_NAME;
    match labels {
        [] => Ok(()),
        [(a, _)] if !is_reserved(a) => Ok(()),
        [(a, _), (b, _)] if !is_reserved(a) && !is_reserved(b) && a != b => Ok(()),
        _ => check_duplicates_slow(labels, off),
    }
}

fn check_duplicates_slow(labels: &[(&str, Cow<'_, str>)], off: usize) -> PResult<()> {
    for (k, (name, _)) in labels.iter().enumerate() {
        let n = name.as_bytes();
        if n.len() == 8 && n == promlite_model::METRIC_NAME.as_bytes() {
            return fail(
                off,
                "label name \"__name__\" is not unique: the metric name is already set",
            );
        }
        for (prev, _) in labels.iter().take(k) {
            if prev.len() == n.len() && prev.as_bytes() == n {
                return fail(off, format!("label name \"{name}\" is not unique"));
            }
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
    fn word_scans_match_bytewise_scans() {
        let inputs: [&[u8]; 5] = [
            b"abcdefghijklmnopqrstuvwxyz_:0123456789{",
            b"short",
            b"exactly8",
            b"name_with_16char\"tail",
            b"aaaaaaa:bbbbbbbbb.",
        ];
        for input in inputs {
            for i in 0..=input.len() + 1 {
                assert_eq!(
                    scan_name(input, i),
                    scan_while(input, i, is_name_char),
                    "{input:?} {i}"
                );
                assert_eq!(
                    scan_label(input, i),
                    scan_while(input, i, is_label_char),
                    "{input:?} {i}"
                );
            }
        }
    }

    #[test]
    fn skimming_a_label_set_finds_the_closing_brace() {
        let cases: [(&[u8], bool, Option<usize>); 10] = [
            (b"{}", true, Some(2)),
            (b"{a=\"b\"} 1", true, Some(7)),
            (b"{a=\"}\",b=\"x\\\"}\"} 1", true, Some(16)),
            (b"{a=\"\\\\\"} 1", true, Some(8)),
            (b"{a=\"x\ny\"} 1", true, Some(9)),
            (b"{a=\"x\ny\"} 1", false, None),
            (b"{a=\"x\"\n} 1", true, None),
            (b"{a=\"x", true, None),
            (b"{a=\"x\\", true, None),
            (b"{a=\"\xff\"}", true, Some(7)),
        ];
        for (input, newline_ok, want) in cases {
            assert_eq!(
                skim_label_set(input, 1, newline_ok),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
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
        assert_eq!(
            normalize_bound(MetricType::Summary, "quantile", Cow::Borrowed("0.50")),
            "0.5"
        );
        assert_eq!(
            normalize_bound(MetricType::Gauge, "le", Cow::Borrowed("1")),
            "1"
        );
    }

    #[test]
    fn shape_shortcut_agrees_with_formatting() {
        let cases = [
            "0",
            "1",
            "10",
            "250",
            "999999",
            "1000000",
            "0.5",
            "0.005",
            "0.0001",
            "0.00001",
            "0.10",
            "00.5",
            "-1",
            "-0.5",
            "-0",
            "1.5",
            "123456.5",
            "1234567.5",
            "0.123456789012345",
            "0.1234567890123456",
            "2.50",
            "1e3",
            ".5",
            "5.",
            "+1",
            "0.30000000000000004",
            "7.25",
            "100.125",
            "1e+06",
            "1e+05",
            "1e+09",
            "-1e+09",
            "2.5e-07",
            "2.5e-05",
            "1e-04",
            "1e-05",
            "1e9",
            "1e+009",
            "1e+300",
            "1e+400",
            "1.e+09",
            "1.0e+09",
            "1.25e+100",
            "1.23456789012345e+20",
            "1.234567890123456e+20",
            "0e+09",
            "12e+09",
            "1e+",
            "1e+6",
            "1E+09",
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

    #[test]
    fn common_integer_bounds_match_formatting() {
        for n in 0..=1_000_000u32 {
            let text = n.to_string();
            if let Some(canon) = common_integer_bound(&text) {
                assert_eq!(canon, format_openmetrics_float(f64::from(n)), "{n}");
            }
        }
        assert_eq!(common_integer_bound("60"), Some("60.0"));
        assert_eq!(common_integer_bound("61"), None);
    }

    #[test]
    fn exponent_shortcut_agrees_with_formatting() {
        // Every shape the shortcut accepts must already be canonical.
        for m in ["1", "2.5", "9.99", "1.234567890123", "7.00001"] {
            for e in -310i32..=310 {
                let c = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
                let canon = match parse_go_float(c.as_bytes()) {
                    Ok(f) => format_openmetrics_float(f),
                    Err(_) => c.clone(),
                };
                if canonical_exponent_form(c.as_bytes()) {
                    assert_eq!(canon, c);
                }
                assert_eq!(
                    normalize_bound(MetricType::Histogram, "le", Cow::Borrowed(&c)),
                    canon,
                    "{c}"
                );
            }
        }
    }
}
