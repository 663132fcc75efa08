//! Tests of the streaming importer.

use super::*;
use promlite_model::{Matcher, Querier, ValueType};
use promlite_tsdb::block::Block;

fn read_block(data: &Path, meta: &BlockMeta, matcher: Matcher) -> Vec<(i64, f64)> {
    let b = Block::open(&data.join(&meta.id)).unwrap();
    let q = b.querier(i64::MIN, i64::MAX);
    let series = q.select(&Default::default(), &[matcher]).unwrap();
    assert_eq!(series.len(), 1);
    let mut it = series[0].iter();
    let mut got = Vec::new();
    while it.next() == ValueType::Float {
        got.push(it.at());
    }
    got
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn imports_into_aligned_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.om");
    // 3 hours of data at 1 h spacing: two 2 h windows.
    let mut body = String::from("# TYPE m counter\n");
    for h in 0..4 {
        body.push_str(&format!("m_total{{a=\"x\"}} {h} {}\n", h * 3600));
        body.push_str(&format!("m_total{{a=\"y\"}} {} {}\n", h * 10, h * 3600));
    }
    body.push_str("# EOF\n");
    std::fs::write(&file, body).unwrap();
    let data = dir.path().join("data");
    let s = import_openmetrics(&file, &data, 2 * 3_600_000).unwrap();
    assert_eq!(s.samples, 8);
    assert_eq!(s.blocks.len(), 2);
    assert_eq!((s.blocks[0].min_time, s.blocks[0].max_time), (0, 7_200_000));
    let b = Block::open(&data.join(&s.blocks[1].id)).unwrap();
    let q = b.querier(i64::MIN, i64::MAX);
    let series = q
        .select(&Default::default(), &[Matcher::equal("a", "y")])
        .unwrap();
    assert_eq!(series.len(), 1);
    let mut it = series[0].iter();
    let mut got = Vec::new();
    while it.next() == ValueType::Float {
        got.push(it.at());
    }
    assert_eq!(got, vec![(7_200_000, 20.0), (10_800_000, 30.0)]);
    // No staging folder is left behind.
    let names: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.to_string_lossy().starts_with("import.tmp")),
        "{names:?}"
    );
}

#[test]
fn bad_line_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.om");
    std::fs::write(&file, "m 1 10\nm{ 2 20\n# EOF\n").unwrap();
    let data = dir.path().join("data");
    let e = import_openmetrics(&file, &data, 7_200_000).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    assert!(!data.exists());
}

#[test]
fn series_spanning_windows_and_interleaved_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.om");
    // Two series interleaved line by line, each spanning three 1 h windows,
    // with one out-of-order sample and one duplicate timestamp (the later
    // line wins, as promtool's appender keeps the last value).
    let mut body = String::new();
    for m in (0..180).step_by(30) {
        body.push_str(&format!("a{{s=\"1\"}} {m} {}\n", m * 60));
        body.push_str(&format!("a{{s=\"2\"}} {} {}\n", m + 1000, m * 60));
    }
    body.push_str("a{s=\"1\"} 5 60\n"); // out of order, window 0
    body.push_str("a{s=\"2\"} 7 3600\n"); // duplicate of t=3600 s
    body.push_str("# EOF\n");
    std::fs::write(&file, body).unwrap();
    let data = dir.path().join("data");
    let s = import_openmetrics(&file, &data, 3_600_000).unwrap();
    assert_eq!(s.samples, 14);
    let bounds: Vec<_> = s.blocks.iter().map(|b| (b.min_time, b.max_time)).collect();
    assert_eq!(
        bounds,
        vec![
            (0, 3_600_000),
            (3_600_000, 7_200_000),
            (7_200_000, 10_800_000)
        ]
    );
    assert!(s.blocks.iter().all(|b| b.stats.num_series == 2));
    assert_eq!(
        read_block(&data, &s.blocks[0], Matcher::equal("s", "1")),
        vec![(0, 0.0), (60_000, 5.0), (1_800_000, 30.0)]
    );
    assert_eq!(
        read_block(&data, &s.blocks[1], Matcher::equal("s", "2")),
        vec![(3_600_000, 7.0), (5_400_000, 1090.0)]
    );
    assert_eq!(
        read_block(&data, &s.blocks[2], Matcher::equal("s", "1")),
        vec![(7_200_000, 120.0), (9_000_000, 150.0)]
    );
}

#[test]
fn label_order_as_written_does_not_split_a_series() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.om");
    std::fs::write(
        &file,
        "m{a=\"1\",b=\"2\"} 1 10\nm{b=\"2\",a=\"1\"} 2 20\n# EOF\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let s = import_openmetrics(&file, &data, 7_200_000).unwrap();
    assert_eq!(s.blocks.len(), 1);
    assert_eq!(s.blocks[0].stats.num_series, 1);
    assert_eq!(
        read_block(&data, &s.blocks[0], Matcher::equal("a", "1")),
        vec![(10_000, 1.0), (20_000, 2.0)]
    );
}

#[test]
fn error_on_last_line_leaves_data_dir_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A first good import puts one block in place.
    let good = dir.path().join("good.om");
    std::fs::write(&good, "m 1 10\n# EOF\n").unwrap();
    import_openmetrics(&good, &data, 7_200_000).unwrap();
    let before = names(&data);
    assert_eq!(before.len(), 1);

    let file = dir.path().join("in.om");
    let mut body = String::new();
    for i in 0..500 {
        body.push_str(&format!("m{{i=\"{}\"}} 1 {}\n", i % 7, i * 100));
    }
    body.push_str("m{i=\"0\"} 2\n"); // line 501: no timestamp
    body.push_str("# EOF\n");
    std::fs::write(&file, body).unwrap();
    let e = import_openmetrics(&file, &data, 3_600_000).unwrap_err();
    assert!(e.to_string().contains("line 501"), "{e}");
    assert_eq!(names(&data), before);

    // A missing # EOF is reported after the last line, also writing nothing.
    std::fs::write(&file, "m 1 10\nm 2 20\n").unwrap();
    let e = import_openmetrics(&file, &data, 3_600_000).unwrap_err();
    assert!(e.to_string().contains("line 3"), "{e}");
    assert!(e.to_string().contains("# EOF"), "{e}");
    assert_eq!(names(&data), before);
}

#[test]
fn missing_file_and_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let e = import_openmetrics(&dir.path().join("nope.om"), &data, 7_200_000).unwrap_err();
    assert!(matches!(e, ImportError::Read { .. }), "{e}");
    let file = dir.path().join("in.om");
    std::fs::write(&file, "# EOF\n").unwrap();
    let s = import_openmetrics(&file, &data, 7_200_000).unwrap();
    assert_eq!((s.samples, s.blocks.len()), (0, 0));
    assert!(!data.exists());
}
