//! Damaged files on disk: a flipped byte in the middle of a WAL segment, in
//! a block's chunk file or index; a missing or truncated `meta.json`. The
//! Db opens, keeps everything intact, moves what is damaged aside
//! (`wal/damaged/`, `quarantine/`) and reports it; the tests assert exactly
//! which samples survive. The last test does the same through
//! `promlite serve`.

use std::path::{Path, PathBuf};

use promlite_tsdb::record::{decode, Record};
use promlite_tsdb::wal::{list_segments, read_segment, segment_path};
use promlite_tsdb::Db;

use crate::dataset::{self, RANGE_MS};
use crate::harness::{enc, free_port, get_json, serve_ready_with};

const SERIES: usize = 20;
const BLOCKS: i64 = 3;
const HEAD_START: i64 = BLOCKS * RANGE_MS;
const HEAD_END: i64 = HEAD_START + 12_000;

/// Three blocks `[0,10s)`, `[10s,20s)`, `[20s,30s)` and 12 s of head data
/// in several WAL segments. Returns the block ids.
fn setup(dir: &Path) -> Vec<String> {
    let ids = dataset::write_blocks(dir, SERIES, 0..BLOCKS);
    dataset::append_head(dir, SERIES, HEAD_START, HEAD_END);
    ids
}

fn flip_middle(path: &Path) {
    let mut b = std::fs::read(path).expect("read file to damage");
    assert!(b.len() > 16, "{} too small", path.display());
    let mid = b.len() / 2;
    b[mid] ^= 0x5a;
    std::fs::write(path, b).expect("write damaged file");
}

fn quarantined(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("quarantine"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Opens the damaged directory, asserting the survivors are exactly `keep`.
fn open_expect(dir: &Path, keep: &[(i64, i64)], ctx: &str) -> Db {
    let db = Db::open(dir, dataset::opts()).unwrap_or_else(|e| panic!("{ctx}: open failed: {e}"));
    dataset::assert_same(&dataset::dump(&db), &dataset::expected(SERIES, keep), ctx);
    db
}

/// Damaging one block loses that block's range and nothing else; the block
/// is moved to `quarantine/` with a reason file, and the Db keeps working.
fn block_damage(damage: impl Fn(&Path), what: &str) {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    let ids = setup(&dir);
    damage(&dir.join(&ids[1]));
    let db = open_expect(&dir, &[(0, RANGE_MS), (2 * RANGE_MS, HEAD_END)], what);
    assert_eq!(quarantined(&dir), vec![ids[1].clone()], "{what}");
    let reason = std::fs::read_to_string(
        dir.join("quarantine")
            .join(&ids[1])
            .join(promlite_tsdb::quarantine::REASON_FILE),
    )
    .expect("reason file");
    assert!(!reason.trim().is_empty(), "{what}: empty reason");
    eprintln!("{what}: quarantined with reason {reason:?}");
    // Still writable and readable after the damage.
    let mut app = db.appender();
    app.append(
        None,
        &dataset::labels(0),
        HEAD_END,
        dataset::value(0, HEAD_END),
    )
    .expect("append after damage");
    app.commit().expect("commit after damage");
    db.close().expect("close");
    drop(db);
    let db = Db::open(&dir, dataset::opts()).expect("second reopen");
    let got = dataset::dump(&db);
    assert_eq!(
        got[0].1.last(),
        Some(&(HEAD_END, dataset::value(0, HEAD_END)))
    );
    assert_eq!(quarantined(&dir).len(), 1, "nothing else quarantined later");
}

#[test]
fn flipped_chunk_byte_quarantines_only_that_block() {
    block_damage(
        |b| flip_middle(&b.join("chunks").join("000001")),
        "chunk byte",
    );
}

#[test]
fn flipped_index_byte_quarantines_only_that_block() {
    block_damage(|b| flip_middle(&b.join("index")), "index byte");
}

#[test]
fn missing_meta_json_quarantines_only_that_block() {
    block_damage(
        |b| std::fs::remove_file(b.join("meta.json")).expect("remove meta"),
        "missing meta.json",
    );
}

#[test]
fn truncated_meta_json_quarantines_only_that_block() {
    block_damage(
        |b| {
            let p = b.join("meta.json");
            let len = std::fs::metadata(&p).expect("meta").len();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&p)
                .expect("open meta");
            f.set_len(len / 2).expect("truncate meta");
        },
        "truncated meta.json",
    );
}

#[test]
fn empty_meta_json_quarantines_only_that_block() {
    block_damage(
        |b| std::fs::write(b.join("meta.json"), b"").expect("empty meta"),
        "empty meta.json",
    );
}

/// `(segment path, first timestamp of each samples record, byte offset)`.
fn samples_frames(wal: &Path) -> Vec<(PathBuf, Vec<(u64, u64, i64)>)> {
    let mut out = Vec::new();
    for n in list_segments(wal).expect("segments") {
        let path = segment_path(wal, n);
        let mut frames = Vec::new();
        let mut off = 0u64;
        read_segment(&path, &mut |p| {
            if let Ok(Record::Samples(s)) = decode(p) {
                if let Some(first) = s.first() {
                    frames.push((off, p.len() as u64 + 8, first.t));
                }
            }
            off += p.len() as u64 + 8;
        })
        .expect("read segment");
        out.push((path, frames));
    }
    out
}

/// Flips a byte inside the middle samples record of a middle WAL segment.
/// Returns the surviving head ranges: everything before that record, and
/// every later segment (the rest of the damaged segment is moved aside).
fn damage_wal(dir: &Path) -> Vec<(i64, i64)> {
    let segs: Vec<_> = samples_frames(&dir.join("wal"))
        .into_iter()
        .filter(|s| !s.1.is_empty())
        .collect();
    assert!(segs.len() >= 3, "head data spans segments: {}", segs.len());
    let victim = segs.len() / 2;
    let (path, frames) = &segs[victim];
    let (off, len, lost_from) = frames[frames.len() / 2];
    let next_start = segs[victim + 1].1[0].2;
    let mut b = std::fs::read(path).expect("segment");
    b[(off + len / 2) as usize] ^= 0x01;
    std::fs::write(path, b).expect("write segment");
    assert!(lost_from > HEAD_START && next_start > lost_from);
    vec![(HEAD_START, lost_from), (next_start, HEAD_END)]
}

#[test]
fn flipped_wal_byte_mid_segment_loses_only_the_rest_of_that_segment() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    setup(&dir);
    let head = damage_wal(&dir);
    let mut keep = vec![(0, HEAD_START)];
    keep.extend(&head);
    let db = open_expect(&dir, &keep, "flipped WAL byte");
    let report = db.replay_report().clone();
    assert_eq!(report.corruptions, 1, "{report:?}");
    assert_eq!(report.messages.len(), 1, "{report:?}");
    let damaged = std::fs::read_dir(dir.join("wal").join("damaged"))
        .expect("wal/damaged")
        .count();
    assert_eq!(damaged, 1, "the cut-off bytes are kept");
    eprintln!(
        "WAL damage report: {:?}; lost head [{}, {})",
        report.messages, head[0].1, head[1].0
    );
    db.close().expect("close");
    drop(db);
    // A second open finds a clean log and the same data.
    let db = open_expect(&dir, &keep, "second open");
    assert_eq!(db.replay_report().corruptions, 0);
}

