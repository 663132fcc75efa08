//! Ticks rewriting runs of spill segments (the open chunks' bytes, session
//! 12) while appenders close chunks into their regions in the same segments
//! and queriers read them: every answer stays exact.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::{dump, opts};
use promlite_model::{Labels, MatchOp, Matcher};
use promlite_tsdb::Db;

const WRITERS: usize = 2;
const SERIES_PER_WRITER: usize = 150;
const SAMPLES: i64 = 400;

fn labels(w: usize, s: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "runs".to_string()),
        ("w", w.to_string()),
        ("s", s.to_string()),
    ])
}

/// Full-precision noise, so that chunks are about 1 KB and close into
/// their regions while the ticks write their bytes.
fn value(w: usize, s: usize, t: i64) -> f64 {
    ((t * 31 + (w * 1000 + s) as i64) as f64 * 0.173).sin() * 7.654_321
}

#[test]
fn ticks_rewriting_runs_beside_appends_and_queries_keep_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), opts()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let ticked = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let db = db.clone();
        let ticked = ticked.clone();
        writers.push(std::thread::spawn(move || {
            let ls: Vec<Labels> = (0..SERIES_PER_WRITER).map(|s| labels(w, s)).collect();
            let mut refs = vec![None; ls.len()];
            for t in 0..SAMPLES {
                // Every few samples, wait for a tick to have run since the
                // last wait, so that ticks fall among the appends, and the
                // chunk closes (samples 120, 240, 360) two samples after a
                // wait. Whether a close lands inside a run's rewrite is a
                // matter of timing (in about one run in six here dozens do,
                // taking the heap path); `head::open`'s unit tests hold a
                // segment's rewrite lock to cover that path every time.
                if t % 4 == 2 {
                    let want = (t / 4) as usize;
                    let start = std::time::Instant::now();
                    while ticked.load(Ordering::Acquire) < want
                        && start.elapsed() < std::time::Duration::from_secs(5)
                    {
                        std::thread::yield_now();
                    }
                }
                let mut app = db.appender();
                for (s, l) in ls.iter().enumerate() {
                    refs[s] = Some(app.append(refs[s], l, t * 5_000, value(w, s, t)).unwrap());
                }
                app.commit().unwrap();
            }
        }));
    }
    let maintenance = {
        let db = db.clone();
        let done = done.clone();
        let ticked = ticked.clone();
        std::thread::spawn(move || {
            let mut ticks = 0;
            while !done.load(Ordering::Acquire) {
                db.tick().unwrap();
                let _ = db.spill_between_ticks();
                ticks += 1;
                ticked.store(ticks, Ordering::Release);
            }
            ticks
        })
    };
    let reader = {
        let db = db.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let m = Matcher::new(MatchOp::Equal, "__name__", "runs").unwrap();
            let mut rounds = 0;
            while !done.load(Ordering::Acquire) {
                for (l, samples) in dump(&db, i64::MIN, i64::MAX, std::slice::from_ref(&m)) {
                    let w: usize = l.get("w").unwrap().parse().unwrap();
                    let s: usize = l.get("s").unwrap().parse().unwrap();
                    // Whatever has been appended so far, exactly.
                    for (i, &(t, v)) in samples.iter().enumerate() {
                        assert_eq!(t, i as i64 * 5_000, "{l:?}");
                        assert_eq!(v.to_bits(), value(w, s, i as i64).to_bits(), "{l:?} at {t}");
                    }
                }
                rounds += 1;
            }
            rounds
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Release);
    let ticks = maintenance.join().unwrap();
    let rounds = reader.join().unwrap();
    println!("{ticks} ticks, {rounds} reads beside the appends");
    assert!(
        ticks >= (SAMPLES / 4) as usize && rounds > 0,
        "{ticks} ticks, {rounds} reads"
    );
    db.tick().unwrap();

    let m = Matcher::new(MatchOp::Equal, "__name__", "runs").unwrap();
    let got = dump(&db, i64::MIN, i64::MAX, std::slice::from_ref(&m));
    assert_eq!(got.len(), WRITERS * SERIES_PER_WRITER);
    for (l, samples) in &got {
        let w: usize = l.get("w").unwrap().parse().unwrap();
        let s: usize = l.get("s").unwrap().parse().unwrap();
        let want: Vec<(i64, f64)> = (0..SAMPLES).map(|t| (t * 5_000, value(w, s, t))).collect();
        assert_eq!(samples, &want, "{l:?}");
    }
    // Most chunks left the heap (the open ones' bytes by the last tick).
    let stats = db.head_stats();
    assert!(
        stats.spilled_chunks >= (WRITERS * SERIES_PER_WRITER * 2) as u64,
        "{stats:?}"
    );
}
