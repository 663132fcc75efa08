//! `count_values` of a plain selector, counted as the series are read.
//!
//! The general path collects the input vector (a label set built for every
//! series), regroups its points by step and counts. When the aggregated
//! expression is a vector selector, each series is instead counted the
//! moment it arrives: without grouping no label set is built at all, with
//! `by (…)` only the grouping labels are read (one label at a time from
//! block storage). The answer is the general path's, in the same order:
//! output series are created in the order the general path first sees
//! them (step by step, series order within a step).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use promlite_model::Labels;

use super::aggregate::group_labels;
use super::parallel::Metric;
use super::series_set::LabelsHasher;
use super::{Evaluator, Range, SeriesSet, Val};
use crate::ast::{AggregateExpr, Expr};
use crate::error::QueryError;
use crate::value::{format_float, FPoint};

/// Most (output series, step) counts held; beyond that the general path
/// runs instead.
const MAX_COUNTS: usize = 1 << 20;

/// A map with XXH3 hashing (SipHash of the keys was a tenth of the
/// counting).
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<LabelsHasher>>;

/// Output series and their counts per step.
struct Counter<'a> {
    a: &'a AggregateExpr,
    label: &'a str,
    steps: usize,
    /// Groups by grouping label values (`by`), or by label set (`without`).
    by_values: FastMap<Vec<Option<String>>, usize>,
    by_set: FastMap<Labels, usize>,
    glabels: Vec<Labels>,
    /// Output key of a (group, value bits) pair, of a (group, value text)
    /// pair (bit patterns such as NaNs share a text) and of a label set
    /// (groups whose labels differ only in `label` share output series).
    by_bits: FastMap<(usize, u64), usize>,
    by_text: FastMap<(usize, String), usize>,
    by_labels: FastMap<Labels, usize>,
    /// Per output key: its labels, where the general path first sees it
    /// (step, series number) and its counts per step.
    keys: Vec<(Labels, (usize, usize), Vec<f64>)>,
    /// Series number.
    seq: usize,
    give_up: bool,
}

impl Counter<'_> {
    fn group(&mut self, metric: Metric<'_>) -> usize {
        let a = self.a;
        if !a.without && a.grouping.is_empty() {
            if self.glabels.is_empty() {
                self.glabels.push(super::empty_labels());
            }
            return 0;
        }
        if a.without {
            let gl = group_labels(metric.labels(), a);
            let n = self.glabels.len();
            let g = *self.by_set.entry(gl.clone()).or_insert(n);
            if g == n {
                self.glabels.push(gl);
            }
            return g;
        }
        let values: Vec<Option<String>> = a
            .grouping
            .iter()
            .map(|n| label_value(metric, n).map(str::to_string))
            .collect();
        if let Some(&g) = self.by_values.get(&values) {
            return g;
        }
        let g = self.glabels.len();
        self.glabels.push(group_labels(metric.labels(), a));
        self.by_values.insert(values, g);
        g
    }

    /// The output key of value `v` in group `g`; `None` (with `give_up`
    /// set) when the counts would grow too large.
    fn key(&mut self, g: usize, v: f64) -> Option<usize> {
        if let Some(&k) = self.by_bits.get(&(g, v.to_bits())) {
            return Some(k);
        }
        let text = format_float(v);
        let k = match self.by_text.get(&(g, text.clone())) {
            Some(&k) => k,
            None => {
                let Some(gl) = self.glabels.get(g) else {
                    self.give_up = true;
                    return None;
                };
                let l = super::functions::with_label(gl, self.label, &text);
                let n = self.keys.len();
                let k = *self.by_labels.entry(l.clone()).or_insert(n);
                if k == n {
                    if (n + 1).saturating_mul(self.steps) > MAX_COUNTS {
                        self.give_up = true;
                        return None;
                    }
                    self.keys
                        .push((l, (usize::MAX, usize::MAX), vec![0.0; self.steps]));
                }
                self.by_text.insert((g, text), k);
                k
            }
        };
        self.by_bits.insert((g, v.to_bits()), k);
        Some(k)
    }

    /// Counts one series' points; false (with `give_up` set) to stop.
    fn count(&mut self, metric: Metric<'_>, points: &[FPoint], r: Range) -> bool {
        let seq = self.seq;
        self.seq += 1;
        if points.is_empty() {
            return true;
        }
        let g = self.group(metric);
        for p in points {
            let i = r.index(p.t);
            if i >= self.steps {
                continue;
            }
            let Some(k) = self.key(g, p.f) else {
                return false;
            };
            let Some((_, first, counts)) = self.keys.get_mut(k) else {
                self.give_up = true;
                return false;
            };
            *first = (*first).min((i, seq));
            counts[i] += 1.0;
        }
        true
    }
}

