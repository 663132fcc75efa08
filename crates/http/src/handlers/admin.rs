//! `/api/v1/admin/tsdb/{delete_series,clean_tombstones,snapshot}`; without
//! `enable_admin` they answer `unavailable` "admin APIs disabled", as Prometheus.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{blocking, match_sets};
use crate::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::providers::AdminProvider;
use crate::response::ApiResponse;
use crate::{ApiError, ApiState};
use std::sync::Arc;

fn admin(state: &ApiState) -> Result<Arc<dyn AdminProvider>, ApiError> {
    if !state.options.enable_admin {
        return Err(ApiError::unavailable("admin APIs disabled"));
    }
    state
        .admin
        .clone()
        .ok_or_else(|| ApiError::unavailable("admin APIs are not supported by this storage"))
}

/// `POST|PUT /api/v1/admin/tsdb/delete_series`: 204 on success.
pub async fn delete_series(State(state): State<ApiState>, p: Params) -> Result<Response, ApiError> {
    let a = admin(&state)?;
    if p.get_all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let start = p.time("start", MIN_TIME_MS)?;
    let end = p.time("end", MAX_TIME_MS)?;
    let sets = match_sets(&p)?;
    blocking(&state, move |_| {
        a.delete_series(&sets, start, end)
            .map_err(ApiError::internal)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/clean_tombstones`: 204 on success.
pub async fn clean_tombstones(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let a = admin(&state)?;
    blocking(&state, move |_| {
        a.clean_tombstones().map_err(ApiError::internal)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/snapshot?skip_head=bool`.
pub async fn snapshot(State(state): State<ApiState>, p: Params) -> Result<Response, ApiError> {
    let a = admin(&state)?;
    let skip_head = match p.get("skip_head") {
        None => false,
        Some("1" | "t" | "T" | "TRUE" | "true" | "True") => true,
        Some("0" | "f" | "F" | "FALSE" | "false" | "False") => false,
        Some(s) => {
            return Err(ApiError::bad_data(format!(
                "unable to parse boolean 'skip_head' argument: strconv.ParseBool: parsing {s:?}: invalid syntax"
            )))
        }
    };
    let name = blocking(&state, move |_| {
        a.snapshot(skip_head)
            .map_err(|e| ApiError::internal(format!("create snapshot: {e}")))
    })
    .await?;
    Ok(ApiResponse::of(&json!({ "name": name })).into_response())
}
