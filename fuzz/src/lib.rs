//! The bodies of promlite's fuzz targets, shared by the cargo-fuzz binaries
//! in `fuzz/fuzz_targets/` and by the stable regression test
//! `tests/fuzz_corpus.rs` (which includes this file with `#[path]`), so a
//! corpus file or crash reproducer exercises exactly the same code in both.
//!
//! Every function takes raw fuzzer bytes and must return without panicking;
//! where a property is checked (the PromQL print/parse round trip, the
//! block codec's decode/encode/decode round trip) a violation panics.
//!
//! Only `promlite-model`, `-tsdb`, `-promql`, `-exposition`, `-scrape`,
//! `-rules`, `-http` and `tempfile` may be used here: the root package's
//! test sees exactly those.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use promlite_exposition::{openmetrics_import, Format, Parser};
use promlite_model::{Labels, MatchOp, Matcher, MemStorage, ValueType};
use promlite_promql::{Engine, EngineOptions, QueryOptions};
use promlite_tsdb::{Db, DbOptions};

/// Names of all targets, in the order the docs list them.
pub const TARGETS: &[&str] = &[
    "promql_parse",
    "promql_eval",
    "exposition_text",
    "exposition_openmetrics",
    "openmetrics_import",
    "wal_record_decode",
    "wal_replay",
    "chunk_decode",
    "block_open",
    "scrape_config",
    "rule_file",
    "api_params",
];

/// Runs the named target on `data`. Returns false for an unknown name.
pub fn run_target(name: &str, data: &[u8]) -> bool {
    match name {
        "promql_parse" => promql_parse(data),
        "promql_eval" => promql_eval(data),
        "exposition_text" => exposition(data, Format::PrometheusText),
        "exposition_openmetrics" => exposition(data, Format::OpenMetrics),
        "openmetrics_import" => import(data),
        "wal_record_decode" => wal_record_decode(data),
        "wal_replay" => wal_replay(data),
        "chunk_decode" => chunk_decode(data),
        "block_open" => block_open(data),
        "scrape_config" => scrape_config(data),
        "rule_file" => rule_file(data),
        "api_params" => api_params(data),
        _ => return false,
    }
    true
}

/// Parse → print → parse: the reparsed tree must equal the first one.
pub fn promql_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > 8192 {
        return;
    }
    let Ok(expr) = promlite_promql::parser::parse(text) else {
        return;
    };
    let printed = expr.to_string();
    match promlite_promql::parser::parse(&printed) {
        Ok(again) => {
            // `==` ignores source positions (they move when the printer
            // normalises spacing); NaN literals are never `==`, so a tree
            // holding one must at least print the same twice.
            let reprinted = again.to_string();
            let same = expr == again || (printed.contains("NaN") && reprinted == printed);
            assert!(
                same,
                "round trip changed the tree\ninput:   {text:?}\nprinted: {printed:?}\nfirst:   {expr:?}\nsecond:  {again:?}"
            );
        }
        Err(e) => panic!(
            "printed form does not parse\ninput:   {text:?}\nprinted: {printed:?}\nerror:   {e}"
        ),
    }
    let _ = promlite_promql::printer::prettify(&expr);
}

fn eval_storage() -> &'static MemStorage {
    static S: OnceLock<MemStorage> = OnceLock::new();
    S.get_or_init(|| {
        let s = MemStorage::new();
        for (i, job) in ["api", "db", "web"].iter().enumerate() {
            for inst in 0..2 {
                let base = [
                    ("job", job.to_string()),
                    ("instance", format!("h{inst}:9100")),
                ];
                let counter: Vec<(i64, f64)> = (0..40)
                    .map(|k| (k * 15_000, (k * (i as i64 + 1) + inst) as f64))
                    .collect();
                s.insert(labels_of("http_requests_total", &base, &[]), &counter);
                let gauge: Vec<(i64, f64)> = (0..40)
                    .map(|k| (k * 15_000, ((k + inst) % 7) as f64 - 2.5))
                    .collect();
                s.insert(labels_of("temperature", &base, &[]), &gauge);
                for (b, le) in ["0.1", "1", "+Inf"].iter().enumerate() {
                    let h: Vec<(i64, f64)> = (0..40)
                        .map(|k| (k * 15_000, (k * (b as i64 + 1)) as f64))
                        .collect();
                    s.insert(
                        labels_of("latency_seconds_bucket", &base, &[("le", le)]),
                        &h,
                    );
                }
            }
        }
        // A stale marker and a NaN, to reach those paths.
        s.insert(
            labels_of("flappy", &[("job", "x".into())], &[]),
            &[
                (0, 1.0),
                (30_000, promlite_model::STALE_NAN),
                (60_000, f64::NAN),
            ],
        );
        s
    })
}

