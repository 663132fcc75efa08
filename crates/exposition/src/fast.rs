//! The fast path for the common sample line: `name value[ timestamp]` or
//! `name{labels} value[ timestamp]`, single spaces, plain label values,
//! the line ending in `\n` (or, in the text format, the body), in both the
//! text format and OpenMetrics (then without an exemplar).
//! [`Parser::next_into`] tries it first when the next line starts with a
//! metric name; on anything else, including every error, it gives up
//! without reporting and the general parser (`text.rs`, `openmetrics.rs`)
//! parses the line from its start, so errors, their positions and every
//! unusual layout stay the general parser's. When it succeeds its result is
//! the general parser's for the same line (`fast_tests.rs` compares the two
//! on valid, mutated and random bodies).

use crate::entry::SampleEntry;
use crate::float::{parse_go_float, small_int_at};
use crate::format::Format;
use crate::lex::*;
use crate::parser::Parser;
use crate::scan::{find, Stop};

/// The most timestamp digits read here: 18 always fit an `i64`.
const MAX_TS_DIGITS: usize = 18;

impl<'a> Parser<'a> {
    /// Always true outside this crate's unit tests, which compare the fast
    /// path with the general parser.
    #[inline(always)]
    pub(crate) fn fast_path_allowed(&self) -> bool {
        #[cfg(test)]
        return !self.general_only;
        #[cfg(not(test))]
        true
    }

    /// Parses the next line if it is a sample line starting right at the
    /// metric name with the common shape; `false` (nothing consumed)
    /// otherwise, including at the end and after an error.
    #[inline(never)]
    pub(crate) fn next_sample_fast(&mut self, s: &mut SampleEntry<'a>) -> bool {
        if self.done || !self.fast_path_allowed() {
            return false;
        }
        let b = self.b;
        let i = self.i;
        match b.get(i) {
            Some(&c) if is_name_start(c) => {
                let end = scan_name(b, i + 1);
                self.sample_fast(i, end, s)
            }
            _ => false,
        }
    }

    /// Parses the sample line whose metric name is `b[start..name_end]` if
    /// it has the common shape; `false` (with `self` untouched, `s` maybe
    /// partly written) otherwise.
    #[inline(always)]
    pub(crate) fn sample_fast(
        &mut self,
        start: usize,
        name_end: usize,
        s: &mut SampleEntry<'a>,
    ) -> bool {
        let om = self.format == Format::OpenMetrics;
        let Some((series_end, pending)) = self.series_fast(start, name_end, om, s) else {
            return false;
        };
        let line = if om {
            self.om_rest_fast(series_end)
        } else {
            self.text_rest_fast(series_end)
        };
        let Some((value, timestamp, line_end)) = line else {
            return false;
        };
        s.name = ascii_str(self.b.get(start..name_end).unwrap_or(&[]));
        s.value = value;
        s.timestamp_ms = timestamp;
        if s.exemplar.is_some() {
            s.exemplar = None;
        }
        s.created_ms = None;
        self.pending = pending;
        self.series = (start, series_end);
        self.i = line_end + 1;
        true
    }

    /// The label set, if any, after the name: skimmed (lazy) or parsed into
    /// `s.labels` (eager). Returns where the series text ends and, when
    /// skimmed, the index of its `{`.
    #[inline(always)]
    fn series_fast(
        &self,
        start: usize,
        name_end: usize,
        om: bool,
        s: &mut SampleEntry<'a>,
    ) -> Option<(usize, Option<usize>)> {
        let b = self.b;
        match b.get(name_end) {
            Some(b'{') if self.lazy => {
                // Raw newlines inside quoted values: text format only.
                let end = skim_label_set(b, name_end + 1, !om)?;
                if !s.labels.is_empty() {
                    s.labels.clear();
                }
                Some((end, Some(name_end)))
            }
            Some(b'{') => {
                s.labels.clear();
                let end = match self.plain_labels(name_end + 1, s) {
                    Some(end) => end,
                    None if om => return None,
                    None => {
                        // Blanks, escapes, quoted names: the general text loop.
                        s.labels.clear();
                        let mut name = Some(ascii_str(b.get(start..name_end).unwrap_or(&[])));
                        self.text_labels(name_end + 1, &mut name, s).ok()?
                    }
                };
                check_duplicates(&s.labels, start).ok()?;
                Some((end, None))
            }
            Some(b' ') => {
                if !s.labels.is_empty() {
                    s.labels.clear();
                }
                Some((name_end, None))
            }
            _ => None,
        }
    }

