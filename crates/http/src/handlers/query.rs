//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/query_exemplars`,
//! `/api/v1/format_query`, `/api/v1/parse_query`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use promlite_model::Queryable;
use promlite_promql::{Engine, QueryError, QueryOptions, QueryResult};

use crate::gzip::accepts_gzip;
use crate::inline::INLINE_BUDGET;
use crate::json::{ast_json, query_data_size_hint, write_query_data};
use crate::params::{parse_duration_param, parse_time, Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::response::{ApiResponse, ApiResult, EncodedResponse};
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
    Ok((
        QueryOptions {
            timeout: Some(timeout),
            lookback_delta_ms: lookback,
            cancel: None,
        },
        timeout,
    ))
}

type EvalFn = Box<
    dyn Fn(&Engine, &dyn Queryable, &QueryOptions) -> Result<QueryResult, QueryError> + Send + Sync,
>;

/// Runs `eval` and encodes its answer (gzip-compressed when `gzip`).
fn run_encoded(
    eval: &EvalFn,
    engine: &Engine,
    storage: &dyn Queryable,
    qopts: &QueryOptions,
    gzip: bool,
) -> Result<EncodedResponse, QueryError> {
    eval(engine, storage, qopts).map(|r| {
        EncodedResponse::success(
            |out| write_query_data(out, &r.value),
            query_data_size_hint(&r.value),
            &r.warnings,
            &r.infos,
            gzip,
        )
    })
}

/// Evaluates under the concurrency limit, with the timeout and a cancel
/// flag raised on timeout or client disconnect, and encodes the answer
/// (gzip-compressed when `gzip`). A query whose last evaluation (same
/// `cost_key`) was cheap runs inline on this thread within
/// [`INLINE_BUDGET`] (`crate::inline`); every other one, and an inline one
/// that ran out of its budget, runs on the blocking pool.
async fn evaluate(
    state: &ApiState,
    mut qopts: QueryOptions,
    timeout: Duration,
    eval: EvalFn,
    gzip: bool,
    cost_key: u64,
) -> Result<EncodedResponse, ApiError> {
    let permit = state
        .query_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("query engine is shutting down"))?;
    let cancel = Arc::new(AtomicBool::new(false));
    qopts.cancel = Some(cancel.clone());
    let _guard = CancelOnDrop(cancel);
    state.metrics.query_started();
    let started = Instant::now();
    let mut timeout = timeout;
    if timeout > INLINE_BUDGET && state.query_costs.is_cheap(cost_key) {
        let inline_opts = QueryOptions {
            timeout: Some(INLINE_BUDGET),
            ..qopts.clone()
        };
        // A panic is answered like one on the blocking pool, not by
        // dropping the connection.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_encoded(
                &eval,
                &state.engine,
                state.storage.as_ref(),
                &inline_opts,
                gzip,
            )
        }));
        let took = started.elapsed();
        state.query_costs.record(cost_key, took);
        let outcome = match r {
            // Out of its inline budget: evaluate it again on the pool with
            // what is left of its own timeout.
            Ok(Err(QueryError::Timeout(_))) => {
                timeout = timeout.saturating_sub(took);
                None
            }
            Ok(r) => Some(r.map_err(ApiError::from_query)),
            Err(_) => Some(Err(ApiError::internal(
                "query evaluation failed: the evaluation panicked",
            ))),
        };
        if let Some(outcome) = outcome {
            state.metrics.query_finished(outcome.is_ok());
            return outcome;
        }
    }
    qopts.timeout = Some(timeout);
    let engine = state.engine.clone();
    let storage = state.storage.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let started = Instant::now();
        let r = run_encoded(&eval, &engine, storage.as_ref(), &qopts, gzip);
        (r, started.elapsed())
    });
    let outcome = match tokio::time::timeout(timeout, task).await {
        Err(_) => Err(ApiError::new(
            ErrorType::Timeout,
            "query timed out in expression evaluation",
        )),
        Ok(Err(e)) => Err(ApiError::internal(format!("query evaluation failed: {e}"))),
        Ok(Ok((r, took))) => {
            state.query_costs.record(cost_key, took);
            r.map_err(ApiError::from_query)
        }
    };
    state.metrics.query_finished(outcome.is_ok());
    outcome
}

