//! Choosing which blocks to compact (Prometheus's leveled planner).

use crate::block::BlockMeta;

/// Plans the next compaction. Returns at most one group of block ids (in
/// time order); call again after compacting it. Empty when nothing is due.
///
/// As in Prometheus: blocks are sorted by `min_time`; if any overlap, the
/// first run of overlapping blocks is returned (vertical compaction).
/// Otherwise the newest block (which may still border the head) is left
/// out, and for each range in `ranges[1..]` (e.g. 6h, 24h, …) blocks are
/// grouped into aligned windows of that size; the first window with more
/// than one block that is either fully covered or lies entirely before the
/// newest block's start is returned.
pub fn plan(metas: &[BlockMeta], ranges: &[i64]) -> Vec<Vec<String>> {
    let mut ms: Vec<&BlockMeta> = metas.iter().collect();
    ms.sort_by(|a, b| (a.min_time, a.max_time, &a.id).cmp(&(b.min_time, b.max_time, &b.id)));
    let overlapping = select_overlapping(&ms);
    if !overlapping.is_empty() {
        return vec![overlapping];
    }
    if ms.len() < 2 {
        return Vec::new();
    }
    ms.pop();
    match select_dirs(&ms, ranges) {
        Some(g) => vec![g.iter().map(|m| m.id.clone()).collect()],
        None => Vec::new(),
    }
}

fn select_overlapping(ms: &[&BlockMeta]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let Some(first) = ms.first() else {
        return out;
    };
    let mut global_max = first.max_time;
    for i in 1..ms.len() {
        let m = ms[i];
        if m.min_time < global_max {
            if out.is_empty() {
                out.push(ms[i - 1].id.clone());
            }
            out.push(m.id.clone());
        } else if !out.is_empty() {
            break;
        }
        global_max = global_max.max(m.max_time);
    }
    out
}

fn select_dirs<'a>(ms: &[&'a BlockMeta], ranges: &[i64]) -> Option<Vec<&'a BlockMeta>> {
    let high_time = ms.last()?.min_time;
    for &iv in ranges.iter().skip(1) {
        if iv <= 0 {
            continue;
        }
        for p in split_by_range(ms, iv) {
            let (Some(first), Some(last)) = (p.first(), p.last()) else {
                continue;
            };
            let (mint, maxt) = (first.min_time, last.max_time);
            if p.len() > 1 && (maxt.saturating_sub(mint) == iv || maxt <= high_time) {
                return Some(p);
            }
        }
    }
    None
}

/// Groups time-sorted blocks into windows `[k*tr, (k+1)*tr)`; blocks that
/// do not fit in one window are skipped.
fn split_by_range<'a>(ms: &[&'a BlockMeta], tr: i64) -> Vec<Vec<&'a BlockMeta>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ms.len() {
        let m = ms[i];
        let t0 = tr.saturating_mul(m.min_time.div_euclid(tr));
        let end = t0.saturating_add(tr);
        if m.max_time > end {
            i += 1;
            continue;
        }
        let mut group = Vec::new();
        while i < ms.len() && ms[i].max_time <= end {
            group.push(ms[i]);
            i += 1;
        }
        if !group.is_empty() {
            out.push(group);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BlockStats, CompactionMeta, BLOCK_VERSION};

    const H: i64 = 3_600_000;

    fn m(id: &str, min: i64, max: i64) -> BlockMeta {
        BlockMeta {
            id: id.into(),
            min_time: min,
            max_time: max,
            stats: BlockStats::default(),
            compaction: CompactionMeta {
                level: 1,
                sources: vec![id.into()],
                parents: vec![],
            },
            version: BLOCK_VERSION,
        }
    }

    fn ranges() -> Vec<i64> {
        vec![2 * H, 6 * H, 24 * H]
    }

    #[test]
    fn nothing_to_do_for_few_blocks() {
        assert!(plan(&[], &ranges()).is_empty());
        assert!(plan(&[m("a", 0, 2 * H)], &ranges()).is_empty());
        // Two blocks: the newest is excluded, leaving one.
        assert!(plan(&[m("a", 0, 2 * H), m("b", 2 * H, 4 * H)], &ranges()).is_empty());
    }

    #[test]
    fn full_window_of_three_is_compacted_leaving_newest() {
        let ms = [
            m("a", 0, 2 * H),
            m("b", 2 * H, 4 * H),
            m("c", 4 * H, 6 * H),
            m("d", 6 * H, 8 * H),
        ];
        assert_eq!(plan(&ms, &ranges()), vec![vec!["a", "b", "c"]]);
        // Without the fourth block, c is the newest and stays out; a+b do
        // not fill the 6h window and b is the newest remaining, so wait.
        assert!(plan(&ms[..3], &ranges()).is_empty());
        // A later block in the next window makes the partial window final.
        let ms2 = [
            m("a", 0, 2 * H),
            m("b", 2 * H, 4 * H),
            m("e", 8 * H, 10 * H),
            m("f", 10 * H, 12 * H),
        ];
        assert_eq!(plan(&ms2, &ranges()), vec![vec!["a", "b"]]);
    }

    #[test]
    fn overlapping_blocks_first() {
        let ms = [
            m("a", 0, 2 * H),
            m("b", H, 3 * H),
            m("c", 4 * H, 6 * H),
            m("d", 7 * H, 9 * H),
        ];
        assert_eq!(plan(&ms, &ranges()), vec![vec!["a", "b"]]);
    }

    #[test]
    fn higher_levels_and_unaligned() {
        // Four 6h blocks fill a 24h window; a fifth is the newest.
        let ms: Vec<BlockMeta> = (0..5)
            .map(|i| m(&format!("b{i}"), i * 6 * H, (i + 1) * 6 * H))
            .collect();
        assert_eq!(plan(&ms, &ranges()), vec![vec!["b0", "b1", "b2", "b3"]]);
        // A 24h block and the newest alone: nothing.
        assert!(plan(&[m("x", 0, 24 * H), m("y", 24 * H, 26 * H)], &ranges()).is_empty());
        // Negative times are aligned downwards.
        let ms = [
            m("n1", -6 * H, -4 * H),
            m("n2", -4 * H, -2 * H),
            m("n3", -2 * H, 0),
            m("n4", 0, 2 * H),
        ];
        assert_eq!(plan(&ms, &ranges()), vec![vec!["n1", "n2", "n3"]]);
    }
}