    /// Text format, after the series: one optional space (required after a
    /// bare name, which the caller ensured), the value, and an optional
    /// ` digits` timestamp; returns them and the index of the line's end.
    #[inline(always)]
    fn text_rest_fast(&self, series_end: usize) -> Option<(f64, Option<i64>, usize)> {
        let b = self.b;
        let mut v = series_end;
        if b.get(v) == Some(&b' ') {
            v += 1;
        }
        // The general parser skips further blanks, or reads a label set after them.
        if matches!(b.get(v), None | Some(b' ' | b'\t' | b'\n' | b'{')) {
            return None;
        }
        let (value, vend) = match small_int_at(b, v) {
            Some(found) => found,
            None => {
                let vend = find(b, v, Stop::ValueEnd);
                (parse_go_float(b.get(v..vend)?).ok()?, vend)
            }
        };
        match b.get(vend) {
            None | Some(b'\n') => Some((value, None, vend)),
            Some(b' ') => {
                let t = vend + 1;
                let mut k = t;
                let mut ts: i64 = 0;
                while let Some(&c) = b.get(k) {
                    let d = c.wrapping_sub(b'0');
                    if d > 9 {
                        break;
                    }
                    ts = ts.wrapping_mul(10).wrapping_add(i64::from(d));
                    k += 1;
                }
                let digits = k - t;
                if digits == 0 || digits > MAX_TS_DIGITS || !matches!(b.get(k), None | Some(b'\n'))
                {
                    return None;
                }
                Some((value, Some(ts), k))
            }
            Some(_) => None,
        }
    }

    /// OpenMetrics, after the series: ` value`, an optional ` timestamp`
    /// (float seconds) and the newline; no exemplar.
    #[inline(always)]
    fn om_rest_fast(&self, series_end: usize) -> Option<(f64, Option<i64>, usize)> {
        let b = self.b;
        if b.get(series_end) != Some(&b' ') {
            return None;
        }
        let (value, vend) = om_token(b, series_end + 1)?;
        match b.get(vend) {
            Some(b'\n') => Some((value, None, vend)),
            // Not an exemplar (`# {`): those go to the general parser.
            Some(b' ') if b.get(vend + 1) != Some(&b'#') => {
                let (ts, tend) = om_token(b, vend + 1)?;
                if !ts.is_finite() || b.get(tend) != Some(&b'\n') {
                    return None;
                }
                // As the general parser: Go's int64(ts * 1000), truncating.
                Some((value, Some((ts * 1000.0) as i64), tend))
            }
            _ => None,
        }
    }

    /// The label set whose inside starts at `i` when it is written plainly,
    /// `name="value"` pairs separated by single commas (a trailing comma
    /// allowed) with no blanks, no escapes and only ASCII in the values:
    /// pushes the pairs (with `le`/`quantile` normalised as the general
    /// parser does) and returns the index after `}`. `None` for any other
    /// layout. A plain set is valid in both formats and the general parsers
    /// (`text_labels`, `om_labels`) give the same pairs for it.
    #[inline(always)]
    fn plain_labels(&self, mut i: usize, s: &mut SampleEntry<'a>) -> Option<usize> {
        let b = self.b;
        loop {
            let c = *b.get(i)?;
            if c == b'}' {
                return Some(i + 1);
            }
            if !is_label_start(c) {
                return None;
            }
            let name_end = scan_label(b, i + 1);
            if b.get(name_end..name_end + 2)? != b"=\"" {
                return None;
            }
            let v = name_end + 2;
            let q = find(b, v, Stop::Quote);
            if b.get(q) != Some(&b'"') {
                return None;
            }
            let lname = ascii_str(b.get(i..name_end)?);
            let value = std::borrow::Cow::Borrowed(ascii_str(b.get(v..q)?));
            s.labels
                .push((lname, normalize_bound(self.mtype, lname, value)));
            i = q + 1;
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => return Some(i + 1),
                _ => return None,
            }
        }
    }
}

/// An OpenMetrics number token at `i`: up to a space or newline, non-empty,
/// a valid float; its value and end.
#[inline(always)]
fn om_token(b: &[u8], i: usize) -> Option<(f64, usize)> {
    if let Some((v, end)) = small_int_at(b, i) {
        // The text format's value ends also at a tab or '{'; here those
        // bytes would belong to the token.
        return matches!(b.get(end), Some(b' ' | b'\n')).then_some((v, end));
    }
    let end = find(b, i, Stop::ValueEnd);
    if end == i || !matches!(b.get(end), Some(b' ' | b'\n')) {
        return None;
    }
    Some((parse_go_float(b.get(i..end)?).ok()?, end))
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