/// `promlite serve` on a directory with a damaged block and a damaged WAL
/// segment: it starts, answers for the intact data, counts the WAL damage in
/// `/api/v1/status/runtimeinfo` (`corruptionCount`), and has moved the block aside.
#[test]
fn serve_starts_on_damaged_data_and_serves_the_rest() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    let ids = setup(&dir);
    flip_middle(&dir.join(&ids[0]).join("chunks").join("000001"));
    let head = damage_wal(&dir);
    let cfg = root.path().join("prometheus.yml");
    std::fs::write(&cfg, "global:\n  scrape_interval: 1m\nscrape_configs: []\n").expect("config");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = root.path().join("promlite.log");
    let extra = ["--storage.tsdb.retention.time", "0s"];
    let _p = serve_ready_with(&cfg, &dir, &addr, &extra, &log);
    // Samples of one series: blocks 1 and 2, and the head minus the lost part.
    let per_series = |a: i64, b: i64| (b - a) / dataset::STEP_MS;
    let want = per_series(RANGE_MS, HEAD_START)
        + per_series(head[0].0, head[0].1)
        + per_series(head[1].0, head[1].1);
    let q = format!(
        "/api/v1/query?query={}&time={}",
        enc("count_over_time(fault_test{i=\"003\"}[1h])"),
        HEAD_END / 1000 + 1
    );
    let v = get_json(&addr, &q);
    assert_eq!(v["status"], "success", "{v}");
    let got: f64 = v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no value: {v}"));
    assert_eq!(got, want as f64, "{v}");
    let q = format!(
        "/api/v1/query?query={}&time={}",
        enc("count(fault_test)"),
        HEAD_END / 1000
    );
    let v = get_json(&addr, &q);
    assert_eq!(
        v["data"]["result"][0]["value"][1],
        SERIES.to_string().as_str(),
        "{v}"
    );
    let w = get_json(&addr, "/api/v1/status/runtimeinfo");
    assert!(
        w.to_string().contains("\"corruptionCount\":1"),
        "WAL damage reported: {w}"
    );
    assert_eq!(quarantined(&dir), vec![ids[0].clone()]);
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logs.contains(&ids[0]),
        "the quarantined block is logged: {logs}"
    );
    // Healthy endpoints keep answering.
    let (code, _) = crate::harness::http(&addr, "GET", "/-/healthy", "").expect("healthy");
    assert_eq!(code, 200);
}
