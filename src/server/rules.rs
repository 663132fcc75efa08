//! The rules engine in `promlite serve`: building the rule manager and the
//! notifier from the configuration, and adapters from them to the provider
//! traits of `promlite_http` (`/api/v1/rules`, `/api/v1/alerts`,
//! `/api/v1/alertmanagers`).

use std::collections::BTreeMap;
use std::sync::Arc;

use promlite_http::providers::{
    AlertView, AlertingRuleView, AlertmanagersProvider, Health, RecordingRuleView, RuleGroupView,
    RuleView, RulesProvider,
};
use promlite_model::{Appendable, Clock, Labels, Queryable};
use promlite_promql::Engine;
use promlite_rules::{
    AlertState, AlertingConfig, AlertmanagerConfig, EngineQuery, EvalContext, Group, LoadOptions,
    ManagerOptions, Notifier, NotifierOptions, Rule, RuleError, RuleManager, WebhookConfig,
};
use promlite_scrape::Config;

/// The rule-file defaults of a configuration (global `evaluation_interval`
/// and `rule_query_offset`).
pub fn load_options(cfg: &Config) -> LoadOptions {
    LoadOptions {
        default_interval_ms: ms(cfg.global.evaluation_interval),
        default_query_offset_ms: ms(cfg.global.rule_query_offset),
    }
}

fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Joins rule-file errors into one message, one `file:line: message` per line.
pub fn format_rule_errors(errs: &[RuleError]) -> String {
    let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    format!("loading rule files: {}", lines.join("\n"))
}

/// The notifier's destinations from the config's `alerting` section: static
/// Alertmanagers and promlite's `webhooks` extension (service discovery and
/// HTTP auth of Alertmanagers are not supported and logged).
pub fn alerting_config(cfg: &Config) -> AlertingConfig {
    let mut out = AlertingConfig::default();
    if !cfg.alerting.alert_relabel_configs.is_empty() {
        tracing::warn!("alerting.alert_relabel_configs is not supported yet and is ignored");
    }
    for (i, am) in cfg.alerting.alertmanagers.iter().enumerate() {
        if !am.file_sd_configs.is_empty()
            || !am.relabel_configs.is_empty()
            || !am.alert_relabel_configs.is_empty()
        {
            tracing::warn!("alerting.alertmanagers[{i}]: only static_configs are supported; discovery and relabeling are ignored");
        }
        if am.basic_auth.is_some() || am.authorization.is_some() {
            tracing::warn!(
                "alerting.alertmanagers[{i}]: authentication is not supported yet and is ignored"
            );
        }
        let mut a = AlertmanagerConfig::new(String::new());
        a.static_targets = am
            .static_configs
            .iter()
            .flat_map(|s| s.targets.iter().cloned())
            .collect();
        a.scheme = if am.scheme.is_empty() {
            "http".into()
        } else {
            am.scheme.clone()
        };
        a.path_prefix = am.path_prefix.clone();
        a.timeout = am.timeout;
        if !am.api_version.is_empty() {
            a.api_version = am.api_version.clone();
        }
        out.alertmanagers.push(a);
    }
    for w in &cfg.alerting.webhooks {
        let mut h = WebhookConfig::new(w.url.clone());
        h.timeout = w.timeout;
        h.send_resolved = w.send_resolved;
        out.webhooks.push(h);
    }
    out
}

/// Applies a (re)loaded configuration's `alerting` section and external
/// labels to the rule manager's notifier, so that reloads change where
/// alerts go without a restart.
pub fn apply_alerting(cfg: &Config, rules: &RuleManager) {
    if let Some(n) = rules.notifier() {
        n.apply_config(&alerting_config(cfg));
        n.set_external_labels(cfg.global.external_labels.clone());
    }
}

/// How alerts are (re)sent.
pub struct Sending {
    /// `--rules.alert.resend-delay`.
    pub resend_delay_ms: i64,
    /// Where the last send time of each firing alert is kept across
    /// restarts (`None`: in memory only).
    pub sent_state_file: Option<std::path::PathBuf>,
}