/// One label of `metric`, without building a set the storage has not
/// built yet.
fn label_value<'a>(metric: Metric<'a>, name: &str) -> Option<&'a str> {
    match metric {
        Metric::Labels(l) => l.get(name),
        Metric::Series(s) => s.label_value(name),
    }
}

impl Evaluator<'_> {
    /// `count_values(label, vs)` of a vector selector counted as the
    /// series are read, or `None` when the general path is needed.
    pub(crate) fn count_values_streamed(
        &mut self,
        a: &AggregateExpr,
        label: &str,
        r: Range,
    ) -> Result<Option<Val>, QueryError> {
        let mut e = &a.expr;
        while let Expr::Paren(inner) = e.as_ref() {
            e = inner;
        }
        let Expr::VectorSelector(vs) = e.as_ref() else {
            return Ok(None);
        };
        let mut c = Counter {
            a,
            label,
            steps: r.len(),
            by_values: FastMap::default(),
            by_set: FastMap::default(),
            glabels: Vec::new(),
            by_bits: FastMap::default(),
            by_text: FastMap::default(),
            by_labels: FastMap::default(),
            keys: Vec::new(),
            seq: 0,
            give_up: false,
        };
        let samples_before = self.samples;
        let mut sink = |_: &mut Self, metric: Metric<'_>, points: Vec<FPoint>| {
            if c.count(metric, &points, r) {
                Ok(())
            } else {
                // Stops the walk; the general path runs instead.
                Err(QueryError::Execution(String::new()))
            }
        };
        let res = self.selector_points_each(vs, r, false, &mut sink);
        if c.give_up {
            self.samples = samples_before;
            return Ok(None);
        }
        res?;
        let mut keys = c.keys;
        keys.sort_by_key(|k| k.1);
        let mut out = SeriesSet::new(r);
        for (l, _, counts) in keys {
            let slot = out.slot(&l);
            for (i, &n) in counts.iter().enumerate() {
                if n > 0.0 {
                    out.push_at(slot, r.ts(i), n)?;
                }
            }
        }
        let res = out.finish()?;
        self.add_samples(res.iter().map(|s| s.floats.len()).sum())?;
        Ok(Some(Val::Vector(res)))
    }
}

#[cfg(test)]
mod tests {
    use promlite_model::{labels, MemStorage};

    use crate::engine::{Engine, QueryOptions};

    /// Values that repeat across series and steps, NaNs of two bit
    /// patterns, 0 and -0, infinities; groups with and without the
    /// counted label. The unary `+` makes the input non-streamable.
    #[test]
    fn streamed_count_values_equals_the_general_path() {
        let s = MemStorage::new();
        let other_nan = f64::from_bits(f64::NAN.to_bits() ^ 1);
        let vals = [
            1.0,
            2.5,
            f64::NAN,
            other_nan,
            0.0,
            -0.0,
            f64::INFINITY,
            1e21,
        ];
        for i in 0..30usize {
            let g = ["a", "b", "c"][i % 3];
            let pts: Vec<(i64, f64)> = (0..40i64)
                .filter(|k| (k + i as i64) % 7 != 0)
                .map(|k| (k * 15_000, vals[(i + k as usize / 5) % vals.len()]))
                .collect();
            let id = format!("{i:02}");
            s.insert(
                labels!("__name__" => "x", "g" => g, "i" => id.as_str(), "v" => "old"),
                &pts,
            );
        }
        let e = Engine::default();
        let q = QueryOptions::default();
        for agg in [
            "count_values(\"v\", x)",
            "count_values(\"value\", x)",
            "count_values(\"v\", x) by (g)",
            "count_values(\"g\", x) by (g)",
            "count_values(\"v\", x) without (i)",
            "count_values(\"v\", x) by (__name__, nope)",
            "count_values(\"v\", x{g=\"a\"} offset 1m)",
        ] {
            let slow = agg.replace("x", "+x");
            let fast_r = e.range_query(&s, agg, 0, 600_000, 30_000, &q).unwrap();
            let slow_r = e.range_query(&s, &slow, 0, 600_000, 30_000, &q).unwrap();
            assert_eq!(fast_r.value, slow_r.value, "{agg}");
            for t in [0, 300_000, 585_000] {
                let a = e.instant_query(&s, agg, t, &q).unwrap();
                let b = e.instant_query(&s, &slow, t, &q).unwrap();
                assert_eq!(
                    format!("{:?}", a.value),
                    format!("{:?}", b.value),
                    "{agg} at {t}"
                );
            }
        }
    }
}
