//! The Prometheus text format 0.0.4 (and 1.0.0's quoted names), accepting
//! exactly what Prometheus's `promparse.go` accepts.
//!
//! Whitespace (spaces, tabs) may appear between any two tokens; label sets
//! may omit commas or end with one; label values may span lines; the end of
//! the body ends the last line. A NUL byte at the start of a line ends the
//! body, as in Prometheus. `\r` is not a line ending (Prometheus rejects it).

use promlite_model::MetricType;

use crate::entry::{describe, SampleEntry};
use crate::float::{parse_go_float, FloatError};
use crate::lex::*;
use crate::parser::{Meta, Parser, Step};
use crate::scan::{find, Stop};

impl<'a> Parser<'a> {
    /// Parses the next text-format entry; `Ok(None)` at the end.
    pub(crate) fn text_next(&mut self, s: &mut SampleEntry<'a>) -> PResult<Option<Step<'a>>> {
        let b = self.b;
        loop {
            let i = skip_ws(b, self.i);
            let Some(&c) = b.get(i) else {
                self.i = i;
                return Ok(None);
            };
            match c {
                b'\n' => self.i = i + 1,
                0 => {
                    self.i = b.len();
                    return Ok(None);
                }
                b'#' => return self.text_comment(i + 1).map(Some),
                b'{' => return self.text_series(i, i, None, s).map(|()| Some(Step::Sample)),
                c if is_name_start(c) => {
                    let end = scan_name(b, i + 1);
                    let name = ascii_str(b.get(i..end).unwrap_or(&[]));
                    return self
                        .text_series(i, end, Some(name), s)
                        .map(|()| Some(Step::Sample));
                }
                _ => return expected(b, i, "a metric name, '{', '#' or end of line"),
            }
        }
    }

    /// A line starting with `#`; `i` is just after it.
    fn text_comment(&mut self, i: usize) -> PResult<Step<'a>> {
        let b = self.b;
        if matches!(b.get(i), Some(b' ' | b'\t')) {
            let j = skip_ws(b, i);
            let word = b.get(j..j + 4);
            let is_help = word == Some(b"HELP");
            if (is_help || word == Some(b"TYPE")) && matches!(b.get(j + 4), Some(b' ' | b'\t')) {
                return self.text_meta(is_help, skip_ws(b, j + 4));
            }
        }
        self.i = line_end(b, i) + 1;
        Ok(Step::Meta(Meta::Comment))
    }

