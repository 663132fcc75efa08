//! OpenMetrics 1.0: a realistic body with exemplars, metadata, the strict
//! layout rules and `# EOF` handling of Prometheus's `openmetricsparse.go`.

use std::borrow::Cow;

use promlite_exposition::{
    parse_all, Entry, Exemplar, Format, Parsed, Parser, SampleEntry, NORMAL_NAN_BITS,
};
use promlite_model::MetricType;

const BODY: &str = r#"# HELP inference_requests Inference requests served.
# TYPE inference_requests counter
inference_requests_total{model="resnet50",status="ok"} 1027.0 1700000000.123 # {trace_id="4bf92f3577b34da6"} 1.0 1700000000.001
inference_requests_created{model="resnet50",status="ok"} 1699990000.5
inference_requests_total{model="resnet50",status="error"} 3 # {trace_id="00f067aa0ba902b7",span_id="b9c7c989f97918e1"} 1
# HELP inference_latency_seconds Latency of one inference.
# TYPE inference_latency_seconds histogram
# UNIT inference_latency_seconds seconds
inference_latency_seconds_bucket{le="0.005"} 10
inference_latency_seconds_bucket{le="0.5"} 120 # {trace_id="abc"} 0.43 1700000001.5
inference_latency_seconds_bucket{le="1"} 125
inference_latency_seconds_bucket{le="+Inf"} 126
inference_latency_seconds_count 126
inference_latency_seconds_sum 31.5
inference_latency_seconds_created 1699990000
# TYPE gpu_memory_bytes gauge
# UNIT gpu_memory_bytes bytes
gpu_memory_bytes{gpu="0"} 1.2e+10
# TYPE build info
build_info{version="1.2.3",revision="abc\"def\\g"} 1
# TYPE feature stateset
feature{feature="a"} 1
feature{feature="b"} 0
# TYPE queue_depth gaugehistogram
queue_depth_bucket{le="10"} 3
queue_depth_gcount 3
queue_depth_gsum 12
# TYPE rpc summary
rpc_count 5
rpc_sum 2.5
rpc{quantile="0.5"} NaN
# TYPE weird unknown
weird 1
# EOF
"#;

fn all(body: &str) -> Vec<Entry<'_>> {
    let mut p = Parser::new(body.as_bytes(), Format::OpenMetrics);
    let mut out = Vec::new();
    while let Some(e) = p.next_entry() {
        out.push(e.unwrap_or_else(|e| panic!("{e}")));
    }
    out
}

