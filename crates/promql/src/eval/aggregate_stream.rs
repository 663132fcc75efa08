//! Aggregating series as they come out of a selector or a range function.
//!
//! `sum by (…) (rate(x[5m]))` used to collect every `rate` output series
//! (labels with the name dropped, hashed into a result set), regroup all
//! points by step and only then fold them into the groups. When the
//! aggregated expression is a plain selector or a range function over a
//! matrix selector, each series is instead folded into its group's per-step
//! accumulators the moment it arrives (on the query thread, in series
//! order, while other series are still decoded and evaluated on worker
//! threads).
//!
//! The answer is the same bit for bit: every `(group, step)` accumulator
//! receives the same values in the same order as before — series order —
//! which is all the floating-point results (Kahan sums, running means)
//! depend on. Output series come in first-seen group order as before.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use promlite_model::{Labels, MatchOp, METRIC_NAME};

use super::aggregate::{group_labels, Acc};
use super::binary::is_name_label;
use super::parallel::Metric;
use super::{group_index, Evaluator, Range, SeriesSet, Val};
use crate::ast::{AggregateExpr, AggregateOp, Expr};
use crate::error::QueryError;
use crate::functions::lookup;
use crate::value::FPoint;

/// Most `(group, step)` accumulators the streamed path holds; beyond that
/// (very many groups over many steps) the general path, whose memory
/// follows the points, is taken.
const MAX_ACCUMULATORS: usize = 1 << 20;

/// What feeds the streamed aggregation.
enum Input<'e> {
    /// An instant vector selector.
    Selector(&'e crate::ast::VectorSelector),
    /// A function over a matrix selector; `drops_name` when its output
    /// series lose the metric name.
    RangeCall(&'e crate::ast::Call, bool),
}

/// The input, when the streamed path applies to `a`.
fn streamable(a: &AggregateExpr) -> Option<Input<'_>> {
    if a.param.is_some()
        || !matches!(
            a.op,
            AggregateOp::Sum
                | AggregateOp::Avg
                | AggregateOp::Count
                | AggregateOp::Min
                | AggregateOp::Max
                | AggregateOp::Group
                | AggregateOp::Stddev
                | AggregateOp::Stdvar
        )
    {
        return None;
    }
    match unwrap(&a.expr) {
        Expr::VectorSelector(vs) => Some(Input::Selector(vs)),
        Expr::Call(c) => {
            let f = lookup(&c.func)?;
            if !f.arg_types.contains(&crate::ast::ValueType::Matrix) || c.func == "absent_over_time"
            {
                return None;
            }
            let drops = !super::functions::range_fn_keeps_name(&c.func);
            // Series are only known to stay distinct once the name is
            // dropped when they all share one name (checked again per
            // series for the type and unit labels that go with it).
            let named = c.args.iter().any(|e| match unwrap(e) {
                Expr::MatrixSelector(ms) => ms
                    .selector
                    .matchers
                    .iter()
                    .any(|m| m.name == METRIC_NAME && m.op == MatchOp::Equal),
                _ => false,
            });
            let matrix_arg = c
                .args
                .iter()
                .any(|e| matches!(unwrap(e), Expr::MatrixSelector(_)));
            (matrix_arg && (named || !drops)).then_some(Input::RangeCall(c, drops))
        }
        _ => None,
    }
}

fn unwrap(e: &Expr) -> &Expr {
    let mut e = e;
    while let Expr::Paren(inner) = e {
        e = inner;
    }
    e
}

/// Groups and their per-step accumulators.
struct Folder<'a> {
    a: &'a AggregateExpr,
    r: Range,
    steps: usize,
    drops_name: bool,
    /// `by` grouping that names a label dropped with the metric name.
    by_name_label: bool,
    gmap: HashMap<Labels, usize>,
    /// Groups by the hash of their grouping labels (see
    /// [`Folder::known_by_group`]); the key is a hash already.
    by_hash: HashMap<u64, Vec<usize>, BuildHasherDefault<HashKey>>,
    glabels: Vec<Labels>,
    /// `steps` accumulators per group.
    accs: Vec<Acc>,
    /// Set when a series has labels that could collide once the name is
    /// dropped: the caller then takes the general path.
    give_up: bool,
}

