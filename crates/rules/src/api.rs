//! Views shaped like Prometheus's `/api/v1/rules` and `/api/v1/alerts` JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alerting::{Alert, AlertState, AlertingRule};
use crate::group::{labels_map, Group};
use crate::notifier::rfc3339;
use crate::rule::{RecordingRule, Rule, RuleStatus};
use crate::template::gofmt;

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One group in `/api/v1/rules`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GroupView {
    /// Group name.
    pub name: String,
    /// Its file.
    pub file: String,
    /// The rules.
    pub rules: Vec<RuleView>,
    /// Interval in seconds.
    pub interval: f64,
    /// Limit (0 = none).
    pub limit: usize,
    /// Seconds the last evaluation took.
    #[serde(rename = "evaluationTime")]
    pub evaluation_time: f64,
    /// RFC 3339.
    #[serde(rename = "lastEvaluation")]
    pub last_evaluation: String,
}

/// A rule in `/api/v1/rules`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum RuleView {
    /// An alerting rule.
    Alerting(AlertingRuleView),
    /// A recording rule.
    Recording(RecordingRuleView),
}

/// An alerting rule in `/api/v1/rules`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlertingRuleView {
    /// `inactive`, `pending` or `firing`.
    pub state: String,
    /// Alert name.
    pub name: String,
    /// Expression.
    pub query: String,
    /// `for` in seconds.
    pub duration: f64,
    /// `keep_firing_for` in seconds.
    #[serde(rename = "keepFiringFor")]
    pub keep_firing_for: f64,
    /// Label templates.
    pub labels: BTreeMap<String, String>,
    /// Annotation templates.
    pub annotations: BTreeMap<String, String>,
    /// Active alerts.
    pub alerts: Vec<AlertView>,
    /// `ok`, `err`, `unknown`.
    pub health: String,
    /// Last error.
    #[serde(rename = "lastError", skip_serializing_if = "String::is_empty")]
    pub last_error: String,
    /// Seconds.
    #[serde(rename = "evaluationTime")]
    pub evaluation_time: f64,
    /// RFC 3339.
    #[serde(rename = "lastEvaluation")]
    pub last_evaluation: String,
    /// `alerting`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A recording rule in `/api/v1/rules`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecordingRuleView {
    /// Output metric.
    pub name: String,
    /// Expression.
    pub query: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `ok`, `err`, `unknown`.
    pub health: String,
    /// Last error.
    #[serde(rename = "lastError", skip_serializing_if = "String::is_empty")]
    pub last_error: String,
    /// Seconds.
    #[serde(rename = "evaluationTime")]
    pub evaluation_time: f64,
    /// RFC 3339.
    #[serde(rename = "lastEvaluation")]
    pub last_evaluation: String,
    /// `recording`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// An alert in `/api/v1/alerts` and in rule views.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AlertView {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
    /// RFC 3339.
    #[serde(rename = "activeAt")]
    pub active_at: String,
    /// RFC 3339, only while `keep_firing_for` holds the alert.
    #[serde(rename = "keepFiringSince", skip_serializing_if = "Option::is_none")]
    pub keep_firing_since: Option<String>,
    /// Go `%e` formatting of the value (`1e+00`).
    pub value: String,
}

fn last_eval(s: &RuleStatus) -> String {
    s.last_evaluation_ms
        .map(rfc3339)
        .unwrap_or_else(|| ZERO_TIME.into())
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`.
pub fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return gofmt::fmt_v(v);
    }
    let s = format!("{v:e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// An alert's view (`None` for resolved alerts, which the API hides).
pub fn alert_view(a: &Alert) -> Option<AlertView> {
    if a.state == AlertState::Inactive {
        return None;
    }
    Some(AlertView {
        labels: labels_map(&a.labels),
        annotations: a.annotations.clone(),
        state: a.state.as_str().into(),
        active_at: rfc3339(a.active_at),
        keep_firing_since: a.keep_firing_since.map(rfc3339),
        value: format_value(a.value),
    })
}

fn alerting_view(r: &AlertingRule) -> AlertingRuleView {
    AlertingRuleView {
        state: r.state().as_str().into(),
        name: r.name().into(),
        query: r.expr().into(),
        duration: r.hold_ms() as f64 / 1000.0,
        keep_firing_for: r.keep_firing_ms() as f64 / 1000.0,
        labels: r.label_sources(),
        annotations: r.annotation_sources(),
        alerts: r.alerts().filter_map(alert_view).collect(),
        health: r.status.health.as_str().into(),
        last_error: r.status.last_error.clone(),
        evaluation_time: r.status.evaluation_seconds,
        last_evaluation: last_eval(&r.status),
        kind: "alerting".into(),
    }
}

fn recording_view(r: &RecordingRule) -> RecordingRuleView {
    RecordingRuleView {
        name: r.name().into(),
        query: r.expr().into(),
        labels: labels_map(r.labels()),
        health: r.status.health.as_str().into(),
        last_error: r.status.last_error.clone(),
        evaluation_time: r.status.evaluation_seconds,
        last_evaluation: last_eval(&r.status),
        kind: "recording".into(),
    }
}

/// A group's view.
pub fn group_view(g: &Group) -> GroupView {
    GroupView {
        name: g.name().into(),
        file: g.file().into(),
        rules: g
            .rules()
            .iter()
            .map(|r| match r {
                Rule::Alerting(a) => RuleView::Alerting(alerting_view(a)),
                Rule::Recording(rr) => RuleView::Recording(recording_view(rr)),
            })
            .collect(),
        interval: g.interval_ms() as f64 / 1000.0,
        limit: g.limit(),
        evaluation_time: g.evaluation_seconds,
        last_evaluation: g
            .last_evaluation_ms
            .map(rfc3339)
            .unwrap_or_else(|| ZERO_TIME.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_e_formatting() {
        assert_eq!(format_value(1.0), "1e+00");
        assert_eq!(format_value(0.45), "4.5e-01");
        assert_eq!(format_value(1234.0), "1.234e+03");
        assert_eq!(format_value(f64::NAN), "NaN");
    }
}
