//! Query endpoints' parameter handling, parse/format_query, exemplars,
//! `/federate` and `/metrics`.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use promlite_http::providers::MetricsSource;
use promlite_http::router;
use promlite_model::{labels, STALE_NAN};
use serde_json::json;

#[tokio::test]
async fn query_bad_parameters() {
    let app = app();
    let cases = [
        ("/api/v1/query?query=up&time=x", "invalid parameter \"time\": cannot parse \"x\" to a valid timestamp"),
        ("/api/v1/query?query=up&lookback_delta=x", "invalid parameter \"lookback_delta\": cannot parse \"x\" to a valid duration"),
        ("/api/v1/query_range?query=up&end=1&step=1", "invalid parameter \"start\": cannot parse \"\" to a valid timestamp"),
        ("/api/v1/query_range?query=up&start=0&end=1&step=-5", "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"),
        ("/api/v1/query_range?query=up&start=0&end=1&step=1&timeout=1x", "invalid parameter \"timeout\": cannot parse \"1x\" to a valid duration"),
        ("/api/v1/query_range?query=up&start=2015-07-01T20:11:00Z&end=2015-07-01T20:10:00Z&step=15s", "invalid parameter \"end\": end timestamp must not be before start time"),
    ];
    for (uri, msg) in cases {
        assert_eq!(
            err_msg(&get(&app, uri).await, 400, "bad_data"),
            msg,
            "{uri}"
        );
        let (path, q) = uri.split_once('?').unwrap();
        assert_eq!(
            err_msg(&post(&app, path, q).await, 400, "bad_data"),
            msg,
            "POST {uri}"
        );
    }
}

