//! `meta.json`: block identity, time range, statistics and lineage, plus the
//! ULID-style block id generator. Format: `docs/format/meta.md`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use promlite_model::StorageError;
use serde::{Deserialize, Serialize};

/// Current `meta.json` / block format version.
pub const BLOCK_VERSION: u32 = 1;
/// Name of the metadata file inside a block directory.
pub const META_FILE: &str = "meta.json";

/// Block statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Number of series.
    pub num_series: u64,
    /// Number of samples.
    pub num_samples: u64,
    /// Number of chunks.
    pub num_chunks: u64,
    /// Bytes of the index and chunk files (meta.json excluded).
    pub num_bytes: u64,
}

/// How the block came to be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionMeta {
    /// 1 for blocks cut from the head, parents' max + 1 for compacted ones.
    pub level: u32,
    /// Ids of the level-1 blocks whose data this block holds.
    pub sources: Vec<String>,
    /// Ids of the blocks directly merged into this one (empty at level 1).
    #[serde(default)]
    pub parents: Vec<String>,
}

/// The content of `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// Block id: 26-character, time-sortable (ULID layout).
    #[serde(rename = "ulid")]
    pub id: String,
    /// Start of the covered range (ms, inclusive).
    pub min_time: i64,
    /// End of the covered range (ms, exclusive).
    pub max_time: i64,
    /// Statistics.
    pub stats: BlockStats,
    /// Lineage.
    pub compaction: CompactionMeta,
    /// Format version ([`BLOCK_VERSION`]).
    pub version: u32,
}

impl BlockMeta {
    /// Reads and validates `<dir>/meta.json`. Any problem with the file's
    /// content is reported as [`StorageError::Corruption`].
    pub fn read(dir: &Path) -> Result<BlockMeta, StorageError> {
        let path = dir.join(META_FILE);
        let corrupt = |offset: u64, message: String| StorageError::Corruption {
            file: path.display().to_string(),
            offset,
            message,
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(corrupt(0, "meta.json is missing".into()))
            }
            Err(e) => return Err(StorageError::Io(format!("{}: {e}", path.display()))),
        };
        let meta: BlockMeta = serde_json::from_slice(&bytes).map_err(|e| {
            let line_start: usize = bytes
                .split(|&b| b == b'\n')
                .take(e.line().saturating_sub(1))
                .map(|l| l.len() + 1)
                .sum();
            corrupt(
                (line_start + e.column().saturating_sub(1)) as u64,
                format!("invalid meta.json: {e}"),
            )
        })?;
        if meta.version != BLOCK_VERSION {
            return Err(corrupt(
                0,
                format!("unsupported block version {}", meta.version),
            ));
        }
        if meta.min_time > meta.max_time || meta.id.len() != 26 {
            return Err(corrupt(
                0,
                "meta.json has an invalid id or time range".into(),
            ));
        }
        Ok(meta)
    }

    /// Writes `<dir>/meta.json` and fsyncs it.
    pub fn write(&self, dir: &Path) -> Result<(), StorageError> {
        let path = dir.join(META_FILE);
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| StorageError::Other(format!("encoding meta.json: {e}")))?;
        write_file_synced(&path, &json)
    }
}

/// Writes a file and fsyncs it.
pub(crate) fn write_file_synced(path: &Path, data: &[u8]) -> Result<(), StorageError> {
    use std::io::Write;
    let io = |e: std::io::Error| StorageError::Io(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(data).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Fsyncs a directory (so renames and new entries are durable).
pub(crate) fn sync_dir(path: &Path) -> Result<(), StorageError> {
    let io = |e: std::io::Error| StorageError::Io(format!("{}: {e}", path.display()));
    std::fs::File::open(path)
        .map_err(io)?
        .sync_all()
        .map_err(io)
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new 26-character id: 48 bits of milliseconds since the epoch and 80
/// pseudo-random bits, in Crockford base32, so ids sort by creation time.
pub fn new_block_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let ms = now.as_millis() as u64 & ((1 << 48) - 1);
    let mut seed = now.as_nanos() as u64
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER.fetch_add(0x9E37_79B9, Ordering::Relaxed);
    let mut rnd = || {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let rand: u128 = (u128::from(rnd()) << 16 | u128::from(rnd() & 0xffff)) & ((1 << 80) - 1);
    let v: u128 = (u128::from(ms) << 80) | rand;
    (0..26)
        .map(|i| char::from(CROCKFORD[((v >> (125 - 5 * i)) & 31) as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_sortable_and_26_chars() {
        let a = new_block_id();
        let b = new_block_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| CROCKFORD.contains(&(c as u8))));
        // Same millisecond prefix or later.
        assert!(b[..10] >= a[..10]);
    }

    #[test]
    fn meta_round_trips_as_prometheus_style_json() {
        let dir = tempfile::tempdir().unwrap();
        let m = BlockMeta {
            id: new_block_id(),
            min_time: 0,
            max_time: 7_200_000,
            stats: BlockStats {
                num_series: 2,
                num_samples: 10,
                num_chunks: 2,
                num_bytes: 300,
            },
            compaction: CompactionMeta {
                level: 1,
                sources: vec!["x".into()],
                parents: vec![],
            },
            version: BLOCK_VERSION,
        };
        m.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(META_FILE)).unwrap();
        assert!(
            text.contains("\"ulid\"")
                && text.contains("\"minTime\": 0")
                && text.contains("\"numSamples\": 10")
        );
        assert_eq!(BlockMeta::read(dir.path()).unwrap(), m);
    }
}
