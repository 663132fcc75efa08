//! The append path's per-reference slots (`head/hot.rs`) against the
//! series they describe: after replay, deletion and truncation, and with
//! truncation running while appenders hold series by address.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use common::{dump, opts};
use promlite_model::{AppendError, Labels, MatchOp, Matcher, SeriesRef};
use promlite_tsdb::Db;

fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()]
}

fn samples_of(db: &Db, l: &Labels, mint: i64) -> Vec<(i64, f64)> {
    dump(db, mint, i64::MAX, &all())
        .into_iter()
        .find(|(x, _)| x == l)
        .map(|(_, s)| s)
        .unwrap_or_default()
}

/// Appends with the scraper's pattern (the hint from the last append).
fn append(
    db: &Db,
    l: &Labels,
    hint: Option<SeriesRef>,
    t: i64,
    v: f64,
) -> Result<SeriesRef, AppendError> {
    let mut app = db.appender();
    let r = app.append(hint, l, t, v)?;
    app.commit().unwrap();
    Ok(r)
}

#[test]
fn append_checks_agree_with_the_series_after_restart_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let x = Labels::from_pairs([("__name__", "x".to_string())]);
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        let r = append(&db, &x, None, 1_000, 1.0).unwrap();
        let r = append(&db, &x, Some(r), 2_000, 2.0).unwrap();
        // Older, conflicting, identical: decided by the series' data.
        assert_eq!(
            append(&db, &x, Some(r), 1_500, 9.0),
            Err(AppendError::OutOfOrder)
        );
        assert_eq!(
            append(&db, &x, Some(r), 2_000, 9.0),
            Err(AppendError::Duplicate)
        );
        assert_eq!(append(&db, &x, Some(r), 2_000, 2.0), Ok(r));
        // Within one batch too.
        let mut app = db.appender();
        app.append(Some(r), &x, 3_000, 3.0).unwrap();
        assert_eq!(
            app.append(Some(r), &x, 2_500, 3.0),
            Err(AppendError::OutOfOrder)
        );
        app.commit().unwrap();
        db.close().unwrap();
    }
    // After replay the append path knows the newest sample at once: an
    // older one is refused by `append`, not dropped silently at commit.
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        append(&db, &x, None, 2_900, 1.0),
        Err(AppendError::OutOfOrder)
    );
    let r = append(&db, &x, None, 4_000, 4.0).unwrap();
    assert_eq!(
        append(&db, &x, Some(r), 3_500, 1.0),
        Err(AppendError::OutOfOrder)
    );
    // Deleting the newest samples lets older timestamps in again.
    db.delete_series(&[all()], 2_500, 10_000).unwrap();
    let r = append(&db, &x, Some(r), 2_600, 2.6).unwrap();
    assert_eq!(
        append(&db, &x, Some(r), 2_550, 1.0),
        Err(AppendError::OutOfOrder)
    );
    assert_eq!(
        samples_of(&db, &x, i64::MIN),
        vec![(1_000, 1.0), (2_000, 2.0), (2_600, 2.6)]
    );
    let c = db.head().counters();
    assert_eq!(
        c.out_of_order.load(Ordering::Relaxed),
        3,
        "since the restart"
    );
}

#[test]
fn a_hint_to_a_truncated_series_finds_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let x = Labels::from_pairs([("__name__", "x".to_string())]);
    let y = Labels::from_pairs([("__name__", "y".to_string())]);
    let rx = append(&db, &x, None, 1_000, 1.0).unwrap();
    let ry = append(&db, &y, None, 1_000, 1.0).unwrap();
    let ry = append(&db, &y, Some(ry), 9_000, 1.0).unwrap();
    assert_eq!(db.head().truncate(5_000), 1);
    // The hint is stale: a new series (a new reference) takes the sample.
    let rx2 = append(&db, &x, Some(rx), 10_000, 2.0).unwrap();
    assert_ne!(rx2, rx);
    // A hint naming another series' reference is not trusted either.
    assert_eq!(append(&db, &x, Some(ry), 11_000, 3.0), Ok(rx2));
    assert_eq!(
        samples_of(&db, &x, i64::MIN),
        vec![(10_000, 2.0), (11_000, 3.0)]
    );
    assert_eq!(samples_of(&db, &y, i64::MIN), vec![(9_000, 1.0)]);
    let ry = append(&db, &y, Some(ry), 11_600, 1.5).unwrap();
    // Staged by hint (by address, without a reference count), then
    // removed by truncation before the commit: the commit moves the
    // sample to a new series of the same labels.
    let mut app = db.appender();
    assert_eq!(app.append(Some(rx2), &x, 12_000, 4.0), Ok(rx2));
    assert_eq!(app.append(Some(ry), &y, 12_000, 4.0), Ok(ry));
    assert_eq!(db.head().truncate(11_500), 1, "x is removed, y is not");
    app.commit().unwrap();
    assert_eq!(samples_of(&db, &x, i64::MIN), vec![(12_000, 4.0)]);
    assert_eq!(
        samples_of(&db, &y, i64::MIN),
        vec![(11_600, 1.5), (12_000, 4.0)]
    );
    let rx3 = append(&db, &x, Some(rx2), 13_000, 5.0).unwrap();
    assert!(rx3 != rx2 && rx3 != rx);
    assert_eq!(db.head().num_series(), 2);
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        samples_of(&db, &x, 5_000),
        vec![(10_000, 2.0), (11_000, 3.0), (12_000, 4.0), (13_000, 5.0)]
    );
}

