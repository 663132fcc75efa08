//! The rule manager: holds the groups, reloads them keeping alert state,
//! schedules evaluations and hands due alerts to the notifier.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use promlite_model::{Appendable, Clock, Queryable};

use crate::api::{alert_view, group_view, AlertView, GroupView};
use crate::file::{load_rule_files_with, LoadOptions, RuleError};
use crate::group::Group;
use crate::notifier::Notifier;
use crate::rule::{EvalContext, QueryFn, Rule};
use crate::sent_state::{self, SentState};

/// What the manager needs.
#[derive(Clone)]
pub struct ManagerOptions {
    /// Runs rule queries (usually [`crate::EngineQuery`]).
    pub query: Arc<dyn QueryFn>,
    /// Where results go.
    pub appendable: Arc<dyn Appendable>,
    /// Read access for restoring alert state at startup (`None`: no restore).
    pub queryable: Option<Arc<dyn Queryable>>,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Where alerts are sent (`None`: nowhere).
    pub notifier: Option<Notifier>,
    /// External labels and URL for templates and generator URLs.
    pub context: EvalContext,
    /// Firing alerts are resent this often (1 m).
    pub resend_delay_ms: i64,
    /// Restore only state younger than this (1 h).
    pub outage_tolerance_ms: i64,
    /// Minimum wait before a restored alert fires (10 m).
    pub for_grace_period_ms: i64,
    /// Defaults for groups loaded from files.
    pub load: LoadOptions,
    /// File that keeps when each firing alert was last sent, so that a
    /// restart does not resend them all at once (`None`: memory only, as
    /// in Prometheus). See `sent_state.rs`.
    pub sent_state_file: Option<std::path::PathBuf>,
}

impl ManagerOptions {
    /// Options with Prometheus's defaults.
    pub fn new(
        query: Arc<dyn QueryFn>,
        appendable: Arc<dyn Appendable>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        ManagerOptions {
            query,
            appendable,
            queryable: None,
            clock,
            notifier: None,
            context: EvalContext::default(),
            resend_delay_ms: 60_000,
            outage_tolerance_ms: 3_600_000,
            for_grace_period_ms: 600_000,
            load: LoadOptions::default(),
            sent_state_file: None,
        }
    }
}

struct Slot {
    group: Group,
    should_restore: bool,
}

/// Owns the rule groups and evaluates them.
pub struct RuleManager {
    opts: ManagerOptions,
    slots: Mutex<Vec<Arc<Mutex<Slot>>>>,
    generation: tokio::sync::watch::Sender<u64>,
    loaded_once: AtomicBool,
    sent_state: Option<Mutex<SentState>>,
}

impl RuleManager {
    /// A manager without groups.
    pub fn new(opts: ManagerOptions) -> Arc<Self> {
        let (generation, _) = tokio::sync::watch::channel(0);
        let sent_state = opts
            .sent_state_file
            .clone()
            .map(|p| Mutex::new(SentState::load(p)));
        Arc::new(RuleManager {
            opts,
            slots: Mutex::new(Vec::new()),
            generation,
            loaded_once: AtomicBool::new(false),
            sent_state,
        })
    }

    /// The notifier alerts are handed to, if any (to reconfigure it on reload).
    pub fn notifier(&self) -> Option<&Notifier> {
        self.opts.notifier.as_ref()
    }

