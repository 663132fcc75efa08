//! Deleting series (tombstones), cleaning tombstones and snapshots.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::all;
use promlite_model::{labels, Labels, Matcher};
use promlite_tsdb::quarantine::QUARANTINE_DIR;
use promlite_tsdb::tombstones::TOMBSTONES_FILE;
use promlite_tsdb::{Db, DbOptions, SNAPSHOTS_DIR};

type Dump = Vec<(Labels, Vec<(i64, f64)>)>;

fn opts() -> DbOptions {
    DbOptions {
        block_range_ms: 1000,
        retention_ms: None,
        ..common::opts()
    }
}

fn series(job: &str) -> Labels {
    labels!("__name__" => "m", "job" => job)
}

/// Jobs a, b, c with a sample every 100 ms in `[from, to)`.
fn ingest(db: &Db, from: i64, to: i64) {
    let mut app = db.appender();
    for t in (from..to).step_by(100) {
        for (i, job) in ["a", "b", "c"].iter().enumerate() {
            app.append(None, &series(job), t, (t as f64) / 10.0 + i as f64)
                .unwrap();
        }
    }
    app.commit().unwrap();
}

/// `d` without the samples of series `job` in `[mint, maxt]`.
fn without(d: &Dump, job: &str, mint: i64, maxt: i64) -> Dump {
    d.iter()
        .map(|(l, s)| {
            let s = if l.get("job") == Some(job) {
                s.iter()
                    .copied()
                    .filter(|x| x.0 < mint || x.0 > maxt)
                    .collect()
            } else {
                s.clone()
            };
            (l.clone(), s)
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

fn job(j: &str) -> Vec<Vec<Matcher>> {
    vec![vec![Matcher::equal("job", j)]]
}

fn block_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    v.sort();
    v
}

#[test]
fn delete_in_head_is_immediate_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let expect;
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        ingest(&db, 0, 1200);
        let before = all(&db);
        let r = db.delete_series(&job("a"), 300, 550).unwrap();
        assert_eq!((r.head_series, r.head_samples, r.blocks), (1, 3, 0));
        let mid = without(&before, "a", 300, 550);
        assert_eq!(all(&db), mid);
        // Deleting the tail lets those timestamps be written again; the
        // new samples are not covered by the earlier deletion.
        db.delete_series(&job("b"), 1000, i64::MAX).unwrap();
        let mut app = db.appender();
        app.append(None, &series("b"), 1000, 42.0).unwrap();
        app.commit().unwrap();
        let mut e = without(&mid, "b", 1000, i64::MAX);
        e[1].1.push((1000, 42.0));
        assert_eq!(all(&db), e);
        expect = e;
        // A set matching nothing, an empty range: no change.
        db.delete_series(&job("zzz"), 0, 5000).unwrap();
        db.delete_series(&job("c"), 500, 400).unwrap();
        assert_eq!(all(&db), expect);
        // Sets matching everything are refused, as Prometheus does.
        let bad = vec![vec![Matcher::equal("job", "")]];
        assert!(db.delete_series(&bad, 0, 1).is_err());
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(all(&db), expect, "WAL tombstones replayed in log order");
}

#[test]
fn head_deletions_survive_a_wal_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let expect;
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        ingest(&db, 0, 1200);
        ingest(&db, 1200, 3600);
        db.delete_series(&job("c"), 2500, 3200).unwrap();
        db.delete_series(&job("a"), 200, 400).unwrap();
        expect = without(&without(&all(&db), "c", 2500, 3200), "a", 200, 400);
        let report = db.tick().unwrap();
        assert!(report.blocks_written >= 2, "{report:?}");
        assert_eq!(all(&db), expect);
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    assert!(db.replay_report().checkpoint.is_some());
    assert_eq!(all(&db), expect);
}

#[test]
fn delete_in_blocks_uses_tombstone_files() {
    let dir = tempfile::tempdir().unwrap();
    let expect;
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        ingest(&db, 0, 4000);
        db.tick().unwrap();
        let before = all(&db);
        assert!(!block_dirs(dir.path()).is_empty());
        // Spans blocks and the head.
        let r = db.delete_series(&job("a"), 500, 3950).unwrap();
        assert!(r.blocks >= 2, "{r:?}");
        assert_eq!(r.head_series, 1, "{r:?}");
        // A whole series, in blocks and head.
        db.delete_series(&job("b"), i64::MIN, i64::MAX).unwrap();
        expect = without(&without(&before, "a", 500, 3950), "b", i64::MIN, i64::MAX);
        assert_eq!(all(&db), expect);
        assert!(expect.iter().all(|(l, _)| l.get("job") != Some("b")));
        let with_file = block_dirs(dir.path())
            .iter()
            .filter(|b| b.join(TOMBSTONES_FILE).exists())
            .count();
        assert_eq!(with_file, block_dirs(dir.path()).len());
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(all(&db), expect);
}

