//! `/-/healthy`, `/-/ready`, `/-/reload`, `/-/quit`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::ApiState;

/// `GET|HEAD /-/healthy`.
pub async fn healthy() -> Response {
    (StatusCode::OK, "Prometheus Server is Healthy.\n").into_response()
}

/// `GET|HEAD /-/ready`: 503 until the state is marked ready.
pub async fn ready(State(state): State<ApiState>) -> Response {
    if state.is_ready() {
        (StatusCode::OK, "Prometheus Server is Ready.\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
    }
}

fn lifecycle_disabled() -> Response {
    (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.").into_response()
}

/// `POST|PUT /-/reload`.
pub async fn reload(State(state): State<ApiState>) -> Response {
    let Some(l) = state
        .lifecycle
        .clone()
        .filter(|_| state.options.enable_lifecycle)
    else {
        return lifecycle_disabled();
    };
    match tokio::task::spawn_blocking(move || l.reload()).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        )
            .into_response(),
    }
}

/// `POST|PUT /-/quit`.
pub async fn quit(State(state): State<ApiState>) -> Response {
    let Some(l) = state
        .lifecycle
        .clone()
        .filter(|_| state.options.enable_lifecycle)
    else {
        return lifecycle_disabled();
    };
    l.quit();
    (StatusCode::OK, "Requesting termination... Goodbye!").into_response()
}

/// `GET /-/reload` or `/-/quit`: Prometheus's 405 text.
pub async fn requires_post() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        "This endpoint requires a POST request.\n",
    )
        .into_response()
}
