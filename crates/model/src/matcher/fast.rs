//! Matching common regex shapes without a regex engine.
//!
//! Most matcher regexes are a literal with `.*` on one or both sides
//! (`node-1.*`, `.*:9100`, `.*err.*`), an alternation of such (`a.*|b.*`),
//! a character class repeated (`[^:]+`) or `.*`/`.+` alone. The pattern is
//! parsed into the syntax tree the `regex` crate itself compiles
//! (`regex_syntax`, same defaults), and when that tree is made only of
//! literals, single character classes, `X*`/`X+` of a class, groups and
//! alternations in a shape that can be decided without backtracking, a
//! [`Node`] tree is built that answers the fully anchored match directly
//! (`starts_with`, `ends_with`, `contains`, a character walk). Every other
//! pattern is left to the regex engine.
//!
//! The tree is an exact translation: it accepts a string if and only if
//! the compiled `^(?s:pattern)$` does (property-tested against the regex in
//! the tests of [`super`]).

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// A pattern part that matches a whole string (or the middle part of one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Exactly this text.
    Lit(String),
    /// Any string of characters from a class, of at least `min` characters
    /// (0 or 1); `ranges` empty means every character (`.*`, `.+` with
    /// `(?s)`).
    Repeat { ranges: Vec<(char, char)>, min: u32 },
    /// Exactly one character from the class.
    One(Vec<(char, char)>),
    /// `.*lit.*`: any string containing `lit`.
    Contains(String),
    /// `X lit Y` with `X` and `Y` repeats of a class (`[^:]+:.*`,
    /// `(.*):.*`): some occurrence of `lit` has a run of `X` before it and
    /// of `Y` after it.
    Split {
        left: Class1,
        lit: String,
        right: Class1,
    },
    /// `prefix`, then what `inner` matches, then `suffix`.
    Concat {
        prefix: String,
        inner: Box<Node>,
        suffix: String,
    },
    /// Any of the branches.
    Alt(Vec<Node>),
}

/// A repeated class: its ranges (empty: every character) and the least
/// number of characters (0 or 1).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Class1 {
    pub(crate) ranges: Vec<(char, char)>,
    pub(crate) min: u32,
}

impl Class1 {
    fn any(&self) -> bool {
        self.ranges.is_empty()
    }

    pub(crate) fn accepts(&self, c: char) -> bool {
        self.ranges.is_empty() || in_ranges(&self.ranges, c)
    }
}

/// Deepest nesting of groups and alternations translated; deeper patterns
/// go to the regex engine (which has its own limit).
const MAX_DEPTH: usize = 16;

/// Longest class translated, in ranges.
const MAX_RANGES: usize = 64;

impl Node {
    /// The tree for the fully anchored pattern whose syntax tree is `hir`
    /// (parsed from `^(?s:pattern)$`), if it has a shape handled here.
    pub(crate) fn from_anchored(hir: &Hir) -> Option<Node> {
        let HirKind::Concat(items) = hir.kind() else {
            return None;
        };
        let (first, rest) = items.split_first()?;
        let (last, middle) = rest.split_last()?;
        if !matches!(first.kind(), HirKind::Look(Look::Start))
            || !matches!(last.kind(), HirKind::Look(Look::End))
        {
            return None;
        }
        concat(middle, 0)
    }

