//! The streaming, zero-copy [`Parser`] and the [`parse_all`] convenience.

use std::borrow::Cow;

use promlite_model::{Labels, MetricType, METRIC_NAME};

use crate::entry::{Entry, ParseError, SampleEntry};
use crate::format::Format;
use crate::lex::Fail;

/// What [`Parser::next_into`] produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<'a> {
    /// A sample, written into the caller's [`SampleEntry`].
    Sample,
    /// Any other entry (never [`Entry::Sample`]).
    Other(Entry<'a>),
}

/// What the format-specific code returns: small, so the hot path moves few
/// bytes (an `Entry` is large because it can hold a whole sample).
pub(crate) enum Step<'a> {
    Sample,
    Meta(Meta<'a>),
}

/// The non-sample entries.
pub(crate) enum Meta<'a> {
    Type {
        name: &'a str,
        metric_type: MetricType,
    },
    Help {
        name: &'a str,
        help: Cow<'a, str>,
    },
    Unit {
        name: &'a str,
        unit: &'a str,
    },
    Comment,
}

impl<'a> Meta<'a> {
    fn into_entry(self) -> Entry<'a> {
        match self {
            Meta::Type { name, metric_type } => Entry::Type { name, metric_type },
            Meta::Help { name, help } => Entry::Help { name, help },
            Meta::Unit { name, unit } => Entry::Unit { name, unit },
            Meta::Comment => Entry::Comment,
        }
    }
}

/// A pull parser over a whole scrape body. It borrows names and label values
/// from the body and allocates only for escaped values and error messages.
///
/// ```
/// use promlite_exposition::{Entry, Format, Parser};
///
/// let mut p = Parser::new(b"# TYPE up gauge\nup{job=\"a\"} 1\n", Format::PrometheusText);
/// assert!(matches!(p.next_entry(), Some(Ok(Entry::Type { name: "up", .. }))));
/// let Some(Ok(Entry::Sample(s))) = p.next_entry() else { panic!() };
/// assert_eq!((s.name, s.value, s.labels[0].0), ("up", 1.0, "job"));
/// assert!(p.next_entry().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Parser<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) i: usize,
    pub(crate) format: Format,
    pub(crate) done: bool,
    /// The type from the last `# TYPE` line (drives `le`/`quantile` normalisation).
    pub(crate) mtype: MetricType,
    /// Lines before `b` (for line numbers when parsing a fragment).
    pub(crate) line_base: usize,
    /// OpenMetrics fragment mode (import): the body is one line, a missing
    /// `# EOF` is not an error.
    pub(crate) fragment: bool,
    /// `# EOF` was read (OpenMetrics).
    pub(crate) saw_eof: bool,
    /// Byte range of the last sample's name and label set.
    pub(crate) series: (usize, usize),
    /// Skim label sets instead of parsing them ([`Parser::set_lazy_labels`]).
    pub(crate) lazy: bool,
    /// Index of the `{` of the last sample's label set when it was skimmed
    /// and not parsed yet.
    pub(crate) pending: Option<usize>,
    /// Tests only: skip the fast path of `fast.rs`, so its results can be
    /// compared with the general parser's.
    #[cfg(test)]
    pub(crate) general_only: bool,
}

