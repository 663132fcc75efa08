//! Prometheus text format 0.0.4: real bodies and the edge cases of
//! Prometheus's `promparse.go`.

use std::borrow::Cow;

use promlite_exposition::{parse_all, Entry, Format, Parser, SampleEntry, NORMAL_NAN_BITS};
use promlite_model::MetricType;

const NODE_EXPORTER: &str = r#"# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.1032e-05
go_gc_duration_seconds{quantile="0.25"} 3.3686e-05
go_gc_duration_seconds{quantile="1"} 0.000386124
go_gc_duration_seconds_sum 0.011409384
go_gc_duration_seconds_count 222
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 134589.45
node_cpu_seconds_total{cpu="0",mode="iowait"} 65.12
node_cpu_seconds_total{cpu="0",mode="user"} 3721.9
# HELP node_filesystem_avail_bytes Filesystem space available to non-root users in bytes.
# TYPE node_filesystem_avail_bytes gauge
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 4.1871663104e+10
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.21
# HELP node_network_receive_bytes_total Network device statistic receive_bytes.
# TYPE node_network_receive_bytes_total counter
node_network_receive_bytes_total{device="eth0"} 1.0239891e+09
# HELP node_scrape_collector_duration_seconds node_exporter: Duration of a collector scrape.
# TYPE node_scrape_collector_duration_seconds gauge
node_scrape_collector_duration_seconds{collector="cpu"} 0.000563021
# HELP prometheus_http_request_duration_seconds Histogram of latencies for HTTP requests.
# TYPE prometheus_http_request_duration_seconds histogram
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="0.1"} 8
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="1"} 9
prometheus_http_request_duration_seconds_bucket{handler="/metrics",le="+Inf"} 9
prometheus_http_request_duration_seconds_sum{handler="/metrics"} 0.028
prometheus_http_request_duration_seconds_count{handler="/metrics"} 9
# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.70123456789e+09
"#;

fn samples(body: &str) -> Vec<(String, f64, Option<i64>)> {
    parse_all(body.as_bytes(), Format::PrometheusText)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(l, v, t)| (l.to_string(), v, t))
        .collect()
}

fn one(body: &str) -> (String, f64, Option<i64>) {
    let mut s = samples(body);
    assert_eq!(s.len(), 1, "{s:?}");
    s.remove(0)
}

