//! The scrape cache seen from outside: a known series reaches storage with
//! its reference and the same labels, relabel results are cached (also
//! "dropped"), unseen series are evicted after a scrape and get staleness
//! markers, and a failed scrape leaves the cache usable.

mod common;

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use promlite_exposition::Format;
use promlite_model::{
    is_stale_nan, AppendError, Appendable, Appender, Clock, Labels, ManualClock, MemStorage,
    SeriesRef, StorageError,
};
use promlite_scrape::target::{populate, Populated};
use promlite_scrape::{Config, Health, ScrapeLoop, ScrapeOptions, TargetShared};

/// One `append` call as the storage saw it.
#[derive(Clone, Debug, PartialEq)]
struct Call {
    hint: Option<SeriesRef>,
    labels: Labels,
    t: i64,
    v: f64,
}

/// MemStorage that records every `append` call.
#[derive(Clone, Default)]
struct Recording {
    db: MemStorage,
    calls: Arc<Mutex<Vec<Call>>>,
}

struct RecordingAppender {
    inner: Box<dyn Appender>,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Appendable for Recording {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(RecordingAppender {
            inner: self.db.appender(),
            calls: self.calls.clone(),
        })
    }
}

impl Appender for RecordingAppender {
    fn append(
        &mut self,
        hint: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        self.calls.lock().push(Call {
            hint,
            labels: labels.clone(),
            t,
            v,
        });
        self.inner.append(hint, labels, t, v)
    }
    fn commit(&mut self) -> Result<(), StorageError> {
        self.inner.commit()
    }
    fn rollback(&mut self) {
        self.inner.rollback()
    }
}

impl Recording {
    /// The calls since the last `take`, without the report series.
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock())
            .into_iter()
            .filter(|c| {
                let n = c.labels.metric_name().unwrap_or_default();
                n != "up" && !n.starts_with("scrape_")
            })
            .collect()
    }
}

fn scrape_loop(extra: &str, storage: Arc<dyn Appendable>) -> ScrapeLoop {
    let yaml = format!(
        "scrape_configs:\n  - job_name: j\n    static_configs: [{{targets: ['t:80']}}]\n{extra}"
    );
    let cfg = Config::from_str(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let sc = &cfg.scrape_configs[0];
    let groups = promlite_scrape::discovery::static_groups(&sc.static_configs);
    let t = match populate(&groups[0].labels, &groups[0].targets[0], sc) {
        Ok(Populated::Target(t)) => t,
        other => panic!("{other:?}"),
    };
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(0));
    ScrapeLoop::new(
        sc,
        Arc::new(TargetShared::new(t)),
        storage,
        clock,
        &ScrapeOptions::default(),
    )
    .unwrap()
}

fn ingest(sl: &mut ScrapeLoop, body: &str, ts: i64) -> promlite_scrape::ScrapeReport {
    sl.ingest(body.as_bytes(), Format::PrometheusText, ts, Instant::now())
}

const RELABEL: &str = "    metric_relabel_configs:\n      - {source_labels: [__name__], regex: 'drop_me', action: drop}\n      - {source_labels: [code], target_label: status, replacement: 'http_$1'}\n";

#[test]
fn known_series_reach_storage_with_their_reference_and_cached_labels() {
    let rec = Recording::default();
    let mut sl = scrape_loop(RELABEL, Arc::new(rec.clone()));
    let body = "req{code=\"200\"} 1\nreq{code=\"500\"} 2\ndrop_me 3\n";
    let r = ingest(&mut sl, body, 1_000);
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(
        (r.samples_scraped, r.samples_post_relabel, r.series_added),
        (3, 2, 2)
    );
    assert_eq!(sl.cached_series(), 3, "the dropped series is cached too");
    let first = rec.take();
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|c| c.hint.is_none()));
    assert_eq!(first[0].labels.get("status"), Some("http_200"));
    assert_eq!(first[1].labels.get("status"), Some("http_500"));

    let r = ingest(&mut sl, body, 2_000);
    assert_eq!(
        (r.samples_scraped, r.samples_post_relabel, r.series_added),
        (3, 2, 0)
    );
    let second = rec.take();
    assert_eq!(second.len(), 2);
    for (a, b) in first.iter().zip(&second) {
        assert!(b.hint.is_some(), "cached series carry their reference");
        assert_eq!(a.labels, b.labels, "same final labels from the cache");
        assert_eq!((b.t, b.v), (2_000, a.v));
    }
}

#[test]
fn unseen_series_are_evicted_and_marked_stale() {
    let rec = Recording::default();
    let mut sl = scrape_loop(RELABEL, Arc::new(rec.clone()));
    ingest(
        &mut sl,
        "req{code=\"200\"} 1\nreq{code=\"500\"} 2\ndrop_me 3\n",
        1_000,
    );
    rec.take();
    let r = ingest(&mut sl, "req{code=\"200\"} 5\n", 2_000);
    assert_eq!(r.health, Health::Up);
    assert_eq!(sl.cached_series(), 1, "unseen entries are evicted");
    let calls = rec.take();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].labels.get("code"), Some("200"));
    assert_eq!(calls[0].v, 5.0);
    assert_eq!(calls[1].labels.get("code"), Some("500"));
    assert!(
        is_stale_nan(calls[1].v),
        "the vanished series gets a marker"
    );
    assert_eq!(calls[1].t, 2_000);

    // It comes back: relabeled again, appended without a reference.
    let r = ingest(&mut sl, "req{code=\"200\"} 6\nreq{code=\"500\"} 7\n", 3_000);
    assert_eq!(r.series_added, 1);
    let calls = rec.take();
    assert_eq!(calls[1].labels.get("status"), Some("http_500"));
    assert_eq!(calls[1].hint, None);
    assert_eq!(calls[0].hint.map(|_| ()), Some(()));
}

#[test]
fn a_failed_scrape_keeps_the_cache_consistent() {
    let rec = Recording::default();
    let mut sl = scrape_loop("    sample_limit: 2\n", Arc::new(rec.clone()));
    ingest(&mut sl, "a 1\nb 2\n", 1_000);
    let r = ingest(&mut sl, "a 1\nb 2\nc 3\n", 2_000);
    assert_eq!(r.health, Health::Down);
    assert!(
        r.error.unwrap_or_default().starts_with("sample_limit 2"),
        "sample limit"
    );
    rec.take();
    // Back under the limit: everything is appended again, correctly.
    let r = ingest(&mut sl, "a 4\nb 5\n", 3_000);
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    let calls = rec.take();
    let got: Vec<(String, f64)> = calls
        .iter()
        .map(|c| (c.labels.metric_name().unwrap_or_default().to_string(), c.v))
        .collect();
    assert_eq!(got, vec![("a".to_string(), 4.0), ("b".to_string(), 5.0)]);
    let a = common::series(&rec.db, "a");
    assert_eq!(a[0].1.last(), Some(&(3_000, 4.0)));
}

#[test]
fn a_label_limit_error_is_not_cached() {
    let db = MemStorage::new();
    let mut sl = scrape_loop("    label_limit: 3\n", Arc::new(db.clone()));
    // job + instance + __name__ + x = 4 labels
    for ts in [1_000, 2_000] {
        let r = ingest(&mut sl, "m{x=\"1\"} 1\n", ts);
        assert_eq!(r.health, Health::Down);
        assert!(
            r.error
                .as_deref()
                .unwrap_or_default()
                .starts_with("label_limit exceeded"),
            "{:?}",
            r.error
        );
    }
    assert!(common::series(&db, "m").is_empty());
}
