//! Group evaluation with a scripted query function: recording rules,
//! the alert state machine, staleness, limits, restore, reload and views.

mod common;

use std::sync::Arc;

use common::{samples, Scripted};
use promlite_model::{is_stale_nan, labels, ManualClock, MemStorage};
use promlite_rules::{
    parse_rules, AlertState, Health, LoadOptions, ManagerOptions, Rule, RuleManager,
};

const MIN: i64 = 60_000;

fn setup(yaml: &str) -> (Arc<RuleManager>, Arc<Scripted>, Arc<MemStorage>) {
    let q = Arc::new(Scripted::default());
    let db = Arc::new(MemStorage::new());
    let mut opts = ManagerOptions::new(q.clone(), db.clone(), Arc::new(ManualClock::new(0)));
    opts.queryable = None;
    let mgr = RuleManager::new(opts);
    mgr.update(parse_rules("t.yml", yaml, &LoadOptions::default()).unwrap());
    (mgr, q, db)
}

const ALERT: &str = r#"
groups:
- name: g
  rules:
  - alert: LowConfidence
    expr: conf < 0.7
    for: 2m
    keep_firing_for: 1m
    labels:
      severity: warning
      model: "{{ $labels.model_version }}"
    annotations:
      summary: "confidence {{ $value | humanizePercentage }}"
"#;

