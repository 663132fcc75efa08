//! OpenMetrics 1.0 text, accepting what Prometheus's `openmetricsparse.go`
//! accepts.
//!
//! Stricter than the text format: single spaces only and exactly where the
//! grammar puts them, no blank lines, no free-form comments, label values on
//! one line, timestamps as float seconds, optional exemplars
//! (`… # {trace_id="x"} 1 1.5`), and a mandatory final `# EOF`.

use promlite_model::MetricType;

use crate::entry::{Exemplar, LabelPair, SampleEntry};
use crate::float::format_openmetrics_float;
use crate::lex::*;
use crate::parser::{Meta, Parser, Step};
use crate::text::value_at;

const NO_EOF: &str = "data does not end with # EOF";

impl<'a> Parser<'a> {
    /// Parses the next OpenMetrics entry; `Ok(None)` after `# EOF`.
    pub(crate) fn om_next(&mut self, s: &mut SampleEntry<'a>) -> PResult<Option<Step<'a>>> {
        let b = self.b;
        let i = self.i;
        match b.get(i) {
            None if self.fragment => Ok(None),
            None => fail(i, NO_EOF),
            Some(b'#') => self.om_comment(i),
            Some(b'{') => self.om_series(i, i, None, s).map(|()| Some(Step::Sample)),
            Some(&c) if is_name_start(c) => {
                let end = scan_name(b, i + 1);
                let name = ascii_str(b.get(i..end).unwrap_or(&[]));
                self.om_series(i, end, Some(name), s)
                    .map(|()| Some(Step::Sample))
            }
            Some(_) => expected(b, i, "a metric name, '{' or '#'"),
        }
    }

    /// `# HELP`, `# TYPE`, `# UNIT` or `# EOF`.
    fn om_comment(&mut self, i: usize) -> PResult<Option<Step<'a>>> {
        let b = self.b;
        if b.get(i + 1) != Some(&b' ') {
            return expected(b, i + 1, "a single space after '#'");
        }
        let j = i + 2;
        let rest = b.get(j..).unwrap_or(&[]);
        if rest.starts_with(b"EOF") {
            let mut k = j + 3;
            if b.get(k) == Some(&b'\n') {
                k += 1;
            }
            if k < b.len() {
                return fail(k, "unexpected data after # EOF");
            }
            self.i = k;
            self.saw_eof = true;
            return Ok(None);
        }
        let kind = if rest.starts_with(b"HELP ") {
            0
        } else if rest.starts_with(b"TYPE ") {
            1
        } else if rest.starts_with(b"UNIT ") {
            2
        } else {
            return expected(b, j, "HELP, TYPE, UNIT or EOF after '# '");
        };
        self.om_meta(kind, j + 5).map(Some)
    }

