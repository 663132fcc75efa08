//! The scrape manager: one pool per job, one tokio task per target,
//! reloadable configuration, and the target/metadata views for the HTTP API.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use promlite_model::{Appendable, Clock, Labels, Metadata};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError, ScrapeConfig};
use crate::discovery::{static_groups, FileDiscovery};
use crate::metrics::ScrapeMetrics;
use crate::scrape_loop::{HandoverSlot, LoopSignal, ScrapeLoop, ScrapeOptions};
use crate::target::{
    populate, Health, Populated, ScrapeCounters, Target, TargetGroup, TargetHealth, TargetShared,
};

/// An active target as `/api/v1/targets` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveTarget {
    /// Labels before relabeling.
    pub discovered_labels: Labels,
    /// Labels after relabeling.
    pub labels: Labels,
    /// Job name.
    pub scrape_pool: String,
    /// URL scraped.
    pub scrape_url: String,
    /// Health of the last scrape.
    pub health: Health,
    /// Error of the last scrape ("" if none).
    pub last_error: String,
    /// Timestamp (ms) of the last scrape.
    pub last_scrape_ms: Option<i64>,
    /// Duration of the last scrape.
    pub last_scrape_duration: Duration,
    /// Scrape interval.
    pub scrape_interval: Duration,
    /// Scrape timeout.
    pub scrape_timeout: Duration,
}

/// A target dropped by relabeling.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedTarget {
    /// Job name.
    pub scrape_pool: String,
    /// Its labels before relabeling.
    pub discovered_labels: Labels,
}

/// Active and dropped targets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Targets {
    /// Targets being scraped (or failed by `target_limit`).
    pub active: Vec<ActiveTarget>,
    /// Targets dropped by relabeling.
    pub dropped: Vec<DroppedTarget>,
}

/// One metric family's metadata as seen on one target.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetMetadata {
    /// The target's labels.
    pub target: Labels,
    /// Metric family name.
    pub metric: String,
    /// Type, help, unit.
    pub metadata: Metadata,
}

struct LoopHandle {
    shared: Arc<TargetShared>,
    signal: watch::Sender<LoopSignal>,
    join: JoinHandle<()>,
    handover: HandoverSlot,
    /// The pool generation (config version) the loop was built with.
    generation: u64,
}

struct Pool {
    cfg: ScrapeConfig,
    generation: u64,
    loops: HashMap<u64, LoopHandle>,
    /// Targets not scraped because of `target_limit` or a setup error.
    failed: Vec<Arc<TargetShared>>,
    dropped: Vec<DroppedTarget>,
    discovery: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct State {
    config: Option<Config>,
    pools: BTreeMap<String, Pool>,
    generation: u64,
    /// Mixed into every target's start offset: derived from the external
    /// labels so two replicas with different labels scrape out of phase.
    offset_seed: u64,
}

struct Inner {
    appendable: Arc<dyn Appendable>,
    clock: Arc<dyn Clock>,
    options: ScrapeOptions,
    state: Mutex<State>,
    metrics: Arc<ScrapeMetrics>,
}

/// Runs the scrape pools of a configuration. Cheap to clone (shared).
#[derive(Clone)]
pub struct ScrapeManager {
    inner: Arc<Inner>,
}

impl ScrapeManager {
    /// A manager appending to `appendable`, stamping with `clock`.
    pub fn new(
        appendable: Arc<dyn Appendable>,
        clock: Arc<dyn Clock>,
        options: ScrapeOptions,
    ) -> ScrapeManager {
        ScrapeManager {
            inner: Arc::new(Inner {
                appendable,
                clock,
                options,
                state: Mutex::new(State::default()),
                metrics: Arc::default(),
            }),
        }
    }

