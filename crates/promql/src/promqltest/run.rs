//! Running parsed scripts against the engine and checking the results.

use std::collections::HashMap;

use promlite_model::{is_stale_nan, Labels, MemStorage, STALE_NAN};

use super::script::{parse_script, Command, Eval, EvalKind};
use super::series::Slot;
use crate::ast::{AtModifier, Expr};
use crate::engine::{Engine, EngineOptions, QueryOptions, QueryResult};
use crate::error::QueryError;
use crate::value::{format_float, Sample, Series, Value};

/// The outcome of one case (a `load` or `eval` command).
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    /// 1-based line of the command.
    pub line: usize,
    /// `None` when the case passed, else why it failed.
    pub error: Option<String>,
}

/// The engine settings the conformance scripts assume (§8 of FORMAT.md).
pub fn conformance_engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta_ms: 5 * 60 * 1000,
        default_eval_interval_ms: 60 * 1000,
        enable_experimental_functions: true,
        timeout: std::time::Duration::from_secs(100),
        ..EngineOptions::default()
    })
}

/// Runs a whole script with `engine`; one result per `load`, `eval` and
/// invalid line, in file order.
pub fn run_script(text: &str, engine: &Engine) -> Vec<CaseResult> {
    let storage = MemStorage::new();
    let mut out = Vec::new();
    // Native histograms loaded since the last `clear` (they are skipped), so
    // failures can be attributed.
    let mut histograms_loaded = false;
    let mut start_timestamps_loaded = false;
    for cmd in parse_script(text) {
        match cmd {
            Command::Clear => {
                storage.clear();
                histograms_loaded = false;
                start_timestamps_loaded = false;
            }
            Command::Invalid { line, message } => out.push(CaseResult {
                line,
                error: Some(message),
            }),
            Command::Load {
                line,
                step,
                series,
                errors,
            } => {
                histograms_loaded |= errors.iter().any(|e| e.contains("histogram"))
                    || series.iter().any(|(_, s)| s.contains(&Slot::Histogram));
                start_timestamps_loaded |= errors.iter().any(|e| e.contains("@st"));
                for (labels, slots) in series {
                    let samples: Vec<(i64, f64)> = slots
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| {
                            let t = (i as i64).saturating_mul(step);
                            match s {
                                Slot::Float(v) => Some((t, *v)),
                                Slot::Stale => Some((t, STALE_NAN)),
                                _ => None,
                            }
                        })
                        .collect();
                    if !samples.is_empty() {
                        storage.insert(labels, &samples);
                    }
                }
                let error = if errors.is_empty() {
                    None
                } else {
                    Some(errors.join("; "))
                };
                out.push(CaseResult { line, error });
            }
            Command::Eval(ev) => {
                let error = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_eval(&ev, &storage, engine)
                })) {
                    Ok(r) => r.err(),
                    Err(_) => Some("the engine panicked".to_string()),
                };
                let expects_histogram = ev.series.iter().any(|(_, s)| s.contains(&Slot::Histogram));
                let error = error.map(|e| {
                    let kind = if start_timestamps_loaded {
                        "[start timestamps] "
                    } else {
                        failure_kind(&e, histograms_loaded || expects_histogram)
                    };
                    format!("{kind}{e}")
                });
                out.push(CaseResult {
                    line: ev.line,
                    error,
                });
            }
        }
    }
    out
}

/// A short tag saying what a failure most likely needs.
fn failure_kind(e: &str, histograms: bool) -> &'static str {
    if e.contains("parse error") {
        "[syntax not supported by the parser] "
    } else if histograms {
        "[native histograms] "
    } else if e.contains("no warning matches") || e.contains("no info matches") {
        "[annotation text/position] "
    } else {
        ""
    }
}

/// The float equality of the scripts (§6.4).
pub fn float_eq(a: f64, b: f64) -> bool {
    const EPS: f64 = 1e-6;
    const MIN_NORMAL: f64 = 2.2250738585072014e-308;
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < EPS * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < EPS
}

