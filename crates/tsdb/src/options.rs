//! Configuration of a [`crate::Db`].

use std::sync::Arc;
use std::time::Duration;

use promlite_model::{Clock, SystemClock};

use crate::wal::DEFAULT_SEGMENT_SIZE;

/// Two hours in milliseconds: Prometheus's default block range.
pub const DEFAULT_BLOCK_RANGE_MS: i64 = 2 * 3600 * 1000;

/// When the WAL is fsynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Every commit's records are written to the operating system before the
    /// commit returns (they survive a crash of the process), and a background
    /// group commit fsyncs the WAL at this interval (a machine crash or power
    /// loss may lose at most the last interval of commits).
    Interval(Duration),
    /// Every commit returns only after an fsync covering it (nothing
    /// acknowledged is lost even on power loss). Concurrent commits share
    /// one fsync (group commit).
    Always,
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        FsyncPolicy::Interval(Duration::from_secs(1))
    }
}

/// Options for [`crate::Db::open`].
#[derive(Clone)]
pub struct DbOptions {
    /// WAL fsync policy (default: every second, group commit).
    pub fsync: FsyncPolicy,
    /// Size at which a WAL segment is closed and the next one started.
    pub wal_segment_size: u64,
    /// Block range in ms (default 2 h). The head is cut into a block when it
    /// spans 1.5 times this.
    pub block_range_ms: i64,
    /// Delete blocks older than this (ms); `None` keeps them (by time).
    pub retention_ms: Option<i64>,
    /// Delete oldest blocks while the total exceeds this many bytes.
    pub retention_bytes: Option<u64>,
    /// Maximum number of series in the head (0 = unlimited). Appends that
    /// would create more fail with `AppendError::SeriesLimit`.
    pub max_head_series: usize,
    /// Where "now" comes from (retention).
    pub clock: Arc<dyn Clock>,
    /// Run a background thread for WAL group commit and periodic
    /// [`crate::Db::tick`] (every minute by `clock`). Tests turn it off and
    /// call `tick` themselves; without it, `Interval` fsyncs happen only at
    /// segment rolls, [`crate::Db::sync_wal`] and close.
    pub background: bool,
    /// Move full head chunks out of memory into spill segments under
    /// `<dir>/spill/` at each [`crate::Db::tick`] (default on). The segments
    /// are a cache rebuilt from the WAL; off keeps every head chunk on the heap.
    pub spill_head_chunks: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            fsync: FsyncPolicy::default(),
            wal_segment_size: DEFAULT_SEGMENT_SIZE,
            block_range_ms: DEFAULT_BLOCK_RANGE_MS,
            retention_ms: Some(15 * 24 * 3600 * 1000),
            retention_bytes: None,
            max_head_series: 0,
            clock: Arc::new(SystemClock),
            background: true,
            spill_head_chunks: true,
        }
    }
}

impl std::fmt::Debug for DbOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbOptions")
            .field("fsync", &self.fsync)
            .field("wal_segment_size", &self.wal_segment_size)
            .field("block_range_ms", &self.block_range_ms)
            .field("retention_ms", &self.retention_ms)
            .field("retention_bytes", &self.retention_bytes)
            .field("max_head_series", &self.max_head_series)
            .field("background", &self.background)
            .field("spill_head_chunks", &self.spill_head_chunks)
            .finish_non_exhaustive()
    }
}
