//! The head's inverted index: label pair → sorted series references.

use std::collections::{BTreeSet, HashMap, HashSet};

use promlite_model::{Labels, MatchOp, Matcher};

/// Postings lists for every label pair in the head.
#[derive(Debug, Default)]
pub(crate) struct Postings {
    by_pair: HashMap<String, HashMap<String, Vec<u64>>>,
    all: Vec<u64>,
}

fn insert_sorted(v: &mut Vec<u64>, r: u64) {
    // References mostly arrive in increasing order: check the end first.
    match v.last() {
        Some(&last) if last < r => v.push(r),
        None => v.push(r),
        _ => {
            if let Err(i) = v.binary_search(&r) {
                v.insert(i, r);
            }
        }
    }
}

impl Postings {
    pub(crate) fn add(&mut self, r: u64, labels: &Labels) {
        insert_sorted(&mut self.all, r);
        for l in labels.iter() {
            // Look up by `&str` first: a new series mostly reuses existing
            // names and values, which then cost no allocation.
            let values = match self.by_pair.get_mut(l.name) {
                Some(values) => values,
                None => self.by_pair.entry(l.name.to_string()).or_default(),
            };
            match values.get_mut(l.value) {
                Some(list) => insert_sorted(list, r),
                None => {
                    values.insert(l.value.to_string(), vec![r]);
                }
            }
        }
    }

    /// Removes the given series (garbage collection after truncation).
    pub(crate) fn remove(&mut self, gone: &[(u64, Labels)]) {
        if gone.is_empty() {
            return;
        }
        let refs: HashSet<u64> = gone.iter().map(|g| g.0).collect();
        self.all.retain(|r| !refs.contains(r));
        let mut touched: HashSet<(&str, &str)> = HashSet::new();
        for (_, labels) in gone {
            for l in labels.iter() {
                touched.insert((l.name, l.value));
            }
        }
        for (name, value) in touched {
            if let Some(values) = self.by_pair.get_mut(name) {
                if let Some(list) = values.get_mut(value) {
                    list.retain(|r| !refs.contains(r));
                    if list.is_empty() {
                        values.remove(value);
                    }
                }
                if values.is_empty() {
                    self.by_pair.remove(name);
                }
            }
        }
    }

    /// Union of the lists of every value of `name` that `keep` accepts.
    fn union_where(&self, name: &str, keep: impl Fn(&str) -> bool) -> Vec<u64> {
        let Some(values) = self.by_pair.get(name) else {
            return Vec::new();
        };
        let mut out: Vec<u64> = Vec::new();
        for (v, list) in values {
            if keep(v) {
                out.extend_from_slice(list);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// References of series matching all `matchers`, sorted. With no
    /// matchers, all series.
    pub(crate) fn select(&self, matchers: &[Matcher]) -> Vec<u64> {
        let mut include: Vec<Vec<u64>> = Vec::new();
        let mut exclude: Vec<Vec<u64>> = Vec::new();
        for m in matchers {
            if m.matches("") {
                // Matches series without the label too: subtract those whose value fails.
                exclude.push(self.union_where(&m.name, |v| !m.matches(v)));
            } else if m.op == MatchOp::Equal {
                let list = self
                    .by_pair
                    .get(&m.name)
                    .and_then(|vs| vs.get(&m.value))
                    .cloned()
                    .unwrap_or_default();
                include.push(list);
            } else if let Some(set) = m.set_matches() {
                let set: HashSet<&str> = set.into_iter().collect();
                include.push(self.union_where(&m.name, |v| set.contains(v)));
            } else {
                include.push(self.union_where(&m.name, |v| m.matches(v)));
            }
        }
        include.sort_by_key(|l| l.len());
        let mut result = match include.split_first() {
            None => self.all.clone(),
            Some((first, rest)) => {
                let mut acc = first.clone();
                for l in rest {
                    acc = intersect(&acc, l);
                    if acc.is_empty() {
                        break;
                    }
                }
                acc
            }
        };
        for ex in &exclude {
            if result.is_empty() {
                break;
            }
            result = subtract(&result, ex);
        }
        result
    }

    /// Label names present in the head, sorted.
    pub(crate) fn label_names(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.by_pair.keys().collect();
        set.into_iter().cloned().collect()
    }

    /// Values of `name`, sorted.
    pub(crate) fn label_values(&self, name: &str) -> Vec<String> {
        let Some(values) = self.by_pair.get(name) else {
            return Vec::new();
        };
        let set: BTreeSet<&String> = values.keys().collect();
        set.into_iter().cloned().collect()
    }

    /// `(name, number of values, bytes of values)` for every label name.
    pub(crate) fn name_stats(&self) -> Vec<(String, usize, usize)> {
        self.by_pair
            .iter()
            .map(|(n, vs)| (n.clone(), vs.len(), vs.keys().map(|v| v.len()).sum()))
            .collect()
    }

    /// `(value, series count)` for every value of `name`.
    pub(crate) fn value_counts(&self, name: &str) -> Vec<(String, usize)> {
        self.by_pair
            .get(name)
            .map(|vs| vs.iter().map(|(v, l)| (v.clone(), l.len())).collect())
            .unwrap_or_default()
    }

    /// `(name=value, series count)` for every pair.
    pub(crate) fn pair_counts(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for (n, vs) in &self.by_pair {
            for (v, l) in vs {
                out.push((format!("{n}={v}"), l.len()));
            }
        }
        out
    }
}

fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut j = 0;
    let mut out = Vec::with_capacity(a.len());
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j < b.len() && b[j] == x {
            continue;
        }
        out.push(x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    #[test]
    fn matchers_select_expected_refs() {
        let mut p = Postings::default();
        p.add(1, &labels!("__name__" => "up", "job" => "a"));
        p.add(
            2,
            &labels!("__name__" => "up", "job" => "b", "env" => "prod"),
        );
        p.add(3, &labels!("__name__" => "down", "job" => "a"));
        let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
        assert_eq!(p.select(&[Matcher::equal("__name__", "up")]), vec![1, 2]);
        assert_eq!(
            p.select(&[
                m(MatchOp::Regex, "job", "a|b"),
                Matcher::equal("__name__", "up")
            ]),
            vec![1, 2]
        );
        assert_eq!(p.select(&[m(MatchOp::NotEqual, "job", "a")]), vec![2]);
        assert_eq!(
            p.select(&[Matcher::equal("__name__", "up"), Matcher::equal("env", "")]),
            vec![1]
        );
        assert_eq!(p.select(&[m(MatchOp::NotRegex, "env", "p.*")]), vec![1, 3]);
        assert_eq!(
            p.select(&[
                m(MatchOp::Regex, "job", "a.*"),
                m(MatchOp::NotEqual, "__name__", "up")
            ]),
            vec![3]
        );
        assert_eq!(p.select(&[]), vec![1, 2, 3]);
        p.remove(&[(
            2,
            labels!("__name__" => "up", "job" => "b", "env" => "prod"),
        )]);
        assert_eq!(p.select(&[Matcher::equal("__name__", "up")]), vec![1]);
        assert_eq!(p.label_names(), vec!["__name__", "job"]);
        assert_eq!(p.label_values("job"), vec!["a"]);
    }
}
