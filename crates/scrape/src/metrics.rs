//! Scrape counters for promlite's `/metrics` (Prometheus's
//! `prometheus_target_*` families). One [`ScrapeMetrics`] per manager,
//! shared by every target's loop; the counters never go backwards when
//! targets come and go (unlike [`crate::ScrapeCounters`], which are per
//! target).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::scrape_loop::ScrapeReport;

/// Manager-wide scrape counters.
#[derive(Debug, Default)]
pub struct ScrapeMetrics {
    /// Scrapes done.
    pub scrapes: AtomicU64,
    /// Scrapes failed because of `sample_limit`.
    pub exceeded_sample_limit: AtomicU64,
    /// Scrapes failed because of `body_size_limit`.
    pub exceeded_body_size_limit: AtomicU64,
    /// Scrapes failed because of a label limit.
    pub exceeded_label_limits: AtomicU64,
    /// Scraped samples rejected as out of order.
    pub sample_out_of_order: AtomicU64,
    /// Scraped samples rejected as duplicates.
    pub sample_duplicate_timestamp: AtomicU64,
    /// Scraped samples rejected as out of bounds.
    pub sample_out_of_bounds: AtomicU64,
    /// Scrape pool reloads (a job's configuration changed or was added).
    pub pool_reloads: AtomicU64,
    /// Scrape pool reloads that failed.
    pub pool_reloads_failed: AtomicU64,
    /// Actual time between scrapes by configured interval: count, sum (s).
    intervals: Mutex<BTreeMap<Duration, (u64, f64)>>,
}

impl ScrapeMetrics {
    /// Counts one finished scrape; `since_last` is the time since the
    /// target's previous scrape, if there was one.
    pub fn record(&self, report: &ScrapeReport, interval: Duration, since_last: Option<Duration>) {
        let add = |c: &AtomicU64, n: u64| {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&self.scrapes, 1);
        add(&self.sample_out_of_order, report.out_of_order);
        add(&self.sample_duplicate_timestamp, report.duplicates);
        add(&self.sample_out_of_bounds, report.out_of_bounds);
        if let Some(e) = &report.error {
            if e.starts_with("sample_limit ") {
                add(&self.exceeded_sample_limit, 1);
            } else if e.starts_with("label_") {
                add(&self.exceeded_label_limits, 1);
            } else if e.starts_with("body size limit exceeded") {
                add(&self.exceeded_body_size_limit, 1);
            }
        }
        if let Some(d) = since_last {
            let mut m = self.intervals.lock();
            let e = m.entry(interval).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += d.as_secs_f64();
        }
    }

    /// Observed intervals: (configured interval, count, sum of seconds).
    pub fn intervals(&self) -> Vec<(Duration, u64, f64)> {
        self.intervals
            .lock()
            .iter()
            .map(|(k, (c, s))| (*k, *c, *s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_failures_rejections_and_intervals() {
        let m = ScrapeMetrics::default();
        let iv = Duration::from_secs(15);
        let ok = ScrapeReport {
            out_of_order: 2,
            ..Default::default()
        };
        m.record(&ok, iv, None);
        m.record(&ok, iv, Some(Duration::from_millis(15_100)));
        let limited = ScrapeReport {
            error: Some("sample_limit exceeded (limit 1)".into()),
            ..Default::default()
        };
        m.record(&limited, iv, Some(Duration::from_millis(14_900)));
        assert_eq!(m.scrapes.load(Ordering::Relaxed), 3);
        assert_eq!(m.sample_out_of_order.load(Ordering::Relaxed), 4);
        assert_eq!(m.exceeded_sample_limit.load(Ordering::Relaxed), 1);
        let ivs = m.intervals();
        assert_eq!(ivs.len(), 1);
        assert_eq!((ivs[0].0, ivs[0].1), (iv, 2));
        assert!((ivs[0].2 - 30.0).abs() < 1e-9);
    }
}