    /// Applies a (valid) configuration: starts new jobs, restarts changed
    /// ones, stops removed ones (their series get staleness markers). Must
    /// be called inside a Tokio runtime unless [`ScrapeOptions::runtime`]
    /// names one (the loops then run there); returns an error otherwise.
    pub fn apply_config(&self, cfg: &Config) -> Result<(), String> {
        let handle = match &self.inner.options.runtime {
            Some(h) => h.clone(),
            None => tokio::runtime::Handle::try_current()
                .map_err(|_| "apply_config needs a Tokio runtime".to_string())?,
        };
        let mut st = self.inner.state.lock();
        let ext = Labels::from_pairs(
            cfg.global
                .external_labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        st.offset_seed = if ext.is_empty() { 0 } else { ext.stable_hash() };
        let old_jobs: Vec<String> = st.pools.keys().cloned().collect();
        for job in old_jobs {
            if cfg.scrape_config(&job).is_none() {
                if let Some(p) = st.pools.remove(&job) {
                    stop_pool(p);
                }
            }
        }
        for sc in &cfg.scrape_configs {
            st.generation += 1;
            let generation = st.generation;
            match st.pools.get_mut(&sc.job_name) {
                Some(p) if &p.cfg == sc => continue,
                Some(p) => {
                    self.inner
                        .metrics
                        .pool_reloads
                        .fetch_add(1, Ordering::Relaxed);
                    // Changed job: loops of targets that stay are handed over
                    // to new ones (no staleness); see `sync_pool`.
                    if let Some(d) = p.discovery.take() {
                        d.abort();
                    }
                    p.cfg = sc.clone();
                    p.generation = generation;
                }
                None => {
                    let pool = Pool {
                        cfg: sc.clone(),
                        generation,
                        loops: HashMap::new(),
                        failed: Vec::new(),
                        dropped: Vec::new(),
                        discovery: None,
                    };
                    st.pools.insert(sc.job_name.clone(), pool);
                }
            }
            let groups = static_groups(&sc.static_configs);
            if sc.file_sd_configs.is_empty() {
                self.inner
                    .sync_pool(&mut st, &sc.job_name, generation, &groups, &handle);
            } else {
                let inner = Arc::downgrade(&self.inner);
                let job = sc.job_name.clone();
                let sds: Vec<FileDiscovery> = sc
                    .file_sd_configs
                    .iter()
                    .cloned()
                    .map(FileDiscovery::new)
                    .collect();
                let task = handle.spawn(run_file_discovery(inner, job, generation, groups, sds));
                if let Some(p) = st.pools.get_mut(&sc.job_name) {
                    p.discovery = Some(task);
                }
            }
        }
        st.config = Some(cfg.clone());
        Ok(())
    }

    /// Loads `path` and applies it. On any error the running configuration
    /// stays in place and the error is returned.
    pub fn reload_from_file(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        let cfg = Config::load(path)?;
        self.apply_config(&cfg).map_err(ConfigError::Invalid)
    }

    /// The configuration currently applied.
    pub fn config(&self) -> Option<Config> {
        self.inner.state.lock().config.clone()
    }

    /// Stops every loop and waits for them to write their staleness markers.
    pub async fn stop(&self) {
        let pools: Vec<Pool> = {
            let mut st = self.inner.state.lock();
            st.config = None;
            std::mem::take(&mut st.pools).into_values().collect()
        };
        let mut joins = Vec::new();
        for p in pools {
            if let Some(d) = p.discovery {
                d.abort();
            }
            for (_, l) in p.loops {
                let _ = l.signal.send(LoopSignal::Stop);
                joins.push(l.join);
            }
        }
        for j in joins {
            let _ = j.await;
        }
    }

    /// Names of the running scrape pools (jobs), sorted (`/api/v1/scrape_pools`).
    pub fn scrape_pools(&self) -> Vec<String> {
        self.inner.state.lock().pools.keys().cloned().collect()
    }

    /// Active and dropped targets.
    pub fn targets(&self) -> Targets {
        Targets {
            active: self.active_targets(),
            dropped: self.dropped_targets(),
        }
    }

    /// Targets being scraped, sorted by job then labels.
    pub fn active_targets(&self) -> Vec<ActiveTarget> {
        let st = self.inner.state.lock();
        let mut out = Vec::new();
        for p in st.pools.values() {
            let mut v: Vec<ActiveTarget> = p
                .loops
                .values()
                .map(|l| &l.shared)
                .chain(p.failed.iter())
                .map(|s| active_view(s))
                .collect();
            v.sort_by(|a, b| a.labels.cmp(&b.labels));
            out.extend(v);
        }
        out
    }

    /// Targets dropped by relabeling.
    pub fn dropped_targets(&self) -> Vec<DroppedTarget> {
        let st = self.inner.state.lock();
        st.pools
            .values()
            .flat_map(|p| p.dropped.iter().cloned())
            .collect()
    }

    /// Scrape counters summed over all current targets (for self-metrics).
    pub fn counters(&self) -> ScrapeCounters {
        let st = self.inner.state.lock();
        let mut total = ScrapeCounters::default();
        for p in st.pools.values() {
            for l in p.loops.values() {
                total.add(&l.shared.state.read().totals);
            }
        }
        total
    }

    /// Manager-wide scrape counters (they survive target changes).
    pub fn metrics(&self) -> &Arc<ScrapeMetrics> {
        &self.inner.metrics
    }

    /// Metadata per target and metric family (from each target's last good scrape).
    pub fn metadata(&self) -> Vec<TargetMetadata> {
        let st = self.inner.state.lock();
        let mut out = Vec::new();
        for p in st.pools.values() {
            for l in p.loops.values() {
                for (metric, md) in l.shared.metadata.read().iter() {
                    out.push(TargetMetadata {
                        target: l.shared.target.labels.clone(),
                        metric: metric.clone(),
                        metadata: md.clone(),
                    });
                }
            }
        }
        out
    }
}

fn active_view(s: &TargetShared) -> ActiveTarget {
    let st: TargetHealth = s.state.read().clone();
    ActiveTarget {
        discovered_labels: s.target.discovered_labels.clone(),
        labels: s.target.labels.clone(),
        scrape_pool: s.target.job.clone(),
        scrape_url: s.target.scrape_url.clone(),
        health: st.health,
        last_error: st.last_error,
        last_scrape_ms: st.last_scrape_ms,
        last_scrape_duration: st.last_scrape_duration,
        scrape_interval: s.target.interval,
        scrape_timeout: s.target.timeout,
    }
}

/// Dropping the last handle stops every loop (without waiting); prefer
/// [`ScrapeManager::stop`], which waits for the staleness markers.
impl Drop for Inner {
    fn drop(&mut self) {
        let pools = std::mem::take(&mut self.state.get_mut().pools);
        for p in pools.into_values() {
            stop_pool(p);
        }
    }
}

fn stop_pool(p: Pool) {
    if let Some(d) = p.discovery {
        d.abort();
    }
    for (_, l) in p.loops {
        let _ = l.signal.send(LoopSignal::Stop);
    }
}

impl Inner {
    /// Replaces a pool's target set with the one derived from `groups`.
    fn sync_pool(
        self: &Arc<Self>,
        st: &mut State,
        job: &str,
        generation: u64,
        groups: &[TargetGroup],
        handle: &tokio::runtime::Handle,
    ) {
        let seed = st.offset_seed;
        let Some(pool) = st.pools.get_mut(job) else {
            return;
        };
        if pool.generation != generation {
            return;
        }
        let mut targets: BTreeMap<u64, Target> = BTreeMap::new();
        let mut dropped = Vec::new();
        for g in groups {
            for t in &g.targets {
                match populate(&g.labels, t, &pool.cfg) {
                    Ok(Populated::Target(t)) => {
                        targets.insert(t.hash(), t);
                    }
                    Ok(Populated::Dropped(l)) => dropped.push(DroppedTarget {
                        scrape_pool: job.to_string(),
                        discovered_labels: l,
                    }),
                    Err(e) => tracing::warn!(job, source = %g.source, "creating target: {e}"),
                }
            }
        }
        pool.dropped = dropped;
        pool.failed.clear();
        let limit = pool.cfg.target_limit;
        if limit > 0 && targets.len() as u64 > limit {
            for (_, l) in pool.loops.drain() {
                let _ = l.signal.send(LoopSignal::Stop);
            }
            let msg = format!(
                "target_limit exceeded (number of targets: {}, limit: {limit})",
                targets.len()
            );
            for t in targets.into_values() {
                let s = TargetShared::new(t).with_metrics(self.metrics.clone());
                {
                    let mut h = s.state.write();
                    h.health = Health::Down;
                    h.last_error = msg.clone();
                }
                pool.failed.push(Arc::new(s));
            }
            return;
        }
        pool.loops.retain(|h, l| {
            let keep = targets.contains_key(h);
            if !keep {
                let _ = l.signal.send(LoopSignal::Stop);
            }
            keep
        });
        for (h, t) in targets {
            let predecessor = match pool.loops.get(&h) {
                Some(l) if l.generation == pool.generation => continue,
                Some(_) => pool.loops.remove(&h),
                None => None,
            };
            let shared = Arc::new(TargetShared::new(t).with_metrics(self.metrics.clone()));
            let mut options = self.options.clone();
            options.offset_seed ^= seed;
            match ScrapeLoop::new(
                &pool.cfg,
                shared.clone(),
                self.appendable.clone(),
                self.clock.clone(),
                &options,
            ) {
                Ok(mut sl) => {
                    let (tx, rx) = watch::channel(LoopSignal::Run);
                    let slot = HandoverSlot::default();
                    let join = match predecessor {
                        None => handle.spawn(sl.run(rx, slot.clone())),
                        Some(old) => {
                            *shared.state.write() = old.shared.state.read().clone();
                            *shared.metadata.write() = old.shared.metadata.read().clone();
                            let _ = old.signal.send(LoopSignal::Handover);
                            let slot2 = slot.clone();
                            handle.spawn(async move {
                                let _ = old.join.await;
                                if let Some(h) = old.handover.lock().take() {
                                    sl.adopt(h);
                                }
                                sl.run(rx, slot2).await;
                            })
                        }
                    };
                    pool.loops.insert(
                        h,
                        LoopHandle {
                            shared,
                            signal: tx,
                            join,
                            handover: slot,
                            generation: pool.generation,
                        },
                    );
                }
                Err(e) => {
                    if let Some(old) = predecessor {
                        let _ = old.signal.send(LoopSignal::Stop);
                    }
                    {
                        let mut hs = shared.state.write();
                        hs.health = Health::Down;
                        hs.last_error = e;
                    }
                    pool.failed.push(shared);
                }
            }
        }
    }
}

async fn run_file_discovery(
    weak: Weak<Inner>,
    job: String,
    generation: u64,
    statics: Vec<TargetGroup>,
    mut sds: Vec<FileDiscovery>,
) {
    let handle = tokio::runtime::Handle::current();
    let mut since_refresh: Vec<Duration> = vec![Duration::MAX; sds.len()];
    let tick = Duration::from_secs(1);
    let mut file_groups: Vec<Vec<TargetGroup>> = vec![Vec::new(); sds.len()];
    let mut first = true;
    loop {
        // The first pass always syncs: a reloaded pool must rebuild its loops.
        let mut changed = std::mem::take(&mut first);
        for (i, sd) in sds.iter_mut().enumerate() {
            let due = since_refresh[i] >= sd.config().refresh_interval;
            if due || sd.changed() {
                let (groups, errors) = sd.refresh();
                for e in errors {
                    tracing::warn!(job, "file_sd: {e}");
                }
                if groups != file_groups[i] {
                    file_groups[i] = groups;
                    changed = true;
                }
                since_refresh[i] = Duration::ZERO;
            } else {
                since_refresh[i] = since_refresh[i].saturating_add(tick);
            }
        }
        if changed {
            let Some(inner) = weak.upgrade() else { return };
            let all: Vec<TargetGroup> = statics
                .iter()
                .cloned()
                .chain(file_groups.iter().flatten().cloned())
                .collect();
            let mut st = inner.state.lock();
            if st
                .pools
                .get(&job)
                .is_none_or(|p| p.generation != generation)
            {
                return;
            }
            inner.sync_pool(&mut st, &job, generation, &all, &handle);
        }
        tokio::time::sleep(tick).await;
    }
}
