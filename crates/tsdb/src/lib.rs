//! promlite-tsdb (being built).
pub mod chunk;
pub mod head;
pub mod record;
pub mod wal;
