//! [`Db`]: the storage engine as one object — WAL, head, blocks, background work.

mod admin;
mod background;
mod blocks;
mod maintenance;
mod metrics;
mod querier;
mod replay;
mod snapshot;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use promlite_model::{Appendable, Appender, Querier, Queryable, StorageError};

pub use self::admin::DeleteReport;
use self::background::{spawn_background, Background};
use self::blocks::BlockSet;
use self::querier::DbQuerier;
use self::replay::replay_into;
pub use self::snapshot::{snapshot_name, SNAPSHOTS_DIR};
use crate::chunk::SpillDir;
use crate::error::at;
use crate::head::{Head, HeadAppender, HeadStats};
use crate::metrics::DbCounters;
use crate::options::{DbOptions, FsyncPolicy};
use crate::wal::{self, ReplayReport, Wal};

/// An open database directory. Cheap to share behind an `Arc`; all methods
/// take `&self`. Closing (explicitly or on drop) stops background work and
/// fsyncs the WAL.
pub struct Db {
    shared: Arc<Shared>,
    background: Mutex<Option<Background>>,
}

struct Shared {
    dir: PathBuf,
    opts: DbOptions,
    head: Arc<Head>,
    wal: Arc<Wal>,
    blocks: BlockSet,
    closed: Arc<AtomicBool>,
    replay: ReplayReport,
    /// WAL references that replay mapped onto another series with the same
    /// labels; checkpoints keep them while the target lives.
    aliases: HashMap<u64, u64>,
    /// Serialises tick/truncation.
    maintenance: Mutex<()>,
    /// Readers take the read side to see the block set and the head at the
    /// same moment; a head cut (add block + truncate head) takes the write
    /// side, so no query misses or doubles the data being moved.
    cut_lock: RwLock<()>,
    /// Maintenance and WAL event counters (`/metrics`).
    counters: Arc<DbCounters>,
    /// Where full head chunks go to leave the heap (`None`: disabled, or
    /// the directory could not be made).
    spill: Mutex<Option<SpillDir>>,
    _lock: LockFile,
}

/// The directory of head spill segments, under the data directory.
pub const SPILL_DIR: &str = "spill";

/// What one [`Db::tick`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// The head spans more than 1.5 block ranges and should be cut.
    pub head_compactable: bool,
    /// Blocks written from the head.
    pub blocks_written: usize,
    /// Series removed from the head by truncation.
    pub series_removed: usize,
    /// Blocks merged by compaction (sources).
    pub blocks_compacted: usize,
    /// Blocks deleted by retention.
    pub blocks_deleted: usize,
}

/// An exclusive `flock` on `<dir>/lock`, released when dropped or when the
/// process dies (so a crash never leaves a stale lock).
struct LockFile {
    _file: File,
}

impl LockFile {
    fn acquire(dir: &Path) -> Result<LockFile, StorageError> {
        use std::os::unix::io::AsRawFd;
        let path = dir.join("lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(at(&path))?;
        // SAFETY: flock on a valid, owned file descriptor; no memory involved.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            return Err(StorageError::Other(format!(
                "data directory {} is in use by another process (cannot lock {}: {e})",
                dir.display(),
                path.display()
            )));
        }
        Ok(LockFile { _file: f })
    }
}

/// The spill directory, emptied of what an earlier process left. A failure
/// only costs memory (chunks stay on the heap), so it is logged, not fatal.
fn open_spill(dir: &Path, enabled: bool) -> Option<SpillDir> {
    if !enabled {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(target: "promlite_tsdb", "cannot remove old spill directory {}: {e}", dir.display());
            }
        }
        return None;
    }
    match SpillDir::open(dir) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(target: "promlite_tsdb", "cannot prepare spill directory {}: {e}; head chunks stay in memory", dir.display());
            None
        }
    }
}

