//! The fast path against the general parser: same entries, samples, series
//! bytes, lazy label sets and errors (with line and column), eager and
//! lazy, on valid, mutated and random bodies in both formats. Bodies are also
//! tried with a long comment line appended, so that every line has whole
//! 16- and 32-byte blocks after it and the block scans run, not only their
//! byte-by-byte tails.

use proptest::prelude::*;

use crate::testing::mutate;
use crate::{Format, Parsed, Parser, SampleEntry};

const SEED: &str = "# HELP go_gc_heap_allocs_by_size_bytes Distribution of heap allocations.\n\
# TYPE go_gc_heap_allocs_by_size_bytes histogram\n\
go_gc_heap_allocs_by_size_bytes_bucket{le=\"8.999999999999998\"} 2.279966416e+09\n\
go_gc_heap_allocs_by_size_bytes_bucket{le=\"+Inf\"} 4.4046288803e+10\n\
go_gc_heap_allocs_by_size_bytes_sum 5.937322571024e+12\n\
go_gc_heap_allocs_by_size_bytes_count 4.4046288803e+10\n\
# TYPE go_gc_duration_seconds summary\n\
go_gc_duration_seconds{quantile=\"0.25\"} 0.00010188\n\
go_gc_duration_seconds{quantile=\"1\"} 0.002389378 1395066363000\n\
prometheus_http_request_duration_seconds_bucket{handler=\"/api/v1/query_range\",le=\"0.4\"} 117924\n\
http_requests_total{method=\"post\",code=\"200\",path=\"/a/very/long/path/that/spans/blocks\"} 1027 1395066363000\n\
escaped{a=\"x\\\"y}\\\\z\\n\",b=\"}\"} -Inf\n\
multi{a=\"line one\nline two\"} 1\n\
nan_value NaN\n\
utf8{a=\"\u{e9}t\u{e9}\"} +Inf\n\
{\"my.metric\",\"a.b\"=\"v\"} 7\n\
spaced {a=\"b\"}  3   17\n\
tabbed\t4\n\
glued{a=\"b\"}5\n\
dup{a=\"1\",a=\"2\"} 1\n";

const OM_SEED: &str = "# HELP foo Foo.\n# TYPE foo counter\n\
foo_total{a=\"b\"} 17.0 1520879607.789 # {id=\"c\"} 5 1520879607.1\n\
foo_total{a=\"c\"} 17 1520879607.789\n\
foo_created{a=\"b\"} 1520872607.123\n\
# TYPE h histogram\nh_bucket{le=\"1\"} 2 # {t=\"x\"} 0.5\n\
h_bucket{le=\"1e+06\",path=\"/a/very/long/path/that/spans/blocks\"} 3\n\
h_bucket{le=\"+Inf\",} 4 -1.5e3\n\
{\"my.m\",\"q.r\"=\"v}\"} NaN\nnum 1\t2\nbrace 1{2\nts 1 Inf\nts 1 NaN\nts 1 1e30\n\
esc{a=\"x\\\"y\"} 1\ndup{a=\"1\",a=\"2\"} 1\n# EOF\n";

/// Everything a parse yields, rendered, in two forms: with what lazy
/// skimming leaves before `labels_into` (`pending`, empty labels), and
/// without it (comparable between lazy and eager parses). `general_only`
/// skips the fast path.
fn outcomes(
    body: &[u8],
    format: Format,
    lazy: bool,
    general_only: bool,
) -> (Vec<String>, Vec<String>) {
    let mut p = Parser::new(body, format);
    p.set_lazy_labels(lazy);
    p.general_only = general_only;
    let mut s = SampleEntry::default();
    let (mut full, mut common) = (Vec::new(), Vec::new());
    while let Some(r) = p.next_into(&mut s) {
        let line = match r {
            Ok(Parsed::Sample) => {
                full.push(format!(
                    "skimmed {:?} {:?} {:?}",
                    s.name, s.labels, p.pending
                ));
                if let Err(e) = p.labels_into(&mut s) {
                    full.push(format!("error: {e}"));
                    common.push(format!("error: {e}"));
                    break;
                }
                format!(
                    "sample {:?} {:?} {:?} {:?} {:?} {:?} next at {}",
                    String::from_utf8_lossy(p.series_bytes()),
                    s.name,
                    s.labels,
                    s.value.to_bits(),
                    s.timestamp_ms,
                    s.exemplar,
                    p.i
                )
            }
            Ok(Parsed::Other(e)) => format!("{e:?}"),
            Err(e) => format!("error: {e}"),
        };
        full.push(line.clone());
        common.push(line);
    }
    (full, common)
}