/// Builds the notifier and the rule manager for `cfg` (no groups loaded yet).
pub fn build(
    cfg: &Config,
    engine: Engine,
    db: Arc<dyn Queryable>,
    appendable: Arc<dyn Appendable>,
    clock: Arc<dyn Clock>,
    sending: Sending,
) -> (Arc<RuleManager>, Notifier) {
    let external_labels: BTreeMap<String, String> = cfg.global.external_labels.clone();
    let notifier = Notifier::new(
        &alerting_config(cfg),
        NotifierOptions {
            external_labels: external_labels.clone(),
            ..NotifierOptions::default()
        },
        clock.clone(),
    );
    let query = Arc::new(EngineQuery::new(engine, db.clone()));
    let mut opts = ManagerOptions::new(query, appendable, clock);
    opts.queryable = Some(db);
    opts.notifier = Some(notifier.clone());
    opts.context = EvalContext {
        external_labels,
        ..EvalContext::default()
    };
    opts.load = load_options(cfg);
    opts.resend_delay_ms = sending.resend_delay_ms;
    opts.sent_state_file = sending.sent_state_file;
    (RuleManager::new(opts), notifier)
}

/// `/api/v1/rules` and `/api/v1/alerts` from the rule manager.
pub struct Rules(pub Arc<RuleManager>);

fn health(h: promlite_rules::Health) -> Health {
    match h {
        promlite_rules::Health::Ok => Health::Good,
        promlite_rules::Health::Err => Health::Bad,
        promlite_rules::Health::Unknown => Health::Unknown,
    }
}

