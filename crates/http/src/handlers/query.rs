//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/query_exemplars`,
//! `/api/v1/format_query`, `/api/v1/parse_query`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use promlite_model::Queryable;
use promlite_promql::{Engine, QueryError, QueryOptions, QueryResult};

use crate::json::{ast_json, query_data};
use crate::params::{parse_duration_param, parse_time, Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::response::{ApiResponse, ApiResult};
use crate::{ApiError, ApiState, ErrorType};

/// Sets the cancel flag when dropped: the client went away or the handler
/// stopped waiting.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The `timeout` and `lookback_delta` parameters as engine options.
fn query_options(state: &ApiState, p: &Params) -> Result<(QueryOptions, Duration), ApiError> {
    let mut timeout = state.options.query_timeout;
    if let Some(ms) = p.duration("timeout")? {
        if ms > 0 {
            timeout = timeout.min(Duration::from_millis(ms as u64));
        }
    }
    let lookback = p.duration("lookback_delta")?.filter(|ms| *ms > 0);
    Ok((QueryOptions { timeout: Some(timeout), lookback_delta_ms: lookback, cancel: None }, timeout))
}

type EvalFn = Box<dyn FnOnce(&Engine, &dyn Queryable, &QueryOptions) -> Result<QueryResult, QueryError> + Send>;

/// Evaluates on the blocking pool under the concurrency limit, with the
/// timeout and a cancel flag raised on timeout or client disconnect.
async fn evaluate(state: &ApiState, mut qopts: QueryOptions, timeout: Duration, eval: EvalFn) -> ApiResult {
    let permit = state
        .query_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("query engine is shutting down"))?;
    let cancel = Arc::new(AtomicBool::new(false));
    qopts.cancel = Some(cancel.clone());
    let _guard = CancelOnDrop(cancel);
    let engine = state.engine.clone();
    let storage = state.storage.clone();
    state.metrics.query_started();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        eval(&engine, storage.as_ref(), &qopts)
    });
    let outcome = match tokio::time::timeout(timeout, task).await {
        Err(_) => Err(ApiError::new(ErrorType::Timeout, "query timed out in expression evaluation")),
        Ok(Err(e)) => Err(ApiError::internal(format!("query evaluation failed: {e}"))),
        Ok(Ok(Err(e))) => Err(ApiError::from_query(e)),
        Ok(Ok(Ok(r))) => Ok(r),
    };
    state.metrics.query_finished(outcome.is_ok());
    let r = outcome?;
    Ok(ApiResponse::raw(query_data(&r.value)).with_warnings(r.warnings).with_infos(r.infos))
}

/// `GET|POST /api/v1/query`.
pub async fn instant(State(state): State<ApiState>, p: Params) -> ApiResult {
    let t = p.time("time", state.now_ms())?;
    let (qopts, timeout) = query_options(&state, &p)?;
    let query = p.get("query").unwrap_or("").to_string();
    let eval: EvalFn = Box::new(move |e, s, o| e.instant_query(s, &query, t, o));
    evaluate(&state, qopts, timeout, eval).await
}

/// Checks a range query's parameters in Prometheus's order; returns
/// `(start, end, step)` in ms.
pub fn range_params(p: &Params, max_points: i64) -> Result<(i64, i64, i64), ApiError> {
    let start = parse_time(p.get("start").unwrap_or("")).map_err(|e| ApiError::invalid_param("start", e))?;
    let end = parse_time(p.get("end").unwrap_or("")).map_err(|e| ApiError::invalid_param("end", e))?;
    if end < start {
        return Err(ApiError::invalid_param("end", "end timestamp must not be before start time"));
    }
    let step = parse_duration_param(p.get("step").unwrap_or("")).map_err(|e| ApiError::invalid_param("step", e))?;
    if step <= 0 {
        return Err(ApiError::invalid_param(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end as i128 - start as i128) / step as i128 > max_points as i128 {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    Ok((start, end, step))
}

/// `GET|POST /api/v1/query_range`.
pub async fn range(State(state): State<ApiState>, p: Params) -> ApiResult {
    let (start, end, step) = range_params(&p, state.options.max_points_per_series)?;
    let (qopts, timeout) = query_options(&state, &p)?;
    let query = p.get("query").unwrap_or("").to_string();
    let eval: EvalFn = Box::new(move |e, s, o| e.range_query(s, &query, start, end, step, o));
    evaluate(&state, qopts, timeout, eval).await
}

/// `GET|POST /api/v1/query_exemplars`: promlite stores no exemplars, so the
/// answer is always an empty list once the times are valid.
pub async fn exemplars(p: Params) -> ApiResult {
    let start = p.time("start", MIN_TIME_MS)?;
    let end = p.time("end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::invalid_param("end", "end timestamp must not be before start time"));
    }
    Ok(ApiResponse::raw("[]".into()))
}

fn parse(p: &Params) -> Result<promlite_promql::ast::Expr, ApiError> {
    promlite_promql::parser::parse(p.get("query").unwrap_or("")).map_err(|e| ApiError::invalid_param("query", e))
}

/// `GET|POST /api/v1/parse_query`: the syntax tree as JSON.
pub async fn parse_query(p: Params) -> ApiResult {
    let expr = parse(&p)?;
    Ok(ApiResponse::of(&ast_json(&expr)))
}

/// `GET|POST /api/v1/format_query`: the expression pretty-printed.
pub async fn format_query(p: Params) -> ApiResult {
    let expr = parse(&p)?;
    Ok(ApiResponse::of(&promlite_promql::printer::prettify(&expr)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(q: &str) -> Result<(i64, i64, i64), String> {
        range_params(&Params::from_query(q), 11_000).map_err(|e| e.message)
    }

    #[test]
    fn range_parameter_checks() {
        assert_eq!(rp("start=0&end=100&step=10"), Ok((0, 100_000, 10_000)));
        assert_eq!(rp("start=1704088820&end=1704110420&step=20").map(|r| r.2), Ok(20_000));
        assert_eq!(rp("start=0&end=1&step=0.001").map(|r| r.2), Ok(1));
        assert_eq!(rp("start=0&end=60&step=1m").map(|r| r.2), Ok(60_000));
        assert_eq!(rp("end=1&step=1"), Err("invalid parameter \"start\": cannot parse \"\" to a valid timestamp".into()));
        assert_eq!(rp("start=x&end=1&step=1"), Err("invalid parameter \"start\": cannot parse \"x\" to a valid timestamp".into()));
        assert_eq!(rp("start=1&step=1"), Err("invalid parameter \"end\": cannot parse \"\" to a valid timestamp".into()));
        assert_eq!(rp("start=2&end=1&step=1"), Err("invalid parameter \"end\": end timestamp must not be before start time".into()));
        assert_eq!(rp("start=0&end=1"), Err("invalid parameter \"step\": cannot parse \"\" to a valid duration".into()));
        assert_eq!(rp("start=0&end=1&step=abc"), Err("invalid parameter \"step\": cannot parse \"abc\" to a valid duration".into()));
        let neg = "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer";
        assert_eq!(rp("start=0&end=1&step=0"), Err(neg.into()));
        assert_eq!(rp("start=0&end=1&step=-1"), Err(neg.into()));
        assert_eq!(rp("start=0&end=11000&step=1").map(|r| r.1), Ok(11_000_000));
        assert_eq!(
            rp("start=0&end=11001&step=1"),
            Err("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into())
        );
    }
}