impl Db {
    /// Opens (creating if needed) the database in `dir`: takes the lock
    /// (a second open of the same directory fails), opens the blocks
    /// (damaged ones are moved to `quarantine/`, half-written ones removed),
    /// replays the WAL into the head (repairing a damaged tail, see
    /// [`wal::replay`]) and starts the background thread if configured.
    pub fn open(dir: impl AsRef<Path>, opts: DbOptions) -> Result<Db, StorageError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(at(&dir))?;
        let lock = LockFile::acquire(&dir)?;
        let wal_dir = dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(at(&wal_dir))?;
        wal::remove_tmp_checkpoints(&wal_dir).map_err(at(&wal_dir))?;

        let blocks = BlockSet::open(&dir)?;
        let head = Arc::new(Head::new(opts.block_range_ms, opts.max_head_series));
        if let Some(t) = blocks.max_time() {
            // Data before the newest block's end is in blocks; the WAL may
            // still hold it if we crashed before the checkpoint.
            head.raise_floor(t);
        }
        let mut aliases = HashMap::new();
        let replay = replay_into(&wal_dir, &head, &mut aliases)?;
        if head.floor() > i64::MIN {
            // Series whose WAL samples all went into blocks: drop them.
            head.truncate(head.floor());
        }
        if replay.corruptions > 0 {
            tracing::warn!(target: "promlite_tsdb", corruptions = replay.corruptions, "WAL was damaged; replayed what was intact");
        }
        let spill = open_spill(&dir.join(SPILL_DIR), opts.spill_head_chunks);
        let counters = Arc::new(DbCounters::default());
        counters
            .wal_corruptions
            .store(replay.corruptions, Ordering::Relaxed);
        let wal = Arc::new(Wal::open_counted(
            &wal_dir,
            opts.wal_segment_size,
            counters.clone(),
        )?);
        let shared = Arc::new(Shared {
            dir,
            opts,
            head,
            wal,
            blocks,
            closed: Arc::new(AtomicBool::new(false)),
            replay,
            aliases,
            maintenance: Mutex::new(()),
            cut_lock: RwLock::new(()),
            counters,
            spill: Mutex::new(spill),
            _lock: lock,
        });
        let background = shared
            .opts
            .background
            .then(|| spawn_background(shared.clone()));
        Ok(Db {
            shared,
            background: Mutex::new(background),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The head (for statistics and tests).
    pub fn head(&self) -> &Head {
        &self.shared.head
    }

    /// What the WAL replay at open found (records, repaired damage).
    pub fn replay_report(&self) -> &ReplayReport {
        &self.shared.replay
    }

    /// Head statistics with top-10 lists, for `/api/v1/status/tsdb`.
    pub fn head_stats(&self) -> HeadStats {
        self.shared.head.stats(10)
    }

    /// A new batch of samples (see [`HeadAppender`]).
    pub fn appender(&self) -> Box<dyn Appender> {
        let s = &self.shared;
        Box::new(HeadAppender::new(
            s.head.clone(),
            s.wal.clone(),
            s.opts.fsync == FsyncPolicy::Always,
            s.closed.clone(),
        ))
    }

    /// A querier over `[mint, maxt]` (inclusive) merging blocks and the head.
    pub fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(Box::new(DbQuerier {
            shared: &self.shared,
            mint,
            maxt,
        }))
    }

    /// Periodic maintenance, run by the background thread every minute (by
    /// the options' clock) and callable directly: while the head spans more
    /// than 1.5 block ranges, writes its oldest block range to a block,
    /// truncates the head and checkpoints the WAL; then compacts blocks
    /// (Prometheus's leveled plan over 1×, 3×, 9× the block range) and
    /// deletes blocks beyond the retention time/size.
    pub fn tick(&self) -> Result<TickReport, StorageError> {
        self.shared.tick()
    }

    /// The spill pass the background thread runs every 10 s between ticks
    /// (only the series commits queued for it; see `docs/storage.md`),
    /// now. `None` when maintenance is running or spilling is off.
    pub fn spill_between_ticks(&self) -> Option<crate::head::SpillReport> {
        self.shared.spill_between_ticks()
    }

    /// Flushes the WAL to disk now (whatever the fsync policy).
    pub fn sync_wal(&self) -> Result<(), StorageError> {
        self.shared.wal.lock().sync()
    }

    /// Stops background work and fsyncs the WAL. Later commits and queriers
    /// fail with [`StorageError::Closed`]. Idempotent.
    pub fn close(&self) -> Result<(), StorageError> {
        let was_closed = self.shared.closed.swap(true, Ordering::AcqRel);
        if let Some(bg) = self.background.lock().take() {
            {
                let (lock, cv) = &*bg.stop;
                *lock.lock() = true;
                cv.notify_all();
            }
            let _ = bg.handle.join();
        }
        if was_closed {
            return Ok(());
        }
        // Wait for commits in flight, then make the WAL durable.
        let _commits = self.shared.head.commit_lock.lock();
        self.shared.wal.lock().sync()
    }

    /// Drops head data older than `mint` and checkpoints the WAL so replay
    /// no longer reads it. Only correct once `[.., mint)` is persisted in a
    /// block (or deliberately discarded).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn truncate_head(&self, mint: i64) -> Result<usize, StorageError> {
        self.shared.truncate_head(mint)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!(target: "promlite_tsdb", "closing database: {e}");
        }
    }
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender> {
        Db::appender(self)
    }
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Db::querier(self, mint, maxt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::{labels, Matcher, SelectHints, ValueType};

    fn opts() -> DbOptions {
        DbOptions {
            background: false,
            wal_segment_size: 2048,
            block_range_ms: 1000,
            ..Default::default()
        }
    }

    fn dump(db: &Db) -> Vec<(String, Vec<(i64, f64)>)> {
        let q = db.querier(i64::MIN, i64::MAX).unwrap();
        let m = Matcher::new(promlite_model::MatchOp::Regex, "__name__", ".+").unwrap();
        let series = q.select(&SelectHints::default(), &[m]).unwrap();
        let out = series
            .iter()
            .map(|s| {
                let mut it = s.iter();
                let mut v = Vec::new();
                while it.next() == ValueType::Float {
                    v.push(it.at());
                }
                (s.labels().to_string(), v)
            })
            .collect();
        out
    }

    #[test]
    fn truncate_checkpoint_then_replay() {
        let dir = tempfile::tempdir().unwrap();
        let old_only = labels!("__name__" => "old");
        let live = labels!("__name__" => "live");
        let before;
        {
            let db = Db::open(dir.path(), opts()).unwrap();
            for i in 0..400i64 {
                let mut app = db.appender();
                if i < 100 {
                    app.append(None, &old_only, i * 10, i as f64).unwrap();
                }
                app.append(None, &live, i * 10, i as f64).unwrap();
                app.commit().unwrap();
            }
            let segs_before = wal::list_segments(&dir.path().join("wal")).unwrap();
            assert!(
                segs_before.len() > 3,
                "small segments roll: {segs_before:?}"
            );
            assert_eq!(
                db.truncate_head(2000).unwrap(),
                1,
                "the old-only series is gone"
            );
            before = dump(&db);
            assert_eq!(before.len(), 1);
            assert_eq!(before[0].1.first(), Some(&(2000, 200.0)));
            assert_eq!(before[0].1.len(), 200);
            let wal_dir = dir.path().join("wal");
            let (n, _) = wal::latest_checkpoint(&wal_dir)
                .unwrap()
                .expect("checkpoint written");
            let segs = wal::list_segments(&wal_dir).unwrap();
            assert!(
                segs.iter().all(|&s| s > n),
                "replaced segments deleted: {segs:?} vs checkpoint {n}"
            );
            // Appends older than the truncation point are out of bounds now.
            let mut app = db.appender();
            assert_eq!(
                app.append(None, &labels!("__name__" => "new"), 1500, 1.0),
                Err(promlite_model::AppendError::OutOfBounds)
            );
            app.append(None, &live, 4000, 400.0).unwrap();
            app.commit().unwrap();
            db.close().unwrap();
        }
        let db = Db::open(dir.path(), opts()).unwrap();
        assert!(db.replay_report().checkpoint.is_some());
        let after = dump(&db);
        let mut expect = before.clone();
        expect[0].1.push((4000, 400.0));
        assert_eq!(after, expect);
        // A second truncation builds on the first checkpoint.
        db.truncate_head(3500).unwrap();
        drop(db);
        let db = Db::open(dir.path(), opts()).unwrap();
        let again = dump(&db);
        assert_eq!(again[0].1.first(), Some(&(3500, 350.0)));
        assert_eq!(again[0].1.last(), Some(&(4000, 400.0)));
    }

    #[test]
    fn a_staged_series_survives_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let x = labels!("__name__" => "x");
        {
            let db = Db::open(dir.path(), opts()).unwrap();
            let mut app = db.appender();
            app.append(None, &x, 0, 1.0).unwrap();
            app.commit().unwrap();
            let mut staged = db.appender();
            staged.append(None, &x, 5000, 2.0).unwrap();
            // X holds no data at or after 3000: truncation removes it even
            // though a batch has it staged, and the commit puts the sample
            // into a new series of the same labels.
            assert_eq!(db.truncate_head(3000).unwrap(), 1);
            staged.commit().unwrap();
            assert_eq!(dump(&db), vec![(x.to_string(), vec![(5000, 2.0)])]);
            // Without a staged batch it is collected.
            assert_eq!(db.truncate_head(6000).unwrap(), 1);
            let mut app = db.appender();
            app.append(None, &x, 7000, 3.0).unwrap();
            app.commit().unwrap();
        }
        let db = Db::open(dir.path(), opts()).unwrap();
        assert_eq!(dump(&db), vec![(x.to_string(), vec![(7000, 3.0)])]);
    }

    #[test]
    fn tick_reports_when_the_head_is_compactable() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), opts()).unwrap();
        let l = labels!("__name__" => "x");
        let mut app = db.appender();
        app.append(None, &l, 0, 1.0).unwrap();
        app.append(None, &l, 1000, 1.0).unwrap();
        app.commit().unwrap();
        assert!(!db.tick().unwrap().head_compactable);
        let mut app = db.appender();
        app.append(None, &l, 1600, 1.0).unwrap();
        app.commit().unwrap();
        assert!(db.tick().unwrap().head_compactable);
    }

    #[test]
    fn spills_between_ticks_wait_for_other_maintenance() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(
            dir.path(),
            DbOptions {
                block_range_ms: crate::options::DEFAULT_BLOCK_RANGE_MS,
                ..opts()
            },
        )
        .unwrap();
        let l = labels!("__name__" => "spill_me");
        let mut app = db.appender();
        for t in 0..300 {
            app.append(None, &l, t * 1000, t as f64).unwrap();
        }
        app.commit().unwrap();
        let before = dump(&db);
        {
            // A tick (or head cut) in progress: the pass is skipped.
            let _m = db.shared.maintenance.lock();
            db.shared.spill_between_ticks();
            assert_eq!(db.head_stats().spilled_chunks, 0);
        }
        db.shared.spill_between_ticks();
        assert_eq!(db.head_stats().spilled_chunks, 2);
        assert_eq!(db.metrics().head_chunks_spilled, 2);
        assert_eq!(dump(&db), before);
        let spill = dir.path().join(SPILL_DIR);
        assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 1);
        // Reopened: the segments are gone and the WAL rebuilds the head.
        db.close().unwrap();
        drop(db);
        let db = Db::open(dir.path(), opts()).unwrap();
        assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0);
        assert_eq!(dump(&db), before);
    }
}
