//! Which blocks fall outside the retention limits.

use crate::block::BlockMeta;

/// Ids of the blocks to delete, oldest first.
///
/// * Time (`retention_ms`): with the newest block's `max_time` as "now",
///   every block whose `max_time` is at least `retention_ms` older is
///   deleted (Prometheus's `BeyondTimeRetention`).
/// * Size (`max_bytes`): walking from the newest block to the oldest and
///   summing sizes, the first block that pushes the total over the cap and
///   every older one are deleted (`BeyondSizeRetention`). Callers that
///   count WAL/head bytes against the cap subtract them from `max_bytes`.
pub fn beyond_retention(
    metas: &[(BlockMeta, u64)],
    retention_ms: Option<i64>,
    max_bytes: Option<u64>,
) -> Vec<String> {
    let mut newest_first: Vec<&(BlockMeta, u64)> = metas.iter().collect();
    newest_first.sort_by(|a, b| {
        (b.0.max_time, b.0.min_time, &b.0.id).cmp(&(a.0.max_time, a.0.min_time, &a.0.id))
    });
    let mut delete = vec![false; newest_first.len()];
    if let (Some(ret), Some(newest)) = (retention_ms, newest_first.first()) {
        let head = newest.0.max_time;
        for (i, (m, _)) in newest_first.iter().map(|x| (&x.0, x.1)).enumerate().skip(1) {
            if head.saturating_sub(m.max_time) >= ret {
                delete[i] = true;
            }
        }
    }
    if let Some(cap) = max_bytes {
        let mut total = 0u64;
        let mut over = false;
        for (i, x) in newest_first.iter().enumerate() {
            total = total.saturating_add(x.1);
            over |= total > cap;
            delete[i] |= over;
        }
    }
    newest_first
        .iter()
        .zip(delete)
        .rev()
        .filter(|(_, d)| *d)
        .map(|(x, _)| x.0.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockStats, CompactionMeta, BLOCK_VERSION};

    const H: i64 = 3_600_000;

    fn b(id: &str, min: i64, max: i64, size: u64) -> (BlockMeta, u64) {
        let meta = BlockMeta {
            id: id.into(),
            min_time: min,
            max_time: max,
            stats: BlockStats::default(),
            compaction: CompactionMeta::default(),
            version: BLOCK_VERSION,
        };
        (meta, size)
    }

    fn blocks() -> Vec<(BlockMeta, u64)> {
        vec![
            b("c", 4 * H, 6 * H, 30),
            b("a", 0, 2 * H, 10),
            b("d", 6 * H, 8 * H, 40),
            b("b", 2 * H, 4 * H, 20),
        ]
    }

    #[test]
    fn by_time() {
        assert!(beyond_retention(&blocks(), None, None).is_empty());
        // max_times 2,4,6,8h; newest 8h; delete max_time <= 8h-4h.
        assert_eq!(
            beyond_retention(&blocks(), Some(4 * H), None),
            vec!["a", "b"]
        );
        assert_eq!(
            beyond_retention(&blocks(), Some(4 * H + 1), None),
            vec!["a"]
        );
        // The newest block is never deleted by time, even with retention 0.
        assert_eq!(
            beyond_retention(&blocks(), Some(0), None),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn by_size_and_both() {
        // Newest first: d 40, c 30 (70), b 20 (90), a 10 (100).
        assert_eq!(
            beyond_retention(&blocks(), None, Some(100)),
            Vec::<String>::new()
        );
        assert_eq!(beyond_retention(&blocks(), None, Some(89)), vec!["a", "b"]);
        assert_eq!(
            beyond_retention(&blocks(), None, Some(10)),
            vec!["a", "b", "c", "d"]
        );
        assert_eq!(
            beyond_retention(&blocks(), Some(6 * H), Some(75)),
            vec!["a", "b"]
        );
        assert!(beyond_retention(&[], Some(1), Some(1)).is_empty());
    }
}