    /// The rest of a metadata line; `i` is at the metric name.
    fn om_meta(&mut self, kind: u8, i: usize) -> PResult<Step<'a>> {
        let b = self.b;
        let kw = ["HELP", "TYPE", "UNIT"]
            .get(usize::from(kind))
            .copied()
            .unwrap_or("");
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
        if b.get(name_end) != Some(&b' ') {
            return expected(
                b,
                name_end,
                &format!("a space and the {kw} text after the metric name"),
            );
        }
        let eol = line_end(b, name_end);
        if eol >= b.len() && !self.fragment {
            return fail(eol, NO_EOF);
        }
        let text = b.get(name_end + 1..eol).unwrap_or(&[]);
        self.i = eol + 1;
        let utf8 = |what: &str| {
            std::str::from_utf8(text).map_err(|e| {
                Box::new(Fail {
                    off: name_end + 1 + e.valid_up_to(),
                    msg: format!("{what} is not valid UTF-8"),
                })
            })
        };
        match kind {
            0 => {
                let help = help_text(b, name_end + 1, eol, true, "help text")?;
                Ok(Step::Meta(Meta::Help { name, help }))
            }
            1 => {
                let metric_type = match text {
                    b"counter" => MetricType::Counter,
                    b"gauge" => MetricType::Gauge,
                    b"histogram" => MetricType::Histogram,
                    b"gaugehistogram" => MetricType::GaugeHistogram,
                    b"summary" => MetricType::Summary,
                    b"info" => MetricType::Info,
                    b"stateset" => MetricType::StateSet,
                    b"unknown" => MetricType::Unknown,
                    _ => {
                        return fail(
                            name_end + 1,
                            format!(
                                "invalid metric type {:?} (expected counter, gauge, histogram, gaugehistogram, \
                                 summary, info, stateset or unknown)",
                                String::from_utf8_lossy(text)
                            ),
                        )
                    }
                };
                self.mtype = metric_type;
                Ok(Step::Meta(Meta::Type { name, metric_type }))
            }
            _ => {
                let unit = utf8("unit")?;
                if !unit.is_empty() {
                    let ok = name.len() > unit.len()
                        && name.ends_with(unit)
                        && name.as_bytes().get(name.len() - unit.len() - 1) == Some(&b'_');
                    if !ok {
                        return fail(
                            name_end + 1,
                            format!("unit {unit:?} is not a suffix of metric {name:?}"),
                        );
                    }
                }
                Ok(Step::Meta(Meta::Unit { name, unit }))
            }
        }
    }

    /// A sample line; `i` is just after the metric name (or at `{`).
    /// With lazy labels, an error after a skimmed label set re-parses the
    /// line fully, so the error reported is the one a full parse finds first.
    fn om_series(
        &mut self,
        start: usize,
        i: usize,
        name: Option<&'a str>,
        s: &mut SampleEntry<'a>,
    ) -> PResult<()> {
        let r = self.om_series_with(start, i, name, s, self.lazy);
        if r.is_err() && self.pending.is_some() {
            return self.om_series_with(start, i, name, s, false);
        }
        r
    }

    fn om_series_with(
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
        s.timestamp_ms = None;
        self.pending = None;
        let mut i = i;
        if b.get(i) == Some(&b'{') {
            match lazy.then(|| skim_label_set(b, i + 1, false)).flatten() {
                Some(end) => {
                    self.pending = Some(i);
                    i = end;
                }
                None => {
                    let mtype = self.mtype;
                    i = om_labels(b, i + 1, Some(&mut name), mtype, &mut s.labels)?;
                }
            }
        }
        if self.pending.is_some() {
            s.name = name.unwrap_or_default();
        } else {
            s.name = om_name_checked(name, &s.labels, start)?;
        }
        self.series = (start, i);

        let (value, mut i) = self.om_number(i, "a space and the value after the metric")?;
        s.value = value;
        if b.get(i) == Some(&b' ') && !b.get(i + 1..).is_some_and(|r| r.starts_with(b"# {")) {
            let (ts, j) = self.om_number(i, "a timestamp")?;
            s.timestamp_ms = Some(om_timestamp(ts, i + 1, "timestamp")?);
            i = j;
        }
        if b.get(i) == Some(&b' ') {
            if b.get(i + 1..).is_some_and(|r| r.starts_with(b"# {")) {
                let (ex, j) = self.om_exemplar(i + 4)?;
                s.exemplar = Some(ex);
                i = j;
            } else {
                return expected(b, i + 1, "an exemplar ('# {') or end of line");
            }
        }
        self.om_line_end(i)
    }

    /// ` <number>`: a space, then a non-empty token up to a space or newline.
    fn om_number(&self, i: usize, what: &str) -> PResult<(f64, usize)> {
        let b = self.b;
        if b.get(i) != Some(&b' ') {
            return expected(b, i, what);
        }
        let end = scan_while(b, i + 1, |c| c != b' ' && c != b'\n');
        if end == i + 1 {
            return expected(b, i + 1, what);
        }
        Ok((value_at(b, i + 1, end)?, end))
    }

    /// Requires the newline ending a sample line at `i` and moves past it.
    fn om_line_end(&mut self, i: usize) -> PResult<()> {
        match self.b.get(i) {
            Some(b'\n') => {
                self.i = i + 1;
                Ok(())
            }
            None if self.fragment => {
                self.i = i;
                Ok(())
            }
            None => fail(i, NO_EOF),
            Some(_) => expected(self.b, i, "end of line"),
        }
    }

    /// The exemplar after `# {`; `i` is just after the `{`.
    fn om_exemplar(&self, i: usize) -> PResult<(Exemplar<'a>, usize)> {
        let mut ex = Exemplar::default();
        let i = om_labels(self.b, i, None, MetricType::Unknown, &mut ex.labels)?;
        let (v, mut i) = self.om_number(i, "a space and the exemplar value")?;
        ex.value = v;
        if self.b.get(i) == Some(&b' ') {
            let (ts, j) = self.om_number(i, "an exemplar timestamp")?;
            ex.timestamp_ms = Some(om_timestamp(ts, i + 1, "exemplar timestamp")?);
            i = j;
        }
        Ok((ex, i))
    }
}

