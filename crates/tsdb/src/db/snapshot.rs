//! Snapshots: a consistent copy of the data directory's blocks (hard
//! links), optionally with the head written as one more block, that opens
//! as a data directory of its own. Prometheus's `/api/v1/admin/tsdb/snapshot`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use promlite_model::StorageError;

use super::Db;
use crate::block::sync_dir;

/// Directory under the data directory that holds snapshots.
pub const SNAPSHOTS_DIR: &str = "snapshots";

fn io(p: &Path) -> impl Fn(std::io::Error) -> StorageError + '_ {
    move |e| StorageError::Io(format!("{}: {e}", p.display()))
}

impl Db {
    /// Writes a snapshot to `<data dir>/snapshots/<YYYYMMDDTHHMMSSZ>-<16 hex>`
    /// (the time from the options' clock) and returns that name. See
    /// [`Db::snapshot_to`].
    pub fn snapshot(&self, with_head: bool) -> Result<String, StorageError> {
        let name = snapshot_name(self.shared.opts.clock.now_ms());
        let dir = self.shared.dir.join(SNAPSHOTS_DIR).join(&name);
        if let Err(e) = self.snapshot_to(&dir, with_head) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(name)
    }

    /// Writes a snapshot into `dir` (created; it must not hold blocks of
    /// its own): every block hard-linked (copied where linking fails, e.g.
    /// across file systems), and with `with_head` the head's samples written
    /// as one more block. Deletions are honoured: a block's `tombstones`
    /// file comes along, and the head holds no deleted samples. `Db::open`
    /// on `dir` shows the same samples as this database did.
    pub fn snapshot_to(&self, dir: &Path, with_head: bool) -> Result<(), StorageError> {
        let s = &self.shared;
        if s.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        // No cut, compaction, retention or clean-up moves data meanwhile.
        let _m = s.maintenance.lock();
        for b in s.blocks.snapshot() {
            let target = dir.join(&b.meta().id);
            link_tree(b.dir(), &target)?;
        }
        if with_head {
            if let (Some(mint), Some(maxt)) = (s.head.min_time(), s.head.max_time()) {
                let mint = mint.max(s.head.floor());
                let end = maxt.saturating_add(1);
                if mint < end {
                    let mut series = s.head.series_in_range(mint, end);
                    crate::block::write_block(dir, mint, end, &mut series)?;
                }
            }
        }
        sync_dir(dir)?;
        if let Some(p) = dir.parent() {
            sync_dir(p)?;
        }
        Ok(())
    }
}

/// Recreates directory `from` at `to`, hard-linking each file (copying when
/// a link cannot be made). Temporary files are skipped.
fn link_tree(from: &Path, to: &Path) -> Result<(), StorageError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for e in std::fs::read_dir(from).map_err(io(from))? {
        let e = e.map_err(io(from))?;
        let src = e.path();
        let dst = to.join(e.file_name());
        if e.file_type().map_err(io(&src))?.is_dir() {
            link_tree(&src, &dst)?;
        } else if !e.file_name().to_string_lossy().ends_with(".tmp")
            && std::fs::hard_link(&src, &dst).is_err()
        {
            std::fs::copy(&src, &dst).map_err(io(&dst))?;
        }
    }
    sync_dir(to)
}

/// `YYYYMMDDTHHMMSSZ-<16 hex digits>` for `ms` since the epoch (UTC), as
/// Prometheus names snapshots.
pub fn snapshot_name(ms: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{:016x}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        x & (i64::MAX as u64)
    )
}

/// Year, month, day of the proleptic Gregorian calendar for days since
/// 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus() {
        let n = snapshot_name(1_795_838_303_000); // 2026-11-28T03:58:23Z
        assert_eq!(&n[..17], "20261128T035823Z-");
        assert_eq!(n.len(), 17 + 16);
        assert!(n[17..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(snapshot_name(0).starts_with("19700101T000000Z-"));
        assert!(snapshot_name(951_782_400_000).starts_with("20000229T000000Z-"));
        assert_ne!(snapshot_name(0), snapshot_name(0));
    }
}
