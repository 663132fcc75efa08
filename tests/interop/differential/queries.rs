//! The query set run on both servers.
//!
//! Every evaluation time is a whole second that is not a multiple of 15 s
//! after the (whole-hour) data start, and every subquery step is a multiple
//! of 15 s, so a subquery's left boundary never falls on one of its own
//! points (2.42 includes such a point, 3.x does not). Sample timestamps have
//! 250/500/750 ms fractions, so no whole-second range or lookback boundary
//! ever hits a sample either.

use super::dataset::{STOPPED_INSTANCE, STOP_AFTER_S};

/// One query and how it may be run and compared.
pub struct Query {
    /// The PromQL text.
    pub expr: String,
    /// The result order is defined (`sort`, `sort_desc`): compare in order
    /// (instant queries only; Prometheus sorts range results by labels).
    pub ordered: bool,
    /// The expression is a range vector: instant queries only.
    pub instant_only: bool,
}

fn q(expr: impl Into<String>) -> Query {
    Query {
        expr: expr.into(),
        ordered: false,
        instant_only: false,
    }
}

fn ordered(expr: impl Into<String>) -> Query {
    Query {
        ordered: true,
        ..q(expr)
    }
}

fn range_vector(expr: impl Into<String>) -> Query {
    Query {
        instant_only: true,
        ..q(expr)
    }
}

/// `sum without (instance) (increase(prediction_confidence_score_bucket{le}[w]))`,
/// the inlined `model:confidence_bucket:increase*` recording rules.
fn bucket_increase(le: Option<&str>, window: &str) -> String {
    let sel = match le {
        Some(le) => format!("prediction_confidence_score_bucket{{le=\"{le}\"}}"),
        None => "prediction_confidence_score_bucket".to_string(),
    };
    format!("sum without (instance) (increase({sel}[{window}]))")
}

/// The share of observations per bucket (`model:confidence_bucket:share*`),
/// inlined with a window such as `30m` or `1h offset 30m`.
fn bucket_share(window: &str) -> String {
    let les = [
        "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0", "+Inf",
    ];
    let prev = les
        .windows(2)
        .map(|w| {
            format!(
                "label_replace({}, \"le\", \"{}\", \"le\", \".*\")",
                bucket_increase(Some(w[0]), window),
                w[1]
            )
        })
        .collect::<Vec<_>>()
        .join(" or ");
    format!(
        "clamp_min((({all} - ({prev})) or {first}) / ignoring (le) group_left {inf}, 0.0001)",
        all = bucket_increase(None, window),
        first = bucket_increase(Some("0.1"), window),
        inf = bucket_increase(Some("+Inf"), window),
    )
}

