//! Rule file loading and validation (`promtool check rules` behaviour).

use promlite_rules::{load_rule_files, parse_rules, LoadOptions, Rule};

fn errors(yaml: &str) -> Vec<String> {
    match parse_rules("f.yml", yaml, &LoadOptions::default()) {
        Ok(_) => Vec::new(),
        Err(es) => es.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn mlops_rule_pack_loads_and_validates() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/rules/mlops.yml"
    );
    let groups = load_rule_files(&[path.to_string()]).unwrap_or_else(|e| panic!("{e:?}"));
    let names: Vec<&str> = groups.iter().map(|g| g.name()).collect();
    assert_eq!(
        names,
        vec!["mlops-confidence", "mlops-drift", "mlops-serving"]
    );
    let alerts: Vec<&str> = groups
        .iter()
        .flat_map(|g| g.rules())
        .filter_map(|r| match r {
            Rule::Alerting(a) => Some(a.name()),
            _ => None,
        })
        .collect();
    for want in [
        "ModelConfidenceBelowBaseline",
        "ModelConfidenceDropVsYesterday",
        "ModelConfidenceDistributionShift",
        "ModelLatencySLOBreach",
        "ModelErrorRatioHigh",
        "ModelTokenThroughputDrop",
    ] {
        assert!(alerts.contains(&want), "{want} missing");
    }
    assert!(groups.iter().all(|g| g.interval_ms() == 60_000));
}

#[test]
fn every_problem_is_reported_with_its_line() {
    let yaml = "groups:
- name: a
  rules:
  - record: 'not a metric'
    expr: up
  - alert: X
    expr: sum(
  - alert: Y
    expr: up[5m]
  - record: ok
    expr: up
    for: 5m
- name: a
  rules:
  - alert: Z
    expr: up
    annotations:
      s: '{{ if }}'
";
    let es = errors(yaml);
    assert!(
        es.iter()
            .any(|e| e.starts_with("f.yml:4:") && e.contains("invalid recording rule name")),
        "{es:#?}"
    );
    assert!(
        es.iter()
            .any(|e| e.starts_with("f.yml:6:") && e.contains("could not parse expression")),
        "{es:#?}"
    );
    assert!(
        es.iter()
            .any(|e| e.starts_with("f.yml:8:") && e.contains("range vector")),
        "{es:#?}"
    );
    assert!(
        es.iter()
            .any(|e| e.starts_with("f.yml:10:") && e.contains("invalid field 'for'")),
        "{es:#?}"
    );
    assert!(
        es.iter()
            .any(|e| e.starts_with("f.yml:13:") && e.contains("repeated in the same file")),
        "{es:#?}"
    );
    assert!(
        es.iter()
            .any(|e| e.starts_with("f.yml:15:") && e.contains("template")),
        "{es:#?}"
    );
}

#[test]
fn yaml_problems_carry_the_decoder_position() {
    let es = errors("groups:\n- name: a\n  rulez: []\n");
    assert_eq!(es.len(), 1);
    assert!(
        es[0].starts_with("f.yml:3:") && es[0].contains("unknown field `rulez`"),
        "{es:?}"
    );
    let es = errors("groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    bogus: 1\n");
    assert!(es[0].contains("unknown field `bogus`"), "{es:?}");
    assert!(!errors("groups: [\n").is_empty());
    assert!(errors("").is_empty(), "an empty file is valid");
}

#[test]
fn other_validations() {
    assert!(errors("groups:\n- name: a\n  rules:\n  - expr: up\n")[0]
        .contains("one of 'record' or 'alert'"));
    assert!(
        errors("groups:\n- name: a\n  rules:\n  - record: a\n    alert: b\n    expr: up\n")[0]
            .contains("only one")
    );
    assert!(errors("groups:\n- name: a\n  interval: 5x\n  rules: []\n")[0].contains("interval"));
    assert!(errors(
        "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    labels: {'0bad': x}\n"
    )[0]
    .contains("invalid label name"));
    assert!(
        errors("groups:\n- name: a\n  rules:\n  - record: a\n    expr: '\"str\"'\n")[0]
            .contains("invalid expression type")
    );
    assert!(
        errors("groups:\n- name: ''\n  rules: []\n")[0].contains("group name should not be empty")
    );
    assert!(
        errors("groups:\n- name: a\n  rules:\n  - record: a\n    expr: '1'\n").is_empty(),
        "scalars are fine"
    );
}

#[test]
fn globs_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yml"),
        "groups:\n- name: a\n  rules: []\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yml"),
        "groups:\n- name: b\n  interval: 30s\n  rules: []\n",
    )
    .unwrap();
    let glob = format!("{}/*.yml", dir.path().display());
    let gs = load_rule_files(&[glob]).unwrap();
    assert_eq!(gs.len(), 2);
    assert_eq!(gs[1].interval_ms(), 30_000);
    assert!(gs[0].file().ends_with("a.yml"));
    assert!(load_rule_files(&["[".to_string()]).is_err());
}
