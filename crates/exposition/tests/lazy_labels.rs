//! `Parser::set_lazy_labels`: skimming label sets and parsing them later
//! with `labels_into` gives exactly the entries, series bytes and errors of
//! the eager parse, on valid, mutated and random bodies in both formats.

use promlite_exposition::testing::mutate;
use promlite_exposition::{Format, Parsed, Parser, SampleEntry};
use proptest::prelude::*;

const TEXT_SEED: &str = "# HELP http_requests_total The total.\n# TYPE http_requests_total counter\n\
http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
{\"my.metric\",\"a.b\"=\"x\\\"y}\\\\z\\n\"} -Inf\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 3\nh_bucket { le = \"1\" , } 4\nh_count 3\n# note\n\n";

const OM_SEED: &str = "# HELP foo Foo.\n# TYPE foo counter\n\
foo_total{a=\"b\"} 17.0 1520879607.789 # {id=\"c\"} 5 1520879607.1\nfoo_created{a=\"b\"} 1520872607.123\n\
# TYPE h histogram\nh_bucket{le=\"1\"} 2 # {t=\"x\"} 0.5\n{\"my.m\",\"q.r\"=\"v}\"} NaN\n# EOF\n";

/// Every outcome of a parse, rendered for comparison.
fn outcomes(body: &[u8], format: Format, lazy: bool) -> Vec<String> {
    let mut p = Parser::new(body, format);
    p.set_lazy_labels(lazy);
    let mut s = SampleEntry::default();
    let mut out = Vec::new();
    while let Some(r) = p.next_into(&mut s) {
        match r {
            Ok(Parsed::Sample) => {
                if let Err(e) = p.labels_into(&mut s) {
                    out.push(format!("error: {e}"));
                    break;
                }
                out.push(format!(
                    "sample {:?} {:?} {:?} {:?} {:?} {:?}",
                    String::from_utf8_lossy(p.series_bytes()),
                    s.name,
                    s.labels,
                    s.value.to_bits(),
                    s.timestamp_ms,
                    s.exemplar
                ));
            }
            Ok(Parsed::Other(e)) => out.push(format!("{e:?}")),
            Err(e) => {
                out.push(format!("error: {e}"));
                break;
            }
        }
    }
    out
}

fn same_both_ways(body: &[u8]) {
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let eager = outcomes(body, format, false);
        let lazy = outcomes(body, format, true);
        assert_eq!(
            eager,
            lazy,
            "{format:?} body {:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn seeds_and_known_errors_match() {
    same_both_ways(TEXT_SEED.as_bytes());
    same_both_ways(OM_SEED.as_bytes());
    let bodies: [&[u8]; 12] = [
        b"m{a=\"1\",a=\"2\"} 1\n",
        b"m{__name__=\"x\"} 1\n",
        b"{a=\"1\"} 1\n",
        b"m{a=\"1\"} x\n",
        b"m{a=1} x\n",
        b"m{a=\"\\q\"} 1 2 3\n",
        b"m{\"x\",\"y\"} 1\n",
        b"m{a=\"\xff\"} 1\n",
        b"m{a=\"1\"\n} 1\n",
        b"m{a=\"1\nb\"} 1\n# EOF\n",
        b"m{a=\"1\"}1\n",
        b"m{a=\"1\"} 1 # {t=\"x\"} 2\n# EOF\n",
    ];
    for body in bodies {
        same_both_ways(body);
    }
}

#[test]
fn lazy_samples_leave_labels_empty_until_asked() {
    let body = b"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nplain 3\n";
    let mut p = Parser::new(body, Format::PrometheusText);
    p.set_lazy_labels(true);
    let mut s = SampleEntry::default();
    assert!(matches!(p.next_into(&mut s), Some(Ok(Parsed::Other(_)))));
    assert!(matches!(p.next_into(&mut s), Some(Ok(Parsed::Sample))));
    assert_eq!((s.name, s.labels.len(), s.value), ("h_bucket", 0, 2.0));
    assert_eq!(p.series_bytes(), b"h_bucket{le=\"1\"}");
    p.labels_into(&mut s).unwrap();
    assert_eq!(
        s.labels,
        vec![("le", "1.0".into())],
        "normalised as eagerly"
    );
    assert!(matches!(p.next_into(&mut s), Some(Ok(Parsed::Sample))));
    p.labels_into(&mut s).unwrap();
    assert_eq!((s.name, s.labels.len(), s.value), ("plain", 0, 3.0));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn mutated_bodies_match(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        same_both_ways(&mutate(TEXT_SEED, &edits));
        same_both_ways(&mutate(OM_SEED, &edits));
    }

    #[test]
    fn random_lines_match(body in "[a-z{}=\",# \\n\\\\.0-9+\\-:_\\t]{0,200}") {
        same_both_ways(body.as_bytes());
    }
}
