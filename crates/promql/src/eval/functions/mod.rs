//! The function library: dispatch by name, the helpers that need the
//! evaluator, and one file per family.

pub(crate) mod extended;
mod histogram;
mod info;
mod label;
mod math;

pub(crate) use label::with_label;
pub(crate) use math::{go_max, go_min};
mod over_time;
mod rate;
mod time;

use promlite_model::{Labels, MatchOp, METRIC_NAME};

use super::parallel::Metric;
use super::parallel::Read;
use super::selector::{PointSink, RangeInput};
use super::{Evaluator, Range, SeriesSet, StopSignal, Val};
use crate::ast::{Boundary, Call, Expr, StringLiteral, ValueType};
use crate::error::QueryError;
use crate::functions::lookup;
use crate::value::{FPoint, Series};

/// The window a range function sees at one step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    /// Exclusive start (ms).
    pub start: i64,
    /// Inclusive end (ms).
    pub end: i64,
    /// `end - start` in seconds (`as f64 / 1000.0`, computed once per
    /// query rather than per window).
    pub range_s: f64,
    /// The step's evaluation time.
    pub eval_t: i64,
}

/// The label value `histogram_quantiles` gives a quantile: always with a
/// decimal point (`0.0`, `0.25`, `1.0`).
fn quantile_label(phi: f64) -> String {
    let s = crate::value::format_float(phi);
    if phi.is_finite() && !s.contains(['.', 'e']) {
        format!("{s}.0")
    } else {
        s
    }
}

/// Strips parentheses.
fn unwrap_parens(e: &Expr) -> &Expr {
    let mut e = e;
    while let Expr::Paren(inner) = e {
        e = inner;
    }
    e
}

/// The labels `absent(…)`/`absent_over_time(…)` report: the equality
/// matchers of a plain selector argument.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match unwrap_parens(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.selector,
        _ => return Labels::empty(),
    };
    let mut b = Labels::empty().builder();
    let mut seen: Vec<&str> = Vec::new();
    for m in &vs.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !seen.contains(&m.name.as_str()) {
            b.set(m.name.clone(), m.value.clone());
        } else {
            b.del(&m.name);
        }
        seen.push(&m.name);
    }
    b.build()
}

