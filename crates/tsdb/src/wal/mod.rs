//! The write-ahead log: every committed batch is written here before it
//! becomes visible, and replayed into the head at startup.
//!
//! * [`Wal`] / [`WalWriter`] — append framed records to numbered segment
//!   files (`wal/00000001`, …), rolling to a new segment at the size limit.
//! * [`replay`] — reads the newest checkpoint and the later segments back,
//!   cutting off torn or corrupt tails (moved to `wal/damaged/`, counted,
//!   logged) instead of refusing to start.
//! * [`checkpoint`] — rewrites the WAL prefix into `wal/checkpoint.NNNNNNNN`
//!   after the head was truncated, keeping only what the head still holds.
//!
//! Byte layout: `docs/format/wal.md`; record payloads: [`crate::record`].

mod checkpoint;
mod fsync_fault;
mod replay;
mod segment;
mod writer;

pub use checkpoint::{checkpoint, latest_checkpoint, remove_tmp_checkpoints, CheckpointStats};
pub use replay::{replay, ReplayReport};
pub use segment::{
    frame, list_segments, read_segment, segment_name, segment_path, Damage, HEADER_LEN,
};
pub use writer::{Wal, WalWriter};

/// Default segment size: 128 MiB, as Prometheus.
pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;
