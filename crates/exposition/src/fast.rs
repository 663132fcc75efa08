//! The fast path for the common text-format sample line:
//! `name value[ timestamp]` or `name{labels} value[ timestamp]`, single
//! spaces, the line ending in `\n` (or the body). It is tried first for
//! every line that starts with a metric name; on anything else, including
//! every error, it gives up without reporting and the general parser in
//! `text.rs` parses the line from its start, so errors, their positions and
//! every unusual layout stay the general parser's. When it succeeds its
//! result is the general parser's for the same line (tests in
//! `tests/fast_path.rs` compare the two on valid, mutated and random bodies).

use crate::entry::SampleEntry;
use crate::float::parse_go_float;
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
                    s.labels.clear();
                    end
                }
                None => return false,
            },
            Some(b'{') => {
                s.labels.clear();
                let mut name = Some(ascii_str(b.get(start..name_end).unwrap_or(&[])));
                let Ok(end) = self.text_labels(name_end + 1, &mut name, s) else {
                    return false;
                };
                if check_duplicates(&s.labels, start).is_err() {
                    return false;
                }
                end
            }
            Some(b' ') => {
                s.labels.clear();
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
        let vend = find(b, v, Stop::ValueEnd);
        let Ok(value) = parse_go_float(b.get(v..vend).unwrap_or(&[])) else {
            return false;
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
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