fn samples(body: &str) -> Vec<SampleEntry<'_>> {
    all(body)
        .into_iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn err(body: &str) -> String {
    match parse_all(body.as_bytes(), Format::OpenMetrics) {
        Ok(v) => panic!("expected an error for {body:?}, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn ok(body: &str) -> usize {
    parse_all(body.as_bytes(), Format::OpenMetrics)
        .unwrap_or_else(|e| panic!("{body:?}: {e}"))
        .len()
}

#[test]
fn realistic_body_with_exemplars() {
    let s = samples(BODY);
    assert_eq!(s.len(), 21);
    let first = &s[0];
    assert_eq!(first.name, "inference_requests_total");
    assert_eq!(
        first.labels,
        vec![
            ("model", Cow::Borrowed("resnet50")),
            ("status", Cow::Borrowed("ok"))
        ]
    );
    assert_eq!(first.value, 1027.0);
    assert_eq!(first.timestamp_ms, Some(1_700_000_000_123));
    assert_eq!(
        first.exemplar,
        Some(Exemplar {
            labels: vec![("trace_id", Cow::Borrowed("4bf92f3577b34da6"))],
            value: 1.0,
            timestamp_ms: Some(1_700_000_000_001),
        })
    );
    // `_created` lines are ordinary samples.
    assert_eq!(s[1].name, "inference_requests_created");
    assert_eq!(s[1].value, 1699990000.5);
    assert_eq!(s[1].created_ms, None);
    let ex = s[2]
        .exemplar
        .as_ref()
        .map(|e| (e.labels.len(), e.value, e.timestamp_ms));
    assert_eq!(ex, Some((2, 1.0, None)));
    assert_eq!(s[2].timestamp_ms, None);
    // Histogram bounds are normalised, exemplars on buckets kept.
    assert_eq!(s[3].labels[0].1, "0.005");
    assert_eq!(s[5].labels[0].1, "1.0");
    assert_eq!(
        s[4].exemplar.as_ref().map(|e| (e.value, e.timestamp_ms)),
        Some((0.43, Some(1_700_000_001_500)))
    );
    assert_eq!(s[10].value, 1.2e10);
    assert_eq!(s[11].labels[1].1, "abc\"def\\g");
    // gaugehistogram bounds are not normalised (as in Prometheus).
    assert_eq!(s[14].labels[0].1, "10");
    assert_eq!(s[14].name, "queue_depth_bucket");
    assert_eq!(s[19].labels[0].1, "0.5");
    assert_eq!(s[19].value.to_bits(), NORMAL_NAN_BITS);
    assert_eq!(s[20].name, "weird");

    let meta: Vec<Entry<'_>> = all(BODY)
        .into_iter()
        .filter(|e| !matches!(e, Entry::Sample(_)))
        .collect();
    assert_eq!(
        meta[0],
        Entry::Help {
            name: "inference_requests",
            help: Cow::Borrowed("Inference requests served.")
        }
    );
    assert_eq!(
        meta[1],
        Entry::Type {
            name: "inference_requests",
            metric_type: MetricType::Counter
        }
    );
    assert_eq!(
        meta[4],
        Entry::Unit {
            name: "inference_latency_seconds",
            unit: "seconds"
        }
    );
    let types: Vec<MetricType> = meta
        .iter()
        .filter_map(|e| {
            if let Entry::Type { metric_type, .. } = e {
                Some(*metric_type)
            } else {
                None
            }
        })
        .collect();
    use MetricType::*;
    assert_eq!(
        types,
        vec![
            Counter,
            Histogram,
            Gauge,
            Info,
            StateSet,
            GaugeHistogram,
            Summary,
            Unknown
        ]
    );
}

#[test]
fn help_escapes_include_quotes() {
    let e = all("# HELP m a \\\\ \\n \\\" \\x\n# HELP n \n# UNIT n \n# EOF\n");
    assert_eq!(
        e[0],
        Entry::Help {
            name: "m",
            help: Cow::Owned("a \\ \n \" \\x".into())
        }
    );
    assert_eq!(
        e[1],
        Entry::Help {
            name: "n",
            help: Cow::Borrowed("")
        }
    );
    assert_eq!(
        e[2],
        Entry::Unit {
            name: "n",
            unit: ""
        }
    );
}

#[test]
fn eof_rules() {
    assert_eq!(ok("# EOF"), 0);
    assert_eq!(ok("# EOF\n"), 0);
    assert_eq!(ok("a 1\n# EOF"), 1);
    assert_eq!(err(""), "line 1, column 1: data does not end with # EOF");
    assert!(err("a 1\n").ends_with("data does not end with # EOF"));
    assert!(err("a 1").ends_with("data does not end with # EOF"));
    assert!(err("a 1 # {x=\"y\"} 4").ends_with("data does not end with # EOF"));
    assert_eq!(
        err("# EOF\na 1\n"),
        "line 2, column 1: unexpected data after # EOF"
    );
    assert!(err("# EOF\n\n").contains("unexpected data after # EOF"));
    assert!(err("# EOFa 1").contains("unexpected data after # EOF"));
    assert!(err("# HELP m x").contains("does not end with # EOF"));
}

#[test]
fn strict_layout() {
    assert!(err("\n# EOF\n").contains("expected a metric name, '{' or '#', got end of line"));
    assert!(err(" a 1\n# EOF\n").contains("got space"));
    assert!(
        err("a  1\n# EOF\n").contains("expected a space and the value after the metric, got space")
    );
    assert!(err("a\t1\n# EOF\n").contains("got tab"));
    assert!(err("a 1 2 \n# EOF\n").contains("expected an exemplar"));
    assert!(
        err("a 1 2 3\n# EOF\n").contains("expected an exemplar ('# {') or end of line, got '3'")
    );
    assert!(err("a 1 2 #\n# EOF\n").contains("expected an exemplar"));
    assert!(
        err("a{b=\"c\", d=\"e\"} 1\n# EOF\n").contains("expected a label name or '}', got space")
    );
    assert!(err("a{b=\"c\"d=\"e\"} 1\n# EOF\n").contains("expected ',' or '}', got 'd'"));
    assert!(err("a{b=\"c\",,d=\"e\"} 1\n# EOF\n").contains("got ','"));
    assert!(err("a{b=\"x\ny\"} 1\n# EOF\n").contains("newline before closing"));
    assert_eq!(ok("a{b=\"c\",} 1\n# EOF\n"), 1);
    assert!(err("#comment\n# EOF\n").contains("expected a single space after '#'"));
    assert!(err("# comment\n# EOF\n").contains("expected HELP, TYPE, UNIT or EOF"));
    assert!(err("#  TYPE a counter\n# EOF\n").contains("expected HELP, TYPE, UNIT or EOF"));
    assert!(err("#\tTYPE a counter\n# EOF\n").contains("single space"));
    assert!(err("#").contains("single space"));
    assert!(err("# H").contains("expected HELP, TYPE, UNIT or EOF"));
    assert!(err("a 1\r\n# EOF\n").contains("carriage return"));
}

#[test]
fn metadata_errors() {
    assert!(err("# TYPE u untyped\n# EOF\n").contains("invalid metric type \"untyped\""));
    assert!(err("# TYPE c counter \n# EOF\n").contains("invalid metric type \"counter \""));
    assert!(err("# TYPE c  counter\n# EOF\n").contains("invalid metric type \" counter\""));
    assert!(err("# TYPE \n# EOF\n").contains("expected a metric name after TYPE"));
    assert!(err("# TYPE m\n# EOF\n").contains("expected a space and the TYPE text"));
    assert!(err("# HELP m\n# EOF\n").contains("expected a space and the HELP text"));
    assert!(err("# UNIT m\n# EOF\n").contains("expected a space and the UNIT text"));
    assert!(err("# UNIT metric suffix\n# EOF\n")
        .contains("unit \"suffix\" is not a suffix of metric \"metric\""));
    assert!(err("# UNIT metricsuffix suffix\n# EOF\n").contains("not a suffix"));
    assert!(err("# UNIT suffix suffix\n# EOF\n").contains("not a suffix"));
    assert_eq!(ok("# UNIT a_suffix suffix\n# EOF\n"), 0);
    assert!(err("# HELP m \u{0}\u{0}\n").contains("does not end"));
}

#[test]
fn values_and_timestamps() {
    let s = samples("a 1 -1.5\nb +Inf 0\nc -Inf 1e3\nd nan\n# EOF\n");
    assert_eq!(s[0].timestamp_ms, Some(-1500));
    assert_eq!(s[1].value, f64::INFINITY);
    assert_eq!(s[2].timestamp_ms, Some(1_000_000));
    assert_eq!(s[3].value.to_bits(), NORMAL_NAN_BITS);
    // Truncation toward zero, like Go's int64(ts*1000).
    assert_eq!(
        samples("a 1 1520879607.789\n# EOF\n")[0].timestamp_ms,
        Some((1520879607.789f64 * 1000.0) as i64)
    );
    assert!(err("a 1 NaN\n# EOF\n").contains("invalid timestamp NaN"));
    assert!(err("a 1 -Inf\n# EOF\n").contains("invalid timestamp -Inf"));
    assert!(err("a 1 1z\n# EOF\n").contains("value \"1z\" is not a number"));
    assert!(err("a true\n# EOF\n").contains("value \"true\" is not a number"));
    assert!(err("foo 1_2\n# EOF\n").contains("is not a number"));
    assert!(err("foo 0x1p-3\n# EOF\n").contains("is not a number"));
    assert!(err("a 1 # {x=\"y\"} 4 NaN\n# EOF\n").contains("invalid exemplar timestamp"));
}

#[test]
fn exemplar_errors() {
    assert!(err("m 1 # {aa=bb}\n# EOF\n").contains("expected a quoted label value, got 'b'"));
    assert!(err("m 1 # {aa=\"bb\"}\n# EOF\n")
        .contains("expected a space and the exemplar value, got end of line"));
    assert!(err("m 1 # {bb}\n# EOF\n").contains("expected '=' after the label name, got '}'"));
    assert!(err("m 1 # {\"bb\"} 1\n# EOF\n").contains("expected '=' after the exemplar label name"));
    assert!(err("m 1 # {aa=\"bb\"} 1_2\n# EOF\n").contains("is not a number"));
    assert!(err("m 1 # {aa=\"bb\"} 1 2 3\n# EOF\n").contains("expected end of line, got space"));
    let s = samples("m 1 # {} 2\n# EOF\n");
    assert_eq!(
        s[0].exemplar,
        Some(Exemplar {
            labels: vec![],
            value: 2.0,
            timestamp_ms: None
        })
    );
    let s = samples("m 1 # {\"a.b\"=\"x\\\"y\"} 2\n# EOF\n");
    assert_eq!(
        s[0].exemplar.as_ref().map(|e| e.labels.clone()),
        Some(vec![("a.b", Cow::Owned("x\"y".to_string()))])
    );
}

#[test]
fn utf8_quoted_names() {
    let s = samples("{\"my.metric\",\"label.x\"=\"v\"} 1\n# EOF\n");
    assert_eq!((s[0].name, s[0].labels[0].0), ("my.metric", "label.x"));
    let e = all("# TYPE \"my.metric\" gauge\n# EOF\n");
    assert_eq!(
        e[0],
        Entry::Type {
            name: "my.metric",
            metric_type: MetricType::Gauge
        }
    );
    assert!(err("{b=\"c\",} 1\n# EOF\n").contains("metric name not set"));
    assert!(err("{A}0\n# EOF\n").contains("expected '=' after the label name, got '}'"));
}

#[test]
fn nul_bytes_in_label_values_are_kept() {
    let s = samples("a{b=\"x\u{0}y\"} 1\n# EOF\n");
    assert_eq!(s[0].labels[0].1, "x\u{0}y");
}

#[test]
fn next_into_reuses_the_sample() {
    let mut p = Parser::new(BODY.as_bytes(), Format::OpenMetrics);
    let mut s = SampleEntry::default();
    let mut n = 0;
    let mut with_exemplar = 0;
    while let Some(r) = p.next_into(&mut s) {
        if let Parsed::Sample = r.unwrap_or_else(|e| panic!("{e}")) {
            n += 1;
            with_exemplar += usize::from(s.exemplar.is_some());
            assert!(!p.series_bytes().is_empty());
        }
    }
    assert_eq!((n, with_exemplar), (21, 3));
}
