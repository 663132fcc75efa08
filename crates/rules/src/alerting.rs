//! Alerting rules: the pending → firing → resolved state machine, `ALERTS`
//! and `ALERTS_FOR_STATE` series, and restoring `for` state after a restart.

use std::collections::{BTreeMap, HashSet};

use promlite_model::{Labels, Matcher, Queryable, SelectHints, ValueType, METRIC_NAME};

use crate::rule::{EvalContext, QueryFn, RuleStatus};
use crate::template::{Template, TemplateData};

/// Alerts resolved longer ago than this are forgotten (Prometheus: 15 m).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The state of one alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    /// Resolved (kept for a while so receivers learn it ended).
    Inactive,
    /// Condition true for less than `for`.
    Pending,
    /// Condition true for at least `for`.
    Firing,
}

impl AlertState {
    /// `inactive` / `pending` / `firing`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert instance of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// Labels: the sample's (without `__name__`), the rule's, `alertname`.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// State.
    pub state: AlertState,
    /// Latest value of the expression.
    pub value: f64,
    /// When the condition became true (ms).
    pub active_at: i64,
    /// When the alert started firing (ms).
    pub fired_at: Option<i64>,
    /// When it was resolved (ms).
    pub resolved_at: Option<i64>,
    /// When it was last sent to notifiers (ms).
    pub last_sent_at: Option<i64>,
    /// `endsAt` of the last notification (ms).
    pub valid_until: Option<i64>,
    /// Since when the condition is false while `keep_firing_for` keeps it firing.
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// Whether the notifier should (re)send it at `ts` (Prometheus's `needsSending`).
    pub fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if let Some(r) = self.resolved_at {
            if self.last_sent_at.is_none_or(|s| r > s) {
                return true;
            }
        }
        self.last_sent_at.is_none_or(|s| s + resend_delay_ms <= ts)
    }
}

/// An alerting rule.
#[derive(Clone, Debug)]
pub struct AlertingRule {
    name: String,
    expr: String,
    hold_ms: i64,
    keep_firing_ms: i64,
    labels: Vec<(String, Template)>,
    annotations: Vec<(String, Template)>,
    active: BTreeMap<Labels, Alert>,
    restored: bool,
    /// Evaluation status.
    pub status: RuleStatus,
}

impl AlertingRule {
    /// A rule firing `name` when `expr` returns anything for `hold_ms`.
    pub fn new(
        name: String,
        expr: String,
        hold_ms: i64,
        keep_firing_ms: i64,
        labels: Vec<(String, Template)>,
        annotations: Vec<(String, Template)>,
    ) -> Self {
        AlertingRule {
            name,
            expr,
            hold_ms,
            keep_firing_ms,
            labels,
            annotations,
            active: BTreeMap::new(),
            restored: true,
            status: RuleStatus::default(),
        }
    }

    /// The alert name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The expression.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// `for`, in ms.
    pub fn hold_ms(&self) -> i64 {
        self.hold_ms
    }

    /// `keep_firing_for`, in ms.
    pub fn keep_firing_ms(&self) -> i64 {
        self.keep_firing_ms
    }

    /// Label templates as written.
    pub fn label_sources(&self) -> BTreeMap<String, String> {
        self.labels
            .iter()
            .map(|(k, t)| (k.clone(), t.source().to_string()))
            .collect()
    }

    /// Annotation templates as written.
    pub fn annotation_sources(&self) -> BTreeMap<String, String> {
        self.annotations
            .iter()
            .map(|(k, t)| (k.clone(), t.source().to_string()))
            .collect()
    }

