//! `/api/v1/metadata` and `/api/v1/targets/metadata`.

use std::collections::BTreeMap;

use axum::extract::State;
use promlite_model::Metadata;
use serde_json::{json, Map, Value as Json};

use crate::json::labels_json;
use crate::params::Params;
use crate::response::{ApiResponse, ApiResult};
use crate::{ApiError, ApiState};

fn number_param(p: &Params, key: &str) -> Result<i64, ApiError> {
    match p.get(key) {
        None => Ok(-1),
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| ApiError::bad_data(format!("{key} must be a number"))),
    }
}

fn meta_json(m: &Metadata) -> Json {
    json!({"type": m.metric_type.as_str(), "help": m.help, "unit": m.unit})
}

/// `GET|POST /api/v1/metadata`: metric → distinct `{type, help, unit}` over
/// all targets (`limit`, `limit_per_metric`, `metric` as Prometheus).
pub async fn metadata(State(state): State<ApiState>, p: Params) -> ApiResult {
    let limit = number_param(&p, "limit")?;
    let per_metric = number_param(&p, "limit_per_metric")?;
    let metric = p.get("metric");
    let mut by_metric: BTreeMap<String, Vec<Metadata>> = BTreeMap::new();
    for tm in state
        .targets
        .as_ref()
        .map(|t| t.metadata())
        .unwrap_or_default()
    {
        if metric.is_some_and(|m| m != tm.metric) {
            continue;
        }
        let list = by_metric.entry(tm.metric).or_default();
        if per_metric > 0 && list.len() as i64 >= per_metric {
            continue;
        }
        if !list.contains(&tm.metadata) {
            list.push(tm.metadata);
        }
    }
    let mut out = Map::new();
    for (name, list) in by_metric {
        if limit >= 0 && out.len() as i64 >= limit {
            break;
        }
        out.insert(name, Json::Array(list.iter().map(meta_json).collect()));
    }
    Ok(ApiResponse::of(&Json::Object(out)))
}

/// `GET /api/v1/targets/metadata` (`match_target`, `metric`, `limit`).
pub async fn targets_metadata(State(state): State<ApiState>, p: Params) -> ApiResult {
    let limit = number_param(&p, "limit")?;
    let matchers = match p.get("match_target") {
        Some(s) => promlite_promql::parser::parse_metric_selector(s)
            .map_err(|e| ApiError::bad_data(e.to_string()))?,
        None => Vec::new(),
    };
    let metric = p.get("metric");
    let mut out = Vec::new();
    for tm in state
        .targets
        .as_ref()
        .map(|t| t.metadata())
        .unwrap_or_default()
    {
        if limit >= 0 && out.len() as i64 >= limit {
            break;
        }
        if !matchers
            .iter()
            .all(|m| m.matches(tm.target.get_or_empty(&m.name)))
        {
            continue;
        }
        let mut obj = json!({"target": labels_json(&tm.target)});
        match metric {
            Some(m) if m != tm.metric => continue,
            Some(_) => {}
            None => obj["metric"] = json!(tm.metric),
        }
        obj["type"] = json!(tm.metadata.metric_type.as_str());
        obj["help"] = json!(tm.metadata.help);
        obj["unit"] = json!(tm.metadata.unit);
        out.push(obj);
    }
    Ok(ApiResponse::of(&out))
}
