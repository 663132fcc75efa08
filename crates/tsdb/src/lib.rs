//! promlite-tsdb (being built).
pub mod chunk;
