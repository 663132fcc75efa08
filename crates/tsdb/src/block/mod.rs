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
//!
//! ```
//! use promlite_model::{labels, Matcher, Querier, SelectHints, ValueType};
//! use promlite_tsdb::block::{write_block, Block};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let series = vec![
//!     (labels!("__name__" => "up", "job" => "a"), vec![(1_000, 1.0), (16_000, 1.0)]),
//!     (labels!("__name__" => "up", "job" => "b"), vec![(1_000, 0.0)]),
//! ];
//! let meta = write_block(dir.path(), 0, 7_200_000, &mut series.into_iter()).unwrap().unwrap();
//! assert_eq!(meta.stats.num_samples, 3);
//!
//! let block = Block::open(&dir.path().join(&meta.id)).unwrap();
//! let q = block.querier(0, 10_000);
//! let found = q.select(&SelectHints::default(), &[Matcher::equal("job", "a")]).unwrap();
//! assert_eq!(found.len(), 1);
//! let mut it = found[0].iter();
//! assert_eq!(it.next(), ValueType::Float);
//! assert_eq!(it.at(), (1_000, 1.0));
//! assert_eq!(it.next(), ValueType::None); // 16_000 is outside [0, 10_000]
//! ```

pub mod chunks;
mod meta;
mod querier;
mod reader;
mod writer;

pub use chunks::TimestampCache;
pub use meta::{new_block_id, BlockMeta, BlockStats, CompactionMeta, BLOCK_VERSION, META_FILE};
pub(crate) use meta::{sync_dir, write_file_synced};
pub use querier::{postings_for_matchers, BlockIterator, BlockQuerier, BlockSeries};
pub use reader::Block;
pub use writer::{
    chunk_samples_for_level, write_block, write_block_with, LEVEL1_CHUNK_SAMPLES,
    MAX_CHUNK_SAMPLES, TMP_SUFFIX,
};
