//! Compaction keeps every sample (deduplicating equal timestamps) and
//! records lineage.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use promlite_model::{labels, Labels, MatchOp, Matcher, Querier, SelectHints, ValueType};
use promlite_tsdb::block::{write_block, Block};
use promlite_tsdb::compact::{compact, plan};

type Data = BTreeMap<Labels, Vec<(i64, f64)>>;

fn dump(b: &Block) -> Data {
    let q = b.querier(i64::MIN, i64::MAX);
    let m = Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap();
    let sel = q.select(&SelectHints::default(), &[m]).unwrap();
    let out: Data = sel
        .iter()
        .map(|s| {
            let mut it = s.iter();
            let mut v = Vec::new();
            while it.next() == ValueType::Float {
                v.push(it.at());
            }
            (s.labels().clone(), v)
        })
        .collect();
    out
}

fn block(parent: &Path, mint: i64, maxt: i64, data: &Data) -> Arc<Block> {
    let meta = write_block(parent, mint, maxt, &mut data.clone().into_iter())
        .unwrap()
        .unwrap();
    Arc::new(Block::open(&parent.join(meta.id)).unwrap())
}

fn series(
    name: &str,
    inst: &str,
    ts: impl Iterator<Item = i64>,
    f: impl Fn(i64) -> f64,
) -> (Labels, Vec<(i64, f64)>) {
    (
        labels!("__name__" => name, "instance" => inst),
        ts.map(|t| (t, f(t))).collect(),
    )
}

#[test]
fn adjacent_blocks_merge_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    let mut expected: Data = BTreeMap::new();
    for k in 0..3i64 {
        let (lo, hi) = (k * 7_200_000, (k + 1) * 7_200_000);
        let mut d: Data = BTreeMap::new();
        for inst in ["a", "b"] {
            let (l, s) = series("cpu", inst, (lo..hi).step_by(15_000), |t| {
                (t / 1000) as f64 * 0.25
            });
            d.insert(l, s);
        }
        // A series present only in the middle block, and one that churns.
        if k == 1 {
            let (l, s) = series("only_mid", "a", (lo..hi).step_by(60_000), |_| {
                f64::from_bits(0x7ff0_0000_0000_0002)
            });
            d.insert(l, s);
        }
        let (l, s) = series("churn", &format!("i{k}"), (lo..hi).step_by(30_000), |t| {
            t as f64
        });
        d.insert(l, s);
        for (l, s) in &d {
            expected
                .entry(l.clone())
                .or_default()
                .extend(s.iter().copied());
        }
        parts.push(block(dir.path(), lo, hi, &d));
    }
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let meta = compact(&out, &parts).unwrap().unwrap();
    assert_eq!((meta.min_time, meta.max_time), (0, 21_600_000));
    assert_eq!(meta.compaction.level, 2);
    assert_eq!(
        meta.compaction.parents,
        parts
            .iter()
            .map(|b| b.meta().id.clone())
            .collect::<Vec<_>>()
    );
    let mut srcs: Vec<String> = parts.iter().map(|b| b.meta().id.clone()).collect();
    srcs.sort();
    assert_eq!(meta.compaction.sources, srcs);
    let merged = Block::open(&out.join(&meta.id)).unwrap();
    let got = dump(&merged);
    assert_eq!(got.len(), expected.len());
    for (l, s) in &expected {
        let g = &got[l];
        assert_eq!(g.len(), s.len(), "{l}");
        assert!(
            g.iter()
                .zip(s)
                .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits()),
            "{l}"
        );
    }
    assert_eq!(
        merged.meta().stats.num_samples,
        expected.values().map(|v| v.len() as u64).sum::<u64>()
    );
    // Compacting the compacted block with a level-1 block raises the level again.
    let next = compact(&out, &[Arc::new(merged), parts[0].clone()])
        .unwrap()
        .unwrap();
    assert_eq!(next.compaction.level, 3);
}

#[test]
fn overlapping_blocks_deduplicate_equal_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let l = labels!("__name__" => "x");
    let a: Data = [(l.clone(), vec![(0, 1.0), (10, 1.0), (20, 1.0)])]
        .into_iter()
        .collect();
    let b: Data = [(l.clone(), vec![(5, 2.0), (10, 2.0), (30, 2.0)])]
        .into_iter()
        .collect();
    let ba = block(dir.path(), 0, 25, &a);
    let bb = block(dir.path(), 5, 35, &b);
    assert_eq!(
        plan(&[ba.meta().clone(), bb.meta().clone()], &[2, 6]),
        vec![vec![ba.meta().id.clone(), bb.meta().id.clone()]]
    );
    let meta = compact(dir.path(), &[ba.clone(), bb.clone()])
        .unwrap()
        .unwrap();
    let got = dump(&Block::open(&dir.path().join(&meta.id)).unwrap());
    assert_eq!(
        got[&l],
        vec![(0, 1.0), (5, 2.0), (10, 1.0), (20, 1.0), (30, 2.0)]
    );
    assert_eq!((meta.min_time, meta.max_time), (0, 35));
    // The first-listed block wins for equal timestamps.
    let meta = compact(dir.path(), &[bb, ba]).unwrap().unwrap();
    let got = dump(&Block::open(&dir.path().join(&meta.id)).unwrap());
    assert_eq!(got[&l][2], (10, 2.0));
}

#[test]
fn compacting_nothing_yields_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(compact(dir.path(), &[]).unwrap().is_none());
}
