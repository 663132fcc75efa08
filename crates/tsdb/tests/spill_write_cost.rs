//! What a small write into a spill segment costs, by the state of the page
//! it lands in (session 12, `docs/scrape-performance.md`). Ignored by default (it
//! measures the machine, not promlite); run with
//! `cargo test -p promlite-tsdb --release --test spill_write_cost -- --ignored --nocapture`
//! in a directory on the file system of the data directory (`TMPDIR`).
//!
//! CPU time of this process per operation (user + system), for 128-byte
//! `pwrite`s one per 4 KiB page into: a hole of a sparse file, a page
//! already in the page cache and dirty, the same page after it was written
//! back, a `fallocate`d range; then a write through a shared writable map
//! into pages in the cache (a page fault each), `MADV_DONTNEED` of them, and
//! the spill pass's read-patch-write of a run (per 4 KiB page).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

const PAGES: u64 = 4096;
const PAGE: u64 = 4096;

fn cpu_ns() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0);
    t.tv_sec as f64 * 1e9 + t.tv_nsec as f64
}

fn per_page(f: &File, base: u64, at: u64, n: u64) -> f64 {
    let buf = [0x5au8; 128];
    let t = cpu_ns();
    for i in 0..n {
        f.write_all_at(&buf, base + i * PAGE + at).unwrap();
    }
    (cpu_ns() - t) / n as f64
}

#[test]
#[ignore]
fn small_writes_into_a_segment_by_page_state() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let path = dir.path().join(format!("seg{round}"));
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        f.set_len(64 << 20).unwrap();
        let hole = per_page(&f, 0, 0, PAGES);
        let dirty = per_page(&f, 0, 128, PAGES);
        f.sync_data().unwrap();
        let clean = per_page(&f, 0, 256, PAGES);
        let falloc_base = 32 << 20;
        // SAFETY: plain system call on an open descriptor.
        let rc = unsafe {
            libc::fallocate(
                f.as_raw_fd(),
                0,
                falloc_base as libc::off_t,
                (PAGES * PAGE) as libc::off_t,
            )
        };
        assert_eq!(rc, 0, "fallocate");
        let fallocated = per_page(&f, falloc_base, 0, PAGES);
        f.sync_data().unwrap();

        // SAFETY: the file is private to this test and not truncated while mapped.
        let mut map = unsafe { memmap2::MmapMut::map_mut(&f) }.unwrap();
        let t = cpu_ns();
        for i in 0..PAGES {
            let at = (i * PAGE + 384) as usize;
            map[at..at + 128].copy_from_slice(&[7u8; 128]);
        }
        let mapped = (cpu_ns() - t) / PAGES as f64;
        let t = cpu_ns();
        // SAFETY: the range is inside the mapping; its pages are file-backed.
        let rc = unsafe {
            libc::madvise(
                map.as_mut_ptr().cast(),
                (PAGES * PAGE) as usize,
                libc::MADV_DONTNEED,
            )
        };
        assert_eq!(rc, 0);
        let dontneed = (cpu_ns() - t) / PAGES as f64;
        drop(map);

        let mut run = vec![0u8; 1 << 20];
        let t = cpu_ns();
        for r in 0..(PAGES * PAGE / (1 << 20)) {
            let off = r << 20;
            f.read_exact_at(&mut run, off).unwrap();
            for k in (0..run.len()).step_by(700) {
                run[k] = run[k].wrapping_add(1);
            }
            f.write_all_at(&run, off).unwrap();
        }
        let rmw = (cpu_ns() - t) / PAGES as f64;
        println!(
            "ns per 4 KiB page: pwrite 128 B into a hole {hole:.0}, a dirty cached page {dirty:.0}, \
             a written-back page {clean:.0}, a fallocated range {fallocated:.0}; \
             map write (fault) {mapped:.0} + MADV_DONTNEED {dontneed:.0}; \
             read-patch-write in 1 MiB runs {rmw:.0}"
        );
        assert!(hole > 0.0 && rmw > 0.0);
    }
}