    /// `# HELP` / `# TYPE`; `i` is at the metric name.
    fn text_meta(&mut self, is_help: bool, i: usize) -> PResult<Step<'a>> {
        let b = self.b;
        let kw = if is_help { "HELP" } else { "TYPE" };
        let (name, name_end) = match b.get(i) {
            Some(b'"') => {
                let q = scan_quoted(b, i, true)?;
                (quoted_str(&q, i, "metric name")?, q.end)
            }
            Some(&c) if is_name_start(c) => {
                let end = scan_name(b, i + 1);
                (ascii_str(b.get(i..end).unwrap_or(&[])), end)
            }
            _ => return expected(b, i, &format!("a metric name after {kw}")),
        };
        // One block scan finds the end of a plain line (no backslash, no
        // non-ASCII byte), whose text then needs neither unescaping nor a
        // UTF-8 check; other lines are searched for their end again.
        let stop = find(b, name_end, Stop::NotPlain);
        let (eol, plain) = match b.get(stop) {
            None | Some(b'\n') => (stop, true),
            Some(_) => (line_end(b, stop), false),
        };
        let rest = b.get(name_end..eol).unwrap_or(&[]);
        // Prometheus drops exactly one character after the name; a rest made
        // only of blanks is no text at all.
        let text_start = if rest.iter().all(|&c| c == b' ' || c == b'\t') {
            eol
        } else {
            name_end + 1
        };
        let text = b.get(text_start..eol).unwrap_or(&[]);
        self.i = eol + 1;
        if is_help {
            let help = if plain {
                std::borrow::Cow::Borrowed(ascii_str(text))
            } else {
                help_text(b, text_start, eol, false, "help text")?
            };
            return Ok(Step::Meta(Meta::Help { name, help }));
        }
        let metric_type = match text {
            b"counter" => MetricType::Counter,
            b"gauge" => MetricType::Gauge,
            b"histogram" => MetricType::Histogram,
            b"summary" => MetricType::Summary,
            b"untyped" => MetricType::Unknown,
            _ => {
                return fail(
                    name_end + 1,
                    format!(
                        "invalid metric type {:?} (expected counter, gauge, histogram, summary or untyped)",
                        String::from_utf8_lossy(text)
                    ),
                )
            }
        };
        self.mtype = metric_type;
        Ok(Step::Meta(Meta::Type { name, metric_type }))
    }

    /// A sample line. `start` is where the series begins, `i` just after the
    /// metric name (or at `{` when the name is quoted inside the braces).
    /// With lazy labels, an error after a skimmed label set re-parses the
    /// line fully, so the error reported is the one a full parse finds first.
    fn text_series(
        &mut self,
        start: usize,
        i: usize,
        name: Option<&'a str>,
        s: &mut SampleEntry<'a>,
    ) -> PResult<()> {
        let r = self.text_series_with(start, i, name, s, self.lazy);
        if r.is_err() && self.pending.is_some() {
            return self.text_series_with(start, i, name, s, false);
        }
        r
    }

    fn text_series_with(
        &mut self,
        start: usize,
        i: usize,
        mut name: Option<&'a str>,
        s: &mut SampleEntry<'a>,
        lazy: bool,
    ) -> PResult<()> {
        let b = self.b;
        s.labels.clear();
        s.exemplar = None;
        s.created_ms = None;
        self.pending = None;
        let mut i = skip_ws(b, i);
        let mut series_end = i;
        if b.get(i) == Some(&b'{') {
            match lazy.then(|| skim_label_set(b, i + 1, true)).flatten() {
                Some(end) => {
                    self.pending = Some(i);
                    i = end;
                }
                None => i = self.text_labels(i + 1, &mut name, s)?,
            }
            series_end = i;
            i = skip_ws(b, i);
        } else if let Some(n) = name {
            series_end = start + n.len();
        }
        if self.pending.is_some() {
            s.name = name.unwrap_or_default();
        } else {
            s.name = text_name_checked(name, &s.labels, start)?;
        }
        self.series = (start, series_end);

        let vend = scan_text_value(b, i);
        if vend == i {
            return expected(b, i, "a value after the metric");
        }
        s.value = value_at(b, i, vend)?;

        let mut i = skip_ws(b, vend);
        s.timestamp_ms = None;
        if b.get(i).is_some_and(u8::is_ascii_digit) {
            let tend = scan_while(b, i, |c| c.is_ascii_digit());
            let digits = ascii_str(b.get(i..tend).unwrap_or(&[]));
            let ts = digits.parse::<i64>().map_err(|_| {
                Box::new(Fail {
                    off: i,
                    msg: format!("timestamp {digits} is out of range"),
                })
            })?;
            s.timestamp_ms = Some(ts);
            i = skip_ws(b, tend);
            if !matches!(b.get(i), None | Some(b'\n')) {
                return expected(b, i, "end of line after the timestamp");
            }
        } else if !matches!(b.get(i), None | Some(b'\n')) {
            return expected(b, i, "a timestamp (integer milliseconds) or end of line");
        }
        self.i = i + 1;
        Ok(())
    }

    /// The label set skimmed over by a lazy [`Parser::text_series`]: `brace`
    /// is the index of its `{`, `start` where the series begins.
    pub(crate) fn text_labels_into(
        &self,
        start: usize,
        brace: usize,
        s: &mut SampleEntry<'a>,
    ) -> PResult<()> {
        let b = self.b;
        let mut name = if brace == start {
            None
        } else {
            let end = scan_name(b, start + 1);
            Some(ascii_str(b.get(start..end).unwrap_or(&[])))
        };
        s.labels.clear();
        self.text_labels(brace + 1, &mut name, s)?;
        s.name = text_name_checked(name, &s.labels, start)?;
        Ok(())
    }

    /// The inside of `{…}`; returns the index after `}`.
    pub(crate) fn text_labels(
        &self,
        mut i: usize,
        name: &mut Option<&'a str>,
        s: &mut SampleEntry<'a>,
    ) -> PResult<usize> {
        let b = self.b;
        loop {
            i = skip_ws(b, i);
            let lname = match b.get(i) {
                Some(b'}') => return Ok(i + 1),
                Some(b'"') => {
                    let q = scan_quoted(b, i, true)?;
                    let j = skip_ws(b, q.end);
                    if matches!(b.get(j), Some(b',' | b'}')) {
                        if name.is_some() {
                            return fail(i, "metric name already set");
                        }
                        *name = Some(quoted_name(&q, i, "metric name")?);
                        if b.get(j) == Some(&b'}') {
                            return Ok(j + 1);
                        }
                        i = j + 1;
                        continue;
                    }
                    let n = quoted_name(&q, i, "label name")?;
                    i = j;
                    n
                }
                Some(&c) if is_label_start(c) => {
                    let end = scan_label(b, i + 1);
                    let n = ascii_str(b.get(i..end).unwrap_or(&[]));
                    i = skip_ws(b, end);
                    n
                }
                _ => return expected(b, i, "a label name or '}'"),
            };
            if b.get(i) != Some(&b'=') {
                return expected(b, i, "'=' after the label name");
            }
            i = skip_ws(b, i + 1);
            if b.get(i) != Some(&b'"') {
                return expected(b, i, "a quoted label value");
            }
            let q = scan_quoted(b, i, true)?;
            let v = label_value(&q, i)?;
            s.labels
                .push((lname, normalize_bound(self.mtype, lname, v)));
            i = skip_ws(b, q.end);
            if b.get(i) == Some(&b',') {
                i += 1;
            }
        }
    }
}

/// The metric name of a fully parsed series, after the checks that need
/// the whole label set.
#[inline(always)]
fn text_name_checked<'a>(
    name: Option<&'a str>,
    labels: &[crate::entry::LabelPair<'a>],
    start: usize,
) -> PResult<&'a str> {
    let Some(name) = name else {
        return fail(
            start,
            "metric name not set: a quoted name or a name before '{' is required",
        );
    };
    check_duplicates(labels, start)?;
    Ok(name)
}

/// Parses the value token `b[i..end]`.
#[inline(always)]
pub(crate) fn value_at(b: &[u8], i: usize, end: usize) -> PResult<f64> {
    let tok = b.get(i..end).unwrap_or(&[]);
    match parse_go_float(tok) {
        Ok(v) => Ok(v),
        Err(e) => {
            let shown = String::from_utf8_lossy(tok);
            let why = match e {
                FloatError::Syntax => "is not a number",
                FloatError::Range => "is out of range",
            };
            // A trailing '\r' is the usual culprit for CRLF bodies.
            if tok.last() == Some(&b'\r') {
                return fail(
                    end - 1,
                    format!("value {shown:?} {why}: got {}", describe(b, end - 1)),
                );
            }
            fail(i, format!("value {shown:?} {why}"))
        }
    }
}
