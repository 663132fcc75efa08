//! Damaged blocks are reported as corruption (never a panic) and can be
//! quarantined.

use std::path::{Path, PathBuf};

use promlite_model::{labels, StorageError};
use promlite_tsdb::block::{write_block, Block};
use promlite_tsdb::quarantine::{quarantine, QUARANTINE_DIR, REASON_FILE};

fn make_block(parent: &Path) -> PathBuf {
    let series = (0..6).map(|i| {
        let l = labels!("__name__" => "m", "i" => ["a", "b", "c", "d", "e", "f"][i]);
        let s: Vec<(i64, f64)> = (0..700)
            .map(|k| (k * 1000 + (k % 3), (k * i as i64) as f64 / 10.0))
            .collect();
        (l, s)
    });
    let meta = write_block(
        parent,
        0,
        1_000_000,
        &mut series.collect::<Vec<_>>().into_iter(),
    )
    .unwrap()
    .unwrap();
    parent.join(meta.id)
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

fn expect_corruption(dir: &Path, what: &str) -> StorageError {
    match Block::open(dir) {
        Err(e @ StorageError::Corruption { .. }) => e,
        Err(e) => panic!("{what}: expected corruption, got {e}"),
        Ok(_) => panic!("{what}: damaged block opened"),
    }
}

fn flip_every_byte(block: &Path, rel: &str, step: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("b");
    copy_dir(block, &copy);
    let path = copy.join(rel);
    let orig = std::fs::read(&path).unwrap();
    for pos in (0..orig.len()).step_by(step) {
        let mut bad = orig.clone();
        bad[pos] ^= 0x5a;
        std::fs::write(&path, &bad).unwrap();
        let e = expect_corruption(&copy, &format!("{rel} byte {pos}"));
        let StorageError::Corruption { file, .. } = e else {
            unreachable!()
        };
        assert!(
            file.ends_with(rel) || file.contains("chunks"),
            "{file} should name {rel}"
        );
    }
    std::fs::write(&path, &orig).unwrap();
    Block::open(&copy).unwrap();
}

#[test]
fn every_flipped_index_byte_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let b = make_block(tmp.path());
    flip_every_byte(&b, "index", 1);
}

#[test]
fn every_flipped_chunk_byte_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let b = make_block(tmp.path());
    flip_every_byte(&b, "chunks/000001", 3);
}

#[test]
fn truncated_or_missing_files_are_corruption() {
    let tmp = tempfile::tempdir().unwrap();
    let b = make_block(tmp.path());
    for (rel, keep) in [
        ("meta.json", 20usize),
        ("meta.json", 0),
        ("index", 100),
        ("index", 3),
        ("chunks/000001", 50),
        ("chunks/000001", 0),
    ] {
        let c = tempfile::tempdir().unwrap();
        let copy = c.path().join("b");
        copy_dir(&b, &copy);
        let p = copy.join(rel);
        let data = std::fs::read(&p).unwrap();
        std::fs::write(&p, &data[..keep.min(data.len())]).unwrap();
        expect_corruption(&copy, &format!("{rel} truncated to {keep}"));
    }
    for rel in ["meta.json", "index"] {
        let c = tempfile::tempdir().unwrap();
        let copy = c.path().join("b");
        copy_dir(&b, &copy);
        std::fs::remove_file(copy.join(rel)).unwrap();
        let e = expect_corruption(&copy, &format!("{rel} missing"));
        assert!(e.to_string().contains(rel), "{e}");
    }
    // An extra, oddly named segment.
    let c = tempfile::tempdir().unwrap();
    let copy = c.path().join("b");
    copy_dir(&b, &copy);
    std::fs::write(copy.join("chunks/000009"), b"PLCK\x01\0\0\0").unwrap();
    expect_corruption(&copy, "gap in segment numbers");
}

#[test]
fn quarantine_moves_damaged_block_aside() {
    let data = tempfile::tempdir().unwrap();
    let b = make_block(data.path());
    let idx = b.join("index");
    let mut bytes = std::fs::read(&idx).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&idx, bytes).unwrap();
    let err = expect_corruption(&b, "flipped");
    let moved = quarantine(data.path(), &b, &err.to_string()).unwrap();
    assert!(!b.exists());
    assert_eq!(moved.parent().unwrap(), data.path().join(QUARANTINE_DIR));
    let reason = std::fs::read_to_string(moved.join(REASON_FILE)).unwrap();
    assert!(
        reason.contains("corruption in") && reason.contains("index"),
        "{reason}"
    );
    assert!(moved.join("meta.json").exists());
    // A second block with the same name gets a suffix.
    std::fs::create_dir_all(&b).unwrap();
    let again = quarantine(data.path(), &b, "again").unwrap();
    assert_ne!(again, moved);
    assert!(again.file_name().unwrap().to_string_lossy().ends_with("-1"));
}