fn labels_of(name: &str, base: &[(&str, String)], extra: &[(&str, &str)]) -> Labels {
    let mut pairs: Vec<(String, String)> = vec![("__name__".into(), name.into())];
    pairs.extend(base.iter().map(|(k, v)| (k.to_string(), v.clone())));
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Labels::from_pairs(pairs)
}

/// Evaluates a small expression (instant and range query) over a fixed
/// in-memory dataset with low limits. Errors are fine; panics are not.
pub fn promql_eval(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > 512 {
        return;
    }
    let engine = Engine::new(EngineOptions {
        max_samples: 20_000,
        timeout: Duration::from_secs(2),
        default_eval_interval_ms: 15_000,
        ..Default::default()
    });
    let opts = QueryOptions::default();
    let storage = eval_storage();
    let _ = engine.instant_query(storage, text, 300_000, &opts);
    let _ = engine.range_query(storage, text, 0, 600_000, 30_000, &opts);
}

/// Pulls every entry out of a scrape body, then parses it again as
/// `parse_all` does.
pub fn exposition(data: &[u8], format: Format) {
    let mut p = Parser::new(data, format);
    let mut n = 0usize;
    while let Some(item) = p.next_entry() {
        n += 1;
        if item.is_err() || n > 100_000 {
            break;
        }
    }
    let _ = promlite_exposition::parse_all(data, format);
}

/// Streams an OpenMetrics backfill file to the end or the first error.
pub fn import(data: &[u8]) {
    for (n, row) in openmetrics_import(data).enumerate() {
        if row.is_err() || n > 100_000 {
            break;
        }
    }
}

/// Decodes one WAL record payload.
pub fn wal_record_decode(data: &[u8]) {
    let _ = promlite_tsdb::record::decode(data);
}

/// `{__name__=~".+"}`, compiled once: building the regex per input cost the
/// file-based targets over a third of their time.
fn all_series_matcher() -> Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| {
        Matcher::new(MatchOp::Regex, "__name__", ".+")
            .unwrap_or_else(|_| Matcher::equal("__name__", "up"))
    })
    .clone()
}

fn drain(q: &dyn promlite_model::Querier) {
    let m = [all_series_matcher()];
    if let Ok(series) = q.select(&Default::default(), &m) {
        for s in series.iter().take(1000) {
            let mut it = s.iter();
            let mut k = 0;
            while it.next() == ValueType::Float && k < 100_000 {
                let _ = it.at();
                k += 1;
            }
            let _ = it.err();
            let mut it = s.iter();
            let _ = it.seek(i64::MIN / 2);
        }
    }
    let _ = q.label_names(&m);
    let _ = q.label_values("__name__", &[]);
}

/// Writes the input as WAL segment 0 of an empty data directory and opens a
/// `Db` on it (replay, repair), then reads everything back.
pub fn wal_replay(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let wal = dir.path().join("wal");
    if std::fs::create_dir_all(&wal).is_err() {
        return;
    }
    let seg = promlite_tsdb::wal::segment_path(&wal, 0);
    let Ok(mut f) = std::fs::File::create(&seg) else {
        return;
    };
    if f.write_all(data).is_err() {
        return;
    }
    drop(f);
    let opts = DbOptions {
        background: false,
        retention_ms: None,
        ..Default::default()
    };
    if let Ok(db) = Db::open(dir.path(), opts) {
        if let Ok(q) = db.querier(i64::MIN / 2, i64::MAX / 2) {
            drain(q.as_ref());
        }
        let _ = db.close();
    }
}

/// Head XOR chunk decoding (first two bytes: the sample count) and the block
/// codec (`decode`, and `decode_chunk` split at the position in byte 0);
/// a successful `decode` must survive encode → decode unchanged.
pub fn chunk_decode(data: &[u8]) {
    if data.len() >= 2 {
        let total = u16::from_le_bytes([data[0], data[1]]);
        let mut d = promlite_tsdb::chunk::XorDecoder::new(&data[2..], total);
        while d.next_sample().is_some() {}
        let _ = d.failed();
    }
    if let Ok(samples) = promlite_tsdb::codec::decode(data) {
        let again = promlite_tsdb::codec::decode(&promlite_tsdb::codec::encode(&samples));
        let bits = |v: &[(i64, f64)]| v.iter().map(|(t, f)| (*t, f.to_bits())).collect::<Vec<_>>();
        match again {
            Ok(b) => assert!(
                bits(&samples) == bits(&b),
                "codec round trip changed {} samples",
                samples.len()
            ),
            Err(e) => panic!("re-encoded samples do not decode: {e:?}"),
        }
    }
    if let Some((&split, rest)) = data.split_first() {
        let split = (split as usize).min(rest.len());
        let (ts, vals) = rest.split_at(split);
        let _ = promlite_tsdb::codec::decode_chunk(ts, vals);
        let _ = promlite_tsdb::codec::decode_chunk_timestamps(ts);
    }
}