impl Evaluator<'_> {
    /// Evaluates a function call.
    pub(crate) fn eval_call(&mut self, c: &Call, r: Range) -> Result<Val, QueryError> {
        let name = c.func.as_str();
        let Some(f) = lookup(name) else {
            return Err(QueryError::Execution(format!(
                "unknown function with name {name:?}"
            )));
        };
        if f.experimental && !self.experimental {
            return Err(QueryError::BadData(format!(
                "function {name:?} is not enabled"
            )));
        }
        if f.arg_types.contains(&ValueType::Matrix) {
            return self.range_call(c, r);
        }
        let n = r.len();
        match name {
            "time" => return Ok(Val::Scalar(r.iter().map(|t| t as f64 / 1000.0).collect())),
            "pi" => return Ok(Val::Scalar(vec![std::f64::consts::PI; n])),
            "step" => return Ok(Val::Scalar(vec![self.query_step as f64 / 1000.0; n])),
            "start" => return Ok(Val::Scalar(vec![self.query_start as f64 / 1000.0; n])),
            "end" => return Ok(Val::Scalar(vec![self.query_end as f64 / 1000.0; n])),
            "range" => {
                return Ok(Val::Scalar(vec![
                    (self.query_end - self.query_start) as f64
                        / 1000.0;
                    n
                ]))
            }
            "min_of" | "max_of" => {
                let a = self.eval_arg_scalar(c, 0, r)?;
                let b = self.eval_arg_scalar(c, 1, r)?;
                let pick = if name == "min_of" {
                    math::go_min
                } else {
                    math::go_max
                };
                return Ok(Val::Scalar(
                    a.iter().zip(b.iter()).map(|(&x, &y)| pick(x, y)).collect(),
                ));
            }
            "vector" => {
                let s = self.eval_arg_scalar(c, 0, r)?;
                let floats = s
                    .iter()
                    .enumerate()
                    .map(|(i, &f)| FPoint { t: r.ts(i), f })
                    .collect();
                return Ok(Val::Vector(vec![Series {
                    metric: Labels::empty(),
                    floats,
                }]));
            }
            "scalar" => {
                let v = self.eval_arg_vector(c, 0, r)?;
                let mut count = vec![0u32; n];
                let mut val = vec![f64::NAN; n];
                for s in &v {
                    for p in &s.floats {
                        let i = r.index(p.t);
                        if let (Some(cn), Some(vv)) = (count.get_mut(i), val.get_mut(i)) {
                            *cn += 1;
                            *vv = p.f;
                        }
                    }
                }
                let out = count
                    .iter()
                    .zip(val)
                    .map(|(&cn, v)| if cn == 1 { v } else { f64::NAN })
                    .collect();
                return Ok(Val::Scalar(out));
            }
            "timestamp" => {
                let arg = c.args.first().map(unwrap_parens);
                let v = match arg {
                    Some(Expr::VectorSelector(vs)) => self.eval_selector_points(vs, r, true)?,
                    _ => {
                        let mut v = self.eval_arg_vector(c, 0, r)?;
                        for s in v.iter_mut() {
                            for p in s.floats.iter_mut() {
                                p.f = p.t as f64 / 1000.0;
                            }
                        }
                        v
                    }
                };
                return self.map_series(v, r, true, |_, f| Some(f));
            }
            "absent" => {
                let v = self.eval_arg_vector(c, 0, r)?;
                let mut present = vec![false; n];
                for s in &v {
                    for p in &s.floats {
                        if let Some(x) = present.get_mut(r.index(p.t)) {
                            *x = true;
                        }
                    }
                }
                let floats: Vec<FPoint> = present
                    .iter()
                    .enumerate()
                    .filter(|(_, &p)| !p)
                    .map(|(i, _)| FPoint { t: r.ts(i), f: 1.0 })
                    .collect();
                let metric = c.args.first().map(absent_labels).unwrap_or_default();
                let out = if floats.is_empty() {
                    Vec::new()
                } else {
                    vec![Series { metric, floats }]
                };
                return Ok(Val::Vector(out));
            }
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc"
                if self.query_step != 0 =>
            {
                self.warn_at(
                    "PromQL warning: sort is ineffective for range queries since results are always ordered by labels"
                        .into(),
                    c.pos.start(),
                );
                // Evaluate the arguments for their errors and annotations; order is moot.
                let v = self.eval_arg_vector(c, 0, r)?;
                return Ok(Val::Vector(v));
            }
            "sort" | "sort_desc" => {
                let mut v = self.eval_arg_vector(c, 0, r)?;
                let desc = name == "sort_desc";
                v.sort_by(|a, b| {
                    let (x, y) = (
                        a.floats.first().map(|p| p.f).unwrap_or(f64::NAN),
                        b.floats.first().map(|p| p.f).unwrap_or(f64::NAN),
                    );
                    match (x.is_nan(), y.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if desc => y.partial_cmp(&x).unwrap_or(std::cmp::Ordering::Equal),
                        _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                    }
                });
                return Ok(Val::Vector(v));
            }
            "sort_by_label" | "sort_by_label_desc" => {
                let mut v = self.eval_arg_vector(c, 0, r)?;
                // A name that is not UTF-8 is no series' label: "" for all.
                let mut names = Vec::new();
                for i in 1..c.args.len() {
                    names.push(self.eval_arg_string(c, i, r)?.as_str().map(str::to_string));
                }
                let desc = name == "sort_by_label_desc";
                v.sort_by(|a, b| {
                    let mut o = std::cmp::Ordering::Equal;
                    for l in &names {
                        let l = l.as_deref();
                        o = label::natural_cmp(
                            label::value_of(&a.metric, l),
                            label::value_of(&b.metric, l),
                        );
                        if o != std::cmp::Ordering::Equal {
                            break;
                        }
                    }
                    let o = o.then_with(|| a.metric.cmp(&b.metric));
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
                return Ok(Val::Vector(v));
            }
            "label_replace" => {
                // The string arguments are checked before the vector is
                // evaluated, as in Prometheus.
                let dst = self.eval_arg_string(c, 1, r)?;
                let repl = self.eval_arg_string(c, 2, r)?;
                let src = self.eval_arg_string(c, 3, r)?;
                let re = self.eval_arg_string(c, 4, r)?;
                let re = label::compile_replace_regex(&re)?;
                let Some(dst) = dst.as_label_name() else {
                    return Err(QueryError::Execution(format!(
                        "invalid destination label name in label_replace(): {dst}"
                    )));
                };
                // A replacement that is not UTF-8 gives U+FFFD in the values.
                let repl = repl.to_string_lossy();
                let v = self.eval_arg_vector(c, 0, r)?;
                let mut out = SeriesSet::new(r);
                let mut buf = String::new();
                for s in v {
                    let l = label::replace(&s.metric, &re, dst, &repl, src.as_str(), &mut buf);
                    out.push(l, s.floats)?;
                }
                return Ok(Val::Vector(out.finish()?));
            }
            "label_join" => {
                let dst = self.eval_arg_string(c, 1, r)?;
                let sep = self.eval_arg_string(c, 2, r)?;
                let mut srcs = Vec::new();
                for i in 3..c.args.len() {
                    let src = self.eval_arg_string(c, i, r)?;
                    let Some(name) = src.as_label_name() else {
                        return Err(QueryError::Execution(format!(
                            "invalid source label name in label_join(): {src}"
                        )));
                    };
                    srcs.push(name.to_string());
                }
                let Some(dst) = dst.as_label_name() else {
                    return Err(QueryError::Execution(format!(
                        "invalid destination label name in label_join(): {dst}"
                    )));
                };
                // A separator that is not UTF-8 gives U+FFFD in the values.
                let sep = sep.to_string_lossy();
                let v = self.eval_arg_vector(c, 0, r)?;
                let mut out = SeriesSet::new(r);
                for s in v {
                    out.push(label::join(&s.metric, dst, &sep, &srcs), s.floats)?;
                }
                return Ok(Val::Vector(out.finish()?));
            }
            "info" => return self.eval_info(c, r),
            "histogram_quantile" => {
                let phis = self.eval_arg_scalar(c, 0, r)?;
                let v = self.eval_arg_vector(c, 1, r)?;
                return Ok(Val::Vector(self.histogram_quantile(
                    &phis,
                    c.pos.arg(0),
                    v,
                    c.pos.arg(1),
                    r,
                )?));
            }
            "histogram_quantiles" => {
                let v = self.eval_arg_vector(c, 0, r)?;
                let label = self.eval_arg_string(c, 1, r)?;
                let Some(label) = label.as_label_name().map(str::to_string) else {
                    return Err(QueryError::Execution(format!(
                        "invalid label name {}",
                        label.quoted()
                    )));
                };
                let mut out = SeriesSet::new(r);
                for i in 2..c.args.len() {
                    let phis = self.eval_arg_scalar(c, i, r)?;
                    let value = quantile_label(phis.first().copied().unwrap_or(f64::NAN));
                    for s in
                        self.histogram_quantile(&phis, c.pos.arg(i), v.clone(), c.pos.arg(0), r)?
                    {
                        let mut b = s.metric.builder();
                        b.set(label.clone(), value.clone());
                        out.push(b.build(), s.floats)?;
                    }
                }
                return Ok(Val::Vector(out.finish()?));
            }
            "histogram_fraction" => {
                let lower = self.eval_arg_scalar(c, 0, r)?;
                let upper = self.eval_arg_scalar(c, 1, r)?;
                let v = self.eval_arg_vector(c, 2, r)?;
                return Ok(Val::Vector(self.histogram_fraction(
                    &lower,
                    &upper,
                    v,
                    c.pos.arg(2),
                    r,
                )?));
            }
            "histogram_avg" | "histogram_count" | "histogram_sum" | "histogram_stddev"
            | "histogram_stdvar" => {
                // Only native histograms carry these; float samples are ignored.
                for (i, a) in c.args.iter().enumerate() {
                    if a.value_type() == ValueType::Vector {
                        self.eval_arg_vector(c, i, r)?;
                    }
                }
                return Ok(Val::Vector(Vec::new()));
            }
            "clamp" | "clamp_min" | "clamp_max" | "round" => {
                let v = self.eval_arg_vector(c, 0, r)?;
                let a = if c.args.len() > 1 {
                    self.eval_arg_scalar(c, 1, r)?
                } else {
                    vec![1.0; n]
                };
                let b = if c.args.len() > 2 {
                    self.eval_arg_scalar(c, 2, r)?
                } else {
                    vec![f64::NAN; n]
                };
                let idx = |t: i64| r.index(t);
                return self.map_series(v, r, true, |t, f| {
                    let i = idx(t);
                    let (x, y) = (
                        a.get(i).copied().unwrap_or(f64::NAN),
                        b.get(i).copied().unwrap_or(f64::NAN),
                    );
                    match name {
                        "clamp" if y < x => None,
                        "clamp" => Some(math::go_max(x, math::go_min(y, f))),
                        "clamp_min" => Some(math::go_max(f, x)),
                        "clamp_max" => Some(math::go_min(f, x)),
                        _ => Some(math::round(f, x)),
                    }
                });
            }
            _ => {}
        }
        if time::is_calendar(name) {
            let v = if c.args.is_empty() {
                let floats = r
                    .iter()
                    .map(|t| FPoint {
                        t,
                        f: t as f64 / 1000.0,
                    })
                    .collect();
                vec![Series {
                    metric: Labels::empty(),
                    floats,
                }]
            } else {
                self.eval_arg_vector(c, 0, r)?
            };
            return self.map_series(v, r, true, |_, f| Some(time::calendar(name, f)));
        }
        if let Some(func) = math::simple(name) {
            let v = self.eval_arg_vector(c, 0, r)?;
            return self.map_series(v, r, true, |_, f| Some(func(f)));
        }
        Err(QueryError::Execution(format!(
            "function {name:?} is not supported"
        )))
    }

    /// Applies `f(t, value)` to every point, optionally dropping the metric
    /// name; series that end up with the same labels are merged.
    fn map_series(
        &mut self,
        v: Vec<Series>,
        r: Range,
        drop: bool,
        f: impl Fn(i64, f64) -> Option<f64>,
    ) -> Result<Val, QueryError> {
        let mut out = SeriesSet::new(r);
        for s in v {
            self.check()?;
            let pts: Vec<FPoint> = s
                .floats
                .iter()
                .filter_map(|p| f(p.t, p.f).map(|x| FPoint { t: p.t, f: x }))
                .collect();
            let metric = if drop {
                crate::eval::drop_name(&s.metric)
            } else {
                s.metric
            };
            out.push(metric, pts)?;
        }
        Ok(Val::Vector(out.finish()?))
    }

    fn arg<'e>(&self, c: &'e Call, i: usize) -> Result<&'e Expr, QueryError> {
        c.args.get(i).ok_or_else(|| {
            QueryError::Execution(format!("missing argument {} of {}", i + 1, c.func))
        })
    }

    fn eval_arg_scalar(&mut self, c: &Call, i: usize, r: Range) -> Result<Vec<f64>, QueryError> {
        let a = self.arg(c, i)?;
        self.eval_scalar(a, r)
    }

    fn eval_arg_vector(&mut self, c: &Call, i: usize, r: Range) -> Result<Vec<Series>, QueryError> {
        let a = self.arg(c, i)?;
        self.eval_vector(a, r)
    }

    fn eval_arg_string(
        &mut self,
        c: &Call,
        i: usize,
        r: Range,
    ) -> Result<StringLiteral, QueryError> {
        let a = self.arg(c, i)?;
        self.eval_string(a, r)
    }

    /// Loads a range-vector argument.
    fn range_input<'e>(&mut self, e: &'e Expr, r: Range) -> Result<RangeInput<'e>, QueryError> {
        match unwrap_parens(e) {
            Expr::MatrixSelector(ms) => self.matrix_selector_input(ms, r),
            Expr::Subquery(sq) => self.subquery_input(sq, r),
            _ => Err(QueryError::Execution(
                "expected a range vector argument".into(),
            )),
        }
    }

    /// Functions taking a range vector.
    fn range_call(&mut self, c: &Call, r: Range) -> Result<Val, QueryError> {
        let keep_name = range_fn_keeps_name(&c.func);
        let mut out = SeriesSet::new(r);
        let whole = self.range_call_each(c, r, &mut |_, metric, pts| {
            let metric = if keep_name {
                metric.labels().clone()
            } else {
                crate::eval::drop_name(metric.labels())
            };
            out.push(metric, pts)
        })?;
        match whole {
            Some(v) => Ok(v),
            None => Ok(Val::Vector(out.finish()?)),
        }
    }

    /// Evaluates a function over a range vector and hands each input
    /// series' labels (as selected: the name is not dropped yet, see
    /// [`range_fn_keeps_name`]) and result points to `sink`, in series
    /// order. Returns the whole answer instead for `absent_over_time`.
    pub(crate) fn range_call_each(
        &mut self,
        c: &Call,
        r: Range,
        sink: &mut PointSink<'_, Self>,
    ) -> Result<Option<Val>, QueryError> {
        let name = c.func.as_str();
        let n = r.len();
        let margi = if name == "quantile_over_time" { 1 } else { 0 };
        // Scalar parameters first (Prometheus evaluates arguments in order).
        let mut params: Vec<Vec<f64>> = Vec::new();
        for (i, a) in c.args.iter().enumerate() {
            if i != margi {
                params.push(self.eval_scalar(a, r)?);
            }
        }
        let input = self.range_input(self.arg(c, margi)?, r)?;
        check_boundary(input.boundary, name)?;
        let boundary = input.boundary;
        let p = |k: usize, i: usize| {
            params
                .get(k)
                .and_then(|v| v.get(i))
                .copied()
                .unwrap_or(f64::NAN)
        };
        if name == "absent_over_time" {
            let mut present = vec![false; n];
            self.each_range_series(&input, |_, _, samples| {
                input.windows(samples, |i, _| {
                    if let Some(x) = present.get_mut(i) {
                        *x = true;
                    }
                });
                Ok(())
            })?;
            let floats: Vec<FPoint> = present
                .iter()
                .enumerate()
                .filter(|(_, &p)| !p)
                .map(|(i, _)| FPoint { t: r.ts(i), f: 1.0 })
                .collect();
            let metric = absent_labels(self.arg(c, margi)?);
            return Ok(Some(Val::Vector(if floats.is_empty() {
                Vec::new()
            } else {
                vec![Series { metric, floats }]
            })));
        }
        if name == "quantile_over_time" {
            if let Some(&phi) = params
                .first()
                .and_then(|v| v.iter().find(|p| p.is_nan() || **p < 0.0 || **p > 1.0))
            {
                self.warn_at(
                    format!(
                        "PromQL warning: quantile value should be between 0 and 1, got {}",
                        crate::value::format_float(phi)
                    ),
                    c.pos.arg(0),
                );
            }
        }
        if name == "double_exponential_smoothing" {
            for i in 0..n {
                let (sf, tf) = (p(0, i), p(1, i));
                if !(sf > 0.0 && sf < 1.0) {
                    return Err(QueryError::Execution(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
                    )));
                }
                if !(tf > 0.0 && tf < 1.0) {
                    return Err(QueryError::Execution(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
                    )));
                }
            }
        }
        let Some(kind) = RangeFn::from_name(name) else {
            return Err(QueryError::Execution(format!(
                "function {name:?} is not supported"
            )));
        };
        let smoothed = boundary == Boundary::Smoothed;
        // `count` is the number of samples in the window: `s.len()`, or more
        // when storage left out samples (only over a whole selection, see
        // below).
        let func =
            |s: &[(i64, f64)], w: &Window, i: usize, resets: bool, count: usize| -> Option<f64> {
                if boundary != Boundary::Plain {
                    let (a, b) = (w.start, w.end);
                    return match kind {
                        RangeFn::Rate => {
                            extended::extended_rate(s, a, b, w.range_s, true, true, smoothed)
                        }
                        RangeFn::Increase => {
                            extended::extended_rate(s, a, b, w.range_s, true, false, smoothed)
                        }
                        RangeFn::Delta => {
                            extended::extended_rate(s, a, b, w.range_s, false, false, smoothed)
                        }
                        RangeFn::Changes => rate::changes(extended::anchored_samples(s, a)?),
                        RangeFn::Resets => rate::resets(extended::anchored_samples(s, a)?),
                        // Refused by `check_boundary`.
                        _ => None,
                    };
                }
                match kind {
                    RangeFn::Rate => rate::extrapolated_rate_n(s, count, w, true, true, resets),
                    RangeFn::Increase => {
                        rate::extrapolated_rate_n(s, count, w, true, false, resets)
                    }
                    RangeFn::Delta => rate::extrapolated_rate(s, w, false, false, resets),
                    RangeFn::Irate => rate::instant_value(s, true),
                    RangeFn::Idelta => rate::instant_value(s, false),
                    RangeFn::Deriv => rate::deriv(s),
                    RangeFn::PredictLinear => rate::predict_linear(s, w.eval_t, p(0, i)),
                    RangeFn::Changes => rate::changes(s),
                    RangeFn::Resets => rate::resets(s),
                    RangeFn::Avg => Some(over_time::avg(s)),
                    RangeFn::Sum => Some(over_time::sum(s)),
                    RangeFn::Min => Some(over_time::min(s)),
                    RangeFn::Max => Some(over_time::max(s)),
                    RangeFn::Count => Some(count as f64),
                    RangeFn::Last => s.last().map(|x| x.1),
                    RangeFn::First => s.first().map(|x| x.1),
                    RangeFn::Present => Some(1.0),
                    RangeFn::Stdvar => Some(over_time::stdvar(s)),
                    RangeFn::Stddev => Some(over_time::stdvar(s).sqrt()),
                    RangeFn::Quantile => Some(over_time::quantile_of(p(0, i), s)),
                    RangeFn::Mad => Some(over_time::mad(s)),
                    RangeFn::TsOfLast => s.last().map(|x| x.0 as f64 / 1000.0),
                    RangeFn::TsOfFirst => s.first().map(|x| x.0 as f64 / 1000.0),
                    RangeFn::TsOfMax => Some(over_time::ts_of_extreme(s, true)),
                    RangeFn::TsOfMin => Some(over_time::ts_of_extreme(s, false)),
                    RangeFn::DoubleExponentialSmoothing => {
                        over_time::double_exponential_smoothing(s, p(0, i), p(1, i))
                    }
                }
            };
        let counter = matches!(kind, RangeFn::Rate | RangeFn::Increase);
        let input = &input;
        let stop_base = self.stop_signal();
        // Pure per-series work (may run on worker threads): the points and
        // the widest window. A canceled or timed-out query skips the rest of
        // the steps; the sink's `check` then reports it.
        let range_s = input.range as f64 / 1000.0;
        // `hidden` samples left out by storage (see `count` above): only
        // with a single window holding every sample read.
        let compute = |samples: &[(i64, f64)], hidden: usize| -> Option<(Vec<FPoint>, usize)> {
            // Made at the 64th window: the caller checks before each series,
            // and a check here at the first window read the clock (and
            // cloned the cancel flag) once per series, 1.7 % of an instant
            // `rate` over 392 series.
            let mut stop: Option<StopSignal> = None;
            let resets = counter && rate::may_reset(samples);
            // `changes`/`resets` over many steps: each window's count is a
            // difference of running counts of the series' changes (falls)
            // instead of a scan of the window. The counts are exact
            // integers, so the answer is the same.
            let running = (n > 1
                && boundary == Boundary::Plain
                && matches!(kind, RangeFn::Changes | RangeFn::Resets))
            .then(|| rate::running_counts(samples, kind == RangeFn::Resets));
            let mut pts = Vec::with_capacity(n.min(samples.len()));
            let mut widest = 0usize;
            let mut stopped = false;
            input.windows_at(samples, |i, first, w| {
                // Polled every 64 windows: a window costs tens of ns.
                if i & 63 == 63 {
                    stopped = stopped || stop.get_or_insert_with(|| stop_base.clone()).fired();
                }
                if stopped {
                    return;
                }
                let count = if w.len() == samples.len() {
                    w.len() + hidden
                } else {
                    w.len()
                };
                widest = widest.max(count);
                let end = input.ends.get(i).copied().unwrap_or(0);
                let win = Window {
                    start: end.saturating_sub(input.range),
                    end,
                    range_s,
                    eval_t: r.ts(i),
                };
                let v = match &running {
                    Some(c) => rate::window_count(c, first, w.len()),
                    None => func(w, &win, i, resets, count),
                };
                if let Some(v) = v {
                    pts.push(FPoint { t: r.ts(i), f: v });
                }
            });
            Some((pts, widest))
        };
        let sink = |ev: &mut Self, metric: Metric<'_>, (pts, widest): (Vec<FPoint>, usize)| {
            ev.check()?;
            ev.check_transient(widest)?;
            ev.add_samples(pts.len())?;
            sink(ev, metric, pts)
        };
        // `rate`/`increase` at a single step need only the first and last
        // samples, the count and the falls of each window: storage may
        // leave out the middle of runs that never fall (chunks flagged
        // monotone), which it then need not decode.
        // `max_over_time`/`min_over_time` at a single step need only the
        // extreme value (with its bits), the NaNs and `-0`s and the count:
        // storage may fold runs without NaN and `-0` into their extreme
        // without handing out (or storing) their values.
        // `count_over_time`/`present_over_time` need only the count: the
        // same fold, whose runs hold no staleness marker (session 15).
        // `last_over_time` (and `ts_of_last_over_time`) need only the
        // newest sample that is not a staleness marker, which storage
        // usually has without decoding anything; `irate` and `idelta` the
        // newest two.
        let read = match kind {
            RangeFn::Max | RangeFn::Count | RangeFn::Present => Some(Read::Extreme { max: true }),
            RangeFn::Min => Some(Read::Extreme { max: false }),
            RangeFn::Last | RangeFn::TsOfLast => Some(Read::NewestLive),
            RangeFn::Irate | RangeFn::Idelta => Some(Read::NewestTwoLive),
            _ if counter => Some(Read::Thin),
            _ => None,
        };
        match read {
            Some(read) if boundary == Boundary::Plain && input.whole_selection() => {
                self.map_range_series_as(input, read, compute, sink)?;
            }
            _ => self.map_range_series(input, |s| compute(s, 0), sink)?,
        }
        Ok(None)
    }
}