fn err(body: &str) -> String {
    match parse_all(body.as_bytes(), Format::PrometheusText) {
        Ok(v) => panic!("expected an error for {body:?}, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn entries(body: &str) -> Vec<Entry<'_>> {
    let mut p = Parser::new(body.as_bytes(), Format::PrometheusText);
    let mut out = Vec::new();
    while let Some(e) = p.next_entry() {
        out.push(e.unwrap_or_else(|e| panic!("{e}")));
    }
    out
}

#[test]
fn node_exporter_body() {
    let s = samples(NODE_EXPORTER);
    assert_eq!(s.len(), 18);
    assert_eq!(
        s[0],
        (
            "go_gc_duration_seconds{quantile=\"0.0\"}".to_string(),
            2.1032e-05,
            None
        )
    );
    assert_eq!(s[2].0, "go_gc_duration_seconds{quantile=\"1.0\"}");
    assert_eq!(
        s[4],
        ("go_gc_duration_seconds_count".to_string(), 222.0, None)
    );
    assert_eq!(
        s[5],
        (
            "node_cpu_seconds_total{cpu=\"0\", mode=\"idle\"}".to_string(),
            134589.45,
            None
        )
    );
    assert_eq!(s[8].1, 4.1871663104e10);
    assert_eq!(
        s[8].0,
        "node_filesystem_avail_bytes{device=\"/dev/sda1\", fstype=\"ext4\", mountpoint=\"/\"}"
    );
    assert_eq!(
        s[12].0,
        "prometheus_http_request_duration_seconds_bucket{handler=\"/metrics\", le=\"0.1\"}"
    );
    assert_eq!(
        s[13].0,
        "prometheus_http_request_duration_seconds_bucket{handler=\"/metrics\", le=\"1.0\"}"
    );
    assert_eq!(
        s[14].0,
        "prometheus_http_request_duration_seconds_bucket{handler=\"/metrics\", le=\"+Inf\"}"
    );
    assert_eq!(
        s[17],
        (
            "process_start_time_seconds".to_string(),
            1.70123456789e9,
            None
        )
    );

    let e = entries(NODE_EXPORTER);
    assert_eq!(
        e[0],
        Entry::Help {
            name: "go_gc_duration_seconds",
            help: Cow::Borrowed("A summary of the pause duration of garbage collection cycles.")
        }
    );
    assert_eq!(
        e[1],
        Entry::Type {
            name: "go_gc_duration_seconds",
            metric_type: MetricType::Summary
        }
    );
    let types: Vec<MetricType> = e
        .iter()
        .filter_map(|e| match e {
            Entry::Type { metric_type, .. } => Some(*metric_type),
            _ => None,
        })
        .collect();
    assert_eq!(types.len(), 8);
    assert_eq!(types[1], MetricType::Counter);
    assert_eq!(types[6], MetricType::Histogram);
}

#[test]
fn labels_as_written_and_raw_series_bytes() {
    let body = "m{b=\"2\",a=\"1\"} 3\n";
    let mut p = Parser::new(body.as_bytes(), Format::PrometheusText);
    let mut s = SampleEntry::default();
    assert!(p.next_into(&mut s).is_some());
    assert_eq!(s.name, "m");
    assert_eq!(
        s.labels,
        vec![("b", Cow::Borrowed("2")), ("a", Cow::Borrowed("1"))]
    );
    assert_eq!(p.series_bytes(), b"m{b=\"2\",a=\"1\"}");
    assert!(p.next_into(&mut s).is_none());
}

#[test]
fn help_and_comment_lines() {
    let e = entries(
        "# HELP m a \\\\ b \\n c \\\" d\n#comment\n# another one\n#\n# HELP\n# TYPE\nm 1\n",
    );
    assert_eq!(
        e[0],
        Entry::Help {
            name: "m",
            help: Cow::Owned("a \\ b \n c \\\" d".to_string())
        }
    );
    assert_eq!(
        &e[1..6],
        &[
            Entry::Comment,
            Entry::Comment,
            Entry::Comment,
            Entry::Comment,
            Entry::Comment
        ]
    );
    assert!(matches!(e[6], Entry::Sample(_)));
    // Help without text, and tabs as separators.
    assert_eq!(
        entries("# HELP m\n")[0],
        Entry::Help {
            name: "m",
            help: Cow::Borrowed("")
        }
    );
    assert_eq!(
        entries("#\tHELP\tm\tx y\n")[0],
        Entry::Help {
            name: "m",
            help: Cow::Borrowed("x y")
        }
    );
    assert_eq!(
        entries("# TYPE m untyped\n")[0],
        Entry::Type {
            name: "m",
            metric_type: MetricType::Unknown
        }
    );
    assert_eq!(
        entries("# TYPE \"my.metric\" gauge\n")[0],
        Entry::Type {
            name: "my.metric",
            metric_type: MetricType::Gauge
        }
    );
}

#[test]
fn invalid_types_are_errors() {
    assert!(err("# TYPE m info\n").contains("invalid metric type \"info\""));
    assert!(err("# TYPE m unknown\n").contains("invalid metric type"));
    assert!(err("# TYPE m counter \n").contains("invalid metric type \"counter \""));
    assert!(err("# TYPE m\n").contains("invalid metric type \"\""));
    assert!(err("# HELP 1m x\n").contains("expected a metric name after HELP"));
}

#[test]
fn values_and_specials() {
    assert_eq!(one("m NaN\n").1.to_bits(), NORMAL_NAN_BITS);
    assert_eq!(one("m +Inf\n").1, f64::INFINITY);
    assert_eq!(one("m -Inf\n").1, f64::NEG_INFINITY);
    assert_eq!(one("m Inf\n").1, f64::INFINITY);
    assert_eq!(one("m 1e-3\n").1, 0.001);
    assert_eq!(one("m -1.5E+2\n").1, -150.0);
    assert_eq!(one("m .5\n").1, 0.5);
    assert!(err("m 0x1p3\n").contains("value \"0x1p3\" is not a number"));
    assert!(err("m 1_000\n").contains("is not a number"));
    assert!(err("m 1e999\n").contains("out of range"));
    assert!(err("m -nan\n").contains("is not a number"));
}

#[test]
fn timestamps() {
    assert_eq!(one("m 1 1395066363000\n").2, Some(1395066363000));
    assert_eq!(one("m 1 0\n").2, Some(0));
    assert_eq!(one("m 1 \t 5 \t\n").2, Some(5));
    assert!(err("m 1 -5\n").contains("expected a timestamp"));
    assert!(err("m 1 1.5\n").contains("expected end of line after the timestamp"));
    assert!(err("m 1 99999999999999999999\n").contains("out of range"));
    assert!(
        err("m 1 2 3\n").contains("column 7: expected end of line after the timestamp, got '3'")
    );
}

#[test]
fn whitespace_and_layout_rules() {
    // Blank lines, leading blanks, no final newline.
    assert_eq!(samples("\n\n  m 1\n\t\nn 2").len(), 2);
    // Spaces inside label sets, no commas, trailing comma, name then blank then '{'.
    assert_eq!(
        one("m{ a = \"1\" , b=\"2\" ,} 1\n").0,
        "m{a=\"1\", b=\"2\"}"
    );
    assert_eq!(one("m{a=\"1\" b=\"2\"} 1\n").0, "m{a=\"1\", b=\"2\"}");
    assert_eq!(one("m {a=\"1\"} 1\n").0, "m{a=\"1\"}");
    assert_eq!(one("m{} 1\n").0, "m");
    // The value may follow '}' directly.
    assert_eq!(one("m{a=\"1\"}7\n").1, 7.0);
    // Metric names with colons.
    assert_eq!(one("job:rate5m:sum 1\n").0, "job:rate5m:sum");
    // A NUL byte at a line start ends the body, as in Prometheus.
    assert_eq!(samples("m 1\n\0garbage").len(), 1);
}

#[test]
fn label_value_escapes_and_newlines() {
    let (l, _, _) = one("m{a=\"x\\\\y\\\"z\\nw\\tq\"} 1\n");
    assert_eq!(l, format!("m{{a={:?}}}", "x\\y\"z\nw\\tq"));
    // A raw newline inside a label value is accepted by the text format.
    let body = "m{a=\"line1\nline2\"} 1\nn 2\n";
    let s = samples(body);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].0, format!("m{{a={:?}}}", "line1\nline2"));
    // Errors after it are reported on the right line.
    assert!(err("m{a=\"x\ny\"} 1\nn{ 2\n").starts_with("line 3, column 4:"));
    // Empty values are dropped from the label set.
    assert_eq!(one("m{a=\"\",b=\"1\"} 1\n").0, "m{b=\"1\"}");
}

