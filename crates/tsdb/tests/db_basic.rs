//! Appending, validation errors, reopen and replay, locking, series limit.

mod common;

use common::{all, dump, opts, opts_always};
use promlite_model::{
    labels, AppendError, Appendable, MatchOp, Matcher, SelectHints, StorageError,
};
use promlite_tsdb::{Db, DbOptions};

#[test]
fn appends_are_visible_only_after_commit_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = labels!("__name__" => "up", "job" => "a");
    let b = labels!("__name__" => "up", "job" => "b");
    {
        let db = Db::open(dir.path(), opts()).unwrap();
        let mut app = db.appender();
        for i in 0..300 {
            app.append(None, &a, i * 1000, i as f64).unwrap();
            app.append(None, &b, i * 1000, -(i as f64)).unwrap();
        }
        assert!(all(&db).is_empty(), "nothing visible before commit");
        app.commit().unwrap();
        let mut app = db.appender();
        app.append(None, &a, 500_000, 1.0).unwrap();
        app.rollback();
        let got = all(&db);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, a);
        assert_eq!(got[0].1.len(), 300);
        db.close().unwrap();
        assert!(matches!(db.querier(0, 1), Err(StorageError::Closed)));
    }
    let db = Db::open(dir.path(), opts()).unwrap();
    let got = all(&db);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].0, b);
    let expect: Vec<(i64, f64)> = (0..300).map(|i| (i * 1000, -(i as f64))).collect();
    assert_eq!(got[1].1, expect);
    assert_eq!(db.replay_report().corruptions, 0);
    // Appending continues after the replayed data.
    let mut app = db.appender();
    app.append(None, &a, 300_000, 7.0).unwrap();
    app.commit().unwrap();
    assert_eq!(
        dump(&db, 299_000, 400_000, &[Matcher::equal("job", "a")])[0].1,
        vec![(299_000, 299.0), (300_000, 7.0)]
    );
}

#[test]
fn out_of_order_duplicate_and_out_of_bounds_are_rejected_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            block_range_ms: 10_000,
            ..opts_always()
        },
    )
    .unwrap();
    let l = labels!("__name__" => "x");
    let mut app = db.appender();
    let r = app.append(None, &l, 100_000, 1.0).unwrap();
    assert_eq!(
        app.append(Some(r), &l, 99_000, 1.0),
        Err(AppendError::OutOfOrder)
    );
    assert_eq!(
        app.append(Some(r), &l, 100_000, 2.0),
        Err(AppendError::Duplicate)
    );
    // Same value at the same time: accepted, stored once.
    assert_eq!(app.append(Some(r), &l, 100_000, 1.0), Ok(r));
    app.append(Some(r), &l, 101_000, 2.0).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    // Another series, but older than max_time - block_range/2: out of bounds.
    assert_eq!(
        app.append(None, &labels!("__name__" => "y"), 90_000, 1.0),
        Err(AppendError::OutOfBounds)
    );
    assert_eq!(
        app.append(None, &l, 100_500, 1.0),
        Err(AppendError::OutOfOrder)
    );
    // The rest of the batch still lands.
    app.append(None, &labels!("__name__" => "y"), 100_000, 3.0)
        .unwrap();
    app.commit().unwrap();
    let got = all(&db);
    assert_eq!(got[0].1, vec![(100_000, 1.0), (101_000, 2.0)]);
    assert_eq!(got[1].1, vec![(100_000, 3.0)]);
    let st = db.head_stats();
    assert_eq!(
        (
            st.out_of_order_samples,
            st.duplicate_samples,
            st.out_of_bounds_samples
        ),
        (2, 1, 1)
    );
    assert_eq!(st.num_series, 2);
}

#[test]
fn invalid_labels_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    assert!(matches!(
        app.append(None, &promlite_model::Labels::empty(), 1, 1.0),
        Err(AppendError::InvalidLabels(_))
    ));
}

#[test]
fn series_limit_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            max_head_series: 3,
            ..opts()
        },
    )
    .unwrap();
    let mut app = db.appender();
    for i in 0..3 {
        app.append(
            None,
            &promlite_model::Labels::from_pairs([
                ("__name__", "m".to_string()),
                ("i", i.to_string()),
            ]),
            1,
            1.0,
        )
        .unwrap();
    }
    let extra = labels!("__name__" => "m", "i" => "9");
    assert_eq!(
        app.append(None, &extra, 1, 1.0),
        Err(AppendError::SeriesLimit { limit: 3 })
    );
    // Existing series still take samples.
    app.append(None, &labels!("__name__" => "m", "i" => "0"), 2, 1.0)
        .unwrap();
    app.commit().unwrap();
    assert_eq!(all(&db).len(), 3);
    assert_eq!(db.head_stats().series_limit_rejections, 1);
}

#[test]
fn second_open_of_the_same_directory_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let err = Db::open(dir.path(), opts())
        .err()
        .expect("second open must fail");
    assert!(err.to_string().contains("in use"), "{err}");
    drop(db);
    // Released on close.
    Db::open(dir.path(), opts()).unwrap();
}

#[test]
fn label_apis_and_matchers() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts()).unwrap();
    let mut app = db.appender();
    app.append(None, &labels!("__name__" => "a", "job" => "x"), 10, 1.0)
        .unwrap();
    app.append(
        None,
        &labels!("__name__" => "b", "job" => "y", "env" => "p"),
        10,
        1.0,
    )
    .unwrap();
    app.append(None, &labels!("__name__" => "c", "job" => "z"), 5000, 1.0)
        .unwrap();
    app.commit().unwrap();
    let q = db.querier(0, 100).unwrap();
    assert_eq!(q.label_names(&[]).unwrap(), vec!["__name__", "env", "job"]);
    assert_eq!(
        q.label_values(
            "job",
            &[Matcher::new(MatchOp::Regex, "__name__", "a|c").unwrap()]
        )
        .unwrap(),
        vec!["x"]
    );
    assert_eq!(
        q.label_names(&[Matcher::equal("job", "x")]).unwrap(),
        vec!["__name__", "job"]
    );
    let empty = Matcher::new(MatchOp::Regex, "job", ".*").unwrap();
    assert!(q.select(&SelectHints::default(), &[empty]).is_err());
    let sel = q
        .select(
            &SelectHints::default(),
            &[
                Matcher::equal("env", ""),
                Matcher::new(MatchOp::Regex, "job", ".+").unwrap(),
            ],
        )
        .unwrap();
    assert_eq!(sel.len(), 1, "series c has no sample in range");
    assert_eq!(sel[0].labels().get("job"), Some("x"));
    let stats = db.head_stats();
    assert_eq!(stats.series_count_by_metric_name.len(), 3);
    assert_eq!(stats.label_value_count_by_label_name[0].name, "__name__");
    assert_eq!((stats.min_time, stats.max_time), (Some(10), Some(5000)));
}

#[test]
fn db_is_usable_through_the_traits() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Db>();
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(Db::open(dir.path(), opts()).unwrap());
    let appendable: &dyn Appendable = db.as_ref();
    let mut app = appendable.appender();
    app.append(None, &labels!("__name__" => "t"), 1, 1.0)
        .unwrap();
    app.commit().unwrap();
    let q = common::as_queryable(&db).querier(0, 10).unwrap();
    assert_eq!(
        q.select(&SelectHints::default(), &[Matcher::equal("__name__", "t")])
            .unwrap()
            .len(),
        1
    );
}
