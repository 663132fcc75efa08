//! `promlite import openmetrics`: backfill blocks from an OpenMetrics file,
//! like `promtool tsdb create-blocks-from openmetrics`.
//!
//! One streaming pass: the file is read through a buffered reader and each
//! line parsed once; each series' labels are built and interned once (it is
//! recognised by its text after that) and its samples
//! appended to a compact per-(block window, series) byte stream
//! ([`store`]), so memory is a few bytes per sample plus the series' labels,
//! not the file size. Only when the whole file parsed (with `# EOF`) are
//! blocks cut, one per window aligned to the block range (2 h by default),
//! into a staging folder inside the data directory; they are renamed into
//! place only when all of them were written. A bad line is reported with its
//! number and leaves the data directory as it was.

mod store;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use promlite_exposition::{for_each_import_row, sample_labels};
use promlite_model::Labels;
use promlite_tsdb::block::{write_block, BlockMeta};

use store::WindowStore;
use xxhash_rust::xxh3::Xxh3Builder;

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

/// Reader buffer size: large enough that reads are not a per-line cost.
const READ_BUFFER: usize = 1 << 20;

/// Imports `file` into the data directory `data_dir`, cutting blocks of
/// `block_range_ms` milliseconds.
pub fn import_openmetrics(
    file: &Path,
    data_dir: &Path,
    block_range_ms: i64,
) -> Result<ImportSummary, ImportError> {
    let f = File::open(file).map_err(|source| ImportError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let parsed = read_series(BufReader::with_capacity(READ_BUFFER, f), block_range_ms).map_err(
        |source| ImportError::Parse {
            path: file.to_path_buf(),
            source,
        },
    )?;
    let mut summary = ImportSummary {
        samples: parsed.store.samples(),
        blocks: Vec::new(),
    };
    if summary.samples == 0 {
        return Ok(summary);
    }

    std::fs::create_dir_all(data_dir)
        .map_err(|e| ImportError::Write(format!("{}: {e}", data_dir.display())))?;
    let staging = data_dir.join(format!("import.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| ImportError::Write(format!("{}: {e}", staging.display())))?;

    let metas = match write_windows(parsed, &staging) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let mut moved: Vec<PathBuf> = Vec::new();
    for meta in &metas {
        let from = staging.join(&meta.id);
        let to = data_dir.join(&meta.id);
        if let Err(e) = std::fs::rename(&from, &to) {
            // Undo the blocks already moved so the data dir is as it was.
            for done in &moved {
                let _ = std::fs::remove_dir_all(done);
            }
            let _ = std::fs::remove_dir_all(&staging);
            return Err(ImportError::Write(format!(
                "moving block {} into place: {e}",
                meta.id
            )));
        }
        moved.push(to);
    }
    let _ = std::fs::remove_dir_all(&staging);
    summary.blocks = metas;
    Ok(summary)
}

/// The whole file, parsed: interned series and their samples per window.
struct Parsed {
    /// Labels by series id.
    labels: Vec<Labels>,
    store: WindowStore,
}

/// The single pass over the input: parse, intern, store compactly.
///
/// A series is recognised by the bytes of its name and label pairs as
/// written, so its `Labels` are built (sorted, allocated) only the first
/// time that spelling is seen; files list a series' samples together, so
/// most lines match the previous line's key without a hash lookup. Two
/// spellings of one series (another label order) meet in the `Labels` map.
fn read_series(
    reader: impl std::io::BufRead,
    range: i64,
) -> Result<Parsed, promlite_exposition::ImportError> {
    // xxh3 instead of SipHash: series keys are not attacker-chosen here.
    let mut by_text: HashMap<Box<[u8]>, u32, Xxh3Builder> =
        HashMap::with_hasher(Xxh3Builder::new());
    let mut by_labels: HashMap<Labels, u32, Xxh3Builder> = HashMap::with_hasher(Xxh3Builder::new());
    let mut labels: Vec<Labels> = Vec::new();
    let mut store = WindowStore::new(range);
    let (mut key, mut last_key, mut last) = (Vec::new(), Vec::new(), None);
    let mut too_many = false;
    for_each_import_row(reader, |s, t| {
        key.clear();
        key.extend_from_slice(s.name.as_bytes());
        for (n, v) in &s.labels {
            key.push(0xff);
            key.extend_from_slice(n.as_bytes());
            key.push(0xfe);
            key.extend_from_slice(v.as_bytes());
        }
        let id = match last {
            Some(id) if key == last_key => id,
            _ => {
                let id = match by_text.get(&key[..]) {
                    Some(&id) => id,
                    None => {
                        let l = sample_labels(s);
                        let id = match by_labels.get(&l) {
                            Some(&id) => id,
                            None => {
                                let Ok(id) = u32::try_from(labels.len()) else {
                                    too_many = true;
                                    return;
                                };
                                labels.push(l.clone());
                                by_labels.insert(l, id);
                                id
                            }
                        };
                        by_text.insert(key.clone().into_boxed_slice(), id);
                        id
                    }
                };
                std::mem::swap(&mut key, &mut last_key);
                last = Some(id);
                id
            }
        };
        store.push(id, t, s.value);
    })?;
    if too_many {
        return Err(promlite_exposition::ImportError {
            line: 0,
            message: "more than 2^32 series".into(),
        });
    }
    Ok(Parsed { labels, store })
}

/// Cuts one block per window into `staging`, oldest first.
fn write_windows(mut parsed: Parsed, staging: &Path) -> Result<Vec<BlockMeta>, ImportError> {
    // Series ids in label order: the order blocks need.
    let mut order: Vec<u32> = (0..parsed.labels.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| parsed.labels[a as usize].cmp(&parsed.labels[b as usize]));
    let mut metas = Vec::new();
    for (start, end) in parsed.store.windows() {
        let window = parsed.store.take_window(start);
        let mut failed: Option<String> = None;
        let labels = &parsed.labels;
        let mut series = order.iter().filter_map(|&id| {
            if failed.is_some() {
                return None;
            }
            match window.samples(id)? {
                Ok(samples) => Some((labels.get(id as usize)?.clone(), samples)),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            }
        });
        let meta = write_block(staging, start, end, &mut series)
            .map_err(|e| ImportError::Write(e.to_string()))?;
        if let Some(e) = failed {
            return Err(ImportError::Write(e));
        }
        metas.extend(meta);
    }
    Ok(metas)
}

#[cfg(test)]
mod tests;
