//! `/api/v1/status/{config,flags,runtimeinfo,buildinfo,tsdb,walreplay}`.

use axum::extract::State;
use serde_json::{json, Value as Json};

use super::rfc3339;
use crate::params::Params;
use crate::providers::{RuntimeInfo, TsdbStatus};
use crate::response::{ApiResponse, ApiResult};
use crate::{ApiError, ApiState};

/// `GET /api/v1/status/config`.
pub async fn config(State(state): State<ApiState>) -> ApiResult {
    let yaml = state
        .server_info
        .as_ref()
        .map(|s| s.config_yaml())
        .unwrap_or_default();
    Ok(ApiResponse::of(&json!({ "yaml": yaml })))
}

/// `GET /api/v1/status/flags`.
pub async fn flags(State(state): State<ApiState>) -> ApiResult {
    let flags = state
        .server_info
        .as_ref()
        .map(|s| s.flags())
        .unwrap_or_default();
    Ok(ApiResponse::of(&flags))
}

/// `GET /api/v1/status/runtimeinfo`.
pub async fn runtime_info(State(state): State<ApiState>) -> ApiResult {
    let info = match &state.server_info {
        Some(s) => s.runtime_info(),
        None => RuntimeInfo {
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            reload_config_success: true,
            max_procs: std::thread::available_parallelism()
                .map(|n| n.get() as u64)
                .unwrap_or(1),
            ..Default::default()
        },
    };
    Ok(ApiResponse::of(&json!({
        "startTime": rfc3339(Some(info.start_time_ms)),
        "CWD": info.cwd,
        "reloadConfigSuccess": info.reload_config_success,
        "lastConfigTime": rfc3339(Some(info.last_config_time_ms)),
        "corruptionCount": info.corruption_count,
        "goroutineCount": info.thread_count,
        "GOMAXPROCS": info.max_procs,
        "GOMEMLIMIT": i64::MAX,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": info.storage_retention,
    })))
}

/// `GET|POST /api/v1/status/buildinfo`: Prometheus's fields, no `features`
/// (Grafana would take the server for Mimir).
pub async fn build_info(State(state): State<ApiState>) -> ApiResult {
    let b = &state.build_info;
    Ok(ApiResponse::of(&json!({
        "version": b.version,
        "revision": b.revision,
        "branch": b.branch,
        "buildUser": b.build_user,
        "buildDate": b.build_date,
        "goVersion": b.go_version,
    })))
}

fn pairs(v: &[(String, u64)]) -> Json {
    Json::Array(
        v.iter()
            .map(|(n, c)| json!({"name": n, "value": c}))
            .collect(),
    )
}

/// `GET /api/v1/status/tsdb?limit=N` (default 10).
pub async fn tsdb(State(state): State<ApiState>, p: Params) -> ApiResult {
    let limit = match p.get("limit") {
        None => 10,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= 1 => n as usize,
            _ => return Err(ApiError::bad_data("limit must be a positive number")),
        },
    };
    let st = state
        .tsdb
        .as_ref()
        .map(|t| t.status(limit))
        .unwrap_or_else(TsdbStatus::default);
    let h = &st.head_stats;
    let cut = |v: &[(String, u64)]| pairs(&v[..v.len().min(limit)]);
    Ok(ApiResponse::of(&json!({
        "headStats": {
            "numSeries": h.num_series,
            "numLabelPairs": h.num_label_pairs,
            "chunkCount": h.chunk_count,
            "minTime": h.min_time,
            "maxTime": h.max_time,
        },
        "seriesCountByMetricName": cut(&st.series_count_by_metric_name),
        "labelValueCountByLabelName": cut(&st.label_value_count_by_label_name),
        "memoryInBytesByLabelName": cut(&st.memory_in_bytes_by_label_name),
        "seriesCountByLabelValuePair": cut(&st.series_count_by_label_value_pair),
    })))
}

/// `GET /api/v1/status/walreplay`.
pub async fn wal_replay(State(state): State<ApiState>) -> ApiResult {
    let w = state
        .tsdb
        .as_ref()
        .map(|t| t.wal_replay())
        .unwrap_or_default();
    Ok(ApiResponse::of(
        &json!({"min": w.min, "max": w.max, "current": w.current}),
    ))
}
