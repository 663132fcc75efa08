//! `histogram_quantile` over classic (`le` bucket) histograms.

use std::collections::HashMap;

use promlite_model::{Labels, METRIC_NAME};

use crate::error::QueryError;
use crate::eval::quantile::{bucket_fraction, bucket_quantile, Bucket};
use crate::eval::{group_index, Evaluator, Range, SeriesSet};
use crate::value::{format_float, Series};

/// Parses an `le` value like Go's `strconv.ParseFloat`.
fn parse_le(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    Some(v)
}

impl Evaluator<'_> {
    /// `histogram_quantile(φ, buckets)` over classic buckets.
    pub(crate) fn histogram_quantile(
        &mut self,
        phis: &[f64],
        phi_pos: Option<usize>,
        input: Vec<Series>,
        pos: Option<usize>,
        r: Range,
    ) -> Result<Vec<Series>, QueryError> {
        if let Some(&phi) = phis.iter().find(|p| p.is_nan() || **p < 0.0 || **p > 1.0) {
            self.warn_at(
                format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    format_float(phi)
                ),
                phi_pos,
            );
        }
        self.classic_buckets(input, pos, r, |i, bs| {
            let res = bucket_quantile(phis.get(i).copied().unwrap_or(f64::NAN), bs);
            (res.value, res.forced_monotonic)
        })
    }

    /// `histogram_fraction(lower, upper, buckets)` over classic buckets.
    pub(crate) fn histogram_fraction(
        &mut self,
        lower: &[f64],
        upper: &[f64],
        input: Vec<Series>,
        pos: Option<usize>,
        r: Range,
    ) -> Result<Vec<Series>, QueryError> {
        self.classic_buckets(input, pos, r, |i, bs| {
            let (lo, hi) = (
                lower.get(i).copied().unwrap_or(f64::NAN),
                upper.get(i).copied().unwrap_or(f64::NAN),
            );
            (bucket_fraction(lo, hi, bs), false)
        })
    }

    /// Groups `le` bucket series into histograms and applies `f(step,
    /// buckets) -> (value, forced monotonic)` to each at every step. `pos` is
    /// where the bucket argument starts in the query, for annotations.
    fn classic_buckets(
        &mut self,
        input: Vec<Series>,
        pos: Option<usize>,
        r: Range,
        mut f: impl FnMut(usize, &mut [Bucket]) -> (f64, bool),
    ) -> Result<Vec<Series>, QueryError> {
        // Group series by their labels without `le`.
        let mut gmap: HashMap<Labels, usize> = HashMap::new();
        let mut out_labels: Vec<Labels> = Vec::new();
        let mut next = 0;
        let mut members: Vec<(usize, f64, &Series)> = Vec::new();
        for s in &input {
            let le = s.metric.get("le").and_then(parse_le);
            let Some(le) = le else {
                self.warn_at(
                    format!(
                        "PromQL warning: bucket label \"le\" is missing or has a malformed value of \"{}\" for metric name \"{}\"",
                        s.metric.get_or_empty("le"),
                        s.metric.get_or_empty(METRIC_NAME)
                    ),
                    pos,
                );
                continue;
            };
            let mut b = s.metric.builder();
            b.del("le");
            let key = b.build();
            let g = group_index(&mut gmap, key.clone(), &mut next);
            if g == out_labels.len() {
                out_labels.push(crate::eval::drop_name(&key));
            }
            members.push((g, le, s));
        }
        let mut per_step: Vec<Vec<(usize, Bucket)>> = vec![Vec::new(); r.len()];
        for &(g, le, s) in &members {
            for p in &s.floats {
                if let Some(v) = per_step.get_mut(r.index(p.t)) {
                    v.push((
                        g,
                        Bucket {
                            upper: le,
                            count: p.f,
                        },
                    ));
                }
            }
        }
        let mut out = SeriesSet::new(r);
        let mut groups: Vec<Vec<Bucket>> = vec![Vec::new(); out_labels.len()];
        let mut order = Vec::new();
        for (i, st) in per_step.iter().enumerate() {
            self.check()?;
            order.clear();
            for &(g, b) in st {
                if groups[g].is_empty() {
                    order.push(g);
                }
                groups[g].push(b);
            }
            for &g in &order {
                let mut bs = std::mem::take(&mut groups[g]);
                let (value, forced) = f(i, &mut bs);
                if forced {
                    self.info_at(
                        "PromQL info: input to histogram_quantile needed to be fixed for monotonicity".into(),
                        pos,
                    );
                }
                out.push_point(&out_labels[g], r.ts(i), value)?;
                bs.clear();
                groups[g] = bs;
            }
        }
        out.finish()
    }
}