fn run_eval(ev: &Eval, storage: &MemStorage, engine: &Engine) -> Result<(), String> {
    if let Some(e) = &ev.error {
        return Err(e.clone());
    }
    let opts = QueryOptions::default();
    match ev.kind {
        EvalKind::Instant(t) => {
            let t = ev.range_vector.map(|(_, to, _)| to).unwrap_or(t);
            instant_checks(ev, &ev.expr, t, storage, engine)?;
            // §7.1: with every selector pinned to `@ t`, other evaluation times
            // must give the same answers.
            let Some(pinned) = pinned_query(&ev.expr, t) else {
                return Ok(());
            };
            let times: Vec<i64> = if t == 0 {
                vec![-1000, 0, 1000]
            } else {
                vec![-10 * t, 0, t / 5, t, 10 * t]
            };
            for at in times {
                instant_checks(ev, &pinned, at, storage, engine)
                    .map_err(|e| format!("re-run of {pinned:?} at {at} ms: {e}"))?;
            }
            Ok(())
        }
        EvalKind::Range { start, end, step } => check(
            ev,
            engine.range_query(storage, &ev.expr, start, end, step, &opts),
        ),
    }
}

/// The expression with every selector and subquery lacking `@` pinned to
/// `@ t`, printed; `None` when the expression depends on the evaluation time.
fn pinned_query(expr: &str, t: i64) -> Option<String> {
    const TIME_FUNCS: [&str; 15] = [
        "time",
        "timestamp",
        "predict_linear",
        "minute",
        "hour",
        "day_of_week",
        "day_of_month",
        "day_of_year",
        "days_in_month",
        "month",
        "year",
        "start",
        "end",
        "range",
        "step",
    ];
    if ["start()", "end()"].iter().any(|f| expr.contains(f)) {
        return None;
    }
    let popts = crate::parser::ParserOptions {
        enable_experimental_functions: true,
        ..Default::default()
    };
    let mut e = crate::parser::parse_with(expr, &popts).ok()?;
    fn walk(e: &mut Expr, t: i64, time_dependent: &mut bool) {
        match e {
            Expr::VectorSelector(vs) => {
                vs.at.get_or_insert(AtModifier::Timestamp(t));
            }
            Expr::MatrixSelector(ms) => {
                ms.selector.at.get_or_insert(AtModifier::Timestamp(t));
            }
            Expr::Subquery(sq) => {
                if sq.at.is_none() {
                    sq.at = Some(AtModifier::Timestamp(t));
                }
            }
            Expr::Paren(inner) | Expr::Unary(_, inner) => walk(inner, t, time_dependent),
            Expr::Binary(b) => {
                walk(&mut b.lhs, t, time_dependent);
                walk(&mut b.rhs, t, time_dependent);
            }
            Expr::Aggregate(a) => {
                walk(&mut a.expr, t, time_dependent);
                if let Some(p) = a.param.as_mut() {
                    walk(p, t, time_dependent);
                }
            }
            Expr::Call(c) => {
                if TIME_FUNCS.contains(&c.func.as_str()) {
                    *time_dependent = true;
                }
                for a in c.args.iter_mut() {
                    walk(a, t, time_dependent);
                }
            }
            Expr::Number(_) | Expr::String(_) => {}
        }
    }
    let mut time_dependent = false;
    walk(&mut e, t, &mut time_dependent);
    if time_dependent {
        return None;
    }
    Some(e.to_string())
}

/// The primary check of an instant eval plus the range-mode cross-check (§7.2).
fn instant_checks(
    ev: &Eval,
    expr: &str,
    t: i64,
    storage: &MemStorage,
    engine: &Engine,
) -> Result<(), String> {
    let opts = QueryOptions::default();
    {
        {
            let res = engine.instant_query(storage, expr, t, &opts);
            let succeeded = res.is_ok();
            check(ev, res)?;
            let skip_cross = !succeeded
                || ev.fail.is_some()
                || ev.range_vector.is_some()
                || ev.string.is_some()
                || ["start()", "end()", "range()", "step()"]
                    .iter()
                    .any(|f| expr.contains(f));
            if !skip_cross {
                let rr = engine
                    .range_query(storage, expr, t - 60_000, t + 60_000, 60_000, &opts)
                    .map_err(|e| format!("range-mode check failed: {e}"))?;
                if !ev.ordered {
                    let Value::Matrix(m) = rr.value else {
                        return Err("range query returned no matrix".into());
                    };
                    check_sorted(&m).map_err(|e| format!("range-mode check: {e}"))?;
                    let v = if ev.scalar.is_some() {
                        let p = m.first().and_then(|s| s.floats.iter().find(|p| p.t == t));
                        Value::Scalar {
                            t,
                            v: p.map(|p| p.f).unwrap_or(f64::NAN),
                        }
                    } else {
                        Value::Vector(
                            m.iter()
                                .filter_map(|s| {
                                    s.floats.iter().find(|p| p.t == t).map(|p| Sample {
                                        metric: s.metric.clone(),
                                        t,
                                        f: p.f,
                                    })
                                })
                                .collect(),
                        )
                    };
                    compare(ev, &v).map_err(|e| format!("range-mode check: {e}"))?;
                }
            }
            Ok(())
        }
    }
}

