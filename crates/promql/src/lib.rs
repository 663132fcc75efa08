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
//! * [`promqltest`] runs Prometheus's PromQL test scripts against the engine.
//!
//! # Example
//!
//! ```
//! use promlite_model::{labels, MemStorage};
//! use promlite_promql::{Engine, QueryOptions, Value};
//!
//! let storage = MemStorage::new();
//! let samples: Vec<(i64, f64)> = (0..10).map(|i| (i * 15_000, i as f64 * 30.0)).collect();
//! storage.insert(labels!("__name__" => "requests_total", "job" => "api"), &samples);
//!
//! let engine = Engine::default();
//! let res = engine
//!     .instant_query(&storage, "sum by (job) (rate(requests_total[1m]))", 135_000, &QueryOptions::default())
//!     .unwrap();
//! match res.value {
//!     Value::Vector(v) => {
//!         assert_eq!(v.len(), 1);
//!         assert_eq!(v[0].metric.get("job"), Some("api"));
//!         assert!((v[0].f - 2.0).abs() < 1e-9);
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
#![deny(missing_docs)]

pub mod ast;
mod ast_drop;
mod ast_string;
pub mod duration_expr;
pub mod engine;
pub mod error;
mod eval;
mod float_format;
pub mod functions;
pub mod metrics;
pub mod parser;
pub mod printer;
pub mod promqltest;
pub mod value;

pub use engine::{Engine, EngineOptions, QueryOptions, QueryResult};
pub use error::{ParseError, QueryError};
pub use metrics::{EngineMetrics, EngineMetricsSnapshot};
pub use value::Value;
