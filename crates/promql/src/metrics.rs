//! The engine's own counters for promlite's `/metrics` (Prometheus's
//! `prometheus_engine_*`). Shared by every clone of an [`crate::Engine`].

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Query counters of an engine (relaxed atomics).
#[derive(Debug, Default)]
pub struct EngineMetrics {
    in_flight: AtomicI64,
    queries: AtomicU64,
    failures: AtomicU64,
    inner_eval_count: AtomicU64,
    inner_eval_nanos: AtomicU64,
}

/// A reading of [`EngineMetrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EngineMetricsSnapshot {
    /// Queries executing now (`prometheus_engine_queries`).
    pub in_flight: i64,
    /// Queries evaluated.
    pub queries: u64,
    /// Queries whose evaluation failed.
    pub failures: u64,
    /// Evaluations timed (`…_query_duration_seconds_count{slice="inner_eval"}`).
    pub inner_eval_count: u64,
    /// Their total seconds (`…_query_duration_seconds_sum{slice="inner_eval"}`).
    pub inner_eval_seconds: f64,
}

impl EngineMetrics {
    /// Marks a query as started; the guard marks it finished when dropped.
    pub(crate) fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.queries.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Counts one evaluation that took `took` and whether it failed.
    pub(crate) fn observe_eval(&self, took: Duration, failed: bool) {
        self.inner_eval_count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.inner_eval_nanos.fetch_add(nanos, Ordering::Relaxed);
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> EngineMetricsSnapshot {
        EngineMetricsSnapshot {
            in_flight: self.in_flight.load(Ordering::Relaxed),
            queries: self.queries.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            inner_eval_count: self.inner_eval_count.load(Ordering::Relaxed),
            inner_eval_seconds: self.inner_eval_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// Decrements the in-flight gauge on drop (also on panic or early return).
pub(crate) struct InFlight<'a>(&'a EngineMetrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use promlite_model::{labels, Appendable, MemStorage};

    use crate::{Engine, QueryOptions};

    #[test]
    fn queries_and_evaluation_time_are_counted() {
        let db = MemStorage::new();
        let mut app = db.appender();
        app.append(None, &labels!("__name__" => "up"), 1_000, 1.0)
            .unwrap();
        app.commit().unwrap();
        let engine = Engine::default();
        let clone = engine.clone();
        let q = QueryOptions::default();
        engine.instant_query(&db, "up", 2_000, &q).unwrap();
        clone
            .range_query(&db, "rate(up[1m])", 0, 60_000, 15_000, &q)
            .unwrap();
        assert!(engine.instant_query(&db, "up +", 2_000, &q).is_err());
        let m = engine.metrics().snapshot();
        assert_eq!(m.in_flight, 0);
        assert_eq!(m.queries, 2, "a parse error never reaches the evaluator");
        assert_eq!(m.inner_eval_count, 2);
        assert_eq!(m.failures, 0);
        assert!(m.inner_eval_seconds > 0.0);
    }
}
