//! `label_replace`'s regex with its capture groups found without a regex
//! engine for the common shapes: `(.*):.*`, `prefix-(.+)`, `([^:]+):(.*)`
//! — at most two repeats of a character class (each possibly a group)
//! around one literal, between a literal prefix and suffix. The regex
//! engine's backtracker took 3,000 instructions per series for
//! `(.*):.*`; the groups of these shapes follow from where the literal
//! occurs (the last admissible occurrence for a greedy repeat, the first
//! for a lazy one: the order in which a backtracking search tries them).
//! Every other pattern uses the regex. Property-tested against the regex's
//! own captures and expansion.

use regex::Regex;
use regex_syntax::hir::{Hir, HirKind, Look};

use super::fast::{class_of, split_bounds, Class1};

/// One repeat of the shape: its class, greediness and group (if any).
#[derive(Debug, Clone)]
struct Rep {
    class: Class1,
    greedy: bool,
    group: Option<usize>,
}

/// The shapes handled.
#[derive(Debug, Clone)]
enum Shape {
    /// `prefix X suffix`.
    One(Rep),
    /// `prefix X lit Y suffix`.
    Split(Rep, String, Rep),
}

/// A compiled `label_replace` regex.
#[derive(Debug)]
pub struct ReplaceRegex {
    re: Regex,
    fast: Option<(String, Shape, String)>,
}

impl ReplaceRegex {
    /// Compiles `^(?s:pattern)$`.
    pub(crate) fn new(pattern: &str) -> Result<ReplaceRegex, regex::Error> {
        let re = super::build_regex(pattern)?;
        let fast = regex_syntax::ParserBuilder::new()
            .build()
            .parse(&format!("^(?s:{pattern})$"))
            .ok()
            .and_then(|h| shape(&h));
        Ok(ReplaceRegex { re, fast })
    }

    /// The compiled regex.
    pub fn regex(&self) -> &Regex {
        &self.re
    }

    /// Whether captures are found without the regex engine.
    #[cfg(test)]
    pub(crate) fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// If `s` matches, appends `repl` with `$1`, `${name}`, `$$` … expanded
    /// (as [`regex::Captures::expand`]) to `dst` and returns true.
    pub fn expand_into(&self, s: &str, repl: &str, dst: &mut String) -> bool {
        let Some((prefix, shape, suffix)) = &self.fast else {
            let Some(caps) = self.re.captures(s) else {
                return false;
            };
            caps.expand(repl, dst);
            return true;
        };
        let Some(groups) = spans(s, prefix, shape, suffix) else {
            return false;
        };
        let names = self.re.capture_names();
        regex_automata::util::interpolate::string(
            repl,
            |i, dst| {
                if let Some(Some((a, b))) = groups.get(i) {
                    dst.push_str(s.get(*a..*b).unwrap_or(""));
                }
            },
            |name| names.clone().position(|n| n == Some(name)),
            dst,
        );
        true
    }
}

/// Group spans (0: the whole string) when `s` matches.
fn spans(
    s: &str,
    prefix: &str,
    shape: &Shape,
    suffix: &str,
) -> Option<[Option<(usize, usize)>; 3]> {
    let (p, q) = (prefix.len(), suffix.len());
    if s.len() < p + q || !s.starts_with(prefix) || !s.ends_with(suffix) {
        return None;
    }
    let m = s.get(p..s.len() - q)?;
    let mut out = [Some((0, s.len())), None, None];
    let mut set = |r: &Rep, a: usize, b: usize| {
        if let Some(g) = r.group.and_then(|g| out.get_mut(g)) {
            *g = Some((p + a, p + b));
        }
    };
    match shape {
        Shape::One(r) => {
            if (r.class.min as usize) > m.len() || !m.chars().all(|c| r.class.accepts(c)) {
                return None;
            }
            set(r, 0, m.len());
        }
        Shape::Split(x, lit, y) => {
            let (lo, hi) = split_bounds(m, &x.class, lit, &y.class)?;
            let l = lit.len();
            let i = if x.greedy {
                // Occurrences starting by `hi` end by `hi + l`, at a
                // character boundary: rounding down loses none.
                let mut end = (hi + l).min(m.len());
                while end > 0 && !m.is_char_boundary(end) {
                    end -= 1;
                }
                m.get(..end)?.rfind(lit.as_str()).filter(|&i| i >= lo)?
            } else {
                let mut from = lo;
                while from < m.len() && !m.is_char_boundary(from) {
                    from += 1;
                }
                from + m
                    .get(from..)?
                    .find(lit.as_str())
                    .filter(|&i| from + i <= hi)?
            };
            set(x, 0, i);
            set(y, i + l, m.len());
        }
    }
    Some(out)
}

/// The shape of `^(?s:pattern)$`'s tree, if handled: every group is one
/// of the repeats, numbered 1 or 2.
fn shape(h: &Hir) -> Option<(String, Shape, String)> {
    let HirKind::Concat(items) = h.kind() else {
        return None;
    };
    let (first, rest) = items.split_first()?;
    let (last, items) = rest.split_last()?;
    if !matches!(first.kind(), HirKind::Look(Look::Start))
        || !matches!(last.kind(), HirKind::Look(Look::End))
    {
        return None;
    }
    let lit = |h: &Hir| match h.kind() {
        HirKind::Literal(l) => std::str::from_utf8(&l.0).ok().map(str::to_string),
        _ => None,
    };
    let lead = items.iter().take_while(|h| lit(h).is_some()).count();
    let trail = items[lead..]
        .iter()
        .rev()
        .take_while(|h| lit(h).is_some())
        .count();
    let prefix: String = items[..lead].iter().filter_map(lit).collect();
    let suffix: String = items[items.len() - trail..]
        .iter()
        .filter_map(lit)
        .collect();
    let shape = match &items[lead..items.len() - trail] {
        [x] => Shape::One(rep(x)?),
        [x, l, y] => Shape::Split(rep(x)?, lit(l).filter(|l| !l.is_empty())?, rep(y)?),
        _ => return None,
    };
    let groups: Vec<usize> = match &shape {
        Shape::One(r) => r.group.into_iter().collect(),
        Shape::Split(x, _, y) => x.group.into_iter().chain(y.group).collect(),
    };
    // No other groups (e.g. inside the literals' alternatives: none here,
    // but a nested group would be), numbered as the spans array holds.
    if h.properties().explicit_captures_len() != groups.len() || groups.iter().any(|&g| g > 2) {
        return None;
    }
    Some((prefix, shape, suffix))
}

/// A class repeat, possibly an unnamed group.
fn rep(h: &Hir) -> Option<Rep> {
    let (h, group) = match h.kind() {
        HirKind::Capture(c) if c.name.is_none() => (&*c.sub, Some(c.index as usize)),
        _ => (h, None),
    };
    let HirKind::Repetition(r) = h.kind() else {
        return None;
    };
    if r.max.is_some() || r.min > 1 {
        return None;
    }
    let HirKind::Class(c) = r.sub.kind() else {
        return None;
    };
    Some(Rep {
        class: Class1 {
            ranges: class_of(c)?,
            min: r.min,
        },
        greedy: r.greedy,
        group,
    })
}
