//! Reading the WAL back at startup, repairing damage as it goes.

use std::path::Path;

use promlite_model::StorageError;

use super::checkpoint::latest_checkpoint;
use super::segment::{list_segments, read_segment, segment_name, segment_path, Damage};
use crate::record::{decode, Record};

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayReport {
    /// Records handed to the callback.
    pub records: u64,
    /// Damaged places found (torn tails and corrupt frames); each was cut off.
    pub corruptions: u64,
    /// Frames whose checksum was right but whose payload did not decode.
    pub undecodable: u64,
    /// One line per damaged place: file, offset, reason, where the rest went.
    pub messages: Vec<String>,
    /// Samples whose series record was missing (filled in by the consumer).
    pub unknown_series_samples: u64,
    /// The checkpoint replayed first, if any.
    pub checkpoint: Option<u32>,
    /// First and last WAL segment replayed after the checkpoint (for
    /// `/api/v1/status/walreplay`); `None` when there were none.
    pub segments: Option<(u32, u32)>,
}

/// Replays the newest checkpoint, then every later segment, calling `f`
/// with each record in log order.
///
/// Damage never stops the start: a torn or corrupt frame ends that segment
/// there; the bytes from the damage on are moved to `wal/damaged/` (never
/// deleted), the segment is truncated to its good prefix, and replay goes on
/// with the next segment (records never span segments).
pub fn replay(dir: &Path, f: &mut dyn FnMut(Record)) -> Result<ReplayReport, StorageError> {
    let mut report = ReplayReport::default();
    if !dir.exists() {
        return Ok(report);
    }
    let io = |p: &Path, e: std::io::Error| StorageError::Io(format!("{}: {e}", p.display()));
    let mut after = 0u32;
    if let Some((n, cdir)) = latest_checkpoint(dir).map_err(|e| io(dir, e))? {
        report.checkpoint = Some(n);
        after = n;
        for s in list_segments(&cdir).map_err(|e| io(&cdir, e))? {
            replay_segment(&cdir, s, dir, f, &mut report)?;
        }
    }
    for s in list_segments(dir).map_err(|e| io(dir, e))? {
        if report.checkpoint.is_some() && s <= after {
            continue;
        }
        replay_segment(dir, s, dir, f, &mut report)?;
        report.segments = Some(match report.segments {
            Some((first, _)) => (first, s),
            None => (s, s),
        });
    }
    Ok(report)
}

fn replay_segment(
    seg_dir: &Path,
    n: u32,
    wal_dir: &Path,
    f: &mut dyn FnMut(Record),
    report: &mut ReplayReport,
) -> Result<(), StorageError> {
    let path = segment_path(seg_dir, n);
    let mut records = 0u64;
    let mut undecodable = 0u64;
    let damage = read_segment(&path, &mut |payload| match decode(payload) {
        Ok(r) => {
            records += 1;
            f(r)
        }
        Err(_) => undecodable += 1,
    })
    .map_err(|e| StorageError::Io(format!("{}: {e}", path.display())))?;
    report.records += records;
    report.undecodable += undecodable;
    if let Some(d) = damage {
        report.corruptions += 1;
        let msg = repair(&path, n, wal_dir, &d)?;
        tracing::warn!(target: "promlite_tsdb::wal", "{msg}");
        report.messages.push(msg);
    }
    Ok(())
}

/// Moves the bytes from the damage on into `wal/damaged/` and truncates the segment.
fn repair(path: &Path, n: u32, wal_dir: &Path, d: &Damage) -> Result<String, StorageError> {
    let io = |p: &Path, e: std::io::Error| StorageError::Io(format!("{}: {e}", p.display()));
    let data = std::fs::read(path).map_err(|e| io(path, e))?;
    let start = (d.offset as usize).min(data.len());
    let tail = &data[start..];
    let mut kept = String::from("nothing to keep");
    if !tail.is_empty() {
        let qdir = wal_dir.join("damaged");
        std::fs::create_dir_all(&qdir).map_err(|e| io(&qdir, e))?;
        let qpath = qdir.join(format!("{}-{}", segment_name(n), d.offset));
        std::fs::write(&qpath, tail).map_err(|e| io(&qpath, e))?;
        kept = format!("{} bytes moved to {}", tail.len(), qpath.display());
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io(path, e))?;
    file.set_len(d.offset).map_err(|e| io(path, e))?;
    file.sync_all().map_err(|e| io(path, e))?;
    Ok(format!(
        "WAL {} damaged at offset {} ({}{}); truncated there, {}",
        path.display(),
        d.offset,
        d.reason,
        if d.torn { ", torn write" } else { "" },
        kept
    ))
}
