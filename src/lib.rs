//! promlite: an embeddable, Prometheus-compatible time-series database.
//!
//! This crate is the facade over the workspace's crates. See `README.md`.

pub use promlite_model as model;
pub use promlite_promql as promql;
