//! Checkpoints: a compacted prefix of the WAL, so replay stays short.
//!
//! After the head drops data older than `mint` (it went into a block),
//! [`checkpoint`] rewrites the newest checkpoint plus segments `..=upto` into
//! `checkpoint.<upto>` keeping only series still in the head and samples at
//! or after `mint`, then deletes what it replaced. It is written under a
//! `.tmp` name, fsynced and renamed, so a crash leaves either the old or the
//! new checkpoint.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use promlite_model::StorageError;

use super::segment::{frame, list_segments, read_segment, segment_path, sync_dir};
use crate::record::{compress, decode, encode_samples, encode_series, encode_tombstones, Record};

const PREFIX: &str = "checkpoint.";

/// Counts of what a checkpoint kept and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Series records kept.
    pub series_kept: u64,
    /// Series dropped (no longer in the head).
    pub series_dropped: u64,
    /// Samples kept.
    pub samples_kept: u64,
    /// Samples dropped (older than `mint` or of dropped series).
    pub samples_dropped: u64,
}

fn parse_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix(PREFIX)?;
    if digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

fn checkpoints(dir: &Path) -> io::Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if let Some(n) = e.file_name().to_str().and_then(parse_name) {
            if e.file_type()?.is_dir() {
                out.push((n, e.path()));
            }
        }
    }
    out.sort_unstable_by_key(|c| c.0);
    Ok(out)
}

/// The newest complete checkpoint in `dir`: its number and directory.
pub fn latest_checkpoint(dir: &Path) -> io::Result<Option<(u32, PathBuf)>> {
    Ok(checkpoints(dir)?.pop())
}

/// Removes half-written checkpoints left by a crash.
pub fn remove_tmp_checkpoints(dir: &Path) -> io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if let Some(name) = name.to_str() {
            if name.starts_with(PREFIX) && name.ends_with(".tmp") {
                std::fs::remove_dir_all(e.path())?;
            }
        }
    }
    Ok(())
}

/// Writes `checkpoint.<upto>` from the previous checkpoint and segments
/// `..=upto`, keeping series for which `keep` is true and their samples with
/// `t >= mint`; then deletes the replaced segments and checkpoints.
/// `upto` must be older than the segment being written.
pub fn checkpoint(
    dir: &Path,
    upto: u32,
    keep: &dyn Fn(u64) -> bool,
    mint: i64,
) -> Result<CheckpointStats, StorageError> {
    let io = |p: &Path, e: io::Error| StorageError::Io(format!("{}: {e}", p.display()));
    remove_tmp_checkpoints(dir).map_err(|e| io(dir, e))?;
    let mut sources: Vec<PathBuf> = Vec::new();
    let prev = latest_checkpoint(dir).map_err(|e| io(dir, e))?;
    let mut after = 0u32;
    if let Some((n, cdir)) = &prev {
        if *n >= upto {
            return Ok(CheckpointStats::default());
        }
        after = *n;
        for s in list_segments(cdir).map_err(|e| io(cdir, e))? {
            sources.push(segment_path(cdir, s));
        }
    }
    let segments: Vec<u32> = list_segments(dir)
        .map_err(|e| io(dir, e))?
        .into_iter()
        .filter(|&s| (prev.is_none() || s > after) && s <= upto)
        .collect();
    sources.extend(segments.iter().map(|&s| segment_path(dir, s)));

    let final_dir = dir.join(format!("{PREFIX}{upto:08}"));
    let tmp_dir = dir.join(format!("{PREFIX}{upto:08}.tmp"));
    std::fs::create_dir_all(&tmp_dir).map_err(|e| io(&tmp_dir, e))?;
    let out_path = segment_path(&tmp_dir, 0);
    let file = std::fs::File::create(&out_path).map_err(|e| io(&out_path, e))?;
    let mut out = io::BufWriter::with_capacity(1 << 16, file);
    let mut stats = CheckpointStats::default();
    let mut payload = Vec::new();
    let mut framed = Vec::new();
    let mut packed = Vec::new();
    let mut write_err: Option<io::Error> = None;
    for src in &sources {
        let damage = read_segment(src, &mut |rec| {
            payload.clear();
            match decode(rec) {
                Ok(Record::Series(mut series)) => {
                    let before = series.len() as u64;
                    series.retain(|s| keep(s.series_ref));
                    stats.series_kept += series.len() as u64;
                    stats.series_dropped += before - series.len() as u64;
                    if !series.is_empty() {
                        encode_series(&series, &mut payload);
                    }
                }
                Ok(Record::Samples(mut samples)) => {
                    let before = samples.len() as u64;
                    samples.retain(|s| s.t >= mint && keep(s.series_ref));
                    stats.samples_kept += samples.len() as u64;
                    stats.samples_dropped += before - samples.len() as u64;
                    if !samples.is_empty() {
                        encode_samples(&samples, &mut payload);
                    }
                }
                Ok(Record::Tombstones(mut ts)) => {
                    // Deletions of kept series must keep hiding the samples
                    // before them (kept in log order).
                    ts.retain(|t| t.maxt >= mint && keep(t.series_ref));
                    if !ts.is_empty() {
                        encode_tombstones(&ts, &mut payload);
                    }
                }
                Ok(Record::Unknown(_)) | Err(_) => {}
            }
            if !payload.is_empty() && write_err.is_none() {
                framed.clear();
                compress(&payload, &mut packed);
                frame(&packed, &mut framed);
                if let Err(e) = out.write_all(&framed) {
                    write_err = Some(e);
                }
            }
        })
        .map_err(|e| io(src, e))?;
        if let Some(d) = damage {
            tracing::warn!(target: "promlite_tsdb::wal", "checkpoint: {} damaged at {}: {}", src.display(), d.offset, d.reason);
        }
    }
    if let Some(e) = write_err {
        return Err(io(&out_path, e));
    }
    let file = out
        .into_inner()
        .map_err(|e| io(&out_path, e.into_error()))?;
    file.sync_all().map_err(|e| io(&out_path, e))?;
    sync_dir(&tmp_dir).map_err(|e| io(&tmp_dir, e))?;
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(|e| io(&final_dir, e))?;
    }
    std::fs::rename(&tmp_dir, &final_dir).map_err(|e| io(&final_dir, e))?;
    sync_dir(dir).map_err(|e| io(dir, e))?;

    // The new checkpoint is durable; what it replaces can go.
    for s in list_segments(dir).map_err(|e| io(dir, e))? {
        if s <= upto {
            let p = segment_path(dir, s);
            std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
        }
    }
    for (n, p) in checkpoints(dir).map_err(|e| io(dir, e))? {
        if n < upto {
            std::fs::remove_dir_all(&p).map_err(|e| io(&p, e))?;
        }
    }
    sync_dir(dir).map_err(|e| io(dir, e))?;
    Ok(stats)
}
