//! The standard query set, its latency runs, and the comparison of every
//! answer with Prometheus's.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::{path_with_params, TimedClient};
use crate::systems::success_json;

/// One query of the set.
#[derive(Debug, Clone)]
pub struct QueryDef {
    /// PromQL text.
    pub expr: &'static str,
    /// Range query (over the whole dataset) rather than instant (at its end).
    pub range: bool,
}

/// The standard query set over the backfill dataset.
pub fn query_set() -> Vec<QueryDef> {
    let r = |expr| QueryDef { expr, range: true };
    let i = |expr| QueryDef { expr, range: false };
    vec![
        r("sum by (model) (rate(model_requests_total[5m]))"),
        r("histogram_quantile(0.9, sum by (le) (rate(model_request_duration_seconds_bucket[5m])))"),
        r("avg by (instance) (rate(node_cpu_seconds_total{mode!=\"idle\"}[5m]))"),
        r("rate(model_requests_total{instance=\"model-0:8080\"}[1m])"),
        r("1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes"),
        r("max by (job) (process_resident_memory_bytes)"),
        i("topk(5, model_gpu_utilization_ratio)"),
        i("count by (__name__) ({job=\"node\"})"),
        i("max_over_time(model_queue_depth[1h])"),
        i("sum by (device) (increase(node_network_receive_bytes_total[1h]))"),
        i("quantile_over_time(0.99, model_prediction_confidence[30m])"),
        i("avg(node_hwmon_temp_celsius)"),
    ]
}

/// Which queries the backfill run times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QuerySetName {
    /// The twelve queries every report since session 3 has timed.
    Standard,
    /// The standard twelve and 48 more of the shapes a dashboard or an
    /// alerting rule sends: every `*_over_time` and rate-like function
    /// over short and long windows, instant and range, aggregations,
    /// vector matching, comparisons, regex matchers, label functions,
    /// subqueries, `offset`. Chosen for breadth, not tuned against.
    Broad,
}

/// The named query set.
pub fn named_set(name: QuerySetName) -> Vec<QueryDef> {
    match name {
        QuerySetName::Standard => query_set(),
        QuerySetName::Broad => {
            let mut set = query_set();
            set.extend(broad_extra());
            set
        }
    }
}

/// The queries the broad set adds to the standard twelve. Subqueries are
/// instant only: at the range queries' step-aligned times a subquery's
/// first point falls on its range's left boundary, which Prometheus 2.42
/// includes and 3.x (and promlite) leave out.
fn broad_extra() -> Vec<QueryDef> {
    let r = |expr| QueryDef { expr, range: true };
    let i = |expr| QueryDef { expr, range: false };
    vec![
        i("model_requests_total"),
        i("node_load1"),
        i("rate(model_requests_total[5m])"),
        i("sum(rate(model_requests_total[5m]))"),
        i("sum by (model) (rate(model_requests_total[5m]))"),
        i("irate(model_requests_total[5m])"),
        i("increase(model_requests_total[1h])"),
        i("histogram_quantile(0.99, sum by (le, model) (rate(model_request_duration_seconds_bucket[5m])))"),
        i("rate(model_request_duration_seconds_sum[5m]) / rate(model_request_duration_seconds_count[5m])"),
        i("avg_over_time(model_prediction_confidence[1h])"),
        i("min_over_time(model_prediction_confidence[1h])"),
        i("stddev_over_time(model_prediction_confidence[1h])"),
        i("count_over_time(model_queue_depth[1h])"),
        i("last_over_time(model_queue_depth[10m])"),
        i("changes(model_queue_depth[1h])"),
        i("resets(model_requests_total[1h])"),
        i("deriv(model_gpu_memory_used_bytes[30m])"),
        i("predict_linear(node_filesystem_avail_bytes[1h], 3600)"),
        i("delta(node_hwmon_temp_celsius[30m])"),
        i("idelta(node_load1[5m])"),
        i("topk(10, rate(node_network_receive_bytes_total[5m]))"),
        i("bottomk(3, node_load5)"),
        i("quantile(0.9, model_prediction_confidence)"),
        i("count_values(\"v\", model_queue_depth)"),
        i("count by (instance) (node_cpu_seconds_total)"),
        i("avg by (mode) (rate(node_cpu_seconds_total[5m]))"),
        i("node_memory_MemAvailable_bytes / on (instance) node_memory_MemTotal_bytes"),
        i("node_load1 > bool 1"),
        i("label_replace(node_load1, \"host\", \"$1\", \"instance\", \"(.*):.*\")"),
        i("node_load1{instance=~\"node-1.*\"}"),
        i("model_requests_total{status!=\"200\"}"),
        i("max_over_time(rate(model_requests_total[5m])[1h:1m])"),
        i("model_queue_depth offset 1h"),
        i("timestamp(node_load1)"),
        r("rate(model_requests_total[5m])"),
        r("irate(model_requests_total[5m])"),
        r("histogram_quantile(0.99, sum by (le, model) (rate(model_request_duration_seconds_bucket[5m])))"),
        r("avg_over_time(model_prediction_confidence[10m])"),
        r("max_over_time(model_queue_depth[10m])"),
        r("node_load1"),
        r("topk(5, model_gpu_utilization_ratio)"),
        r("quantile_over_time(0.9, model_prediction_confidence[15m])"),
        r("deriv(node_filesystem_avail_bytes[15m])"),
        r("increase(model_requests_total[1h])"),
        r("changes(model_queue_depth[15m])"),
        r("sum by (device) (rate(node_disk_read_bytes_total[5m]))"),
        r("stddev by (job) (process_resident_memory_bytes)"),
        r("1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m]))"),
    ]
}

