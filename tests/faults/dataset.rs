//! A deterministic dataset for the storage fault tests: series
//! `fault_test{i="<k>"}` with one sample every `STEP_MS`, value a function
//! of series and time, so every test knows exactly which samples exist.

use std::path::Path;

use promlite_model::{Labels, MatchOp, Matcher, SelectHints, ValueType};
use promlite_tsdb::{Db, DbOptions, FsyncPolicy};

/// Block range used by the storage fault tests (ms).
pub const RANGE_MS: i64 = 10_000;
/// Sample spacing (ms).
pub const STEP_MS: i64 = 100;

/// Labels of series `i`.
pub fn labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "fault_test".to_string()),
        ("i", format!("{i:03}")),
    ])
}

/// The value of series `i` at `t`.
pub fn value(i: usize, t: i64) -> f64 {
    (i as f64) * 1e6 + (t / STEP_MS) as f64
}

/// Samples of series `i` in `[from, to)`.
pub fn samples(i: usize, from: i64, to: i64) -> Vec<(i64, f64)> {
    let first = from.div_euclid(STEP_MS) * STEP_MS;
    let first = if first < from { first + STEP_MS } else { first };
    (0..)
        .map(|k| first + k * STEP_MS)
        .take_while(|t| *t < to)
        .map(|t| (t, value(i, t)))
        .collect()
}

/// Options for reopening in a test: no background thread, no retention.
pub fn opts() -> DbOptions {
    DbOptions {
        background: false,
        block_range_ms: RANGE_MS,
        retention_ms: None,
        fsync: FsyncPolicy::Interval(std::time::Duration::from_secs(1)),
        ..Default::default()
    }
}

/// Writes one level-1 block per block range `k` in `ranges`, each holding
/// `series` series over `[k*RANGE, (k+1)*RANGE)`. Returns the block ids.
pub fn write_blocks(dir: &Path, series: usize, ranges: std::ops::Range<i64>) -> Vec<String> {
    std::fs::create_dir_all(dir).expect("data dir");
    let mut ids = Vec::new();
    for k in ranges {
        let (mint, maxt) = (k * RANGE_MS, (k + 1) * RANGE_MS);
        let mut all: Vec<(Labels, Vec<(i64, f64)>)> = (0..series)
            .map(|i| (labels(i), samples(i, mint, maxt)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let meta = promlite_tsdb::block::write_block(dir, mint, maxt, &mut all.into_iter())
            .expect("write block")
            .expect("non-empty block");
        ids.push(meta.id);
    }
    ids
}

/// WAL segment size used when writing head data, so it spans segments.
pub const SEGMENT_BYTES: u64 = 4 * 1024;

/// Appends `series` series over `[from, to)` through the Db (WAL + head),
/// one commit per second of data, then closes it.
pub fn append_head(dir: &Path, series: usize, from: i64, to: i64) {
    let o = DbOptions {
        wal_segment_size: SEGMENT_BYTES,
        ..opts()
    };
    let db = Db::open(dir, o).expect("open for append");
    let mut t0 = from;
    while t0 < to {
        let t1 = (t0 + 1_000).min(to);
        let mut app = db.appender();
        for i in 0..series {
            for (t, v) in samples(i, t0, t1) {
                app.append(None, &labels(i), t, v).expect("append");
            }
        }
        app.commit().expect("commit");
        t0 = t1;
    }
    db.close().expect("close");
}

/// Every `fault_test` sample in the Db, by series index.
pub fn dump(db: &Db) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let q = db.querier(i64::MIN / 2, i64::MAX / 2).expect("querier");
    let m = Matcher::new(MatchOp::Equal, "__name__", "fault_test").expect("matcher");
    let series = q.select(&SelectHints::default(), &[m]).expect("select");
    series
        .iter()
        .map(|s| {
            let mut it = s.iter();
            let mut v = Vec::new();
            while it.next() == ValueType::Float {
                v.push(it.at());
            }
            assert!(it.err().is_none(), "iterator error: {:?}", it.err());
            (s.labels().clone(), v)
        })
        .collect()
}

/// What [`dump`] must return when exactly the data in `ranges` (half-open
/// time intervals) of `series` series is stored.
pub fn expected(series: usize, ranges: &[(i64, i64)]) -> Vec<(Labels, Vec<(i64, f64)>)> {
    (0..series)
        .map(|i| {
            let mut v = Vec::new();
            for (a, b) in ranges {
                v.extend(samples(i, *a, *b));
            }
            (labels(i), v)
        })
        .collect()
}

/// Compares a dump with the expectation, reporting the first difference
/// instead of two huge vectors.
pub fn assert_same(
    got: &[(Labels, Vec<(i64, f64)>)],
    want: &[(Labels, Vec<(i64, f64)>)],
    ctx: &str,
) {
    assert_eq!(got.len(), want.len(), "{ctx}: series count");
    for ((gl, gs), (wl, ws)) in got.iter().zip(want) {
        assert_eq!(gl, wl, "{ctx}: labels");
        if gs != ws {
            let first = gs
                .iter()
                .zip(ws)
                .position(|(a, b)| a != b)
                .unwrap_or(gs.len().min(ws.len()));
            panic!(
                "{ctx}: series {gl:?}: {} samples, want {}; first difference at #{first}: got {:?} want {:?}",
                gs.len(),
                ws.len(),
                gs.get(first),
                ws.get(first)
            );
        }
    }
}

/// Block directories (with a `meta.json`) directly under `dir`, as
/// `(id, min_time, max_time)` sorted by time.
pub fn block_ranges(dir: &Path) -> Vec<(String, i64, i64)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read data dir").flatten() {
        let p = e.path();
        if !p.join("meta.json").is_file() {
            continue;
        }
        let text = std::fs::read_to_string(p.join("meta.json")).expect("meta");
        let v: serde_json::Value = serde_json::from_str(&text).expect("meta json");
        out.push((
            e.file_name().to_string_lossy().into_owned(),
            v["minTime"].as_i64().expect("minTime"),
            v["maxTime"].as_i64().expect("maxTime"),
        ));
    }
    out.sort_by_key(|b| (b.1, b.2));
    out
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let dst = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dst);
        } else if e.file_name() != "lock" {
            std::fs::copy(&p, &dst).expect("copy file");
        }
    }
}
