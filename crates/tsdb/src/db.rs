//! [`Db`]: the storage engine as one object — WAL, head, background work.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use promlite_model::{Appendable, Appender, Querier, Queryable, StorageError};

use crate::error::at;
use crate::head::{Head, HeadAppender, HeadQuerier, HeadStats, MemSeries};
use crate::options::{DbOptions, FsyncPolicy};
use crate::querier::MergeQuerier;
use crate::record::Record;
use crate::wal::{self, ReplayReport, Wal};

/// How often the background thread runs [`Db::tick`].
const TICK_INTERVAL: Duration = Duration::from_secs(60);

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
    closed: Arc<AtomicBool>,
    replay: ReplayReport,
    /// WAL references that replay mapped onto another series with the same
    /// labels; checkpoints keep them while the target lives.
    aliases: HashMap<u64, u64>,
    /// Serialises tick/truncation.
    maintenance: Mutex<()>,
    _lock: LockFile,
}

struct Background {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: JoinHandle<()>,
}

/// What one [`Db::tick`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// The head spans more than 1.5 block ranges and should be cut.
    pub head_compactable: bool,
    /// Blocks written from the head.
    pub blocks_written: usize,
    /// Series removed from the head by truncation.
    pub series_removed: usize,
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
        let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(at(&path))?;
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

impl Db {
    /// Opens (creating if needed) the database in `dir`: takes the lock,
    /// replays the WAL into the head (repairing a damaged tail, see
    /// [`wal::replay`]) and starts the background thread if configured.
    pub fn open(dir: impl AsRef<Path>, opts: DbOptions) -> Result<Db, StorageError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(at(&dir))?;
        let lock = LockFile::acquire(&dir)?;
        let wal_dir = dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(at(&wal_dir))?;
        wal::remove_tmp_checkpoints(&wal_dir).map_err(at(&wal_dir))?;