impl<'a> Parser<'a> {
    /// A parser over `body` in `format`.
    pub fn new(body: &'a [u8], format: Format) -> Parser<'a> {
        Parser {
            b: body,
            i: 0,
            format,
            done: false,
            mtype: MetricType::Unknown,
            line_base: 0,
            fragment: false,
            saw_eof: false,
            series: (0, 0),
            lazy: false,
            pending: None,
            #[cfg(test)]
            general_only: false,
        }
    }

    /// With `lazy` set, [`Parser::next_into`] does not parse the label set
    /// of a sample: it only finds where the set ends (honouring quoted
    /// values), so [`Parser::series_bytes`] is known, and leaves
    /// `labels` empty (and `name` empty when the name is quoted inside the
    /// braces). Call [`Parser::labels_into`] for the samples whose labels
    /// are needed; the rest of the line (value, timestamp, exemplar) is
    /// parsed and checked as usual.
    ///
    /// This is for callers that key a cache by `series_bytes()`, as the
    /// scraper does: byte-identical series text that parsed before parses
    /// the same way again (given the same `# TYPE` for `le`/`quantile`
    /// normalisation), so a cache hit needs neither the labels nor their
    /// validation. A series never seen must go through `labels_into`, which
    /// reports every error the eager parse would.
    ///
    /// ```
    /// use promlite_exposition::{Format, Parsed, Parser, SampleEntry};
    ///
    /// let body = b"a{x=\"1\",y=\"}\"} 2\n";
    /// let mut p = Parser::new(body, Format::PrometheusText);
    /// p.set_lazy_labels(true);
    /// let mut s = SampleEntry::default();
    /// assert!(matches!(p.next_into(&mut s), Some(Ok(Parsed::Sample))));
    /// assert_eq!((p.series_bytes(), s.value, s.labels.len()), (&b"a{x=\"1\",y=\"}\"}"[..], 2.0, 0));
    /// p.labels_into(&mut s).unwrap();
    /// assert_eq!(s.labels[1].1, "}");
    /// ```
    pub fn set_lazy_labels(&mut self, lazy: bool) {
        self.lazy = lazy;
    }

    /// Parses the label set of the last sample returned by
    /// [`Parser::next_into`] into `sample` (name, labels, and the checks for
    /// a missing name or duplicate labels) when lazy parsing skipped it; a
    /// no-op otherwise. Call it before the next `next_into`. An error is
    /// the error an eager parse of that line would have returned; the
    /// caller should stop parsing after it.
    pub fn labels_into(&self, sample: &mut SampleEntry<'a>) -> Result<(), ParseError> {
        let Some(brace) = self.pending else {
            return Ok(());
        };
        let start = self.series.0;
        let r = match self.format {
            Format::PrometheusText => self.text_labels_into(start, brace, sample),
            Format::OpenMetrics => self.om_labels_into(start, brace, sample),
        };
        r.map_err(|f| {
            let Fail { off, msg } = *f;
            ParseError::at(self.b, off, self.line_base, msg)
        })
    }

    /// Next entry, `None` at the end. After an `Err` the parser is done
    /// (returns `None`).
    pub fn next_entry(&mut self) -> Option<Result<Entry<'a>, ParseError>> {
        let mut s = SampleEntry::default();
        match self.next_into(&mut s)? {
            Ok(Parsed::Sample) => Some(Ok(Entry::Sample(s))),
            Ok(Parsed::Other(e)) => Some(Ok(e)),
            Err(e) => Some(Err(e)),
        }
    }

    /// Like [`Parser::next_entry`], but writes a sample into `sample`,
    /// reusing its label `Vec` (the fast path for scraping: no allocation
    /// per sample unless a value needs unescaping).
    #[inline]
    pub fn next_into(
        &mut self,
        sample: &mut SampleEntry<'a>,
    ) -> Option<Result<Parsed<'a>, ParseError>> {
        // Inlined into the caller, so that for the common sample line the
        // caller sees a constant result: the wide `Option<Result<…>>` is
        // then never written to memory by the parser and read back by the
        // caller, which stalled store forwarding on every sample.
        if self.next_sample_fast(sample) {
            return Some(Ok(Parsed::Sample));
        }
        self.next_into_general(sample)
    }

    /// Parses the next line into `sample` and returns true when it is a
    /// sample line of the common shape (`name[{labels}] value[ timestamp]`,
    /// written plainly); otherwise consumes nothing and returns false, and
    /// [`Parser::next_into`] parses the line (also the same shapes, so
    /// calling only `next_into` gives the same results). For hot loops: the
    /// common sample then never passes through `next_into`'s wide result.
    ///
    /// ```
    /// use promlite_exposition::{Format, Parsed, Parser, SampleEntry};
    ///
    /// let mut p = Parser::new(b"# TYPE a gauge\na 1\n", Format::PrometheusText);
    /// let mut s = SampleEntry::default();
    /// assert!(!p.try_next_sample(&mut s), "a comment line");
    /// assert!(matches!(p.next_into(&mut s), Some(Ok(Parsed::Other(_)))));
    /// assert!(p.try_next_sample(&mut s));
    /// assert_eq!((s.name, s.value), ("a", 1.0));
    /// assert!(!p.try_next_sample(&mut s) && p.next_into(&mut s).is_none());
    /// ```
    #[inline]
    pub fn try_next_sample(&mut self, sample: &mut SampleEntry<'a>) -> bool {
        self.next_sample_fast(sample)
    }

    /// Everything [`Parser::next_into`] does when the fast path does not apply.
    #[inline(never)]
    fn next_into_general(
        &mut self,
        sample: &mut SampleEntry<'a>,
    ) -> Option<Result<Parsed<'a>, ParseError>> {
        if self.done {
            return None;
        }
        let r = match self.format {
            Format::PrometheusText => self.text_next(sample),
            Format::OpenMetrics => self.om_next(sample),
        };
        match r {
            Ok(Some(Step::Sample)) => Some(Ok(Parsed::Sample)),
            Ok(Some(Step::Meta(m))) => Some(Ok(Parsed::Other(m.into_entry()))),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(f) => {
                self.done = true;
                let Fail { off, msg } = *f;
                Some(Err(ParseError::at(self.b, off, self.line_base, msg)))
            }
        }
    }

    /// The raw bytes of the last sample's metric name and label set as
    /// written (e.g. `http_requests_total{code="200"}`), usable as a cache
    /// key for series lookup without building labels.
    pub fn series_bytes(&self) -> &'a [u8] {
        self.b.get(self.series.0..self.series.1).unwrap_or(&[])
    }

    /// The format being parsed.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The type from the most recent `# TYPE` line (`Unknown` before any).
    pub fn current_type(&self) -> MetricType {
        self.mtype
    }
}