/// Prometheus's `AnchoredSafeFunctions` / `SmoothedSafeFunctions`: the
/// functions whose answer is defined over a window with extended edges.
fn check_boundary(b: Boundary, func: &str) -> Result<(), QueryError> {
    let allowed: &[&str] = match b {
        Boundary::Plain => return Ok(()),
        Boundary::Anchored => &["changes", "delta", "increase", "rate", "resets"],
        Boundary::Smoothed => &["delta", "increase", "rate"],
    };
    if allowed.contains(&func) {
        return Ok(());
    }
    Err(QueryError::Execution(format!(
        "{} modifier can only be used with: {} - not with {func}",
        b.keyword().unwrap_or(""),
        allowed.join(", ")
    )))
}

/// Whether the function over a range vector keeps the metric name.
pub(crate) fn range_fn_keeps_name(name: &str) -> bool {
    matches!(name, "last_over_time" | "first_over_time")
}

/// The functions over a range vector, resolved once per call instead of
/// matching the name at every step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RangeFn {
    Rate,
    Increase,
    Delta,
    Irate,
    Idelta,
    Deriv,
    PredictLinear,
    Changes,
    Resets,
    Avg,
    Sum,
    Min,
    Max,
    Count,
    Last,
    First,
    Present,
    Stdvar,
    Stddev,
    Quantile,
    Mad,
    TsOfLast,
    TsOfFirst,
    TsOfMax,
    TsOfMin,
    DoubleExponentialSmoothing,
}

