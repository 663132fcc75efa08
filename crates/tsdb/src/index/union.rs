//! The union of postings lists, as a matcher's values select them.
//!
//! A regex matcher selects many values of one label (`instance=~"node-1.*"`:
//! eleven lists of ~50 series in each block); their union used to be the
//! lists concatenated and sorted, a third of such a query's selection. The
//! lists are sorted, so a bitmap over the id range they span (when it is
//! dense enough) or a pairwise merge gives the sorted union in linear time.

/// Bitmap words allowed per id in the lists: beyond that (few ids spread
/// over a large id range) the lists are merged instead.
const WORDS_PER_ID: usize = 2;

/// Sorted union, without duplicates, of sorted lists.
pub(super) fn union(mut lists: Vec<Vec<u32>>) -> Vec<u32> {
    lists.retain(|l| !l.is_empty());
    if lists.len() <= 1 {
        return lists.pop().unwrap_or_default();
    }
    let total: usize = lists.iter().map(Vec::len).sum();
    let max = lists
        .iter()
        .filter_map(|l| l.last())
        .copied()
        .max()
        .unwrap_or(0);
    let min = lists
        .iter()
        .filter_map(|l| l.first())
        .copied()
        .min()
        .unwrap_or(0);
    let words = ((max - min) as usize >> 6) + 1;
    if words <= total.saturating_mul(WORDS_PER_ID) {
        by_bitmap(&lists, min, words, total)
    } else {
        by_merging(lists)
    }
}

fn by_bitmap(lists: &[Vec<u32>], base: u32, words: usize, total: usize) -> Vec<u32> {
    let mut bits = vec![0u64; words];
    for l in lists {
        for &id in l {
            let off = (id - base) as usize;
            if let Some(w) = bits.get_mut(off >> 6) {
                *w |= 1u64 << (off & 63);
            }
        }
    }
    let mut out = Vec::with_capacity(total);
    for (i, &w) in bits.iter().enumerate() {
        let mut w = w;
        let hi = base + ((i as u32) << 6);
        while w != 0 {
            out.push(hi + w.trailing_zeros());
            w &= w - 1;
        }
    }
    out
}

/// Merges the lists two at a time, shortest first in each round's pairs.
fn by_merging(mut lists: Vec<Vec<u32>>) -> Vec<u32> {
    while lists.len() > 1 {
        let mut next = Vec::with_capacity(lists.len().div_ceil(2));
        let mut it = lists.into_iter();
        while let Some(a) = it.next() {
            match it.next() {
                Some(b) => next.push(merge_two(&a, &b)),
                None => next.push(a),
            }
        }
        lists = next;
    }
    lists.pop().unwrap_or_default()
}

fn merge_two(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        out.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(lists: &[Vec<u32>]) -> Vec<u32> {
        let mut all: Vec<u32> = lists.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    proptest! {
        /// Dense and sparse, disjoint and overlapping lists: the sorted
        /// deduplicated concatenation.
        #[test]
        fn union_is_the_sorted_set(
            lists in prop::collection::vec(
                prop::collection::btree_set(0u32..5000, 0..60), 0..12),
            sparse in any::<bool>(),
        ) {
            let lists: Vec<Vec<u32>> = lists
                .into_iter()
                .map(|s| s.into_iter().map(|x| if sparse { x * 100_003 % 4_000_000_000 } else { x }).collect::<std::collections::BTreeSet<_>>().into_iter().collect())
                .collect();
            prop_assert_eq!(union(lists.clone()), reference(&lists));
            prop_assert_eq!(by_merging(lists.clone()), reference(&lists));
        }
    }

    #[test]
    fn edges() {
        assert_eq!(union(vec![]), Vec::<u32>::new());
        assert_eq!(union(vec![vec![], vec![3]]), vec![3]);
        assert_eq!(union(vec![vec![u32::MAX], vec![0]]), vec![0, u32::MAX]);
        assert_eq!(
            union(vec![vec![u32::MAX - 1, u32::MAX], vec![u32::MAX - 70]]),
            vec![u32::MAX - 70, u32::MAX - 1, u32::MAX]
        );
    }
}