#[tokio::test]
async fn query_happy_paths_and_missing_query() {
    let app = app();
    let m = err_msg(&get(&app, "/api/v1/query").await, 400, "bad_data");
    assert!(m.starts_with("invalid parameter \"query\": "), "{m}");
    let d = ok_data(
        &get(
            &app,
            &format!(
                "/api/v1/query?query={}&time=1704110437.123",
                enc(r#"up{job="api"}"#)
            ),
        )
        .await,
    );
    assert_eq!(
        d["result"][0]["metric"],
        json!({"__name__": "up", "instance": "a:1", "job": "api"})
    );
    assert_eq!(d["result"][0]["value"], json!([1704110437.123, "1439"]));
    let d = ok_data(
        &get(
            &app,
            "/api/v1/query_range?query=up&start=1704110400&end=1704110430&step=15",
        )
        .await,
    );
    assert_eq!(d["result"].as_array().unwrap().len(), 2);
    assert_eq!(d["result"][0]["values"].as_array().unwrap().len(), 3);
    let d = ok_data(&get(&app, "/api/v1/query?query=%22hi%22&time=5").await);
    assert_eq!(d, json!({"resultType": "string", "result": [5, "hi"]}));
    err_msg(
        &get(&app, "/api/v1/query?query=sum(").await,
        400,
        "bad_data",
    );
}

#[tokio::test]
async fn parse_and_format_query_report_parse_errors_as_bad_data() {
    let app = app();
    for path in ["/api/v1/parse_query", "/api/v1/format_query"] {
        let m = err_msg(
            &get(&app, &format!("{path}?query=sum%28")).await,
            400,
            "bad_data",
        );
        assert!(m.starts_with("invalid parameter \"query\": 1:"), "{m}");
        let m = err_msg(&post(&app, path, "").await, 400, "bad_data");
        assert!(m.starts_with("invalid parameter \"query\": "), "{m}");
    }
}

#[tokio::test]
async fn parse_and_format_query_happy_paths() {
    let app = app();
    let d = ok_data(
        &get(
            &app,
            &format!(
                "/api/v1/parse_query?query={}",
                enc("sum by (job) (rate(up[5m]))")
            ),
        )
        .await,
    );
    assert_eq!(d["type"], "aggregation");
    assert_eq!(d["grouping"], json!(["job"]));
    assert_eq!(d["expr"]["func"]["name"], "rate");
    assert_eq!(d["expr"]["args"][0]["range"], 300_000);
    assert_eq!(
        d["expr"]["args"][0]["matchers"],
        json!([{"name": "__name__", "value": "up", "type": "="}])
    );
    let d = ok_data(
        &post(
            &app,
            "/api/v1/parse_query",
            &format!("query={}", enc("1 + 2")),
        )
        .await,
    );
    assert_eq!(d["matching"], json!(null));
    assert_eq!(d["lhs"], json!({"type": "numberLiteral", "val": "1"}));
    let d = ok_data(
        &get(
            &app,
            &format!(
                "/api/v1/format_query?query={}",
                enc("sum(rate(up[5m]))by(job)")
            ),
        )
        .await,
    );
    assert_eq!(d, json!("sum by (job) (rate(up[5m]))"));
}

#[tokio::test]
async fn exemplars_validate_times() {
    let app = app();
    let m = err_msg(
        &get(&app, "/api/v1/query_exemplars?query=up&start=x").await,
        400,
        "bad_data",
    );
    assert_eq!(
        m,
        "invalid parameter \"start\": cannot parse \"x\" to a valid timestamp"
    );
    let m = err_msg(
        &get(&app, "/api/v1/query_exemplars?query=up&start=5&end=1").await,
        400,
        "bad_data",
    );
    assert_eq!(
        m,
        "invalid parameter \"end\": end timestamp must not be before start time"
    );
    assert_eq!(
        ok_data(&get(&app, "/api/v1/query_exemplars?query=up").await),
        json!([])
    );
}

#[tokio::test]
async fn series_and_labels_bad_parameters() {
    let app = app();
    assert_eq!(
        err_msg(&get(&app, "/api/v1/series").await, 400, "bad_data"),
        "no match[] parameter provided"
    );
    assert_eq!(
        err_msg(
            &get(&app, "/api/v1/series?match[]=up&limit=x").await,
            400,
            "bad_data"
        ),
        "invalid parameter \"limit\": strconv.Atoi: parsing \"x\": invalid syntax"
    );
    assert_eq!(
        err_msg(&get(&app, "/api/v1/labels?limit=-1").await, 400, "bad_data"),
        "invalid parameter \"limit\": limit must be non-negative"
    );
    assert_eq!(
        err_msg(
            &get(&app, "/api/v1/label/job/values?start=abc").await,
            400,
            "bad_data"
        ),
        "invalid parameter \"start\": cannot parse \"abc\" to a valid timestamp"
    );
    assert_eq!(
        err_msg(
            &get(&app, "/api/v1/series?match[]=up&end=abc").await,
            400,
            "bad_data"
        ),
        "invalid parameter \"end\": cannot parse \"abc\" to a valid timestamp"
    );
    let m = err_msg(
        &get(
            &app,
            &format!("/api/v1/labels?match[]={}", enc(r#"{job=""}"#)),
        )
        .await,
        400,
        "bad_data",
    );
    assert!(
        m.ends_with("must contain at least one non-empty matcher"),
        "{m}"
    );
    // RFC 3339 times work too
    let d = ok_data(
        &get(
            &app,
            "/api/v1/label/job/values?start=2024-01-01T11:00:00Z&end=2024-01-01T12:00:00Z",
        )
        .await,
    );
    assert_eq!(d, json!(["api", "node"]));
    // unknown path
    assert_eq!(
        get(&app, "/api/v1/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn federate_latest_samples_in_text_format() {
    let app = app();
    // extra series in the shared fixture storage: one ended with a staleness
    // marker, one too old for the 5 m lookback
    let fixture = fixture();
    fixture.insert(
        labels!("__name__" => "up", "job" => "gone"),
        &[
            (NOW_MS - 60_000, 1.0),
            (NOW_MS - 30_000, f64::from_bits(STALE_NAN.to_bits())),
        ],
    );
    fixture.insert(
        labels!("__name__" => "up", "job" => "old"),
        &[(NOW_MS - 600_000, 1.0)],
    );
    let app2 = router(
        promlite_http::ApiState::new(Arc::new(fixture), promlite_promql::Engine::default())
            .with_clock(Arc::new(promlite_model::ManualClock::new(NOW_MS))),
    );
    let r = get(
        &app2,
        &format!(
            "/federate?match[]=up&match[]={}",
            enc(r#"{__name__="model.latency"}"#)
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let t = NOW_MS - 15_000;
    let expected = format!(
        "# TYPE \"model.latency\" untyped\n{{\"model.latency\",\"http.status\"=\"200\",job=\"api\",instance=\"\"}} 8634 {t}\n\
         # TYPE up untyped\nup{{instance=\"a:1\",job=\"api\"}} 1439 {t}\nup{{instance=\"n:9100\",job=\"node\"}} 2878 {t}\n"
    );
    assert_eq!(r.body, expected);
    // no match[] → empty; bad selector → 400 text
    assert_eq!(get(&app, "/federate").await.body, "");
    let r = get(&app, "/federate?match[]=%7B").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

struct Extra;
impl MetricsSource for Extra {
    fn write_metrics(&self, out: &mut String) {
        out.push_str("# TYPE promlite_tsdb_head_series gauge\npromlite_tsdb_head_series 6\n");
    }
}

#[tokio::test]
async fn self_metrics_count_requests_and_include_sources() {
    let app = router(state().with_metrics_source(Arc::new(Extra)));
    get(&app, "/api/v1/labels").await;
    get(&app, "/api/v1/labels").await;
    get(&app, "/api/v1/label/job/values").await;
    get(&app, "/api/v1/series").await;
    let r = get(&app, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let b = &r.body;
    assert!(
        b.contains("prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/labels\"} 2\n"),
        "{b}"
    );
    assert!(b.contains("prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/label/{name}/values\"} 1\n"), "{b}");
    assert!(
        b.contains("prometheus_http_requests_total{code=\"400\",handler=\"/api/v1/series\"} 1\n"),
        "{b}"
    );
    assert!(b.contains(
        "prometheus_http_request_duration_seconds_count{handler=\"/api/v1/labels\"} 2\n"
    ));
    assert!(b.contains("promlite_tsdb_head_series 6\n"));
}

#[tokio::test]
async fn cors_like_prometheus() {
    use axum::http::Method;
    let app = app();
    let r = send(
        &app,
        Method::GET,
        "/api/v1/labels",
        None,
        &[("Origin", "http://ui.example")],
    )
    .await;
    assert_eq!(r.headers.get("access-control-allow-origin").unwrap(), "*");
    assert_eq!(
        r.headers.get("access-control-allow-methods").unwrap(),
        "GET, POST, OPTIONS"
    );
    let r = send(
        &app,
        Method::OPTIONS,
        "/api/v1/query_range",
        None,
        &[("Origin", "http://ui.example")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, r#"{"status":"success","data":null}"#);
    // no Origin header, no CORS headers
    assert!(get(&app, "/api/v1/labels")
        .await
        .headers
        .get("access-control-allow-origin")
        .is_none());
    // a restricted origin list
    let opts = promlite_http::ApiOptions {
        cors_origin: "https://grafana\\.example".into(),
        ..Default::default()
    };
    let app = router(state().with_options(opts));
    let r = send(
        &app,
        Method::GET,
        "/api/v1/labels",
        None,
        &[("Origin", "https://grafana.example")],
    )
    .await;
    assert_eq!(
        r.headers.get("access-control-allow-origin").unwrap(),
        "https://grafana.example"
    );
    let r = send(
        &app,
        Method::GET,
        "/api/v1/labels",
        None,
        &[("Origin", "https://evil.example")],
    )
    .await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
    assert_eq!(r.headers.get("vary").unwrap(), "Origin");
}

/// A storage whose reads fail.
struct Broken;

impl promlite_model::Queryable for Broken {
    fn querier(
        &self,
        _mint: i64,
        _maxt: i64,
    ) -> Result<Box<dyn promlite_model::Querier + '_>, promlite_model::StorageError> {
        Err(promlite_model::StorageError::Io("disk on fire".into()))
    }
}

#[tokio::test]
async fn storage_failures_are_json_errors_not_panics() {
    let app = router(promlite_http::ApiState::new(
        Arc::new(Broken),
        promlite_promql::Engine::default(),
    ));
    assert_eq!(
        err_msg(&get(&app, "/api/v1/labels").await, 422, "execution"),
        "i/o error: disk on fire"
    );
    err_msg(
        &get(&app, "/api/v1/label/job/values").await,
        422,
        "execution",
    );
    err_msg(
        &get(&app, "/api/v1/series?match[]=up").await,
        422,
        "execution",
    );
    let r = get(&app, "/federate?match[]=up").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let r = get(&app, "/api/v1/query?query=up&time=1").await;
    assert!(r.status.is_client_error() || r.status.is_server_error());
    assert_eq!(r.json()["status"], "error");
}

/// A large range-query answer is gzip-compressed (in several pieces) when
/// the client accepts it, and reads back as exactly the identity answer.
#[tokio::test]
async fn large_query_answers_are_gzipped_and_read_back_identical() {
    use std::io::Read;

    use axum::body::{to_bytes, Body};
    use tower::ServiceExt;

    let db = promlite_model::MemStorage::new();
    let start = NOW_MS - 6 * 3_600_000;
    for i in 0..40 {
        let id = format!("{i}");
        let samples: Vec<(i64, f64)> = (0..1440)
            .map(|k| (start + k * 15_000, (k * (i + 3)) as f64 / 7.0))
            .collect();
        db.insert(labels!("__name__" => "g", "i" => id.as_str()), &samples);
    }
    let app = router(promlite_http::ApiState::new(
        Arc::new(db),
        promlite_promql::Engine::default(),
    ));
    let uri = format!(
        "/api/v1/query_range?query=g&start={}&end={}&step=15",
        start / 1000 + 1,
        NOW_MS / 1000
    );
    let fetch = |enc: Option<&'static str>| {
        let app = app.clone();
        let uri = uri.clone();
        async move {
            let mut b = axum::http::Request::get(uri.as_str());
            if let Some(e) = enc {
                b = b.header("Accept-Encoding", e);
            }
            let resp = app.oneshot(b.body(Body::empty()).unwrap()).await.unwrap();
            let headers = resp.headers().clone();
            let bytes = to_bytes(resp.into_body(), 64 << 20).await.unwrap();
            (headers, bytes)
        }
    };
    let (h_plain, plain) = fetch(None).await;
    assert!(h_plain.get("content-encoding").is_none());
    assert!(plain.len() > 1 << 20, "answer of {} bytes", plain.len());
    let (h_gz, gz) = fetch(Some("gzip, deflate")).await;
    assert_eq!(h_gz.get("content-encoding").unwrap(), "gzip");
    assert_eq!(h_gz.get("vary").unwrap(), "accept-encoding");
    assert_eq!(h_gz.get("content-type").unwrap(), "application/json");
    assert!(gz.len() < plain.len() / 3);
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut text)
        .unwrap();
    assert_eq!(text, plain.to_vec());
    let j: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(j["data"]["result"].as_array().unwrap().len(), 40);
    // `q=0` refuses gzip.
    let (h_no, no) = fetch(Some("gzip;q=0")).await;
    assert!(h_no.get("content-encoding").is_none());
    assert_eq!(no, plain);
}