        let head = Arc::new(Head::new(opts.block_range_ms, opts.max_head_series));
        let mut aliases = HashMap::new();
        let replay = replay_into(&wal_dir, &head, &mut aliases)?;
        if replay.corruptions > 0 {
            tracing::warn!(target: "promlite_tsdb", corruptions = replay.corruptions, "WAL was damaged; replayed what was intact");
        }
        let wal = Arc::new(Wal::open(&wal_dir, opts.wal_segment_size)?);
        let shared = Arc::new(Shared {
            dir,
            opts,
            head,
            wal,
            closed: Arc::new(AtomicBool::new(false)),
            replay,
            aliases,
            maintenance: Mutex::new(()),
            _lock: lock,
        });
        let background = shared.opts.background.then(|| spawn_background(shared.clone()));
        Ok(Db { shared, background: Mutex::new(background) })
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
        Box::new(HeadAppender::new(s.head.clone(), s.wal.clone(), s.opts.fsync == FsyncPolicy::Always, s.closed.clone()))
    }

    /// A querier over `[mint, maxt]` (inclusive) merging blocks and the head.
    pub fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        let parts: Vec<Box<dyn Querier + '_>> = vec![Box::new(HeadQuerier::new(&self.shared.head, mint, maxt))];
        Ok(Box::new(MergeQuerier::new(parts)))
    }

    /// Periodic maintenance, run by the background thread every minute and
    /// callable directly (tests drive it with a `ManualClock`): cuts the head
    /// into a block when it spans more than 1.5 block ranges, truncates the
    /// head and checkpoints the WAL.
    pub fn tick(&self) -> Result<TickReport, StorageError> {
        self.shared.tick()
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

impl Shared {
    fn tick(&self) -> Result<TickReport, StorageError> {
        let _m = self.maintenance.lock();
        let mut report = TickReport::default();
        let range = self.opts.block_range_ms;
        if let (Some(min), Some(max)) = (self.head.min_time(), self.head.max_time()) {
            report.head_compactable = max.saturating_sub(min) > range.saturating_mul(3) / 2;
        }
        // Cutting blocks needs the block writer (`block::write_block`); until
        // it is wired in, the head keeps everything and nothing is truncated.
        Ok(report)
    }

    #[cfg_attr(not(test), allow(dead_code))]
    fn truncate_head(&self, mint: i64) -> Result<usize, StorageError> {
        let removed = self.head.truncate(mint);
        let upto = {
            let mut w = self.wal.lock();
            w.next_segment()?.saturating_sub(1)
        };
        let head = &self.head;
        let aliases = &self.aliases;
        let keep = |r: u64| head.series_by_ref(aliases.get(&r).copied().unwrap_or(r)).is_some();
        let stats = wal::checkpoint(self.wal.dir(), upto, &keep, mint)?;
        tracing::info!(target: "promlite_tsdb", upto, ?stats, removed, "head truncated, WAL checkpointed");
        Ok(removed)
    }
}

/// Replays the WAL into `head`.
fn replay_into(wal_dir: &Path, head: &Head, aliases: &mut HashMap<u64, u64>) -> Result<ReplayReport, StorageError> {
    let mut refs: HashMap<u64, Arc<MemSeries>> = HashMap::new();
    let mut unknown = 0u64;
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    let chunk_range = head.chunk_range();
    let mut report = wal::replay(wal_dir, &mut |rec| match rec {
        Record::Series(series) => {
            for s in series {
                match head.get_or_create(&s.labels, Some(s.series_ref)) {
                    Ok((m, _)) => {
                        m.logged.store(true, Ordering::Release);
                        if m.series_ref != s.series_ref {
                            aliases.insert(s.series_ref, m.series_ref);
                        }
                        refs.insert(s.series_ref, m);
                    }
                    Err(e) => tracing::warn!(target: "promlite_tsdb::wal", "replay: skipping series {}: {e}", s.labels),
                }
            }
        }
        Record::Samples(samples) => {
            for s in samples {
                let Some(m) = refs.get(&s.series_ref) else {
                    unknown += 1;
                    continue;
                };
                let mut d = m.data.lock();
                if crate::head::replay_appendable(d.last(), s.t, s.v) {
                    d.append(s.t, s.v, chunk_range);
                    mint = mint.min(s.t);
                    maxt = maxt.max(s.t);
                }
            }
        }
        Record::Unknown(_) => {}
    })?;
    if mint <= maxt {
        head.update_time_range(mint, maxt);
    }
    if unknown > 0 {
        tracing::warn!(target: "promlite_tsdb::wal", unknown, "replay: samples for unknown series skipped");
    }
    report.unknown_series_samples = unknown;
    Ok(report)
}

fn spawn_background(shared: Arc<Shared>) -> Background {
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let stop2 = stop.clone();
    let period = match shared.opts.fsync {
        FsyncPolicy::Interval(d) => d.max(Duration::from_millis(1)),
        FsyncPolicy::Always => Duration::from_secs(1),
    };
    let handle = std::thread::Builder::new()
        .name("promlite-tsdb".into())
        .spawn(move || {
            let mut last_tick = Instant::now();
            loop {
                {
                    let (lock, cv) = &*stop2;
                    let mut stopped = lock.lock();
                    if !*stopped {
                        cv.wait_for(&mut stopped, period);
                    }
                    if *stopped {
                        return;
                    }
                }
                if let Err(e) = shared.wal.sync_if_dirty() {
                    tracing::error!(target: "promlite_tsdb", "WAL group commit failed: {e}");
                }
                if last_tick.elapsed() >= TICK_INTERVAL {
                    last_tick = Instant::now();
                    if let Err(e) = shared.tick() {
                        tracing::error!(target: "promlite_tsdb", "background maintenance failed: {e}");
                    }
                }
            }
        });
    match handle {
        Ok(handle) => Background { stop, handle },
        // Could not start a thread: fall back to a thread that does nothing.
        Err(e) => {
            tracing::error!(target: "promlite_tsdb", "cannot start background thread: {e}");
            Background { stop, handle: std::thread::spawn(|| {}) }
        }
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
