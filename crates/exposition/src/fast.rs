//! The fast path for the common text-format sample line:
//! `name value[ timestamp]` or `name{labels} value[ timestamp]`, single
//! spaces, the line ending in `\n` (or the body). [`Parser::next_into`]
//! tries it first when the next line starts with a metric name; on anything else, including
//! every error, it gives up without reporting and the general parser in
//! `text.rs` parses the line from its start, so errors, their positions and
//! every unusual layout stay the general parser's. When it succeeds its
//! result is the general parser's for the same line (tests in
//! `tests/fast_path.rs` compare the two on valid, mutated and random bodies).

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

    /// Parses the next line if it is a text-format sample line starting
    /// right at the metric name with the common shape; `false` (nothing
    /// consumed) otherwise, including at the end and after an error.
    #[inline(never)]
    pub(crate) fn next_sample_fast(&mut self, s: &mut SampleEntry<'a>) -> bool {
        if self.done || self.format != Format::PrometheusText || !self.fast_path_allowed() {
            return false;
        }
        let b = self.b;
        let i = self.i;
        match b.get(i) {
            Some(&c) if is_name_start(c) => {
                let end = scan_name(b, i + 1);
                self.text_sample_fast(i, end, s)
            }
            _ => false,
        }
    }

    /// Parses the sample line whose metric name is `b[start..name_end]` if
    /// it has the common shape; `false` (with `self` untouched) otherwise.
    #[inline(always)]
    pub(crate) fn text_sample_fast(
        &mut self,
        start: usize,
        name_end: usize,
        s: &mut SampleEntry<'a>,
    ) -> bool {
        let b = self.b;
        let mut pending = None;
        let series_end = match b.get(name_end) {
            Some(b'{') if self.lazy => match skim_label_set(b, name_end + 1, true) {
                Some(end) => {
                    pending = Some(name_end);
                    if !s.labels.is_empty() {
                        s.labels.clear();
                    }
                    end
                }
                None => return false,
            },
            Some(b'{') => {
                s.labels.clear();
                let end = match self.plain_labels(name_end + 1, s) {
                    Some(end) => end,
                    None => {
                        s.labels.clear();
                        let mut name = Some(ascii_str(b.get(start..name_end).unwrap_or(&[])));
                        let Ok(end) = self.text_labels(name_end + 1, &mut name, s) else {
                            return false;
                        };
                        end
                    }
                };
                if check_duplicates(&s.labels, start).is_err() {
                    return false;
                }
                end
            }
            Some(b' ') => {
                if !s.labels.is_empty() {
                    s.labels.clear();
                }
                name_end
            }
            _ => return false,
        };
        // One optional space (required after a bare name), then the value,
        // which must not start with a blank or '{' (the general parser
        // skips further blanks, or reads a label set after them).
        let mut v = series_end;
        if b.get(v) == Some(&b' ') {
            v += 1;
        }
        match b.get(v) {
            None | Some(b' ' | b'\t' | b'\n' | b'{') => return false,
            Some(_) => {}
        }
        let (value, vend) = match small_int_at(b, v) {
            Some(found) => found,
            None => {
                let vend = find(b, v, Stop::ValueEnd);
                let Ok(value) = parse_go_float(b.get(v..vend).unwrap_or(&[])) else {
                    return false;
                };
                (value, vend)
            }
        };
        let (timestamp, line_end) = match b.get(vend) {
            None | Some(b'\n') => (None, vend),
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
                    return false;
                }
                (Some(ts), k)
            }
            Some(_) => return false,
        };
        s.name = ascii_str(b.get(start..name_end).unwrap_or(&[]));
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

    /// The label set whose inside starts at `i` when it is written plainly,
    /// `name="value"` pairs separated by single commas (a trailing comma
    /// allowed) with no blanks, no escapes and only ASCII in the values:
    /// pushes the pairs (with `le`/`quantile` normalised as the general
    /// parser does) and returns the index after `}`. `None` for any other
    /// layout; the caller then clears the labels and parses the set with
    /// the general `text_labels`, which gives the same pairs for a plain set.
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

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
