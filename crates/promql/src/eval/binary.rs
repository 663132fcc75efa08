//! Binary operators: arithmetic, comparisons, set operators, vector matching.

use std::collections::{HashMap, HashSet};

use promlite_model::Labels;

use super::{Evaluator, Range, SeriesSet, Val};
use crate::ast::{BinOp, BinaryExpr, Cardinality, VectorMatching};
use crate::error::QueryError;
use crate::value::{FPoint, Series};

/// Applies `op` to two floats. Returns the value and whether to keep it
/// (comparisons give the left value and the comparison's outcome).
pub(crate) fn apply(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (l + r, true),
        BinOp::Sub => (l - r, true),
        BinOp::Mul => (l * r, true),
        BinOp::Div => (l / r, true),
        BinOp::Mod => (l % r, true),
        BinOp::Pow => (l.powf(r), true),
        BinOp::Atan2 => (l.atan2(r), true),
        BinOp::Eql => (l, l == r),
        BinOp::Neq => (l, l != r),
        BinOp::Gtr => (l, l > r),
        BinOp::Lss => (l, l < r),
        BinOp::Gte => (l, l >= r),
        BinOp::Lte => (l, l <= r),
        BinOp::And | BinOp::Or | BinOp::Unless => (l, true),
    }
}

/// Arithmetic operators drop the metric name.
fn drops_name(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Pow | BinOp::Atan2
    )
}

/// Prints labels the way Prometheus's `Labels.String()` does: `{a="b", c="d"}`.
pub(crate) fn labels_string(l: &Labels) -> String {
    let parts: Vec<String> = l
        .iter()
        .map(|x| format!("{}={:?}", x.name, x.value))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Labels that go with the metric name: ignored by `ignoring`-style matching.
pub(crate) fn is_name_label(n: &str) -> bool {
    matches!(n, "__name__" | "__type__" | "__unit__")
}

/// The matching signature of a series: xxh3 of the matching labels'
/// names and values, each followed by a `0xff` byte (no label text holds
/// one: it is UTF-8). SipHash took most of a one-to-one match's time on
/// a few hundred series.
fn signature(l: &Labels, m: &VectorMatching) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for x in l.iter() {
        // Without any matching labels the type and unit labels are ignored
        // along with the name; an explicit `ignoring(…)` only drops the name.
        let keep = if m.on {
            m.labels.iter().any(|n| n == x.name)
        } else if m.labels.is_empty() {
            !is_name_label(x.name)
        } else {
            x.name != "__name__" && !m.labels.iter().any(|n| n == x.name)
        };
        if keep {
            h.update(x.name.as_bytes());
            h.update(&[0xff]);
            h.update(x.value.as_bytes());
            h.update(&[0xff]);
        }
    }
    h.digest()
}

/// The labels used for matching (for error messages).
fn match_labels(l: &Labels, m: &VectorMatching) -> Labels {
    let mut b = l.builder();
    if m.on {
        b.retain(|x| m.labels.contains(&x.name));
    } else {
        b.retain(|x| !is_name_label(&x.name) && !m.labels.contains(&x.name));
    }
    b.build()
}

/// The labels of a vector/vector result (`one` is the "one" side).
///
/// The labels kept of `many` are copied as encoded
/// ([`Labels::retain_names`]; `many` itself is shared when all are kept);
/// only `group_left`/`group_right` labels taken from `one` go through a
/// builder.
fn result_metric(many: &Labels, one: &Labels, b: &BinaryExpr) -> Labels {
    let m = &b.matching;
    let drop_name = drops_name(b.op) || b.return_bool;
    let one_to_one = m.card == Cardinality::OneToOne;
    let keep = |name: &str| {
        if drop_name && is_name_label(name) {
            return false;
        }
        if one_to_one {
            return m.on == m.labels.iter().any(|l| l == name);
        }
        true
    };
    let kept = many.retain_names(keep).unwrap_or_else(|| many.clone());
    if m.include.is_empty() {
        return kept;
    }
    let mut lb = kept.builder();
    for ln in &m.include {
        match one.get(ln) {
            Some(v) if !v.is_empty() => {
                lb.set(ln.clone(), v.to_string());
            }
            _ => {
                lb.del(ln);
            }
        }
    }
    lb.build()
}

