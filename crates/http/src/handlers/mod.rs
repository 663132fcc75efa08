//! The endpoint handlers, one file per area, and their shared helpers.

pub mod admin;
pub mod federate;
pub mod labels;
pub mod lifecycle;
pub mod metadata;
pub mod query;
pub mod rules;
pub mod series;
pub mod status;
pub mod targets;

use promlite_model::Matcher;

use crate::params::Params;
use crate::{ApiError, ApiState};

/// Parses every `match[]` (Prometheus's `parseMatchersParam`): each must be a
/// valid selector with at least one matcher that does not match `""`.
pub(crate) fn match_sets(params: &Params) -> Result<Vec<Vec<Matcher>>, ApiError> {
    let mut sets = Vec::new();
    for s in params.get_all("match[]") {
        let ms = promlite_promql::parser::parse_metric_selector(s)
            .map_err(|e| ApiError::bad_data(e.to_string()))?;
        if ms.iter().all(|m| m.matches_empty()) {
            return Err(ApiError::bad_data(
                "match[] must contain at least one non-empty matcher",
            ));
        }
        sets.push(ms);
    }
    Ok(sets)
}

/// Runs storage work off the async threads (storage reads may block on disk).
pub(crate) async fn blocking<T: Send + 'static>(
    state: &ApiState,
    f: impl FnOnce(ApiState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || f(st))
        .await
        .map_err(|e| ApiError::internal(format!("request handler failed: {e}")))?
}

/// RFC 3339 with nanoseconds as Go's `time.Time` JSON, UTC; `None` is Go's
/// zero time.
pub(crate) fn rfc3339(ms: Option<i64>) -> String {
    match ms.and_then(chrono::DateTime::from_timestamp_millis) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

/// Warning Prometheus adds when `limit` cut a result.
pub(crate) const TRUNCATED: &str = "results truncated due to limit";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_go_json() {
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
        assert_eq!(rfc3339(Some(1_435_781_451_781)), "2015-07-01T20:10:51.781Z");
        assert_eq!(rfc3339(Some(0)), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn match_params() {
        let p = Params::from_query("match[]=up&match[]={job=~\"a|b\"}");
        assert_eq!(match_sets(&p).unwrap().len(), 2);
        let p = Params::from_query("match[]={job=\"\"}");
        assert!(match_sets(&p)
            .unwrap_err()
            .message
            .contains("non-empty matcher"));
        let p = Params::from_query("match[]=up{");
        assert_eq!(match_sets(&p).unwrap_err().kind, crate::ErrorType::BadData);
    }
}
