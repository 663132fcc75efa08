//! One target's scrape loop: schedule, fetch, parse, relabel, limit checks,
//! append, staleness markers and the synthetic `up`/`scrape_*` series.

use std::sync::Arc;
use std::time::{Duration, Instant};

use promlite_exposition::{Entry, Format, Parsed, Parser, SampleEntry};
use promlite_model::{
    AppendError, Appendable, Appender, Clock, Labels, LabelsBuilder, SeriesRef, METRIC_NAME,
    STALE_NAN,
};
use tokio::sync::watch;

use crate::cache::{SeriesCache, SeriesSet};
use crate::cardinality::CardinalityStats;
use crate::config::ScrapeConfig;
use crate::fetch::Fetcher;
use crate::metadata::{self, MetaLine};
use crate::relabel::{self, RelabelConfig};
use crate::target::{Health, TargetShared};
use crate::ticker::Ticker;

/// How many samples ahead the scrape asks storage to prefetch a series.
const PREFETCH_AHEAD: usize = 8;

/// Options that apply to every scrape loop.
#[derive(Clone, Debug)]
pub struct ScrapeOptions {
    /// Snap a scrape's timestamp to the previous one plus the interval when it
    /// is within this tolerance (capped at 1% of the interval); zero disables
    /// alignment. Prometheus's `scrape.timestamp-tolerance`, 2ms by default.
    pub timestamp_tolerance: Duration,
    /// Seed mixed into each target's start offset (Prometheus derives it from
    /// the external labels so HA pairs do not scrape in lockstep).
    pub offset_seed: u64,
    /// The runtime the scrape loops (and file discovery) run on; `None`:
    /// the runtime `apply_config` is called in. The server gives them a
    /// single-threaded runtime of their own ([`crate::ScrapeRuntime`]): a scrape
    /// then wakes one thread, not a worker plus the one it hands off to.
    pub runtime: Option<tokio::runtime::Handle>,
    /// Time the scrapes with a periodic kernel timer (`timerfd`, Linux)
    /// per loop instead of tokio's timer wheel, which wakes the runtime an
    /// extra time for most deadlines more than 64 ms away (see
    /// `ticker.rs`). Off by default: a kernel timer does not follow
    /// tokio's paused test clock. The server turns it on.
    pub kernel_timers: bool,
}

impl Default for ScrapeOptions {
    fn default() -> Self {
        ScrapeOptions {
            timestamp_tolerance: Duration::from_millis(2),
            offset_seed: 0,
            runtime: None,
            kernel_timers: false,
        }
    }
}

/// What a running loop is told through its signal channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LoopSignal {
    /// Keep scraping.
    #[default]
    Run,
    /// The target is gone: write staleness markers and end.
    Stop,
    /// A reload replaces this loop with one for the same target: end without
    /// staleness markers and leave the state to the successor.
    Handover,
}

/// State a loop leaves to its successor on reload, so a config change does
/// not mark the target's series stale.
#[derive(Clone, Debug, Default)]
pub struct Handover {
    prev: SeriesSet,
    last_ts: Option<i64>,
    report_written: bool,
}

/// Where a loop leaves its [`Handover`].
pub type HandoverSlot = Arc<parking_lot::Mutex<Option<Handover>>>;

/// What one scrape did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScrapeReport {
    /// Timestamp (ms) the samples got.
    pub timestamp_ms: i64,
    /// `Up` or `Down`.
    pub health: Health,
    /// Why the scrape failed.
    pub error: Option<String>,
    /// Samples in the body (`scrape_samples_scraped`).
    pub samples_scraped: u64,
    /// Samples left after metric relabeling.
    pub samples_post_relabel: u64,
    /// Series new to this target (`scrape_series_added`).
    pub series_added: u64,
    /// Samples rejected as out of order.
    pub out_of_order: u64,
    /// Samples rejected as duplicates with another value.
    pub duplicates: u64,
    /// Samples rejected as out of bounds / too old.
    pub out_of_bounds: u64,
    /// Wall time of the scrape.
    pub duration: Duration,
}

#[derive(Clone, Copy, Debug, Default)]
struct Limits {
    samples: u64,
    labels: u64,
    name_len: u64,
    value_len: u64,
}

