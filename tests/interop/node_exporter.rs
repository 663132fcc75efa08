//! promlite scrapes a real node-exporter; promtool queries promlite.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::*;
use crate::require;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn scrape_node_exporter_and_query_with_promtool() {
    let Some(exporter) = require("prometheus-node-exporter") else {
        return;
    };
    let Some(promtool) = require("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let ne_addr = format!("127.0.0.1:{}", free_port());
    let _ne = Kill(
        Command::new(exporter)
            .args([
                format!("--web.listen-address={ne_addr}").as_str(),
                "--collector.disable-defaults",
                "--collector.loadavg",
                "--collector.meminfo",
                "--collector.cpu",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node exporter"),
    );
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [\"{ne_addr}\"]\n"),
    )
    .expect("write config");
    let addr = format!("127.0.0.1:{}", free_port());
    let data = dir.path().join("data");
    let log = dir.path().join("promlite.log");
    let mut p = serve_ready(&cfg, &data, &addr, &log);
    let ok = poll(Duration::from_secs(20), || {
        !query(&addr, "node_load1", None).is_empty()
    });
    assert!(
        ok,
        "node_* never appeared: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(poll(Duration::from_secs(10), || query(
        &addr,
        "count(node_memory_MemTotal_bytes)",
        None
    )
    .len()
        == 1));

    let url = format!("http://{addr}");
    let run = |args: &[&str]| -> String {
        let out = Command::new(&promtool)
            .args(args)
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    // promtool query instant: the same value the API gives for a fixed time.
    // A past second at which the API already has a sample.
    let mut t = 0.0;
    let mut api = None;
    let found = poll(Duration::from_secs(10), || {
        t = now_s().floor() - 1.0;
        api = scalar_of(&query(&addr, "node_memory_MemTotal_bytes", Some(t)));
        api.is_some()
    });
    assert!(found, "no MemTotal sample");
    let api = api.unwrap_or(f64::NAN);
    let text = run(&[
        "query",
        "instant",
        "--time",
        &format!("{t}"),
        &url,
        "node_memory_MemTotal_bytes",
    ]);
    let shown: f64 = text
        .split("=>")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot read promtool output: {text}"));
    assert_eq!(shown, api, "{text}");

    // promtool query labels / series.
    let labels = run(&["query", "labels", &url, "job"]);
    assert!(labels.lines().any(|l| l.trim() == "node"), "{labels}");
    let series = run(&["query", "series", "--match", "node_load1", &url]);
    assert!(
        series.contains("node_load1") && series.contains(&ne_addr),
        "{series}"
    );

    // promtool query range: one line of values per series.
    let range = run(&[
        "query",
        "range",
        "--start",
        &format!("{}", t - 3.0),
        "--end",
        &format!("{t}"),
        "--step",
        "1s",
        &url,
        "up",
    ]);
    assert!(range.contains("up{") && range.contains("1 @["), "{range}");

    let status = p.signal_and_wait(libc::SIGTERM);
    assert!(status.success());
}