/// Files of a small valid block, relative path → bytes (built once).
fn pristine_block() -> &'static [(PathBuf, Vec<u8>)] {
    static B: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    B.get_or_init(|| {
        let mut out = Vec::new();
        let Ok(dir) = tempfile::tempdir() else {
            return out;
        };
        let mut series: Vec<(Labels, Vec<(i64, f64)>)> = Vec::new();
        for i in 0..6 {
            let l = labels_of(
                "up",
                &[
                    ("instance", format!("h{i}")),
                    ("job", (if i % 2 == 0 { "a" } else { "b" }).into()),
                ],
                &[],
            );
            series.push((
                l,
                (0..150)
                    .map(|k| (k * 10_000, (k * i) as f64 * 0.5))
                    .collect(),
            ));
        }
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let Ok(Some(meta)) =
            promlite_tsdb::block::write_block(dir.path(), 0, 2_000_000, &mut series.into_iter())
        else {
            return out;
        };
        let root = dir.path().join(&meta.id);
        collect_files(&root, &root, &mut out);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(root, &p, out);
        } else if let (Ok(rel), Ok(bytes)) = (p.strip_prefix(root), std::fs::read(&p)) {
            out.push((rel.to_path_buf(), bytes));
        }
    }
}

/// Mutates one file of a small valid block and opens and reads it.
///
/// Input: byte 0 picks the file (index, chunk segment or meta.json); then
/// 4-byte groups `(offset u16 LE, xor mask, 0 = flip / 1 = truncate here)`.
pub fn block_open(data: &[u8]) {
    let files = pristine_block();
    if files.is_empty() {
        return;
    }
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let target = pick as usize % files.len();
    let Ok(dir) = tempfile::tempdir() else { return };
    let root = dir.path().join("block");
    for (i, (rel, bytes)) in files.iter().enumerate() {
        let mut b = bytes.clone();
        if i == target {
            for op in rest.chunks_exact(4) {
                if b.is_empty() {
                    break;
                }
                let off = u16::from_le_bytes([op[0], op[1]]) as usize % b.len();
                if op[3] & 1 == 1 {
                    b.truncate(off);
                } else {
                    b[off] ^= op[2];
                }
            }
        }
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                return;
            }
        }
        if std::fs::write(&p, &b).is_err() {
            return;
        }
    }
    if let Ok(block) = promlite_tsdb::block::Block::open(&root) {
        let q = block.querier(i64::MIN / 2, i64::MAX / 2);
        drain(&q);
        let q = block.querier(100_000, 200_000);
        drain(&q);
        let _ = block.read_series(0);
    }
}

/// Parses a scrape configuration file.
pub fn scrape_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > 65_536 {
        return;
    }
    let _ = promlite_scrape::config::Config::from_str(text);
}

/// Loads a rule file: YAML, group and rule validation, PromQL of every
/// `expr`, label and annotation templates.
pub fn rule_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.len() > 65_536 {
        return;
    }
    let opts = promlite_rules::LoadOptions::default();
    if let Ok(groups) = promlite_rules::parse_rules("fuzz.yml", text, &opts) {
        for g in &groups {
            let _ = format!("{g:?}");
        }
    }
}

/// Query-API parameter parsing as the HTTP handlers do it: the form-encoded
/// text is split into parameters, then every time, duration, limit and
/// `match[]` selector in it is parsed.
pub fn api_params(data: &[u8]) {
    if data.len() > 65_536 {
        return;
    }
    let p = promlite_http::params::Params::from_query(&String::from_utf8_lossy(data));
    for key in ["time", "start", "end"] {
        let _ = p.time(key, 0);
    }
    for key in ["step", "timeout", "lookback_delta"] {
        let _ = p.duration(key);
    }
    let _ = p.limit();
    for m in p.get_all("match[]").into_iter().take(100) {
        let _ = promlite_promql::parser::parse_metric_selector(m);
    }
    if let Some(q) = p.get("query") {
        if q.len() <= 8192 {
            let _ = promlite_promql::parser::parse(q);
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = promlite_http::params::parse_time(s);
        let _ = promlite_http::params::parse_duration_param(s);
        let _ = promlite_http::params::parse_limit(s);
    }
}