/// The scrape loop of one target.
pub struct ScrapeLoop {
    shared: Arc<TargetShared>,
    appendable: Arc<dyn Appendable>,
    clock: Arc<dyn Clock>,
    fetcher: Fetcher,
    honor_labels: bool,
    honor_timestamps: bool,
    track_timestamps_staleness: bool,
    metric_relabel: Vec<RelabelConfig>,
    limits: Limits,
    interval_ms: i64,
    tolerance_ms: i64,
    offset_seed: u64,
    kernel_timers: bool,
    /// The scrape cache; also tracks the series the last successful scrape
    /// wrote (for staleness).
    cache: SeriesCache,
    /// Report series written so far (for staleness at stop).
    report_written: bool,
    /// Labels of the report series ([`REPORT_NAMES`] order) with the
    /// storage's references once known.
    report_series: Vec<(Labels, Option<SeriesRef>)>,
    last_ts: Option<i64>,
    /// Size of the last body fetched, so the next body's buffer is
    /// allocated once at about the right size even when the target sends
    /// no `Content-Length` (gzip, chunked encoding), instead of growing by
    /// doubling and copying on every scrape.
    last_body_len: usize,
    /// Metadata lines in the last body (the next scrape's buffer size).
    meta_lines: usize,
}

const REPORT_NAMES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

impl ScrapeLoop {
    /// A loop for `shared.target`, scraped with `cfg`'s settings.
    pub fn new(
        cfg: &ScrapeConfig,
        shared: Arc<TargetShared>,
        appendable: Arc<dyn Appendable>,
        clock: Arc<dyn Clock>,
        options: &ScrapeOptions,
    ) -> Result<ScrapeLoop, String> {
        let t = &shared.target;
        let fetcher = Fetcher::new(cfg, t.scrape_url.clone(), t.timeout)?;
        let interval_ms = t.interval.as_millis().min(i64::MAX as u128) as i64;
        let tolerance_ms = (options.timestamp_tolerance.as_millis() as i64).min(interval_ms / 100);
        let report_series = REPORT_NAMES
            .iter()
            .map(|name| {
                let mut b = t.labels.builder();
                b.set(METRIC_NAME, *name);
                (b.build(), None)
            })
            .collect();
        Ok(ScrapeLoop {
            fetcher,
            honor_labels: cfg.honor_labels,
            honor_timestamps: cfg.honor_timestamps,
            track_timestamps_staleness: cfg.track_timestamps_staleness,
            metric_relabel: cfg.metric_relabel_configs.clone(),
            limits: Limits {
                samples: cfg.sample_limit,
                labels: cfg.label_limit,
                name_len: cfg.label_name_length_limit,
                value_len: cfg.label_value_length_limit,
            },
            interval_ms,
            tolerance_ms,
            offset_seed: options.offset_seed,
            kernel_timers: options.kernel_timers,
            shared,
            appendable,
            clock,
            cache: SeriesCache::default(),
            report_written: false,
            report_series,
            last_ts: None,
            last_body_len: 0,
            meta_lines: 0,
        })
    }

    /// The target this loop scrapes.
    pub fn target(&self) -> &Arc<TargetShared> {
        &self.shared
    }

    /// Delay before the first scrape: puts this target at a fixed, hash-derived
    /// phase within the interval (Prometheus's `offset`), so targets spread
    /// out and a restarted loop keeps its phase.
    pub fn start_offset(&self, now_ms: i64) -> Duration {
        let iv = self.interval_ms.max(1) as u64;
        let now = now_ms.rem_euclid(iv as i64) as u64;
        let base = iv - now;
        let offset = (self.shared.target.hash() ^ self.offset_seed) % iv;
        let mut next = base + offset;
        if next > iv {
            next -= iv;
        }
        Duration::from_millis(next)
    }

    /// The timestamp for a scrape starting at `now_ms`: snapped to the
    /// previous scrape plus the interval when within the tolerance.
    fn aligned(&self, now_ms: i64) -> i64 {
        if let Some(last) = self.last_ts {
            let expected = last.saturating_add(self.interval_ms);
            if self.tolerance_ms > 0 && (now_ms - expected).abs() <= self.tolerance_ms {
                return expected;
            }
        }
        now_ms
    }

    /// Scrapes now (timestamp from the clock, aligned) and appends the result.
    pub async fn scrape(&mut self) -> ScrapeReport {
        let ts = self.aligned(self.clock.now_ms());
        self.scrape_at(ts).await
    }