#[test]
fn utf8_names_and_values() {
    assert_eq!(
        one("{\"my.metric\", \"label.x\"=\"v\"} 1\n").0,
        "my.metric{label.x=\"v\"}"
    );
    assert_eq!(
        one("{\"label.x\"=\"v\",\"my.metric\"} 1\n").0,
        "my.metric{label.x=\"v\"}"
    );
    assert_eq!(
        one("m{\"ünïcode\"=\"välue\"} 1\n").0,
        "m{ünïcode=\"välue\"}"
    );
    assert!(err("{\"a\"=\"b\"} 1\n").contains("metric name not set"));
    assert!(err("m{\"n\"} 1\n").contains("metric name already set"));
    assert!(err("{\"a\", \"b\"} 1\n").contains("metric name already set"));
    assert!(err("{} 1\n").contains("metric name not set"));
    assert!(err("m{\"\"=\"x\"} 1\n").contains("empty label name"));
    let bad = b"m{a=\"\xff\"} 1\n";
    let e = parse_all(bad, Format::PrometheusText).unwrap_err();
    assert_eq!((e.line, e.column), (1, 6));
    assert!(e.message.contains("invalid UTF-8 in label value"), "{e}");
    // Invalid UTF-8 in ordinary comments is fine.
    assert_eq!(
        parse_all(b"# \xff\xfe\nm 1\n", Format::PrometheusText).map(|v| v.len()),
        Ok(1)
    );
    assert!(parse_all(b"# HELP m \xff\n", Format::PrometheusText)
        .unwrap_err()
        .message
        .contains("UTF-8"));
}

