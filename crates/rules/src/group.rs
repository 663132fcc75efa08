//! Rule groups: ordered evaluation, appending results, staleness markers,
//! evaluation-time alignment and the alerts due for notification.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use promlite_model::{Appendable, Labels, Queryable, STALE_NAN};

use crate::alerting::AlertState;
use crate::notifier::NotifyAlert;
use crate::rule::{EvalContext, Health, QueryFn, Rule};

/// A group of rules evaluated together, in order, on one interval.
#[derive(Clone, Debug)]
pub struct Group {
    name: String,
    file: String,
    interval_ms: i64,
    limit: usize,
    query_offset_ms: i64,
    labels: Labels,
    rules: Vec<Rule>,
    series_prev: Vec<HashSet<Labels>>,
    /// Wall time the last evaluation took, in seconds.
    pub evaluation_seconds: f64,
    /// When the last evaluation ran (ms).
    pub last_evaluation_ms: Option<i64>,
    /// Counters for `/metrics`, kept across reloads of the group.
    pub counters: GroupCounters,
}

/// A group's evaluation counters (Prometheus's `prometheus_rule_*` per
/// `rule_group`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupCounters {
    /// Group evaluations run (`prometheus_rule_group_iterations_total`).
    pub iterations: u64,
    /// Rule evaluations (`prometheus_rule_evaluations_total`).
    pub evaluations: u64,
    /// Rule evaluations whose query failed (`prometheus_rule_evaluation_failures_total`).
    pub evaluation_failures: u64,
}

impl Group {
    /// A group; `labels` were already merged into the rules' labels.
    pub fn new(
        name: String,
        file: String,
        interval_ms: i64,
        limit: usize,
        query_offset_ms: i64,
        labels: Labels,
        rules: Vec<Rule>,
    ) -> Self {
        let n = rules.len();
        Group {
            name,
            file,
            interval_ms: interval_ms.max(1),
            limit,
            query_offset_ms,
            labels,
            rules,
            series_prev: vec![HashSet::new(); n],
            evaluation_seconds: 0.0,
            last_evaluation_ms: None,
            counters: GroupCounters::default(),
        }
    }

    /// Group name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file it was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Evaluation interval (ms).
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// Series/alert limit per rule (0 = none).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Query offset (ms).
    pub fn query_offset_ms(&self) -> i64 {
        self.query_offset_ms
    }

    /// The group's `labels:`.
    pub fn labels(&self) -> &Labels {
        &self.labels
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Mutable rules (tests, restore).
    pub fn rules_mut(&mut self) -> &mut [Rule] {
        &mut self.rules
    }

    /// A stable per-group offset in `[0, interval)` spreading groups over the interval.
    pub fn eval_offset_ms(&self) -> i64 {
        let h = Labels::from_pairs([("name", self.name.as_str()), ("file", self.file.as_str())])
            .stable_hash();
        (h % self.interval_ms as u64) as i64
    }

    /// The latest aligned evaluation time at or before `now_ms` (Prometheus's `EvalTimestamp`).
    pub fn eval_timestamp(&self, now_ms: i64) -> i64 {
        let offset = self.eval_offset_ms();
        let adj = now_ms - offset;
        adj - adj.rem_euclid(self.interval_ms) + offset
    }

    /// Evaluates every rule at `ts` (ms) in order, appending results (each
    /// rule commits before the next runs, so later rules see them) and
    /// staleness markers for series that disappeared.
    pub fn eval(&mut self, q: &dyn QueryFn, app: &dyn Appendable, ts: i64, ctx: &EvalContext) {
        let started = Instant::now();
        let offset = self.query_offset_ms;
        let limit = self.limit;
        for (i, rule) in self.rules.iter_mut().enumerate() {
            let rule_start = Instant::now();
            let res = match rule {
                Rule::Recording(r) => r.eval(q, ts - offset, limit),
                Rule::Alerting(r) => r.eval(q, ts, offset, limit, ctx),
            };
            self.counters.evaluations += 1;
            if res.is_err() {
                self.counters.evaluation_failures += 1;
            }
            let mut error = None;
            match res {
                Ok(samples) => {
                    let mut a = app.appender();
                    let mut seen = HashSet::with_capacity(samples.len());
                    for (ls, v) in samples {
                        if let Err(e) = a.append(None, &ls, ts - offset, v) {
                            error.get_or_insert(format!("appending {ls}: {e}"));
                        }
                        seen.insert(ls);
                    }
                    if let Some(prev) = self.series_prev.get(i) {
                        for ls in prev.difference(&seen) {
                            // Out-of-order/duplicate errors on stale markers are expected and ignored.
                            let _ = a.append(None, ls, ts - offset, STALE_NAN);
                        }
                    }
                    if let Err(e) = a.commit() {
                        error.get_or_insert(format!("commit: {e}"));
                    }
                    if let Some(p) = self.series_prev.get_mut(i) {
                        *p = seen;
                    }
                }
                Err(e) => error = Some(e),
            }
            let st = rule.status_mut();
            st.evaluation_seconds = rule_start.elapsed().as_secs_f64();
            st.last_evaluation_ms = Some(ts);
            match error {
                Some(e) => {
                    tracing::warn!(group = %self.name, rule = %rule.name(), error = %e, "rule evaluation failed");
                    let st = rule.status_mut();
                    st.health = Health::Err;
                    st.last_error = e;
                }
                None => {
                    st.health = Health::Ok;
                    st.last_error.clear();
                }
            }
        }
        self.evaluation_seconds = started.elapsed().as_secs_f64();
        self.last_evaluation_ms = Some(ts);
        self.counters.iterations += 1;
    }

    /// Writes staleness markers for every series the group produced (the group was removed).
    pub fn mark_all_stale(&mut self, app: &dyn Appendable, ts: i64) {
        let mut a = app.appender();
        for set in &mut self.series_prev {
            for ls in set.drain() {
                let _ = a.append(None, &ls, ts - self.query_offset_ms, STALE_NAN);
            }
        }
        let _ = a.commit();
    }

    /// Firing alerts of every alerting rule (to restore when they were last
    /// sent, see `sent_state.rs`).
    pub(crate) fn firing_alerts_mut(&mut self) -> impl Iterator<Item = &mut crate::Alert> + '_ {
        self.rules
            .iter_mut()
            .filter_map(|r| match r {
                Rule::Alerting(a) => Some(a),
                _ => None,
            })
            .flat_map(|a| a.alerts_mut())
            .filter(|a| a.state == AlertState::Firing)
    }

