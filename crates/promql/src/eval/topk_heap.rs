//! `topk`/`bottomk` selection exactly as Prometheus (2.44 and later, so
//! all of 3.x) makes it.
//!
//! Prometheus keeps a bounded binary heap (Go's `container/heap`) with the
//! weakest kept sample on top and replaces the top only when a later sample
//! is strictly better. Which of several equal values survive therefore
//! depends on the heap's sift order, not just on input order; a plain
//! stable sort picks different series when values tie (common with integer
//! counters or zeros). This module replays the same heap operations
//! (`heap.Push`, then overwrite the top and `heap.Fix`) so the same series
//! are selected. Prometheus 2.43 and older popped and pushed instead, which
//! resolves some ties differently.

/// Whether `a` sits above `b` in the heap (it is the weaker sample):
/// Prometheus's `vectorByValueHeap.Less` (topk) or
/// `vectorByReverseValueHeap.Less` (bottomk). NaN is always weakest.
fn weaker(a: f64, b: f64, top: bool) -> bool {
    if a.is_nan() {
        return true;
    }
    if top {
        a < b
    } else {
        a > b
    }
}

/// Go's `heap.up`.
fn up(h: &mut [(usize, f64)], mut j: usize, top: bool) {
    while j > 0 {
        let i = (j - 1) / 2;
        if !weaker(h[j].1, h[i].1, top) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

/// Go's `heap.down`; returns whether the element moved.
fn down(h: &mut [(usize, f64)], i0: usize, top: bool) -> bool {
    let n = h.len();
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        let j2 = j1 + 1;
        if j2 < n && weaker(h[j2].1, h[j1].1, top) {
            j = j2;
        }
        if !weaker(h[j].1, h[i].1, top) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    i > i0
}

/// Selects up to `k` of `members` (`(input index, value)` in input order)
/// as Prometheus's `topk` (`top`) or `bottomk` does, returned best first
/// (NaN last).
pub(super) fn select(members: &[(usize, f64)], k: usize, top: bool) -> Vec<(usize, f64)> {
    let mut h = Heap::new(k.min(members.len()), k, top);
    for &(j, v) in members {
        h.offer(j, v);
    }
    h.finish()
}

/// [`select`] fed one member at a time, so a caller can keep what it needs
/// of a member (its labels) only when the member enters the heap.
pub(super) struct Heap {
    h: Vec<(usize, f64)>,
    k: usize,
    top: bool,
}

impl Heap {
    /// An empty heap for `k` members, room for `cap` reserved.
    pub(super) fn new(cap: usize, k: usize, top: bool) -> Heap {
        Heap {
            h: Vec::with_capacity(cap),
            k,
            top,
        }
    }

    /// Offers the next member (in input order); returns whether it entered
    /// the heap (it may be evicted by a later one).
    pub(super) fn offer(&mut self, j: usize, v: f64) -> bool {
        let top = self.top;
        let h = &mut self.h;
        if h.len() < self.k {
            h.push((j, v));
            let last = h.len() - 1;
            up(h, last, top);
            return true;
        }
        let Some(&(_, root)) = h.first() else {
            return false;
        };
        let better = if top { root < v } else { root > v };
        if better || (root.is_nan() && !v.is_nan()) {
            h[0] = (j, v);
            if !down(h, 0, top) {
                up(h, 0, top);
            }
            return true;
        }
        false
    }

    /// The members kept, best first (NaN last).
    pub(super) fn finish(mut self) -> Vec<(usize, f64)> {
        let top = self.top;
        self.h.sort_by(|a, b| {
            use std::cmp::Ordering;
            match (a.1.is_nan(), b.1.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ if top => b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal),
                _ => a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal),
            }
        });
        self.h
    }
}

#[cfg(test)]
mod tests {
    use super::select;

    fn idx(v: &[(usize, f64)]) -> Vec<usize> {
        let mut out: Vec<usize> = v.iter().map(|x| x.0).collect();
        out.sort_unstable();
        out
    }

    #[test]
    fn picks_the_largest_and_smallest() {
        let m: Vec<(usize, f64)> = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0]
            .into_iter()
            .enumerate()
            .collect();
        let t = select(&m, 3, true);
        assert_eq!(t.iter().map(|x| x.1).collect::<Vec<_>>(), [9.0, 5.0, 4.0]);
        let b = select(&m, 2, false);
        assert_eq!(b.iter().map(|x| x.1).collect::<Vec<_>>(), [1.0, 1.5]);
        assert_eq!(select(&m, 100, true).len(), 7);
        assert!(select(&m, 0, true).is_empty());
    }

    #[test]
    fn ties_resolve_like_prometheus_heap() {
        // The heap holds 2.9 (idx 0, on top), 3.2 (idx 1), 4.5 (idx 2).
        // idx 3's 3.2 replaces the top and stays there (its child 3.2 is
        // not strictly weaker), so 4.2 (idx 4) evicts idx 3: the earlier
        // tie survives here.
        let m = vec![(0, 2.9), (1, 3.2), (2, 4.5), (3, 3.2), (4, 4.2)];
        assert_eq!(idx(&select(&m, 3, true)), [1, 2, 4]);
        // Input order where the later tie survives: the earlier one is on
        // top when the better value arrives.
        let m = vec![(0, 3.2), (1, 4.5), (2, 3.2), (3, 4.2)];
        assert_eq!(idx(&select(&m, 3, true)), [1, 2, 3]);
        // Equal values: the later one replaces nothing, but a better value
        // evicts the tie that `up`/`down` left on top (Prometheus keeps
        // idx 1 and idx 2 here; a stable sort would keep idx 0).
        let m = vec![(0, 1.0), (1, 1.0), (2, 2.0)];
        assert_eq!(idx(&select(&m, 2, true)), [1, 2]);
        // bottomk mirrors it.
        let m = vec![(0, 1.0), (1, 0.5), (2, 1.0), (3, 0.7)];
        assert_eq!(idx(&select(&m, 3, false)), [1, 2, 3]);
    }

    #[test]
    fn nan_is_kept_only_when_nothing_better() {
        let m = vec![(0, f64::NAN), (1, 1.0), (2, f64::NAN)];
        let t = select(&m, 2, true);
        assert_eq!(t[0].1, 1.0);
        assert!(t[1].1.is_nan());
        let b = select(&m, 1, false);
        assert_eq!(b[0].1, 1.0);
    }
}
