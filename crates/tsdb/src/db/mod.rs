//! [`Db`]: the storage engine as one object — WAL, head, blocks, background work.

mod blocks;

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};
use promlite_model::{Appendable, Appender, Matcher, Querier, Queryable, SelectHints, Series, StorageError};

use self::blocks::{select_block, BlockSet};
use crate::error::at;
use crate::head::{check_matchers, Head, HeadAppender, HeadQuerier, HeadStats, MemSeries};
use crate::options::{DbOptions, FsyncPolicy};
use crate::querier::merge_series;
use crate::record::Record;
use crate::wal::{self, ReplayReport, Wal};

/// How often (ms, by the options' clock) the background thread runs [`Db::tick`].
const TICK_INTERVAL_MS: i64 = 60_000;

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

        let blocks = BlockSet::open(&dir)?;
        let head = Arc::new(Head::new(opts.block_range_ms, opts.max_head_series));
        if let Some(t) = blocks.max_time() {
            // Data before the newest block's end is in blocks; the WAL may
            // still hold it if we crashed before the checkpoint.
            head.raise_floor(t);
        }
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
            blocks,
            closed: Arc::new(AtomicBool::new(false)),
            replay,
            aliases,
            maintenance: Mutex::new(()),
            cut_lock: RwLock::new(()),
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
        Ok(Box::new(DbQuerier { shared: &self.shared, mint, maxt }))
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
        let range = self.opts.block_range_ms.max(1);
        // Bounded: each round removes one block range from the head.
        for _ in 0..1000 {
            let (Some(min), Some(max)) = (self.head.min_time(), self.head.max_time()) else { break };
            if max.saturating_sub(min) <= range.saturating_mul(3) / 2 {
                break;
            }
            report.head_compactable = true;
            let mint = min.div_euclid(range).saturating_mul(range);
            let maxt = mint.saturating_add(range);
            // Later commits can no longer add samples before `maxt`.
            self.head.raise_floor(maxt);
            let mut series = self.head.series_in_range(mint, maxt);
            let meta = crate::block::write_block(&self.dir, mint, maxt, &mut series)?;
            {
                let _cut = self.cut_lock.write();
                if let Some(meta) = &meta {
                    self.blocks.add(meta)?;
                }
                report.series_removed += self.head.truncate(maxt);
            }
            if let Some(meta) = &meta {
                report.blocks_written += 1;
                tracing::info!(target: "promlite_tsdb", id = %meta.id, mint, maxt, "head cut into a block");
            }
            self.checkpoint_wal(maxt)?;
        }
        report.blocks_compacted = self.compact()?;
        report.blocks_deleted = self.apply_retention()?;
        Ok(report)
    }

    /// Compaction ranges: 1×, 3×, 9× the block range, capped at a tenth of
    /// the retention time (as Prometheus).
    fn ranges(&self) -> Vec<i64> {
        let r = self.opts.block_range_ms.max(1);
        let cap = self.opts.retention_ms.map(|t| t / 10).unwrap_or(i64::MAX);
        let mut out = vec![r];
        for m in [3, 9] {
            let x = r.saturating_mul(m);
            if x <= cap {
                out.push(x);
            }
        }
        out
    }

    fn compact(&self) -> Result<usize, StorageError> {
        let ranges = self.ranges();
        let mut merged = 0;
        for _ in 0..100 {
            let blocks = self.blocks.snapshot();
            let metas: Vec<_> = blocks.iter().map(|b| b.meta().clone()).collect();
            let Some(group) = crate::compact::plan(&metas, &ranges).into_iter().next() else { break };
            let sources: Vec<Arc<crate::block::Block>> =
                blocks.iter().filter(|b| group.contains(&b.meta().id)).cloned().collect();
            if sources.len() < 2 {
                break;
            }
            if let Some(meta) = crate::compact::compact(&self.dir, &sources)? {
                self.blocks.add(&meta)?;
            }
            self.blocks.delete(&group)?;
            merged += sources.len();
        }
        Ok(merged)
    }

    fn apply_retention(&self) -> Result<usize, StorageError> {
        if self.opts.retention_ms.is_none() && self.opts.retention_bytes.is_none() {
            return Ok(0);
        }
        let metas: Vec<_> = self.blocks.snapshot().iter().map(|b| (b.meta().clone(), b.size_bytes())).collect();
        // The WAL counts against the size limit, as in Prometheus.
        let bytes = self.opts.retention_bytes.map(|b| b.saturating_sub(dir_size(self.wal.dir())));
        let ids = crate::retention::beyond_retention(&metas, self.opts.retention_ms, bytes);
        if !ids.is_empty() {
            tracing::info!(target: "promlite_tsdb", ?ids, "deleting blocks beyond retention");
            self.blocks.delete(&ids)?;
        }
        Ok(ids.len())
    }

    fn truncate_head(&self, mint: i64) -> Result<usize, StorageError> {
        let removed = {
            let _cut = self.cut_lock.write();
            self.head.truncate(mint)
        };
        self.checkpoint_wal(mint)?;
        Ok(removed)
    }

    /// Starts a new WAL segment and checkpoints the ones before it, keeping
    /// what the head still holds at or after `mint`.
    fn checkpoint_wal(&self, mint: i64) -> Result<(), StorageError> {
        let upto = {
            let mut w = self.wal.lock();
            w.next_segment()?.saturating_sub(1)
        };
        let head = &self.head;
        let aliases = &self.aliases;
        let keep = |r: u64| head.series_by_ref(aliases.get(&r).copied().unwrap_or(r)).is_some();
        let stats = wal::checkpoint(self.wal.dir(), upto, &keep, mint)?;
        tracing::info!(target: "promlite_tsdb", upto, ?stats, "WAL checkpointed");
        Ok(())
    }
}

