//! What the parser yields: entries, samples, exemplars and errors.

use std::borrow::Cow;
use std::fmt;

use promlite_model::MetricType;

/// A label pair as written in the body: the name borrowed, the value
/// unescaped (borrowed unless it contained an escape sequence).
pub type LabelPair<'a> = (&'a str, Cow<'a, str>);

/// One line (or logical entry) of an exposition body.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// `# TYPE name type`.
    Type {
        /// The metric family name.
        name: &'a str,
        /// The declared type.
        metric_type: MetricType,
    },
    /// `# HELP name text`, text unescaped.
    Help {
        /// The metric family name.
        name: &'a str,
        /// The help text with `\\`, `\n` (and in OpenMetrics `\"`) unescaped.
        help: Cow<'a, str>,
    },
    /// `# UNIT name unit` (OpenMetrics only).
    Unit {
        /// The metric family name.
        name: &'a str,
        /// The unit, a suffix of the family name (or empty).
        unit: &'a str,
    },
    /// A sample line.
    Sample(SampleEntry<'a>),
    /// Any other comment line (text format only; OpenMetrics has none).
    Comment,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SampleEntry<'a> {
    /// The metric name.
    pub name: &'a str,
    /// The labels in the order written (unsorted), values unescaped. For a
    /// family last declared `histogram` (`le`) or `summary` (`quantile`) the
    /// bound is normalised like Prometheus 3.x does (`le="1"` → `1.0`).
    pub labels: Vec<LabelPair<'a>>,
    /// The value; any NaN is Prometheus's normal NaN (never the stale marker).
    pub value: f64,
    /// Milliseconds: an integer in the text format; float seconds × 1000,
    /// truncated, in OpenMetrics.
    pub timestamp_ms: Option<i64>,
    /// The exemplar after `# ` (OpenMetrics only).
    pub exemplar: Option<Exemplar<'a>>,
    /// Created timestamp; not filled yet (`_created` lines are reported as
    /// ordinary samples, as Prometheus does without `created_timestamps`).
    pub created_ms: Option<i64>,
}

/// An OpenMetrics exemplar: `# {trace_id="abc"} 1.0 1520879607.789`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exemplar<'a> {
    /// The exemplar's labels as written, values unescaped.
    pub labels: Vec<LabelPair<'a>>,
    /// The exemplar value.
    pub value: f64,
    /// Float seconds × 1000, truncated, if given.
    pub timestamp_ms: Option<i64>,
}

/// A parse failure, with the 1-based line and column (in characters) where it
/// was detected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl ParseError {
    /// Builds an error at byte offset `off` of `body`, computing the line and
    /// the character column (only done on the error path).
    pub(crate) fn at(body: &[u8], off: usize, line_base: usize, message: String) -> ParseError {
        let off = off.min(body.len());
        let before = body.get(..off).unwrap_or(&[]);
        let line = line_base + before.iter().filter(|&&c| c == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        let prefix = before.get(line_start..).unwrap_or(&[]);
        let column = String::from_utf8_lossy(prefix).chars().count() + 1;
        ParseError {
            line,
            column,
            message,
        }
    }
}

/// Describes the byte at `i` for "got ..." in messages.
pub(crate) fn describe(body: &[u8], i: usize) -> String {
    match body.get(i) {
        None => "end of input".to_string(),
        Some(b'\n') => "end of line".to_string(),
        Some(b'\r') => "carriage return (lines must end with \\n alone)".to_string(),
        Some(b'\t') => "tab".to_string(),
        Some(b' ') => "space".to_string(),
        Some(&c) if c.is_ascii_graphic() => format!("'{}'", c as char),
        Some(&c) => format!("byte 0x{c:02x}"),
    }
}
