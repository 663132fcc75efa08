//! Replays the requests Grafana's Prometheus data source sends (catalogue in
//! `shared/docs/grafana-datasource-requests.md`, IDs R1–R19) against the
//! router and checks the answers satisfy Grafana's parsers.

mod common;

use std::io::Read;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

// ---- R1: "Save & test" health check (needs the evaluator) ----

#[tokio::test]
async fn r1_health_check_post_and_get() {
    let app = app();
    for r in [
        post(&app, "/api/v1/query", "query=1%2B1&time=4").await,
        get(&app, "/api/v1/query?query=1%2B1&time=4").await,
    ] {
        assert_eq!(
            ok_data(&r),
            json!({"resultType": "scalar", "result": [4, "2"]})
        );
        assert!(r.body.find("resultType").unwrap() < r.body.find("result\"").unwrap());
    }
}

// ---- R2 / R16 / R19: buildinfo ----

#[tokio::test]
async fn r2_r16_buildinfo_is_prometheus_like() {
    let app = app();
    for r in [
        get(&app, "/api/v1/status/buildinfo").await,
        post(&app, "/api/v1/status/buildinfo", "").await,
    ] {
        let d = ok_data(&r);
        for k in [
            "version",
            "revision",
            "branch",
            "buildUser",
            "buildDate",
            "goVersion",
        ] {
            assert!(d[k].is_string(), "missing {k}");
        }
        assert!(
            d.get("features").is_none(),
            "features would make Grafana think this is Mimir"
        );
        let v: Vec<u64> = d["version"]
            .as_str()
            .unwrap()
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(v.len(), 3);
        assert!(
            (v[0], v[1]) >= (2, 24),
            "semver >= 2.24 enables the labels-match API"
        );
    }
}

// ---- R3 / R4: range and instant queries, §5.5 worked example ----

