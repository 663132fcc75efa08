//! `promlite check rules|config`: promtool's report layout and exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn promlite(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_promlite"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run promlite check")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const GOOD: &str = "groups:\n- name: a\n  rules:\n  - record: x:y\n    expr: sum(up)\n  - alert: A\n    expr: up == 0\n    for: 1m\n";
const BAD: &str = "groups:\n- name: a\n  rules:\n  - record: x:y\n    expr: sum(up\n  - alert: B\n    expr: up == 0\n    annotations: {s: \"{{ $value \"}\n";

#[test]
fn check_rules_success_and_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.yml"), GOOD).expect("write");
    std::fs::write(dir.path().join("bad.yml"), BAD).expect("write");
    std::fs::write(
        dir.path().join("typo.yml"),
        "groups:\n- name: a\n  rules:\n  - record: x:y\n    expr: up\n    foo: 1\n",
    )
    .expect("write");

    let o = promlite(&["check", "rules", "good.yml"], dir.path());
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        text(&o.stdout),
        "Checking good.yml\n  SUCCESS: 2 rules found\n\n"
    );
    assert_eq!(text(&o.stderr), "");

    let o = promlite(
        &["check", "rules", "good.yml", "bad.yml", "typo.yml"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        text(&o.stdout),
        "Checking good.yml\n  SUCCESS: 2 rules found\n\nChecking bad.yml\n\nChecking typo.yml\n\n"
    );
    let err = text(&o.stderr);
    // Every problem: file, line, message.
    assert!(err.contains("  FAILED:\nbad.yml:4: "), "{err}");
    assert!(err.contains("parse"), "{err}");
    assert!(
        err.contains("bad.yml:6: ") && err.contains("annotation \"s\""),
        "{err}"
    );
    assert!(err.contains("typo.yml:6: ") && err.contains("foo"), "{err}");

    let o = promlite(&["check", "rules", "missing.yml"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("missing.yml: cannot read file"),
        "{o:?}"
    );
}

#[test]
fn check_config_checks_referenced_rule_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("rules")).expect("mkdir");
    std::fs::write(dir.path().join("rules/a.yml"), GOOD).expect("write");
    std::fs::write(dir.path().join("rules/b.yml"), GOOD).expect("write");
    let cfg = "global:\n  evaluation_interval: 15s\nrule_files: [\"rules/*.yml\"]\nalerting:\n  webhooks:\n    - url: http://localhost:8000/retrain\n      send_resolved: true\nscrape_configs:\n  - job_name: m\n    static_configs: [{targets: [\"localhost:8000\"]}]\n";
    std::fs::write(dir.path().join("prometheus.yml"), cfg).expect("write");
    let o = promlite(&["check", "config", "prometheus.yml"], dir.path());
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        text(&o.stdout),
        "Checking prometheus.yml\n  SUCCESS: 2 rule files found\n SUCCESS: prometheus.yml is valid prometheus config file syntax\n\n\
         Checking rules/a.yml\n  SUCCESS: 2 rules found\n\nChecking rules/b.yml\n  SUCCESS: 2 rules found\n\n"
    );

    // A broken rule file fails the config check.
    std::fs::write(dir.path().join("rules/b.yml"), BAD).expect("write");
    let o = promlite(&["check", "config", "prometheus.yml"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        text(&o.stdout).contains("Checking rules/b.yml\n\n"),
        "{o:?}"
    );
    assert!(text(&o.stderr).contains("rules/b.yml:4: "), "{o:?}");

    // An unknown key under `alerting` names its line.
    std::fs::write(
        dir.path().join("typo.yml"),
        "global: {}\nalerting:\n  webhook:\n    - url: http://x/\n",
    )
    .expect("write");
    let o = promlite(&["check", "config", "typo.yml"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(text(&o.stdout), "Checking typo.yml\n\n");
    let err = text(&o.stderr);
    assert!(
        err.starts_with("  FAILED: ")
            && err.contains("typo.yml")
            && err.contains("webhook")
            && err.contains("line 3"),
        "{err}"
    );

    // A missing file.
    let o = promlite(&["check", "config", "nope.yml"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("nope.yml"), "{o:?}");
}
