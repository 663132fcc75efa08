//! The experimental `info(v, {data selector})`: enrich series with the data
//! labels of info metrics (`target_info` by default) that share their
//! identifying labels (`instance`, `job`).

use std::collections::HashMap;

use promlite_model::{Labels, MatchOp, Matcher, METRIC_NAME};

use super::unwrap_parens;
use crate::ast::{AtModifier, Call, Expr, VectorSelector};
use crate::error::QueryError;
use crate::eval::{Evaluator, Range, SeriesSet, Val};

const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// The `@` and total offset that decide when the base series' samples are
/// read, following the first selector through functions and subqueries.
fn time_source(e: &Expr) -> Option<(Option<AtModifier>, i64)> {
    match unwrap_parens(e) {
        Expr::VectorSelector(vs) => Some((vs.at, vs.offset)),
        Expr::MatrixSelector(ms) => Some((ms.selector.at, ms.selector.offset)),
        Expr::Subquery(sq) => Some(match time_source(&sq.expr) {
            Some((Some(at), off)) => (Some(at), off),
            Some((None, off)) => (sq.at, sq.offset.saturating_add(off)),
            None => (sq.at, sq.offset),
        }),
        Expr::Call(c) => c.args.iter().find_map(|a| match a.value_type() {
            crate::ast::ValueType::Vector | crate::ast::ValueType::Matrix => time_source(a),
            _ => None,
        }),
        _ => None,
    }
}

fn id_key(l: &Labels) -> (String, String) {
    (
        l.get_or_empty(IDENTIFYING[0]).to_string(),
        l.get_or_empty(IDENTIFYING[1]).to_string(),
    )
}

impl Evaluator<'_> {
    /// `info(v [, selector])`.
    pub(crate) fn eval_info(&mut self, c: &Call, r: Range) -> Result<Val, QueryError> {
        let base_expr = c
            .args
            .first()
            .ok_or_else(|| QueryError::Execution("info needs an argument".into()))?;
        let base = self.eval_vector(base_expr, r)?;
        let sel_matchers: Vec<Matcher> = match c.args.get(1).map(unwrap_parens) {
            Some(Expr::VectorSelector(vs)) => vs.matchers.clone(),
            _ => Vec::new(),
        };
        let mut name_matchers: Vec<Matcher> = sel_matchers
            .iter()
            .filter(|m| m.name == METRIC_NAME)
            .cloned()
            .collect();
        if name_matchers.is_empty() {
            name_matchers.push(Matcher::equal(METRIC_NAME, "target_info"));
        } else if !name_matchers
            .iter()
            .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Regex))
        {
            // Only negative name matchers: choose among the `*_info` metrics.
            if let Ok(m) = Matcher::new(MatchOp::Regex, METRIC_NAME, ".+_info") {
                name_matchers.push(m);
            }
        }
        let data_matchers: Vec<&Matcher> = sel_matchers
            .iter()
            .filter(|m| m.name != METRIC_NAME)
            .collect();
        let has_positive = name_matchers
            .iter()
            .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Regex));
        let drop_unmatched = data_matchers.iter().any(|m| !m.matches_empty());

        // Info series, read at the same reference times as the base selector.
        let (at, offset) = time_source(base_expr).unwrap_or((None, 0));
        let info_sel = VectorSelector {
            name: None,
            matchers: name_matchers.clone(),
            offset,
            offset_expr: None,
            at,
            boundary: crate::ast::Boundary::Plain,
        };
        let infos = self.eval_selector_points(&info_sel, r, true)?;
        let mut by_id: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, s) in infos.iter().enumerate() {
            if data_matchers
                .iter()
                .all(|m| m.matches(s.metric.get_or_empty(&m.name)))
            {
                by_id.entry(id_key(&s.metric)).or_default().push(i);
            }
        }
        let mut out = SeriesSet::new(r);
        for s in base {
            self.check()?;
            let is_info = has_positive
                && name_matchers
                    .iter()
                    .all(|m| m.matches(s.metric.get_or_empty(METRIC_NAME)));
            let candidates = by_id.get(&id_key(&s.metric));
            if is_info || candidates.is_none() {
                if is_info || !drop_unmatched {
                    out.push(s.metric, s.floats)?;
                }
                continue;
            }
            let candidates = candidates.map(Vec::as_slice).unwrap_or(&[]);
            let mut cursors = vec![0usize; candidates.len()];
            for p in &s.floats {
                // Per info metric name, the series with the latest sample wins.
                let mut chosen: HashMap<&str, (f64, &Labels)> = HashMap::new();
                for (ci, &k) in candidates.iter().enumerate() {
                    let info = &infos[k];
                    let pts = &info.floats;
                    while cursors[ci] < pts.len() && pts[cursors[ci]].t < p.t {
                        cursors[ci] += 1;
                    }
                    if let Some(ip) = pts.get(cursors[ci]).filter(|ip| ip.t == p.t) {
                        let name = info.metric.get_or_empty(METRIC_NAME);
                        match chosen.get(name) {
                            Some((ts, _)) if *ts >= ip.f => {}
                            _ => {
                                chosen.insert(name, (ip.f, &info.metric));
                            }
                        }
                    }
                }
                if chosen.is_empty() {
                    if !drop_unmatched {
                        out.push_point(&s.metric, p.t, p.f)?;
                    }
                    continue;
                }
                let mut b = s.metric.builder();
                let mut added: HashMap<&str, &str> = HashMap::new();
                let mut names: Vec<&&str> = chosen.keys().collect();
                names.sort();
                for n in names {
                    let Some((_, il)) = chosen.get(*n) else {
                        continue;
                    };
                    for l in il.iter() {
                        if l.name == METRIC_NAME
                            || IDENTIFYING.contains(&l.name)
                            || s.metric.has(l.name)
                        {
                            continue;
                        }
                        if !data_matchers.is_empty()
                            && !data_matchers.iter().any(|m| m.name == l.name)
                        {
                            continue;
                        }
                        if let Some(prev) = added.insert(l.name, l.value) {
                            if prev != l.value {
                                return Err(QueryError::Execution(format!(
                                    "conflicting label {:?} from different info metrics: {:?} and {:?}",
                                    l.name, prev, l.value
                                )));
                            }
                        }
                        b.set(l.name, l.value);
                    }
                }
                out.push_point(&b.build(), p.t, p.f)?;
            }
        }
        Ok(Val::Vector(out.finish()?))
    }
}