impl RangeFn {
    /// The function called `name` (`absent_over_time` is handled apart).
    fn from_name(name: &str) -> Option<RangeFn> {
        Some(match name {
            "rate" => RangeFn::Rate,
            "increase" => RangeFn::Increase,
            "delta" => RangeFn::Delta,
            "irate" => RangeFn::Irate,
            "idelta" => RangeFn::Idelta,
            "deriv" => RangeFn::Deriv,
            "predict_linear" => RangeFn::PredictLinear,
            "changes" => RangeFn::Changes,
            "resets" => RangeFn::Resets,
            "avg_over_time" => RangeFn::Avg,
            "sum_over_time" => RangeFn::Sum,
            "min_over_time" => RangeFn::Min,
            "max_over_time" => RangeFn::Max,
            "count_over_time" => RangeFn::Count,
            "last_over_time" => RangeFn::Last,
            "first_over_time" => RangeFn::First,
            "present_over_time" => RangeFn::Present,
            "stdvar_over_time" => RangeFn::Stdvar,
            "stddev_over_time" => RangeFn::Stddev,
            "quantile_over_time" => RangeFn::Quantile,
            "mad_over_time" => RangeFn::Mad,
            "ts_of_last_over_time" => RangeFn::TsOfLast,
            "ts_of_first_over_time" => RangeFn::TsOfFirst,
            "ts_of_max_over_time" => RangeFn::TsOfMax,
            "ts_of_min_over_time" => RangeFn::TsOfMin,
            "double_exponential_smoothing" => RangeFn::DoubleExponentialSmoothing,
            _ => return None,
        })
    }
}