    /// Scrapes and appends with samples stamped `ts_ms`.
    pub async fn scrape_at(&mut self, ts_ms: i64) -> ScrapeReport {
        let start = Instant::now();
        let fetched = self.fetcher.fetch(self.last_body_len).await;
        if let Ok(f) = &fetched {
            self.last_body_len = f.body.len();
        }
        let result = fetched.map(|f| {
            let format = Format::from_content_type(f.content_type.as_deref());
            (f.body, format)
        });
        let report = match result {
            Ok((body, format)) => self.ingest(&body, format, ts_ms, start),
            Err(e) => self.ingest_failure(e, ts_ms, start, ScrapeReport::default()),
        };
        self.last_ts = Some(ts_ms);
        report
    }

    /// Parses `body` and appends it as one scrape at `ts_ms` (the part of a
    /// scrape after the HTTP fetch; public for embedding and tests).
    pub fn ingest(
        &mut self,
        body: &[u8],
        format: Format,
        ts_ms: i64,
        start: Instant,
    ) -> ScrapeReport {
        self.cache.begin_scrape(format);
        let mut app = self.appendable.appender();
        let mut report = ScrapeReport {
            timestamp_ms: ts_ms,
            ..Default::default()
        };
        let mut meta: Vec<MetaLine<'_>> = Vec::with_capacity(self.meta_lines);
        match self.append_body(app.as_mut(), body, format, ts_ms, &mut meta, &mut report) {
            Ok(()) => {}
            Err(e) => {
                app.rollback();
                return self.ingest_failure(e, ts_ms, start, report);
            }
        }
        for (l, sref) in self.cache.stale() {
            let _ = app.append(sref, &l, ts_ms, STALE_NAN);
        }
        report.health = Health::Up;
        report.duration = start.elapsed();
        self.append_report(app.as_mut(), &report);
        if let Err(e) = app.commit() {
            return self.ingest_failure(format!("commit: {e}"), ts_ms, start, report);
        }
        self.cache.end_scrape_ok();
        if !metadata::unchanged(&self.shared.metadata.read(), &meta) {
            *self.shared.metadata.write() = metadata::build(&meta);
        }
        self.meta_lines = meta.len();
        self.record(&report);
        report
    }

    fn ingest_failure(
        &mut self,
        error: String,
        ts_ms: i64,
        start: Instant,
        mut report: ScrapeReport,
    ) -> ScrapeReport {
        report.timestamp_ms = ts_ms;
        report.health = Health::Down;
        report.error = Some(error);
        report.series_added = 0;
        report.duration = start.elapsed();
        let mut app = self.appendable.appender();
        for l in self.cache.prev_labels() {
            let _ = app.append(None, l, ts_ms, STALE_NAN);
        }
        self.append_report(app.as_mut(), &report);
        if let Err(e) = app.commit() {
            tracing::warn!(target = %self.shared.target.scrape_url, "committing report of failed scrape: {e}");
        }
        self.cache.forget_prev();
        self.record(&report);
        report
    }

    fn record(&self, report: &ScrapeReport) {
        let mut st = self.shared.state.write();
        let since_last = st.last_scrape_ms.map(|prev| {
            Duration::from_millis(
                u64::try_from(report.timestamp_ms.saturating_sub(prev)).unwrap_or(0),
            )
        });
        self.shared
            .metrics
            .record(report, self.shared.target.interval, since_last);
        st.health = report.health;
        st.last_scrape_ms = Some(report.timestamp_ms);
        st.last_scrape_duration = report.duration;
        st.last_error = report.error.clone().unwrap_or_default();
        st.last_samples = report.samples_post_relabel;
        let t = &mut st.totals;
        t.scrapes += 1;
        t.out_of_order += report.out_of_order;
        t.duplicates += report.duplicates;
        t.out_of_bounds += report.out_of_bounds;
        if let Some(e) = &report.error {
            t.failed += 1;
            if e.starts_with("sample_limit ") {
                t.exceeded_sample_limit += 1;
            } else if e.starts_with("label_") {
                t.exceeded_label_limits += 1;
            } else if e.starts_with("body size limit exceeded") {
                t.exceeded_body_size_limit += 1;
            }
        }
    }

