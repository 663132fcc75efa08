//! Crash test: a child process appends and commits in a loop, printing the
//! id of each committed batch; the parent SIGKILLs it at a random moment,
//! reopens the database and checks that every acknowledged batch is there,
//! whole. The child is this test binary re-executed with an env var set.
//!
//! Both fsync policies are exercised. `Interval` is enough for a *process*
//! crash because commit returns only after the records were written to the
//! WAL file: they are in the kernel's page cache, which SIGKILL does not
//! touch. (`Always` additionally covers power loss, which a test cannot.)

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use promlite_model::{Appendable, Labels};
use promlite_tsdb::{Db, DbOptions, FsyncPolicy};
use rand::Rng;

const ENV_DIR: &str = "PROMLITE_TSDB_CRASH_DIR";
const ENV_FSYNC: &str = "PROMLITE_TSDB_CRASH_FSYNC";
const SERIES: usize = 10;

fn series_labels(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "crash_test".to_string()), ("i", i.to_string())])
}

/// `mode` is `always`, `interval`, or `interval-tick` (also cuts blocks,
/// checkpoints and compacts while writing, with a 20 s block range).
fn options(mode: &str) -> DbOptions {
    let fsync = if mode == "always" {
        FsyncPolicy::Always
    } else {
        FsyncPolicy::Interval(Duration::from_millis(50))
    };
    // Small segments so kills also land around segment rolls.
    let block_range_ms = if mode == "interval-tick" {
        20_000
    } else {
        promlite_tsdb::DEFAULT_BLOCK_RANGE_MS
    };
    DbOptions {
        fsync,
        wal_segment_size: 16 * 1024,
        background: true,
        block_range_ms,
        retention_ms: None,
        ..Default::default()
    }
}

/// Timestamps (batch ids × 1000) present in all series; panics if a batch is
/// only partly visible.
fn committed_ids(db: &Db) -> Vec<i64> {
    let got = common::all(db);
    let mut ids: Option<Vec<i64>> = None;
    for (_, samples) in &got {
        let ts: Vec<i64> = samples.iter().map(|s| s.0 / 1000).collect();
        for s in samples {
            assert_eq!(s.1, (s.0 / 1000) as f64);
        }
        match &ids {
            None => ids = Some(ts),
            Some(prev) => assert_eq!(prev, &ts, "a batch is partly visible"),
        }
    }
    if !got.is_empty() {
        assert_eq!(got.len(), SERIES);
    }
    ids.unwrap_or_default()
}

/// The child's loop. Only runs when re-executed by `kill_and_recover`.
#[test]
fn crash_child_writer() {
    let (Ok(dir), Ok(fsync)) = (std::env::var(ENV_DIR), std::env::var(ENV_FSYNC)) else {
        return;
    };
    let db = Db::open(&dir, options(&fsync)).expect("child open");
    let start = committed_ids(&db).last().map(|l| l + 1).unwrap_or(0);
    let labels: Vec<Labels> = (0..SERIES).map(series_labels).collect();
    for id in start..start + 1_000_000 {
        let mut app = Appendable::appender(&db);
        for l in &labels {
            app.append(None, l, id * 1000, id as f64).expect("append");
        }
        app.commit().expect("commit");
        println!("COMMITTED {id}");
        if fsync == "interval-tick" && id % 7 == 0 {
            db.tick().expect("tick");
        }
    }
}

fn kill_and_recover(fsync: &str, rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::thread_rng();
    let mut total_acknowledged = 0;
    let logs = tempfile::tempdir().unwrap();
    for round in 0..rounds {
        let err_path = logs.path().join(format!("child-{round}.stderr"));
        let err_file = std::fs::File::create(&err_path).unwrap();
        let mut child = Command::new(&exe)
            .args([
                "crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_DIR, dir.path())
            .env(ENV_FSYNC, fsync)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err_file))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let kill_after = rng.gen_range(5..400);
        let mut last: Option<i64> = None;
        let mut seen = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("COMMITTED ") {
                last = Some(id.parse().unwrap());
                seen += 1;
                if seen >= kill_after {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
                               // Acknowledgements printed before the kill are still in the pipe.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("COMMITTED ") {
                last = Some(id.parse().unwrap());
            }
        }
        child.wait().unwrap();
        let Some(last) = last else {
            panic!(
                "round {round} ({fsync}): the child committed nothing; its stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        };
        let db = Db::open(
            dir.path(),
            DbOptions {
                background: false,
                ..options(fsync)
            },
        )
        .unwrap();
        let ids = committed_ids(&db);
        assert_eq!(db.replay_report().undecodable, 0);
        // Every acknowledged batch is there; at most the one in flight beyond.
        let expect: Vec<i64> = (0..=last).collect();
        assert_eq!(
            &ids[..expect.len().min(ids.len())],
            &expect[..],
            "round {round} ({fsync})"
        );
        assert!(
            ids.len() == expect.len() || ids.len() == expect.len() + 1,
            "round {round}: {} vs {}",
            ids.len(),
            expect.len()
        );
        total_acknowledged = expect.len();
        if fsync == "interval-tick" && last > 60 {
            let blocks = std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .filter(|e| e.path().join("meta.json").exists())
                .count();
            assert!(blocks > 0, "the child cut blocks");
        }
        eprintln!(
            "crash round {round} ({fsync}): {} batches acknowledged, {} recovered",
            expect.len(),
            ids.len()
        );
        db.close().unwrap();
    }
    assert!(total_acknowledged >= rounds * 5);
}

#[test]
fn sigkill_loses_no_acknowledged_batch_fsync_always() {
    kill_and_recover("always", 2);
}

#[test]
fn sigkill_during_block_cuts_and_checkpoints_loses_nothing() {
    kill_and_recover("interval-tick", 3);
}

#[test]
fn sigkill_loses_no_acknowledged_batch_fsync_interval() {
    kill_and_recover("interval", 3);
}
