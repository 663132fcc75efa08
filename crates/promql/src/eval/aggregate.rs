//! Aggregation operators (`sum`, `avg`, `topk`, `count_values`, …).

use std::collections::HashMap;

use promlite_model::Labels;

use super::quantile::quantile;
use super::{group_index, int_param, kahan_inc, Evaluator, Range, SeriesSet, Val};
use crate::ast::{AggregateExpr, AggregateOp};
use crate::error::QueryError;
use crate::value::{format_float, Series};

/// Running state of one group at one step.
#[derive(Clone, Default)]
pub(super) struct Acc {
    pub(super) seen: bool,
    count: f64,
    value: f64,
    c: f64,
    mean: f64,
    incremental: bool,
    values: Vec<f64>,
}

impl Acc {
    pub(super) fn first(&mut self, op: AggregateOp, f: f64) {
        self.seen = true;
        self.count = 1.0;
        self.value = f;
        self.c = 0.0;
        self.mean = f;
        self.incremental = false;
        self.values.clear();
        match op {
            AggregateOp::Stddev | AggregateOp::Stdvar => {
                self.value = if f.is_finite() { 0.0 } else { f64::NAN };
            }
            AggregateOp::Quantile => self.values.push(f),
            _ => {}
        }
    }

    #[inline(always)]
    pub(super) fn add(&mut self, op: AggregateOp, f: f64) {
        match op {
            AggregateOp::Sum => {
                let (v, c) = kahan_inc(f, self.value, self.c);
                self.value = v;
                self.c = c;
            }
            AggregateOp::Avg => {
                self.count += 1.0;
                avg_add(self, f);
            }
            AggregateOp::Count => self.count += 1.0,
            AggregateOp::Min if self.value > f || self.value.is_nan() => self.value = f,
            AggregateOp::Max if self.value < f || self.value.is_nan() => self.value = f,
            AggregateOp::Stddev | AggregateOp::Stdvar => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                let delta2 = f - self.mean;
                self.value += delta * delta2;
            }
            AggregateOp::Quantile => self.values.push(f),
            _ => {}
        }
    }

    pub(super) fn result(&mut self, op: AggregateOp, phi: f64) -> f64 {
        match op {
            AggregateOp::Sum => self.value + self.c,
            AggregateOp::Avg => avg_result(self),
            AggregateOp::Count => self.count,
            AggregateOp::Group => 1.0,
            AggregateOp::Min | AggregateOp::Max => self.value,
            AggregateOp::Stdvar => self.value / self.count,
            AggregateOp::Stddev => (self.value / self.count).sqrt(),
            AggregateOp::Quantile => quantile(phi, &mut self.values),
            _ => f64::NAN,
        }
    }
}

/// Adds `f` to a running mean whose count was already incremented
/// (Prometheus 3.x: Kahan sum, switching to an incremental mean on overflow).
fn avg_add(a: &mut Acc, f: f64) {
    if !a.incremental {
        let (v, c) = kahan_inc(f, a.value, a.c);
        if !v.is_infinite() {
            a.value = v;
            a.c = c;
            return;
        }
        a.incremental = true;
        a.mean = a.value / (a.count - 1.0);
        a.c /= a.count - 1.0;
    }
    if a.mean.is_infinite() {
        if f.is_infinite() && (a.mean > 0.0) == (f > 0.0) {
            return;
        }
        if !f.is_infinite() && !f.is_nan() {
            return;
        }
    }
    let q = (a.count - 1.0) / a.count;
    let (m, c) = kahan_inc(f / a.count, q * a.mean, q * a.c);
    a.mean = m;
    a.c = c;
}

fn avg_result(a: &Acc) -> f64 {
    if a.incremental {
        a.mean + a.c
    } else {
        a.value / a.count + a.c / a.count
    }
}

/// Mean of `values` the way `avg` and `avg_over_time` compute it.
pub(crate) fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let mut a = Acc::default();
    for (i, f) in values.enumerate() {
        if i == 0 {
            a.first(AggregateOp::Avg, f);
        } else {
            a.count += 1.0;
            avg_add(&mut a, f);
        }
    }
    if !a.seen {
        return f64::NAN;
    }
    avg_result(&a)
}

/// The labels of the group a series belongs to.
pub(super) fn group_labels(m: &Labels, a: &AggregateExpr) -> Labels {
    if a.without {
        super::retain_labels(m, |n| {
            !super::binary::is_name_label(n) && !a.grouping.iter().any(|g| g == n)
        })
    } else if a.grouping.is_empty() {
        super::empty_labels()
    } else {
        super::retain_labels(m, |n| a.grouping.iter().any(|g| g == n))
    }
}

