//! Block write → open → query, checked against `MemStorage` as the oracle.

use std::path::Path;

use promlite_model::{
    labels, Labels, MatchOp, Matcher, MemStorage, Querier, Queryable, SelectHints, ValueType,
};
use promlite_tsdb::block::{write_block, Block};
use proptest::prelude::*;

type Data = Vec<(Labels, Vec<(i64, f64)>)>;

type Dump = Vec<(String, Vec<(i64, u64)>)>;

fn collect(q: &dyn Querier, ms: &[Matcher], hints: &SelectHints) -> Result<Dump, String> {
    let series = q.select(hints, ms).map_err(|e| e.to_string())?;
    Ok(series
        .iter()
        .map(|s| {
            let mut it = s.iter();
            let mut out = Vec::new();
            while it.next() == ValueType::Float {
                let (t, v) = it.at();
                out.push((t, v.to_bits()));
            }
            assert!(it.err().is_none());
            (s.labels().to_string(), out)
        })
        .collect())
}

fn build(dir: &Path, data: &Data, mint: i64, maxt: i64) -> (Block, MemStorage) {
    let mut sorted = data.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mem = MemStorage::new();
    for (l, s) in &sorted {
        mem.insert(l.clone(), s);
    }
    let meta = write_block(dir, mint, maxt, &mut sorted.clone().into_iter())
        .unwrap()
        .unwrap();
    (Block::open(&dir.join(&meta.id)).unwrap(), mem)
}

fn check_all(block: &Block, mem: &MemStorage, matchers: &[Vec<Matcher>], ranges: &[(i64, i64)]) {
    for &(mint, maxt) in ranges {
        let bq = block.querier(mint, maxt);
        let mq = mem.querier(mint, maxt).unwrap();
        for ms in matchers {
            let h = SelectHints::default();
            assert_eq!(
                collect(&bq, ms, &h),
                collect(mq.as_ref(), ms, &h),
                "select {ms:?} in [{mint},{maxt}]"
            );
            for name in ["__name__", "job", "instance", "le", "missing"] {
                assert_eq!(
                    bq.label_values(name, ms).unwrap(),
                    mq.label_values(name, ms).unwrap(),
                    "label_values {name} {ms:?}"
                );
            }
            assert_eq!(
                bq.label_names(ms).unwrap(),
                mq.label_names(ms).unwrap(),
                "label_names {ms:?}"
            );
        }
    }
}

fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
    Matcher::new(op, n, v).unwrap()
}

fn fixture() -> Data {
    let mut data = Vec::new();
    for (i, job) in ["api", "db", "cache"].iter().enumerate() {
        for inst in 0..3 {
            let base: Vec<(i64, f64)> = (0..1200)
                .map(|k| (k * 15_000 + inst, (k * (i as i64 + 1)) as f64 / 4.0))
                .collect();
            data.push((labels!("__name__" => "up", "job" => *job, "instance" => format!("h{inst}").as_str()), base.clone()));
            data.push((labels!("__name__" => "req_total", "job" => *job, "instance" => format!("h{inst}").as_str(), "code" => "200"), base));
        }
    }
    data.push((
        labels!("__name__" => "lonely", "env" => "prod"),
        vec![
            (0, f64::from_bits(0x7ff0000000000002)),
            (60_000, f64::INFINITY),
        ],
    ));
    data.push((labels!("__name__" => "late"), vec![(17_000_000, -0.0)]));
    data
}

#[test]
fn select_and_label_apis_match_the_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture();
    let (block, mem) = build(dir.path(), &data, 0, 18_000_000);
    assert_eq!(block.meta().stats.num_series, data.len() as u64);
    assert_eq!(
        block.meta().stats.num_samples,
        data.iter().map(|s| s.1.len() as u64).sum::<u64>()
    );
    let matchers = vec![
        vec![],
        vec![m(MatchOp::Equal, "__name__", "up")],
        vec![
            m(MatchOp::Equal, "__name__", "up"),
            m(MatchOp::Equal, "job", "db"),
        ],
        vec![
            m(MatchOp::Regex, "job", "api|cache"),
            m(MatchOp::NotEqual, "instance", "h1"),
        ],
        vec![m(MatchOp::Regex, "job", "d.*")],
        vec![
            m(MatchOp::NotRegex, "job", "d.*"),
            m(MatchOp::Regex, "__name__", ".+"),
        ],
        vec![
            m(MatchOp::Equal, "__name__", "lonely"),
            m(MatchOp::Equal, "job", ""),
        ],
        vec![
            m(MatchOp::Regex, "__name__", ".+"),
            m(MatchOp::Regex, "job", ""),
        ],
        vec![
            m(MatchOp::Regex, "__name__", ".+"),
            m(MatchOp::Regex, "code", "|200"),
        ],
        vec![m(MatchOp::Regex, "__name__", "up|late|nope")],
        vec![m(MatchOp::Equal, "__name__", "nope")],
        vec![m(MatchOp::Equal, "missing", "x")],
        vec![
            m(MatchOp::NotEqual, "job", ""),
            m(MatchOp::NotRegex, "instance", "h0|h2"),
        ],
    ];
    let ranges = [
        (0, 18_000_000),
        (0, 0),
        (59_999, 60_000),
        (30_000, 3_000_000),
        (17_000_000, 17_000_000),
        (-100, -1),
        (18_000_001, 99_999_999),
    ];
    check_all(&block, &mem, &matchers, &ranges);
}

