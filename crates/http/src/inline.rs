//! Which queries are evaluated inline on the async runtime.
//!
//! Handing a query to tokio's blocking pool and its answer back costs two
//! thread wake-ups (about 0.1 ms of CPU and more of latency on a loaded
//! machine): as much as evaluating a small query. Whether a query is small
//! depends on the data, which its text cannot tell, so the cost of the last
//! evaluation of the same query (text, kind and number of steps) is
//! remembered: dashboards and rules repeat their queries. A query whose last
//! evaluation took at most [`INLINE_MAX`] runs inline on the runtime
//! thread, with its timeout lowered to [`INLINE_BUDGET`]; if it runs out of
//! that budget (the data grew) it is evaluated again on the blocking pool
//! with the rest of its timeout, so a runtime thread is never held longer
//! than the budget. Every other query goes to the blocking pool as before.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::Duration;

/// Queries whose last evaluation (with encoding) took at most this long
/// run inline.
pub(crate) const INLINE_MAX: Duration = Duration::from_millis(2);

/// Most time an inline evaluation may take before it is abandoned and
/// evaluated again on the blocking pool.
pub(crate) const INLINE_BUDGET: Duration = Duration::from_millis(10);

/// Most queries remembered; the memo starts over when full.
const MAX_ENTRIES: usize = 4096;

/// The last evaluation time of recently evaluated queries.
pub(crate) struct CostMemo {
    map: Mutex<HashMap<u64, Duration>>,
    hasher: RandomState,
}

impl Default for CostMemo {
    fn default() -> Self {
        CostMemo {
            map: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
        }
    }
}

impl CostMemo {
    /// The key of a query: its text, whether it is a range query and its
    /// number of steps (the same text over a longer range costs more).
    pub(crate) fn key(&self, query: &str, range: bool, steps: i64) -> u64 {
        self.hasher.hash_one((query, range, steps))
    }

    /// Whether the query's last evaluation was cheap enough to run inline.
    pub(crate) fn is_cheap(&self, key: u64) -> bool {
        self.map
            .lock()
            .is_ok_and(|m| m.get(&key).is_some_and(|&cost| cost <= INLINE_MAX))
    }

    /// Remembers how long the query's evaluation took.
    pub(crate) fn record(&self, key: u64, cost: Duration) {
        let Ok(mut m) = self.map.lock() else {
            return;
        };
        if m.len() >= MAX_ENTRIES && !m.contains_key(&key) {
            m.clear();
        }
        m.insert(key, cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_last_cost() {
        let m = CostMemo::default();
        let a = m.key("up", false, 1);
        assert_ne!(a, m.key("up", true, 1));
        assert_ne!(a, m.key("up", false, 2));
        assert_ne!(a, m.key("down", false, 1));
        assert!(!m.is_cheap(a), "unknown queries are not inline");
        m.record(a, Duration::from_micros(300));
        assert!(m.is_cheap(a));
        m.record(a, INLINE_MAX + Duration::from_micros(1));
        assert!(!m.is_cheap(a), "the last cost counts");
    }

    #[test]
    fn bounded() {
        let m = CostMemo::default();
        for i in 0..(MAX_ENTRIES as i64 + 10) {
            m.record(m.key("q", false, i), Duration::ZERO);
        }
        assert!(m.map.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