/// The Db's querier: blocks and head, snapshotted together per call.
struct DbQuerier<'a> {
    shared: &'a Shared,
    mint: i64,
    maxt: i64,
}

impl DbQuerier<'_> {
    fn blocks(&self) -> Vec<Arc<crate::block::Block>> {
        let mut v = self.shared.blocks.snapshot();
        v.retain(|b| b.meta().min_time <= self.maxt && b.meta().max_time > self.mint);
        v
    }
}

impl Querier for DbQuerier<'_> {
    fn select(&self, hints: &SelectHints, matchers: &[Matcher]) -> Result<Vec<Box<dyn Series + '_>>, StorageError> {
        check_matchers(matchers)?;
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, head_series) = {
            let _cut = self.shared.cut_lock.read();
            (self.blocks(), head.select_series(hints, matchers)?)
        };
        let mut lists: Vec<Vec<Box<dyn Series + '_>>> = Vec::with_capacity(blocks.len() + 1);
        for b in &blocks {
            lists.push(select_block(b, self.mint, self.maxt, hints, matchers)?);
        }
        // Last: the head wins on equal timestamps.
        lists.push(head_series.into_iter().map(|s| Box::new(s) as Box<dyn Series>).collect());
        Ok(merge_series(lists, hints.limit))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, mut set) = {
            let _cut = self.shared.cut_lock.read();
            (self.blocks(), head.label_values(name, matchers)?.into_iter().collect::<BTreeSet<String>>())
        };
        for b in &blocks {
            set.extend(b.querier(self.mint, self.maxt).label_values(name, matchers)?);
        }
        Ok(set.into_iter().collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, mut set) = {
            let _cut = self.shared.cut_lock.read();
            (self.blocks(), head.label_names(matchers)?.into_iter().collect::<BTreeSet<String>>())
        };
        for b in &blocks {
            set.extend(b.querier(self.mint, self.maxt).label_names(matchers)?);
        }
        Ok(set.into_iter().collect())
    }
}

/// Total size of the regular files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// Replays the WAL into `head`.
fn replay_into(wal_dir: &Path, head: &Head, aliases: &mut HashMap<u64, u64>) -> Result<ReplayReport, StorageError> {
    let mut refs: HashMap<u64, Arc<MemSeries>> = HashMap::new();
    let mut unknown = 0u64;
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    let chunk_range = head.chunk_range();
    let floor = head.floor();
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
                if s.t < floor {
                    continue;
                }
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
            let mut last_tick = shared.opts.clock.now_ms();
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
                let now = shared.opts.clock.now_ms();
                if now.saturating_sub(last_tick) >= TICK_INTERVAL_MS {
                    last_tick = now;
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

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::{labels, Matcher, SelectHints, ValueType};

    fn opts() -> DbOptions {
        DbOptions { background: false, wal_segment_size: 2048, block_range_ms: 1000, ..Default::default() }
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
            assert!(segs_before.len() > 3, "small segments roll: {segs_before:?}");
            assert_eq!(db.truncate_head(2000).unwrap(), 1, "the old-only series is gone");
            before = dump(&db);
            assert_eq!(before.len(), 1);
            assert_eq!(before[0].1.first(), Some(&(2000, 200.0)));
            assert_eq!(before[0].1.len(), 200);
            let wal_dir = dir.path().join("wal");
            let (n, _) = wal::latest_checkpoint(&wal_dir).unwrap().expect("checkpoint written");
            let segs = wal::list_segments(&wal_dir).unwrap();
            assert!(segs.iter().all(|&s| s > n), "replaced segments deleted: {segs:?} vs checkpoint {n}");
            // Appends older than the truncation point are out of bounds now.
            let mut app = db.appender();
            assert_eq!(app.append(None, &labels!("__name__" => "new"), 1500, 1.0), Err(promlite_model::AppendError::OutOfBounds));
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
}
