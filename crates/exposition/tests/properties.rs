//! Property tests: no input panics or hangs the parsers, and rendered
//! samples parse back to exactly what was rendered.

use std::borrow::Cow;

use promlite_exposition::testing::mutate;
use promlite_exposition::{openmetrics_import, Entry, Format, Parsed, Parser, SampleEntry};
use proptest::prelude::*;

const TEXT_SEED: &str = "# HELP http_requests_total The total.\n# TYPE http_requests_total counter\n\
http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
{\"my.metric\",\"a.b\"=\"x\\\"y\\\\z\\n\"} -Inf\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 3\nh_count 3\n# note\n\n";

const OM_SEED: &str = "# HELP foo Foo.\n# TYPE foo counter\n# UNIT foo_seconds seconds\n\
foo_total{a=\"b\"} 17.0 1520879607.789 # {id=\"c\"} 5 1520879607.1\nfoo_created{a=\"b\"} 1520872607.123\n\
# TYPE h histogram\nh_bucket{le=\"1\"} 2 # {t=\"x\"} 0.5\n{\"my.m\",\"q.r\"=\"v\"} NaN\n# EOF\n";

/// Drives a parser to the end; checks it makes progress and stops after an error.
fn drain(body: &[u8], format: Format) -> usize {
    let mut p = Parser::new(body, format);
    let mut s = SampleEntry::default();
    let mut n = 0;
    while let Some(r) = p.next_into(&mut s) {
        n += 1;
        assert!(n <= body.len() + 1, "parser does not make progress");
        if r.is_err() {
            assert!(
                p.next_into(&mut s).is_none(),
                "parser continued after an error"
            );
            break;
        }
    }
    n
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:e}")
    }
}

fn series() -> impl Strategy<Value = (String, Vec<(String, String)>, f64)> {
    let name = "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}";
    let labels = proptest::collection::btree_map(
        "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
        "(\\PC|\\n|\\r|\\t){0,12}",
        0..5,
    )
    .prop_map(|m| {
        m.into_iter()
            .filter(|(k, _)| k != "__name__")
            .collect::<Vec<_>>()
    });
    let value = prop_oneof![
        any::<f64>(),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        -1e6f64..1e6
    ];
    (name, labels, value)
}

fn check_roundtrip(s: &SampleEntry<'_>, name: &str, labels: &[(String, String)], value: f64) {
    assert_eq!(s.name, name);
    let got: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (*k, v.as_ref())).collect();
    let want: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(got, want);
    if value.is_nan() {
        assert!(s.value.is_nan());
    } else {
        assert_eq!(s.value, value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        drain(&body, Format::PrometheusText);
        drain(&body, Format::OpenMetrics);
        let _ = openmetrics_import(body.as_slice()).take(400).count();
    }

    #[test]
    fn random_ascii_lines_never_panic(body in "[a-z{}=\",# \\n\\\\.0-9+\\-:_\\t]{0,200}") {
        drain(body.as_bytes(), Format::PrometheusText);
        drain(body.as_bytes(), Format::OpenMetrics);
        let _ = openmetrics_import(body.as_bytes()).take(400).count();
    }

    #[test]
    fn mutated_bodies_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        let text = mutate(TEXT_SEED, &edits);
        drain(&text, Format::PrometheusText);
        drain(&text, Format::OpenMetrics);
        let om = mutate(OM_SEED, &edits);
        drain(&om, Format::OpenMetrics);
        drain(&om, Format::PrometheusText);
        let _ = openmetrics_import(om.as_slice()).take(400).count();
    }

    #[test]
    fn text_roundtrip(rows in proptest::collection::vec((series(), proptest::option::of(0i64..=i64::MAX)), 1..8)) {
        let mut body = String::from("# HELP x Some \\\\ help \\n text.\n");
        for ((name, labels, value), ts) in &rows {
            let ls: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            body.push_str(&format!("{name}{{{}}} {}", ls.join(","), render_value(*value)));
            if let Some(t) = ts {
                body.push_str(&format!(" {t}"));
            }
            body.push('\n');
        }
        let mut p = Parser::new(body.as_bytes(), Format::PrometheusText);
        let mut s = SampleEntry::default();
        let first = p.next_entry();
        let help_ok = matches!(&first, Some(Ok(Entry::Help { name: "x", help })) if help == &Cow::<str>::Borrowed("Some \\ help \n text."));
        prop_assert!(help_ok, "{first:?}");
        for ((name, labels, value), ts) in &rows {
            let r = p.next_into(&mut s);
            prop_assert!(matches!(r, Some(Ok(Parsed::Sample))), "{r:?} in {body:?}");
            check_roundtrip(&s, name, labels, *value);
            prop_assert_eq!(s.timestamp_ms, *ts);
        }
        prop_assert!(p.next_into(&mut s).is_none());
    }

    #[test]
    fn openmetrics_roundtrip(rows in proptest::collection::vec((series(), proptest::option::of(-10_000_000_000i64..10_000_000_000)), 1..8)) {
        let mut body = String::new();
        for ((name, labels, value), ts) in &rows {
            let ls: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            body.push_str(&format!("{name}{{{}}} {}", ls.join(","), render_value(*value)));
            if let Some(t) = ts {
                body.push_str(&format!(" {t}"));
            }
            body.push_str(" # {trace_id=\"t\"} 1\n");
        }
        body.push_str("# EOF\n");
        let mut p = Parser::new(body.as_bytes(), Format::OpenMetrics);
        let mut s = SampleEntry::default();
        for ((name, labels, value), ts) in &rows {
            let r = p.next_into(&mut s);
            prop_assert!(matches!(r, Some(Ok(Parsed::Sample))), "{r:?} in {body:?}");
            check_roundtrip(&s, name, labels, *value);
            prop_assert_eq!(s.timestamp_ms, ts.map(|t| t * 1000));
            prop_assert_eq!(s.exemplar.as_ref().map(|e| e.value), Some(1.0));
        }
        prop_assert!(p.next_into(&mut s).is_none());
    }
}