/// All queries; `base` is the data start in seconds since the epoch.
pub fn all(base: i64) -> Vec<Query> {
    let at_stop = base + STOP_AFTER_S + 3;
    let at_mid = base + 5_413;
    let psi_cur = bucket_share("30m");
    let psi_base = bucket_share("1h offset 30m");
    vec![
        // Selectors: every matcher type, offset, @, negative offset.
        q("model_requests_total"),
        q(r#"model_requests_total{status="500"}"#),
        q(r#"model_requests_total{status!="200", model_version="v2"}"#),
        q(r#"model_requests_total{status=~"5..", instance=~"10\\.0\\.0\\.[12]:8000"}"#),
        q(r#"model_requests_total{status!~"2..|4..", model_version!~"v3.*"}"#),
        q(r#"{__name__=~"model_.*", model_version="v1"}"#),
        q("model_queue_depth offset 10m"),
        q("prediction_confidence offset -5m"),
        q(format!("model_queue_depth @ {at_stop}")),
        q(format!("model_requests_total{{status=\"503\"}} @ {at_mid} offset 1h")),
        q("process_cpu_seconds_total @ start()"),
        q("prediction_confidence @ end()"),
        range_vector(r#"model_requests_total{model_version="v1", status="400"}[2m]"#),
        range_vector("model_queue_depth[1m] offset 3m"),
        // Counter and gauge functions over several windows.
        q("rate(model_requests_total[5m])"),
        q(r#"rate(model_requests_total{model_version="v2"}[1m])"#),
        q("rate(process_cpu_seconds_total[1h])"),
        q("irate(process_cpu_seconds_total[2m])"),
        q(r#"increase(model_requests_total{status="200"}[1h])"#),
        q(r#"increase(model_requests_total{status="200"}[45s])"#),
        q("delta(prediction_confidence[10m])"),
        q("deriv(process_cpu_seconds_total[5m])"),
        q("deriv(prediction_confidence[30m])"),
        q("predict_linear(prediction_confidence[30m], 3600)"),
        q("predict_linear(model_queue_depth[10m], 600)"),
        q("resets(model_requests_total[3h])"),
        q("changes(model_queue_depth[15m])"),
        q("idelta(model_queue_depth[1m])"),
        q(format!("rate(model_requests_total[10m] @ {at_mid})")),
        q("increase(model_requests_total[5m] offset 30m)"),
        // *_over_time.
        q("avg_over_time(prediction_confidence[10m])"),
        q("min_over_time(prediction_confidence[7m])"),
        q("max_over_time(model_queue_depth[20m])"),
        q("sum_over_time(model_queue_depth[5m])"),
        q("count_over_time(model_queue_depth[5m])"),
        q("quantile_over_time(0.9, prediction_confidence[30m])"),
        q("stddev_over_time(prediction_confidence[15m])"),
        q("stdvar_over_time(model_queue_depth[15m])"),
        q("last_over_time(model_queue_depth[10m])"),
        q("present_over_time(model_queue_depth[1m])"),
        q(format!(
            "absent_over_time(model_queue_depth{{instance=\"{STOPPED_INSTANCE}\", model_version=\"v1\"}}[2m])"
        )),
        // Subqueries (steps are multiples of 15 s).
        q("max_over_time(rate(model_requests_total[5m])[30m:1m])"),
        q("avg_over_time(sum by (model_version) (rate(model_requests_total[1m]))[15m:30s])"),
        q("min_over_time(prediction_confidence[10m:45s] offset 5m)"),
        q("deriv(sum(process_cpu_seconds_total)[20m:15s])"),
        q("max_over_time(deriv(prediction_confidence[5m])[1h:5m])"),
        // Aggregations with by / without.
        q("sum(rate(model_requests_total[5m]))"),
        q("sum by (model_version, status) (rate(model_requests_total[5m]))"),
        q("sum without (instance) (model_requests_total)"),
        q("avg by (model_version) (prediction_confidence)"),
        q("min without (instance, status) (model_requests_total)"),
        q("max by (instance) (model_queue_depth)"),
        q("count by (status) (model_requests_total)"),
        q("count(count by (model_version) (model_requests_total))"),
        q("group by (model_version) (model_requests_total)"),
        q("stddev by (model_version) (prediction_confidence)"),
        q("stdvar without (instance) (prediction_confidence)"),
        // topk/bottomk inputs without ties (see the module docs).
        q("topk(3, rate(process_cpu_seconds_total[5m]))"),
        ordered("sort_desc(topk(3, rate(process_cpu_seconds_total[5m])))"),
        q("topk by (model_version) (1, prediction_confidence)"),
        q("bottomk by (model_version) (2, prediction_confidence)"),
        q("quantile by (model_version) (0.75, prediction_confidence)"),
        q("quantile(0.1, rate(process_cpu_seconds_total[5m]))"),
        q(r#"count_values("depth", model_queue_depth)"#),
        q(r#"count_values by (model_version) ("depth", model_queue_depth)"#),
        // Binary operators and vector matching.
        q(r#"model_requests_total{status="500"} / ignoring (status) model_requests_total{status="200"}"#),
        q(r#"sum by (model_version, instance) (rate(model_requests_total{status=~"5.."}[5m])) / on (model_version, instance) sum by (model_version, instance) (rate(model_requests_total[5m]))"#),
        q("prediction_confidence * on (model_version) group_left (framework) model_info"),
        q("model_info * on (model_version) group_right (framework) prediction_confidence"),
        q("sum by (model_version) (model_requests_total) / ignoring (model_version) group_left sum(model_requests_total)"),
        q("(model_queue_depth + 1) * 0.5 - 3 / 2"),
        q("process_cpu_seconds_total % 7"),
        q("-model_queue_depth + model_queue_depth ^ 2"),
        q("prediction_confidence > 0.9"),
        q("prediction_confidence > bool 0.9"),
        q("model_queue_depth == 7"),
        q("model_queue_depth != bool 0"),
        q("0.85 < prediction_confidence"),
        q("prediction_confidence >= on (model_version, instance) avg_over_time(prediction_confidence[1h])"),
        q("model_queue_depth > 20 and prediction_confidence < 0.9"),
        q("model_queue_depth or on (instance, model_version) prediction_confidence"),
        q("prediction_confidence unless on (model_version, instance) model_queue_depth > 15"),
        q("scalar(sum(model_queue_depth)) * 2"),
        q("vector(1) + 2"),
        q("time() - 100"),
        q("2 > bool 1"),
        // Classic histograms.
        q("histogram_quantile(0.9, sum by (le) (rate(request_latency_seconds_bucket[5m])))"),
        q("histogram_quantile(0.5, sum by (model_version, le) (rate(request_latency_seconds_bucket[10m])))"),
        q("histogram_quantile(0.99, rate(request_latency_seconds_bucket[5m]))"),
        q("rate(request_latency_seconds_sum[5m]) / rate(request_latency_seconds_count[5m])"),
        // Label functions, absent, clamp, sort, math.
        q(r#"label_replace(model_requests_total, "code_class", "${1}xx", "status", "(.).*")"#),
        q(r#"label_replace(prediction_confidence, "host", "$1", "instance", "([^:]+):.*")"#),
        q(r#"label_join(prediction_confidence, "id", "/", "model_version", "instance")"#),
        q(r#"absent(nonexistent_metric{job="x"})"#),
        q(format!("absent(model_queue_depth{{instance=\"{STOPPED_INSTANCE}\", model_version=\"v1\"}})")),
        q("absent(model_requests_total)"),
        q("clamp(prediction_confidence, 0.85, 0.95)"),
        q("clamp_min(model_queue_depth, 10)"),
        q("clamp_max(model_queue_depth, 10)"),
        ordered("sort(prediction_confidence)"),
        ordered("sort_desc(sum by (instance) (rate(model_requests_total[5m])))"),
        q("ln(prediction_confidence) + exp(prediction_confidence) + sqrt(model_queue_depth)"),
        q("round(prediction_confidence, 0.05)"),
        q("abs(delta(prediction_confidence[5m])) + sgn(delta(prediction_confidence[5m]))"),
        q("ceil(rate(process_cpu_seconds_total[5m]) * 10) + floor(prediction_confidence * 10)"),
        q("log2(model_queue_depth) + log10(process_cpu_seconds_total)"),
        // Time functions, vector/scalar.
        q("timestamp(model_queue_depth)"),
        q("timestamp(model_queue_depth offset 1m)"),
        q("hour() + minute() + month() + year() + day_of_month() + day_of_week() + days_in_month()"),
        q("minute(timestamp(prediction_confidence))"),
        q("vector(time())"),
        q(r#"scalar(model_info{model_version="v1"})"#),
        q("scalar(model_info)"),
        // Edge cases: special values, precedence, empty matching, errors.
        q("2 ^ 3 ^ 2 - 10 % 4 * 3"),
        q("model_queue_depth / 0"),
        q("model_queue_depth % 0"),
        q("ln(model_queue_depth - model_queue_depth)"),
        q("prediction_confidence atan2 on (model_version, instance) model_queue_depth"),
        q("sin(prediction_confidence) + cos(prediction_confidence) * tan(prediction_confidence)"),
        q("vector(1) and on () count(model_info) > 2"),
        q("model_info unless on () vector(1)"),
        q("sum(model_queue_depth) by (model_version) > bool on (model_version) group_left count by (model_version) (model_queue_depth)"),
        q("irate(model_requests_total{status=\"200\", model_version=\"v2\"}[1m])"),
        q("timestamp(max_over_time(model_queue_depth[10m:1m]))"),
        q("max_over_time((model_queue_depth @ end())[30m:5m])"),
        q("sum_over_time(rate(process_cpu_seconds_total[2m])[10m:1m] offset 5m)"),
        q("count_values(\"conf\", round(prediction_confidence, 0.1))"),
        q("quantile(0.5, model_queue_depth) - min(model_queue_depth)"),
        q("stddev_over_time(rate(model_requests_total[1m])[30m:30s])"),
        q("absent(nonexistent_metric{job=~\"x.*\", env=\"prod\"})"),
        q("absent_over_time(nonexistent_metric{job=\"x\"}[5m])"),
        q("\"a string\""),
        q("42"),
        q("rate(model_queue_depth)"),
        q("sum by (le) (model_requests_total) + on (le) model_info"),
        q("model_requests_total + on (model_version) model_queue_depth"),
        q("histogram_quantile(0.25, sum by (le) (rate(prediction_confidence_score_bucket[5m])))"),
        q("histogram_quantile(1.5, sum by (le) (rate(request_latency_seconds_bucket[5m])))"),
        q("histogram_quantile(0.9, request_latency_seconds_bucket)"),
        q("quantile_over_time(1.2, model_queue_depth[10m])"),
        q("quantile(-1, prediction_confidence)"),
        q(r#"count_values by (instance) ("instance", model_queue_depth)"#),
        q(r#"label_replace(model_info, "model_version", "", "model_version", "v1")"#),
        q(r#"label_join(model_info, "model_version", "-", "framework", "model_version")"#),
        q("increase(model_requests_total[3h])"),
        q("deriv(model_queue_depth[20s]) + irate(model_queue_depth[14s])"),
        q("rate(request_latency_seconds_count[16s])"),
        q(format!("model_info @ {} offset -1m", base + 60)),
        q(r#"model_requests_total{nonexistent=""}"#),
        q(r#"{model_version=~"v[12]", __name__!~"model_requests.*|request.*|prediction_confidence_score.*"}"#),
        q(r#"count by (__name__) ({model_version="v2"})"#),
        q("model_requests_total * ignoring (status) group_left model_queue_depth"),
        q(r#"model_requests_total{status="200"} > bool 1000 < bool 3000"#),
        q("acosh(model_queue_depth + 1) + asinh(model_queue_depth) + atanh(prediction_confidence - 0.5)"),
        q("model_queue_depth unless model_queue_depth offset 2h"),
        q(format!("last_over_time(model_queue_depth{{instance=\"{STOPPED_INSTANCE}\"}}[2h])")),
        q("sum(model_queue_depth) or vector(0)"),
        // The ML rules of examples/rules/mlops.yml, inlined (windows scaled to the 3 h data).
        q("avg by (model_version) (avg_over_time(prediction_confidence[5m]))"),
        q("avg by (model_version) (avg_over_time(prediction_confidence[5m])) < 0.7"),
        q("avg by (model_version) (avg_over_time(prediction_confidence[30m])) < 0.9 * avg by (model_version) (avg_over_time(prediction_confidence[30m] offset 1h))"),
        q(r#"sum by (model_version) (rate(model_requests_total{status=~"5.."}[5m])) / sum by (model_version) (rate(model_requests_total[5m]))"#),
        q("histogram_quantile(0.99, sum by (model_version, le) (rate(request_latency_seconds_bucket[5m])))"),
        q(bucket_share("30m")),
        q(format!("sum without (le) (({psi_cur} - {psi_base}) * ln({psi_cur} / {psi_base}))")),
        q(format!("sum without (le) (({psi_cur} - {psi_base}) * ln({psi_cur} / {psi_base})) > 0.02")),
    ]
}