fn check(ev: &Eval, res: Result<QueryResult, QueryError>) -> Result<(), String> {
    if let Some(m) = &ev.fail {
        return match res {
            Ok(_) => Err("expected the query to fail, it succeeded".into()),
            Err(e) if m.matches(&e.to_string()) => Ok(()),
            Err(e) => Err(format!("error {:?} does not match {m:?}", e.to_string())),
        };
    }
    let res = res.map_err(|e| format!("unexpected error: {e}"))?;
    check_annotations("warning", &ev.warn, ev.no_warn, &res.warnings)?;
    check_annotations("info", &ev.info, ev.no_info, &res.infos)?;
    compare(ev, &res.value)
}

fn check_annotations(
    kind: &str,
    want: &[super::script::TextMatch],
    none: bool,
    got: &[String],
) -> Result<(), String> {
    if none && !got.is_empty() {
        return Err(format!("expected no {kind}, got {got:?}"));
    }
    if want.is_empty() {
        return Ok(());
    }
    if got.is_empty() {
        return Err(format!("expected a {kind}, got none"));
    }
    for w in want {
        if !got.iter().any(|g| w.matches(g)) {
            return Err(format!("no {kind} matches {w:?}; got {got:?}"));
        }
    }
    for g in got {
        if !want.iter().any(|w| w.matches(g)) {
            return Err(format!("unexpected {kind} {g:?}"));
        }
    }
    Ok(())
}

fn check_sorted(m: &[Series]) -> Result<(), String> {
    if m.windows(2).all(|w| w[0].metric < w[1].metric) {
        Ok(())
    } else {
        Err("matrix is not sorted by labels".into())
    }
}

fn show(slots: &[Slot]) -> String {
    let v: Vec<String> = slots
        .iter()
        .map(|s| match s {
            Slot::Float(f) => format_float(*f),
            Slot::Empty => "_".into(),
            Slot::Stale => "stale".into(),
            Slot::Histogram => "{{…}}".into(),
        })
        .collect();
    v.join(" ")
}

