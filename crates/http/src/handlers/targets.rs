//! `/api/v1/targets` and `/api/v1/alertmanagers`.

use axum::extract::State;
use serde_json::{json, Value as Json};

use super::rfc3339;
use crate::json::labels_json;
use crate::params::Params;
use crate::providers::{ActiveTarget, DroppedTarget, Health};
use crate::response::{ApiResponse, ApiResult};
use crate::ApiState;

fn health(h: Health) -> &'static str {
    match h {
        Health::Good => "up",
        Health::Bad => "down",
        Health::Unknown => "unknown",
    }
}

fn active_json(t: &ActiveTarget) -> Json {
    json!({
        "discoveredLabels": labels_json(&t.discovered_labels),
        "labels": labels_json(&t.labels),
        "scrapePool": t.scrape_pool,
        "scrapeUrl": t.scrape_url,
        "globalUrl": t.global_url,
        "lastError": t.last_error,
        "lastScrape": rfc3339(t.last_scrape_ms),
        "lastScrapeDuration": t.last_scrape_duration_s,
        "health": health(t.health),
        "scrapeInterval": t.scrape_interval,
        "scrapeTimeout": t.scrape_timeout,
    })
}

fn dropped_json(t: &DroppedTarget) -> Json {
    json!({"discoveredLabels": labels_json(&t.discovered_labels), "scrapePool": t.scrape_pool})
}

/// `GET /api/v1/targets?state=active|dropped|any&scrapePool=…`.
pub async fn targets(State(state): State<ApiState>, p: Params) -> ApiResult {
    let st = p.get("state").unwrap_or("").to_ascii_lowercase();
    let show_active = st.is_empty() || st == "any" || st == "active";
    let show_dropped = st.is_empty() || st == "any" || st == "dropped";
    let pool = p.get("scrapePool");
    let in_pool = |name: &str| pool.is_none_or(|p| p == name);
    let mut active = Vec::new();
    let mut dropped = Vec::new();
    let mut counts = serde_json::Map::new();
    if let Some(t) = &state.targets {
        if show_active {
            active = t
                .active()
                .iter()
                .filter(|t| in_pool(&t.scrape_pool))
                .map(active_json)
                .collect();
        }
        if show_dropped {
            dropped = t
                .dropped()
                .iter()
                .filter(|t| in_pool(&t.scrape_pool))
                .map(dropped_json)
                .collect();
            for (k, v) in t.dropped_counts() {
                if in_pool(&k) {
                    counts.insert(k, json!(v));
                }
            }
        }
    }
    Ok(ApiResponse::of(&json!({
        "activeTargets": active,
        "droppedTargets": dropped,
        "droppedTargetCounts": counts,
    })))
}

/// `GET /api/v1/scrape_pools`: the pools of all known targets, sorted.
pub async fn scrape_pools(State(state): State<ApiState>) -> ApiResult {
    let mut pools = std::collections::BTreeSet::new();
    if let Some(t) = &state.targets {
        pools.extend(t.active().into_iter().map(|t| t.scrape_pool));
        pools.extend(t.dropped().into_iter().map(|t| t.scrape_pool));
    }
    Ok(ApiResponse::of(&json!({ "scrapePools": pools })))
}

/// `GET /api/v1/alertmanagers`.
pub async fn alertmanagers(State(state): State<ApiState>) -> ApiResult {
    let (active, dropped) = match &state.alertmanagers {
        Some(a) => (a.active(), a.dropped()),
        None => (Vec::new(), Vec::new()),
    };
    let urls = |v: Vec<String>| v.into_iter().map(|u| json!({"url": u})).collect::<Vec<_>>();
    Ok(ApiResponse::of(
        &json!({"activeAlertmanagers": urls(active), "droppedAlertmanagers": urls(dropped)}),
    ))
}
