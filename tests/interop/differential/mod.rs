//! Differential test against the real Prometheus (Debian's 2.42 package).
//!
//! The same generated data set (`dataset.rs`: an ML inference service, 273
//! series, 15 s interval, 3 h) is written as OpenMetrics and backfilled into
//! both systems: `promtool tsdb create-blocks-from openmetrics` for a
//! `prometheus` server and `promlite import openmetrics` for `promlite
//! serve`. The query set (`queries.rs`) runs as instant queries at several
//! times and as range queries with three steps on both HTTP APIs, and the
//! JSON answers are compared (`compare.rs`): result type, label sets (order
//! only for `sort`/`sort_desc`), timestamps exactly, values within a
//! relative 1e-9. `/api/v1/series`, `/api/v1/labels` and
//! `/api/v1/label/<name>/values` are compared as sets.
//!
//! promlite implements Prometheus 3.x; the reference is 2.42. The data and
//! the queries stay clear of every difference between the two instead of
//! loosening the comparison:
//! - Range selectors and lookback are left-closed in 2.42 and left-open in
//!   3.x: samples sit at 250/500/750 ms past a second, all query times,
//!   steps, ranges and offsets are whole seconds, so no sample is ever on a
//!   boundary. Subquery steps are multiples of 15 s and every evaluation
//!   time is a whole second that is not (data start is a whole hour), so no
//!   subquery point is on a subquery's left boundary either.
//! - Regex `.` matches `\n` in 3.x only: no label value contains a newline.
//! - Classic histogram `le` (and `quantile`) values are normalized by 3.x at
//!   ingestion: the data writes them normalized ("1.0", "+Inf").
//! - Functions added or renamed after 2.42 are not used: `limitk`,
//!   `limit_ratio`, `sort_by_label(_desc)`, `info`, `mad_over_time`,
//!   `double_exponential_smoothing` (`holt_winters` in 2.42),
//!   `histogram_*` on native histograms, `day_of_year`.
//! - Ties: `topk`/`bottomk` resolve ties with a heap whose update changed
//!   in 2.44 (pop + push before, overwrite + fix since), and `sort` uses
//!   Go's unstable sort, so all three only see float values without ties.
//! - Counter extrapolation to zero: 2.42 caps the extrapolation towards
//!   the window start at the counter's zero point before applying the
//!   1.1 × average-interval threshold, 3.x after it; the two differ when a
//!   window holds a series' first sample and that sample lies between 0.5
//!   and 1.1 average increments above zero. Every counter starts at 0 (a
//!   fresh process), where both agree.
//! - Annotations (warnings/infos, 3.x only) are not compared.
//! - Subqueries always give an explicit step (the default is the
//!   configured evaluation interval).

mod compare;
mod dataset;
mod queries;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{enc, free_port, get_json, http, poll, serve_ready};
use crate::require;

/// Kills the reference Prometheus server on drop.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command to completion, panicking with its output on failure.
fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Evaluation plans: instant times and `(start, end, step)` ranges, in
/// seconds after the data start. Every time is a whole second that is not a
/// multiple of 15 (see the module docs).
const INSTANTS: [i64; 10] = [
    603,    // 10 min in
    3_663,  // 1 h
    5_431,  // mid
    7_203,  // just after the stopped gauge's last sample
    7_443,  // stopped gauge still within the 5 m lookback
    7_563,  // stopped gauge gone
    9_017,  //
    10_743, // near the end
    10_863, // after the end, within lookback
    11_223, // after the end and the lookback
];
/// Steps of 5 s (divides the 15 s interval), 20 s (does not), 60 s.
const RANGES: [(i64, i64, i64); 3] = [(5_403, 7_203, 5), (303, 11_403, 20), (3, 11_283, 60)];

/// GET returning JSON; a transport error is a test failure.
fn api(addr: &str, path: &str) -> Value {
    get_json(addr, path)
}

