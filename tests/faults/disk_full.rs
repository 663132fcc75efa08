//! Disk full: the writer runs in a child process with `RLIMIT_FSIZE` set
//! low and SIGXFSZ ignored, so writes past the limit fail with EFBIG, as on
//! a full file system. Commits must fail with a clear error (never a panic
//! or a silent success), a failed commit must leave no sample behind,
//! nothing stored before must be damaged, and once the limit is lifted —
//! in the same process, as when space is freed, and after a restart —
//! ingestion resumes.

use std::io::{BufRead, BufReader};

use promlite_tsdb::Db;

use crate::child;
use crate::dataset::{self, RANGE_MS, STEP_MS};

const SERIES: usize = 20;
/// Head data before the child starts spans 1.6 block ranges, so the
/// child's tick has a block to cut.
const PRE_END: i64 = 2 * RANGE_MS + 16_000;
/// WAL segment size limit while "the disk is full".
const WAL_LIMIT: u64 = 32 * 1024;
/// Batches written after the limit is lifted.
const AFTER: i64 = 200;

fn set_fsize_limit(bytes: Option<u64>) {
    let cur = libc::rlim_t::try_from(bytes.unwrap_or(u64::MAX)).unwrap_or(libc::RLIM_INFINITY);
    let lim = libc::rlimit {
        rlim_cur: if bytes.is_none() {
            libc::RLIM_INFINITY
        } else {
            cur
        },
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit with a valid resource and a pointer to a live struct.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &lim) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

fn batch_time(id: i64) -> i64 {
    PRE_END + id * STEP_MS
}

fn commit_batch(db: &Db, id: i64) -> Result<(), String> {
    let t = batch_time(id);
    let mut app = db.appender();
    for i in 0..SERIES {
        app.append(None, &dataset::labels(i), t, dataset::value(i, t))
            .map_err(|e| format!("append: {e:?}"))?;
    }
    app.commit().map_err(|e| format!("commit: {e}"))
}

/// Child role: write until the WAL hits the limit, tick with a tiny limit,
/// lift the limit and write and tick again. One line per event on stdout.
#[test]
fn disk_full_child() {
    let Some((dir, _)) = child::role() else {
        return;
    };
    // SAFETY: ignoring SIGXFSZ makes over-limit writes fail with EFBIG
    // instead of killing the process; no handler code runs.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let db = Db::open(&dir, dataset::opts()).expect("child open");
    set_fsize_limit(Some(WAL_LIMIT));
    let mut id = 0;
    let mut failures = 0;
    while failures < 3 && id < 100_000 {
        match commit_batch(&db, id) {
            Ok(()) => println!("@@COMMITTED {id}"),
            Err(e) => {
                failures += 1;
                println!("@@FAILED {id} {e}");
            }
        }
        id += 1;
    }
    // Cutting a block while nothing fits: an error, not a panic.
    set_fsize_limit(Some(512));
    match db.tick() {
        Ok(r) => println!("@@TICK_OK {r:?}"),
        Err(e) => println!("@@TICK_FAILED {e}"),
    }
    set_fsize_limit(None);
    println!("@@LIFTED");
    for k in id..id + AFTER {
        match commit_batch(&db, k) {
            Ok(()) => println!("@@COMMITTED {k}"),
            Err(e) => println!("@@FAILED {k} {e}"),
        }
    }
    match db.tick() {
        Ok(r) => println!("@@TICK_OK {r:?}"),
        Err(e) => println!("@@TICK_FAILED {e}"),
    }
    db.close().expect("close");
    println!("@@DONE");
}

#[test]
fn disk_full_fails_commits_cleanly_and_ingestion_resumes() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    dataset::write_blocks(&dir, SERIES, 0..2);
    dataset::append_head(&dir, SERIES, 2 * RANGE_MS, PRE_END);

    let mut c = child::spawn("disk_full::disk_full_child", &dir, "");
    let out = c.stdout.take().expect("stdout");
    // Protocol lines start with `@@` (libtest prints its own lines around them).
    let lines: Vec<String> = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| l.find("@@").map(|i| l[i + 2..].to_string()))
        .collect();
    let status = c.wait().expect("wait");
    let mut err = String::new();
    if let Some(mut e) = c.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(
        status.success(),
        "child failed ({status}): {err}\n{lines:?}"
    );
    assert_eq!(lines.last().map(String::as_str), Some("DONE"), "{err}");

    let mut committed = Vec::new();
    let mut failed = Vec::new();
    let mut lifted = false;
    let mut ticks = Vec::new();
    for l in &lines {
        if let Some(rest) = l.strip_prefix("COMMITTED ") {
            committed.push(rest.parse::<i64>().expect("id"));
        } else if let Some(rest) = l.strip_prefix("FAILED ") {
            let (id, msg) = rest.split_once(' ').expect("FAILED id msg");
            assert!(!lifted, "a commit failed after the limit was lifted: {l}");
            assert!(
                msg.contains("File too large") && msg.contains("wal"),
                "unclear error: {msg}"
            );
            failed.push(id.parse::<i64>().expect("id"));
        } else if l == "LIFTED" {
            lifted = true;
        } else if l.starts_with("TICK_") {
            ticks.push(l.clone());
        }
    }
    assert_eq!(failed.len(), 3, "{lines:?}");
    assert!(
        committed.len() > AFTER as usize + 10,
        "some commits fit before the limit"
    );
    assert!(
        ticks[0].starts_with("TICK_FAILED") && ticks[0].contains("File too large"),
        "tick with a full disk: {ticks:?}"
    );
    assert!(
        ticks[1].starts_with("TICK_OK"),
        "tick after space returned: {ticks:?}"
    );
    eprintln!(
        "{} commits, failures at {failed:?} (\"{}\"), ticks {ticks:?}",
        committed.len(),
        lines
            .iter()
            .find(|l| l.starts_with("FAILED"))
            .map(String::as_str)
            .unwrap_or("")
    );

    // After a restart: the old data, every committed batch, no failed one.
    let db = Db::open(&dir, dataset::opts()).expect("reopen");
    assert_eq!(
        db.replay_report().corruptions,
        0,
        "{:?}",
        db.replay_report()
    );
    let want: Vec<_> = (0..SERIES)
        .map(|i| {
            let mut v = dataset::samples(i, 0, PRE_END);
            v.extend(committed.iter().map(|id| {
                let t = batch_time(*id);
                (t, dataset::value(i, t))
            }));
            (dataset::labels(i), v)
        })
        .collect();
    dataset::assert_same(&dataset::dump(&db), &want, "after disk full");
    // And ingestion goes on after the restart.
    let next = committed.last().copied().unwrap_or(0) + 1;
    commit_batch(&db, next).expect("commit after restart");
    db.close().expect("close");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "half-written blocks removed at open: {leftovers:?}"
    );
}
