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
        line: 0,
        mtype: MetricType::Unknown,
        saw_eof: false,
        done: false,
    }
}

struct Import<R> {
    reader: R,
    buf: Vec<u8>,
    line: usize,
    mtype: MetricType,
    saw_eof: bool,
    done: bool,
}

impl<R: BufRead> Import<R> {
    fn stop(
        &mut self,
        line: usize,
        message: impl Into<String>,
    ) -> Option<Result<(Labels, i64, f64), ImportError>> {
        self.done = true;
        Some(Err(ImportError {
            line,
            message: message.into(),
        }))
    }
}

impl<R: BufRead> Iterator for Import<R> {
    type Item = Result<(Labels, i64, f64), ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Err(e) => return self.stop(self.line + 1, format!("read error: {e}")),
                Ok(0) if self.saw_eof => {
                    self.done = true;
                    return None;
                }
                Ok(0) => return self.stop(self.line + 1, "data does not end with # EOF"),
                Ok(_) => {}
            }
            self.line += 1;
            if self.saw_eof {
                return self.stop(self.line, "unexpected data after # EOF");
            }
            let mut p = Parser::new(&self.buf, Format::OpenMetrics);
            p.fragment = true;
            p.mtype = self.mtype;
            p.line_base = self.line - 1;
            let mut s = SampleEntry::default();
            let mut row = None;
            while let Some(r) = p.next_into(&mut s) {
                match r {
                    Err(e) => {
                        let (line, msg) = (e.line, format!("column {}: {}", e.column, e.message));
                        return self.stop(line, msg);
                    }
                    Ok(Parsed::Sample) => match s.timestamp_ms {
                        Some(t) => row = Some((sample_labels(&s), t, s.value)),
                        None => {
                            let msg = format!(
                                "expected timestamp for series {}, got none",
                                sample_labels(&s)
                            );
                            return self.stop(self.line, msg);
                        }
                    },
                    Ok(Parsed::Other(_)) => {}
                }
            }
            self.mtype = p.mtype;
            self.saw_eof = p.saw_eof;
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
