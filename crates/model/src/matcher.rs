//! Label matchers: `=`, `!=`, `=~`, `!~`.

use std::fmt;
use std::sync::Arc;

use std::sync::LazyLock;

use regex::Regex;

mod cache;
mod captures;
mod fast;

pub use captures::ReplaceRegex;

/// A compiled `=~`/`!~` pattern.
#[derive(Debug)]
enum Compiled {
    /// An alternation of literals (`a|b|c`, also a single literal):
    /// storage looks the values up instead of scanning, and no regex is
    /// compiled at all (Grafana's multi-value variables send such
    /// patterns with every panel query).
    Set(LiteralSet),
    /// A shape decided without a regex engine ([`fast`]).
    Fast(fast::Node),
    /// Everything else.
    Regex(Regex),
}

/// Compiled matcher patterns by pattern text.
static PATTERNS: LazyLock<cache::Cache<Compiled>> = LazyLock::new(|| cache::Cache::new(1024));
/// Compiled anchored regexes (with capture groups) by pattern text.
static ANCHORED: LazyLock<cache::Cache<ReplaceRegex>> = LazyLock::new(|| cache::Cache::new(256));

/// Whether a compiled regex of `pattern` is kept in a cache: only short
/// patterns without counted repetition, whose automata stay small (a
/// pattern like `(a{100}){100}` of a few bytes may compile to megabytes).
/// Literal sets and fast shapes are proportional to their text and always
/// kept.
fn keep_regex(pattern: &str) -> bool {
    pattern.len() <= 256 && !pattern.contains('{')
}

/// The regex `^(?s:pattern)$` (fully anchored, `.` matching newlines, as
/// Prometheus 3.x compiles `label_replace`'s and the matchers' patterns),
/// compiled once per process: later calls with the same pattern share it.
/// Its captures are found without the regex engine for common shapes
/// ([`ReplaceRegex::expand_into`]).
pub fn anchored_regex(pattern: &str) -> Result<Arc<ReplaceRegex>, regex::Error> {
    ANCHORED.get_or_compile(
        pattern,
        || ReplaceRegex::new(pattern),
        |_| keep_regex(pattern),
    )
}

fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?s:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// The compiled form of matcher pattern `value`.
fn compile(value: &str) -> Result<Arc<Compiled>, MatcherError> {
    let compiled = || {
        // Without metacharacters the pattern is always valid and matches
        // exactly its literals.
        if let Some(lits) = literal_alternatives(value) {
            return Ok(Compiled::Set(LiteralSet::new(lits)));
        }
        // The syntax tree the regex crate would compile (same defaults).
        let full = format!("^(?s:{value})$");
        if let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(&full) {
            if let Some(node) = fast::Node::from_anchored(&hir) {
                return Ok(match node.literals() {
                    Some(lits) => Compiled::Set(LiteralSet::new(lits)),
                    None => Compiled::Fast(node),
                });
            }
        }
        build_regex(value)
            .map(Compiled::Regex)
            .map_err(|e| MatcherError {
                pattern: value.to_string(),
                message: regex_error_message(&e),
            })
    };
    PATTERNS.get_or_compile(value, compiled, |c| {
        !matches!(c, Compiled::Regex(_)) || keep_regex(value)
    })
}

/// How a [`Matcher`] compares a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A regex in a matcher did not compile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid regular expression {pattern:?}: {message}")]
pub struct MatcherError {
    /// The pattern as written.
    pub pattern: String,
    /// Why it was rejected.
    pub message: String,
}

/// The maximum compiled size of a matcher regex; larger patterns are rejected
/// rather than allowed to eat memory.
const REGEX_SIZE_LIMIT: usize = 4 << 20;

/// One label matcher with Prometheus semantics: regexes are fully anchored
/// and `.` matches newlines (Prometheus 3.x); a missing label has the value
/// `""`, so `{x=""}` and `{x=~""}` match series without `x`.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The comparison.
    pub op: MatchOp,
    /// The label name.
    pub name: String,
    /// The value or pattern as written (unanchored).
    pub value: String,
    /// The compiled pattern of `=~`/`!~` matchers, shared through a
    /// process-wide cache ([`cache`]).
    pat: Option<Arc<Compiled>>,
}

