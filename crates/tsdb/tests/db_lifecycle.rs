//! Head → blocks → compaction → retention, driven by explicit `tick` calls.

mod common;

use common::all;
use promlite_model::{labels, AppendError, Labels};
use promlite_tsdb::{Db, DbOptions};

const RANGE: i64 = 1000;

fn opts() -> DbOptions {
    DbOptions {
        background: false,
        block_range_ms: RANGE,
        retention_ms: None,
        wal_segment_size: 4096,
        ..Default::default()
    }
}

fn series(i: usize) -> Labels {
    Labels::from_pairs([("__name__", "life".to_string()), ("i", i.to_string())])
}

/// Appends `(t, t/10)` for 3 series at 100 ms steps over `[from, to)`.
fn fill(db: &Db, from: i64, to: i64) {
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for i in 0..3 {
            app.append(None, &series(i), t, (t / 10) as f64).unwrap();
        }
        app.commit().unwrap();
        t += 100;
    }
}

fn expected(from: i64, to: i64) -> Vec<(i64, f64)> {
    (from / 100..to / 100)
        .map(|k| (k * 100, (k * 10) as f64))
        .collect()
}

fn block_dirs(db: &Db) -> usize {
    std::fs::read_dir(db.dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("meta.json").exists())
        .count()
}

#[test]
fn head_is_cut_into_blocks_and_queries_see_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    fill(&db, 0, 2000);
    // Spans 1.9 s > 1.5 ranges: the first range becomes a block.
    let r = db.tick().unwrap();
    assert_eq!(r.blocks_written, 1);
    assert_eq!(block_dirs(&db), 1);
    assert_eq!(db.head().min_time(), Some(1000));
    let got = all(&db);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].1, expected(0, 2000), "block + head merged");
    // Older than the cut: refused.
    let mut app = db.appender();
    assert_eq!(
        app.append(None, &series(0), 900, 1.0),
        Err(AppendError::OutOfBounds)
    );
    drop(app);

    fill(&db, 2000, 6000);
    let r = db.tick().unwrap();
    assert!(r.blocks_written >= 3, "{r:?}");
    assert_eq!(all(&db)[2].1, expected(0, 6000));
    let q = db.querier(1500, 3499).unwrap();
    let part = common::dump(&db, 1500, 3499, &[promlite_model::Matcher::equal("i", "1")]);
    drop(q);
    assert_eq!(part[0].1, expected(1500, 3500));
    // Label APIs see block data too.
    let q = db.querier(0, 500).unwrap();
    assert_eq!(q.label_values("i", &[]).unwrap(), vec!["0", "1", "2"]);
    drop(q);

    // Reopen: blocks load, the WAL checkpoint holds only the head's part.
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(all(&db)[1].1, expected(0, 6000));
    assert!(db.replay_report().checkpoint.is_some());
    assert!(db.head().min_time().unwrap() >= 4000);
}

#[test]
fn blocks_are_compacted_and_retention_deletes_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    fill(&db, 0, 12_000);
    let r = db.tick().unwrap();
    assert!(r.blocks_written >= 9, "{r:?}");
    assert!(r.blocks_compacted >= 3, "{r:?}");
    let after_compaction = block_dirs(&db);
    assert!(
        after_compaction < r.blocks_written,
        "{after_compaction} blocks"
    );
    assert_eq!(
        all(&db)[0].1,
        expected(0, 12_000),
        "compaction loses nothing"
    );
    drop(db);

    // The big compacted block ends at 9000 at most; the newest block ends at
    // 11000: with 1.5 s retention the compacted one is beyond it.
    let db = Db::open(
        dir.path(),
        DbOptions {
            retention_ms: Some(1500),
            ..opts()
        },
    )
    .unwrap();
    let r = db.tick().unwrap();
    assert!(r.blocks_deleted >= 1, "{r:?}");
    let got = all(&db);
    let first = got[0].1.first().unwrap().0;
    assert!(first >= 3000, "old data gone, starts at {first}");
    assert_eq!(got[0].1, expected(first, 12_000), "what is left is intact");
}

#[test]
fn damaged_block_is_quarantined_and_the_db_starts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        fill(&db, 0, 2000);
        assert_eq!(db.tick().unwrap().blocks_written, 1);
    }
    let block = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .find(|e| e.path().join("meta.json").exists())
        .unwrap()
        .path();
    let index = block.join("index");
    let mut bytes = std::fs::read(&index).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&index, bytes).unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    assert!(!block.exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join("quarantine"))
            .unwrap()
            .count(),
        1
    );
    // The head part (from the WAL) is still there.
    assert_eq!(all(&db)[0].1, expected(1000, 2000));
    let mut app = db.appender();
    app.append(None, &labels!("__name__" => "after"), 5000, 1.0)
        .unwrap();
    app.commit().unwrap();
}

#[test]
fn queries_during_head_cuts_never_miss_or_split_data() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), opts()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let db = db.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            for k in 0..150i64 {
                fill(&db, k * 100, k * 100 + 100);
                if k % 10 == 9 {
                    db.tick().unwrap();
                }
            }
            done.store(true, Ordering::Release);
        })
    };
    let mut checks = 0;
    while !done.load(Ordering::Acquire) || checks == 0 {
        let got = all(&db);
        if let Some((_, first)) = got.first() {
            // Gap-free from 0, and every series shows the same batches.
            assert_eq!(first, &expected(0, first.len() as i64 * 100));
            for (_, s) in &got {
                assert_eq!(s, first);
            }
        }
        checks += 1;
    }
    writer.join().unwrap();
    assert!(block_dirs(&db) >= 1);
    assert_eq!(all(&db)[0].1, expected(0, 15_000));
}