/// A query answer reduced to comparable form: series (sorted label text) →
/// points (timestamp ms, value).
pub type Answer = BTreeMap<String, Vec<(i64, f64)>>;

fn parse_point(p: &serde_json::Value) -> Option<(i64, f64)> {
    let t = p.get(0)?.as_f64()?;
    let v = p.get(1)?.as_str()?;
    let v = match v {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        s => s.parse().ok()?,
    };
    Some(((t * 1000.0).round() as i64, v))
}

/// Reduces a `/api/v1/query(_range)` JSON answer to an [`Answer`].
pub fn normalize(json: &serde_json::Value) -> Answer {
    let mut out = Answer::new();
    let Some(result) = json.pointer("/data/result").and_then(|r| r.as_array()) else {
        return out;
    };
    for s in result {
        let labels: BTreeMap<String, String> = s
            .get("metric")
            .and_then(|m| m.as_object())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let key = format!("{labels:?}");
        let mut points: Vec<(i64, f64)> = match (s.get("values"), s.get("value")) {
            (Some(vs), _) => vs
                .as_array()
                .map(|a| a.iter().filter_map(parse_point).collect())
                .unwrap_or_default(),
            (None, Some(v)) => parse_point(v).into_iter().collect(),
            _ => Vec::new(),
        };
        points.sort_by_key(|p| p.0);
        out.insert(key, points);
    }
    out
}

/// How an answer compares with the reference.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Same series, timestamps and bit-identical values.
    Equal,
    /// Same series and timestamps; values within a relative 1e-9.
    Close(f64),
    /// Different.
    Differs(String),
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Equal => write!(f, "equal"),
            Verdict::Close(e) => write!(f, "≈ (max rel. err {e:.1e})"),
            Verdict::Differs(why) => write!(f, "**differs**: {why}"),
        }
    }
}

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Compares `got` with the reference `want`.
pub fn compare(want: &Answer, got: &Answer) -> Verdict {
    let missing = want.keys().filter(|k| !got.contains_key(*k)).count();
    let extra = got.keys().filter(|k| !want.contains_key(*k)).count();
    if missing + extra > 0 {
        let first = |a: &Answer, b: &Answer| {
            a.keys()
                .find(|k| !b.contains_key(*k))
                .cloned()
                .unwrap_or_default()
        };
        return Verdict::Differs(format!(
            "{} vs {} series ({missing} missing, e.g. `{}`; {extra} extra, e.g. `{}`)",
            got.len(),
            want.len(),
            first(want, got),
            first(got, want)
        ));
    }
    let (mut points, mut bad_ts, mut bad_v, mut max_rel) = (0usize, 0usize, 0usize, 0f64);
    for (k, w) in want {
        let g = got.get(k).map(Vec::as_slice).unwrap_or(&[]);
        if g.len() != w.len() {
            bad_ts += w.len().abs_diff(g.len());
        }
        for (a, b) in w.iter().zip(g) {
            points += 1;
            if a.0 != b.0 {
                bad_ts += 1;
            } else if !same_bits(a.1, b.1) {
                let rel = (a.1 - b.1).abs() / a.1.abs().max(b.1.abs()).max(f64::MIN_POSITIVE);
                max_rel = max_rel.max(rel);
                if rel.is_nan() || rel > 1e-9 {
                    bad_v += 1;
                }
            }
        }
    }
    if bad_ts > 0 || bad_v > 0 {
        Verdict::Differs(format!(
            "{bad_ts} timestamp and {bad_v} value mismatches in {points} points (max rel. err {max_rel:.1e})"
        ))
    } else if max_rel > 0.0 {
        Verdict::Close(max_rel)
    } else {
        Verdict::Equal
    }
}

