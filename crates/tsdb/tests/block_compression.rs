//! Bytes per sample on realistic scrape data, before and after compaction.
//! The measured figures are recorded in docs/storage.md.

use std::sync::Arc;

use promlite_tsdb::block::{write_block, Block};
use promlite_tsdb::codec::testdata::{generate, num_samples, DatasetSpec};
use promlite_tsdb::compact::compact;

#[test]
fn bytes_per_sample_on_generated_scrape_data() {
    // 10 targets × 41 series × 24h at 15s.
    let spec = DatasetSpec::default();
    let data = generate(&spec);
    let total = num_samples(&data) as u64;
    let dir = tempfile::tempdir().unwrap();
    let two_h = 7_200_000i64;
    let start = spec.start_ms - spec.start_ms.rem_euclid(two_h);
    let end = spec.start_ms + spec.scrapes as i64 * spec.interval_ms + 1000;
    let mut blocks = Vec::new();
    let mut lo = start;
    while lo < end {
        let hi = lo + two_h;
        let mut part = data.iter().map(|(l, s)| {
            (
                l.clone(),
                s.iter()
                    .copied()
                    .filter(|x| x.0 >= lo && x.0 < hi)
                    .collect::<Vec<_>>(),
            )
        });
        if let Some(m) = write_block(dir.path(), lo, hi, &mut part).unwrap() {
            blocks.push(Arc::new(Block::open(&dir.path().join(m.id)).unwrap()));
        }
        lo = hi;
    }
    let small: u64 = blocks.iter().map(|b| b.meta().stats.num_bytes).sum();
    let out = dir.path().join("compacted");
    std::fs::create_dir_all(&out).unwrap();
    let meta = compact(&out, &blocks).unwrap().unwrap();
    assert_eq!(meta.stats.num_samples, total);
    let merged = Block::open(&out.join(&meta.id)).unwrap();
    // Lossless: every series reads back bit-exactly.
    for (id, (l, s)) in data.iter().enumerate() {
        let (gl, gs) = merged.read_series(id as u32).unwrap();
        assert_eq!(&gl, l);
        assert!(
            gs.len() == s.len()
                && gs
                    .iter()
                    .zip(s)
                    .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits()),
            "{l}"
        );
    }
    let before = small as f64 / total as f64;
    let after = meta.stats.num_bytes as f64 / total as f64;
    let index = merged.index().size_bytes();
    println!("samples {total}: 2h blocks {before:.3} B/sample, compacted 24h block {after:.3} B/sample (index {index} bytes)");
    assert!(after < 2.0, "compacted {after:.3} B/sample");
    assert!(before < 2.5, "2h blocks {before:.3} B/sample");
}
