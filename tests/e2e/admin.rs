//! `promlite serve --web.enable-admin-api`: delete series (imported blocks
//! and the scraped head), snapshot, clean tombstones; after a restart
//! without the flag the deletions hold and the admin API is refused.

use std::path::Path;
use std::time::Duration;

use promlite::model::{Matcher, SelectHints, ValueType};
use serde_json::Value;

use crate::harness::*;

const HOUR: i64 = 3_600_000;

fn post(addr: &str, path: &str) -> (u16, String) {
    http(addr, "POST", path, "").expect("http post")
}

fn series(addr: &str, m: &str, start_s: i64, end_s: i64) -> Vec<Value> {
    let v = get_json(
        addr,
        &format!(
            "/api/v1/series?match[]={}&start={start_s}&end={end_s}",
            enc(m)
        ),
    );
    assert_eq!(v["status"], "success", "{v}");
    v["data"].as_array().cloned().unwrap_or_default()
}

fn count_at(addr: &str, q: &str, t_s: f64) -> Option<f64> {
    scalar_of(&query(addr, q, Some(t_s)))
}

/// Samples of series matching `m` in a data directory (a snapshot).
fn samples_in(dir: &Path, m: Matcher) -> Vec<(String, Vec<i64>)> {
    let db = promlite::tsdb::Db::open(
        dir,
        promlite::DbOptions {
            background: false,
            retention_ms: None,
            ..Default::default()
        },
    )
    .expect("open snapshot");
    let q = db.querier(i64::MIN, i64::MAX).expect("querier");
    let found = q.select(&SelectHints::default(), &[m]).expect("select");
    found
        .iter()
        .map(|s| {
            let mut it = s.iter();
            let mut ts = Vec::new();
            while it.next() == ValueType::Float {
                ts.push(it.at().0);
            }
            (s.labels().to_string(), ts)
        })
        .collect()
}

#[test]
fn admin_api_deletes_snapshots_and_cleans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // Imported history: one sample a minute for two hours, ending an hour
    // before the current hour, so the blocks end before the scraped data.
    let h = (now_s() as i64 * 1000).div_euclid(HOUR) * HOUR;
    let base = h - 3 * HOUR;
    let mut om = String::from("# TYPE imported gauge\n");
    for i in 0..120i64 {
        let t = (base + i * 60_000) / 1000;
        for k in ["a", "b"] {
            om.push_str(&format!("imported{{k=\"{k}\"}} {i} {t}\n"));
        }
    }
    om.push_str("# EOF\n");
    let om_path = dir.path().join("history.om");
    std::fs::write(&om_path, om).expect("write openmetrics");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_promlite"))
        .args(["import", "openmetrics", om_path.to_str().expect("utf8")])
        .args(["--storage.tsdb.path", data.to_str().expect("utf8")])
        .args(["--block-duration", "1h"])
        .output()
        .expect("run import");
    assert!(out.status.success(), "import: {out:?}");

    let target =
        spawn_target(|| "# TYPE app_requests_total counter\napp_requests_total 1\n".into());
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [\"{target}\"]\n"),
    )
    .expect("write config");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("promlite.log");
    let start = |admin: bool, log: &Path| {
        let extra: &[&str] = if admin {
            &["--web.enable-admin-api"]
        } else {
            &[]
        };
        serve_ready_with(&cfg, &data, &addr, extra, log)
    };
    let mut p = start(true, &log);

    let (base_s, h_s) = (base / 1000, h / 1000);
    assert_eq!(series(&addr, "imported", base_s, h_s).len(), 2);
    let count_b = "count_over_time(imported{k=\"b\"}[4h])";
    assert_eq!(count_at(&addr, count_b, h_s as f64), Some(120.0));
    assert!(poll(Duration::from_secs(15), || count_at(
        &addr,
        "count_over_time(app_requests_total[1h])",
        now_s()
    )
    .is_some_and(|c| c >= 3.0)));

    // Blocks: a whole series, then part of another.
    let (code, body) = post(
        &addr,
        &format!(
            "/api/v1/admin/tsdb/delete_series?match[]={}",
            enc("imported{k=\"a\"}")
        ),
    );
    assert_eq!(code, 204, "{body}");
    let left = series(&addr, "imported", base_s, h_s);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["k"], "b");
    let (from, to) = ((base + 30 * 60_000) / 1000, (base + 60 * 60_000) / 1000);
    let (code, body) = post(
        &addr,
        &format!(
            "/api/v1/admin/tsdb/delete_series?match[]={}&start={from}&end={to}",
            enc("imported{k=\"b\"}")
        ),
    );
    assert_eq!(code, 204, "{body}");
    assert_eq!(count_at(&addr, count_b, h_s as f64), Some(89.0));

    // The head: everything scraped up to two seconds ago.
    let t_del = (now_s() * 1000.0).floor() / 1000.0 - 2.0;
    let (code, body) = post(
        &addr,
        &format!("/api/v1/admin/tsdb/delete_series?match[]=app_requests_total&end={t_del:.3}"),
    );
    assert_eq!(code, 204, "{body}");
    let head_count = "count_over_time(app_requests_total[1h])";
    assert_eq!(count_at(&addr, head_count, t_del), None);
    // Bad requests.
    assert_eq!(post(&addr, "/api/v1/admin/tsdb/delete_series").0, 400);

    // Snapshot: a data directory with the same samples.
    let (code, body) = post(&addr, "/api/v1/admin/tsdb/snapshot");
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let name = v["data"]["name"].as_str().expect("name").to_string();
    let snap = data.join("snapshots").join(&name);
    let imported = samples_in(&snap, Matcher::equal("__name__", "imported"));
    assert_eq!(imported.len(), 1, "{imported:?}");
    assert_eq!(imported[0].1.len(), 89);
    let app = samples_in(&snap, Matcher::equal("__name__", "app_requests_total"));
    assert!(
        app.iter()
            .all(|(_, ts)| ts.iter().all(|&t| t as f64 > t_del * 1000.0)),
        "{app:?}"
    );

    // Clean tombstones: same answers, no tombstone files left.
    assert_eq!(post(&addr, "/api/v1/admin/tsdb/clean_tombstones").0, 204);
    assert_eq!(count_at(&addr, count_b, h_s as f64), Some(89.0));
    assert_eq!(series(&addr, "imported", base_s, h_s).len(), 1);
    for e in std::fs::read_dir(&data).expect("read data").flatten() {
        assert!(!e.path().join("tombstones").exists(), "{:?}", e.path());
    }

    // Restart without the flag: deletions hold, the admin API is refused.
    let status = p.signal_and_wait(libc::SIGTERM);
    assert!(status.success(), "{status}");
    let log2 = dir.path().join("promlite2.log");
    let _p = start(false, &log2);
    assert_eq!(count_at(&addr, count_b, h_s as f64), Some(89.0));
    assert_eq!(series(&addr, "imported", base_s, h_s).len(), 1);
    assert_eq!(count_at(&addr, head_count, t_del), None);
    let (code, body) = post(&addr, "/api/v1/admin/tsdb/snapshot");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("admin APIs disabled"), "{body}");
}
