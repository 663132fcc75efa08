//! Closed head chunks moved out of the heap.
//!
//! A head chunk is full after 120 samples (ten minutes at a 5 s scrape
//! interval) and never changes again, but the head keeps it until the head
//! is cut into a block, two to three hours later. Held on the heap, those
//! chunks are most of the head's memory. The maintenance pass therefore
//! copies full chunks into *spill segments*: files under `<data>/spill/`,
//! written with ordinary `write` calls (so the kernel's page cache, not the
//! process, holds the dirty pages) and read back through a read-only
//! memory map. Only a [`ChunkBytes::Mapped`] reference (a segment handle, an
//! offset and a length) stays in memory.
//!
//! The segments are a cache, not part of the durable state: the WAL holds
//! every sample, replay rebuilds the head on the heap, and [`SpillDir::open`]
//! deletes whatever a previous process left. A segment file is deleted when
//! the last chunk in it is dropped (head truncation) — removing the file
//! does not disturb the mapping of chunks still being read.
//!
//! Layout of a segment: a sparse file of [`SEGMENT_SIZE`] bytes; chunk bytes
//! are appended back to back from offset 0, with no header or framing (the
//! references in memory carry offset, length and sample count).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Size of one spill segment file (sparse: only written bytes take disk).
pub const SEGMENT_SIZE: u64 = 64 << 20;

#[cfg(test)]
thread_local! {
    /// Test failpoints: when set, [`Segment::read_at`] (reads) or
    /// [`Segment::write_at`] (writes) on this thread fail with EIO.
    pub(crate) static FAIL_SEGMENT_IO: std::cell::Cell<(bool, bool)> =
        const { std::cell::Cell::new((false, false)) };
}

/// EIO if the test failpoint for reads (`write == false`) or writes is set.
#[inline]
fn failpoint(write: bool) -> io::Result<()> {
    #[cfg(test)]
    {
        let (reads, writes) = FAIL_SEGMENT_IO.with(|f| f.get());
        if (write && writes) || (!write && reads) {
            return Err(io::Error::from_raw_os_error(5));
        }
    }
    let _ = write;
    Ok(())
}

/// One spill segment: its file (for writes into reserved regions and
/// reads that should not map pages) and a read-only map of it. The file is
/// deleted when the last handle (the writer's or a chunk's) is dropped.
pub struct Segment {
    path: PathBuf,
    file: File,
    map: Mmap,
    /// Excludes writes from appends (shared) while the spill pass rewrites
    /// a run of the segment (exclusive): the run is read, patched and
    /// written back, so a write landing in it meanwhile would be undone.
    rewrite: RwLock<()>,
}

impl Segment {
    /// Leave to write into the segment from outside the spill pass, or
    /// `None` while the pass is rewriting part of it (the caller then
    /// keeps its bytes elsewhere; it must not wait, as the pass may need
    /// the caller's series lock).
    pub(crate) fn try_share(&self) -> Option<RwLockReadGuard<'_, ()>> {
        self.rewrite.try_read()
    }

    /// Exclusive use for a read-patch-write of a run (the spill pass).
    pub(crate) fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.rewrite.write()
    }

    /// Reads exactly `buf.len()` bytes at `off` with `pread`.
    pub fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        failpoint(false)?;
        self.file.read_exact_at(buf, off)
    }

    /// Writes `bytes` at `off` (inside a region [`SpillDir::reserve`] handed
    /// out; nothing reads those bytes before the write returns).
    pub fn write_at(&self, bytes: &[u8], off: u64) -> io::Result<()> {
        failpoint(true)?;
        self.file.write_all_at(bytes, off)
    }

    /// The `len` bytes at `off`, read with `pread` so the pages do not
    /// become part of the process's resident set; through the map if that
    /// read fails (empty if out of range).
    pub fn read_copy(&self, off: u32, len: u32) -> Vec<u8> {
        let mut out = vec![0u8; len as usize];
        match self.file.read_exact_at(&mut out, u64::from(off)) {
            Ok(()) => out,
            Err(_) => self.slice(off, len).to_vec(),
        }
    }

    /// The bytes at `[off, off + len)`, or an empty slice if out of range
    /// (which the chunk decoder reports as a damaged chunk).
    fn slice(&self, off: u32, len: u32) -> &[u8] {
        let start = off as usize;
        self.map
            .get(start..start.saturating_add(len as usize))
            .unwrap_or(&[])
    }
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment").field("path", &self.path).finish()
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(target: "promlite_tsdb", "cannot delete spill segment {}: {e}", self.path.display());
            }
        }
    }
}

/// The encoded bytes of a chunk: on the heap, or in a spill segment.
#[derive(Clone, Debug)]
pub enum ChunkBytes {
    /// Owned by the process (open chunks, chunks not yet spilled).
    Heap(Arc<[u8]>),
    /// `len` bytes at `off` in a spill segment.
    Mapped {
        /// The segment (kept alive, and its file kept, while referenced).
        seg: Arc<Segment>,
        /// Byte offset in the segment.
        off: u32,
        /// Byte length.
        len: u32,
    },
}

impl ChunkBytes {
    /// True if the bytes are on the heap.
    pub fn is_heap(&self) -> bool {
        matches!(self, ChunkBytes::Heap(_))
    }
}

impl AsRef<[u8]> for ChunkBytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        match self {
            ChunkBytes::Heap(b) => b,
            ChunkBytes::Mapped { seg, off, len } => seg.slice(*off, *len),
        }
    }
}

impl From<Vec<u8>> for ChunkBytes {
    fn from(v: Vec<u8>) -> Self {
        ChunkBytes::Heap(Arc::from(v))
    }
}

