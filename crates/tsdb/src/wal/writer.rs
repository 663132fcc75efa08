//! The WAL writer: appends framed records to the newest segment.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use promlite_model::StorageError;

use super::segment::{frame, list_segments, segment_path, sync_dir};
use crate::metrics::DbCounters;

/// A write-ahead log in one directory. Writers take [`Wal::lock`] for the
/// duration of a commit, so records of one commit are contiguous and
/// commits are ordered. Fsyncs go through [`Wal::sync_to`], which lets
/// concurrent committers share one fsync (group commit).
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    w: Mutex<WalWriter>,
    /// Serialises fsyncs outside the writer lock.
    sync_lock: Mutex<()>,
    /// Log position (bytes written since open) known to be on disk.
    synced: Arc<AtomicU64>,
    /// Where fsyncs are counted.
    counters: Arc<DbCounters>,
}

/// Exclusive access to the end of the log.
#[derive(Debug)]
pub struct WalWriter {
    dir: PathBuf,
    file: File,
    segment: u32,
    size: u64,
    segment_size: u64,
    /// Bytes written since open, over all segments: the log position.
    written: u64,
    synced: Arc<AtomicU64>,
    failed: Option<String>,
    buf: Vec<u8>,
    /// Compresses records before framing (state kept between records).
    packer: crate::record::Compressor,
    counters: Arc<DbCounters>,
}

fn io_err(path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Io(format!("{}: {e}", path.display()))
}

impl Wal {
    /// Opens the WAL in `dir` (created if missing) for writing. Writing
    /// always starts in a fresh segment after the newest existing one, so a
    /// repaired tail is never appended to.
    pub fn open(dir: &Path, segment_size: u64) -> Result<Wal, StorageError> {
        Wal::open_counted(dir, segment_size, Arc::default())
    }

    /// [`Wal::open`], counting fsyncs (number and time) in `counters`.
    pub fn open_counted(
        dir: &Path,
        segment_size: u64,
        counters: Arc<DbCounters>,
    ) -> Result<Wal, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let last = list_segments(dir)
            .map_err(|e| io_err(dir, e))?
            .last()
            .copied()
            .unwrap_or(0);
        let segment = last
            .checked_add(1)
            .ok_or_else(|| StorageError::Other("WAL segment numbers exhausted".into()))?;
        let file = create_segment(dir, segment)?;
        let synced = Arc::new(AtomicU64::new(0));
        Ok(Wal {
            dir: dir.to_path_buf(),
            sync_lock: Mutex::new(()),
            synced: synced.clone(),
            counters: counters.clone(),
            w: Mutex::new(WalWriter {
                dir: dir.to_path_buf(),
                file,
                segment,
                size: 0,
                segment_size: segment_size.max(1024),
                written: 0,
                synced,
                failed: None,
                buf: Vec::new(),
                packer: crate::record::Compressor::default(),
                counters,
            }),
        })
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Locks the end of the log.
    pub fn lock(&self) -> MutexGuard<'_, WalWriter> {
        self.w.lock()
    }

    /// Group commit: fsyncs whatever was written and not yet fsynced.
    pub fn sync_if_dirty(&self) -> Result<(), StorageError> {
        let pos = self.w.lock().written;
        self.sync_to(pos)
    }

    /// Returns once the log up to position `pos` (as returned by
    /// [`WalWriter::log`]) is fsynced. If another caller's fsync already
    /// covered it, no fsync is done; otherwise one fsync covers everything
    /// written so far, for every waiting committer. The fsync runs outside
    /// the writer lock, so commits go on meanwhile.
    pub fn sync_to(&self, pos: u64) -> Result<(), StorageError> {
        if self.synced.load(Ordering::Acquire) >= pos {
            return self.check_failed();
        }
        let _one_at_a_time = self.sync_lock.lock();
        if self.synced.load(Ordering::Acquire) >= pos {
            return self.check_failed();
        }
        let (file, target, path) = {
            let w = self.w.lock();
            if let Some(f) = &w.failed {
                return Err(StorageError::Io(f.clone()));
            }
            let path = segment_path(&self.dir, w.segment);
            // Bytes of earlier segments were fsynced when the segment rolled.
            (
                w.file.try_clone().map_err(|e| io_err(&path, e))?,
                w.written,
                path,
            )
        };
        let start = std::time::Instant::now();
        let synced = super::fsync_fault::sync_data(&file);
        self.counters.observe_fsync(start.elapsed());
        if let Err(e) = synced {
            let msg = format!("WAL fsync of {} failed: {e}", path.display());
            self.w.lock().failed = Some(msg.clone());
            return Err(StorageError::Io(msg));
        }
        self.synced.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }

    fn check_failed(&self) -> Result<(), StorageError> {
        match &self.w.lock().failed {
            Some(f) => Err(StorageError::Io(f.clone())),
            None => Ok(()),
        }
    }
}

