//! Errors of parsing and evaluation.

use promlite_model::StorageError;

/// A PromQL text did not parse or type-check.
///
/// Displays like Prometheus: `1:14: parse error: unexpected "}"`… where the
/// prefix is the 1-based line and column of `start`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{line}:{column}: parse error: {message}")]
pub struct ParseError {
    /// Byte offset where the problem starts.
    pub start: usize,
    /// Byte offset where it ends (exclusive; `== start` for a point).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 1-based column (in characters) of `start`.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// An error at byte range `start..end` of `input`, computing line and column.
    pub fn at(input: &str, start: usize, end: usize, message: impl Into<String>) -> ParseError {
        let start = start.min(input.len());
        let mut line = 1;
        let mut line_start = 0;
        for (i, c) in input.char_indices() {
            if i >= start {
                break;
            }
            if c == '\n' {
                line += 1;
                line_start = i + 1;
            }
        }
        let column = input
            .get(line_start..start)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        ParseError {
            start,
            end: end.max(start),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Why a query failed. The HTTP API maps each kind to Prometheus's
/// `errorType` and status code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The query text is invalid (`bad_data`, 400).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A parameter is invalid, e.g. too many steps (`bad_data`, 400).
    #[error("{0}")]
    BadData(String),
    /// The query ran past its deadline (`timeout`, 503).
    #[error("query timed out in {0}")]
    Timeout(String),
    /// The query was canceled (`canceled`, 503).
    #[error("query was canceled in {0}")]
    Canceled(String),
    /// The query loaded more samples than allowed (`execution`, 422).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(String),
    /// A runtime error such as many-to-many matching (`execution`, 422).
    #[error("{0}")]
    Execution(String),
    /// Storage failed (`internal`/`execution`).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_line_and_column() {
        let e = ParseError::at("foo{\n  a=}", 9, 10, "unexpected \"}\"");
        assert_eq!((e.line, e.column), (2, 5));
        assert_eq!(e.to_string(), "2:5: parse error: unexpected \"}\"");
    }
}
