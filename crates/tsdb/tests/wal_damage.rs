//! Torn and corrupt WAL: the database always starts, keeps everything
//! before the damage, reports the damage, and never deletes data.

mod common;

use std::path::{Path, PathBuf};

use common::all;
use promlite_model::labels;
use promlite_tsdb::record::{decode, Record};
use promlite_tsdb::wal::{list_segments, read_segment, segment_path};
use promlite_tsdb::{Db, DbOptions};

fn opts(segment_size: u64) -> DbOptions {
    DbOptions {
        background: false,
        wal_segment_size: segment_size,
        ..Default::default()
    }
}

/// Commits `n` batches; batch `i` writes `(i*1000, i)` to series `s0..s3`.
fn write_batches(dir: &Path, n: i64, segment_size: u64) {
    let db = Db::open(dir, opts(segment_size)).unwrap();
    for i in 0..n {
        let mut app = db.appender();
        for s in 0..4 {
            app.append(
                None,
                &labels!("__name__" => "m", "s" => ["0", "1", "2", "3"][s]),
                i * 1000,
                i as f64,
            )
            .unwrap();
        }
        app.commit().unwrap();
    }
    db.close().unwrap();
}

/// `(offset, length, timestamp of its samples)` of each frame of a segment.
fn frames(path: &Path) -> Vec<(u64, u64, Option<i64>)> {
    let mut out = Vec::new();
    let mut off = 0u64;
    read_segment(path, &mut |p| {
        let t = match decode(p).unwrap() {
            Record::Samples(s) => s.first().map(|x| x.t),
            _ => None,
        };
        out.push((off, p.len() as u64 + 8, t));
        off += p.len() as u64 + 8;
    })
    .unwrap();
    out
}

/// Timestamps present in every one of the 4 series.
fn present(db: &Db) -> Vec<i64> {
    let got = all(db);
    assert!(got.len() <= 4);
    let mut ts: Vec<i64> = got
        .first()
        .map(|s| s.1.iter().map(|x| x.0).collect())
        .unwrap_or_default();
    for s in &got {
        let other: Vec<i64> = s.1.iter().map(|x| x.0).collect();
        assert_eq!(other, ts, "every commit is all-or-nothing");
    }
    ts.sort();
    ts
}

fn newest_nonempty_segment(wal: &Path) -> PathBuf {
    list_segments(wal)
        .unwrap()
        .into_iter()
        .rev()
        .map(|n| segment_path(wal, n))
        .find(|p| std::fs::metadata(p).map(|m| m.len() > 0).unwrap_or(false))
        .expect("a segment with data")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else if e.file_name() != "lock" {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn torn_last_record_at_every_byte_offset() {
    let src = tempfile::tempdir().unwrap();
    write_batches(src.path(), 20, 1 << 20);
    let seg = newest_nonempty_segment(&src.path().join("wal"));
    let fr = frames(&seg);
    let &(last_off, last_len, last_t) = fr.last().unwrap();
    assert_eq!(last_t, Some(19_000));
    let seg_name = seg.file_name().unwrap().to_owned();
    let full: Vec<i64> = (0..20).map(|i| i * 1000).collect();
    for cut in last_off..last_off + last_len {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(src.path(), dir.path());
        let path = dir.path().join("wal").join(&seg_name);
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(cut).unwrap();
        drop(f);
        let db = Db::open(dir.path(), opts(1 << 20)).unwrap();
        assert_eq!(present(&db), full[..19].to_vec(), "cut at {cut}");
        let expected_damage = u64::from(cut > last_off);
        assert_eq!(
            db.replay_report().corruptions,
            expected_damage,
            "cut at {cut}"
        );
        // The database keeps working and the repair is stable across restarts.
        let mut app = db.appender();
        for s in ["0", "1", "2", "3"] {
            app.append(None, &labels!("__name__" => "m", "s" => s), 50_000, 1.0)
                .unwrap();
        }
        app.commit().unwrap();
        drop(db);
        let db = Db::open(dir.path(), opts(1 << 20)).unwrap();
        assert_eq!(db.replay_report().corruptions, 0);
        let mut expect = full[..19].to_vec();
        expect.push(50_000);
        assert_eq!(present(&db), expect, "cut at {cut}, after reopen");
    }
}

#[test]
fn flipped_byte_mid_segment_keeps_data_before_and_quarantines_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write_batches(dir.path(), 200, 2048);
    let wal = dir.path().join("wal");
    let segs = list_segments(&wal).unwrap();
    assert!(segs.len() >= 4, "{segs:?}");
    // Damage the middle of the second segment.
    let victim = segment_path(&wal, segs[1]);
    let fr = frames(&victim);
    let (off, len, t) = fr[fr.len() / 2];
    let first_lost = t.expect("a samples record");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[(off + len / 2) as usize] ^= 0x10;
    std::fs::write(&victim, &bytes).unwrap();
    let victim_size = bytes.len() as u64;

    let db = Db::open(dir.path(), opts(2048)).unwrap();
    let report = db.replay_report().clone();
    assert_eq!(report.corruptions, 1);
    assert!(
        report.messages[0].contains(&format!("offset {off}")),
        "{:?}",
        report.messages
    );
    let ts = present(&db);
    // Everything before the damaged record is there.
    let before: Vec<i64> = (0..first_lost / 1000).map(|i| i * 1000).collect();
    assert_eq!(ts[..before.len()], before[..]);
    // The rest of the damaged segment is lost from the head but kept on disk...
    assert!(!ts.contains(&first_lost));
    let quarantined = std::fs::read_dir(wal.join("damaged")).unwrap().count();
    assert_eq!(quarantined, 1);
    assert_eq!(std::fs::metadata(&victim).unwrap().len(), off);
    assert!(victim_size > off);
    // ...and later, intact segments are replayed.
    assert!(ts.contains(&199_000), "later segments replayed");
}

#[test]
fn garbage_segment_does_not_prevent_start() {
    let dir = tempfile::tempdir().unwrap();
    write_batches(dir.path(), 5, 1 << 20);
    let wal = dir.path().join("wal");
    let last = *list_segments(&wal).unwrap().last().unwrap();
    std::fs::write(segment_path(&wal, last + 1), vec![0xff; 100]).unwrap();
    std::fs::write(segment_path(&wal, last + 2), vec![0u8; 100]).unwrap();
    let db = Db::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(db.replay_report().corruptions, 2);
    assert_eq!(present(&db), vec![0, 1000, 2000, 3000, 4000]);
}
