//! A small process-wide cache of compiled regex matchers.
//!
//! Compiling a matcher regex (`=~`, `!~`) costs tens of microseconds, far
//! more than lexing and parsing the rest of a query; dashboards and rule
//! groups re-send the same queries (and so the same patterns) every refresh
//! or evaluation. The parser therefore keeps the last compiled matcher for
//! each `(op, pattern)` and hands out clones (a compiled `Regex` is shared,
//! so a clone is cheap). Only successful compilations are cached: an
//! invalid pattern is compiled again and reports the same error.
//!
//! The cache is bounded both in entries ([`MAX_ENTRIES`]; it is emptied when
//! full) and in what it accepts: patterns up to [`MAX_PATTERN_LEN`] bytes
//! without counted repetition (`{n}`), so no entry can be one of the
//! multi-megabyte automata a short pattern like `(a{1000}){100}` compiles
//! to. A compiled regex may still grow its own lazy-DFA cache while in use;
//! with these bounds the whole cache stays in the low megabytes.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use promlite_model::{MatchOp, Matcher, MatcherError};

/// Most compiled matchers kept at once.
const MAX_ENTRIES: usize = 64;
/// Longest pattern (bytes) that is cached.
const MAX_PATTERN_LEN: usize = 256;

type Cache = Mutex<HashMap<(MatchOp, String), Matcher>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `Matcher::new(op, name, value)`, reusing a compiled regex when the same
/// `(op, value)` was compiled before. Equal/not-equal matchers need no
/// compilation and bypass the cache.
pub(crate) fn matcher(op: MatchOp, name: String, value: String) -> Result<Matcher, MatcherError> {
    if !matches!(op, MatchOp::Regex | MatchOp::NotRegex)
        || value.len() > MAX_PATTERN_LEN
        || value.contains('{')
    {
        return Matcher::new(op, name, value);
    }
    let key = (op, value);
    if let Ok(map) = cache().lock() {
        if let Some(m) = map.get(&key) {
            let mut m = m.clone();
            m.name = name;
            return Ok(m);
        }
    }
    let (op, value) = key;
    let m = Matcher::new(op, name, value)?;
    if let Ok(mut map) = cache().lock() {
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert((op, m.value.clone()), m.clone());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_matcher_behaves_like_a_fresh_one() {
        for _ in 0..2 {
            let m = matcher(MatchOp::Regex, "code".into(), "5..".into()).unwrap();
            assert_eq!(m.name, "code");
            assert!(m.matches("503"));
            assert!(!m.matches("200"));
            assert!(!m.matches("5030"), "anchored");
        }
        // Same pattern under another label name and the negated op.
        let m = matcher(MatchOp::Regex, "status".into(), "5..".into()).unwrap();
        assert_eq!(m.name, "status");
        assert!(m.matches("500"));
        let n = matcher(MatchOp::NotRegex, "code".into(), "5..".into()).unwrap();
        assert!(!n.matches("500"));
        assert!(n.matches("200"));
    }

    #[test]
    fn invalid_patterns_fail_every_time() {
        for _ in 0..2 {
            let e = matcher(MatchOp::Regex, "a".into(), "(".into()).unwrap_err();
            let fresh = Matcher::new(MatchOp::Regex, "a", "(").unwrap_err();
            assert_eq!(e, fresh);
        }
    }

    #[test]
    fn equality_matchers_bypass_the_cache() {
        let m = matcher(MatchOp::Equal, "job".into(), "(".into()).unwrap();
        assert!(m.matches("("));
    }
}