    /// Puts alerting rules into "waiting for restore" mode (startup).
    pub fn prepare_restore(&mut self) {
        for r in &mut self.rules {
            if let Rule::Alerting(a) = r {
                a.set_restored(false);
            }
        }
    }

    /// Restores `for` state of alerting rules from `ALERTS_FOR_STATE`.
    pub fn restore(
        &mut self,
        storage: &dyn Queryable,
        ts: i64,
        outage_tolerance_ms: i64,
        grace_ms: i64,
    ) {
        for r in &mut self.rules {
            if let Rule::Alerting(a) = r {
                if let Err(e) = a.restore(storage, ts, outage_tolerance_ms, grace_ms) {
                    tracing::warn!(group = %self.name, alert = %a.name(), error = %e, "restoring alert state failed");
                    a.set_restored(true);
                }
            }
        }
    }

    /// Takes over alert state and staleness bookkeeping from the previous
    /// version of this group (reload), matching rules by kind, name and query.
    pub fn copy_state(&mut self, old: &Group) {
        let mut used = vec![false; old.rules.len()];
        for (i, r) in self.rules.iter_mut().enumerate() {
            let found = old.rules.iter().enumerate().position(|(j, o)| {
                !used.get(j).copied().unwrap_or(true)
                    && o.name() == r.name()
                    && o.expr() == r.expr()
                    && matches!(
                        (&*r, o),
                        (Rule::Recording(_), Rule::Recording(_))
                            | (Rule::Alerting(_), Rule::Alerting(_))
                    )
            });
            let Some(j) = found else { continue };
            if let Some(u) = used.get_mut(j) {
                *u = true;
            }
            if let (Some(prev), Some(old_prev)) =
                (self.series_prev.get_mut(i), old.series_prev.get(j))
            {
                *prev = old_prev.clone();
            }
            match (r, old.rules.get(j)) {
                (Rule::Alerting(new), Some(Rule::Alerting(o))) => new.copy_state(o),
                (Rule::Recording(new), Some(Rule::Recording(o))) => new.status = o.status.clone(),
                _ => {}
            }
        }
        self.evaluation_seconds = old.evaluation_seconds;
        self.last_evaluation_ms = old.last_evaluation_ms;
        self.counters = old.counters;
    }

    /// The alerts due for notification at `ts`, marking them as sent
    /// (Prometheus's `sendAlerts`: resend every `resend_delay_ms`, `endsAt`
    /// = ts + 4 × max(interval, resend delay) while firing).
    pub fn alerts_to_send(
        &mut self,
        ts: i64,
        resend_delay_ms: i64,
        external_url: &str,
    ) -> Vec<NotifyAlert> {
        let valid_for = 4 * self.interval_ms.max(resend_delay_ms);
        let mut out = Vec::new();
        for r in &mut self.rules {
            let Rule::Alerting(rule) = r else { continue };
            let gen_url = generator_url(external_url, rule.expr());
            for a in rule.alerts_mut() {
                if !a.needs_sending(ts, resend_delay_ms) {
                    continue;
                }
                a.last_sent_at = Some(ts);
                a.valid_until = Some(ts + valid_for);
                let ends_at = match a.resolved_at {
                    Some(r) if a.state == AlertState::Inactive => r,
                    _ => ts + valid_for,
                };
                out.push(NotifyAlert {
                    labels: a
                        .labels
                        .iter()
                        .map(|l| (l.name.to_string(), l.value.to_string()))
                        .collect(),
                    annotations: a.annotations.clone(),
                    starts_at_ms: a.fired_at.unwrap_or(a.active_at),
                    ends_at_ms: Some(ends_at),
                    generator_url: gen_url.clone(),
                });
            }
        }
        out
    }
}

/// `{external_url}/graph?g0.expr=…&g0.tab=1`, like Prometheus.
pub fn generator_url(external_url: &str, expr: &str) -> String {
    let mut enc = String::new();
    for b in expr.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            enc.push(b as char);
        } else if b == b' ' {
            enc.push('+');
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "{}/graph?g0.expr={enc}&g0.tab=1",
        external_url.trim_end_matches('/')
    )
}

/// Labels of alerts as a map (for the API and notifications).
pub fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|x| (x.name.to_string(), x.value.to_string()))
        .collect()
}