/// The fast path against the general parser, eager and lazy; and lazy
/// against eager (the skim's series end against the parse's); in both
/// formats.
fn same_with_and_without_fast_path(body: &[u8]) {
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let mut padded = body.to_vec();
        padded.extend_from_slice(match format {
            Format::PrometheusText => b"\n# ",
            Format::OpenMetrics => b"\npadding_series_name{label=\"",
        });
        padded.extend(std::iter::repeat_n(b'x', 70));
        if format == Format::OpenMetrics {
            padded.extend_from_slice(b"\"} 1\n# EOF\n");
        }
        for b in [body, &padded[..]] {
            let shown = String::from_utf8_lossy(b);
            let eager_general = outcomes(b, format, false, true);
            let eager_fast = outcomes(b, format, false, false);
            let lazy_general = outcomes(b, format, true, true);
            let lazy_fast = outcomes(b, format, true, false);
            assert_eq!(
                eager_fast, eager_general,
                "{format:?} eager, body {shown:?}"
            );
            assert_eq!(lazy_fast, lazy_general, "{format:?} lazy, body {shown:?}");
            assert_eq!(
                lazy_fast.1, eager_general.1,
                "{format:?} lazy against eager, body {shown:?}"
            );
        }
    }
}

#[test]
fn seed_lines_match_one_by_one_and_together() {
    same_with_and_without_fast_path(SEED.as_bytes());
    same_with_and_without_fast_path(OM_SEED.as_bytes());
    for line in SEED
        .split_inclusive('\n')
        .chain(OM_SEED.split_inclusive('\n'))
    {
        same_with_and_without_fast_path(line.as_bytes());
        same_with_and_without_fast_path(line.trim_end_matches('\n').as_bytes());
    }
}

#[test]
fn the_fast_path_takes_the_common_lines() {
    // Not a correctness check: guards against the fast path silently never
    // running (then the comparisons above would compare the general parser
    // with itself).
    let body = b"a_metric_name_of_some_length{label=\"value\",le=\"0.5\"} 1.5e+06 123\nb 2\n";
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        for lazy in [false, true] {
            let mut p = Parser::new(body, format);
            p.set_lazy_labels(lazy);
            let mut s = SampleEntry::default();
            for _ in 0..2 {
                assert!(p.next_sample_fast(&mut s), "{format:?} lazy {lazy}");
            }
            assert_eq!((s.name, s.value, s.timestamp_ms), ("b", 2.0, None));
        }
    }
}

#[test]
fn edge_values_and_timestamps_match() {
    let values = [
        "1",
        "-1",
        "+1",
        "0",
        "-0",
        "1.",
        ".5",
        "1e5",
        "1E+05",
        "1e-400",
        "1e400",
        "NaN",
        "nan",
        "+Inf",
        "-Inf",
        "Inf",
        "inf",
        "+NaN",
        "1_0",
        "0x10",
        "9007199254740993",
        "1.5e",
        "",
        "12a",
        "1\r",
    ];
    let stamps = [
        "",
        " 0",
        " 17",
        " 123456789012345678",
        " 1234567890123456789",
        " 9223372036854775807",
        " 9223372036854775808",
        " -1",
        " 1.5",
        " 12 ",
        "  12",
        " 12\t",
        " x",
    ];
    for v in values {
        for t in stamps {
            for tail in ["\n", "", "\nnext 1\n"] {
                let body = format!("m{{a=\"b\"}} {v}{t}{tail}m2 {v}{t}{tail}");
                same_with_and_without_fast_path(body.as_bytes());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_bodies_match(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        same_with_and_without_fast_path(&mutate(SEED, &edits));
        same_with_and_without_fast_path(&mutate(OM_SEED, &edits));
    }

    #[test]
    fn random_lines_match(body in "[a-z{}=\",# \\n\\\\.0-9+\\-:_\\teE]{0,200}") {
        same_with_and_without_fast_path(body.as_bytes());
    }

    #[test]
    fn random_bytes_match(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        same_with_and_without_fast_path(&body);
    }
}