impl Folder<'_> {
    /// Whether groups are found from the grouping labels' values alone
    /// (`by (…)` where the group's labels are the series' own).
    fn by_values(&self) -> bool {
        !(self.a.without || self.drops_name && self.by_name_label)
    }

    /// The group of `metric` if it is already known, found without building
    /// its group label set: by the hash of its grouping labels, checked
    /// label by label against the group's labels. `sum(x)` and `by ()`
    /// have one group and need no labels at all.
    fn known_by_group(&self, metric: Metric<'_>) -> Option<usize> {
        if !self.by_values() {
            return None;
        }
        if self.a.grouping.is_empty() {
            // `sum(x)`, `by ()`: one group, the empty label set.
            return (!self.glabels.is_empty()).then_some(0);
        }
        // The grouping labels are read one by one: a block series then
        // needs no label set built (`count by (__name__) ({job="node"})`
        // built 4,900 sets to read one label of each).
        let get = |n: &str| label_value(metric, n);
        let h = group_hash_by(get, &self.a.grouping);
        self.by_hash.get(&h)?.iter().copied().find(|&g| {
            self.glabels
                .get(g)
                .is_some_and(|gl| self.a.grouping.iter().all(|n| get(n) == gl.get(n)))
        })
    }

    fn fold(&mut self, metric: Metric<'_>, points: &[FPoint]) -> bool {
        // A series without points does not make its group seen.
        if points.is_empty() {
            return true;
        }
        // Read label by label: `sum(rate(x[5m]))` needs no label set at all.
        if self.drops_name
            && (label_value(metric, "__type__").is_some()
                || label_value(metric, "__unit__").is_some())
        {
            self.give_up = true;
            return false;
        }
        let g = match self.known_by_group(metric) {
            Some(g) => g,
            None => {
                // `sum(x)`, `by ()`: the empty label set, no labels needed.
                let one_group = !self.a.without && self.a.grouping.is_empty();
                let gl = if one_group {
                    super::empty_labels()
                } else if self.drops_name && self.by_name_label {
                    group_labels(&super::drop_name(metric.labels()), self.a)
                } else {
                    group_labels(metric.labels(), self.a)
                };
                let mut next = self.glabels.len();
                let g = group_index(&mut self.gmap, gl.clone(), &mut next);
                if g == self.glabels.len() {
                    if self.accs.len() + self.steps > MAX_ACCUMULATORS {
                        self.give_up = true;
                        return false;
                    }
                    if self.by_values() && !one_group {
                        let h = group_hash(metric.labels(), &self.a.grouping);
                        self.by_hash.entry(h).or_default().push(g);
                    }
                    self.glabels.push(gl);
                    self.accs
                        .resize(self.accs.len() + self.steps, Acc::default());
                }
                g
            }
        };
        let op = self.a.op;
        let base = g * self.steps;
        let Some(accs) = self.accs.get_mut(base..base + self.steps) else {
            return true;
        };
        // The operator is matched once per series, not once per point:
        // each arm is the walk with its accumulator step inlined.
        let r = self.r;
        match op {
            AggregateOp::Sum => fold_points(accs, points, r, op, |a, f| a.add(AggregateOp::Sum, f)),
            AggregateOp::Avg => fold_points(accs, points, r, op, |a, f| a.add(AggregateOp::Avg, f)),
            AggregateOp::Count => {
                fold_points(accs, points, r, op, |a, f| a.add(AggregateOp::Count, f))
            }
            AggregateOp::Min => fold_points(accs, points, r, op, |a, f| a.add(AggregateOp::Min, f)),
            AggregateOp::Max => fold_points(accs, points, r, op, |a, f| a.add(AggregateOp::Max, f)),
            _ => fold_points(accs, points, r, op, |a, f| a.add(op, f)),
        }
        true
    }
}

/// Hashes a `u64` that is itself a hash ([`group_hash`]) by taking it as
/// it is: SipHash of the key was 60 instructions per series.
#[derive(Default)]
struct HashKey(u64);

impl Hasher for HashKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; anything else is folded in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The key under which a `by (…)` group is found: a hash of the grouping
/// labels' values in `grouping`'s order (absent ones marked as such), so
/// equal groups hash equally; a collision only costs the comparison of
/// the candidates' labels that follows. Each value is looked up by name
/// (`__name__`, the usual single grouping label of such queries, is a
/// set's first label) and the bytes hashed in one call, instead of
/// walking the whole set with a streaming hasher (`Labels::hash_for`:
/// 860 instructions per series of `count by (__name__) ({job="node"})`,
/// an eighth of the query).
pub(super) fn group_hash(l: &Labels, grouping: &[String]) -> u64 {
    group_hash_by(|n| l.get(n), grouping)
}

