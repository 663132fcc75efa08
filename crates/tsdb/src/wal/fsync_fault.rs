//! The WAL's fsync call, with a test-only failpoint: unit tests can make
//! every fsync on their own thread fail with EIO, to check that a failed
//! fsync fails the commit (and every later one) instead of being reported
//! as success. Outside `cfg(test)` this is `File::sync_data`.

use std::fs::File;
use std::io;

#[cfg(test)]
thread_local! {
    /// When set, [`sync_data`] on this thread fails with EIO.
    pub(crate) static FAIL_FSYNC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `file.sync_data()`, or EIO when the test failpoint is set.
pub(super) fn sync_data(file: &File) -> io::Result<()> {
    #[cfg(test)]
    if FAIL_FSYNC.with(|f| f.get()) {
        return Err(io::Error::from_raw_os_error(5));
    }
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::FAIL_FSYNC;
    use crate::{Db, DbOptions, FsyncPolicy};
    use promlite_model::{Labels, MatchOp, Matcher, SelectHints};

    fn labels(i: usize) -> Labels {
        Labels::from_pairs([("__name__", "fsync_test".to_string()), ("i", i.to_string())])
    }

    fn opts(fsync: FsyncPolicy) -> DbOptions {
        DbOptions {
            background: false,
            fsync,
            ..Default::default()
        }
    }

    fn count(db: &Db) -> usize {
        let q = db.querier(i64::MIN / 2, i64::MAX / 2).expect("querier");
        let m = Matcher::new(MatchOp::Equal, "__name__", "fsync_test").expect("matcher");
        let series = q.select(&SelectHints::default(), &[m]).expect("select");
        series.len()
    }

    #[test]
    fn eio_on_fsync_fails_the_commit_and_every_later_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), opts(FsyncPolicy::Always)).expect("open");
        let mut app = db.appender();
        app.append(None, &labels(0), 1_000, 1.0).expect("append");
        app.commit().expect("commit before the fault");

        FAIL_FSYNC.with(|f| f.set(true));
        let mut app = db.appender();
        app.append(None, &labels(1), 2_000, 1.0).expect("append");
        let err = app
            .commit()
            .expect_err("a failed fsync must fail the commit");
        assert!(err.to_string().contains("WAL fsync"), "{err}");
        assert!(err.to_string().contains("os error 5"), "{err}");
        FAIL_FSYNC.with(|f| f.set(false));

        // The writer stays poisoned: nothing after an unsynced write may be
        // reported durable, even once fsync works again.
        let mut app = db.appender();
        app.append(None, &labels(2), 3_000, 1.0).expect("append");
        let err = app.commit().expect_err("poisoned WAL");
        assert!(err.to_string().contains("WAL fsync"), "{err}");
        drop(app);
        assert!(db.close().is_err(), "close reports the failed WAL");
        drop(db);

        // After a restart the acknowledged sample is there and ingestion
        // works again.
        let db = Db::open(dir.path(), opts(FsyncPolicy::Always)).expect("reopen");
        assert!(count(&db) >= 1);
        let mut app = db.appender();
        app.append(None, &labels(3), 4_000, 1.0).expect("append");
        app.commit().expect("commit after restart");
        drop(app);
        db.close().expect("close");
    }

    #[test]
    fn eio_in_group_commit_fails_later_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let policy = FsyncPolicy::Interval(std::time::Duration::from_secs(1));
        let db = Db::open(dir.path(), opts(policy)).expect("open");
        let mut app = db.appender();
        app.append(None, &labels(0), 1_000, 1.0).expect("append");
        app.commit().expect("commit");
        drop(app);
        FAIL_FSYNC.with(|f| f.set(true));
        assert!(db.sync_wal().is_err(), "the group-commit fsync fails");
        FAIL_FSYNC.with(|f| f.set(false));
        let mut app = db.appender();
        app.append(None, &labels(1), 2_000, 1.0).expect("append");
        assert!(
            app.commit().is_err(),
            "no commit succeeds after a failed fsync"
        );
    }
}