#[tokio::test]
async fn r3_worked_example_range_query() {
    let app = app();
    let body = "end=1704110420&query=sum%28rate%28http_requests_total%7Bjob%3D%22api%22%7D%5B1m0s%5D%29%29&start=1704088820&step=20";
    let d = ok_data(&post(&app, "/api/v1/query_range", body).await);
    assert_eq!(d["resultType"], "matrix");
    let values = d["result"][0]["values"].as_array().unwrap();
    assert!(values.iter().all(|p| p[0].is_number() && p[1].is_string()));
    let d = ok_data(&post(&app, "/api/v1/query", "query=up&time=1704110437.123").await);
    assert_eq!(d["resultType"], "vector");
    assert_eq!(d["result"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn r3_parameter_errors_are_grafana_parseable() {
    let app = app();
    // 400 bodies are parsed by Grafana as Prometheus JSON.
    let m = err_msg(
        &post(
            &app,
            "/api/v1/query_range",
            "query=up&start=10&end=0&step=20",
        )
        .await,
        400,
        "bad_data",
    );
    assert_eq!(
        m,
        "invalid parameter \"end\": end timestamp must not be before start time"
    );
    let m = err_msg(
        &post(
            &app,
            "/api/v1/query_range",
            "query=up&start=0&end=1000000&step=0.001",
        )
        .await,
        400,
        "bad_data",
    );
    assert!(m.starts_with("exceeded maximum resolution of 11,000 points per timeseries"));
    let m = err_msg(
        &get(&app, "/api/v1/query?query=up&time=yesterday").await,
        400,
        "bad_data",
    );
    assert_eq!(
        m,
        "invalid parameter \"time\": cannot parse \"yesterday\" to a valid timestamp"
    );
    let m = err_msg(
        &post(&app, "/api/v1/query", "query=up&timeout=soon").await,
        400,
        "bad_data",
    );
    assert_eq!(
        m,
        "invalid parameter \"timeout\": cannot parse \"soon\" to a valid duration"
    );
    // Float and sub-second steps are accepted (they reach the engine).
    let r = post(
        &app,
        "/api/v1/query_range",
        "query=up&start=1704110400&end=1704110410&step=0.5",
    )
    .await;
    assert_ne!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

// ---- R5 / R7: exemplars ----

#[tokio::test]
async fn r5_r7_exemplar_probe_with_millisecond_times() {
    let app = app();
    let body = "query=test&start=1704108637123&end=1704110437123";
    for r in [
        post(&app, "/api/v1/query_exemplars", body).await,
        get(&app, &format!("/api/v1/query_exemplars?{body}")).await,
        post(
            &app,
            "/api/v1/query_exemplars",
            "query=up&start=1704088820&end=1704110420",
        )
        .await,
    ] {
        assert_eq!(ok_data(&r), json!([]));
    }
}

// ---- R6 / R17: rules ----

#[tokio::test]
async fn r6_r17_rules_without_rules_configured() {
    let app = app();
    assert_eq!(
        ok_data(&get(&app, "/api/v1/rules").await),
        json!({"groups": []})
    );
    let r = get(&app, "/api/v1/rules?file%5B%5D=a.yml&rule_group%5B%5D=g&rule_name%5B%5D=r&exclude_alerts=true&group_limit=10&rule_group=g").await;
    assert_eq!(ok_data(&r), json!({"groups": []}));
}

// ---- R8: metric names ----

#[tokio::test]
async fn r8_metric_names() {
    let app = app();
    let d = ok_data(
        &get(
            &app,
            "/api/v1/label/__name__/values?start=1704088800&end=1704110460&limit=40000",
        )
        .await,
    );
    assert_eq!(
        strings(&d),
        [
            "http_requests_total",
            "model.latency",
            "node_cpu_seconds_total",
            "up"
        ]
    );
    // code-editor search: case-insensitive regex plus another filter
    let m = enc(r#"{__name__=~"(?i).*HTTP.*",job="api"}"#);
    let d = ok_data(
        &get(
            &app,
            &format!("/api/v1/label/__name__/values?limit=1000&match%5B%5D={m}"),
        )
        .await,
    );
    assert_eq!(strings(&d), ["http_requests_total"]);
    // limit cuts with a warning
    let r = get(&app, "/api/v1/label/__name__/values?limit=2").await;
    assert_eq!(
        strings(&ok_data(&r)),
        ["http_requests_total", "model.latency"]
    );
    assert_eq!(
        r.json()["warnings"],
        json!(["results truncated due to limit"])
    );
    // limit=0 means no limit
    assert_eq!(
        ok_data(&get(&app, "/api/v1/label/__name__/values?limit=0").await)
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

// ---- R9 / R15: label names ----

#[tokio::test]
async fn r9_label_names_post_and_get() {
    let app = app();
    let body = format!(
        "end=1704110460&limit=40000&match%5B%5D={}&start=1704088800",
        enc(r#"{__name__="up"}"#)
    );
    let d = ok_data(&post(&app, "/api/v1/labels", &body).await);
    assert_eq!(strings(&d), ["__name__", "instance", "job"]);
    // browser encoding (%20) and Go encoding (+) of the ", " separator
    for uri in [
        "/api/v1/labels?match%5B%5D=%7Bjob%3D%22api%22%2C%20__name__%3D%22http_requests_total%22%7D",
        "/api/v1/labels?match%5B%5D=%7Bjob%3D%22api%22%2C+__name__%3D%22http_requests_total%22%7D",
    ] {
        let d = ok_data(&get(&app, uri).await);
        assert_eq!(strings(&d), ["__name__", "code", "instance", "job"]);
    }
    // Metrics Drilldown: trailing comma inside the braces
    let d = ok_data(
        &get(
            &app,
            "/api/v1/labels?limit=40000&match[]=%7B__name__%3D~%22.%2B%22%2C%7D",
        )
        .await,
    );
    assert!(strings(&d).contains(&"http.status".to_string()));
    // R15: one match[] per metric, bare names and utf8 names
    let d = ok_data(
        &get(
            &app,
            "/api/v1/labels?match[]=node_cpu_seconds_total&match[]=%7B%22model.latency%22%7D",
        )
        .await,
    );
    assert_eq!(
        strings(&d),
        ["__name__", "cpu", "http.status", "instance", "job"]
    );
    // all names, no params
    assert_eq!(
        ok_data(&get(&app, "/api/v1/labels").await)
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

// ---- R10: label values ----

#[tokio::test]
async fn r10_label_values() {
    let app = app();
    let d = ok_data(
        &get(
            &app,
            "/api/v1/label/job/values?limit=40000&start=1704088800&end=1704110460",
        )
        .await,
    );
    assert_eq!(strings(&d), ["api", "node"]);
    // label_values(up{job="api"}, instance)
    let d = ok_data(
        &get(
            &app,
            &format!(
                "/api/v1/label/instance/values?match[]={}",
                enc(r#"up{job="api"}"#)
            ),
        )
        .await,
    );
    assert_eq!(strings(&d), ["a:1"]);
    // U__-escaped UTF-8 label name
    let d = ok_data(&get(&app, "/api/v1/label/U__http_2e_status/values").await);
    assert_eq!(strings(&d), ["200"]);
    // a time range before all data → empty list, not null
    assert_eq!(
        ok_data(&get(&app, "/api/v1/label/job/values?start=1&end=2").await),
        json!([])
    );
    // plugin 13.x may POST it
    assert_eq!(
        strings(&ok_data(
            &post(&app, "/api/v1/label/job/values", "limit=40000").await
        )),
        ["api", "node"]
    );
}

// ---- R11: metadata ----

#[tokio::test]
async fn r11_metadata_without_targets_is_an_empty_object() {
    let app = app();
    assert_eq!(
        ok_data(&get(&app, "/api/v1/metadata?limit=40000").await),
        json!({})
    );
    assert_eq!(ok_data(&get(&app, "/api/v1/metadata").await), json!({}));
}

// ---- R12 / R14: series ----

#[tokio::test]
async fn r12_r14_series() {
    let app = app();
    let body = format!(
        "end=1704110438&limit=40000&match%5B%5D={}&start=1704088838",
        enc(r#"{__name__!=""}"#)
    );
    let d = ok_data(&post(&app, "/api/v1/series", &body).await);
    let all = d.as_array().unwrap();
    assert_eq!(all.len(), 6);
    assert!(all
        .iter()
        .all(|s| s.is_object() && s["__name__"].is_string()));
    // R14: classic variable query
    let d = ok_data(
        &get(
            &app,
            &format!(
                "/api/v1/series?match[]={}&start=1704088838&end=1704110438",
                enc(r#"up{job="api"}"#)
            ),
        )
        .await,
    );
    assert_eq!(
        d,
        json!([{"__name__": "up", "instance": "a:1", "job": "api"}])
    );
    // series mode label values: label!="" added
    let d = ok_data(
        &get(
            &app,
            &format!(
                "/api/v1/series?match[]={}",
                enc(r#"{__name__="up",job!=""}"#)
            ),
        )
        .await,
    );
    assert_eq!(d.as_array().unwrap().len(), 2);
    // limit
    let r = get(
        &app,
        &format!(
            "/api/v1/series?limit=1&match[]={}",
            enc(r#"{__name__!=""}"#)
        ),
    )
    .await;
    assert_eq!(ok_data(&r).as_array().unwrap().len(), 1);
    assert_eq!(
        r.json()["warnings"],
        json!(["results truncated due to limit"])
    );
}

// ---- R13: query_result(count(up)) ----

#[tokio::test]
async fn r13_query_result_variable() {
    let app = app();
    let d = ok_data(&post(&app, "/api/v1/query", "query=count%28up%29&time=1704110438").await);
    assert_eq!(d["resultType"], "vector");
    assert_eq!(d["result"][0]["value"][1], "2");
}

// ---- Conventions (§2, §6, §9) ----

#[tokio::test]
async fn post_merges_url_and_body_params_and_ignores_unknown_ones() {
    let app = app();
    let r = send(
        &app,
        Method::POST,
        "/api/v1/labels?customParam=1&max_samples_processed_warning_threshold=5",
        Some("match%5B%5D=up&stats=all&limit=40000"),
        &[
            ("User-Agent", "Grafana/11.0.0"),
            ("X-Grafana-Org-Id", "1"),
            ("FromAlert", "true"),
        ],
    )
    .await;
    assert_eq!(strings(&ok_data(&r)), ["__name__", "instance", "job"]);
    // match[] in the URL of a POST is merged too
    let r = post(
        &app,
        "/api/v1/label/job/values?match[]=node_cpu_seconds_total",
        "limit=10",
    )
    .await;
    assert_eq!(strings(&ok_data(&r)), ["node"]);
}

#[tokio::test]
async fn unsupported_methods_get_405_so_grafana_retries() {
    let app = app();
    for uri in [
        "/api/v1/query",
        "/api/v1/labels",
        "/api/v1/series",
        "/api/v1/status/buildinfo",
    ] {
        let r = send(&app, Method::DELETE, uri, None, &[]).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
    }
}

#[tokio::test]
async fn gzip_when_asked_identity_otherwise() {
    let app = app();
    // A small answer is sent as is even to a client that accepts gzip.
    let r = send(
        &app,
        Method::GET,
        "/api/v1/series?match[]=up",
        None,
        &[("Accept-Encoding", "gzip, deflate, br, zstd")],
    )
    .await;
    assert!(r.headers.get("content-encoding").is_none());
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 2);
    // A larger one (2 KB: compressed by the router's layer) is gzipped.
    let long = "x".repeat(2000);
    let uri =
        format!("/api/v1/query?query=label_replace(vector(1),%22a%22,%22{long}%22,%22%22,%22%22)");
    let r = send(
        &app,
        Method::GET,
        &uri,
        None,
        &[("Accept-Encoding", "gzip, deflate, br, zstd")],
    )
    .await;
    assert_eq!(r.headers.get("content-encoding").unwrap(), "gzip");
    let raw = {
        // the body was read lossily; fetch it again as bytes
        use axum::body::{to_bytes, Body};
        use tower::ServiceExt;
        let req = axum::http::Request::get(uri.as_str())
            .header("Accept-Encoding", "gzip")
            .body(Body::empty())
            .unwrap();
        to_bytes(app.clone().oneshot(req).await.unwrap().into_body(), 1 << 20)
            .await
            .unwrap()
    };
    let mut text = String::new();
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_string(&mut text)
        .unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(j["data"]["result"][0]["metric"]["a"], long.as_str());
    let r = get(&app, &uri).await;
    assert!(r.headers.get("content-encoding").is_none());
}

#[tokio::test]
async fn bad_selectors_are_400_not_500() {
    let app = app();
    for m in ["up{", "{job=~\".*\"}", "{}", "up{job=x}", "{a=~\"(\"}"] {
        let r = get(&app, &format!("/api/v1/series?match[]={}", enc(m))).await;
        err_msg(&r, 400, "bad_data");
        let r = get(&app, &format!("/api/v1/labels?match[]={}", enc(m))).await;
        err_msg(&r, 400, "bad_data");
        let r = get(
            &app,
            &format!("/api/v1/label/job/values?match[]={}", enc(m)),
        )
        .await;
        err_msg(&r, 400, "bad_data");
    }
}

#[tokio::test]
async fn execution_errors_are_422_json() {
    let app = app();
    // two series on each side with nothing to tell them apart once `on()` drops every label
    let q = enc("up + on() up");
    let r = post(&app, "/api/v1/query", &format!("query={q}&time=1704110437")).await;
    let m = err_msg(&r, 422, "execution");
    assert!(!m.is_empty());
    // parse errors are 400 bad_data with a position
    let m = err_msg(
        &post(&app, "/api/v1/query", "query=sum%28up&time=4").await,
        400,
        "bad_data",
    );
    assert!(m.starts_with("invalid parameter \"query\": 1:"), "{m}");
}