#[test]
fn clean_tombstones_keeps_every_other_sample() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    ingest(&db, 0, 5000);
    db.tick().unwrap();
    let blocks_before = block_dirs(dir.path());
    db.delete_series(&job("a"), 700, 2300).unwrap();
    db.delete_series(&job("c"), 0, 999).unwrap();
    let expect = all(&db);
    let n = db.clean_tombstones().unwrap();
    assert!(n >= 1);
    assert_eq!(all(&db), expect, "same samples after the rewrite");
    let blocks_after = block_dirs(dir.path());
    assert!(blocks_after
        .iter()
        .all(|b| !b.join(TOMBSTONES_FILE).exists()));
    assert_ne!(blocks_before, blocks_after, "rewritten blocks have new ids");
    assert_eq!(db.clean_tombstones().unwrap(), 0, "nothing left to clean");
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(all(&db), expect);
    // Blocks left without data are removed by the clean-up.
    let m = vec![vec![Matcher::equal("__name__", "m")]];
    let floor = db.head().floor();
    db.delete_series(&m, i64::MIN, floor - 1).unwrap();
    let expect = all(&db);
    assert!(expect.iter().all(|(_, s)| s.iter().all(|x| x.0 >= floor)));
    assert!(!block_dirs(dir.path()).is_empty());
    db.clean_tombstones().unwrap();
    assert_eq!(all(&db), expect);
    assert!(block_dirs(dir.path()).is_empty());
}

#[test]
fn a_corrupt_tombstones_file_quarantines_the_block() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        ingest(&db, 0, 4000);
        db.tick().unwrap();
        db.delete_series(&job("a"), 0, 100).unwrap();
    }
    let damaged = block_dirs(dir.path())
        .into_iter()
        .find(|b| b.join(TOMBSTONES_FILE).exists())
        .unwrap();
    let path = damaged.join(TOMBSTONES_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let q = dir.path().join(QUARANTINE_DIR);
    assert!(q.join(damaged.file_name().unwrap()).exists());
    assert!(!damaged.exists());
    assert!(all(&db).iter().all(|(_, s)| s.iter().all(|x| x.0 >= 1000)));
}

#[test]
fn snapshots_open_with_the_same_samples() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    ingest(&db, 0, 4000);
    db.tick().unwrap();
    db.delete_series(&job("a"), 500, 3900).unwrap();
    let expect = all(&db);
    let floor = db.head().floor();
    assert!(floor > 0);

    let name = db.snapshot(true).unwrap();
    assert_eq!(name.len(), 33, "{name}");
    let snap = dir.path().join(SNAPSHOTS_DIR).join(&name);
    // Blocks are hard links.
    let first = block_dirs(dir.path())[0].clone();
    let linked = snap.join(first.file_name().unwrap()).join("index");
    assert!(std::fs::metadata(&linked).unwrap().nlink() >= 2);
    // Another process may open it; here a second Db does.
    {
        let s = Db::open(&snap, opts()).unwrap();
        assert_eq!(all(&s), expect);
    }
    let name2 = db.snapshot(false).unwrap();
    assert_ne!(name, name2);
    let s = Db::open(dir.path().join(SNAPSHOTS_DIR).join(&name2), opts()).unwrap();
    let blocks_only: Dump = expect
        .iter()
        .map(|(l, s)| {
            (
                l.clone(),
                s.iter().copied().filter(|x| x.0 < floor).collect(),
            )
        })
        .filter(|(_, s): &(Labels, Vec<(i64, f64)>)| !s.is_empty())
        .collect();
    assert_eq!(all(&s), blocks_only);
    // The source keeps working (and its data directory still opens).
    ingest(&db, 4000, 4100);
    drop(db);
    assert!(Db::open(dir.path(), opts()).is_ok());
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

#[test]
fn a_block_replaced_before_a_crash_is_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let saved = tempfile::tempdir().unwrap();
    let expect;
    let old;
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        ingest(&db, 0, 4000);
        db.tick().unwrap();
        db.delete_series(&job("b"), 0, 2500).unwrap();
        expect = all(&db);
        old = block_dirs(dir.path())
            .into_iter()
            .find(|b| b.join(TOMBSTONES_FILE).exists())
            .unwrap();
        copy_dir(&old, &saved.path().join("b"));
        assert!(db.clean_tombstones().unwrap() >= 1);
    }
    // As if the process died before deleting the old block.
    copy_dir(&saved.path().join("b"), &old);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert!(!old.exists(), "the replaced block is removed");
    assert_eq!(all(&db), expect);
}
