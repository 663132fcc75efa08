//! Compaction: planning which blocks to merge ([`plan`]) and merging them
//! ([`compact`]), as Prometheus's leveled compactor does. Merging many
//! small blocks into larger ones lets the codec use longer chunks and
//! shares one index across a longer time range.

mod merge;
mod plan;

pub use merge::{compact, rewrite};
pub use plan::plan;
