//! The PromQL parser (nom). Being built: see issue 3.

use crate::ast::Expr;
use crate::error::ParseError;

/// Parses a PromQL expression.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    Err(ParseError::at(input, 0, 0, "parser not implemented yet"))
}