const WRITERS: usize = 3;
const SERIES: usize = 120;
const BATCHES: i64 = 300;
/// Truncation stays this many batches behind the slowest writer, so no
/// staged sample falls under the floor. With odd series sampled every 25
/// batches, they fall empty about when the slowest writer appends their
/// next sample, by a hint to the removed series.
const LAG: i64 = 23;

fn labels(w: usize, s: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "hot".to_string()),
        ("w", w.to_string()),
        ("s", s.to_string()),
    ])
}

/// Writers append with hints while truncation removes the series that
/// only get a sample now and then (and so fall empty), over and over:
/// appenders hold those series by address across the removals.
#[test]
fn appends_by_address_survive_concurrent_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), opts()).unwrap());
    let progress: Arc<Vec<AtomicI64>> = Arc::new((0..WRITERS).map(|_| AtomicI64::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (db, progress) = (db.clone(), progress.clone());
        writers.push(std::thread::spawn(move || {
            let ls: Vec<Labels> = (0..SERIES).map(|s| labels(w, s)).collect();
            let mut refs: Vec<Option<SeriesRef>> = vec![None; SERIES];
            let mut want: BTreeMap<usize, Vec<(i64, f64)>> = BTreeMap::new();
            for b in 0..BATCHES {
                let mut app = db.appender();
                for (i, l) in ls.iter().enumerate() {
                    // Odd series: a sample every 25 batches only.
                    if i % 2 == 1 && b % 25 != 0 {
                        continue;
                    }
                    let (t, v) = (b * 1_000, (b * 1_000 + i as i64) as f64);
                    refs[i] = Some(app.append(refs[i], l, t, v).unwrap());
                    want.entry(i).or_default().push((t, v));
                    if i % 16 == 0 {
                        // Let truncation in between stagings.
                        std::thread::yield_now();
                    }
                }
                app.commit().unwrap();
                progress[w].store(b, Ordering::Release);
            }
            (ls, want)
        }));
    }
    let truncator = {
        let (db, progress, done) = (db.clone(), progress.clone(), done.clone());
        std::thread::spawn(move || {
            let mut removed = 0;
            let mut mint = 0;
            while !done.load(Ordering::Acquire) {
                let slowest = progress
                    .iter()
                    .map(|p| p.load(Ordering::Acquire))
                    .min()
                    .unwrap_or(0);
                mint = mint.max((slowest - LAG) * 1_000);
                removed += db.head().truncate(mint);
                std::thread::yield_now();
            }
            (removed, mint)
        })
    };
    let results: Vec<_> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    done.store(true, Ordering::Release);
    let (removed, mint) = truncator.join().unwrap();
    assert!(removed > 0, "truncation removed series while appenders ran");
    let c = db.head().counters();
    assert_eq!(c.out_of_bounds.load(Ordering::Relaxed), 0);
    assert_eq!(c.out_of_order.load(Ordering::Relaxed), 0);
    let check = |db: &Db| {
        for (ls, want) in &results {
            for (i, w) in want {
                let expect: Vec<(i64, f64)> = w.iter().copied().filter(|s| s.0 >= mint).collect();
                assert_eq!(samples_of(db, &ls[*i], mint), expect, "{}", ls[*i]);
            }
        }
    };
    check(&db);
    drop(db);
    let db = Db::open(dir.path(), opts()).unwrap();
    check(&db);
}