/// Latency and answer of one query on one system.
#[derive(Debug, Clone)]
pub struct QueryRun {
    /// Median latency over the timed repetitions.
    pub median: Duration,
    /// The answer (from the first run).
    pub answer: Answer,
    /// Number of series in the answer.
    pub series: usize,
}

/// Runs every query of `set` `reps` times (after one untimed warm-up) on `url`.
///
/// The requests are timed from a thread of their own running a single-threaded
/// runtime with its own client, so that a response is read by the thread that
/// sent the request: on the harness's multi-threaded runtime the hand-off
/// between worker threads added ~45 µs to every request (measured against
/// `vector(1)`: 100 µs there, 57 µs here, 32 µs with `wrk`), the same for
/// every system, which pulls the ratios of the sub-millisecond queries
/// towards 1. The client is a bare hyper connection ([`TimedClient`]), for
/// the same reason.
pub async fn run_set(
    url: &str,
    set: &[QueryDef],
    instant_s: f64,
    range: (f64, f64, f64),
    reps: usize,
) -> Vec<anyhow::Result<QueryRun>> {
    let (url, set) = (url.to_string(), set.to_vec());
    let n = set.len();
    let timed = tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut client = TimedClient::new(&url)?;
        Ok::<_, anyhow::Error>(rt.block_on(async move {
            let mut out = Vec::new();
            for q in set {
                let r = if q.range { Some(range) } else { None };
                let run = async {
                    let (_, json) = timed_query(&mut client, q.expr, instant_s, r).await?;
                    let mut times = Vec::with_capacity(reps);
                    for _ in 0..reps.max(1) {
                        times.push(timed_repeat(&mut client, q.expr, instant_s, r).await?);
                    }
                    times.sort();
                    let answer = normalize(&json);
                    Ok(QueryRun {
                        median: times.get(times.len() / 2).copied().unwrap_or_default(),
                        series: answer.len(),
                        answer,
                    })
                }
                .await;
                out.push(run);
            }
            out
        }))
    })
    .await;
    match timed {
        Ok(Ok(runs)) => runs,
        Ok(Err(e)) => (0..n)
            .map(|_| Err(anyhow::anyhow!("query client: {e}")))
            .collect(),
        Err(e) => (0..n)
            .map(|_| Err(anyhow::anyhow!("query thread: {e}")))
            .collect(),
    }
}

/// One instant (`range` = None) or range query through `client`: the time
/// until its answer was read, and the answer (which must be a success).
async fn timed_query(
    client: &mut TimedClient,
    expr: &str,
    time: f64,
    range: Option<(f64, f64, f64)>,
) -> anyhow::Result<(Duration, serde_json::Value)> {
    let (elapsed, status, body) = client.get(&query_path(expr, time, range)).await?;
    Ok((elapsed, success_json(expr, status, &body)?))
}

/// A timed repetition of a query whose answer [`timed_query`] has checked:
/// the time to its answer's last byte; the answer is read but not
/// decompressed or parsed (status 200 is still required).
async fn timed_repeat(
    client: &mut TimedClient,
    expr: &str,
    time: f64,
    range: Option<(f64, f64, f64)>,
) -> anyhow::Result<Duration> {
    let (elapsed, status) = client.time(&query_path(expr, time, range)).await?;
    anyhow::ensure!(status == 200, "{expr}: HTTP {status} on a repetition");
    Ok(elapsed)
}

/// The request path of an instant or range query.
fn query_path(expr: &str, time: f64, range: Option<(f64, f64, f64)>) -> String {
    match range {
        Some((s, e, step)) => path_with_params(
            "/api/v1/query_range",
            &[
                ("query", expr.to_string()),
                ("start", format!("{s}")),
                ("end", format!("{e}")),
                ("step", format!("{step}")),
            ],
        ),
        None => path_with_params(
            "/api/v1/query",
            &[("query", expr.to_string()), ("time", format!("{time}"))],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_compares() {
        let a: serde_json::Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"b":"2","a":"1"},"value":[10.5,"1.5"]}]}}"#,
        )
        .unwrap();
        let b: serde_json::Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"a":"1","b":"2"},"value":[10.5,"1.5000000000001"]}]}}"#,
        )
        .unwrap();
        let (na, nb) = (normalize(&a), normalize(&b));
        assert_eq!(na.values().next().unwrap(), &vec![(10_500, 1.5)]);
        assert_eq!(compare(&na, &na), Verdict::Equal);
        assert!(matches!(compare(&na, &nb), Verdict::Close(_)));
        assert!(matches!(compare(&na, &Answer::new()), Verdict::Differs(_)));
    }
}
