//! PromQL parse throughput (queries/s, so µs per query) on a corpus of
//! typical dashboard and alerting queries: selectors with matchers,
//! aggregations, binary operators with vector matching, functions,
//! subqueries and modifiers.
//!
//! Target (docs/performance-anchors.md): parsing must stay a negligible
//! part of a query (well under the ~35 µs Prometheus spends on a whole
//! 1000-step `a_one` range query); a few µs per query.
//!
//! The parser caches compiled regex matchers per process, so after the
//! first iteration this measures re-parsing known queries (what dashboards
//! and rules do); the first parse of a new `=~` pattern also pays its
//! regex compile (tens of µs).

use criterion::measurement::Measurement;
use criterion::{black_box, Criterion, Throughput};

const QUERIES: &[&str] = &[
    "up",
    "up{job=\"node\",instance=~\"10\\\\.0\\\\..*\"}",
    "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))",
    "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (job) (rate(http_requests_total[5m])) > 0.05",
    "histogram_quantile(0.99, sum by (le, route) (rate(request_duration_seconds_bucket{job=\"api\"}[5m])))",
    "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[2m])))",
    "node_filesystem_avail_bytes / on (instance, device) group_left (mountpoint) node_filesystem_size_bytes < 0.1",
    "predict_linear(node_filesystem_free_bytes[6h], 4 * 3600) < 0",
    "max_over_time(deriv(rate(model_inference_total[1m])[30m:1m])[1h:] offset 5m)",
    "topk(10, sum without (pod) (container_memory_working_set_bytes{namespace!=\"kube-system\"}))",
    "absent_over_time(up{job=\"model-server\"}[10m]) or label_replace(vector(1), \"x\", \"$1\", \"y\", \"(.*)\")",
    "count(count by (version) (build_info)) > 1 unless on () (time() - process_start_time_seconds < 600)",
];

fn bench_parse<M: Measurement>(c: &mut Criterion<M>) {
    for q in QUERIES {
        if let Err(e) = promlite_promql::parser::parse(q) {
            panic!("promql_parse: corpus query {q:?} does not parse: {e}");
        }
    }
    let mut g = c.benchmark_group("promql_parse");
    g.throughput(Throughput::Elements(QUERIES.len() as u64));
    g.bench_function(format!("corpus_{}_queries", QUERIES.len()), |b| {
        b.iter(|| {
            let mut ok = 0;
            for q in QUERIES {
                ok += promlite_promql::parser::parse(black_box(q)).is_ok() as usize;
            }
            assert_eq!(ok, QUERIES.len());
        })
    });
    g.finish();
}

#[path = "support/cpu_time.rs"]
mod cpu_time;

fn main() {
    cpu_time::run(bench_parse, bench_parse);
}
