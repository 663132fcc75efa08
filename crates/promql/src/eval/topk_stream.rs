//! `topk`/`bottomk` of an instant query over a plain selector, fed series by
//! series.
//!
//! The general path collects every selected series with its labels, then
//! regroups the points by step and picks the winners. For `topk(5, x)` at
//! one time over a hundred series that built a hundred label sets (symbol
//! lookups and an allocation each, freed again) for five answers. Here each
//! series' value is offered to Prometheus's heap (the same operations as
//! [`super::topk_heap::select`], in the same series order, so the same
//! series win, ties included) as the series comes out of the selector, and
//! a series' labels are built only when it enters the heap.

use promlite_model::Labels;

use super::parallel::Metric;
use super::topk_heap::Heap;
use super::{int_param, Evaluator, Range, SeriesSet, Val};
use crate::ast::{AggregateExpr, AggregateOp, Expr};
use crate::error::QueryError;
use crate::value::FPoint;

impl Evaluator<'_> {
    /// The answer of `a` (with its scalar parameter `params`, one per step)
    /// when it is `topk`/`bottomk` without grouping labels at a single step
    /// over an instant vector selector with a usable `k >= 1`; `None`
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
        if a.without || !a.grouping.is_empty() || r.len() != 1 {
            return Ok(None);
        }
        let mut e: &Expr = &a.expr;
        while let Expr::Paren(inner) = e {
            e = inner;
        }
        let Expr::VectorSelector(vs) = e else {
            return Ok(None);
        };
        let (Some(&p), 1) = (params.first(), params.len()) else {
            return Ok(None);
        };
        let k = match int_param(p) {
            Ok(k) if k >= 1 => usize::try_from(k).unwrap_or(usize::MAX),
            _ => return Ok(None),
        };
        let t = r.ts(0);
        let mut heap = Heap::new(k.min(64), k, top);
        // The labels of every series that entered the heap, indexed by the
        // member number given to the heap.
        let mut entered: Vec<Labels> = Vec::new();
        let mut sink = |_: &mut Self, metric: Metric<'_>, points: Vec<FPoint>| {
            for p in &points {
                // The general path keeps points by their step (`ByStep`).
                if r.index(p.t) != 0 {
                    continue;
                }
                if heap.offer(entered.len(), p.f) {
                    entered.push(metric.labels().clone());
                }
            }
            Ok(())
        };
        self.selector_points_each(vs, r, false, &mut sink)?;
        self.check()?;
        let mut out = SeriesSet::new(r);
        for (j, v) in heap.finish() {
            if let Some(l) = entered.get(j) {
                out.push_point(l, t, v)?;
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
