//! Stable regression test for the fuzz targets: runs every seed corpus file
//! (`fuzz/corpus/<target>/`) and every crash reproducer
//! (`fuzz/artifacts/<target>/`) through the same per-target function the
//! cargo-fuzz binaries call (`fuzz/src/lib.rs`, included here), so CI
//! catches regressions without a nightly toolchain or libFuzzer.
//!
//! Reproducers of crashes not yet fixed are listed in [`KNOWN_FAILURES`]
//! with a reason and are skipped; everything else must not panic.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod fuzz_targets;

use std::path::{Path, PathBuf};

/// `(target, file name, reason)` of reproducers that still fail; the fix
/// belongs to the crate named in the reason. Remove the entry once fixed.
const KNOWN_FAILURES: &[(&str, &str, &str)] = &[];

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn run_dir(target: &str, sub: &str) -> (usize, Vec<String>) {
    let mut ran = 0;
    let mut failed = Vec::new();
    for path in files_in(&fuzz_dir().join(sub).join(target)) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if let Some((_, _, why)) = KNOWN_FAILURES
            .iter()
            .find(|(t, f, _)| *t == target && *f == name)
        {
            eprintln!("skipping known failure {target}/{name}: {why}");
            continue;
        }
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let res = std::panic::catch_unwind(|| {
            assert!(
                fuzz_targets::run_target(target, &data),
                "unknown target {target}"
            )
        });
        if res.is_err() {
            failed.push(format!("{sub}/{target}/{name}"));
        }
        ran += 1;
    }
    (ran, failed)
}

#[test]
fn every_target_has_a_seed_corpus_and_no_input_panics() {
    let mut failed = Vec::new();
    for target in fuzz_targets::TARGETS {
        let (seeds, f) = run_dir(target, "corpus");
        assert!(
            seeds > 0,
            "no seed corpus for {target} in fuzz/corpus/{target}/"
        );
        failed.extend(f);
        let (_, f) = run_dir(target, "artifacts");
        failed.extend(f);
    }
    assert!(
        failed.is_empty(),
        "inputs that panic (add a fix, or a KNOWN_FAILURES entry with a reason): {failed:#?}"
    );
}

