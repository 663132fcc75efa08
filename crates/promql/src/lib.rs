//! PromQL for promlite: a parser, a pretty-printer and an evaluator with
//! Prometheus 3.x semantics, over the storage traits of `promlite-model`.
//!
//! # Brief overview
//!
//! * [`parser::parse`] turns text into an [`ast::Expr`], type-checked, or a
//!   [`ParseError`] with a line and column.
//! * [`Engine`] evaluates instant and range queries against any
//!   [`promlite_model::Queryable`] and returns a [`value::Value`].
//! * [`functions`] is the signature table of the function library.
#![deny(missing_docs)]

pub mod ast;
pub mod engine;
pub mod error;
pub mod functions;
pub mod parser;
pub mod printer;
pub mod value;

pub use engine::{Engine, EngineOptions, QueryOptions, QueryResult};
pub use error::{ParseError, QueryError};
pub use value::Value;