fn labels_of(m: &BTreeMap<String, String>) -> Labels {
    Labels::from_pairs(m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn alert(a: &promlite_rules::Alert) -> Option<AlertView> {
    if a.state == AlertState::Inactive {
        return None;
    }
    Some(AlertView {
        labels: a.labels.clone(),
        annotations: labels_of(&a.annotations),
        state: a.state.as_str().to_string(),
        active_at_ms: Some(a.active_at),
        keep_firing_since_ms: a.keep_firing_since,
        value: a.value,
    })
}

fn rule(r: &Rule) -> RuleView {
    match r {
        Rule::Recording(r) => RuleView::Recording(RecordingRuleView {
            name: r.name().to_string(),
            query: r.expr().to_string(),
            labels: r.labels().clone(),
            health: health(r.status.health),
            last_error: r.status.last_error.clone(),
            evaluation_time_s: r.status.evaluation_seconds,
            last_evaluation_ms: r.status.last_evaluation_ms,
        }),
        Rule::Alerting(r) => RuleView::Alerting(AlertingRuleView {
            name: r.name().to_string(),
            query: r.expr().to_string(),
            duration_s: r.hold_ms() as f64 / 1000.0,
            keep_firing_for_s: r.keep_firing_ms() as f64 / 1000.0,
            labels: labels_of(&r.label_sources()),
            annotations: labels_of(&r.annotation_sources()),
            state: r.state().as_str().to_string(),
            alerts: r.alerts().filter_map(alert).collect(),
            health: health(r.status.health),
            last_error: r.status.last_error.clone(),
            evaluation_time_s: r.status.evaluation_seconds,
            last_evaluation_ms: r.status.last_evaluation_ms,
        }),
    }
}

/// The API view of one group.
pub fn group_view(g: &Group) -> RuleGroupView {
    RuleGroupView {
        name: g.name().to_string(),
        file: g.file().to_string(),
        interval_s: g.interval_ms() as f64 / 1000.0,
        limit: g.limit() as u64,
        rules: g.rules().iter().map(rule).collect(),
        evaluation_time_s: g.evaluation_seconds,
        last_evaluation_ms: g.last_evaluation_ms,
    }
}

impl RulesProvider for Rules {
    fn groups(&self) -> Vec<RuleGroupView> {
        self.0.with_groups(group_view)
    }
}

/// `/api/v1/alertmanagers` from the notifier's destinations.
pub struct Alertmanagers(pub Notifier);

impl AlertmanagersProvider for Alertmanagers {
    fn active(&self) -> Vec<String> {
        self.0.counters().iter().map(|c| c.url.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::{labels, ManualClock, MemStorage};
    use promlite_rules::parse_rules;

    fn config(yaml: &str) -> Config {
        Config::from_str(yaml).unwrap()
    }

    #[test]
    fn alertmanager_urls_from_config() {
        let cfg = config(
            "alerting:\n  alertmanagers:\n  - path_prefix: /am\n    static_configs:\n    - targets: ['a:9093', 'b:9093']\n",
        );
        let (_m, n) = build(
            &cfg,
            Engine::default(),
            Arc::new(MemStorage::new()),
            Arc::new(MemStorage::new()),
            Arc::new(ManualClock::new(0)),
            Sending {
                resend_delay_ms: 60_000,
                sent_state_file: None,
            },
        );
        assert_eq!(
            Alertmanagers(n).active(),
            vec![
                "http://a:9093/am/api/v2/alerts".to_string(),
                "http://b:9093/am/api/v2/alerts".to_string()
            ]
        );
    }

    #[test]
    fn webhooks_from_config_and_reload() {
        let cfg = config(
            "alerting:\n  webhooks:\n  - url: http://retrain:8000/retrain\n    timeout: 3s\n    send_resolved: false\n",
        );
        let a = alerting_config(&cfg);
        assert_eq!(a.webhooks.len(), 1);
        assert_eq!(a.webhooks[0].url, "http://retrain:8000/retrain");
        assert_eq!(a.webhooks[0].timeout, std::time::Duration::from_secs(3));
        assert!(!a.webhooks[0].send_resolved);

        let (m, n) = build(
            &config(""),
            Engine::default(),
            Arc::new(MemStorage::new()),
            Arc::new(MemStorage::new()),
            Arc::new(ManualClock::new(0)),
            Sending {
                resend_delay_ms: 60_000,
                sent_state_file: None,
            },
        );
        let urls = |n: &Notifier| Alertmanagers(n.clone()).active();
        assert!(urls(&n).is_empty());
        apply_alerting(&cfg, &m);
        assert_eq!(urls(&n), vec!["http://retrain:8000/retrain".to_string()]);
        apply_alerting(
            &config("alerting:\n  alertmanagers:\n  - static_configs: [{targets: ['am:9093']}]\n"),
            &m,
        );
        assert_eq!(urls(&n), vec!["http://am:9093/api/v2/alerts".to_string()]);
    }

    #[test]
    fn groups_map_to_views() {
        let db = Arc::new(MemStorage::new());
        let mut app = db.appender();
        app.append(None, &labels!("__name__" => "up", "job" => "a"), 1_000, 1.0)
            .unwrap();
        app.commit().unwrap();
        let cfg = config("global: {evaluation_interval: 10s}\n");
        let (m, _n) = build(
            &cfg,
            Engine::default(),
            db.clone(),
            db.clone(),
            Arc::new(ManualClock::new(0)),
            Sending {
                resend_delay_ms: 60_000,
                sent_state_file: None,
            },
        );
        let yaml = "groups:\n- name: g\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Always\n    expr: vector(1) > 0\n    labels: {severity: page}\n";
        m.update(parse_rules("r.yml", yaml, &load_options(&cfg)).unwrap());
        assert!(m.evaluate_group_at("g", 2_000));
        let groups = Rules(m).groups();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].interval_s, 10.0);
        assert_eq!(groups[0].rules.len(), 2);
        match &groups[0].rules[0] {
            RuleView::Recording(r) => {
                assert_eq!(r.name, "job:up:sum");
                assert_eq!(r.health, Health::Good);
                assert_eq!(r.last_evaluation_ms, Some(2_000));
            }
            other => panic!("expected a recording rule, got {other:?}"),
        }
        match &groups[0].rules[1] {
            RuleView::Alerting(r) => {
                assert_eq!(r.state, "firing");
                assert_eq!(r.labels.get("severity"), Some("page"));
                assert_eq!(r.alerts.len(), 1);
                assert_eq!(r.alerts[0].labels.get("alertname"), Some("Always"));
            }
            other => panic!("expected an alerting rule, got {other:?}"),
        }
    }
}