/// Float seconds to milliseconds, truncated toward zero like Go's
/// `int64(ts * 1000)`; NaN and infinities are errors.
fn om_timestamp(ts: f64, off: usize, what: &str) -> PResult<i64> {
    if !ts.is_finite() {
        return fail(
            off,
            format!("invalid {what} {}", format_openmetrics_float(ts)),
        );
    }
    Ok((ts * 1000.0) as i64)
}

/// The inside of `{…}` in OpenMetrics: `name="value"` pairs separated by
/// single commas, no spaces, a trailing comma allowed. `name` receives a
/// quoted metric name (not allowed in exemplars, where it is `None`).
/// Returns the index after `}`.
impl<'a> Parser<'a> {
    /// The label set skimmed over by a lazy [`Parser::om_series`]: `brace` is
    /// the index of its `{`, `start` where the series begins.
    pub(crate) fn om_labels_into(
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
        om_labels(b, brace + 1, Some(&mut name), self.mtype, &mut s.labels)?;
        s.name = om_name_checked(name, &s.labels, start)?;
        Ok(())
    }
}

/// The metric name of a fully parsed series, after the checks that need
/// the whole label set.
#[inline(always)]
fn om_name_checked<'a>(
    name: Option<&'a str>,
    labels: &[LabelPair<'a>],
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

fn om_labels<'a>(
    b: &'a [u8],
    mut i: usize,
    mut name: Option<&mut Option<&'a str>>,
    mtype: MetricType,
    out: &mut Vec<LabelPair<'a>>,
) -> PResult<usize> {
    loop {
        let lname = match b.get(i) {
            Some(b'}') => return Ok(i + 1),
            Some(b'"') => {
                let q = scan_quoted(b, i, false)?;
                let j = q.end;
                if matches!(b.get(j), Some(b',' | b'}')) {
                    let Some(slot) = name.as_deref_mut() else {
                        return expected(b, j, "'=' after the exemplar label name");
                    };
                    if slot.is_some() {
                        return fail(i, "metric name already set");
                    }
                    *slot = Some(quoted_name(&q, i, "metric name")?);
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
                i = end;
                n
            }
            _ => return expected(b, i, "a label name or '}'"),
        };
        if b.get(i) != Some(&b'=') {
            return expected(b, i, "'=' after the label name");
        }
        i += 1;
        if b.get(i) != Some(&b'"') {
            return expected(b, i, "a quoted label value");
        }
        let q = scan_quoted(b, i, false)?;
        let v = label_value(&q, i)?;
        out.push((lname, normalize_bound(mtype, lname, v)));
        i = q.end;
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {}
            _ => return expected(b, i, "',' or '}'"),
        }
    }
}