/// [`group_hash`] with the labels' values read by `get`.
fn group_hash_by<'a>(get: impl Fn(&str) -> Option<&'a str>, grouping: &[String]) -> u64 {
    use xxhash_rust::xxh3::xxh3_64_with_seed;
    let mut h = 0u64;
    for name in grouping {
        h = match get(name) {
            Some(v) => xxh3_64_with_seed(v.as_bytes(), h),
            // An absent label differs from an empty value.
            None => xxh3_64_with_seed(&[0xff], h ^ 0x9e37_79b9_7f4a_7c15),
        };
    }
    h
}

/// The value of one label of `metric`, without building a label set the
/// storage has not built yet ([`promlite_model::Series::label_value`]).
fn label_value<'a>(metric: Metric<'a>, name: &str) -> Option<&'a str> {
    match metric {
        Metric::Labels(l) => l.get(name),
        Metric::Series(s) => s.label_value(name),
    }
}

/// Folds one series' points into its group's per-step accumulators `accs`
/// (one per step of `r`): the first value of a step starts its
/// accumulator (`Acc::first` with `op`), later ones go through `add`.
#[inline(always)]
fn fold_points(
    accs: &mut [Acc],
    points: &[FPoint],
    r: Range,
    op: AggregateOp,
    add: impl Fn(&mut Acc, f64),
) {
    let mut guess = 0usize;
    for p in points {
        let i = if r.ts(guess) == p.t {
            guess
        } else {
            r.index(p.t)
        };
        guess = i.wrapping_add(1);
        let Some(acc) = accs.get_mut(i) else { continue };
        if acc.seen {
            add(acc, p.f);
        } else {
            acc.first(op, p.f);
        }
    }
}