impl From<&[u8]> for ChunkBytes {
    fn from(v: &[u8]) -> Self {
        ChunkBytes::Heap(Arc::from(v))
    }
}

/// The writer of spill segments in one directory.
#[derive(Debug)]
pub struct SpillDir {
    dir: PathBuf,
    segment_size: u64,
    next_id: u64,
    /// The segment being filled and the next free offset.
    current: Option<(Arc<Segment>, u64)>,
}

impl SpillDir {
    /// Opens `dir` for spilling, deleting segments a previous process left
    /// (they are a cache; the WAL is the durable copy).
    pub fn open(dir: &Path) -> io::Result<SpillDir> {
        Self::open_sized(dir, SEGMENT_SIZE)
    }

    /// [`SpillDir::open`] with segments of `segment_size` bytes (at most
    /// `u32::MAX`; tests use small ones).
    pub fn open_sized(dir: &Path, segment_size: u64) -> io::Result<SpillDir> {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(dir)?;
        Ok(SpillDir {
            dir: dir.to_path_buf(),
            segment_size: segment_size.min(u64::from(u32::MAX)),
            next_id: 1,
            current: None,
        })
    }

    /// The size of each segment.
    pub fn segment_size(&self) -> usize {
        self.segment_size as usize
    }

    /// Appends `bytes` (at most a segment's size) to a segment in one write,
    /// starting a new segment when the current one lacks room. Returns the
    /// segment and the offset of the first byte. On error (a full disk, say)
    /// nothing refers to the bytes written, so the caller keeps its copy.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<(Arc<Segment>, u32)> {
        let len = bytes.len() as u64;
        if len > self.segment_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "spill batch larger than a segment",
            ));
        }
        let (seg, off) = self.room(len)?;
        seg.write_at(bytes, off)?;
        self.advance(len);
        // Offsets are below the segment size, which fits in u32.
        Ok((seg, off as u32))
    }

    /// Sets aside `len` bytes (at most a segment's size) in a segment for
    /// later [`Segment::write_at`] calls, without writing (the file stays
    /// sparse there). Returns the segment and the region's offset.
    pub fn reserve(&mut self, len: u32) -> io::Result<(Arc<Segment>, u32)> {
        let len = u64::from(len);
        if len > self.segment_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "spill region larger than a segment",
            ));
        }
        let (seg, off) = self.room(len)?;
        self.advance(len);
        Ok((seg, off as u32))
    }

    /// The current segment and its next free offset, starting a new
    /// segment when the current one lacks `len` bytes of room.
    fn room(&mut self, len: u64) -> io::Result<(Arc<Segment>, u64)> {
        if len > self.segment_size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "spill batch larger than a segment",
            ));
        }
        let full = match &self.current {
            Some((_, at)) => at.saturating_add(len) > self.segment_size,
            None => true,
        };
        if full {
            // The writer's handle goes; chunks keep the old segment alive.
            self.current = None;
            self.current = Some(self.new_segment()?);
        }
        match &self.current {
            Some((seg, at)) => Ok((seg.clone(), *at)),
            None => Err(io::Error::other("no spill segment")),
        }
    }

    fn advance(&mut self, len: u64) {
        if let Some((_, at)) = &mut self.current {
            *at = at.saturating_add(len);
        }
    }

    fn new_segment(&mut self) -> io::Result<(Arc<Segment>, u64)> {
        let path = self.dir.join(format!("{:08}", self.next_id));
        self.next_id += 1;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        let made = file.set_len(self.segment_size).and_then(|()| {
            // SAFETY: the mapping is read-only and only ranges this process
            // has finished writing (before handing out a reference) are
            // read; the file lives in a directory the data-directory lock
            // reserves to this process, and is never truncated while mapped.
            unsafe { Mmap::map(&file) }
        });
        let map = match made {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        Ok((
            Arc::new(Segment {
                path,
                file,
                map,
                rewrite: RwLock::new(()),
            }),
            0,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_bytes_read_back_and_files_go_with_their_last_chunk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spill");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("00000007"), b"left by a crash").unwrap();
        let mut sd = SpillDir::open_sized(&dir, 4096).unwrap();
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "old segments wiped"
        );

        let (seg, off) = sd.append(b"hello").unwrap();
        let (seg2, off2) = sd.append(b"world!").unwrap();
        assert!(Arc::ptr_eq(&seg, &seg2));
        assert_eq!((off, off2), (0, 5));
        let a = ChunkBytes::Mapped { seg, off, len: 5 };
        let b = ChunkBytes::Mapped {
            seg: seg2,
            off: off2,
            len: 6,
        };
        assert_eq!(a.as_ref(), b"hello");
        assert_eq!(b.as_ref(), b"world!");
        assert!(!a.is_heap());

        // A batch that does not fit starts a second segment.
        let big = vec![7u8; 4096 - 8];
        let (seg3, off3) = sd.append(&big).unwrap();
        assert_eq!(off3, 0);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        drop(seg3);
        // The writer still holds the second segment; the first is held by a and b.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        drop(a);
        drop(b);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        drop(sd);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn out_of_range_reads_are_empty_and_oversized_batches_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut sd = SpillDir::open_sized(&tmp.path().join("s"), 4096).unwrap();
        let (seg, _) = sd.append(b"x").unwrap();
        let bad = ChunkBytes::Mapped {
            seg,
            off: u32::MAX,
            len: 10,
        };
        assert!(bad.as_ref().is_empty());
        let too_big = vec![0u8; 4097];
        assert!(sd.append(&too_big).is_err());
    }

    #[test]
    fn an_unusable_directory_is_an_error_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        // A path under a regular file cannot be a directory.
        assert!(SpillDir::open(&file.join("spill")).is_err());
    }
}