#[test]
fn all_empty_matchers_are_rejected_and_hints_respected() {
    let dir = tempfile::tempdir().unwrap();
    let (block, _) = build(dir.path(), &fixture(), 0, 18_000_000);
    let q = block.querier(0, 18_000_000);
    assert!(q
        .select(&SelectHints::default(), &[m(MatchOp::Regex, "job", ".*")])
        .is_err());
    let hints = SelectHints {
        limit: 2,
        ..Default::default()
    };
    assert_eq!(
        q.select(&hints, &[m(MatchOp::Equal, "__name__", "up")])
            .unwrap()
            .len(),
        2
    );
    let hints = SelectHints {
        labels_only: true,
        ..Default::default()
    };
    let s = q
        .select(&hints, &[m(MatchOp::Equal, "__name__", "up")])
        .unwrap();
    assert_eq!(s.len(), 9);
    assert_eq!(s[0].iter().next(), ValueType::None);
}

#[test]
fn seek_and_next_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let samples: Vec<(i64, f64)> = (0..2000).map(|k| (k * 10, k as f64)).collect();
    let meta = write_block(
        dir.path(),
        0,
        20_000,
        &mut vec![(labels!("__name__" => "s"), samples)].into_iter(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        meta.stats.num_chunks,
        2000u64.div_ceil(promlite_tsdb::block::LEVEL1_CHUNK_SAMPLES as u64)
    );
    let block = Block::open(&dir.path().join(&meta.id)).unwrap();
    let q = block.querier(100, 15_000);
    let s = q
        .select(&SelectHints::default(), &[Matcher::equal("__name__", "s")])
        .unwrap();
    let mut it = s[0].iter();
    assert_eq!(it.seek(5), ValueType::Float);
    assert_eq!(it.at(), (100, 10.0));
    assert_eq!(it.seek(7_777), ValueType::Float);
    assert_eq!(it.at(), (7_780, 778.0));
    assert_eq!(it.seek(10), ValueType::Float);
    assert_eq!(it.at(), (7_780, 778.0));
    assert_eq!(it.next(), ValueType::Float);
    assert_eq!(it.at(), (7_790, 779.0));
    assert_eq!(it.seek(15_000), ValueType::Float);
    assert_eq!(it.next(), ValueType::None);
    assert_eq!(it.seek(0), ValueType::None);
    let mut it = s[0].iter();
    assert_eq!(it.seek(15_001), ValueType::None);
    // Every iterator starts afresh (the first chunk may come pre-decoded).
    for _ in 0..2 {
        let mut it = s[0].iter();
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (100, 10.0));
        let mut n = 1;
        while it.next() == ValueType::Float {
            n += 1;
        }
        assert_eq!(n, 1491);
    }
}

#[test]
fn empty_input_writes_nothing_and_bad_input_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    assert!(write_block(dir.path(), 0, 10, &mut std::iter::empty())
        .unwrap()
        .is_none());
    assert!(write_block(
        dir.path(),
        0,
        10,
        &mut vec![(labels!("a" => "b"), vec![])].into_iter()
    )
    .unwrap()
    .is_none());
    let unsorted = vec![
        (labels!("a" => "2"), vec![(1, 1.0)]),
        (labels!("a" => "1"), vec![(1, 1.0)]),
    ];
    assert!(write_block(dir.path(), 0, 10, &mut unsorted.into_iter()).is_err());
    let out_of_range = vec![(labels!("a" => "1"), vec![(10, 1.0)])];
    assert!(write_block(dir.path(), 0, 10, &mut out_of_range.into_iter()).is_err());
    let unordered = vec![(labels!("a" => "1"), vec![(5, 1.0), (5, 2.0)])];
    assert!(write_block(dir.path(), 0, 10, &mut unordered.into_iter()).is_err());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no leftovers"
    );
}

fn arb_data() -> impl Strategy<Value = Data> {
    let series = (
        0..4usize,
        0..3usize,
        0..3usize,
        prop::collection::vec((0i64..400, any::<u64>()), 1..40),
    );
    prop::collection::vec(series, 1..12).prop_map(|v| {
        let mut out: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        for (n, j, e, samples) in v {
            let mut b = promlite_model::LabelsBuilder::new();
            b.set("__name__", ["a", "b", "c", "d"][n]);
            if j > 0 {
                b.set("job", ["", "x", "y"][j]);
            }
            b.set("env", ["", "p", "q"][e]);
            let mut s: Vec<(i64, f64)> = samples
                .into_iter()
                .map(|(t, bits)| {
                    (
                        t * 7 - 100,
                        f64::from_bits(bits % 5 * 0x3ff1_0000_0000_0000 / 4),
                    )
                })
                .collect();
            s.sort_by_key(|x| x.0);
            s.dedup_by_key(|x| x.0);
            out.insert(b.build(), s);
        }
        out.into_iter().collect()
    })
}

fn arb_matcher() -> impl Strategy<Value = Matcher> {
    let ops = prop::sample::select(vec![
        MatchOp::Equal,
        MatchOp::NotEqual,
        MatchOp::Regex,
        MatchOp::NotRegex,
    ]);
    let names = prop::sample::select(vec!["__name__", "job", "env", "zzz"]);
    let vals = prop::sample::select(vec![
        "", "a", "b|c", "x", "p|", ".*", ".+", "a|x|p", "[a-c]",
    ]);
    (ops, names, vals).prop_map(|(o, n, v)| Matcher::new(o, n, v).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_blocks_and_matchers_agree_with_oracle(
        data in arb_data(),
        matchers in prop::collection::vec(prop::collection::vec(arb_matcher(), 0..3), 1..6),
        mint in -200i64..3000, len in 0i64..3000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (block, mem) = build(dir.path(), &data, -100, 3000);
        check_all(&block, &mem, &matchers, &[(mint, mint + len), (-100, 3000)]);
    }
}