#[test]
fn differential_against_prometheus() {
    let Some(promtool) = require("promtool") else {
        return;
    };
    let Some(prometheus) = require("prometheus") else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    // A whole hour, with the 3 h of data ending 1-2 h before now (inside
    // both servers' default 15 d retention).
    let now = crate::harness::now_s() as i64;
    let base = (now - 5 * 3600) / 3600 * 3600;
    let data = dataset::generate(base);
    let om = dir.path().join("data.om");
    std::fs::write(&om, &data.text).expect("write OpenMetrics");
    // For debugging a mismatch by hand: keep a copy of the data set.
    if let Some(keep) = std::env::var_os("PROMLITE_DIFF_DUMP") {
        std::fs::write(keep, &data.text).expect("write PROMLITE_DIFF_DUMP");
    }

    // Prometheus: promtool backfill, then a server on the blocks.
    let prom_dir = dir.path().join("prom");
    run(
        Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&om)
            .arg(&prom_dir),
        "promtool tsdb create-blocks-from openmetrics",
    );
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  evaluation_interval: 1m\n").expect("config");
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let prom_log = dir.path().join("prometheus.log");
    let log_file = std::fs::File::create(&prom_log).expect("log");
    let _prom = Kill(
        Command::new(&prometheus)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", prom_dir.display()))
            .arg(format!("--web.listen-address={prom_addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start prometheus"),
    );

    // promlite: import, then serve on the blocks.
    let pl_dir = dir.path().join("promlite");
    run(
        Command::new(env!("CARGO_BIN_EXE_promlite"))
            .args(["import", "openmetrics"])
            .arg(&om)
            .arg("--storage.tsdb.path")
            .arg(&pl_dir),
        "promlite import openmetrics",
    );
    let pl_addr = format!("127.0.0.1:{}", free_port());
    let pl_log = dir.path().join("promlite.log");
    let _pl = serve_ready(&cfg, &pl_dir, &pl_addr, &pl_log);
    let ready = poll(Duration::from_secs(30), || {
        http(&prom_addr, "GET", "/-/ready", "")
            .map(|(c, _)| c == 200)
            .unwrap_or(false)
    });
    assert!(ready, "prometheus not ready: {}", read(&prom_log));
    let loaded = Instant::now();

    let mut checks = 0usize;
    let mut answered = 0usize;
    let mut mismatches = Vec::new();
    let mut check = |what: String, want: Value, got: Value, ordered: bool, sets: bool| {
        checks += 1;
        // Guard against a vacuous pass: count answers with data in them.
        let data = if sets {
            &want["data"]
        } else {
            &want["data"]["result"]
        };
        if want["status"] == "success" && data.as_array().is_none_or(|a| !a.is_empty()) {
            answered += 1;
        }
        let res = if sets {
            compare::compare_sets(&want, &got)
        } else {
            compare::compare_answers(&want, &got, ordered)
        };
        if let Err(e) = res {
            mismatches.push(format!(
                "{what}\n  {e}\n  prometheus: {}\n  promlite:   {}",
                truncate(&want),
                truncate(&got)
            ));
        }
    };

    let queries = queries::all(base);
    for q in &queries {
        for t in INSTANTS {
            let path = format!("/api/v1/query?query={}&time={}", enc(&q.expr), base + t);
            check(
                format!("instant @{t}s: {}", q.expr),
                api(&prom_addr, &path),
                api(&pl_addr, &path),
                q.ordered,
                false,
            );
        }
        if q.instant_only {
            continue;
        }
        for (s, e, step) in RANGES {
            let path = format!(
                "/api/v1/query_range?query={}&start={}&end={}&step={step}",
                enc(&q.expr),
                base + s,
                base + e
            );
            check(
                format!("range [{s}s,{e}s] step {step}s: {}", q.expr),
                api(&prom_addr, &path),
                api(&pl_addr, &path),
                false,
                false,
            );
        }
    }

    // Metadata endpoints over the whole data span.
    let span = format!("start={}&end={}", base, base + dataset::SPAN_S + 600);
    let matchers = [
        "model_requests_total",
        r#"{model_version="v2"}"#,
        r#"model_queue_depth{instance=~"10\\.0\\.0\\.[13]:8000"}"#,
        r#"{__name__=~"request_latency_seconds_.+"}"#,
    ];
    for m in matchers {
        let mq = format!("match[]={}", enc(m));
        for path in [
            format!("/api/v1/series?{mq}&{span}"),
            format!("/api/v1/labels?{mq}&{span}"),
            format!("/api/v1/label/le/values?{mq}&{span}"),
            format!("/api/v1/label/__name__/values?{mq}&{span}"),
        ] {
            check(
                path.clone(),
                api(&prom_addr, &path),
                api(&pl_addr, &path),
                false,
                true,
            );
        }
    }
    for path in [
        format!("/api/v1/labels?{span}"),
        format!("/api/v1/label/__name__/values?{span}"),
        format!("/api/v1/label/instance/values?{span}"),
        format!("/api/v1/label/model_version/values?{span}"),
    ] {
        check(
            path.clone(),
            api(&prom_addr, &path),
            api(&pl_addr, &path),
            false,
            true,
        );
    }

    println!(
        "differential: {} series, {} samples, {} queries, {checks} comparisons ({answered} with \
         data), {} mismatches (load {:.1?}, queries {:.1?})",
        data.series,
        data.samples,
        queries.len(),
        mismatches.len(),
        loaded.duration_since(started),
        loaded.elapsed()
    );
    assert!(
        answered * 4 >= checks * 3,
        "only {answered} of {checks} answers carry data: the comparison is too weak"
    );
    assert!(
        mismatches.is_empty(),
        "{} of {checks} comparisons differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// A JSON answer cut to a readable length for the failure message.
fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 1500 {
        let cut = (0..=1500)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}… ({} bytes)", &s[..cut], s.len())
    } else {
        s
    }
}
