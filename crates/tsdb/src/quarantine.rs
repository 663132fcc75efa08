//! Moving a damaged block out of the way so the database can start.

use std::path::{Path, PathBuf};

use promlite_model::StorageError;

use crate::block::sync_dir;

/// Directory under the data directory that holds quarantined blocks.
pub const QUARANTINE_DIR: &str = "quarantine";
/// File written into a quarantined block explaining why it was moved.
pub const REASON_FILE: &str = "quarantine-reason.txt";

/// Moves `block_dir` to `<data_dir>/quarantine/<name>` (with `-1`, `-2`, …
/// appended if that exists), writes the reason into `quarantine-reason.txt`
/// inside it, and returns the new path. Nothing is deleted.
pub fn quarantine(
    data_dir: &Path,
    block_dir: &Path,
    reason: &str,
) -> Result<PathBuf, StorageError> {
    let io = |p: &Path, e: std::io::Error| StorageError::Io(format!("{}: {e}", p.display()));
    let qdir = data_dir.join(QUARANTINE_DIR);
    std::fs::create_dir_all(&qdir).map_err(|e| io(&qdir, e))?;
    let name = block_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            StorageError::Other(format!(
                "cannot quarantine {}: no directory name",
                block_dir.display()
            ))
        })?;
    let mut target = qdir.join(&name);
    let mut n = 0;
    while target.exists() {
        n += 1;
        target = qdir.join(format!("{name}-{n}"));
    }
    std::fs::rename(block_dir, &target).map_err(|e| io(block_dir, e))?;
    let text = format!("{reason}\noriginal path: {}\n", block_dir.display());
    std::fs::write(target.join(REASON_FILE), text).map_err(|e| io(&target, e))?;
    sync_dir(&qdir)?;
    if let Some(p) = block_dir.parent() {
        let _ = sync_dir(p);
    }
    Ok(target)
}
