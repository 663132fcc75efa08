//! `promlite import openmetrics`: backfill blocks from an OpenMetrics file,
//! like `promtool tsdb create-blocks-from openmetrics`.
//!
//! One streaming pass reads the file through a buffered reader (the file is
//! never held in memory) and parses each line once. Each sample goes to its
//! series' buffer for its block-range window (2 h by default, aligned to
//! the range). A series is recognised by the bytes of its name and labels
//! as written, so its `Labels` are built once, when it is first seen. The
//! whole file is read and checked before anything is written, so a bad line
//! is reported with its number and nothing is half-written. Blocks are then
//! written window by window into a staging folder inside the data
//! directory, and renamed into place only when all of them were written.
//!
//! Memory: 16 bytes per sample (timestamp and value) plus the series'
//! labels, independent of the file's size on disk (about 100 bytes per
//! sample of text).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use promlite_exposition::{for_each_import_row, sample_labels, SampleEntry};
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
    let f = std::fs::File::open(file).map_err(|source| ImportError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let range = block_range_ms.max(1);
    let mut set = SeriesSet::default();
    for_each_import_row(std::io::BufReader::with_capacity(1 << 20, f), |s, t| {
        set.push(s, t, range)
    })
    .map_err(|source| ImportError::Parse {
        path: file.to_path_buf(),
        source,
    })?;
    let mut summary = ImportSummary {
        samples: set.samples,
        blocks: Vec::new(),
    };
    if set.samples == 0 {
        return Ok(summary);
    }

    std::fs::create_dir_all(data_dir)
        .map_err(|e| ImportError::Write(format!("{}: {e}", data_dir.display())))?;
    let staging = data_dir.join(format!("import.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)
        .map_err(|e| ImportError::Write(format!("{}: {e}", staging.display())))?;

    let metas = match set.write_windows(&staging, range) {
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

/// Every series read so far, with its samples per window.
#[derive(Default)]
struct SeriesSet {
    /// Series identity as written (name, then label pairs in file order,
    /// separated by bytes that cannot occur in UTF-8) → index.
    by_text: HashMap<Box<[u8]>, usize>,
    /// Canonical labels → index, for the same series written differently
    /// (another label order).
    by_labels: HashMap<Labels, usize>,
    series: Vec<SeriesBuf>,
    /// The text key of the previous row and its series: files list a
    /// series' samples together, so most rows hit this without hashing.
    last_key: Vec<u8>,
    last: Option<usize>,
    key: Vec<u8>,
    samples: u64,
}

struct SeriesBuf {
    labels: Labels,
    /// (window start, samples in file order), in order of first appearance.
    windows: Vec<(i64, Vec<(i64, f64)>)>,
}

impl SeriesSet {
    fn push(&mut self, s: &SampleEntry<'_>, t: i64, range: i64) {
        self.key.clear();
        self.key.extend_from_slice(s.name.as_bytes());
        for (n, v) in &s.labels {
            self.key.push(0xff);
            self.key.extend_from_slice(n.as_bytes());
            self.key.push(0xfe);
            self.key.extend_from_slice(v.as_bytes());
        }
        let idx = match self.last {
            Some(i) if self.key == self.last_key => i,
            _ => {
                let i = self.lookup(s);
                std::mem::swap(&mut self.key, &mut self.last_key);
                self.last = Some(i);
                i
            }
        };
        let start = t.div_euclid(range) * range;
        let windows = &mut self.series[idx].windows;
        match windows.iter_mut().rev().find(|w| w.0 == start) {
            Some(w) => w.1.push((t, s.value)),
            None => windows.push((start, vec![(t, s.value)])),
        }
        self.samples += 1;
    }

    /// The index of the series whose text key is in `self.key`, adding it
    /// if it is new.
    fn lookup(&mut self, s: &SampleEntry<'_>) -> usize {
        if let Some(&i) = self.by_text.get(&self.key[..]) {
            return i;
        }
        let labels = sample_labels(s);
        let i = match self.by_labels.get(&labels) {
            Some(&i) => i,
            None => {
                let i = self.series.len();
                self.by_labels.insert(labels.clone(), i);
                self.series.push(SeriesBuf {
                    labels,
                    windows: Vec::new(),
                });
                i
            }
        };
        self.by_text.insert(self.key.clone().into_boxed_slice(), i);
        i
    }

    /// Writes one block per window that has samples, oldest first. Each
    /// window's buffers are freed once its block is written.
    fn write_windows(mut self, staging: &Path, range: i64) -> Result<Vec<BlockMeta>, ImportError> {
        self.by_text = HashMap::new();
        self.by_labels = HashMap::new();
        let mut order: Vec<usize> = (0..self.series.len()).collect();
        order.sort_by(|a, b| self.series[*a].labels.cmp(&self.series[*b].labels));
        let starts: BTreeSet<i64> = self
            .series
            .iter()
            .flat_map(|s| s.windows.iter().map(|w| w.0))
            .collect();
        let mut metas = Vec::new();
        for start in starts {
            let series = &mut self.series;
            let mut iter = order.iter().filter_map(|&i| {
                let buf = &mut series[i];
                let pos = buf.windows.iter().position(|w| w.0 == start)?;
                let samples = buf.windows.swap_remove(pos).1;
                Some((buf.labels.clone(), sorted_last_wins(samples)))
            });
            let meta = write_block(staging, start, start.saturating_add(range), &mut iter)
                .map_err(|e| ImportError::Write(e.to_string()))?;
            metas.extend(meta);
        }
        Ok(metas)
    }
}

/// Sorts by time; of equal timestamps the one later in the file wins (the
/// sort is stable).
fn sorted_last_wins(mut s: Vec<(i64, f64)>) -> Vec<(i64, f64)> {
    if s.windows(2).any(|w| w[0].0 >= w[1].0) {
        s.sort_by_key(|p| p.0);
        let mut out: Vec<(i64, f64)> = Vec::with_capacity(s.len());
        for p in s {
            match out.last_mut() {
                Some(last) if last.0 == p.0 => *last = p,
                _ => out.push(p),
            }
        }
        s = out;
    }
    s
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

    fn read_all(data: &Path) -> Vec<(String, Vec<(i64, f64)>)> {
        let mut out = Vec::new();
        let mut dirs: Vec<_> = std::fs::read_dir(data)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("meta.json").exists())
            .collect();
        dirs.sort();
        for d in dirs {
            let b = Block::open(&d).unwrap();
            for id in 0..b.index().num_series() {
                let (labels, samples) = b.read_series(id).unwrap();
                out.push((labels.to_string(), samples));
            }
        }
        out
    }

    #[test]
    fn interleaved_reordered_and_unsorted_rows_land_in_one_series_per_window() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.om");
        // Series a written with two label orders, interleaved with b, out of
        // time order, spanning two 1 h windows, with a duplicate timestamp
        // (the later line wins, as in promtool).
        let body = "m{a=\"1\",b=\"2\"} 1 10\n\
                    n 7 10\n\
                    m{b=\"2\",a=\"1\"} 3 3700\n\
                    m{a=\"1\",b=\"2\"} 2 20\n\
                    n 8 3600\n\
                    m{b=\"2\",a=\"1\"} 4 20\n\
                    # EOF\n";
        std::fs::write(&file, body).unwrap();
        let data = dir.path().join("data");
        let s = import_openmetrics(&file, &data, 3_600_000).unwrap();
        assert_eq!(s.samples, 6);
        assert_eq!(s.blocks.len(), 2);
        assert_eq!(
            read_all(&data),
            vec![
                (
                    "m{a=\"1\", b=\"2\"}".to_string(),
                    vec![(10_000, 1.0), (20_000, 4.0)]
                ),
                ("n".to_string(), vec![(10_000, 7.0)]),
                ("m{a=\"1\", b=\"2\"}".to_string(), vec![(3_700_000, 3.0)]),
                ("n".to_string(), vec![(3_600_000, 8.0)]),
            ]
        );
    }

    #[test]
    fn an_error_on_the_last_line_writes_no_block() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.om");
        let mut body = String::new();
        for i in 0..1000 {
            body.push_str(&format!("m{{i=\"{}\"}} {i} {}\n", i % 10, i * 60));
        }
        // No `# EOF`: the file is rejected after every line was read.
        std::fs::write(&file, body).unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let e = import_openmetrics(&file, &data, 7_200_000).unwrap_err();
        assert!(e.to_string().contains("line 1001"), "{e}");
        assert!(e.to_string().contains("# EOF"), "{e}");
        assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
    }
}
