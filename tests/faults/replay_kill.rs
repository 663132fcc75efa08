//! SIGKILL during WAL replay: `promlite serve` is started on a data
//! directory holding a large WAL (no blocks) and killed at several moments
//! before it reports ready, repeatedly; a clean start afterwards must hold
//! every committed sample, and nothing else.

use std::path::Path;
use std::time::{Duration, Instant};

use promlite_tsdb::{Db, DbOptions};

use crate::dataset;
use crate::harness::{free_port, http, serve, Promlite};

const SERIES: usize = 200;
/// 600 s of data at one sample per 100 ms: 1.2 M samples in the WAL.
const END_MS: i64 = 600_000;

/// Writes the dataset through the Db (WAL + head), one commit per second
/// of data, and closes it without cutting a block.
fn write_wal(dir: &Path) {
    let o = DbOptions {
        block_range_ms: 24 * 3_600_000,
        ..dataset::opts()
    };
    let db = Db::open(dir, o).expect("open for append");
    let mut t0 = 0;
    while t0 < END_MS {
        let t1 = t0 + 1_000;
        let mut app = db.appender();
        for i in 0..SERIES {
            for (t, v) in dataset::samples(i, t0, t1) {
                app.append(None, &dataset::labels(i), t, v).expect("append");
            }
        }
        app.commit().expect("commit");
        t0 = t1;
    }
    db.close().expect("close");
}

fn want() -> Vec<(promlite_model::Labels, Vec<(i64, f64)>)> {
    (0..SERIES)
        .map(|i| (dataset::labels(i), dataset::samples(i, 0, END_MS)))
        .collect()
}

fn start(root: &Path, data: &Path, n: usize) -> Promlite {
    let cfg = root.join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1m\nscrape_configs: []\n").expect("cfg");
    let addr = format!("127.0.0.1:{}", free_port());
    let extra = ["--storage.tsdb.retention.time", "0s"];
    serve(&cfg, data, &addr, &extra, &root.join(format!("log-{n}")))
}

fn ready(p: &Promlite) -> bool {
    http(&p.addr, "GET", "/-/ready", "")
        .map(|(c, _)| c == 200)
        .unwrap_or(false)
}

/// Time from start to ready, polling every 5 ms (bounded at 60 s).
fn time_to_ready(p: &Promlite) -> Duration {
    let t0 = Instant::now();
    while !ready(p) {
        assert!(t0.elapsed() < Duration::from_secs(60), "never ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    t0.elapsed()
}

#[test]
fn sigkill_during_wal_replay_loses_no_committed_sample() {
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("data");
    write_wal(&data);
    let want = want();

    // A clean start on a second copy of the same WAL gives the replay time.
    let probe = root.path().join("probe");
    write_wal(&probe);
    let mut p = start(root.path(), &probe, 0);
    let full = time_to_ready(&p);
    p.signal_and_wait(libc::SIGTERM);
    std::fs::remove_dir_all(&probe).expect("remove probe");

    // Kill at 10 %, 30 %, 50 %, 70 % and 90 % of that, then once more.
    let mut killed_before_ready = 0;
    for (n, pct) in [10u32, 30, 50, 70, 90, 20].into_iter().enumerate() {
        let mut p = start(root.path(), &data, n + 1);
        std::thread::sleep(full * pct / 100);
        if !ready(&p) {
            killed_before_ready += 1;
        }
        p.signal_and_wait(libc::SIGKILL);
    }
    eprintln!(
        "replay of {} samples: ready after {full:?}; {killed_before_ready} of 6 kills landed before ready",
        want.iter().map(|(_, s)| s.len()).sum::<usize>()
    );
    assert!(
        killed_before_ready >= 3,
        "most kills must land during startup/replay ({killed_before_ready} of 6; replay took {full:?})"
    );

    // A clean start now becomes ready and shuts down cleanly...
    let mut p = start(root.path(), &data, 9);
    time_to_ready(&p);
    let status = p.signal_and_wait(libc::SIGTERM);
    assert!(status.success(), "clean shutdown after the kills: {status}");
    // ...and every committed sample is there, exactly once.
    let db = Db::open(&data, dataset::opts()).expect("open after kills");
    assert_eq!(db.replay_report().undecodable, 0);
    dataset::assert_same(&dataset::dump(&db), &want, "after 6 kills during replay");
    db.close().expect("close");
}
