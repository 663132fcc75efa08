//! The deepest queries the parser accepts are printed, prettified and
//! evaluated on a thread with a small (256 KiB) stack: the printer and the
//! evaluator recurse once per tree level, and the parser's depth limit is
//! what bounds that recursion for any query a user can submit.

use promlite_model::{labels, MemStorage};
use promlite_promql::parser::parse;
use promlite_promql::printer::prettify;
use promlite_promql::{Engine, QueryOptions};

/// Nesting shapes: each wraps `inner` one level deeper.
const SHAPES: [(&str, &str, &str); 5] = [
    ("parens", "(", ")"),
    ("unary minus", "-(", ")"),
    ("abs calls", "abs(", ")"),
    ("sums", "sum(", ")"),
    ("binary", "1 + (", ")"),
];

fn nest(open: &str, close: &str, n: usize) -> String {
    format!("{}x{}", open.repeat(n), close.repeat(n))
}

/// The largest `n` (up to 1000) for which the nested query parses.
fn deepest_accepted(open: &str, close: &str) -> usize {
    let (mut lo, mut hi) = (1usize, 1000usize);
    assert!(parse(&nest(open, close, lo)).is_ok(), "{open}x{close}");
    assert!(
        parse(&nest(open, close, hi)).is_err(),
        "1000 levels of {open} must be refused"
    );
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if parse(&nest(open, close, mid)).is_ok() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

#[test]
fn deepest_parseable_queries_print_and_evaluate_on_a_small_stack() {
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let storage = MemStorage::new();
            let samples: Vec<(i64, f64)> = (0..10).map(|i| (i * 15_000, i as f64)).collect();
            storage.insert(labels!("__name__" => "x", "job" => "a"), &samples);
            let engine = Engine::default();
            let mut report = Vec::new();
            for (name, open, close) in SHAPES {
                let n = deepest_accepted(open, close);
                let q = nest(open, close, n);
                let e = parse(&q).expect("deepest accepted query parses");
                let printed = e.to_string();
                assert_eq!(parse(&printed).expect("printed form parses"), e, "{name}");
                assert!(!prettify(&e).is_empty(), "{name}");
                let res = engine.instant_query(&storage, &q, 135_000, &QueryOptions::default());
                let range =
                    engine.range_query(&storage, &q, 0, 135_000, 15_000, &QueryOptions::default());
                // Either an answer or a clear error; what matters is no
                // stack overflow.
                report.push(format!(
                    "{name}: depth {n}, instant ok={} range ok={}",
                    res.is_ok(),
                    range.is_ok()
                ));
            }
            report
        })
        .expect("spawn");
    let report = h.join().expect("no overflow on a 256 KiB stack");
    assert_eq!(report.len(), SHAPES.len());
    eprintln!("{}", report.join("\n"));
}
