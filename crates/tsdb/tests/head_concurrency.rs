//! Appenders and queriers running at the same time.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::opts;
use promlite_model::{Labels, MatchOp, Matcher, SelectHints, ValueType};
use promlite_tsdb::Db;

const WRITERS: usize = 4;
const SERIES_PER_WRITER: usize = 50;
const BATCHES: i64 = 60;

fn labels(w: usize, s: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "conc".to_string()),
        ("w", w.to_string()),
        ("s", s.to_string()),
    ])
}

#[test]
fn concurrent_appends_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), opts()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let db = db.clone();
        writers.push(std::thread::spawn(move || {
            let ls: Vec<Labels> = (0..SERIES_PER_WRITER).map(|s| labels(w, s)).collect();
            let mut refs = vec![None; ls.len()];
            for b in 0..BATCHES {
                let mut app = db.appender();
                for (i, l) in ls.iter().enumerate() {
                    refs[i] = Some(app.append(refs[i], l, b * 15_000, b as f64).unwrap());
                }
                app.commit().unwrap();
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let db = db.clone();
        let done = done.clone();
        readers.push(std::thread::spawn(move || {
            let m = Matcher::new(MatchOp::Regex, "w", ".+").unwrap();
            let mut rounds = 0;
            while !done.load(Ordering::Acquire) || rounds == 0 {
                let q = db.querier(i64::MIN, i64::MAX).unwrap();
                let series = q
                    .select(&SelectHints::default(), std::slice::from_ref(&m))
                    .unwrap();
                for pair in series.windows(2) {
                    assert!(pair[0].labels() < pair[1].labels(), "sorted and unique");
                }
                let mut counts = std::collections::HashMap::new();
                for s in &series {
                    let mut it = s.iter();
                    let mut expect = 0i64;
                    while it.next() == ValueType::Float {
                        // A writer's commits are in order and gap-free.
                        assert_eq!(it.at(), (expect * 15_000, expect as f64));
                        expect += 1;
                    }
                    let w = s.labels().get_or_empty("w").to_string();
                    let c = counts.entry(w).or_insert(expect);
                    // Isolation: a batch is visible in all its series or none.
                    assert_eq!(*c, expect, "partial batch visible");
                }
                rounds += 1;
            }
            rounds
        }));
    }
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let all = common::all(&db);
    assert_eq!(all.len(), WRITERS * SERIES_PER_WRITER);
    assert!(all.iter().all(|(_, s)| s.len() == BATCHES as usize));
    assert_eq!(
        db.head_stats().num_series,
        (WRITERS * SERIES_PER_WRITER) as u64
    );
}

#[test]
fn racing_appenders_on_the_same_series_agree_with_replay() {
    let dir = tempfile::tempdir().unwrap();
    let l = Labels::from_pairs([("__name__", "shared")]);
    let live;
    {
        let db = Arc::new(Db::open(dir.path(), opts()).unwrap());
        let mut hs = Vec::new();
        for w in 0..4i64 {
            let db = db.clone();
            let l = l.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..200i64 {
                    let mut app = db.appender();
                    // Out-of-order races are expected; they must only drop samples.
                    let _ = app.append(None, &l, i * 10 + w, w as f64);
                    app.commit().unwrap();
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        live = common::all(&db);
        let ts: Vec<i64> = live[0].1.iter().map(|s| s.0).collect();
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        common::all(&db),
        live,
        "replay reproduces exactly what queries saw"
    );
}

#[test]
fn concurrent_commits_with_fsync_always_share_fsyncs_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Arc::new(Db::open(dir.path(), common::opts_always()).unwrap());
        let hs: Vec<_> = (0..4)
            .map(|w| {
                let db = db.clone();
                std::thread::spawn(move || {
                    for b in 0..40i64 {
                        let mut app = db.appender();
                        app.append(None, &labels(w, 0), b * 1000, b as f64).unwrap();
                        app.commit().unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    let all = common::all(&db);
    assert_eq!(all.len(), 4);
    for (_, s) in all {
        assert_eq!(s, (0..40).map(|b| (b * 1000, b as f64)).collect::<Vec<_>>());
    }
}