    /// Replaces the groups. Groups with the same file and name keep their
    /// alerts; removed groups get staleness markers for their series. On the
    /// first call, alert state is restored from storage after each group's
    /// first evaluation.
    pub fn update(&self, groups: Vec<Group>) {
        let first = !self.loaded_once.swap(true, Ordering::SeqCst);
        let restore = first && self.opts.queryable.is_some();
        let mut slots = self.slots.lock();
        let mut old: HashMap<(String, String), Arc<Mutex<Slot>>> = HashMap::new();
        for s in slots.drain(..) {
            let key = {
                let g = &s.lock().group;
                (g.file().to_string(), g.name().to_string())
            };
            old.insert(key, s);
        }
        for mut g in groups {
            let key = (g.file().to_string(), g.name().to_string());
            let mut should_restore = false;
            if let Some(o) = old.remove(&key) {
                let o = o.lock();
                g.copy_state(&o.group);
                should_restore = o.should_restore;
                if should_restore {
                    g.prepare_restore();
                }
            } else if restore {
                g.prepare_restore();
                should_restore = true;
            }
            slots.push(Arc::new(Mutex::new(Slot {
                group: g,
                should_restore,
            })));
        }
        let now = self.opts.clock.now_ms();
        for (_, o) in old {
            o.lock()
                .group
                .mark_all_stale(self.opts.appendable.as_ref(), now);
        }
        drop(slots);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Loads `globs` and, if they are valid, replaces the groups; on error
    /// the old groups stay in place and the errors are returned.
    pub fn reload_from_files(&self, globs: &[String]) -> Result<(), Vec<RuleError>> {
        let groups = load_rule_files_with(globs, &self.opts.load)?;
        self.update(groups);
        Ok(())
    }

    /// Evaluates every group named `name` at `ts` (ms), then sends due
    /// alerts. Returns false if there is no such group.
    pub fn evaluate_group_at(&self, name: &str, ts: i64) -> bool {
        let slots: Vec<_> = self
            .slots
            .lock()
            .iter()
            .filter(|s| s.lock().group.name() == name)
            .cloned()
            .collect();
        for s in &slots {
            self.eval_slot(s, ts);
        }
        !slots.is_empty()
    }

    /// Evaluates every group at `ts`.
    pub fn evaluate_all_at(&self, ts: i64) {
        let slots: Vec<_> = self.slots.lock().clone();
        for s in &slots {
            self.eval_slot(s, ts);
        }
    }

    fn eval_slot(&self, slot: &Mutex<Slot>, ts: i64) {
        let mut s = slot.lock();
        let o = &self.opts;
        s.group
            .eval(o.query.as_ref(), o.appendable.as_ref(), ts, &o.context);
        if s.should_restore {
            if let Some(q) = &o.queryable {
                s.group
                    .restore(q.as_ref(), ts, o.outage_tolerance_ms, o.for_grace_period_ms);
            }
            if let Some(st) = &self.sent_state {
                st.lock().apply(&mut s.group);
            }
            s.should_restore = false;
        }
        if let Some(n) = &o.notifier {
            let alerts = s
                .group
                .alerts_to_send(ts, o.resend_delay_ms, &o.context.external_url);
            if let Some(st) = &self.sent_state {
                let keep = o.outage_tolerance_ms.max(o.resend_delay_ms);
                st.lock()
                    .record(&sent_state::group_id(&s.group), &alerts, ts, keep);
            }
            n.send(alerts);
        }
    }

    /// Schedules every group on its interval until `shutdown` completes;
    /// restarts the schedules when [`update`](Self::update) is called.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut gen = self.generation.subscribe();
        loop {
            gen.mark_unchanged();
            let slots: Vec<_> = self.slots.lock().clone();
            let mut tasks = tokio::task::JoinSet::new();
            for s in slots {
                tasks.spawn(self.clone().group_loop(s));
            }
            tokio::select! {
                _ = &mut shutdown => {
                    tasks.abort_all();
                    return;
                }
                r = gen.changed() => {
                    tasks.abort_all();
                    if r.is_err() {
                        return;
                    }
                }
            }
        }
    }

    async fn group_loop(self: Arc<Self>, slot: Arc<Mutex<Slot>>) {
        let (interval, first_ts, now) = {
            let s = slot.lock();
            let now = self.opts.clock.now_ms();
            let iv = s.group.interval_ms();
            (iv, s.group.eval_timestamp(now) + iv, now)
        };
        let start =
            tokio::time::Instant::now() + Duration::from_millis((first_ts - now).max(0) as u64);
        let period = Duration::from_millis(interval.max(1) as u64);
        let mut tick = tokio::time::interval_at(start, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let at = tick.tick().await;
            let k = (at.saturating_duration_since(start).as_millis() / period.as_millis().max(1))
                as i64;
            self.eval_slot(&slot, first_ts + k * interval);
        }
    }

    /// `/api/v1/rules` data.
    pub fn groups(&self) -> Vec<GroupView> {
        self.slots
            .lock()
            .iter()
            .map(|s| group_view(&s.lock().group))
            .collect()
    }

    /// `/api/v1/alerts` data: pending and firing alerts of every rule.
    pub fn alerts(&self) -> Vec<AlertView> {
        let mut out = Vec::new();
        for s in self.slots.lock().iter() {
            for r in s.lock().group.rules() {
                if let Rule::Alerting(a) = r {
                    out.extend(a.alerts().filter_map(alert_view));
                }
            }
        }
        out
    }

    /// Runs `f` on each group (read-only).
    pub fn with_groups<T>(&self, mut f: impl FnMut(&Group) -> T) -> Vec<T> {
        self.slots
            .lock()
            .iter()
            .map(|s| f(&s.lock().group))
            .collect()
    }
}