fn create_segment(dir: &Path, n: u32) -> Result<File, StorageError> {
    let path = segment_path(dir, n);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    sync_dir(dir).map_err(|e| io_err(dir, e))?;
    Ok(file)
}

impl WalWriter {
    /// The number of the segment being written.
    pub fn segment(&self) -> u32 {
        self.segment
    }

    /// Writes `payloads` (encoded records, see [`crate::record`]) as
    /// consecutive records with one `write` call, each Snappy-compressed
    /// when that makes it smaller ([`crate::record::compress`]). The
    /// data reaches the operating system (it survives a process crash) but is
    /// not fsynced; call [`Wal::sync_to`] with the returned log position (or
    /// [`Self::sync`]) for that. On error nothing of the batch stays in the
    /// file, as far as the file system lets us undo it.
    pub fn log(&mut self, payloads: &[&[u8]]) -> Result<u64, StorageError> {
        if let Some(f) = &self.failed {
            return Err(StorageError::Io(f.clone()));
        }
        self.buf.clear();
        for p in payloads {
            frame(self.packer.compress(p), &mut self.buf);
        }
        if self.size > 0 && self.size + self.buf.len() as u64 > self.segment_size {
            self.next_segment()?;
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            let path = segment_path(&self.dir, self.segment);
            if let Err(e2) = self.file.set_len(self.size) {
                self.failed = Some(format!(
                    "{}: write failed ({e}) and could not be undone ({e2})",
                    path.display()
                ));
            }
            return Err(io_err(&path, e));
        }
        self.size += self.buf.len() as u64;
        self.written += self.buf.len() as u64;
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        self.packer.shrink_above(1 << 20);
        Ok(self.written)
    }

    /// Fsyncs the current segment. A failure poisons the writer: later
    /// writes fail too, because data covered by a failed fsync must never be
    /// reported durable.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        if let Some(f) = &self.failed {
            return Err(StorageError::Io(f.clone()));
        }
        let start = std::time::Instant::now();
        let synced = super::fsync_fault::sync_data(&self.file);
        self.counters.observe_fsync(start.elapsed());
        if let Err(e) = synced {
            let msg = format!(
                "WAL fsync of {} failed: {e}",
                segment_path(&self.dir, self.segment).display()
            );
            self.failed = Some(msg.clone());
            return Err(StorageError::Io(msg));
        }
        self.synced.fetch_max(self.written, Ordering::AcqRel);
        Ok(())
    }

    /// Closes the current segment (fsynced) and starts the next one.
    /// Returns the new segment's number.
    pub fn next_segment(&mut self) -> Result<u32, StorageError> {
        self.sync()?;
        let n = self
            .segment
            .checked_add(1)
            .ok_or_else(|| StorageError::Other("WAL segment numbers exhausted".into()))?;
        self.file = create_segment(&self.dir, n)?;
        self.segment = n;
        self.size = 0;
        Ok(n)
    }
}