    fn append_report(&mut self, app: &mut dyn Appender, r: &ScrapeReport) {
        let up = if r.health == Health::Up { 1.0 } else { 0.0 };
        let values = [
            up,
            r.duration.as_secs_f64(),
            r.samples_scraped as f64,
            r.samples_post_relabel as f64,
            r.series_added as f64,
        ];
        for ((l, sref), v) in self.report_series.iter_mut().zip(values) {
            match app.append(*sref, l, r.timestamp_ms, v) {
                Ok(got) => *sref = Some(got),
                Err(e) => tracing::debug!("appending {l}: {e}"),
            }
        }
        self.report_written = true;
    }

    /// Writes staleness markers for every series of the last scrape and for
    /// the report series: the target went away (reload or stop).
    pub fn write_stale_markers(&mut self, ts_ms: i64) {
        let mut app = self.appendable.appender();
        for l in self.cache.prev_labels() {
            let _ = app.append(None, l, ts_ms, STALE_NAN);
        }
        if self.report_written {
            for (l, sref) in &self.report_series {
                let _ = app.append(*sref, l, ts_ms, STALE_NAN);
            }
        }
        if let Err(e) = app.commit() {
            tracing::warn!("writing staleness markers: {e}");
        }
        self.cache.forget_prev();
    }

    /// Number of series in the scrape cache (kept and dropped ones).
    pub fn cached_series(&self) -> usize {
        self.cache.len()
    }
}

/// Builds a sample's final labels: target labels merged (honor_labels /
/// `exported_` rules), then metric relabeling. None if dropped.
fn sample_labels(
    s: &SampleEntry<'_>,
    target: &Labels,
    honor_labels: bool,
    metric_relabel: &[RelabelConfig],
) -> Option<Labels> {
    let mut b = LabelsBuilder::new();
    b.set(METRIC_NAME, s.name);
    for (n, v) in &s.labels {
        b.set(*n, v.as_ref());
    }
    mutate_labels(&mut b, target, honor_labels);
    for rc in metric_relabel {
        if !relabel::apply(&mut b, rc) {
            return None;
        }
    }
    let l = b.build();
    if l.is_empty() {
        None
    } else {
        Some(l)
    }
}

impl Limits {
    fn check(&self, l: &Labels) -> Result<(), String> {
        let lim = *self;
        let Some(metric) = l.metric_name() else {
            return Err(format!(
                "missing metric name (__name__ label) in {l} after metric relabeling"
            ));
        };
        if lim.labels > 0 && l.len() as u64 > lim.labels {
            return Err(format!(
                "label_limit exceeded (metric: {metric}, number of labels: {}, limit: {})",
                l.len(),
                lim.labels
            ));
        }
        for lb in l.iter() {
            if lim.name_len > 0 && lb.name.len() as u64 > lim.name_len {
                return Err(format!(
                    "label_name_length_limit exceeded (metric: {metric}, label name: {}, length: {}, limit: {})",
                    lb.name,
                    lb.name.len(),
                    lim.name_len
                ));
            }
            if lim.value_len > 0 && lb.value.len() as u64 > lim.value_len {
                return Err(format!(
                    "label_value_length_limit exceeded (metric: {metric}, label name: {}, value: {:?}, length: {}, limit: {})",
                    lb.name,
                    truncate(lb.value, 50),
                    lb.value.len(),
                    lim.value_len
                ));
            }
        }
        Ok(())
    }
}

