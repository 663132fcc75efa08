//! `promlite import openmetrics`: backfill blocks from an OpenMetrics file,
//! like `promtool tsdb create-blocks-from openmetrics`.
//!
//! The file is validated completely before anything is written, so a bad
//! line is reported with its number and nothing is half-written. Samples are
//! then grouped into block-range windows aligned to the range (2 h by
//! default), one pass over the in-memory file per window, so memory is
//! bounded by one window's samples. Blocks are written into a staging folder
//! inside the data directory and renamed into place only when all of them
//! were written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use promlite_exposition::openmetrics_import;
use promlite_model::Labels;
use promlite_tsdb::block::{write_block, BlockMeta};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of the input is invalid; nothing was written.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error with its line number.
        source: promlite_exposition::ImportError,
    },
    /// Writing a block failed; blocks already staged were removed.
    #[error("writing blocks: {0}")]
    Write(String),
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportSummary {
    /// Samples read from the file.
    pub samples: u64,
    /// The blocks written, oldest first.
    pub blocks: Vec<BlockMeta>,
}

/// Imports `file` into the data directory `data_dir`, cutting blocks of
/// `block_range_ms` milliseconds.
pub fn import_openmetrics(
    file: &Path,
    data_dir: &Path,
    block_range_ms: i64,
) -> Result<ImportSummary, ImportError> {
    let bytes = std::fs::read(file).map_err(|source| ImportError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let range = block_range_ms.max(1);

    // Pass 1: validate everything and find the time span.
    let (mut mint, mut maxt, mut samples) = (i64::MAX, i64::MIN, 0u64);
    for row in openmetrics_import(&bytes[..]) {
        let (_, t, _) = row.map_err(|source| ImportError::Parse {
            path: file.to_path_buf(),
            source,
        })?;
        mint = mint.min(t);
        maxt = maxt.max(t);
        samples += 1;
    }
    let mut summary = ImportSummary {
        samples,
        blocks: Vec::new(),
    };
    if samples == 0 {
        return Ok(summary);
    }

    std::fs::create_dir_all(data_dir)
        .map_err(|e| ImportError::Write(format!("{}: {e}", data_dir.display())))?;
    let staging = data_dir.join(format!("import.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| ImportError::Write(format!("{}: {e}", staging.display())))?;

    let result = write_windows(&bytes, &staging, mint, maxt, range);
    let metas = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    for meta in &metas {
        let from = staging.join(&meta.id);
        let to = data_dir.join(&meta.id);
        if let Err(e) = std::fs::rename(&from, &to) {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(ImportError::Write(format!(
                "moving block {} into place: {e}",
                meta.id
            )));
        }
    }
    let _ = std::fs::remove_dir_all(&staging);
    summary.blocks = metas;
    Ok(summary)
}

fn write_windows(
    bytes: &[u8],
    staging: &Path,
    mint: i64,
    maxt: i64,
    range: i64,
) -> Result<Vec<BlockMeta>, ImportError> {
    let mut metas = Vec::new();
    let mut start = mint.div_euclid(range) * range;
    while start <= maxt {
        let end = start.saturating_add(range);
        let mut window: BTreeMap<Labels, Vec<(i64, f64)>> = BTreeMap::new();
        // The file was validated in pass 1, so errors cannot occur here.
        for (labels, t, v) in openmetrics_import(bytes).flatten() {
            if t >= start && t < end {
                window.entry(labels).or_default().push((t, v));
            }
        }
        if !window.is_empty() {
            let mut series = window.into_iter().map(|(l, mut s)| {
                // Stable sort keeps file order for equal timestamps; keep the last one.
                s.sort_by_key(|p| p.0);
                let mut out: Vec<(i64, f64)> = Vec::with_capacity(s.len());
                for p in s {
                    match out.last_mut() {
                        Some(last) if last.0 == p.0 => *last = p,
                        _ => out.push(p),
                    }
                }
                (l, out)
            });
            let meta = write_block(staging, start, end, &mut series)
                .map_err(|e| ImportError::Write(e.to_string()))?;
            metas.extend(meta);
        }
        start = end;
    }
    Ok(metas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::{Matcher, Querier, ValueType};
    use promlite_tsdb::block::Block;

    #[test]
    fn imports_into_aligned_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.om");
        // 3 hours of data at 1 h spacing: two 2 h windows.
        let mut body = String::from("# TYPE m counter\n");
        for h in 0..4 {
            body.push_str(&format!("m_total{{a=\"x\"}} {h} {}\n", h * 3600));
            body.push_str(&format!("m_total{{a=\"y\"}} {} {}\n", h * 10, h * 3600));
        }
        body.push_str("# EOF\n");
        std::fs::write(&file, body).unwrap();
        let data = dir.path().join("data");
        let s = import_openmetrics(&file, &data, 2 * 3_600_000).unwrap();
        assert_eq!(s.samples, 8);
        assert_eq!(s.blocks.len(), 2);
        assert_eq!((s.blocks[0].min_time, s.blocks[0].max_time), (0, 7_200_000));
        let b = Block::open(&data.join(&s.blocks[1].id)).unwrap();
        let q = b.querier(i64::MIN, i64::MAX);
        let series = q
            .select(&Default::default(), &[Matcher::equal("a", "y")])
            .unwrap();
        assert_eq!(series.len(), 1);
        let mut it = series[0].iter();
        let mut got = Vec::new();
        while it.next() == ValueType::Float {
            got.push(it.at());
        }
        assert_eq!(got, vec![(7_200_000, 20.0), (10_800_000, 30.0)]);
        // No staging folder is left behind.
        let names: Vec<_> = std::fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| !n.to_string_lossy().starts_with("import.tmp")),
            "{names:?}"
        );
    }

    #[test]
    fn bad_line_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.om");
        std::fs::write(&file, "m 1 10\nm{ 2 20\n# EOF\n").unwrap();
        let data = dir.path().join("data");
        let e = import_openmetrics(&file, &data, 7_200_000).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(!data.exists());
    }
}
