//! Label sets: the identity of a series.

use std::fmt;
use std::sync::Arc;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One `name="value"` pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// Label name, e.g. `job`.
    pub name: String,
    /// Label value; never empty inside a [`Labels`] (empty means absent).
    pub value: String,
}

/// An immutable label set, sorted by name, without empty values or duplicate
/// names. Cloning is an `Arc` increment; comparison is lexicographic over the
/// sorted pairs, the order Prometheus uses to sort series.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// The empty label set.
    pub fn empty() -> Labels {
        Labels(Arc::from(Vec::new()))
    }

    /// Builds a label set from pairs: sorts them, drops empty values, and keeps
    /// the last value of a repeated name.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Labels {
        let mut b = LabelsBuilder::new();
        for (n, v) in pairs {
            b.set(n, v);
        }
        b.build()
    }

    /// Builds from labels already sorted by name, unique and non-empty.
    /// Callers that cannot guarantee this use [`Labels::from_pairs`].
    pub fn from_sorted(labels: Vec<Label>) -> Labels {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        Labels(Arc::from(labels))
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    /// The value of `name`, or `""` when absent (Prometheus's `Labels.Get`).
    pub fn get_or_empty(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// True if `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates the labels in name order.
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// The labels as a slice.
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// A builder pre-filled with these labels.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.to_vec(),
        }
    }

    /// A copy without `__name__`.
    pub fn without_metric_name(&self) -> Labels {
        if !self.has(METRIC_NAME) {
            return self.clone();
        }
        let mut b = self.builder();
        b.del(METRIC_NAME);
        b.build()
    }

    /// Stable 64-bit hash of the whole set (xxh3 over `name\xffvalue\xff…`), the
    /// same for equal sets in every process and version.
    pub fn stable_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.0.iter() {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }

    /// Hash of only the named labels (for `by (...)` / `on (...)` grouping).
    pub fn hash_for(&self, names: &[String]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.0.iter() {
            if names.iter().any(|n| n == &l.name) {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xff]);
            }
        }
        h.digest()
    }

    /// Hash of every label except the named ones and `__name__`
    /// (for `without (...)` / `ignoring (...)`).
    pub fn hash_without(&self, names: &[String]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.0.iter() {
            if l.name != METRIC_NAME && !names.iter().any(|n| n == &l.name) {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xff]);
            }
        }
        h.digest()
    }

    /// Approximate heap bytes used, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.0
            .iter()
            .map(|l| l.name.len() + l.value.len() + std::mem::size_of::<Label>())
            .sum()
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Prints `name{a="b", c="d"}` like Prometheus's `Labels.String` (without the
/// name hoisting when there is no `__name__`).
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.metric_name() {
            f.write_str(n)?;
        }
        let rest: Vec<&Label> = self.0.iter().filter(|l| l.name != METRIC_NAME).collect();
        if rest.is_empty() && self.metric_name().is_some() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, l) in rest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Mutable label set used to derive new [`Labels`]; `build` sorts and drops
/// empty values.
#[derive(Clone, Debug, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value` (an empty value deletes the label).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let name = name.into();
        let value = value.into();
        if let Some(l) = self.labels.iter_mut().find(|l| l.name == name) {
            l.value = value;
        } else {
            self.labels.push(Label { name, value });
        }
        self
    }

    /// Removes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| l.name != name);
        self
    }

    /// Keeps only the labels whose names satisfy `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) -> &mut Self {
        self.labels.retain(|l| keep(l));
        self
    }

    /// The current value of `name`, if set and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == name && !l.value.is_empty())
            .map(|l| l.value.as_str())
    }

    /// Produces the sorted, immutable set.
    pub fn build(&self) -> Labels {
        let mut v: Vec<Label> = self
            .labels
            .iter()
            .filter(|l| !l.value.is_empty())
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.dedup_by(|later, earlier| {
            if later.name == earlier.name {
                // keep the last one set; `set` never produces duplicates, but be safe
                std::mem::swap(&mut later.value, &mut earlier.value);
                true
            } else {
                false
            }
        });
        Labels(Arc::from(v))
    }
}

/// Builds [`Labels`] from `"name" => "value"` pairs.
#[macro_export]
macro_rules! labels {
    () => { $crate::Labels::empty() };
    ($($n:expr => $v:expr),+ $(,)?) => {
        $crate::Labels::from_pairs([$(($n, $v)),+])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_deduped() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("a", "3")]);
        assert_eq!(l.len(), 2);
        assert_eq!(l.get("a"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.as_slice()[0].name, "a");
    }

    #[test]
    fn display_like_prometheus() {
        let l = crate::labels!("__name__" => "up", "job" => "x");
        assert_eq!(l.to_string(), "up{job=\"x\"}");
        assert_eq!(crate::labels!("__name__" => "up").to_string(), "up");
        assert_eq!(crate::labels!("a" => "b").to_string(), "{a=\"b\"}");
    }

    #[test]
    fn hashes_are_stable_and_distinguish() {
        let a = crate::labels!("a" => "bc");
        let b = crate::labels!("ab" => "c");
        assert_ne!(a.stable_hash(), b.stable_hash());
        assert_eq!(a.stable_hash(), a.clone().stable_hash());
        let x = crate::labels!("__name__" => "m", "job" => "j", "i" => "1");
        let y = crate::labels!("__name__" => "n", "job" => "j", "i" => "2");
        assert_eq!(x.hash_for(&["job".into()]), y.hash_for(&["job".into()]));
        assert_eq!(x.hash_without(&["i".into()]), y.hash_without(&["i".into()]));
    }
}