    /// Active alerts (pending, firing, and recently resolved), sorted by labels.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.active.values()
    }

    /// Mutable access for the notifier bookkeeping.
    pub(crate) fn alerts_mut(&mut self) -> impl Iterator<Item = &mut Alert> {
        self.active.values_mut()
    }

    /// The most severe state of its alerts.
    pub fn state(&self) -> AlertState {
        let mut s = AlertState::Inactive;
        for a in self.active.values() {
            match a.state {
                AlertState::Firing => return AlertState::Firing,
                AlertState::Pending => s = AlertState::Pending,
                AlertState::Inactive => {}
            }
        }
        s
    }

    /// Marks the rule as waiting for [`restore`](Self::restore): no
    /// `ALERTS` series are written until then.
    pub fn set_restored(&mut self, restored: bool) {
        self.restored = restored;
    }

    /// Takes over the alerts of an older version of the same rule (reload).
    pub fn copy_state(&mut self, old: &AlertingRule) {
        self.active = old.active.clone();
        self.restored = old.restored;
        self.status = old.status.clone();
    }

    /// Evaluates at `ts` (ms; the query runs at `ts - offset_ms`) and returns
    /// the `ALERTS`/`ALERTS_FOR_STATE` samples to store.
    pub fn eval(
        &mut self,
        q: &dyn QueryFn,
        ts: i64,
        offset_ms: i64,
        limit: usize,
        ctx: &EvalContext,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let res = q.query(&self.expr, ts - offset_ms)?;
        let mut seen: HashSet<Labels> = HashSet::with_capacity(res.len());
        let mut fresh: Vec<Alert> = Vec::new();
        for s in res {
            let data = TemplateData {
                labels: s
                    .metric
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect(),
                value: s.f,
                external_labels: ctx.external_labels.clone(),
                external_url: ctx.external_url.clone(),
            };
            let mut b = s.metric.builder();
            b.del(METRIC_NAME);
            for (k, t) in &self.labels {
                b.set(k.clone(), t.expand(&data));
            }
            b.set("alertname", self.name.clone());
            let labels = b.build();
            let annotations: BTreeMap<String, String> = self
                .annotations
                .iter()
                .map(|(k, t)| (k.clone(), t.expand(&data)))
                .collect();
            if !seen.insert(labels.clone()) {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels"
                        .into(),
                );
            }
            if let Some(a) = self.active.get_mut(&labels) {
                if a.state != AlertState::Inactive {
                    a.value = s.f;
                    a.annotations = annotations;
                    continue;
                }
            }
            fresh.push(Alert {
                labels,
                annotations,
                state: AlertState::Pending,
                value: s.f,
                active_at: ts,
                fired_at: None,
                resolved_at: None,
                last_sent_at: None,
                valid_until: None,
                keep_firing_since: None,
            });
        }
        for a in fresh {
            self.active.insert(a.labels.clone(), a);
        }

        let mut out = Vec::new();
        let mut num_active = 0usize;
        let mut remove = Vec::new();
        for (key, a) in self.active.iter_mut() {
            if !seen.contains(key) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && self.keep_firing_ms > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < self.keep_firing_ms;
                }
                if a.state == AlertState::Pending
                    || a.resolved_at
                        .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
                {
                    remove.push(key.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            num_active += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= self.hold_ms {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            if self.restored {
                out.push(alert_series(
                    &a.labels,
                    "ALERTS",
                    Some(a.state.as_str()),
                    1.0,
                ));
                out.push(alert_series(
                    &a.labels,
                    "ALERTS_FOR_STATE",
                    None,
                    (a.active_at as f64 / 1000.0).floor(),
                ));
            }
        }
        for k in remove {
            self.active.remove(&k);
        }
        if limit > 0 && num_active > limit {
            self.active.clear();
            return Err(format!(
                "exceeded limit of {limit} with {num_active} alerts"
            ));
        }
        Ok(out)
    }

    /// Restores `active_at` of pending/firing alerts from `ALERTS_FOR_STATE`
    /// at startup (Prometheus's `RestoreForState`).
    pub fn restore(
        &mut self,
        storage: &dyn Queryable,
        ts: i64,
        outage_tolerance_ms: i64,
        grace_ms: i64,
    ) -> Result<(), String> {
        if self.hold_ms < grace_ms || self.hold_ms == 0 {
            self.restored = true;
            return Ok(());
        }
        let q = storage
            .querier(ts - outage_tolerance_ms, ts)
            .map_err(|e| e.to_string())?;
        for a in self.active.values_mut() {
            let mut matchers = vec![Matcher::equal(METRIC_NAME, "ALERTS_FOR_STATE")];
            for l in a.labels.iter() {
                matchers.push(Matcher::equal(l.name.to_string(), l.value.to_string()));
            }
            let hints = SelectHints {
                start: ts - outage_tolerance_ms,
                end: ts,
                ..Default::default()
            };
            let series = q.select(&hints, &matchers).map_err(|e| e.to_string())?;
            // The series must match exactly (no extra labels).
            let want_len = a.labels.len() + 1;
            let Some(s) = series.iter().find(|s| s.labels().len() == want_len) else {
                continue;
            };
            let mut it = s.iter();
            let mut last = None;
            while it.next() == ValueType::Float {
                let (t, v) = it.at();
                if !promlite_model::is_stale_nan(v) && t <= ts {
                    last = Some((t, v));
                }
            }
            let Some((down_at, v)) = last else { continue };
            let mut restored_active_at = (v * 1000.0) as i64;
            let spent_pending = down_at - restored_active_at;
            let remaining = self.hold_ms - spent_pending;
            if remaining <= 0 {
                // It was firing already; keep the original active time.
            } else if remaining < grace_ms {
                restored_active_at = ts + grace_ms - self.hold_ms;
            } else {
                restored_active_at += ts - down_at;
            }
            a.active_at = restored_active_at;
        }
        self.restored = true;
        Ok(())
    }
}

fn alert_series(labels: &Labels, name: &str, state: Option<&str>, v: f64) -> (Labels, f64) {
    let mut b = labels.builder();
    b.set(METRIC_NAME, name);
    if let Some(s) = state {
        b.set("alertstate", s);
    }
    (b.build(), v)
}