impl ScrapeLoop {
    #[allow(clippy::too_many_arguments)]
    fn append_body<'b>(
        &mut self,
        app: &mut dyn Appender,
        body: &'b [u8],
        format: Format,
        ts: i64,
        meta: &mut Vec<MetaLine<'b>>,
        report: &mut ScrapeReport,
    ) -> Result<(), String> {
        let mut p = Parser::new(body, format);
        // Label sets are parsed only for series the cache does not know.
        p.set_lazy_labels(true);
        let mut s = SampleEntry::default();
        let mut overflow: Option<CardinalityStats> = None;
        let iter = self.cache.iteration();
        loop {
            // The common sample line first, without `next_into`'s wide result.
            if !p.try_next_sample(&mut s) {
                let Some(r) = p.next_into(&mut s) else {
                    break;
                };
                match r.map_err(|e| format!("parsing {} body: {e}", format_name(format)))? {
                    Parsed::Other(Entry::Type { name, metric_type }) => {
                        meta.push(MetaLine::Type(name, metric_type));
                        continue;
                    }
                    Parsed::Other(Entry::Help { name, help }) => {
                        meta.push(MetaLine::Help(name, help));
                        continue;
                    }
                    Parsed::Other(Entry::Unit { name, unit }) => {
                        meta.push(MetaLine::Unit(name, unit));
                        continue;
                    }
                    Parsed::Other(_) => continue,
                    Parsed::Sample => {}
                }
            }
            report.samples_scraped += 1;
            // The series a few lines on, if the body keeps its order.
            if let Some(next) = self.cache.upcoming(PREFETCH_AHEAD) {
                app.prefetch(next);
            }
            let (target, honor, relabel, limits) = (
                &self.shared.target.labels,
                self.honor_labels,
                &self.metric_relabel,
                &self.limits,
            );
            let entry = self.cache.entry(p.series_bytes(), || {
                p.labels_into(&mut s)
                    .map_err(|e| format!("parsing {} body: {e}", format_name(format)))?;
                let labels = sample_labels(&s, target, honor, relabel);
                if let Some(l) = &labels {
                    limits.check(l)?;
                }
                Ok(labels)
            })?;
            let Some(labels) = entry.labels.as_ref() else {
                continue;
            };
            report.samples_post_relabel += 1;
            if let Some(stats) = overflow.as_mut() {
                stats.add(labels);
                continue;
            }
            if self.limits.samples > 0 && report.samples_post_relabel > self.limits.samples {
                let labels = labels.clone();
                let mut stats = CardinalityStats::default();
                for l in self.cache.cur_labels() {
                    stats.add(l);
                }
                stats.add(&labels);
                overflow = Some(stats);
                continue;
            }
            let explicit = self.honor_timestamps && s.timestamp_ms.is_some();
            let t = if explicit {
                s.timestamp_ms.unwrap_or(ts)
            } else {
                ts
            };
            match app.append(entry.sref(), labels, t, s.value) {
                Ok(r) => {
                    if entry.sref().is_none() {
                        report.series_added += 1;
                    }
                    entry.set_sref(r);
                }
                Err(AppendError::OutOfOrder) => report.out_of_order += 1,
                Err(AppendError::Duplicate) => report.duplicates += 1,
                Err(AppendError::OutOfBounds | AppendError::TooOld) => report.out_of_bounds += 1,
                Err(AppendError::InvalidLabels(m)) => {
                    tracing::debug!("invalid labels {labels}: {m}")
                }
                Err(AppendError::SeriesLimit { limit }) => {
                    let mut stats = CardinalityStats::default();
                    for l in self.cache.cur_labels() {
                        stats.add(l);
                    }
                    let hint = stats
                        .culprit()
                        .map(|c| format!(": {c}"))
                        .unwrap_or_default();
                    return Err(format!("storage series limit {limit} reached{hint}"));
                }
                Err(e @ AppendError::Storage(_)) => return Err(format!("appending: {e}")),
            }
            if (!explicit || self.track_timestamps_staleness) && entry.mark_written(iter) {
                self.cache.wrote();
            }
        }
        if let Some(stats) = overflow {
            let hint = stats
                .culprit()
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            return Err(format!(
                "sample_limit {} exceeded ({} samples){hint}",
                self.limits.samples, report.samples_post_relabel
            ));
        }
        Ok(())
    }

    /// Takes over the state of the loop this one replaces.
    pub fn adopt(&mut self, h: Handover) {
        self.cache.adopt_prev(h.prev);
        self.last_ts = h.last_ts;
        self.report_written = h.report_written;
    }

    /// Runs until `signal` leaves [`LoopSignal::Run`]: waits for the start
    /// offset, then scrapes every interval. On `Stop` writes staleness
    /// markers; on `Handover` leaves its state in `handover` instead.
    pub async fn run(mut self, mut signal: watch::Receiver<LoopSignal>, handover: HandoverSlot) {
        let offset = self.start_offset(self.clock.now_ms());
        let interval = Duration::from_millis(self.interval_ms.max(1) as u64);
        let mut ticker = Ticker::new(offset, interval, self.kernel_timers);
        let mut running = true;
        while running {
            tokio::select! {
                () = ticker.tick() => {}
                _ = signal.wait_for(|s| *s != LoopSignal::Run) => running = false,
            }
            if !running {
                break;
            }
            tokio::select! {
                _ = self.scrape() => {}
                _ = signal.wait_for(|s| *s != LoopSignal::Run) => running = false,
            }
        }
        let mode = *signal.borrow();
        if mode == LoopSignal::Handover {
            *handover.lock() = Some(Handover {
                prev: self.cache.prev_set(),
                last_ts: self.last_ts,
                report_written: self.report_written,
            });
            return;
        }
        let now = self.clock.now_ms();
        let ts = self.last_ts.map_or(now, |l| now.max(l + 1));
        self.write_stale_markers(ts);
    }
}

