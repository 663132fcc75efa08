//! Recording and alerting rules for promlite, with notifications.
//!
//! * [`load_rule_files`] reads Prometheus rule files (`groups:` with
//!   `record:`/`alert:` rules) and validates them like `promtool check rules`,
//!   reporting every problem with file, line and message ([`RuleError`]).
//! * [`Group`] evaluates its rules in order at a timestamp, appends results
//!   through [`promlite_model::Appendable`], writes staleness markers, and
//!   tracks alerts (pending → firing → resolved, `keep_firing_for`,
//!   `ALERTS`/`ALERTS_FOR_STATE` series, restore after restart).
//! * [`RuleManager`] owns the groups: reloads keep alert state, [`RuleManager::run`]
//!   schedules them (aligned per group like Prometheus), [`RuleManager::groups`]
//!   and [`RuleManager::alerts`] give `/api/v1/rules` and `/api/v1/alerts` data.
//! * [`template`] is a Go `text/template` subset for labels and annotations.
//! * [`notifier`] sends alerts to Alertmanager (v2 API) and to plain webhooks.
//! * Queries go through the [`QueryFn`] seam; [`EngineQuery`] is the PromQL engine.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use promlite_model::{labels, MemStorage, ManualClock};
//! use promlite_rules::{parse_rules, LoadOptions, ManagerOptions, QSample, QueryFn, RuleManager};
//!
//! // A stand-in for the PromQL engine: `job:up:sum` always returns 3.
//! struct Three;
//! impl QueryFn for Three {
//!     fn query(&self, _expr: &str, _t: i64) -> Result<Vec<QSample>, String> {
//!         Ok(vec![QSample { metric: labels!("job" => "api"), f: 3.0 }])
//!     }
//! }
//!
//! let yaml = "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n";
//! let groups = parse_rules("rules.yml", yaml, &LoadOptions::default()).unwrap();
//! let db = Arc::new(MemStorage::new());
//! let mgr = RuleManager::new(ManagerOptions::new(Arc::new(Three), db.clone(), Arc::new(ManualClock::new(0))));
//! mgr.update(groups);
//! assert!(mgr.evaluate_group_at("g", 60_000));
//! assert_eq!(mgr.groups()[0].rules.len(), 1);
//! assert_eq!(db.num_series(), 1);
//! ```
#![deny(missing_docs)]

mod alerting;
pub mod api;
mod file;
mod group;
mod manager;
pub mod notifier;
mod rule;
mod sent_state;
pub mod template;

pub use alerting::{Alert, AlertState, AlertingRule, RESOLVED_RETENTION_MS};
pub use file::{
    expand_globs, load_rule_files, load_rule_files_with, parse_rules, valid_label_name,
    valid_metric_name, GroupSpec, LoadOptions, RuleError, RuleFile, RuleSpec,
};
pub use group::{generator_url, Group, GroupCounters};
pub use manager::{ManagerOptions, RuleManager};
pub use notifier::{
    AlertingConfig, AlertmanagerConfig, Notifier, NotifierOptions, NotifyAlert, WebhookConfig,
};
pub use rule::{
    EngineQuery, EvalContext, Health, QSample, QueryFn, RecordingRule, Rule, RuleStatus,
};