/// `GET|POST /api/v1/query`.
pub async fn instant(
    State(state): State<ApiState>,
    headers: HeaderMap,
    p: Params,
) -> Result<EncodedResponse, ApiError> {
    let t = p.time("time", state.now_ms())?;
    let (qopts, timeout) = query_options(&state, &p)?;
    let query = p.get("query").unwrap_or("").to_string();
    let key = state.query_costs.key(&query, false, 1);
    let eval: EvalFn = Box::new(move |e, s, o| e.instant_query(s, &query, t, o));
    evaluate(&state, qopts, timeout, eval, accepts_gzip(&headers), key).await
}

/// Checks a range query's parameters in Prometheus's order; returns
/// `(start, end, step)` in ms.
pub fn range_params(p: &Params, max_points: i64) -> Result<(i64, i64, i64), ApiError> {
    let start = parse_time(p.get("start").unwrap_or(""))
        .map_err(|e| ApiError::invalid_param("start", e))?;
    let end =
        parse_time(p.get("end").unwrap_or("")).map_err(|e| ApiError::invalid_param("end", e))?;
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step = parse_duration_param(p.get("step").unwrap_or(""))
        .map_err(|e| ApiError::invalid_param("step", e))?;
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
pub async fn range(
    State(state): State<ApiState>,
    headers: HeaderMap,
    p: Params,
) -> Result<EncodedResponse, ApiError> {
    let (start, end, step) = range_params(&p, state.options.max_points_per_series)?;
    let (qopts, timeout) = query_options(&state, &p)?;
    let query = p.get("query").unwrap_or("").to_string();
    let key = state
        .query_costs
        .key(&query, true, end.saturating_sub(start) / step);
    let eval: EvalFn = Box::new(move |e, s, o| e.range_query(s, &query, start, end, step, o));
    evaluate(&state, qopts, timeout, eval, accepts_gzip(&headers), key).await
}

/// `GET|POST /api/v1/query_exemplars`: promlite stores no exemplars, so the
/// answer is always an empty list once the times are valid.
pub async fn exemplars(p: Params) -> ApiResult {
    let start = p.time("start", MIN_TIME_MS)?;
    let end = p.time("end", MAX_TIME_MS)?;
    if end < start {
        return Err(ApiError::invalid_param(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    Ok(ApiResponse::raw("[]".into()))
}

fn parse(p: &Params) -> Result<promlite_promql::ast::Expr, ApiError> {
    promlite_promql::parser::parse(p.get("query").unwrap_or(""))
        .map_err(|e| ApiError::invalid_param("query", e))
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
    use promlite_model::MemStorage;
    use promlite_promql::value::Value;

    fn test_state() -> ApiState {
        ApiState::new(Arc::new(MemStorage::new()), Engine::default())
    }

    /// An evaluation that runs until canceled (at most 5 s) and reports
    /// whether it saw the cancel flag.
    fn until_canceled(seen: Arc<AtomicBool>) -> EvalFn {
        Box::new(move |_, _, o| {
            let flag = o.cancel.clone().expect("cancel flag passed to the engine");
            for _ in 0..500 {
                if flag.load(Ordering::SeqCst) {
                    seen.store(true, Ordering::SeqCst);
                    return Err(QueryError::Canceled("expression evaluation".into()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(QueryResult {
                value: Value::Scalar { t: 0, v: 1.0 },
                warnings: vec![],
                infos: vec![],
            })
        })
    }

    async fn wait_for(flag: &AtomicBool) -> bool {
        for _ in 0..300 {
            if flag.load(Ordering::SeqCst) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn timeout_answers_503_and_cancels_the_evaluation() {
        let st = test_state();
        let seen = Arc::new(AtomicBool::new(false));
        let timeout = Duration::from_millis(50);
        let err = evaluate(
            &st,
            QueryOptions::default(),
            timeout,
            until_canceled(seen.clone()),
            false,
            0,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorType::Timeout);
        assert_eq!(err.kind.status(), 503);
        assert!(wait_for(&seen).await, "the engine saw the cancel flag");
    }

    #[tokio::test]
    async fn client_disconnect_cancels_the_evaluation() {
        let st = test_state();
        let seen = Arc::new(AtomicBool::new(false));
        let eval = until_canceled(seen.clone());
        let task = tokio::spawn(async move {
            evaluate(
                &st,
                QueryOptions::default(),
                Duration::from_secs(60),
                eval,
                false,
                0,
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        task.abort(); // what hyper does when the connection closes
        assert!(wait_for(&seen).await, "the engine saw the cancel flag");
    }

    #[tokio::test]
    async fn results_warnings_and_timeout_parameter() {
        let st = test_state();
        let eval: EvalFn = Box::new(|_, _, o| {
            assert_eq!(o.timeout, Some(Duration::from_secs(3)));
            assert_eq!(o.lookback_delta_ms, Some(60_000));
            Ok(QueryResult {
                value: Value::Scalar { t: 4000, v: 2.0 },
                warnings: vec!["w".into()],
                infos: vec!["i".into()],
            })
        });
        let (qopts, timeout) =
            query_options(&st, &Params::from_query("timeout=3s&lookback_delta=1m")).unwrap();
        assert_eq!(timeout, Duration::from_secs(3));
        let r = evaluate(&st, qopts, timeout, eval, true, 0).await.unwrap();
        // Too small to compress here (the router's layer handles that).
        assert!(!r.is_gzipped());
        assert_eq!(
            std::str::from_utf8(r.bytes()).unwrap(),
            r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]},"warnings":["w"],"infos":["i"]}"#
        );
        // a request timeout above the server's limit is capped
        let (_, t) = query_options(&st, &Params::from_query("timeout=1h")).unwrap();
        assert_eq!(t, st.options.query_timeout);
    }

    #[tokio::test]
    async fn concurrency_is_limited() {
        let st = test_state().with_options(crate::ApiOptions {
            max_concurrency: 1,
            ..Default::default()
        });
        let seen = Arc::new(AtomicBool::new(false));
        let first = {
            let st = st.clone();
            let eval = until_canceled(seen.clone());
            tokio::spawn(async move {
                evaluate(
                    &st,
                    QueryOptions::default(),
                    Duration::from_millis(300),
                    eval,
                    false,
                    1,
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        // The second query waits for the slot: it cannot finish within 100 ms.
        let quick: EvalFn = Box::new(|_, _, _| {
            Ok(QueryResult {
                value: Value::Vector(vec![]),
                warnings: vec![],
                infos: vec![],
            })
        });
        let second = tokio::time::timeout(
            Duration::from_millis(100),
            evaluate(
                &st,
                QueryOptions::default(),
                Duration::from_secs(5),
                quick,
                false,
                2,
            ),
        )
        .await;
        assert!(
            second.is_err(),
            "second query ran while the only slot was taken"
        );
        assert_eq!(first.await.unwrap().unwrap_err().kind, ErrorType::Timeout);
    }

    fn scalar(v: f64) -> QueryResult {
        QueryResult {
            value: Value::Scalar { t: 0, v },
            warnings: vec![],
            infos: vec![],
        }
    }

    #[tokio::test]
    async fn a_cheap_query_runs_inline_from_its_second_evaluation() {
        let st = test_state();
        let threads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let eval = || -> EvalFn {
            let threads = threads.clone();
            Box::new(move |_, _, _| {
                threads.lock().unwrap().push(std::thread::current().id());
                Ok(scalar(1.0))
            })
        };
        let key = st.query_costs.key("vector(1)", false, 1);
        let t = Duration::from_secs(5);
        for _ in 0..3 {
            let r = evaluate(&st, QueryOptions::default(), t, eval(), false, key).await;
            assert!(r.is_ok());
        }
        let here = std::thread::current().id();
        let seen = threads.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert_ne!(seen[0], here, "an unknown query goes to the blocking pool");
        assert_eq!(seen[1], here, "a cheap one runs inline");
        assert_eq!(seen[2], here);
        // Another query is unknown again.
        let other = st.query_costs.key("vector(2)", false, 1);
        evaluate(&st, QueryOptions::default(), t, eval(), false, other)
            .await
            .unwrap();
        assert_ne!(threads.lock().unwrap()[3], here);
    }

    #[tokio::test]
    async fn an_inline_query_out_of_its_budget_runs_again_on_the_pool() {
        let st = test_state();
        let key = st.query_costs.key("up", false, 1);
        st.query_costs.record(key, Duration::ZERO);
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let c = calls.clone();
        let eval: EvalFn = Box::new(move |_, _, o| {
            c.lock()
                .unwrap()
                .push((std::thread::current().id(), o.timeout));
            if o.timeout == Some(INLINE_BUDGET) {
                Err(QueryError::Timeout("expression evaluation".into()))
            } else {
                Ok(scalar(2.0))
            }
        });
        let r = evaluate(
            &st,
            QueryOptions::default(),
            Duration::from_secs(5),
            eval,
            false,
            key,
        )
        .await
        .unwrap();
        assert_eq!(
            std::str::from_utf8(r.bytes()).unwrap(),
            r#"{"status":"success","data":{"resultType":"scalar","result":[0,"2"]}}"#
        );
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        let here = std::thread::current().id();
        assert_eq!(calls[0], (here, Some(INLINE_BUDGET)));
        assert_ne!(calls[1].0, here);
        let rest = calls[1].1.unwrap();
        assert!(rest <= Duration::from_secs(5) && rest > Duration::from_secs(4));
    }

    #[tokio::test]
    async fn a_panic_inline_is_an_internal_error() {
        let st = test_state();
        let key = st.query_costs.key("up", false, 1);
        st.query_costs.record(key, Duration::ZERO);
        let eval: EvalFn = Box::new(|_, _, _| panic!("evaluation bug"));
        let err = evaluate(
            &st,
            QueryOptions::default(),
            Duration::from_secs(5),
            eval,
            false,
            key,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorType::Internal);
        assert!(err.message.contains("panicked"), "{}", err.message);
    }

    #[tokio::test]
    async fn a_real_timeout_is_not_retried() {
        // A request timeout under the inline budget never runs inline.
        let st = test_state();
        let key = st.query_costs.key("up", false, 1);
        st.query_costs.record(key, Duration::ZERO);
        let eval: EvalFn = Box::new(|_, _, o| {
            assert_eq!(o.timeout, Some(Duration::from_millis(5)));
            Err(QueryError::Timeout("expression evaluation".into()))
        });
        let err = evaluate(
            &st,
            QueryOptions::default(),
            Duration::from_millis(5),
            eval,
            false,
            key,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorType::Timeout);
    }

    fn rp(q: &str) -> Result<(i64, i64, i64), String> {
        range_params(&Params::from_query(q), 11_000).map_err(|e| e.message)
    }

    #[test]
    fn range_parameter_checks() {
        assert_eq!(rp("start=0&end=100&step=10"), Ok((0, 100_000, 10_000)));
        assert_eq!(
            rp("start=1704088820&end=1704110420&step=20").map(|r| r.2),
            Ok(20_000)
        );
        assert_eq!(rp("start=0&end=1&step=0.001").map(|r| r.2), Ok(1));
        assert_eq!(rp("start=0&end=60&step=1m").map(|r| r.2), Ok(60_000));
        assert_eq!(
            rp("end=1&step=1"),
            Err("invalid parameter \"start\": cannot parse \"\" to a valid timestamp".into())
        );
        assert_eq!(
            rp("start=x&end=1&step=1"),
            Err("invalid parameter \"start\": cannot parse \"x\" to a valid timestamp".into())
        );
        assert_eq!(
            rp("start=1&step=1"),
            Err("invalid parameter \"end\": cannot parse \"\" to a valid timestamp".into())
        );
        assert_eq!(
            rp("start=2&end=1&step=1"),
            Err("invalid parameter \"end\": end timestamp must not be before start time".into())
        );
        assert_eq!(
            rp("start=0&end=1"),
            Err("invalid parameter \"step\": cannot parse \"\" to a valid duration".into())
        );
        assert_eq!(
            rp("start=0&end=1&step=abc"),
            Err("invalid parameter \"step\": cannot parse \"abc\" to a valid duration".into())
        );
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
