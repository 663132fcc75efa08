//! `promtool check metrics` accepts promlite's own `/metrics` (text format
//! and Prometheus's naming lints).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;
use crate::require;

#[test]
fn promtool_accepts_self_metrics() {
    let Some(promtool) = require("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - record: x:up\n        expr: sum(up)\n",
    )
    .expect("write rules");
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!("global:\n  scrape_interval: 1s\nrule_files:\n  - rules.yml\nscrape_configs:\n  - job_name: promlite\n    static_configs:\n      - targets: [\"{addr}\"]\n"),
    )
    .expect("write config");
    let data = dir.path().join("data");
    let log = dir.path().join("promlite.log");
    let _p = serve_ready(&cfg, &data, &addr, &log);
    // Wait for a scrape and a rule evaluation so labelled families have samples.
    let body = || http(&addr, "GET", "/metrics", "").expect("GET /metrics").1;
    let filled = poll(Duration::from_secs(20), || {
        let b = body();
        b.contains("prometheus_target_interval_length_seconds_count{")
            && b.contains("prometheus_rule_evaluations_total{")
    });
    let page = body();
    assert!(filled, "{page}");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(page.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}\n{page}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
