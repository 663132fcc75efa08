//! The route table.

use axum::extract::{Request, State};
use std::sync::Arc;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use regex::Regex;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Bodies smaller than this are sent uncompressed even to clients that
/// accept gzip: they fit in a packet either way, and setting up a deflate
/// stream (hundreds of KiB of state) cost more than a small query.
const COMPRESS_ABOVE: u16 = 1024;

use crate::handlers::{
    admin, federate, labels, lifecycle, metadata, query, rules, series, status, targets,
};
use crate::self_metrics::{metrics_handler, track};
use crate::ApiState;

/// Until ready, the API answers 503 like Prometheus's `testReady`.
async fn ready_gate(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    if state.is_ready() {
        next.run(req).await
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
    }
}

/// CORS headers on API answers to browser requests (Prometheus's
/// `httputil.SetCORS`) and `OPTIONS` preflights answered directly.
async fn cors(State(origin): State<Option<Arc<Regex>>>, req: Request, next: Next) -> Response {
    let req_origin = req.headers().get(header::ORIGIN).cloned();
    let mut resp = if req.method() == Method::OPTIONS {
        crate::ApiResponse::raw("null".into()).into_response()
    } else {
        next.run(req).await
    };
    if let (Some(o), Some(re)) = (req_origin, origin) {
        let h = resp.headers_mut();
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("Accept, Authorization, Content-Type, Origin"),
        );
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            "access-control-expose-headers",
            HeaderValue::from_static("Date"),
        );
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if re.as_str() == "^(?:.*)$" {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
        } else if o.to_str().is_ok_and(|s| re.is_match(s)) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        }
    }
    resp
}

/// Every endpoint over `state`. GET and form-encoded POST are accepted on
/// every query-like endpoint; other methods get 405. Responses are gzip
/// compressed when the client asks for it.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route(
            "/api/v1/query_exemplars",
            get(query::exemplars).post(query::exemplars),
        )
        .route(
            "/api/v1/format_query",
            get(query::format_query).post(query::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(query::parse_query).post(query::parse_query),
        )
        .route("/api/v1/series", get(series::series).post(series::series))
        .route(
            "/api/v1/labels",
            get(labels::label_names).post(labels::label_names),
        )
        .route(
            "/api/v1/label/{name}/values",
            get(labels::label_values).post(labels::label_values),
        )
        .route(
            "/api/v1/metadata",
            get(metadata::metadata).post(metadata::metadata),
        )
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/scrape_pools", get(targets::scrape_pools))
        .route("/api/v1/targets/metadata", get(metadata::targets_metadata))
        .route("/api/v1/alertmanagers", get(targets::alertmanagers))
        .route("/api/v1/rules", get(rules::rules).post(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts).post(rules::alerts))
        .route("/api/v1/status/config", get(status::config))
        .route("/api/v1/status/flags", get(status::flags))
        .route("/api/v1/status/runtimeinfo", get(status::runtime_info))
        .route(
            "/api/v1/status/buildinfo",
            get(status::build_info).post(status::build_info),
        )
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/walreplay", get(status::wal_replay))
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/clean_tombstones",
            post(admin::clean_tombstones).put(admin::clean_tombstones),
        )
        .route(
            "/api/v1/admin/tsdb/snapshot",
            post(admin::snapshot).put(admin::snapshot),
        )
        .route("/federate", get(federate::federate))
        .route_layer(from_fn_with_state(state.clone(), ready_gate));
    let origin = match Regex::new(&format!("^(?:{})$", state.options.cors_origin)) {
        Ok(re) => Some(Arc::new(re)),
        Err(e) => {
            tracing::warn!("invalid CORS origin regex, CORS disabled: {e}");
            None
        }
    };
    let api = api.layer(from_fn_with_state(origin, cors));
    Router::new()
        .merge(api)
        .route("/metrics", get(metrics_handler))
        .route(
            "/-/healthy",
            get(lifecycle::healthy).head(lifecycle::healthy),
        )
        .route("/-/ready", get(lifecycle::ready).head(lifecycle::ready))
        .route(
            "/-/reload",
            post(lifecycle::reload)
                .put(lifecycle::reload)
                .get(lifecycle::requires_post),
        )
        .route(
            "/-/quit",
            post(lifecycle::quit)
                .put(lifecycle::quit)
                .get(lifecycle::requires_post),
        )
        .route_layer(from_fn_with_state(state.clone(), track))
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Fastest)
                .compress_when(
                    SizeAbove::new(COMPRESS_ABOVE)
                        .and(NotForContentType::GRPC)
                        .and(NotForContentType::IMAGES)
                        .and(NotForContentType::SSE),
                ),
        )
        .with_state(state)
}