impl Evaluator<'_> {
    /// `a` aggregated series by series as its input is produced, or `None`
    /// when the general path is needed (see the module documentation).
    pub(crate) fn aggregate_streamed(
        &mut self,
        a: &AggregateExpr,
        r: Range,
    ) -> Result<Option<Val>, QueryError> {
        let Some(input) = streamable(a) else {
            return Ok(None);
        };
        let drops_name = matches!(input, Input::RangeCall(_, true));
        let mut folder = Folder {
            a,
            r,
            steps: r.len(),
            drops_name,
            by_name_label: !a.without && a.grouping.iter().any(|g| is_name_label(g)),
            gmap: HashMap::new(),
            by_hash: HashMap::default(),
            glabels: Vec::new(),
            accs: Vec::new(),
            give_up: false,
        };
        let samples_before = self.samples;
        let mut sink = |_: &mut Self, metric: Metric<'_>, points: Vec<FPoint>| {
            if folder.fold(metric, &points) {
                Ok(())
            } else {
                // Stops the walk; the general path runs instead.
                Err(QueryError::Execution(String::new()))
            }
        };
        let res = match input {
            Input::Selector(vs) => self.selector_points_each(vs, r, false, &mut sink),
            Input::RangeCall(c, _) => self.range_call_each(c, r, &mut sink).map(|_| ()),
        };
        if folder.give_up {
            self.samples = samples_before;
            return Ok(None);
        }
        res?;
        let mut out = SeriesSet::new(r);
        let phi = f64::NAN;
        for (g, gl) in folder.glabels.iter().enumerate() {
            let slot = out.slot(gl);
            let base = g * folder.steps;
            let Some(accs) = folder.accs.get_mut(base..base + folder.steps) else {
                continue;
            };
            for (i, acc) in accs.iter_mut().enumerate() {
                if acc.seen {
                    out.push_at(slot, r.ts(i), acc.result(a.op, phi))?;
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
    use promlite_model::{labels, Labels, MemStorage};

    use crate::engine::{Engine, QueryOptions};
    use crate::value::Value;

    /// Counters and gauges in three groups with values of very different
    /// magnitudes (so summation order shows in the last bits), gaps and a
    /// counter reset. Enough series for the parallel path.
    fn storage() -> MemStorage {
        let s = MemStorage::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..150u32 {
            let g = ["a", "b", "c"][(i % 3) as usize];
            let id = format!("{i:03}");
            let mut c = 0.0f64;
            let (mut cs, mut gs) = (Vec::new(), Vec::new());
            for k in 0..200i64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if (i as i64 + k) % 17 == 0 {
                    continue; // a gap
                }
                c += (x % 1000) as f64 * 10f64.powi((x % 13) as i32 - 6);
                if k == 120 && i % 5 == 0 {
                    c = 1.0; // a reset
                }
                let g_val = (x % 100_000) as f64 / 7.0 * 10f64.powi((x % 9) as i32 - 4);
                cs.push((k * 15_000, c));
                gs.push((k * 15_000, g_val));
            }
            s.insert(
                labels!("__name__" => "c", "g" => g, "i" => id.as_str(), "job" => "j"),
                &cs,
            );
            s.insert(
                labels!("__name__" => "v", "g" => g, "i" => id.as_str(), "job" => "j"),
                &gs,
            );
        }
        s
    }

    fn bits(v: &Value) -> Vec<(Labels, Vec<(i64, u64)>)> {
        match v {
            Value::Matrix(m) => m
                .iter()
                .map(|s| {
                    let pts = s.floats.iter().map(|p| (p.t, p.f.to_bits())).collect();
                    (s.metric.clone(), pts)
                })
                .collect(),
            Value::Vector(v) => v
                .iter()
                .map(|s| (s.metric.clone(), vec![(s.t, s.f.to_bits())]))
                .collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    /// The streamed path gives exactly the general path's answer: the
    /// unary `+` (a no-op) makes the input non-streamable.
    #[test]
    fn streamed_answers_equal_the_general_path_bit_for_bit() {
        let s = storage();
        let e = Engine::default();
        let q = QueryOptions::default();
        let ops = [
            "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar",
        ];
        let inners = [
            "rate(c[1m])",
            "increase(c[2m])",
            "avg_over_time(v[1m])",
            "last_over_time(v[1m])",
            "v",
        ];
        let groupings = [
            "",
            " by (g)",
            " without (i)",
            " by (__name__)",
            " by (g, __name__)",
            " by (absent_label)",
            " by (job, g)",
        ];
        for op in ops {
            for inner in inners {
                for g in groupings {
                    let fast = format!("{op}{g} ({inner})");
                    let slow = format!("{op}{g} (+{inner})");
                    let a = e
                        .range_query(&s, &fast, 60_000, 2_985_000, 45_000, &q)
                        .unwrap();
                    let b = e
                        .range_query(&s, &slow, 60_000, 2_985_000, 45_000, &q)
                        .unwrap();
                    assert_eq!(bits(&a.value), bits(&b.value), "{fast}");
                    assert!(!bits(&a.value).is_empty(), "{fast}");
                    let a = e.instant_query(&s, &fast, 2_000_000, &q).unwrap();
                    let b = e.instant_query(&s, &slow, 2_000_000, &q).unwrap();
                    assert_eq!(bits(&a.value), bits(&b.value), "{fast} instant");
                }
            }
        }
    }

    /// Series of different lengths (some covering a part of the range, one
    /// a single sample), NaN values, staleness markers and steps no series
    /// has a sample for: every streamed operator (matched once per series)
    /// gives the general path's answer bit for bit.
    #[test]
    fn streamed_operators_over_uneven_series_equal_the_general_path() {
        let s = MemStorage::new();
        let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
        for i in 0..40i64 {
            let g = ["a", "b"][(i % 2) as usize];
            let id = format!("{i:02}");
            // Series i covers samples i*5 .. i*5 + 10 + i*7 (15 s apart).
            let from = i * 5;
            let pts: Vec<(i64, f64)> = (from..from + 10 + i * 7)
                .filter(|k| k % 60 < 30) // 450 s gaps: steps without samples
                .map(|k| {
                    let v = match (k + i) % 23 {
                        3 => f64::NAN,
                        7 => stale,
                        _ => ((k * 7919 + i * 31) % 1009) as f64 - 500.0,
                    };
                    (k * 15_000, v)
                })
                .collect();
            s.insert(
                labels!("__name__" => "u", "g" => g, "i" => id.as_str()),
                &pts,
            );
        }
        s.insert(
            labels!("__name__" => "u", "g" => "c", "i" => "x"),
            &[(600_000, 1.0)],
        );
        let e = Engine::default();
        let q = QueryOptions::default();
        for op in [
            "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar",
        ] {
            for g in ["", " by (g)"] {
                let fast = format!("{op}{g} (u)");
                let slow = format!("{op}{g} (+u)");
                let a = e.range_query(&s, &fast, 0, 6_000_000, 60_000, &q).unwrap();
                let b = e.range_query(&s, &slow, 0, 6_000_000, 60_000, &q).unwrap();
                assert_eq!(bits(&a.value), bits(&b.value), "{fast}");
                assert!(!bits(&a.value).is_empty(), "{fast}");
                if g.is_empty() {
                    // Some of the 101 steps have no sample in any series.
                    let n = bits(&a.value).first().map_or(0, |s| s.1.len());
                    assert!(n > 50 && n < 101, "{fast}: {n} points");
                }
            }
        }
    }

    /// Series that differ only in the type label collide once the name is
    /// dropped: the answer (here the error) is the general path's.
    #[test]
    fn colliding_series_fall_back_to_the_general_path() {
        let s = MemStorage::new();
        let pts: Vec<(i64, f64)> = (0..40).map(|k| (k * 15_000, k as f64)).collect();
        s.insert(
            labels!("__name__" => "c", "__type__" => "counter", "i" => "1"),
            &pts,
        );
        s.insert(
            labels!("__name__" => "c", "__type__" => "gauge", "i" => "1"),
            &pts,
        );
        let e = Engine::default();
        let q = QueryOptions::default();
        let fast = e.range_query(&s, "sum(rate(c[1m]))", 60_000, 540_000, 60_000, &q);
        let slow = e.range_query(&s, "sum(+rate(c[1m]))", 60_000, 540_000, 60_000, &q);
        assert_eq!(fast, slow);
        assert!(fast.is_err());
        // Without a name drop nothing collides.
        let a = e
            .range_query(
                &s,
                "sum(last_over_time(c[1m]))",
                60_000,
                540_000,
                60_000,
                &q,
            )
            .unwrap();
        let b = e
            .range_query(
                &s,
                "sum(+last_over_time(c[1m]))",
                60_000,
                540_000,
                60_000,
                &q,
            )
            .unwrap();
        assert_eq!(bits(&a.value), bits(&b.value));
    }

    /// The group key depends on the grouping labels' values only: equal
    /// for sets that agree on them whatever their other labels, different
    /// when a grouping label is absent or has another value, and
    /// order-sensitive across grouping names.
    #[test]
    fn group_hash_depends_on_the_grouping_values_only() {
        use super::group_hash;
        let g = |names: &[&str]| -> Vec<String> { names.iter().map(|n| n.to_string()).collect() };
        let a = labels!("__name__" => "up", "instance" => "a:1", "job" => "node");
        let b = labels!("__name__" => "up", "instance" => "b:2", "job" => "node", "zone" => "z");
        let c = labels!("__name__" => "down", "job" => "node");
        let d = labels!("instance" => "a:1", "job" => "node");
        let by_name = g(&["__name__"]);
        assert_eq!(group_hash(&a, &by_name), group_hash(&b, &by_name));
        assert_ne!(group_hash(&a, &by_name), group_hash(&c, &by_name));
        assert_ne!(group_hash(&a, &by_name), group_hash(&d, &by_name));
        let by_two = g(&["job", "__name__"]);
        assert_eq!(group_hash(&a, &by_two), group_hash(&b, &by_two));
        assert_ne!(group_hash(&a, &by_two), group_hash(&c, &by_two));
        let by_inst = g(&["instance"]);
        assert_ne!(group_hash(&a, &by_inst), group_hash(&b, &by_inst));
        assert_eq!(group_hash(&a, &by_inst), group_hash(&d, &by_inst));
        assert_eq!(
            group_hash(&c, &by_inst),
            group_hash(&Labels::empty(), &by_inst)
        );
        // `by (a, b)` with the values swapped is another group.
        let x = labels!("p" => "1", "q" => "2");
        let y = labels!("p" => "2", "q" => "1");
        let pq = g(&["p", "q"]);
        assert_ne!(group_hash(&x, &pq), group_hash(&y, &pq));
        assert_eq!(group_hash(&Labels::empty(), &[]), group_hash(&x, &[]));
    }
}