impl Evaluator<'_> {
    /// Evaluates a binary expression.
    pub(crate) fn eval_binary(&mut self, b: &BinaryExpr, r: Range) -> Result<Val, QueryError> {
        let lhs = self.eval(&b.lhs, r)?;
        let rhs = self.eval(&b.rhs, r)?;
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(rv)) => Ok(Val::Scalar(
                l.iter()
                    .zip(rv.iter())
                    .map(|(&a, &c)| {
                        let (v, keep) = apply(b.op, a, c);
                        if b.op.is_comparison() {
                            if keep {
                                1.0
                            } else {
                                0.0
                            }
                        } else {
                            v
                        }
                    })
                    .collect(),
            )),
            (Val::Vector(l), Val::Scalar(s)) => self.vector_scalar(b, l, &s, false, r),
            (Val::Scalar(s), Val::Vector(rv)) => self.vector_scalar(b, rv, &s, true, r),
            (Val::Vector(l), Val::Vector(rv)) => match b.op {
                BinOp::And | BinOp::Or | BinOp::Unless => self.set_op(b, l, rv, r),
                _ => self.vector_vector(b, l, rv, r),
            },
            _ => Err(QueryError::Execution(format!(
                "invalid operand types for binary operator {}",
                b.op.as_str()
            ))),
        }
    }

    fn vector_scalar(
        &mut self,
        b: &BinaryExpr,
        vs: Vec<Series>,
        s: &[f64],
        scalar_left: bool,
        r: Range,
    ) -> Result<Val, QueryError> {
        let drop = drops_name(b.op) || b.return_bool;
        let mut out = SeriesSet::new(r);
        for series in vs {
            self.check()?;
            let mut pts = Vec::with_capacity(series.floats.len());
            for p in &series.floats {
                let sv = s.get(r.index(p.t)).copied().unwrap_or(f64::NAN);
                let (l, rv) = if scalar_left { (sv, p.f) } else { (p.f, sv) };
                let (mut v, keep) = apply(b.op, l, rv);
                if b.op.is_comparison() {
                    if b.return_bool {
                        v = if keep { 1.0 } else { 0.0 };
                    } else if keep {
                        v = p.f;
                    } else {
                        continue;
                    }
                }
                pts.push(FPoint { t: p.t, f: v });
            }
            let metric = if drop {
                crate::eval::drop_name(&series.metric)
            } else {
                series.metric
            };
            out.push(metric, pts)?;
        }
        Ok(Val::Vector(out.finish()?))
    }

    fn set_op(
        &mut self,
        b: &BinaryExpr,
        l: Vec<Series>,
        rv: Vec<Series>,
        r: Range,
    ) -> Result<Val, QueryError> {
        let m = &b.matching;
        let lsig: Vec<u64> = l.iter().map(|s| signature(&s.metric, m)).collect();
        let rsig: Vec<u64> = rv.iter().map(|s| signature(&s.metric, m)).collect();
        let lsteps = super::ByStep::new(&l, r);
        let rsteps = super::ByStep::new(&rv, r);
        let mut out = SeriesSet::new(r);
        let mut lslot: Vec<Option<usize>> = vec![None; l.len()];
        let mut rslot: Vec<Option<usize>> = vec![None; rv.len()];
        let mut set = HashSet::new();
        for (i, (ls, rs)) in lsteps.iter().zip(rsteps.iter()).enumerate() {
            self.check()?;
            let t = r.ts(i);
            set.clear();
            match b.op {
                BinOp::And | BinOp::Unless => {
                    set.extend(rs.iter().map(|&(j, _)| rsig[j]));
                    let want = b.op == BinOp::And;
                    for &(j, v) in ls {
                        if set.contains(&lsig[j]) == want {
                            let slot = *lslot[j].get_or_insert_with(|| out.slot(&l[j].metric));
                            out.push_at(slot, t, v)?;
                        }
                    }
                }
                _ => {
                    for &(j, v) in ls {
                        set.insert(lsig[j]);
                        let slot = *lslot[j].get_or_insert_with(|| out.slot(&l[j].metric));
                        out.push_at(slot, t, v)?;
                    }
                    for &(j, v) in rs {
                        if !set.contains(&rsig[j]) {
                            let slot = *rslot[j].get_or_insert_with(|| out.slot(&rv[j].metric));
                            out.push_at(slot, t, v)?;
                        }
                    }
                }
            }
        }
        Ok(Val::Vector(out.finish()?))
    }

    fn vector_vector(
        &mut self,
        b: &BinaryExpr,
        l: Vec<Series>,
        rv: Vec<Series>,
        r: Range,
    ) -> Result<Val, QueryError> {
        let m = &b.matching;
        let swap = m.card == Cardinality::OneToMany;
        let (many, one) = if swap { (rv, l) } else { (l, rv) };
        let msig: Vec<u64> = many.iter().map(|s| signature(&s.metric, m)).collect();
        let osig: Vec<u64> = one.iter().map(|s| signature(&s.metric, m)).collect();
        if let Some(v) = self.vector_vector_by_series(b, &many, &one, &msig, &osig, swap, r)? {
            return Ok(Val::Vector(v));
        }
        let msteps = super::ByStep::new(&many, r);
        let osteps = super::ByStep::new(&one, r);
        let mut out = SeriesSet::new(r);
        let mut metrics: HashMap<(usize, usize), (Labels, usize)> = HashMap::new();
        let mut one_by_sig: HashMap<u64, (usize, f64)> = HashMap::new();
        let mut matched: HashMap<u64, HashSet<Labels>> = HashMap::new();
        for (i, (ms, os)) in msteps.iter().zip(osteps.iter()).enumerate() {
            self.check()?;
            if ms.is_empty() || os.is_empty() {
                continue;
            }
            let t = r.ts(i);
            one_by_sig.clear();
            matched.clear();
            for &(j, v) in os {
                if let Some(&(k, _)) = one_by_sig.get(&osig[j]) {
                    let (mut a, mut c) =
                        (labels_string(&one[j].metric), labels_string(&one[k].metric));
                    if c < a {
                        std::mem::swap(&mut a, &mut c);
                    }
                    let side = if swap { "left" } else { "right" };
                    return Err(QueryError::Execution(format!(
                        "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        labels_string(&match_labels(&one[j].metric, m)),
                        side,
                        a,
                        c
                    )));
                }
                one_by_sig.insert(osig[j], (j, v));
            }
            for &(j, v) in ms {
                let sig = msig[j];
                let Some(&(k, ov)) = one_by_sig.get(&sig) else {
                    continue;
                };
                let (fl, fr) = if swap { (ov, v) } else { (v, ov) };
                let (mut val, keep) = apply(b.op, fl, fr);
                let (metric, slot) = match metrics.get(&(j, k)) {
                    Some(x) => x,
                    None => {
                        let l = result_metric(&many[j].metric, &one[k].metric, b);
                        let slot = out.slot(&l);
                        metrics.entry((j, k)).or_insert((l, slot))
                    }
                };
                let seen = matched.entry(sig).or_default();
                if m.card == Cardinality::OneToOne {
                    if !seen.is_empty() {
                        return Err(QueryError::Execution(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                                .into(),
                        ));
                    }
                } else if seen.contains(metric) {
                    return Err(QueryError::Execution(
                        "multiple matches for labels: grouping labels must ensure unique matches"
                            .into(),
                    ));
                }
                seen.insert(metric.clone());
                if b.return_bool {
                    val = if keep { 1.0 } else { 0.0 };
                } else if !keep {
                    continue;
                }
                out.push_at(*slot, t, val)?;
            }
        }
        Ok(Val::Vector(out.finish()?))
    }
}

