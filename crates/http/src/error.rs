//! API errors: Prometheus's `errorType` values, their HTTP status codes, and
//! the mapping from PromQL errors.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use promlite_promql::QueryError;

/// Prometheus's `errorType` values (`web/api/v1/api.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    /// `bad_data` (400): a parameter or the query text is invalid.
    BadData,
    /// `execution` (422): the query failed while running.
    Execution,
    /// `timeout` (503): the query ran past its deadline.
    Timeout,
    /// `canceled` (503): the query was canceled.
    Canceled,
    /// `internal` (500): a server-side failure (e.g. storage).
    Internal,
    /// `unavailable` (503): the feature is disabled or not ready.
    Unavailable,
    /// `not_found` (404).
    NotFound,
    /// `not_acceptable` (406).
    NotAcceptable,
}

impl ErrorType {
    /// The `errorType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
            ErrorType::NotFound => "not_found",
            ErrorType::NotAcceptable => "not_acceptable",
        }
    }

    /// The HTTP status Prometheus answers with (`getDefaultErrorCode`).
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout | ErrorType::Canceled | ErrorType::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
            ErrorType::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        }
    }
}

/// An error answer: `{"status":"error","errorType":…,"error":…}` with the
/// status code of its type.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}: {message}", kind.as_str())]
pub struct ApiError {
    /// The error type.
    pub kind: ErrorType,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// An error of `kind`.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// `bad_data`.
    pub fn bad_data(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::BadData, message)
    }

    /// `bad_data` with Prometheus's `invalid parameter "name": …` wording.
    pub fn invalid_param(param: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError::bad_data(format!("invalid parameter {param:?}: {message}"))
    }

    /// `internal`.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Internal, message)
    }

    /// `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::Unavailable, message)
    }

    /// Maps an engine error as Prometheus's `returnAPIError` does; parse
    /// errors become `invalid parameter "query"`.
    pub fn from_query(e: QueryError) -> ApiError {
        match e {
            QueryError::Parse(p) => ApiError::invalid_param("query", p),
            QueryError::BadData(m) => ApiError::bad_data(m),
            e @ QueryError::Timeout(_) => ApiError::new(ErrorType::Timeout, e.to_string()),
            e @ QueryError::Canceled(_) => ApiError::new(ErrorType::Canceled, e.to_string()),
            e @ QueryError::TooManySamples(_) => ApiError::new(ErrorType::Execution, e.to_string()),
            QueryError::Execution(m) => ApiError::new(ErrorType::Execution, m),
            QueryError::Storage(s) => ApiError::internal(s.to_string()),
        }
    }
}

/// Storage failures while listing series or labels are `execution` (422),
/// as Prometheus answers them.
impl From<promlite_model::StorageError> for ApiError {
    fn from(e: promlite_model::StorageError) -> Self {
        ApiError::new(ErrorType::Execution, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "status": "error",
            "errorType": self.kind.as_str(),
            "error": self.message,
        });
        crate::response::json_response(self.kind.status(), body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_promql::ParseError;

    #[test]
    fn codes_follow_prometheus() {
        assert_eq!(ErrorType::BadData.status(), 400);
        assert_eq!(ErrorType::Execution.status(), 422);
        assert_eq!(ErrorType::Timeout.status(), 503);
        assert_eq!(ErrorType::Canceled.status(), 503);
        assert_eq!(ErrorType::Internal.status(), 500);
        assert_eq!(ErrorType::Unavailable.status(), 503);
        assert_eq!(ErrorType::NotFound.status(), 404);
    }

    #[test]
    fn query_errors_map() {
        let p = ParseError::at("foo{", 4, 4, "unexpected end of input");
        let e = ApiError::from_query(QueryError::Parse(p));
        assert_eq!(e.kind, ErrorType::BadData);
        assert_eq!(
            e.message,
            "invalid parameter \"query\": 1:5: parse error: unexpected end of input"
        );
        let e = ApiError::from_query(QueryError::Timeout("expression evaluation".into()));
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                ErrorType::Timeout,
                "query timed out in expression evaluation"
            )
        );
        let e = ApiError::from_query(QueryError::Execution("many-to-many".into()));
        assert_eq!(e.kind, ErrorType::Execution);
        let e = ApiError::from_query(QueryError::Storage(promlite_model::StorageError::Closed));
        assert_eq!(e.kind, ErrorType::Internal);
    }
}