#[test]
fn every_fuzz_target_binary_is_listed() {
    let bins: Vec<String> = files_in(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    let mut listed: Vec<String> = fuzz_targets::TARGETS
        .iter()
        .map(|s| s.to_string())
        .collect();
    listed.sort();
    assert_eq!(bins, listed);
    assert!(!fuzz_targets::run_target("no_such_target", b""));
}

#[test]
fn known_failures_still_have_reproducers() {
    for (target, file, _) in KNOWN_FAILURES {
        assert!(
            fuzz_dir()
                .join("artifacts")
                .join(target)
                .join(file)
                .is_file(),
            "stale KNOWN_FAILURES entry {target}/{file}"
        );
    }
}

/// Regenerates the checked-in seed corpora from valid inputs:
/// `cargo test -p promlite --test fuzz_corpus -- --ignored generate_seed_corpus`.
#[test]
#[ignore]
fn generate_seed_corpus() {
    use promlite_model::labels;
    use promlite_tsdb::record::{encode_samples, encode_series, RefSample, RefSeries};

    let mut seeds: Vec<(&str, &str, Vec<u8>)> = Vec::new();
    let text = |s: &str| s.as_bytes().to_vec();

    for (i, q) in [
        "sum by (job) (rate(http_requests_total{job=~\"a.*\"}[5m] offset 1m))",
        "histogram_quantile(0.9, sum by (le) (rate(latency_seconds_bucket[5m])))",
        "a + on (b) group_left (c) d * 2 ^ 3 ^ -1",
        "max_over_time(deriv(temperature[10m:30s])[1h:] @ 100) unless count(x) > bool 3",
        "topk(3, label_replace(up, \"dst\", \"$1\", \"src\", \"(.*)\")) or vector(NaN) - Inf",
        "{__name__=\"x\", a!=\"\\u00e9\"} @ start() offset -5m30s",
        "quantile_over_time(0.5, x[1d]) and on () absent_over_time(nope[1m])",
        "sum_over_time(m[29s+1s:((((8 - 2) / 3) * 7s) % 4) + 8000ms] offset -(min_of(step(), 1s)^0))",
        "count_over_time(m[max_of(min_of(step()+1,1h),1ms)]) offset range() + m offset 100 + 2",
        "sum by (job) (rate(http_requests_total{job=~\"api|db\"}[5m] anchored offset 1m)) / increase(x[10m] smoothed @ start())",
        "temperature smoothed offset -30s + changes(flappy[5m] anchored) - resets(foo anchored[1m])",
    ]
    .iter()
    .enumerate()
    {
        let name: &'static str = Box::leak(format!("seed-{i}").into_boxed_str());
        seeds.push(("promql_parse", name, text(q)));
    }
    for (i, q) in [
        "sum by (job) (rate(http_requests_total[1m]))",
        "histogram_quantile(0.9, sum by (le, job) (rate(latency_seconds_bucket[2m])))",
        "temperature > bool 0 or on (instance) absent(flappy)",
        "avg_over_time(flappy[5m]) + ignoring (job) group_left count_values(\"v\", temperature)",
        "max_over_time(rate(http_requests_total[1m])[5m:30s]) @ end()",
        "sort_desc(topk(2, delta(temperature[3m])))",
        "time() - timestamp(changes(http_requests_total[10m]))",
        "rate(http_requests_total[1m*2+step()]) offset -step()*2",
        "rate(http_requests_total[1m] smoothed) + delta(temperature[2m] anchored)",
        "changes(flappy[3m] anchored) or temperature @ 100 smoothed or deriv(temperature[1m] smoothed)",
    ]
    .iter()
    .enumerate()
    {
        let name: &'static str = Box::leak(format!("seed-{i}").into_boxed_str());
        seeds.push(("promql_eval", name, text(q)));
    }
    let prom_text = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n\
# TYPE rpc_duration_seconds summary\nrpc_duration_seconds{quantile=\"0.5\"} 4773\nrpc_duration_seconds_sum 1.7560473e+07\n\
rpc_duration_seconds_count 2693\nmetric_without_timestamp_and_labels 12.47\nnan_metric NaN\nminus_inf -Inf\n";
    seeds.push(("exposition_text", "seed-0", text(prom_text)));
    seeds.push(("exposition_text", "seed-1", text("# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 0.9\nh_count 3\n")));
    seeds.push((
        "exposition_text",
        "seed-2",
        text("{\"my.metric\",\"job\"=\"x\"} 1\nescaped{a=\"q\\\"\\\\\\n\"} 2\n"),
    ));
    let om = "# TYPE acme_http_router_request_seconds summary\n# UNIT acme_http_router_request_seconds seconds\n\
# HELP acme_http_router_request_seconds Latency.\nacme_http_router_request_seconds_sum{path=\"/api/v1\",method=\"GET\"} 9036.32\n\
acme_http_router_request_seconds_count{path=\"/api/v1\",method=\"GET\"} 807283.0\n\
# TYPE foo counter\nfoo_total 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\nfoo_created 1520872607.123\n\
# TYPE hh histogram\nhh_bucket{le=\"1.0\"} 1 # {id=\"a\"} 0.5 123.4\nhh_bucket{le=\"+Inf\"} 2\nhh_count 2\nhh_sum 1.5\n\
# TYPE s stateset\ns{s=\"a\"} 1\ns{s=\"b\"} 0\n# TYPE i info\ni_info{v=\"1\"} 1\n# EOF\n";
    seeds.push(("exposition_openmetrics", "seed-0", text(om)));
    seeds.push((
        "exposition_openmetrics",
        "seed-1",
        text("# TYPE g gauge\ng{a=\"b\"} -1.5e3\n# EOF\n"),
    ));
    seeds.push(("openmetrics_import", "seed-0", text(om)));
    seeds.push((
        "openmetrics_import",
        "seed-1",
        text("# TYPE up gauge\nup{job=\"a\"} 1 1700000000\nup{job=\"a\"} 0 1700000015.5\n# TYPE c counter\nc_total 3 1700000000\n# EOF\n"),
    ));

    let series = vec![
        RefSeries {
            series_ref: 1,
            labels: labels!("__name__" => "up", "job" => "a"),
        },
        RefSeries {
            series_ref: 2,
            labels: labels!("__name__" => "x", "instance" => "h:1", "job" => "b"),
        },
    ];
    let samples = vec![
        RefSample {
            series_ref: 1,
            t: 1_700_000_000_000,
            v: 1.0,
        },
        RefSample {
            series_ref: 2,
            t: 1_700_000_000_005,
            v: f64::NAN,
        },
        RefSample {
            series_ref: 1,
            t: 1_700_000_015_000,
            v: -0.25,
        },
    ];
    let mut rec = Vec::new();
    encode_series(&series, &mut rec);
    seeds.push(("wal_record_decode", "seed-0", rec));
    let mut rec = Vec::new();
    encode_samples(&samples, &mut rec);
    seeds.push(("wal_record_decode", "seed-1", rec));
    seeds.push(("wal_record_decode", "seed-2", vec![3, 1, 2, 3]));

    // A real WAL segment written by the Db.
    let dir = tempfile::tempdir().unwrap();
    {
        let opts = promlite_tsdb::DbOptions {
            background: false,
            retention_ms: None,
            ..Default::default()
        };
        let db = promlite_tsdb::Db::open(dir.path(), opts).unwrap();
        for batch in 0..3 {
            let mut app = db.appender();
            for s in 0..4i64 {
                let l = labels!("__name__" => "up", "instance" => format!("h{s}").as_str(), "job" => "a");
                app.append(None, &l, 1_000 + batch * 15_000, (batch * s) as f64)
                    .unwrap();
            }
            app.commit().unwrap();
        }
        db.close().unwrap();
    }
    let wal = dir.path().join("wal");
    let segs = promlite_tsdb::wal::list_segments(&wal).unwrap();
    let seg = std::fs::read(promlite_tsdb::wal::segment_path(&wal, segs[0])).unwrap();
    seeds.push(("wal_replay", "seed-1", seg[..seg.len() / 2].to_vec()));
    seeds.push(("wal_replay", "seed-0", seg));

    let xs: Vec<(i64, f64)> = (0..50)
        .map(|i| (1_000 + i * 15_000 + (i % 3), (i * i) as f64 * 0.1))
        .collect();
    let mut app = promlite_tsdb::chunk::XorAppender::new();
    for (t, v) in &xs {
        app.append(*t, *v);
    }
    let mut head = (app.num_samples()).to_le_bytes().to_vec();
    head.extend_from_slice(&app.to_bytes());
    seeds.push(("chunk_decode", "seed-0", head));
    seeds.push(("chunk_decode", "seed-1", promlite_tsdb::codec::encode(&xs)));
    let counters: Vec<(i64, f64)> = (0..120).map(|i| (i * 10_000, (i * 7) as f64)).collect();
    seeds.push((
        "chunk_decode",
        "seed-2",
        promlite_tsdb::codec::encode(&counters),
    ));

    seeds.push(("block_open", "seed-0", vec![0]));
    seeds.push(("block_open", "seed-1", vec![1, 40, 0, 0x10, 0]));
    seeds.push(("block_open", "seed-2", vec![2, 200, 1, 0xff, 0, 7, 0, 1, 0]));
    seeds.push(("block_open", "seed-3", vec![0, 100, 0, 0, 1]));

    seeds.push((
        "scrape_config",
        "seed-0",
        text("global:\n  scrape_interval: 15s\n  external_labels:\n    region: eu\nscrape_configs:\n  - job_name: model\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['localhost:9100', 'h:8080']\n        labels:\n          team: ml\n    relabel_configs:\n      - source_labels: [__address__]\n        regex: '(.*):.*'\n        target_label: host\n        replacement: $1\n"),
    ));
    seeds.push((
        "scrape_config",
        "seed-1",
        text("scrape_configs:\n  - job_name: a\n    scrape_interval: 1m\n    scrape_timeout: 10s\n    honor_labels: true\n    sample_limit: 1000\n    basic_auth:\n      username: u\n      password: p\n    file_sd_configs:\n      - files: ['/tmp/*.json']\n    metric_relabel_configs:\n      - action: drop\n        source_labels: [__name__]\n        regex: go_.*\n"),
    ));

    seeds.push((
        "rule_file",
        "seed-0",
        text("groups:\n  - name: model\n    interval: 30s\n    rules:\n      - record: job:requests:rate5m\n        expr: sum by (job) (rate(http_requests_total[5m]))\n        labels:\n          team: ml\n      - alert: HighLatency\n        expr: histogram_quantile(0.99, sum by (le) (rate(latency_seconds_bucket[5m]))) > 0.5\n        for: 10m\n        keep_firing_for: 1m\n        labels:\n          severity: page\n        annotations:\n          summary: \"{{ $labels.job }} p99 is {{ $value | humanizeDuration }}\"\n          description: '{{ printf \"%.2f\" $value }} on {{ $labels.instance }}'\n"),
    ));
    seeds.push((
        "rule_file",
        "seed-1",
        text("groups:\n  - name: a\n    limit: 10\n    query_offset: 1m\n    labels:\n      g: x\n    rules:\n      - alert: Down\n        expr: up == 0\n        annotations:\n          text: '{{ range query \"up\" }}{{ .Labels.instance }} {{ end }}{{ if gt $value 1.0 }}big{{ else }}small{{ end }}'\n  - name: b\n    rules:\n      - record: x\n        expr: vector(1)\n"),
    ));
    seeds.push((
        "api_params",
        "seed-0",
        text("query=sum%28rate%28http_requests_total%5B5m%5D%29%29&start=1700000000&end=2023-11-14T23%3A13%3A20.5Z&step=15s&timeout=30&limit=100"),
    ));
    seeds.push((
        "api_params",
        "seed-1",
        text("match[]=up%7Bjob%3D%22a%22%7D&match[]={__name__=~\"x.%2B\"}&time=1.7e9&lookback_delta=5m&limit=-1&step=0.001"),
    ));
    for (target, name, bytes) in seeds {
        let d = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    }
}