#[test]
fn duplicate_labels_are_errors() {
    assert!(err("m{a=\"1\",a=\"2\"} 1\n").contains("label name \"a\" is not unique"));
    assert!(err("m{__name__=\"x\"} 1\n").contains("\"__name__\" is not unique"));
    assert!(err("m{a=\"1\",\"a\"=\"2\"} 1\n").contains("not unique"));
}

#[test]
fn syntax_errors_name_line_column_and_expectation() {
    let e = parse_all(b"a 1\nb 2\nc{x=\"1\" 3\n", Format::PrometheusText).unwrap_err();
    assert_eq!((e.line, e.column), (3, 9));
    assert_eq!(
        e.to_string(),
        "line 3, column 9: expected a label name or '}', got '3'"
    );
    assert_eq!(
        err("m\n"),
        "line 1, column 2: expected a value after the metric, got end of line"
    );
    assert_eq!(
        err("m"),
        "line 1, column 2: expected a value after the metric, got end of input"
    );
    assert!(err("m{a=1} 1\n").contains("expected a quoted label value, got '1'"));
    assert!(err("m{,} 1\n").contains("expected a label name or '}'"));
    assert!(err("m{a=\"1\",,b=\"2\"} 1\n").contains("expected a label name or '}', got ','"));
    assert!(err("m{1=\"1\"} 1\n").contains("expected a label name"));
    assert!(err("m{a:b=\"1\"} 1\n").contains("expected '=' after the label name, got ':'"));
    assert!(err("m{a=\"1\"}{b=\"2\"} 1\n").contains("expected a value"));
    assert!(err("m{a=\"1\"\n").contains("expected a label name or '}', got end of line"));
    assert!(err("m{a=\"unterminated} 1\n").contains("unterminated quoted string"));
    assert!(err("1m 1\n").contains("expected a metric name"));
    assert_eq!(one("m 1 2 ").2, Some(2));
}

#[test]
fn crlf_is_rejected_like_prometheus() {
    let e = err("m 1\r\n");
    assert!(e.contains("carriage return"), "{e}");
    assert!(err("m 1 5\r\n").contains("carriage return"));
    assert!(err("\r\n").contains("carriage return"));
}

#[test]
fn parser_stops_after_an_error() {
    let mut p = Parser::new(b"m 1\nbad line\nn 2\n", Format::PrometheusText);
    assert!(matches!(p.next_entry(), Some(Ok(Entry::Sample(_)))));
    assert!(matches!(p.next_entry(), Some(Err(_))));
    assert!(p.next_entry().is_none());
    assert!(p.next_entry().is_none());
}

#[test]
fn le_and_quantile_follow_the_last_type() {
    let s = samples("# TYPE h histogram\nh_bucket{le=\"10\"} 1\nh_bucket{le=\"0.50\"} 1\n# TYPE g gauge\ng{le=\"10\"} 1\n");
    assert_eq!(s[0].0, "h_bucket{le=\"10.0\"}");
    assert_eq!(s[1].0, "h_bucket{le=\"0.5\"}");
    assert_eq!(s[2].0, "g{le=\"10\"}");
    let s = samples("# TYPE s summary\ns{quantile=\"0.990\"} 1\ns{le=\"1\"} 1\n");
    assert_eq!(s[0].0, "s{quantile=\"0.99\"}");
    assert_eq!(s[1].0, "s{le=\"1\"}");
}