/// Merges the target's labels into a sample's: with `honor_labels` the
/// sample's own values win; otherwise the target's win and the sample's
/// conflicting values move to `exported_<name>` (more `exported_` prefixes
/// until free), like Prometheus's `mutateSampleLabels`.
pub fn mutate_labels(b: &mut LabelsBuilder, target: &Labels, honor_labels: bool) {
    if honor_labels {
        for l in target.iter() {
            if b.get(l.name).is_none() {
                b.set(l.name, l.value);
            }
        }
        return;
    }
    let mut conflicts: Vec<(String, String)> = Vec::new();
    for l in target.iter() {
        if let Some(existing) = b.get(l.name) {
            conflicts.push((l.name.to_string(), existing.to_string()));
        }
        b.set(l.name, l.value);
    }
    conflicts.sort_by_key(|c| c.0.len());
    for (name, value) in conflicts {
        let mut new_name = name;
        loop {
            new_name = format!("exported_{new_name}");
            if b.get(&new_name).is_none() {
                b.set(new_name, value);
                break;
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::PrometheusText => "text",
        Format::OpenMetrics => "OpenMetrics",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::target::{populate, Populated};
    use promlite_model::{labels, ManualClock, MemStorage};

    fn test_loop(addr: &str, interval: &str) -> ScrapeLoop {
        let cfg = Config::from_str(&format!(
            "scrape_configs: [{{job_name: j, scrape_interval: {interval}, scrape_timeout: 50ms}}]"
        ))
        .unwrap();
        let sc = &cfg.scrape_configs[0];
        let Ok(Populated::Target(t)) =
            populate(&Labels::empty(), &labels!("__address__" => addr), sc)
        else {
            panic!()
        };
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(0));
        ScrapeLoop::new(
            sc,
            Arc::new(TargetShared::new(t)),
            Arc::new(MemStorage::new()),
            clock,
            &ScrapeOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn start_offset_is_a_stable_phase_within_the_interval() {
        let a = test_loop("a:1", "10s");
        let b = test_loop("b:1", "10s");
        for now in [0, 1_234, 99_999] {
            let oa = a.start_offset(now);
            assert!(oa <= Duration::from_secs(10));
            // the first scrape lands on the same phase whatever "now" is
            let phase = (now + oa.as_millis() as i64).rem_euclid(10_000);
            let phase0 = a.start_offset(0).as_millis() as i64 % 10_000;
            assert_eq!(phase, phase0);
        }
        assert_ne!(a.start_offset(0), b.start_offset(0), "targets are spread");
    }

    #[test]
    fn timestamps_snap_to_the_schedule_within_tolerance() {
        let mut sl = test_loop("a:1", "10s");
        assert_eq!(sl.aligned(1_000), 1_000, "first scrape: as is");
        sl.last_ts = Some(1_000);
        assert_eq!(sl.aligned(11_002), 11_000);
        assert_eq!(sl.aligned(10_998), 11_000);
        assert_eq!(sl.aligned(11_003), 11_003, "beyond 2ms: real time");
        // tolerance is capped at 1% of the interval
        let mut fast = test_loop("a:1", "100ms");
        fast.last_ts = Some(0);
        assert_eq!(fast.aligned(101), 100);
        assert_eq!(fast.aligned(102), 102);
    }

    #[test]
    fn exported_prefix_on_conflict() {
        let target = labels!("job" => "j", "instance" => "i");
        let mut b = labels!("__name__" => "m", "job" => "own", "exported_job" => "taken").builder();
        mutate_labels(&mut b, &target, false);
        let l = b.build();
        assert_eq!(l.get("job"), Some("j"));
        assert_eq!(l.get("instance"), Some("i"));
        assert_eq!(l.get("exported_job"), Some("taken"));
        assert_eq!(l.get("exported_exported_job"), Some("own"));

        let mut b = labels!("__name__" => "m", "job" => "own").builder();
        mutate_labels(&mut b, &target, true);
        let l = b.build();
        assert_eq!(l.get("job"), Some("own"));
        assert_eq!(l.get("instance"), Some("i"));
    }
}
