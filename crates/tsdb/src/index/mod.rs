//! The block index: which series a block holds, where their chunks are, and
//! which series carry each label pair.
//!
//! Sections, in file order (byte layout in `docs/format/index.md`): header,
//! symbol table, series entries, series offset table, postings lists,
//! postings offset table, table of contents. Every section — and every
//! single series entry and postings list — carries a CRC32 that
//! [`IndexReader::open`] verifies before anything is served.
//!
//! Series ids are positions in label order, so postings lists (sorted ids)
//! come out label-sorted for free.

mod entry;
mod label_cache;
mod reader;
#[cfg(test)]
mod tests;
mod union;
mod writer;

pub use reader::{
    intersect_postings, merge_postings, subtract_postings, IndexReader, LabelRefs, LABEL_REFS,
};
pub use writer::write_index;

/// Magic number at the start of the index file.
pub const INDEX_MAGIC: u32 = 0x504C_4958; // "PLIX"
/// Format version.
pub const INDEX_VERSION: u8 = 1;
/// Size of the table of contents at the end of the file.
pub const TOC_LEN: usize = 5 * 8 + 4;

/// Where one chunk of a series is and what time it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Timestamp of the first sample (ms).
    pub min_time: i64,
    /// Timestamp of the last sample (ms, inclusive).
    pub max_time: i64,
    /// Reference into the chunk segments ([`crate::block::chunks::ChunkRef`]).
    pub chunk_ref: u64,
}