impl Evaluator<'_> {
    /// Evaluates an aggregation.
    pub(crate) fn eval_aggregate(
        &mut self,
        a: &AggregateExpr,
        r: Range,
    ) -> Result<Val, QueryError> {
        let mut param_scalar = None;
        let mut param_string = None;
        if let Some(p) = &a.param {
            if a.op == AggregateOp::CountValues {
                // Checked before the aggregated expression is evaluated, as in
                // Prometheus.
                let label = self.eval_string(p, r)?;
                let Some(name) = label.as_label_name() else {
                    return Err(QueryError::Execution(format!(
                        "invalid label name {}",
                        label.quoted()
                    )));
                };
                param_string = Some(name.to_string());
            } else {
                param_scalar = Some(self.eval_scalar(p, r)?);
            }
        }
        if let Some(label) = &param_string {
            if let Some(v) = self.count_values_streamed(a, label, r)? {
                return Ok(v);
            }
        }
        if a.param.is_none() {
            if let Some(v) = self.aggregate_streamed(a, r)? {
                return Ok(v);
            }
        }
        if let Some(params) = &param_scalar {
            if let Some(v) = self.topk_streamed(a, r, params)? {
                return Ok(v);
            }
        }
        let input = self.eval_vector(&a.expr, r)?;
        // Group membership is computed once per series.
        let mut gmap: HashMap<Labels, usize> = HashMap::new();
        let mut glabels: Vec<Labels> = Vec::new();
        let mut next = 0;
        let gidx: Vec<usize> = input
            .iter()
            .map(|s| {
                let gl = group_labels(&s.metric, a);
                let i = group_index(&mut gmap, gl.clone(), &mut next);
                if i == glabels.len() {
                    glabels.push(gl);
                }
                i
            })
            .collect();
        let steps = super::ByStep::new(&input, r);
        let mut out = SeriesSet::new(r);
        match a.op {
            AggregateOp::TopK
            | AggregateOp::BottomK
            | AggregateOp::LimitK
            | AggregateOp::LimitRatio => {
                let params = param_scalar.unwrap_or_default();
                self.aggregate_k(
                    a.op,
                    &input,
                    &gidx,
                    glabels.len(),
                    &steps,
                    &params,
                    a.param_pos.get(),
                    r,
                    &mut out,
                )?;
            }
            AggregateOp::CountValues => {
                let label = param_string.unwrap_or_default();
                self.count_values(&label, &steps, &gidx, &glabels, r, &mut out)?;
            }
            op => {
                let phis = param_scalar.unwrap_or_default();
                if op == AggregateOp::Quantile {
                    if let Some(&phi) = phis.iter().find(|p| p.is_nan() || **p < 0.0 || **p > 1.0) {
                        self.warn_at(
                            format!(
                                "PromQL warning: quantile value should be between 0 and 1, got {}",
                                format_float(phi)
                            ),
                            a.param_pos.get(),
                        );
                    }
                }
                let slots: Vec<usize> = glabels.iter().map(|l| out.slot(l)).collect();
                let mut accs = vec![Acc::default(); glabels.len()];
                let mut touched: Vec<usize> = Vec::new();
                for (i, st) in steps.iter().enumerate() {
                    self.check()?;
                    touched.clear();
                    for &(j, v) in st {
                        let g = gidx[j];
                        let acc = &mut accs[g];
                        if acc.seen {
                            acc.add(op, v);
                        } else {
                            acc.first(op, v);
                            touched.push(g);
                        }
                    }
                    let phi = phis.get(i).copied().unwrap_or(f64::NAN);
                    for &g in &touched {
                        let v = accs[g].result(op, phi);
                        accs[g].seen = false;
                        out.push_at(slots[g], r.ts(i), v)?;
                    }
                }
            }
        }
        let res = out.finish()?;
        self.add_samples(res.iter().map(|s| s.floats.len()).sum())?;
        Ok(Val::Vector(res))
    }

    /// `count_values(label, …)`: per step, how many series have each set
    /// of output labels (the group's labels with `label` set to the
    /// value's text). Output series come in first-seen order per step, as
    /// the counts were once kept. A value's text and its output labels are
    /// made once per query, not once per point: points are looked up by
    /// the value's bits, and only a new bit pattern is formatted (and
    /// looked up by its text, as bit patterns such as NaNs share one).
    fn count_values(
        &mut self,
        label: &str,
        steps: &super::ByStep,
        gidx: &[usize],
        glabels: &[Labels],
        r: Range,
        out: &mut SeriesSet,
    ) -> Result<(), QueryError> {
        let mut by_bits: HashMap<(usize, u64), usize> = HashMap::new();
        let mut by_text: HashMap<(usize, String), usize> = HashMap::new();
        let mut by_labels: HashMap<Labels, usize> = HashMap::new();
        // Per output key: its slot in `out`.
        let mut slots: Vec<usize> = Vec::new();
        // Per key: count at the current step; keys counted, in first-seen order.
        let mut counts: Vec<f64> = Vec::new();
        let mut seen: Vec<usize> = Vec::new();
        for (i, st) in steps.iter().enumerate() {
            self.check()?;
            seen.clear();
            for &(j, v) in st {
                let g = gidx[j];
                let key = match by_bits.get(&(g, v.to_bits())) {
                    Some(&k) => k,
                    None => {
                        let text = format_float(v);
                        let k = match by_text.get(&(g, text.clone())) {
                            Some(&k) => k,
                            None => {
                                // Groups whose labels differ only in
                                // `label` give one output series.
                                let l = super::functions::with_label(&glabels[g], label, &text);
                                let n = slots.len();
                                let k = *by_labels.entry(l.clone()).or_insert(n);
                                if k == n {
                                    slots.push(out.slot(&l));
                                    counts.push(0.0);
                                }
                                by_text.insert((g, text), k);
                                k
                            }
                        };
                        by_bits.insert((g, v.to_bits()), k);
                        k
                    }
                };
                if counts[key] == 0.0 {
                    seen.push(key);
                }
                counts[key] += 1.0;
            }
            for &k in &seen {
                out.push_at(slots[k], r.ts(i), counts[k])?;
                counts[k] = 0.0;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate_k(
        &mut self,
        op: AggregateOp,
        input: &[Series],
        gidx: &[usize],
        ngroups: usize,
        steps: &super::ByStep,
        params: &[f64],
        param_pos: Option<usize>,
        r: Range,
        out: &mut SeriesSet,
    ) -> Result<(), QueryError> {
        let mut groups: Vec<Vec<(usize, f64)>> = vec![Vec::new(); ngroups];
        let mut order: Vec<usize> = Vec::new();
        let mut slots: Vec<Option<usize>> = vec![None; input.len()];
        for (i, st) in steps.iter().enumerate() {
            self.check()?;
            let p = params.get(i).copied().unwrap_or(f64::NAN);
            let (k, ratio) = if op == AggregateOp::LimitRatio {
                if p.is_nan() {
                    return Err(QueryError::Execution("Ratio value is NaN".into()));
                }
                if !(-1.0..=1.0).contains(&p) {
                    self.warn_at(
                        format!(
                            "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}",
                            format_float(p),
                            if p < 0.0 { -1 } else { 1 }
                        ),
                        param_pos,
                    );
                }
                (0, p.clamp(-1.0, 1.0))
            } else {
                (int_param(p)?, 0.0)
            };
            if st.is_empty() || (op != AggregateOp::LimitRatio && k < 1) {
                continue;
            }
            order.clear();
            for g in groups.iter_mut() {
                g.clear();
            }
            for &(j, v) in st {
                let g = gidx[j];
                if groups[g].is_empty() {
                    order.push(g);
                }
                groups[g].push((j, v));
            }
            for &g in &order {
                let members = &mut groups[g];
                let ku = usize::try_from(k).unwrap_or(usize::MAX);
                match op {
                    AggregateOp::TopK => *members = super::topk_heap::select(members, ku, true),
                    AggregateOp::BottomK => *members = super::topk_heap::select(members, ku, false),
                    _ => {}
                }
                for (n, &(j, v)) in members.iter().enumerate() {
                    let take = match op {
                        AggregateOp::LimitRatio => ratio_selects(&input[j].metric, ratio),
                        _ => n < ku,
                    };
                    if take {
                        let slot = *slots[j].get_or_insert_with(|| out.slot(&input[j].metric));
                        out.push_at(slot, r.ts(i), v)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Prometheus's `Labels.Hash()`: XXH64 of `name \xff value \xff …`, so
/// `limit_ratio` picks the same series as Prometheus.
fn prometheus_labels_hash(l: &Labels) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    for x in l.iter() {
        h.update(x.name.as_bytes());
        h.update(&[0xff]);
        h.update(x.value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}

/// Whether `limit_ratio(ratio, …)` keeps a series: a deterministic position
/// in [0, 1] from the labels' hash.
fn ratio_selects(l: &Labels, ratio: f64) -> bool {
    let offset = prometheus_labels_hash(l) as f64 / u64::MAX as f64;
    if ratio >= 0.0 {
        offset < ratio
    } else {
        offset >= 1.0 + ratio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_survives_overflow() {
        assert_eq!(mean([1.0, 2.0, 3.0].into_iter()), 2.0);
        let big = f64::MAX;
        assert_eq!(mean([big, big].into_iter()), big);
        assert!(mean(std::iter::empty()).is_nan());
    }

    #[test]
    fn limit_ratio_hash_is_prometheus_xxh64() {
        // XXH64("a\xffb\xff") with seed 0, as Go's xxhash.Sum64 computes it.
        let l = promlite_model::labels!("a" => "b");
        assert_eq!(
            prometheus_labels_hash(&l),
            xxhash_rust::xxh64::xxh64(b"a\xffb\xff", 0)
        );
        assert!(ratio_selects(&l, 1.0));
        assert!(!ratio_selects(&l, 0.0));
        assert!(ratio_selects(&l, -1.0));
    }
}