/// Compares a result value with the expectations of `ev`.
fn compare(ev: &Eval, v: &Value) -> Result<(), String> {
    match v {
        Value::Scalar { v, .. } => match ev.scalar {
            Some(want) if float_eq(want, *v) => Ok(()),
            Some(want) => Err(format!(
                "expected scalar {}, got {}",
                format_float(want),
                format_float(*v)
            )),
            None => Err(format!(
                "expected a vector or matrix, got scalar {}",
                format_float(*v)
            )),
        },
        Value::String { v, .. } => match &ev.string {
            Some(s) if s == v => Ok(()),
            _ => Err(format!("unexpected string {v:?}")),
        },
        Value::Vector(samples) => {
            if ev.scalar.is_some() {
                return Err(format!(
                    "expected a scalar, got a vector of {}",
                    samples.len()
                ));
            }
            let mut want: Vec<(&Labels, f64)> = Vec::new();
            for (l, slots) in &ev.series {
                match slots.as_slice() {
                    [Slot::Float(f)] => want.push((l, *f)),
                    other => {
                        return Err(format!(
                            "expected value of {l} is not one float: {}",
                            show(other)
                        ))
                    }
                }
            }
            if want.len() != samples.len() {
                let got: Vec<String> = samples
                    .iter()
                    .map(|s| format!("{} {}", s.metric, format_float(s.f)))
                    .collect();
                return Err(format!(
                    "expected {} samples, got {}: {got:?}",
                    want.len(),
                    samples.len()
                ));
            }
            if ev.ordered {
                for (i, (s, (l, f))) in samples.iter().zip(want.iter()).enumerate() {
                    if &s.metric != *l || !float_eq(*f, s.f) {
                        return Err(format!(
                            "sample {} is {} {}, expected {} {}",
                            i + 1,
                            s.metric,
                            format_float(s.f),
                            l,
                            format_float(*f)
                        ));
                    }
                }
                return Ok(());
            }
            let by_labels: HashMap<&Labels, f64> = want.iter().copied().collect();
            for s in samples {
                match by_labels.get(&s.metric) {
                    Some(f) if float_eq(*f, s.f) => {}
                    Some(f) => {
                        return Err(format!(
                            "{}: expected {}, got {}",
                            s.metric,
                            format_float(*f),
                            format_float(s.f)
                        ))
                    }
                    None => {
                        return Err(format!(
                            "unexpected sample {} {}",
                            s.metric,
                            format_float(s.f)
                        ))
                    }
                }
            }
            Ok(())
        }
        Value::Matrix(m) => {
            if ev.ordered {
                return Err("expect ordered with a matrix result".into());
            }
            if ev.scalar.is_some() {
                return Err("expected a scalar, got a matrix".into());
            }
            check_sorted(m)?;
            let (start, step) = match (ev.range_vector, ev.kind) {
                (Some((from, _, step)), _) => (from, step),
                (None, EvalKind::Range { start, step, .. }) => (start, step),
                (None, EvalKind::Instant(_)) => return Err("unexpected range vector result".into()),
            };
            if m.len() != ev.series.len() {
                let got: Vec<String> = m.iter().map(|s| s.metric.to_string()).collect();
                return Err(format!(
                    "expected {} series, got {}: {got:?}",
                    ev.series.len(),
                    m.len()
                ));
            }
            let by_labels: HashMap<&Labels, &Vec<Slot>> =
                ev.series.iter().map(|(l, s)| (l, s)).collect();
            for s in m {
                let Some(slots) = by_labels.get(&s.metric) else {
                    return Err(format!("unexpected series {}", s.metric));
                };
                let want: Vec<(i64, &Slot)> = slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !matches!(s, Slot::Empty))
                    .map(|(i, s)| (start + i as i64 * step, s))
                    .collect();
                let got: Vec<String> = s
                    .floats
                    .iter()
                    .map(|p| format!("{}@{}", format_float(p.f), p.t))
                    .collect();
                if want.len() != s.floats.len() {
                    return Err(format!(
                        "{}: expected {}, got {got:?}",
                        s.metric,
                        show(slots)
                    ));
                }
                for ((t, w), p) in want.iter().zip(s.floats.iter()) {
                    let ok = match w {
                        Slot::Float(f) => *t == p.t && float_eq(*f, p.f),
                        _ => false,
                    };
                    if !ok {
                        return Err(format!(
                            "{}: expected {}, got {got:?}",
                            s.metric,
                            show(slots)
                        ));
                    }
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_rule() {
        assert!(float_eq(1.8333333333333333, 1.833333333));
        assert!(!float_eq(0.0, 1e-300));
        assert!(float_eq(f64::NAN, f64::NAN));
        assert!(!float_eq(STALE_NAN, f64::NAN));
        assert!(float_eq(f64::INFINITY, f64::INFINITY));
        assert!(!float_eq(1.0, 1.001));
    }
}

#[cfg(test)]
mod pin_tests {
    use super::*;

    #[test]
    fn pins_selectors_and_skips_time_functions() {
        let p = pinned_query(
            "sum(rate(m[5m])) + n offset 1m + max_over_time(x[5m:1m] @ 10)",
            3000,
        )
        .unwrap();
        let e = crate::parser::parse(&p).unwrap();
        let s = e.to_string();
        assert_eq!(s.matches("@ 3").count(), 2, "{s}");
        assert!(s.contains("@ 10"), "{s}");
        assert!(pinned_query("time() - m", 1).is_none());
        assert!(pinned_query("hour(m)", 1).is_none());
    }
}
