//! Hostile input: deep nesting must fail cleanly instead of overflowing
//! the stack, and no input may panic.

use promlite_promql::parser::{parse, parse_with, ParserOptions};
use proptest::prelude::*;

const TOO_DEEP: &str = "expression nesting too deep";

/// Runs `f` on a thread with a deliberately small stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("parser thread must not crash")
}

fn deep_inputs(n: usize) -> Vec<(&'static str, String)> {
    vec![
        ("parens", format!("{}1{}", "(".repeat(n), ")".repeat(n))),
        ("unclosed parens", "(".repeat(n)),
        ("unary", format!("{}1", "-".repeat(n))),
        ("unary vector", format!("{}foo", "-".repeat(n))),
        ("left-assoc chain", format!("{}1", "foo + ".repeat(n))),
        ("right-assoc chain", format!("{}2", "2 ^ ".repeat(n))),
        ("calls", format!("{}foo{}", "abs(".repeat(n), ")".repeat(n))),
        (
            "aggregations",
            format!("{}foo{}", "sum(".repeat(n), ")".repeat(n)),
        ),
        ("subqueries", format!("foo{}", "[1m:]".repeat(n))),
        (
            "subquery calls",
            format!("{}foo{}", "rate(".repeat(n), "[1m:])".repeat(n)),
        ),
        (
            "mixed",
            format!("{}foo{}", "(-abs(".repeat(n), "))".repeat(n)),
        ),
    ]
}

#[test]
fn very_deep_input_is_rejected_without_overflow() {
    on_small_stack(|| {
        for (what, q) in deep_inputs(90_000) {
            let err = parse(&q).expect_err(what);
            assert_eq!(err.message, TOO_DEEP, "{what}");
        }
    });
}

#[test]
fn nesting_just_below_the_limit_parses() {
    on_small_stack(|| {
        let opts = ParserOptions::default();
        for (what, q) in deep_inputs(opts.max_depth / 3) {
            if what == "unclosed parens" || what == "subqueries" {
                continue; // invalid (unclosed) or a type error (range of a range)
            }
            let e = parse_with(&q, &opts).unwrap_or_else(|err| panic!("{what}: {err}"));
            // Dropping and printing the tree must be safe as well.
            assert!(!e.to_string().is_empty());
        }
    });
}

#[test]
fn max_depth_is_configurable() {
    let q = format!("{}1{}", "(".repeat(20), ")".repeat(20));
    let shallow = ParserOptions {
        max_depth: 10,
        ..ParserOptions::default()
    };
    assert_eq!(
        parse_with(&q, &shallow).map_err(|e| e.message),
        Err(TOO_DEEP.to_string())
    );
    assert!(parse(&q).is_ok());
}

const TOKENS: &[&str] = &[
    "sum",
    "rate",
    "abs",
    "foo",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "@",
    "start()",
    "end",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "[5m]",
    "[5m:1m]",
    ":",
    ",",
    "=",
    "!=",
    "=~",
    "!~",
    "==",
    "+",
    "-",
    "*",
    "/",
    "^",
    "%",
    "and",
    "or",
    "unless",
    "atan2",
    "1",
    "0x1f",
    "1e3",
    ".5",
    "5m",
    "Inf",
    "NaN",
    "\"a\"",
    "'b'",
    "`c`",
    "\"\\x",
    "#",
    "\n",
    " ",
    "topk",
    "count_values",
    "label_replace",
    "a:b",
    "\"é\"",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse(&s);
    }

    #[test]
    fn token_soup_never_panics_and_output_reparses(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..24)) {
        let s = tokens.concat();
        if let Ok(e) = parse(&s) {
            let printed = e.to_string();
            let again = parse(&printed);
            prop_assert!(again.as_ref().is_ok_and(|a| format!("{a:?}") == format!("{e:?}")), "{:?} -> {:?} -> {:?}", s, printed, again);
        }
        let spaced = tokens.join(" ");
        if let Ok(e) = parse(&spaced) {
            let printed = e.to_string();
            let again = parse(&printed);
            prop_assert!(again.as_ref().is_ok_and(|a| format!("{a:?}") == format!("{e:?}")), "{:?} -> {:?} -> {:?}", spaced, printed, again);
        }
    }
}

#[test]
fn many_errors_in_a_long_query_stay_cheap() {
    // 40k type errors over 370 kB: reporting must not be quadratic.
    let q = format!(
        "label_join(x, \"a\", \"b\", \"c\"{})",
        ", abs(y)".repeat(40_000)
    );
    assert!(q.len() < 1 << 20);
    let started = std::time::Instant::now();
    let err = parse(&q).expect_err("string arguments expected");
    assert_eq!(
        err.message,
        "expected type string in call to function \"label_join\", got instant vector"
    );
    assert_eq!(err.start, 29);
    // Generous bound; the quadratic version took minutes.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// Valid input just under the depth limit parses even on a small thread
/// stack in an unoptimized build: the parser grows its stack on demand.
#[test]
fn deep_but_allowed_input_parses_on_a_small_stack() {
    let q = format!("{}1{}", "(".repeat(250), ")".repeat(250));
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || promlite_promql::parser::parse(&q).map(|e| format!("{e}")))
        .unwrap();
    let printed = h
        .join()
        .expect("parser thread must not overflow")
        .expect("parses");
    assert!(printed.ends_with(")))"));
}
