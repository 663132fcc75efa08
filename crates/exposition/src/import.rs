//! Streaming reader for OpenMetrics backfill files (`promlite import
//! openmetrics FILE`), the input `promtool tsdb create-blocks-from
//! openmetrics` reads: OpenMetrics text where every sample has a timestamp,
//! ending with `# EOF`.

use std::io::BufRead;

use promlite_model::{Labels, MetricType};

use crate::entry::SampleEntry;
use crate::format::Format;
use crate::parser::{sample_labels, Parsed, Parser};

/// Why an import stopped, with the 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ImportError {
    /// 1-based line number (0 if the problem is not tied to a line).
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// Reads an OpenMetrics file line by line (memory stays bounded by the
/// longest line) and yields `(labels, t_ms, value)` for each sample. Metadata
/// lines are checked and skipped. A sample without a timestamp, a syntax
/// error, an I/O error, a missing `# EOF` or data after it ends the stream
/// with one `Err`.
///
/// ```
/// use promlite_exposition::openmetrics_import;
///
/// let file = "# TYPE up gauge\nup{job=\"a\"} 1 1700000000\nup{job=\"a\"} 0 1700000015.5\n# EOF\n";
/// let rows: Vec<_> = openmetrics_import(file.as_bytes()).collect::<Result<_, _>>().unwrap();
/// assert_eq!(rows.len(), 2);
/// assert_eq!((rows[1].1, rows[1].2), (1_700_000_015_500, 0.0));
/// ```
pub fn openmetrics_import(
    reader: impl BufRead,
) -> impl Iterator<Item = Result<(Labels, i64, f64), ImportError>> {
    Import {
        reader,
        buf: Vec::new(),
        state: LineState::default(),
        done: false,
    }
}

/// Reads an OpenMetrics backfill file like [`openmetrics_import`], but hands
/// each sample to `f` as the parser's borrowed [`SampleEntry`] (labels in
/// written order, not yet sorted or allocated) with its timestamp in ms.
/// This is the fast path for bulk import: a caller that recognises a series
/// it has seen before never builds its `Labels`. Stops at the first error.
///
/// ```
/// use promlite_exposition::for_each_import_row;
///
/// let file = "up{job=\"a\"} 1 1700000000\nup{job=\"a\"} 0 1700000015.5\n# EOF\n";
/// let mut rows = Vec::new();
/// for_each_import_row(file.as_bytes(), |s, t| rows.push((s.name.to_string(), t, s.value))).unwrap();
/// assert_eq!(rows[1], ("up".to_string(), 1_700_000_015_500, 0.0));
/// ```
pub fn for_each_import_row(
    mut reader: impl BufRead,
    mut f: impl FnMut(&SampleEntry<'_>, i64),
) -> Result<(), ImportError> {
    let mut buf = Vec::with_capacity(256);
    let mut state = LineState::default();
    loop {
        buf.clear();
        if !state.read_line(&mut reader, &mut buf)? {
            return Ok(());
        }
        state.parse_line(&buf, &mut f)?;
    }
}

/// Line-to-line state of the import reader.
#[derive(Default)]
struct LineState {
    line: usize,
    mtype: MetricType,
    saw_eof: bool,
}

impl LineState {
    /// Reads the next line into `buf`; `Ok(false)` at a clean end of file.
    fn read_line(
        &mut self,
        reader: &mut impl BufRead,
        buf: &mut Vec<u8>,
    ) -> Result<bool, ImportError> {
        let n = reader.read_until(b'\n', buf).map_err(|e| ImportError {
            line: self.line + 1,
            message: format!("read error: {e}"),
        })?;
        if n == 0 {
            return if self.saw_eof {
                Ok(false)
            } else {
                Err(ImportError {
                    line: self.line + 1,
                    message: "data does not end with # EOF".into(),
                })
            };
        }
        self.line += 1;
        if self.saw_eof {
            return Err(ImportError {
                line: self.line,
                message: "unexpected data after # EOF".into(),
            });
        }
        Ok(true)
    }

    /// Parses one line, calling `f` for its sample (if it is one).
    fn parse_line(
        &mut self,
        buf: &[u8],
        f: &mut impl FnMut(&SampleEntry<'_>, i64),
    ) -> Result<(), ImportError> {
        let mut p = Parser::new(buf, Format::OpenMetrics);
        p.fragment = true;
        p.mtype = self.mtype;
        p.line_base = self.line - 1;
        let mut s = SampleEntry::default();
        while let Some(r) = p.next_into(&mut s) {
            match r {
                Err(e) => {
                    return Err(ImportError {
                        line: e.line,
                        message: format!("column {}: {}", e.column, e.message),
                    })
                }
                Ok(Parsed::Sample) => match s.timestamp_ms {
                    Some(t) => f(&s, t),
                    None => {
                        return Err(ImportError {
                            line: self.line,
                            message: format!(
                                "expected timestamp for series {}, got none",
                                sample_labels(&s)
                            ),
                        })
                    }
                },
                Ok(Parsed::Other(_)) => {}
            }
        }
        self.mtype = p.mtype;
        self.saw_eof = p.saw_eof;
        Ok(())
    }
}

struct Import<R> {
    reader: R,
    buf: Vec<u8>,
    state: LineState,
    done: bool,
}

impl<R: BufRead> Iterator for Import<R> {
    type Item = Result<(Labels, i64, f64), ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            let mut row = None;
            let step = match self.state.read_line(&mut self.reader, &mut self.buf) {
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Ok(true) => self.state.parse_line(&self.buf, &mut |s, t| {
                    row = Some((sample_labels(s), t, s.value));
                }),
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                self.done = true;
                return Some(Err(e));
            }
            if let Some(row) = row {
                return Some(Ok(row));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Vec<Result<(Labels, i64, f64), ImportError>> {
        openmetrics_import(s.as_bytes()).collect()
    }

    #[test]
    fn reads_rows_with_labels_and_normalised_buckets() {
        let rows = run("# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 3 10\nh_bucket{le=\"+Inf\"} 4 10.001\nh_count 4 10\n# EOF");
        let rows: Vec<_> = rows.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].0.to_string(), "h_bucket{le=\"1.0\"}");
        assert_eq!((rows[0].1, rows[0].2), (10_000, 3.0));
        assert_eq!(rows[1].1, 10_001);
        assert_eq!(rows[2].0.to_string(), "h_count");
    }

    #[test]
    fn errors_carry_line_numbers() {
        let r = run("a 1 1\nb 2\n# EOF\n");
        assert!(r[0].is_ok());
        let e = r[1].clone().unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("expected timestamp"), "{e}");
        assert_eq!(r.len(), 2);

        let e = run("a 1 1\na{x=\"y\" 2 3\n# EOF\n")
            .pop()
            .unwrap()
            .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.to_string()
                .starts_with("line 2: column 8: expected ',' or '}'"),
            "{e}"
        );

        let e = run("a 1 1\n").pop().unwrap().unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "data does not end with # EOF")
        );

        let e = run("a 1 1\n# EOF\nb 1 1\n").pop().unwrap().unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "unexpected data after # EOF")
        );
    }

    #[test]
    fn empty_file_with_eof_is_fine() {
        assert!(run("# EOF\n").is_empty());
        assert!(run("# EOF").is_empty());
    }
}
