//! SIGKILL at random moments while a child process compacts: the child
//! opens a data directory holding 27 level-1 blocks plus 2.5 block ranges
//! of WAL-only head data and runs one `Db::tick` (cut the head into a
//! block, checkpoint the WAL, compact 27 blocks level by level). The parent
//! kills it at a seeded random moment of that work, reopens the directory
//! and checks that every sample is there exactly once and that a query set
//! gives the same answers as a run that was not killed; then it lets the
//! reopened Db finish the maintenance and checks again.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, Instant};

use promlite_promql::{Engine, EngineOptions, QueryOptions};
use promlite_tsdb::Db;

use crate::child::{self, Rng};
use crate::dataset::{self, RANGE_MS};

const SERIES: usize = 100;
const BLOCKS: i64 = 27;
const HEAD_END: i64 = BLOCKS * RANGE_MS + 25_000;
const ROUNDS: usize = 10;

/// Child role: open, tick once, close. Prints `OPEN` and `DONE`.
#[test]
fn compaction_child() {
    let Some((dir, _)) = child::role() else {
        return;
    };
    let db = Db::open(&dir, dataset::opts()).expect("child open");
    println!("@@OPEN");
    let report = db.tick().expect("tick");
    println!("@@TICK {report:?}");
    db.close().expect("close");
    println!("@@DONE");
}

/// Runs the child; kills it `kill_after` after it printed `OPEN` (never, if
/// `None`). Returns the time from `OPEN` to exit and whether it finished.
fn run_child(dir: &Path, kill_after: Option<Duration>) -> (Duration, bool) {
    let mut c = child::spawn("storage_kill::compaction_child", dir, "");
    let stdout = c.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if line.expect("child stdout").ends_with("@@OPEN") {
            break;
        }
    }
    let opened = Instant::now();
    if let Some(d) = kill_after {
        std::thread::sleep(d);
        let _ = c.kill(); // SIGKILL; the child may already have exited.
    }
    let done = lines.any(|l| l.map(|l| l.contains("@@DONE")).unwrap_or(false));
    let status = c.wait().expect("wait child");
    if kill_after.is_none() {
        let mut err = String::new();
        if let Some(mut e) = c.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        assert!(status.success() && done, "clean child failed: {err}");
    }
    (opened.elapsed(), done)
}

fn query_set(db: &Db) -> Vec<String> {
    let engine = Engine::new(EngineOptions {
        default_eval_interval_ms: 1_000,
        ..Default::default()
    });
    let o = QueryOptions::default();
    let mut out = Vec::new();
    for t in [5_000, 95_000, 200_000, 275_000, HEAD_END - 1] {
        for q in [
            "sum(fault_test)",
            "count(fault_test)",
            "max_over_time(fault_test{i=\"007\"}[7s])",
        ] {
            out.push(format!("{q}@{t}: {:?}", engine.instant_query(db, q, t, &o)));
        }
    }
    for q in [
        "sum(count_over_time(fault_test[10s]))",
        "sum by (i) (rate(fault_test{i=~\"00.\"}[5s]))",
    ] {
        let r = engine.range_query(db, q, 0, HEAD_END, 9_000, &o);
        out.push(format!("{q}: {r:?}"));
    }
    out
}

/// Blocks must not overlap once maintenance has finished.
fn assert_no_overlap(dir: &Path, ctx: &str) {
    let b = dataset::block_ranges(dir);
    for w in b.windows(2) {
        assert!(w[0].2 <= w[1].1, "{ctx}: overlapping blocks {w:?}");
    }
    let tmp: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .map(|e| e.file_name())
        .collect();
    assert!(tmp.is_empty(), "{ctx}: leftover temporary dirs {tmp:?}");
}

#[test]
fn sigkill_during_compaction_loses_and_duplicates_nothing() {
    let root = tempfile::tempdir().expect("tempdir");
    let pristine = root.path().join("pristine");
    dataset::write_blocks(&pristine, SERIES, 0..BLOCKS);
    dataset::append_head(&pristine, SERIES, BLOCKS * RANGE_MS, HEAD_END);
    let want = dataset::expected(SERIES, &[(0, HEAD_END)]);

    // The clean run: its duration bounds the kill moments; its answers are
    // the reference.
    let clean = root.path().join("clean");
    dataset::copy_dir(&pristine, &clean);
    let (work, _) = run_child(&clean, None);
    let db = Db::open(&clean, dataset::opts()).expect("open clean");
    dataset::assert_same(&dataset::dump(&db), &want, "clean run");
    let reference = query_set(&db);
    assert_eq!(
        db.tick().expect("tick").blocks_compacted,
        0,
        "clean run finished"
    );
    drop(db);
    assert_no_overlap(&clean, "clean run");
    let clean_blocks = dataset::block_ranges(&clean).len();
    assert!(
        clean_blocks < 10,
        "compaction happened: {clean_blocks} blocks"
    );
    eprintln!("clean tick took {work:?}, {clean_blocks} blocks after");

    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let span = work.as_micros().max(1) as u64;
    let mut finished = 0;
    for round in 0..ROUNDS {
        let dir = root.path().join(format!("round{round}"));
        dataset::copy_dir(&pristine, &dir);
        let delay = Duration::from_micros(rng.below(span + span / 10));
        let (_, done) = run_child(&dir, Some(delay));
        finished += usize::from(done);
        let ctx = format!("round {round} (killed {delay:?} into the tick, finished: {done})");
        let db = Db::open(&dir, dataset::opts()).expect("reopen after kill");
        assert_eq!(db.replay_report().undecodable, 0, "{ctx}");
        dataset::assert_same(&dataset::dump(&db), &want, &ctx);
        assert_eq!(
            query_set(&db),
            reference,
            "{ctx}: queries differ from the clean run"
        );
        // Finish the interrupted maintenance; still the same data.
        db.tick().expect("tick after kill");
        dataset::assert_same(&dataset::dump(&db), &want, &format!("{ctx}, after tick"));
        assert_eq!(query_set(&db), reference, "{ctx}: queries after tick");
        db.close().expect("close");
        drop(db);
        assert_no_overlap(&dir, &ctx);
        eprintln!("{ctx}: ok, {} blocks", dataset::block_ranges(&dir).len());
    }
    assert!(finished < ROUNDS, "every child finished before its kill");
}
