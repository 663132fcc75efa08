//! `/api/v1/rules` and `/api/v1/alerts`.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use axum::extract::State;
use promlite_model::Matcher;
use serde_json::{json, Value as Json};

use super::{match_sets, rfc3339};
use crate::gofmt::format_e;
use crate::json::labels_json;
use crate::params::Params;
use crate::providers::{AlertView, Health, RuleGroupView, RuleView};
use crate::response::{ApiResponse, ApiResult};
use crate::{ApiError, ApiState};

fn health(h: Health) -> &'static str {
    match h {
        Health::Good => "ok",
        Health::Bad => "err",
        Health::Unknown => "unknown",
    }
}

/// An alert as Prometheus's API shows it (value in Go's `%e` form).
pub(crate) fn alert_json(a: &AlertView) -> Json {
    let mut o = json!({
        "labels": labels_json(&a.labels),
        "annotations": labels_json(&a.annotations),
        "state": a.state,
        "value": format_e(a.value),
    });
    if let Some(t) = a.active_at_ms {
        o["activeAt"] = json!(rfc3339(Some(t)));
    }
    if let Some(t) = a.keep_firing_since_ms {
        o["keepFiringSince"] = json!(rfc3339(Some(t)));
    }
    o
}

fn rule_json(r: &RuleView, with_alerts: bool) -> Json {
    match r {
        RuleView::Alerting(a) => {
            let mut o = json!({
                "state": a.state,
                "name": a.name,
                "query": a.query,
                "duration": a.duration_s,
                "keepFiringFor": a.keep_firing_for_s,
                "labels": labels_json(&a.labels),
                "annotations": labels_json(&a.annotations),
                "health": health(a.health),
                "evaluationTime": a.evaluation_time_s,
                "lastEvaluation": rfc3339(a.last_evaluation_ms),
                "type": "alerting",
            });
            if with_alerts {
                o["alerts"] = Json::Array(a.alerts.iter().map(alert_json).collect());
            }
            if !a.last_error.is_empty() {
                o["lastError"] = json!(a.last_error);
            }
            o
        }
        RuleView::Recording(r) => {
            let mut o = json!({
                "name": r.name,
                "query": r.query,
                "health": health(r.health),
                "evaluationTime": r.evaluation_time_s,
                "lastEvaluation": rfc3339(r.last_evaluation_ms),
                "type": "recording",
            });
            if !r.labels.is_empty() {
                o["labels"] = labels_json(&r.labels);
            }
            if !r.last_error.is_empty() {
                o["lastError"] = json!(r.last_error);
            }
            o
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

fn group_token(g: &RuleGroupView) -> String {
    let mut h = DefaultHasher::new();
    g.file.hash(&mut h);
    g.name.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn matches_any(sets: &[Vec<Matcher>], r: &RuleView) -> bool {
    sets.is_empty()
        || sets.iter().any(|ms| {
            ms.iter()
                .all(|m| m.matches(r.labels().get_or_empty(&m.name)))
        })
}

/// `GET|POST /api/v1/rules` with `type`, `rule_name[]`, `rule_group[]`,
/// `file[]`, `match[]`, `exclude_alerts`, `group_limit`, `group_next_token`.
pub async fn rules(State(state): State<ApiState>, p: Params) -> ApiResult {
    let typ = p.get("type").unwrap_or("").to_ascii_lowercase();
    if !matches!(typ.as_str(), "" | "alert" | "record") {
        return Err(ApiError::invalid_param(
            "type",
            format!("not supported value {typ:?}"),
        ));
    }
    let exclude_alerts = match p.get("exclude_alerts") {
        None => false,
        Some(s) => parse_bool(s).map_err(|e| ApiError::invalid_param("exclude_alerts", e))?,
    };
    let set = |k: &str| {
        p.get_all(k)
            .into_iter()
            .map(String::from)
            .collect::<HashSet<String>>()
    };
    let (names, groups, files) = (set("rule_name[]"), set("rule_group[]"), set("file[]"));
    let sets = match_sets(&p)?;
    let group_limit = match p.get("group_limit") {
        None => None,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Some(n as usize),
            _ => {
                return Err(ApiError::invalid_param(
                    "group_limit",
                    "group_limit needs to be greater than 0",
                ))
            }
        },
    };
    let next_token = p.get("group_next_token");
    if next_token.is_some() && group_limit.is_none() {
        return Err(ApiError::invalid_param(
            "group_next_token",
            "group_limit needs to be present in order to paginate over the groups",
        ));
    }
    let mut out = Vec::new();
    let mut seen_token = next_token.is_none();
    let mut next = None;
    for g in state.rules.as_ref().map(|r| r.groups()).unwrap_or_default() {
        if (!groups.is_empty() && !groups.contains(&g.name))
            || (!files.is_empty() && !files.contains(&g.file))
        {
            continue;
        }
        if !seen_token {
            if Some(group_token(&g).as_str()) == next_token {
                seen_token = true;
            } else {
                continue;
            }
        }
        let rules: Vec<Json> = g
            .rules
            .iter()
            .filter(|r| names.is_empty() || names.contains(r.name()))
            .filter(|r| match r {
                RuleView::Alerting(_) => typ != "record",
                RuleView::Recording(_) => typ != "alert",
            })
            .filter(|r| matches_any(&sets, r))
            .map(|r| rule_json(r, !exclude_alerts))
            .collect();
        if rules.is_empty() {
            continue;
        }
        if group_limit.is_some_and(|l| out.len() >= l) {
            next = Some(group_token(&g));
            break;
        }
        out.push(json!({
            "name": g.name,
            "file": g.file,
            "rules": rules,
            "interval": g.interval_s,
            "limit": g.limit,
            "evaluationTime": g.evaluation_time_s,
            "lastEvaluation": rfc3339(g.last_evaluation_ms),
        }));
    }
    if !seen_token {
        return Err(ApiError::invalid_param(
            "group_next_token",
            "invalid group_next_token",
        ));
    }
    let mut data = json!({"groups": out});
    if let Some(t) = next {
        data["groupNextToken"] = json!(t);
    }
    Ok(ApiResponse::of(&data))
}

/// `GET|POST /api/v1/alerts`.
pub async fn alerts(State(state): State<ApiState>) -> ApiResult {
    let alerts: Vec<Json> = state
        .rules
        .as_ref()
        .map(|r| r.alerts())
        .unwrap_or_default()
        .iter()
        .map(alert_json)
        .collect();
    Ok(ApiResponse::of(&json!({"alerts": alerts})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_bools() {
        assert_eq!(parse_bool("true"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert_eq!(
            parse_bool("yes"),
            Err("strconv.ParseBool: parsing \"yes\": invalid syntax".into())
        );
    }
}
