//! Helpers shared by the scenario tests.
#![allow(dead_code)]

use promlite_model::{Labels, Matcher, Queryable, SampleIterator, SelectHints, ValueType};
use promlite_tsdb::{Db, DbOptions, FsyncPolicy};

/// Options for tests: no background thread.
pub fn opts() -> DbOptions {
    DbOptions {
        background: false,
        ..Default::default()
    }
}

/// Options with per-commit fsync.
pub fn opts_always() -> DbOptions {
    DbOptions {
        background: false,
        fsync: FsyncPolicy::Always,
        ..Default::default()
    }
}

/// Every sample of every series matching `matchers` in `[mint, maxt]`.
pub fn dump(db: &Db, mint: i64, maxt: i64, matchers: &[Matcher]) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let q = db.querier(mint, maxt).expect("querier");
    let series = q.select(&SelectHints::default(), matchers).expect("select");
    series
        .iter()
        .map(|s| {
            let mut it = s.iter();
            let mut v = Vec::new();
            while it.next() == ValueType::Float {
                v.push(it.at());
            }
            assert!(it.err().is_none());
            // Bulk reading must give exactly what the iterator gives.
            let mut bulk = Vec::new();
            s.append_samples(&mut bulk).expect("append_samples");
            assert_eq!(bulk, v, "append_samples of {}", s.labels());
            (s.labels().clone(), v)
        })
        .collect()
}

/// All series with a `__name__`.
pub fn all(db: &Db) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let m = Matcher::new(promlite_model::MatchOp::Regex, "__name__", ".+").expect("matcher");
    dump(db, i64::MIN, i64::MAX, &[m])
}

/// Drains a sample iterator.
pub fn drain(it: &mut dyn SampleIterator) -> Vec<(i64, f64)> {
    let mut v = Vec::new();
    while it.next() == ValueType::Float {
        v.push(it.at());
    }
    v
}

/// Ensures `Db` can be used from `Queryable` code.
pub fn as_queryable(db: &Db) -> &dyn Queryable {
    db
}
