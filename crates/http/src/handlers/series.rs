//! `/api/v1/series`: label sets of the series matching `match[]`.

use std::collections::BTreeSet;

use axum::extract::State;
use promlite_model::{Labels, SelectHints};

use super::{blocking, match_sets, TRUNCATED};
use crate::json::write_labels;
use crate::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::response::{ApiResponse, ApiResult};
use crate::{ApiError, ApiState};

/// `GET|POST /api/v1/series`.
pub async fn series(State(state): State<ApiState>, p: Params) -> ApiResult {
    if p.get_all("match[]").is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let limit = p.limit()?;
    let start = p.time("start", MIN_TIME_MS)?;
    let end = p.time("end", MAX_TIME_MS)?;
    let sets = match_sets(&p)?;
    let found = blocking(&state, move |st| {
        let q = st.storage.querier(start, end)?;
        let hints = SelectHints {
            start,
            end,
            labels_only: true,
            limit: if limit > 0 { limit + 1 } else { 0 },
            ..Default::default()
        };
        let mut all: BTreeSet<Labels> = BTreeSet::new();
        for ms in &sets {
            for s in q.select(&hints, ms)? {
                all.insert(s.labels().clone());
            }
        }
        Ok(all)
    })
    .await?;
    let mut warnings = Vec::new();
    let mut out = String::from("[");
    for (i, l) in found.iter().enumerate() {
        if limit > 0 && i >= limit {
            warnings.push(TRUNCATED.to_string());
            break;
        }
        if i > 0 {
            out.push(',');
        }
        write_labels(&mut out, l);
    }
    out.push(']');
    Ok(ApiResponse::raw(out).with_warnings(warnings))
}
