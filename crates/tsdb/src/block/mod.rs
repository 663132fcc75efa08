//! Persistent blocks: immutable directories holding the samples of a time
//! range, as Prometheus's TSDB blocks.
//!
//! ```text
//! <data_dir>/<id>/meta.json      identity, range, stats, lineage (meta.md)
//! <data_dir>/<id>/index          symbols, series, postings, TOC   (index.md)
//! <data_dir>/<id>/chunks/000001  compressed chunk segments        (chunks.md)
//! ```
//!
//! [`write_block`] creates one from label-sorted series; [`Block::open`]
//! memory-maps and verifies it; [`Block::querier`] reads it through the
//! [`promlite_model::Querier`] trait.

pub mod chunks;
mod meta;
mod querier;
mod reader;
mod writer;

pub use meta::{new_block_id, BlockMeta, BlockStats, CompactionMeta, BLOCK_VERSION, META_FILE};
pub(crate) use meta::sync_dir;
pub use querier::{postings_for_matchers, BlockIterator, BlockQuerier, BlockSeries};
pub use reader::Block;
pub use writer::{write_block, write_block_with, MAX_CHUNK_SAMPLES, TMP_SUFFIX};