fn alert_states(mgr: &RuleManager) -> Vec<(String, String)> {
    mgr.alerts()
        .into_iter()
        .map(|a| {
            (
                a.state,
                a.annotations.get("summary").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn pending_firing_keep_firing_resolved() {
    let (mgr, q, db) = setup(ALERT);
    let low = vec![(labels!("__name__" => "conf", "model_version" => "v1"), 0.5)];
    q.set("conf < 0.7", low.clone());
    mgr.evaluate_group_at("g", MIN);
    assert_eq!(
        alert_states(&mgr),
        vec![("pending".to_string(), "confidence 50%".to_string())]
    );
    mgr.evaluate_group_at("g", 2 * MIN);
    assert_eq!(alert_states(&mgr)[0].0, "pending");
    mgr.evaluate_group_at("g", 3 * MIN);
    assert_eq!(alert_states(&mgr)[0].0, "firing");

    let alerts = samples(&db, "ALERTS");
    let states: Vec<(&str, i64)> = alerts
        .iter()
        .filter(|s| !is_stale_nan(s.2))
        .map(|s| (s.0.get("alertstate").unwrap(), s.1))
        .collect();
    assert!(
        states.contains(&("pending", MIN))
            && states.contains(&("pending", 2 * MIN))
            && states.contains(&("firing", 3 * MIN))
    );
    let first = &alerts[0].0;
    assert_eq!(first.get("alertname"), Some("LowConfidence"));
    assert_eq!(first.get("model"), Some("v1"));
    assert_eq!(first.get("severity"), Some("warning"));
    let for_state = samples(&db, "ALERTS_FOR_STATE");
    assert!(for_state.iter().all(|s| s.2 == 60.0), "{for_state:?}");

    // Condition clears: keep_firing_for keeps it firing for one more minute.
    q.set("conf < 0.7", vec![]);
    mgr.evaluate_group_at("g", 4 * MIN);
    assert_eq!(alert_states(&mgr)[0].0, "firing");
    mgr.evaluate_group_at("g", 5 * MIN);
    assert!(
        mgr.alerts().is_empty(),
        "resolved alerts are hidden from the API"
    );
    // The pending→firing series got a staleness marker when it went away.
    let stale: Vec<_> = samples(&db, "ALERTS")
        .into_iter()
        .filter(|s| is_stale_nan(s.2))
        .collect();
    assert!(stale
        .iter()
        .any(|s| s.0.get("alertstate") == Some("pending") && s.1 == 3 * MIN));
    assert!(stale
        .iter()
        .any(|s| s.0.get("alertstate") == Some("firing") && s.1 == 5 * MIN));
}

#[test]
fn pending_alert_that_clears_is_dropped() {
    let (mgr, q, _db) = setup(ALERT);
    q.set("conf < 0.7", vec![(labels!("model_version" => "v1"), 0.5)]);
    mgr.evaluate_group_at("g", MIN);
    q.set("conf < 0.7", vec![]);
    mgr.evaluate_group_at("g", 2 * MIN);
    assert!(mgr.alerts().is_empty());
    let views = mgr.groups();
    let json = serde_json::to_value(&views).unwrap();
    assert_eq!(json[0]["rules"][0]["state"], "inactive");
    assert_eq!(json[0]["rules"][0]["health"], "ok");
    assert_eq!(json[0]["rules"][0]["type"], "alerting");
    assert_eq!(json[0]["rules"][0]["duration"], 120.0);
    assert_eq!(json[0]["rules"][0]["keepFiringFor"], 60.0);
}

#[test]
fn recording_rules_see_earlier_results_and_go_stale() {
    let yaml = r#"
groups:
- name: rec
  query_offset: 30s
  labels: {team: ml}
  rules:
  - record: job:x:sum
    expr: sum by (job) (x)
  - record: job:x:double
    expr: job:x:sum * 2
    labels: {kind: derived}
"#;
    let (mgr, q, db) = setup(yaml);
    q.set(
        "sum by (job) (x)",
        vec![(labels!("job" => "a"), 2.0), (labels!("job" => "b"), 3.0)],
    );
    mgr.evaluate_group_at("rec", 10 * MIN);
    let calls = q.calls.lock().unwrap().clone();
    assert_eq!(
        calls[0],
        ("sum by (job) (x)".to_string(), 10 * MIN - 30_000),
        "query_offset shifts the query time"
    );
    let s = samples(&db, "job:x:sum");
    assert_eq!(s.len(), 2);
    assert_eq!(
        s[0].0,
        labels!("__name__" => "job:x:sum", "job" => "a", "team" => "ml")
    );
    assert_eq!(s[0].1, 10 * MIN - 30_000);

    q.set("sum by (job) (x)", vec![(labels!("job" => "a"), 2.0)]);
    mgr.evaluate_group_at("rec", 11 * MIN);
    let b: Vec<_> = samples(&db, "job:x:sum")
        .into_iter()
        .filter(|s| s.0.get("job") == Some("b"))
        .collect();
    assert_eq!(b.len(), 2);
    assert!(
        is_stale_nan(b[1].2),
        "disappeared series gets a staleness marker"
    );
}

#[test]
fn errors_and_limits_set_health() {
    let yaml = r#"
groups:
- name: lim
  limit: 1
  rules:
  - record: r
    expr: up
  - record: dup
    expr: x
"#;
    let (mgr, q, _db) = setup(yaml);
    q.set(
        "up",
        vec![(labels!("a" => "1"), 1.0), (labels!("a" => "2"), 1.0)],
    );
    q.fail("x", "boom");
    mgr.evaluate_group_at("lim", MIN);
    let g = &mgr.groups()[0];
    let json = serde_json::to_value(g).unwrap();
    assert_eq!(json["rules"][0]["health"], "err");
    assert_eq!(
        json["rules"][0]["lastError"],
        "exceeded limit of 1 with 2 series"
    );
    assert_eq!(json["rules"][1]["lastError"], "boom");
    assert_eq!(json["limit"], 1);
    assert_eq!(json["interval"], 60.0);
    assert!(json["lastEvaluation"]
        .as_str()
        .unwrap()
        .starts_with("1970-01-01T00:01:00"));
    mgr.with_groups(|g| {
        assert!(g.rules().iter().all(|r| r.status().health == Health::Err));
    });
}

#[test]
fn reload_keeps_alert_state_and_failed_reload_keeps_old_rules() {
    let (mgr, q, _db) = setup(ALERT);
    q.set("conf < 0.7", vec![(labels!("model_version" => "v1"), 0.5)]);
    mgr.evaluate_group_at("g", MIN);
    mgr.update(parse_rules("t.yml", ALERT, &LoadOptions::default()).unwrap());
    mgr.evaluate_group_at("g", 3 * MIN);
    assert_eq!(
        alert_states(&mgr)[0].0,
        "firing",
        "activeAt survived the reload"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "groups:\n- name: x\n  rules:\n  - record: 'bad name'\n    expr: up\n",
    )
    .unwrap();
    let errs = mgr
        .reload_from_files(&[bad.to_string_lossy().into_owned()])
        .unwrap_err();
    assert_eq!(errs[0].line, 4);
    assert_eq!(mgr.groups()[0].name, "g", "old rules kept");
}

#[test]
fn restore_for_state_after_restart() {
    let db = Arc::new(MemStorage::new());
    // Before the "restart": the alert became active at t=100s and was
    // last recorded at t=400s (for: 10m, so 5 minutes were pending).
    let ls = labels!("__name__" => "ALERTS_FOR_STATE", "alertname" => "Slow", "job" => "a");
    db.insert(ls, &[(300_000, 100.0), (400_000, 100.0)]);
    let q = Arc::new(Scripted::default());
    q.set("lat > 1", vec![(labels!("job" => "a"), 2.0)]);
    let mut opts = ManagerOptions::new(q.clone(), db.clone(), Arc::new(ManualClock::new(0)));
    opts.queryable = Some(db.clone());
    opts.for_grace_period_ms = 60_000;
    let mgr = RuleManager::new(opts);
    let yaml = "groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: lat > 1\n    for: 10m\n";
    mgr.update(parse_rules("t.yml", yaml, &LoadOptions::default()).unwrap());
    // Restart at 1000 s (600 s down): pending time is preserved, shifted by the downtime.
    mgr.evaluate_group_at("g", 1_000_000);
    mgr.with_groups(|g| {
        let Rule::Alerting(a) = &g.rules()[0] else {
            panic!()
        };
        let alert = a.alerts().next().unwrap();
        assert_eq!(alert.active_at, 100_000 + 600_000);
        assert_eq!(alert.state, AlertState::Pending);
    });
    // No ALERTS were written during the restoring evaluation.
    assert!(samples(&db, "ALERTS").is_empty());
    mgr.evaluate_group_at("g", 1_300_000);
    assert_eq!(mgr.alerts()[0].state, "firing");
}

#[test]
fn evaluation_timestamps_are_aligned_per_group() {
    let (mgr, _q, _db) = setup(ALERT);
    mgr.with_groups(|g| {
        let off = g.eval_offset_ms();
        assert!((0..60_000).contains(&off));
        let ts = g.eval_timestamp(1_000_000);
        assert!(ts <= 1_000_000 && 1_000_000 - ts < 60_000);
        assert_eq!((ts - off).rem_euclid(60_000), 0);
    });
}

#[tokio::test(start_paused = true)]
async fn scheduler_runs_groups_on_their_interval() {
    let (mgr, q, _db) = setup(ALERT);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(mgr.clone().run(async move {
        let _ = rx.await;
    }));
    tokio::time::sleep(std::time::Duration::from_secs(60 * 5 + 1)).await;
    let calls = q.calls.lock().unwrap().clone();
    assert!(
        (4..=6).contains(&calls.len()),
        "{} evaluations in 5 minutes",
        calls.len()
    );
    for w in calls.windows(2) {
        assert_eq!(w[1].1 - w[0].1, 60_000);
    }
    tx.send(()).unwrap();
    task.await.unwrap();
}

#[test]
fn group_counters_count_evaluations_and_survive_reload() {
    let yaml = r#"
groups:
- name: c
  rules:
  - record: ok
    expr: up
  - record: bad
    expr: x
"#;
    let (mgr, q, _db) = setup(yaml);
    q.set("up", vec![(labels!("a" => "1"), 1.0)]);
    q.fail("x", "boom");
    mgr.evaluate_group_at("c", MIN);
    mgr.evaluate_group_at("c", 2 * MIN);
    let counters = mgr.with_groups(|g| g.counters);
    assert_eq!(counters[0].iterations, 2);
    assert_eq!(counters[0].evaluations, 4);
    assert_eq!(counters[0].evaluation_failures, 2);
    mgr.update(parse_rules("t.yml", yaml, &LoadOptions::default()).unwrap());
    mgr.evaluate_group_at("c", 3 * MIN);
    let counters = mgr.with_groups(|g| g.counters);
    assert_eq!(
        (counters[0].iterations, counters[0].evaluations),
        (3, 6),
        "kept across a reload"
    );
}
