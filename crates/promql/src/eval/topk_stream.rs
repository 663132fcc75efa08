//! `topk`/`bottomk` over a plain selector, fed series by series.
//!
//! The general path collects every selected series with its labels, then
//! regroups the points by step and picks the winners. For `topk(5, x)` at
//! one time over a hundred series that built a hundred label sets (symbol
//! lookups and an allocation each, freed again) for five answers; over a
//! range it also kept every point of every series and regrouped them all by
//! step. Here each series' value at a step is offered to that step's copy
//! of Prometheus's heap (the same operations as
//! [`super::topk_heap::select`], in the same series order, so the same
//! series win, ties included) as the series comes out of the selector, and
//! a series' labels are built only when it first enters a heap.

use promlite_model::Labels;

use super::parallel::Metric;
use super::topk_heap::Heap;
use super::{int_param, Evaluator, Range, SeriesSet, Val};
use crate::ast::{AggregateExpr, AggregateOp, Expr};
use crate::error::QueryError;
use crate::value::FPoint;

impl Evaluator<'_> {
    /// The answer of `a` (with its scalar parameter `params`, one per step)
    /// when it is `topk`/`bottomk` without grouping labels over an instant
    /// vector selector with the same usable `k >= 1` at every step; `None`
    /// otherwise (the general path then evaluates it, errors included).
    pub(crate) fn topk_streamed(
        &mut self,
        a: &AggregateExpr,
        r: Range,
        params: &[f64],
    ) -> Result<Option<Val>, QueryError> {
        let top = match a.op {
            AggregateOp::TopK => true,
            AggregateOp::BottomK => false,
            _ => return Ok(None),
        };
        // `without (…)` groups by the remaining labels; `by (…)` with names
        // needs them too. `by ()` (or no clause) is one group.
        if a.without || !a.grouping.is_empty() || r.len() == 0 {
            return Ok(None);
        }
        let mut e: &Expr = &a.expr;
        while let Expr::Paren(inner) = e {
            e = inner;
        }
        let Expr::VectorSelector(vs) = e else {
            return Ok(None);
        };
        let Some(&p) = params.first() else {
            return Ok(None);
        };
        // A `k` that changes from step to step (`topk(scalar(x), …)`), or
        // one per step missing, is the general path's.
        if params.len() != r.len() || params.iter().any(|q| q.to_bits() != p.to_bits()) {
            return Ok(None);
        }
        let k = match int_param(p) {
            Ok(k) if k >= 1 => usize::try_from(k).unwrap_or(usize::MAX),
            _ => return Ok(None),
        };
        // One heap per step; few steps have many members at once.
        let cap = if r.len() == 1 { k.min(64) } else { k.min(8) };
        let mut heaps: Vec<Heap> = (0..r.len()).map(|_| Heap::new(cap, k, top)).collect();
        // The labels of every series that entered a heap, indexed by the
        // member number given to the heaps.
        let mut entered: Vec<Labels> = Vec::new();
        let mut sink = |_: &mut Self, metric: Metric<'_>, points: Vec<FPoint>| {
            // This series' member number once it has entered a heap.
            let mut member: Option<usize> = None;
            for p in &points {
                // The general path keeps points by their step (`ByStep`).
                let Some(heap) = heaps.get_mut(r.index(p.t)) else {
                    continue;
                };
                let j = member.unwrap_or(entered.len());
                if heap.offer(j, p.f) && member.is_none() {
                    member = Some(j);
                    entered.push(metric.labels().clone());
                }
            }
            Ok(())
        };
        self.selector_points_each(vs, r, false, &mut sink)?;
        self.check()?;
        // Step by step, each step's winners best first: the general path's
        // order, so the answer's series come in the same order.
        let mut out = SeriesSet::new(r);
        let mut slots: Vec<Option<usize>> = vec![None; entered.len()];
        for (i, heap) in heaps.into_iter().enumerate() {
            for (j, v) in heap.finish() {
                let (Some(l), Some(slot)) = (entered.get(j), slots.get_mut(j)) else {
                    continue;
                };
                let at = *slot.get_or_insert_with(|| out.slot(l));
                out.push_at(at, r.ts(i), v)?;
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
    use crate::value::Value;

    /// Series with many ties (small integers), NaN, staleness markers,
    /// gaps, and series that end before the query time.
    fn storage() -> MemStorage {
        let s = MemStorage::new();
        let stale = f64::from_bits(promlite_model::STALE_NAN_BITS);
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..120u32 {
            let id = format!("{i:03}");
            let g = ["a", "b", "c"][(i % 3) as usize];
            let mut pts = Vec::new();
            for k in 0..80i64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if (i as i64 * 3 + k) % 11 == 0 {
                    continue;
                }
                if i % 17 == 5 && k > 40 {
                    break;
                }
                let v = match x % 29 {
                    0 => f64::NAN,
                    1 => stale,
                    _ if i % 2 == 0 => (x % 7) as f64,
                    _ => (x % 100_000) as f64 / 13.0 - 3000.0,
                };
                pts.push((k * 15_000, v));
            }
            s.insert(
                labels!("__name__" => "m", "g" => g, "i" => id.as_str()),
                &pts,
            );
        }
        s
    }

    fn bits(v: &Value) -> Vec<(String, i64, u64)> {
        match v {
            Value::Vector(v) => v
                .iter()
                .map(|s| (format!("{:?}", s.metric), s.t, s.f.to_bits()))
                .collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn streamed_topk_equals_the_general_path_bit_for_bit() {
        let s = storage();
        let e = Engine::default();
        let q = QueryOptions::default();
        let mut nonempty = 0;
        for op in ["topk", "bottomk"] {
            for k in ["1", "2", "5", "7", "119", "120", "500", "0", "-1", "2.9"] {
                for inner in ["m", "(m)", "m offset 1m", "m @ 600"] {
                    for by in ["", " by ()"] {
                        let fast = format!("{op}{by} ({k}, {inner})");
                        // A unary plus keeps the general path.
                        let slow = format!("{op}{by} ({k}, +{inner})");
                        for t in [0, 30_000, 600_000, 650_000, 1_185_000, 1_300_000, 9_000_000] {
                            let a = e.instant_query(&s, &fast, t, &q).unwrap();
                            let b = e.instant_query(&s, &slow, t, &q).unwrap();
                            // `+x` drops nothing but is a different
                            // expression: compare labels with the name.
                            assert_eq!(bits(&a.value), bits(&b.value), "{fast} at {t}");
                            nonempty += usize::from(!bits(&a.value).is_empty());
                        }
                    }
                }
            }
        }
        assert!(nonempty > 300, "{nonempty}");
        // Range queries: the same winners at every step, in the same order.
        let matrix = |v: &Value| match v {
            Value::Matrix(m) => m
                .iter()
                .map(|s| {
                    let pts: Vec<(i64, u64)> =
                        s.floats.iter().map(|p| (p.t, p.f.to_bits())).collect();
                    (format!("{:?}", s.metric), pts)
                })
                .collect::<Vec<_>>(),
            other => panic!("unexpected {other:?}"),
        };
        let mut points = 0;
        for op in ["topk", "bottomk"] {
            for k in ["1", "2", "5", "119", "500", "0", "2.9"] {
                for inner in ["m", "m offset 1m", "m @ 600"] {
                    let fast = format!("{op}({k}, {inner})");
                    let slow = format!("{op}({k}, +{inner})");
                    for (start, end, step) in [
                        (0, 1_300_000, 15_000),
                        (7_000, 1_200_000, 60_000),
                        (590_000, 700_000, 1_000),
                        (600_000, 600_000, 10_000),
                    ] {
                        let a = e.range_query(&s, &fast, start, end, step, &q).unwrap();
                        let b = e.range_query(&s, &slow, start, end, step, &q).unwrap();
                        assert_eq!(
                            matrix(&a.value),
                            matrix(&b.value),
                            "{fast} over {start}..{end}/{step}"
                        );
                        points += matrix(&a.value).iter().map(|x| x.1.len()).sum::<usize>();
                    }
                }
            }
        }
        assert!(points > 10_000, "{points}");
        // A `k` that changes per step takes the general path (the same
        // answer, or the same error where a step's `k` is NaN).
        for sel in ["m{i=\"000\"}", "m{i=\"001\"} / 500", "vector(time() / 100)"] {
            let run = |x: &str| {
                e.range_query(
                    &s,
                    &format!("topk(scalar({sel}), {x})"),
                    0,
                    1_200_000,
                    60_000,
                    &q,
                )
                .map(|r| matrix(&r.value))
            };
            assert_eq!(
                format!("{:?}", run("m")),
                format!("{:?}", run("+m")),
                "{sel}"
            );
        }
        // Errors are the general path's.
        for k in ["NaN", "1e300"] {
            let fast = format!("topk({k}, m)");
            let a = e.instant_query(&s, &fast, 600_000, &q).map(|_| ());
            let b = e
                .instant_query(&s, &format!("topk({k}, +m)"), 600_000, &q)
                .map(|_| ());
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            assert!(a.is_err());
        }
    }
}