impl Evaluator<'_> {
    /// The common case, matched a series pair at a time: every signature
    /// occurs once on the "one" side (and once on the "many" side for
    /// one-to-one), and all result label sets differ. Then no step can hit
    /// a matching error and the pairs' points are merged directly, without
    /// per-step hashing. Returns `None` when the general path is needed.
    #[allow(clippy::too_many_arguments)]
    fn vector_vector_by_series(
        &mut self,
        b: &BinaryExpr,
        many: &[Series],
        one: &[Series],
        msig: &[u64],
        osig: &[u64],
        swap: bool,
        r: Range,
    ) -> Result<Option<Vec<Series>>, QueryError> {
        let mut one_idx: HashMap<u64, usize> = HashMap::with_capacity(one.len());
        for (k, &sig) in osig.iter().enumerate() {
            if one_idx.insert(sig, k).is_some() {
                return Ok(None);
            }
        }
        let mut pairs: Vec<(usize, usize, Labels)> = Vec::new();
        let mut seen_sig: HashSet<u64> = HashSet::new();
        let mut seen_metric: HashSet<Labels> = HashSet::new();
        for (j, sig) in msig.iter().enumerate() {
            let Some(&k) = one_idx.get(sig) else { continue };
            if b.matching.card == Cardinality::OneToOne && !seen_sig.insert(*sig) {
                return Ok(None);
            }
            let metric = result_metric(&many[j].metric, &one[k].metric, b);
            if !seen_metric.insert(metric.clone()) {
                return Ok(None);
            }
            pairs.push((j, k, metric));
        }
        let mut out = SeriesSet::new(r);
        for (j, k, metric) in pairs {
            self.check()?;
            let (mp, op) = (&many[j].floats, &one[k].floats);
            let mut pts = Vec::with_capacity(mp.len().min(op.len()));
            let mut oi = 0;
            for p in mp {
                while oi < op.len() && op[oi].t < p.t {
                    oi += 1;
                }
                let Some(o) = op.get(oi).filter(|o| o.t == p.t) else {
                    continue;
                };
                let (fl, fr) = if swap { (o.f, p.f) } else { (p.f, o.f) };
                let (mut val, keep) = apply(b.op, fl, fr);
                if b.return_bool {
                    val = if keep { 1.0 } else { 0.0 };
                } else if !keep {
                    continue;
                }
                pts.push(FPoint { t: p.t, f: val });
            }
            out.push(metric, pts)?;
        }
        Ok(Some(out.finish()?))
    }
}
