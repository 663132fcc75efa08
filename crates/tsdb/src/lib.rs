//! promlite's storage engine: a write-ahead log, an in-memory head of
//! compressed chunks, and persistent, compacted blocks — the design of
//! Prometheus's `tsdb` package.
//!
//! # Main types
//!
//! * [`Db`] — opens a data directory ([`DbOptions`]), replays the WAL,
//!   hands out appenders and queriers; implements
//!   [`promlite_model::Appendable`] and [`promlite_model::Queryable`].
//! * [`head::Head`] — the in-memory series and their XOR chunks
//!   ([`chunk`]); [`head::HeadAppender`] commits through the WAL before a
//!   batch becomes visible.
//! * [`wal`] — segmented, CRC-checked log with repair and checkpoints;
//!   [`record`] — the record payloads. Byte layout: `docs/format/wal.md`.
//! * [`querier`] — merging series lists and sample iterators (blocks and
//!   head seen as one; the head wins on equal timestamps).
//! * [`block`], [`index`], [`codec`] — the on-disk block format;
//!   [`compact`], [`retention`], [`quarantine`] — what [`Db::tick`] does
//!   with blocks.
//!
//! # Lifecycle
//!
//! Samples land in the head (after the WAL). [`Db::tick`] (every minute
//! from the background thread, or called directly) cuts the oldest block
//! range into a block once the head spans 1.5 block ranges, truncates the
//! head, checkpoints the WAL, compacts blocks and applies retention.
//!
//! # Durability
//!
//! `commit` returns after the batch's records were written to the WAL file
//! (so they survive a crash of the process). With [`FsyncPolicy::Always`]
//! it also fsyncs first (they survive power loss); with
//! [`FsyncPolicy::Interval`] a background group commit fsyncs every interval
//! and a machine crash can lose at most that interval.
//!
//! # Example
//!
//! ```
//! use promlite_model::{labels, Appendable, Matcher, Queryable, ValueType};
//! use promlite_tsdb::{Db, DbOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let db = Db::open(dir.path(), DbOptions { background: false, ..Default::default() }).unwrap();
//! let mut app = db.appender();
//! app.append(None, &labels!("__name__" => "up", "job" => "demo"), 1_000, 1.0).unwrap();
//! app.commit().unwrap();
//!
//! {
//!     let q = db.querier(0, 2_000).unwrap();
//!     let series = q.select(&Default::default(), &[Matcher::equal("job", "demo")]).unwrap();
//!     let mut it = series[0].iter();
//!     assert_eq!(it.next(), ValueType::Float);
//!     assert_eq!(it.at(), (1_000, 1.0));
//! }
//! db.close().unwrap();
//! ```

pub mod block;
pub mod chunk;
pub mod codec;
pub mod compact;
mod db;
mod error;
pub mod head;
pub mod index;
pub mod metrics;
mod options;
pub mod quarantine;
pub mod querier;
pub mod record;
pub mod retention;
pub mod tombstones;
pub mod wal;

pub use db::{snapshot_name, Db, DeleteReport, TickReport, SNAPSHOTS_DIR};
pub use head::{HeadStats, NameCount};
pub use metrics::TsdbMetrics;
pub use options::{DbOptions, FsyncPolicy, DEFAULT_BLOCK_RANGE_MS};
