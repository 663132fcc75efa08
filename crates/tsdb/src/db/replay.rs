//! Replaying the WAL into a fresh head at open.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use promlite_model::StorageError;

use crate::head::{Head, MemSeries};
use crate::record::Record;
use crate::wal::{self, ReplayReport};

/// Replays the WAL into `head`.
pub(super) fn replay_into(
    wal_dir: &Path,
    head: &Head,
    aliases: &mut HashMap<u64, u64>,
) -> Result<ReplayReport, StorageError> {
    let mut refs: HashMap<u64, Arc<MemSeries>> = HashMap::new();
    let mut unknown = 0u64;
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    let chunk_range = head.chunk_range();
    let floor = head.floor();
    let mut report = wal::replay(wal_dir, &mut |rec| match rec {
        Record::Series(series) => {
            for s in series {
                match head.get_or_create(&s.labels, Some(s.series_ref)) {
                    Ok((m, _)) => {
                        head.set_logged(&m);
                        if m.series_ref != s.series_ref {
                            aliases.insert(s.series_ref, m.series_ref);
                        }
                        refs.insert(s.series_ref, m);
                    }
                    Err(e) => {
                        tracing::warn!(target: "promlite_tsdb::wal", "replay: skipping series {}: {e}", s.labels)
                    }
                }
            }
        }
        Record::Samples(samples) => {
            for s in samples {
                let Some(m) = refs.get(&s.series_ref) else {
                    unknown += 1;
                    continue;
                };
                if s.t < floor {
                    continue;
                }
                let mut d = m.data.lock();
                if crate::head::replay_appendable(d.last(), s.t, s.v) {
                    d.append(s.t, s.v, chunk_range);
                    mint = mint.min(s.t);
                    maxt = maxt.max(s.t);
                }
            }
        }
        Record::Tombstones(ts) => {
            for t in ts {
                if let Some(m) = refs.get(&t.series_ref) {
                    m.data.lock().delete_range(t.mint, t.maxt, chunk_range);
                }
            }
        }
        Record::Unknown(_) => {}
    })?;
    if mint <= maxt {
        head.update_time_range(mint, maxt);
    }
    head.resync_hot_all();
    if unknown > 0 {
        tracing::warn!(target: "promlite_tsdb::wal", unknown, "replay: samples for unknown series skipped");
    }
    report.unknown_series_samples = unknown;
    Ok(report)
}