/// The literals of a pattern like `a|b|c`, in the order written, plus a
/// sorted copy when there are enough of them for a binary search to beat a
/// scan.
#[derive(Debug)]
struct LiteralSet {
    in_order: Vec<String>,
    sorted: Vec<String>,
}

/// Sets up to this size are scanned; larger ones are binary-searched.
const SCAN_MAX: usize = 16;

impl LiteralSet {
    fn new(in_order: Vec<String>) -> LiteralSet {
        let mut sorted = Vec::new();
        if in_order.len() > SCAN_MAX {
            sorted = in_order.clone();
            sorted.sort_unstable();
            sorted.dedup();
        }
        LiteralSet { in_order, sorted }
    }

    fn contains(&self, v: &str) -> bool {
        if self.sorted.is_empty() {
            self.in_order.iter().any(|s| s == v)
        } else {
            self.sorted.binary_search_by(|s| s.as_str().cmp(v)).is_ok()
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Self) -> bool {
        self.op == o.op && self.name == o.name && self.value == o.value
    }
}
impl Eq for Matcher {}

impl std::hash::Hash for Matcher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.op.hash(state);
        self.name.hash(state);
        self.value.hash(state);
    }
}

impl Matcher {
    /// A matcher; fails only for an invalid regex.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Matcher, MatcherError> {
        let name = name.into();
        let value = value.into();
        let pat = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(compile(&value)?),
            _ => None,
        };
        Ok(Matcher {
            op,
            name,
            value,
            pat,
        })
    }

    /// Shorthand for an `=` matcher (cannot fail).
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        Matcher {
            op: MatchOp::Equal,
            name: name.into(),
            value: value.into(),
            pat: None,
        }
    }

    /// True if the label value `v` (`""` when absent) satisfies the matcher.
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.regex_matches(v),
            MatchOp::NotRegex => !self.regex_matches(v),
        }
    }

    fn regex_matches(&self, v: &str) -> bool {
        match self.pat.as_deref() {
            Some(Compiled::Set(set)) => set.contains(v),
            Some(Compiled::Fast(node)) => node.matches(v),
            Some(Compiled::Regex(re)) => re.is_match(v),
            None => false,
        }
    }

    /// True if the matcher accepts the empty string, i.e. it also selects
    /// series that lack the label. Storage must then not restrict the search
    /// to series that have it.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=` the value, for a regex that is an alternation of literals the
    /// literals: the exact values this matcher can accept. `None` when the
    /// set is open (`!=`, `!~`, real regexes).
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match self.op {
            MatchOp::Equal => Some(vec![self.value.as_str()]),
            MatchOp::Regex => match self.pat.as_deref() {
                Some(Compiled::Set(s)) => Some(s.in_order.iter().map(String::as_str).collect()),
                _ => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op, self.value)
    }
}

fn regex_error_message(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(n) => {
            format!("regex too large (compiled size limit {n} bytes)")
        }
        other => other
            .to_string()
            .lines()
            .last()
            .unwrap_or("invalid regex")
            .trim()
            .to_string(),
    }
}

