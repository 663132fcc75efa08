//! A target's metadata (`# TYPE`, `# HELP`, `# UNIT`) from its scrape body.
//!
//! Bodies almost always repeat the last scrape's metadata. Rebuilding the
//! map every scrape cost two string allocations per metric family (hundreds
//! per scrape, a few percent of the scrape path's CPU), so a scrape collects
//! the lines as borrowed slices of the body, compares them with the map it
//! would replace, and builds a new map only when something changed.

use std::borrow::Cow;
use std::collections::BTreeMap;

use promlite_model::{Metadata, MetricType};

/// One metadata line of a body, borrowed from it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum MetaLine<'a> {
    /// `# TYPE name type`.
    Type(&'a str, MetricType),
    /// `# HELP name text` (unescaped).
    Help(&'a str, Cow<'a, str>),
    /// `# UNIT name unit`.
    Unit(&'a str, &'a str),
}

impl<'a> MetaLine<'a> {
    fn name(&self) -> &'a str {
        match self {
            MetaLine::Type(n, _) | MetaLine::Help(n, _) | MetaLine::Unit(n, _) => n,
        }
    }

    /// Sets this line's field in `m`.
    fn apply(&self, m: &mut Metadata) {
        match self {
            MetaLine::Type(_, t) => m.metric_type = *t,
            MetaLine::Help(_, h) => m.help = h.to_string(),
            MetaLine::Unit(_, u) => m.unit = u.to_string(),
        }
    }

    /// True if `m` already holds this line's value; sets its bit in `seen`.
    fn matches(&self, m: &Metadata, seen: &mut u8) -> bool {
        match self {
            MetaLine::Type(_, t) => {
                *seen |= 1;
                m.metric_type == *t
            }
            MetaLine::Help(_, h) => {
                *seen |= 2;
                m.help == *h
            }
            MetaLine::Unit(_, u) => {
                *seen |= 4;
                m.unit == *u
            }
        }
    }
}

/// The map the lines describe (the last value wins for a repeated field).
pub(crate) fn build(lines: &[MetaLine<'_>]) -> BTreeMap<String, Metadata> {
    let mut out: BTreeMap<String, Metadata> = BTreeMap::new();
    for l in lines {
        match out.get_mut(l.name()) {
            Some(m) => l.apply(m),
            None => {
                let mut m = Metadata::default();
                l.apply(&mut m);
                out.insert(l.name().to_string(), m);
            }
        }
    }
    out
}

/// True if [`build`] would return a map equal to `prev`. Conservative: a
/// body that repeats a family's lines apart from each other, or sets a
/// field twice, reads as changed (and is rebuilt, which is always right).
pub(crate) fn unchanged(prev: &BTreeMap<String, Metadata>, lines: &[MetaLine<'_>]) -> bool {
    let mut families = 0usize;
    let mut i = 0;
    while i < lines.len() {
        let name = lines[i].name();
        let Some(m) = prev.get(name) else {
            return false;
        };
        // The lines of one family are adjacent in a well-formed body.
        let mut seen = 0u8;
        while i < lines.len() && lines[i].name() == name {
            let before = seen;
            if !lines[i].matches(m, &mut seen) || seen == before {
                return false;
            }
            i += 1;
        }
        // A field the old map has but no line set now would reset to its default.
        let default = Metadata::default();
        let held = u8::from(m.metric_type != default.metric_type)
            | u8::from(m.help != default.help) << 1
            | u8::from(m.unit != default.unit) << 2;
        if held & !seen != 0 {
            return false;
        }
        families += 1;
    }
    families == prev.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<MetaLine<'static>> {
        vec![
            MetaLine::Help("a", Cow::Borrowed("Requests.")),
            MetaLine::Type("a", MetricType::Counter),
            MetaLine::Type("b", MetricType::Gauge),
            MetaLine::Help("c", Cow::Borrowed("")),
        ]
    }

    #[test]
    fn build_sets_each_field() {
        let m = build(&lines());
        assert_eq!(m.len(), 3);
        assert_eq!(m["a"].help, "Requests.");
        assert_eq!(m["a"].metric_type, MetricType::Counter);
        assert_eq!(m["b"].metric_type, MetricType::Gauge);
        assert_eq!(m["c"], Metadata::default());
    }

    #[test]
    fn unchanged_only_when_the_map_would_be_equal() {
        let prev = build(&lines());
        assert!(unchanged(&prev, &lines()));
        assert!(!unchanged(&BTreeMap::new(), &lines()));
        assert!(unchanged(&BTreeMap::new(), &[]));

        let mut changed = lines();
        changed[1] = MetaLine::Type("a", MetricType::Gauge);
        assert!(!unchanged(&prev, &changed));
        // A family gone.
        assert!(!unchanged(&prev, &lines()[..3]));
        // A family's HELP gone: it would reset to empty.
        assert!(!unchanged(&prev, &lines()[1..]));
        // A family added.
        let mut more = lines();
        more.push(MetaLine::Type("d", MetricType::Gauge));
        assert!(!unchanged(&prev, &more));
        // Lines of one family apart from each other: rebuilt, to be safe.
        let mut split = lines();
        split.swap(1, 2);
        assert!(!unchanged(&prev, &split));
        assert_eq!(build(&split), prev);
        // A field set twice: rebuilt (the last value wins).
        let mut twice = lines();
        twice.insert(0, MetaLine::Help("a", Cow::Borrowed("Old.")));
        assert!(!unchanged(&prev, &twice));
        assert_eq!(build(&twice), prev);
    }
}