/// Builds the sorted label set of a sample (`__name__` plus its labels;
/// empty values dropped, as Prometheus does when it stores the sample).
pub fn sample_labels(s: &SampleEntry<'_>) -> Labels {
    // Borrowed pairs, sorted once, encoded in one allocation: no owned
    // `String` per name and value, and for up to `STACK` labels no
    // allocation but the `Labels` itself. Same result as a `LabelsBuilder`
    // (empty values drop the label; of repeated names, the last one set wins).
    const STACK: usize = 16;
    if s.labels.len() < STACK {
        let mut buf = [("", ""); STACK];
        let n = s.labels.len() + 1;
        if let Some((first, rest)) = buf.split_first_mut() {
            *first = (METRIC_NAME, s.name);
            for (slot, (name, value)) in rest.iter_mut().zip(&s.labels) {
                *slot = (*name, value.as_ref());
            }
        }
        let pairs = buf.get_mut(..n).unwrap_or_default();
        let kept = sort_dedup(pairs);
        return Labels::from_sorted_refs(pairs.get(..kept).unwrap_or_default());
    }
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(s.labels.len() + 1);
    pairs.push((METRIC_NAME, s.name));
    pairs.extend(s.labels.iter().map(|(n, v)| (*n, v.as_ref())));
    let kept = sort_dedup(&mut pairs);
    pairs.truncate(kept);
    Labels::from_sorted_refs(&pairs)
}

/// Sorts `pairs` by name (stably, so of equal names the last written stays
/// last), keeps the last of each run of equal names, drops empty values,
/// and returns how many pairs remain at the front.
fn sort_dedup(pairs: &mut [(&str, &str)]) -> usize {
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let mut kept = 0;
    for k in 0..pairs.len() {
        let Some(&(name, value)) = pairs.get(k) else {
            break;
        };
        // A later pair with the same name overrides this one.
        if pairs.get(k + 1).is_some_and(|next| next.0 == name) || value.is_empty() {
            continue;
        }
        if let Some(slot) = pairs.get_mut(kept) {
            *slot = (name, value);
        }
        kept += 1;
    }
    kept
}

/// Convenience: parse the whole body and build sorted `Labels` per sample
/// (slower path for tests and import).
///
/// ```
/// use promlite_exposition::{parse_all, Format};
///
/// let body = b"# TYPE up gauge\nup{job=\"a\"} 1 1000\n# EOF\n";
/// let samples = parse_all(body, Format::OpenMetrics).unwrap();
/// assert_eq!(samples[0].0.to_string(), "up{job=\"a\"}");
/// assert_eq!((samples[0].1, samples[0].2), (1.0, Some(1_000_000)));
/// ```
pub fn parse_all(
    body: &[u8],
    format: Format,
) -> Result<Vec<(Labels, f64, Option<i64>)>, ParseError> {
    let mut p = Parser::new(body, format);
    let mut s = SampleEntry::default();
    let mut out = Vec::new();
    while let Some(r) = p.next_into(&mut s) {
        if let Parsed::Sample = r? {
            out.push((sample_labels(&s), s.value, s.timestamp_ms));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use promlite_model::LabelsBuilder;

    use super::*;

    fn via_builder(s: &SampleEntry<'_>) -> Labels {
        let mut b = LabelsBuilder::new();
        b.set(METRIC_NAME, s.name);
        for (n, v) in &s.labels {
            b.set(*n, v.as_ref());
        }
        b.build()
    }

    #[test]
    fn sample_labels_match_the_builder() {
        let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("m", vec![]),
            ("m", vec![("b", "2"), ("a", "1"), ("c", "3")]),
            ("m", vec![("a", ""), ("b", "x")]),
            ("m", vec![("a", "1"), ("a", "2")]),
            ("m", vec![("a", "1"), ("a", "")]),
            ("m", vec![("a", ""), ("a", "1")]),
            ("", vec![("z", "1"), ("__a", "2")]),
            ("up", vec![("__name__", "other")]),
            ("m", vec![("x", "1"); 15]),
            ("m", vec![("x", "1"); 16]),
            ("m", vec![("x", "1"); 40]),
            ("m", vec![("b", "1"), ("a", ""), ("b", "2"), ("b", "")]),
        ];
        let many: Vec<String> = (0..40).rev().map(|k| format!("l{k:02}")).collect();
        let mut cases = cases;
        for n in [14, 15, 16, 17, 40] {
            cases.push((
                "m",
                many.iter().take(n).map(|l| (l.as_str(), "v")).collect(),
            ));
        }
        for (name, labels) in cases {
            let s = SampleEntry {
                name,
                labels: labels.iter().map(|&(n, v)| (n, Cow::Borrowed(v))).collect(),
                ..Default::default()
            };
            assert_eq!(sample_labels(&s), via_builder(&s), "{name} {labels:?}");
        }
    }
}