    /// Whether the whole of `s` is matched.
    pub(crate) fn matches(&self, s: &str) -> bool {
        match self {
            Node::Lit(l) => s == l,
            Node::Repeat { ranges, min } => {
                if *min > 0 && s.is_empty() {
                    return false;
                }
                ranges.is_empty() || s.chars().all(|c| in_ranges(ranges, c))
            }
            Node::One(ranges) => {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => in_ranges(ranges, c),
                    _ => false,
                }
            }
            Node::Contains(l) => s.contains(l.as_str()),
            Node::Split { left, lit, right } => split_matches(s, left, lit, right),
            Node::Concat {
                prefix,
                inner,
                suffix,
            } => {
                let (p, q) = (prefix.len(), suffix.len());
                s.len() >= p + q
                    && s.starts_with(prefix.as_str())
                    && s.ends_with(suffix.as_str())
                    && s.get(p..s.len() - q).is_some_and(|m| inner.matches(m))
            }
            Node::Alt(branches) => branches.iter().any(|b| b.matches(s)),
        }
    }

    /// The literals, when the tree is an alternation of literals (or one).
    pub(crate) fn literals(&self) -> Option<Vec<String>> {
        match self {
            Node::Lit(l) => Some(vec![l.clone()]),
            Node::Alt(bs) => bs
                .iter()
                .map(|b| match b {
                    Node::Lit(l) => Some(l.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

/// Whether `s` is `x + lit + y` with `x` a run of `left` and `y` of
/// `right`. The prefix before an occurrence at `i` is a run of `left` iff
/// `i` is at most the first character `left` rejects; the suffix is a run
/// of `right` iff it starts after the last character `right` rejects. So
/// the first occurrence at or after the least admissible start decides.
fn split_matches(s: &str, left: &Class1, lit: &str, right: &Class1) -> bool {
    let Some((lo, hi)) = split_bounds(s, left, lit, right) else {
        return false;
    };
    // Occurrences start at character boundaries: rounding up loses none.
    let mut from = lo;
    while from < s.len() && !s.is_char_boundary(from) {
        from += 1;
    }
    s.get(from..)
        .and_then(|t| t.find(lit))
        .is_some_and(|i| from + i <= hi)
}

/// The least and greatest start `[lo, hi]` an occurrence of `lit` in `s`
/// may have for `s` to be `x + lit + y` with `x` a run of `left` and `y`
/// of `right`; `None` when no start is admissible.
pub(crate) fn split_bounds(
    s: &str,
    left: &Class1,
    lit: &str,
    right: &Class1,
) -> Option<(usize, usize)> {
    let (n, l) = (s.len(), lit.len());
    if n < l {
        return None;
    }
    let left_upto = if left.any() {
        n
    } else {
        s.char_indices()
            .find(|&(_, c)| !left.accepts(c))
            .map_or(n, |(i, _)| i)
    };
    let right_from = if right.any() {
        0
    } else {
        s.char_indices()
            .rev()
            .find(|&(_, c)| !right.accepts(c))
            .map_or(0, |(i, c)| i + c.len_utf8())
    };
    let lo = (left.min as usize).max(right_from.saturating_sub(l));
    let hi = n.checked_sub(l + right.min as usize)?.min(left_upto);
    (lo <= hi).then_some((lo, hi))
}

fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

/// One syntax node.
fn node(h: &Hir, depth: usize) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    match h.kind() {
        HirKind::Empty => Some(Node::Lit(String::new())),
        // Not UTF-8 (impossible with the default syntax options): `None`.
        HirKind::Literal(_) => literal(h),
        HirKind::Class(c) => class_of(c).map(|r| {
            if r.is_empty() {
                // Any one character.
                Node::One(vec![('\0', char::MAX)])
            } else {
                Node::One(r)
            }
        }),
        HirKind::Repetition(rep) => {
            if rep.max.is_some() || rep.min > 1 {
                return None;
            }
            let HirKind::Class(c) = rep.sub.kind() else {
                return None;
            };
            Some(Node::Repeat {
                ranges: class_of(c)?,
                min: rep.min,
            })
        }
        HirKind::Capture(c) => node(&c.sub, depth + 1),
        HirKind::Concat(items) => concat(items, depth + 1),
        HirKind::Alternation(bs) => bs
            .iter()
            .map(|b| node(b, depth + 1))
            .collect::<Option<Vec<_>>>()
            .map(Node::Alt),
        HirKind::Look(_) => None,
    }
}

fn literal(h: &Hir) -> Option<Node> {
    match h.kind() {
        HirKind::Literal(l) => std::str::from_utf8(&l.0)
            .ok()
            .map(|s| Node::Lit(s.to_string())),
        _ => None,
    }
}

/// The ranges of a Unicode class; empty for the class of every character.
/// `None` for byte classes and very long classes.
pub(crate) fn class_of(c: &Class) -> Option<Vec<(char, char)>> {
    let Class::Unicode(u) = c else {
        return None;
    };
    let r: Vec<(char, char)> = u.ranges().iter().map(|r| (r.start(), r.end())).collect();
    if r.as_slice() == [('\0', char::MAX)] {
        return Some(Vec::new());
    }
    if r.is_empty() || r.len() > MAX_RANGES {
        return None;
    }
    Some(r)
}

/// A sequence: leading and trailing literals around at most one other
/// part, or `.*lit.*`.
fn concat(items: &[Hir], depth: usize) -> Option<Node> {
    let mut lits = Vec::with_capacity(items.len());
    for it in items {
        lits.push(match literal(it) {
            Some(Node::Lit(s)) => Some(s),
            _ => None,
        });
    }
    let lead = lits.iter().take_while(|l| l.is_some()).count();
    if lead == items.len() {
        return Some(Node::Lit(lits.into_iter().flatten().collect()));
    }
    let trail = lits.iter().rev().take_while(|l| l.is_some()).count();
    let prefix: String = lits[..lead].iter().flatten().map(String::as_str).collect();
    let suffix: String = lits[items.len() - trail..]
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let middle = &items[lead..items.len() - trail];
    let inner = match middle {
        [one] => node(one, depth)?,
        [a, l, b] => {
            let (
                Some(Node::Repeat {
                    ranges: ra,
                    min: ma,
                }),
                Some(Node::Lit(lit)),
                Some(Node::Repeat {
                    ranges: rb,
                    min: mb,
                }),
            ) = (node(a, depth), literal(l), node(b, depth))
            else {
                return None;
            };
            if lit.is_empty() {
                return None;
            }
            if ra.is_empty() && rb.is_empty() && ma == 0 && mb == 0 {
                Node::Contains(lit)
            } else {
                Node::Split {
                    left: Class1 {
                        ranges: ra,
                        min: ma,
                    },
                    lit,
                    right: Class1 {
                        ranges: rb,
                        min: mb,
                    },
                }
            }
        }
        _ => return None,
    };
    if prefix.is_empty() && suffix.is_empty() {
        return Some(inner);
    }
    Some(Node::Concat {
        prefix,
        inner: Box::new(inner),
        suffix,
    })
}
