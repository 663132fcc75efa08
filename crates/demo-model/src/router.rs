//! The HTTP surface: axum handlers over [`DemoModel`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::api::Reply;
use crate::metrics::OPENMETRICS_CONTENT_TYPE;
use crate::model::DemoModel;

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body)).into_response()
    }
}

impl DemoModel {
    /// The service's routes:
    ///
    /// | route | what |
    /// |---|---|
    /// | `POST /predict` | classify: `{"features": [..]}` → `{"label", "confidence", "model_version"}` |
    /// | `POST /generate` | generate: `{"prompt", "max_tokens"}` → `{"text", "tokens", ..}` |
    /// | `GET /metrics` | OpenMetrics exposition |
    /// | `POST /admin/drift` | start drift (`{"enabled": false}` cancels manual drift) |
    /// | `POST /retrain` | bump the model version and clear drift (empty body, or an alert webhook payload) |
    /// | `GET /admin/stats` | what the traffic generator sent, by endpoint and status |
    /// | `GET /` | status: version and drift |
    /// | `GET /healthz` | liveness |
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(status))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/metrics", get(metrics))
            .route("/predict", post(predict))
            .route("/generate", post(generate))
            .route("/admin/drift", post(drift))
            .route("/retrain", post(retrain))
            .route("/admin/stats", get(stats))
            .with_state(self.clone())
    }
}

async fn predict(State(model): State<DemoModel>, body: Bytes) -> Reply {
    model.predict(&body).await
}

async fn generate(State(model): State<DemoModel>, body: Bytes) -> Reply {
    model.generate(&body).await
}

async fn metrics(State(model): State<DemoModel>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        model.metrics_text(),
    )
        .into_response()
}

async fn status(State(model): State<DemoModel>) -> Response {
    let drift = model.drift_status();
    Json(json!({
        "service": "promlite-demo-model",
        "model_version": drift.model_version,
        "drifting": drift.drifting,
        "drift_severity": drift.severity,
        "bad_cardinality": model.options().bad_cardinality,
    }))
    .into_response()
}

/// `POST /admin/drift`: body empty or `{"enabled": bool}` (default true).
async fn drift(State(model): State<DemoModel>, body: Bytes) -> Response {
    let enabled = if body.iter().all(u8::is_ascii_whitespace) {
        true
    } else {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Object(map)) => match map.get("enabled") {
                None => true,
                Some(serde_json::Value::Bool(b)) => *b,
                Some(_) => {
                    return Reply::error(400, "\"enabled\" must be a boolean").into_response()
                }
            },
            Ok(_) => {
                return Reply::error(400, "request body must be a JSON object").into_response()
            }
            Err(e) => return Reply::error(400, format!("invalid JSON body: {e}")).into_response(),
        }
    };
    Json(model.set_drift(enabled)).into_response()
}

/// `POST /retrain`: empty body (by hand) or an Alertmanager webhook payload.
async fn retrain(State(model): State<DemoModel>, body: Bytes) -> Reply {
    model.retrain_from_body(&body)
}

async fn stats(State(model): State<DemoModel>) -> Response {
    let rows: Vec<_> = model
        .stats()
        .iter()
        .map(|(endpoint, status, count)| json!({ "endpoint": endpoint.as_str(), "status": status, "count": count }))
        .collect();
    Json(json!({ "requests": rows })).into_response()
}
