//! promlite-tsdb (being built).
pub mod chunk;
pub mod record;
pub mod wal;