/// `a|b|c` with no regex metacharacters → `["a","b","c"]`.
fn literal_alternatives(p: &str) -> Option<Vec<String>> {
    const META: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$',
    ];
    if p.contains(META) {
        return None;
    }
    Some(p.split('|').map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(op: MatchOp, v: &str) -> Matcher {
        Matcher::new(op, "x", v).unwrap()
    }

    #[test]
    fn regexes_are_anchored() {
        assert!(m(MatchOp::Regex, "fo+").matches("foo"));
        assert!(!m(MatchOp::Regex, "fo+").matches("xfoo"));
        assert!(!m(MatchOp::Regex, "fo+").matches("foox"));
        assert!(m(MatchOp::NotRegex, "fo+").matches("bar"));
        assert!(m(MatchOp::Regex, "a|b").matches("b"));
        assert!(!m(MatchOp::Regex, "a|b").matches("ab"));
    }

    #[test]
    fn dot_matches_newline() {
        assert!(m(MatchOp::Regex, "a.b").matches("a\nb"));
    }

    #[test]
    fn empty_matches_missing() {
        assert!(m(MatchOp::Regex, "").matches_empty());
        assert!(m(MatchOp::Equal, "").matches_empty());
        assert!(m(MatchOp::Regex, "a|").matches_empty());
        assert!(!m(MatchOp::Regex, ".+").matches_empty());
        assert!(m(MatchOp::NotEqual, "a").matches_empty());
    }

    #[test]
    fn bad_regex_is_an_error() {
        let e = Matcher::new(MatchOp::Regex, "x", "(").unwrap_err();
        assert_eq!(e.pattern, "(");
    }

    #[test]
    fn set_matches() {
        assert_eq!(m(MatchOp::Regex, "a|b").set_matches(), Some(vec!["a", "b"]));
        assert_eq!(m(MatchOp::Regex, "a.*").set_matches(), None);
        assert_eq!(m(MatchOp::Equal, "a").set_matches(), Some(vec!["a"]));
        assert_eq!(m(MatchOp::Regex, "").set_matches(), Some(vec![""]));
    }

    /// Literal alternations skip the regex engine; they must match exactly
    /// what the compiled regex `^(?s:…)$` would, for small (scanned) and
    /// large (binary-searched) sets, with `=~` and `!~`.
    #[test]
    fn literal_sets_agree_with_the_regex() {
        let many: Vec<String> = (0..40).map(|i| format!("v{}", 39 - i)).collect();
        let patterns = [
            "",
            "a",
            "a|b",
            "a||b",
            "ab|a|abc",
            "é|日本",
            &many.join("|"),
        ];
        let values = [
            "", "a", "b", "ab", "abc", "abcd", "é", "日本", "v0", "v39", "v40", "v1|v2", "\n",
        ];
        for p in patterns {
            let re = Regex::new(&format!("^(?s:{p})$")).unwrap();
            for op in [MatchOp::Regex, MatchOp::NotRegex] {
                let mt = m(op, p);
                assert!(
                    matches!(mt.pat.as_deref(), Some(Compiled::Set(_))),
                    "{p:?} compiled a regex"
                );
                for v in values {
                    let want = re.is_match(v) == (op == MatchOp::Regex);
                    assert_eq!(mt.matches(v), want, "{op}{p:?} on {v:?}");
                }
            }
        }
    }

    /// A matcher built again from the same pattern (its compiled regex
    /// then comes from the cache) behaves like the first, under any label
    /// name and for the negated op.
    #[test]
    fn cached_matcher_behaves_like_a_fresh_one() {
        for _ in 0..2 {
            let m = Matcher::new(MatchOp::Regex, "code", "5..").unwrap();
            assert_eq!(m.name, "code");
            assert!(m.matches("503"));
            assert!(!m.matches("200"));
            assert!(!m.matches("5030"), "anchored");
        }
        let m = Matcher::new(MatchOp::Regex, "status", "5..").unwrap();
        assert_eq!(m.name, "status");
        assert!(m.matches("500"));
        let n = Matcher::new(MatchOp::NotRegex, "code", "5..").unwrap();
        assert!(!n.matches("500"));
        assert!(n.matches("200"));
    }

    #[test]
    fn invalid_patterns_fail_every_time() {
        let first = Matcher::new(MatchOp::Regex, "a", "(").unwrap_err();
        for _ in 0..2 {
            assert_eq!(Matcher::new(MatchOp::Regex, "a", "(").unwrap_err(), first);
        }
    }

    #[test]
    fn equality_matchers_take_the_pattern_as_text() {
        let m = Matcher::new(MatchOp::Equal, "job", "(").unwrap();
        assert!(m.matches("("));
    }
}

#[cfg(test)]
mod fast_tests;
