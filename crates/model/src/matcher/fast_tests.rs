//! The fast paths against the regex engine: for random patterns built from
//! the pieces dashboards use (literals, `.*`, `.+`, classes, groups,
//! alternations, anchors inside, non-UTF-8-free Unicode) and random
//! strings, a matcher answers exactly as the compiled `^(?s:pattern)$`.

use proptest::prelude::*;
use regex::Regex;

use super::{compile, Compiled, MatchOp, Matcher};

/// Pieces patterns are made of; some shapes are fast, some are not.
const PIECES: &[&str] = &[
    "a", "b", "ab", ":", "-", "1", "é", "\\.", "\\n", ".", ".*", ".+", ".?", "a*", "b+", "[ab]",
    "[^:]+", "[^:]*", "[a-c]", "\\d+", "\\w*", "(?:a|b)", "(a|bc)", "(.*)", "(.+)", "|", "|",
    "x{2}", "^", "$", "(?i)a", "\\s", "[é日]", "日",
];

fn pattern() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|v| v.concat())
}

fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(
            &[
                "a", "b", ":", "-", "1", "é", ".", "\n", "A", " ", "日", "ab",
            ][..],
        ),
        0..8,
    )
    .prop_map(|v| v.concat())
}

fn check(p: &str, values: &[String]) -> Result<(), TestCaseError> {
    let Ok(re) = Regex::new(&format!("^(?s:{p})$")) else {
        // Invalid for the regex crate: invalid for the matcher too.
        prop_assert!(Matcher::new(MatchOp::Regex, "x", p).is_err(), "{p:?}");
        return Ok(());
    };
    let m = Matcher::new(MatchOp::Regex, "x", p).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let n =
        Matcher::new(MatchOp::NotRegex, "x", p).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for v in values
        .iter()
        .map(String::as_str)
        .chain(["", "a", "ab", "a:b", "\n"])
    {
        let want = re.is_match(v);
        prop_assert_eq!(m.matches(v), want, "{:?} =~ {:?}", v, p);
        prop_assert_eq!(n.matches(v), !want, "{:?} !~ {:?}", v, p);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_patterns_agree_with_the_regex(p in pattern(), values in prop::collection::vec(value(), 12)) {
        check(&p, &values)?;
    }

    /// Alternations of prefix / suffix / contains shapes, the dashboard
    /// staples, with values made to hit their edges.
    #[test]
    fn affix_alternations_agree_with_the_regex(
        parts in prop::collection::vec(
            (prop::sample::select(&["", ".*", ".+", "[^:]*"][..]), "[ab:]{0,3}", prop::sample::select(&["", ".*", ".+", "[^:]+"][..])),
            1..4),
        values in prop::collection::vec("[ab:]{0,6}", 16),
    ) {
        let p: Vec<String> = parts.iter().map(|(a, l, b)| format!("{a}{l}{b}")).collect();
        check(&p.join("|"), &values)?;
    }
}

/// The common shapes take the fast path (no regex compiled).
#[test]
fn common_shapes_are_fast() {
    for p in [
        "node-1.*",
        "node-1.*|node-2.*",
        ".*:9100",
        ".*err.*",
        ".*",
        ".+",
        "node_load.*",
        "[^:]+:.*",
        "foo.+bar",
        "(?:a|b)c",
        "x|y.*|.*z",
        "a[0-9]b",
        "(.*):.*",
        ".+-[0-9]+",
        "[^:]*:[^:]*",
    ] {
        let c = compile(p).unwrap();
        assert!(
            matches!(*c, Compiled::Fast(_) | Compiled::Set(_)),
            "{p:?}: {c:?}"
        );
    }
    for p in [
        "(a|b)-.*",
        "[^:]+:.*:.*",
        "a{2}",
        "(?i)abc",
        "^a|b$",
        "a)|(b",
        ".*a.*b.*",
    ] {
        let c = compile(p).unwrap();
        assert!(matches!(*c, Compiled::Regex(_)), "{p:?} is fast: {c:?}");
    }
}

/// Hand-picked edges: prefix and suffix overlapping, multi-byte
/// characters at the boundaries, newlines under `(?s)`.
#[test]
fn edges() {
    let cases: &[(&str, &[(&str, bool)])] = &[
        (
            "ab.*ba",
            &[("aba", false), ("abba", true), ("ab\nba", true)],
        ),
        ("é.+", &[("é", false), ("éé", true), ("e", false)]),
        (".*日", &[("日", true), ("a日", true), ("日a", false)]),
        (
            ".",
            &[("日", true), ("\n", true), ("", false), ("ab", false)],
        ),
        ("a[^:]*", &[("a", true), ("ab", true), ("a:", false)]),
        (".*:.*", &[(":", true), ("a", false), ("\n:\n", true)]),
        ("", &[("", true), ("a", false)]),
        ("()", &[("", true), ("a", false)]),
        ("a|", &[("", true), ("a", true), ("b", false)]),
    ];
    for (p, vs) in cases {
        let m = Matcher::new(MatchOp::Regex, "x", *p).unwrap();
        for (v, want) in *vs {
            assert_eq!(m.matches(v), *want, "{v:?} =~ {p:?}");
        }
    }
}

/// The cache hands out the same compiled pattern to every matcher.
#[test]
fn patterns_are_compiled_once() {
    let a = compile("cached-.*-once").unwrap();
    let b = compile("cached-.*-once").unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let r1 = super::anchored_regex("(.*):cached").unwrap();
    let r2 = super::anchored_regex("(.*):cached").unwrap();
    assert!(std::sync::Arc::ptr_eq(&r1, &r2));
    assert!(super::anchored_regex("(").is_err());
}

/// Pieces of `label_replace` patterns: class repeats, some as groups,
/// around literals.
const REPLACE_PIECES: &[&str] = &[
    "(.*)",
    "(.+)",
    ".*",
    ".+",
    "(.*?)",
    "(.+?)",
    "([^:]+)",
    "([^:]*)",
    "[^:]*",
    "(\\d+)",
    ":",
    "-",
    "a",
    "ab",
    "é",
    ":a",
    "(a)",
    "(?P<n>.*)",
    "(.*)(.*)",
    "(?:.*)",
];

const REPLACEMENTS: &[&str] = &[
    "$1", "$2", "${1}x", "$0", "$$", "$1-$2", "$n", "${n}", "$3", "a${2}b", "$1x", "$", "${1",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The shapes' captures and expansions are the regex's.
    #[test]
    fn replace_captures_agree_with_the_regex(
        parts in prop::collection::vec(prop::sample::select(REPLACE_PIECES), 1..5),
        values in prop::collection::vec(
            prop::collection::vec(prop::sample::select(&["a", "b", ":", "-", "é", "1", "\n", "ab"][..]), 0..8)
                .prop_map(|v| v.concat()),
            10),
    ) {
        let p = parts.concat();
        let Ok(re) = Regex::new(&format!("^(?s:{p})$")) else {
            prop_assert!(super::anchored_regex(&p).is_err());
            return Ok(());
        };
        let fast = super::ReplaceRegex::new(&p).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for v in values.iter().map(String::as_str).chain(["", ":", "a:b:c", "ab-ab"]) {
            for repl in REPLACEMENTS {
                let want = re.captures(v).map(|c| {
                    let mut s = String::new();
                    c.expand(repl, &mut s);
                    s
                });
                let mut got = String::new();
                let matched = fast.expand_into(v, repl, &mut got);
                prop_assert_eq!(matched.then_some(got), want, "{:?} on {:?} with {:?}", p, v, repl);
            }
        }
    }
}

/// The usual `label_replace` patterns take the fast capture path.
#[test]
fn replace_shapes_are_fast() {
    for p in [
        "(.*):.*",
        "(.*):(.*)",
        "([^:]+):.*",
        "node-(.+)",
        "(.*)",
        "prefix-(.*)-suffix",
        ".*-(.*)",
    ] {
        let r = super::ReplaceRegex::new(p).unwrap();
        assert!(r.is_fast(), "{p:?}");
    }
    for p in [
        "(a)(.*)",
        "(?P<x>.*)",
        "(.*)(.*)",
        "(a|b):(.*)",
        "((.*)):.*",
    ] {
        let r = super::ReplaceRegex::new(p).unwrap();
        assert!(!r.is_fast(), "{p:?}");
    }
}
