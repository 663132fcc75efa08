//! Endpoints backed by providers: targets, metadata, rules, alerts,
//! Alertmanagers, status pages, admin and lifecycle; with and without
//! providers, happy paths and bad parameters.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use common::*;
use promlite_http::providers::*;
use promlite_http::{router, ApiOptions};
use promlite_model::{labels, Matcher, Metadata, MetricType};
use serde_json::json;

struct Targets;

impl TargetsProvider for Targets {
    fn active(&self) -> Vec<ActiveTarget> {
        vec![
            ActiveTarget {
                discovered_labels: labels!("__address__" => "a:1", "job" => "api"),
                labels: labels!("instance" => "a:1", "job" => "api"),
                scrape_pool: "api".into(),
                scrape_url: "http://a:1/metrics".into(),
                global_url: "http://a:1/metrics".into(),
                last_scrape_ms: Some(1_704_110_430_000),
                last_scrape_duration_s: 0.012,
                health: Health::Good,
                scrape_interval: "15s".into(),
                scrape_timeout: "10s".into(),
                ..Default::default()
            },
            ActiveTarget {
                labels: labels!("instance" => "n:9100", "job" => "node"),
                scrape_pool: "node".into(),
                last_error: "connection refused".into(),
                health: Health::Bad,
                ..Default::default()
            },
        ]
    }
    fn dropped(&self) -> Vec<DroppedTarget> {
        vec![DroppedTarget {
            discovered_labels: labels!("__address__" => "x:1"),
            scrape_pool: "node".into(),
        }]
    }
    fn metadata(&self) -> Vec<TargetMetadata> {
        let m = |t: MetricType, h: &str| Metadata {
            metric_type: t,
            help: h.into(),
            unit: String::new(),
        };
        vec![
            TargetMetadata {
                target: labels!("instance" => "a:1", "job" => "api"),
                metric: "up".into(),
                metadata: m(MetricType::Gauge, "Up."),
            },
            TargetMetadata {
                target: labels!("instance" => "n:9100", "job" => "node"),
                metric: "up".into(),
                metadata: m(MetricType::Gauge, "Up."),
            },
            TargetMetadata {
                target: labels!("instance" => "a:1", "job" => "api"),
                metric: "http_requests_total".into(),
                metadata: m(MetricType::Counter, "Requests."),
            },
            TargetMetadata {
                target: labels!("instance" => "n:9100", "job" => "node"),
                metric: "http_requests_total".into(),
                metadata: m(MetricType::Counter, "HTTP requests."),
            },
        ]
    }
}

struct Rules;

fn alert() -> AlertView {
    AlertView {
        labels: labels!("alertname" => "Down", "severity" => "page"),
        annotations: labels!("summary" => "down"),
        state: "firing".into(),
        active_at_ms: Some(1_704_110_000_000),
        keep_firing_since_ms: None,
        value: 1.0,
    }
}

impl RulesProvider for Rules {
    fn groups(&self) -> Vec<RuleGroupView> {
        vec![
            RuleGroupView {
                name: "g1".into(),
                file: "a.yml".into(),
                interval_s: 15.0,
                rules: vec![
                    RuleView::Recording(RecordingRuleView {
                        name: "job:up:sum".into(),
                        query: "sum by (job) (up)".into(),
                        health: Health::Good,
                        ..Default::default()
                    }),
                    RuleView::Alerting(AlertingRuleView {
                        name: "Down".into(),
                        query: "up == 0".into(),
                        duration_s: 60.0,
                        labels: labels!("severity" => "page"),
                        state: "firing".into(),
                        alerts: vec![alert()],
                        health: Health::Bad,
                        last_error: "oops".into(),
                        last_evaluation_ms: Some(1_704_110_430_000),
                        ..Default::default()
                    }),
                ],
                ..Default::default()
            },
            RuleGroupView {
                name: "g2".into(),
                file: "b.yml".into(),
                interval_s: 60.0,
                rules: vec![RuleView::Recording(RecordingRuleView {
                    name: "x".into(),
                    query: "1".into(),
                    ..Default::default()
                })],
                ..Default::default()
            },
        ]
    }
}

struct Ams;
impl AlertmanagersProvider for Ams {
    fn active(&self) -> Vec<String> {
        vec!["http://am:9093/api/v2/alerts".into()]
    }
}

struct Tsdb;
impl TsdbStatusProvider for Tsdb {
    fn status(&self, _limit: usize) -> TsdbStatus {
        TsdbStatus {
            head_stats: HeadStats {
                num_series: 6,
                num_label_pairs: 12,
                chunk_count: 6,
                min_time: 1,
                max_time: 2,
            },
            series_count_by_metric_name: vec![
                ("up".into(), 2),
                ("http_requests_total".into(), 2),
                ("x".into(), 1),
            ],
            ..Default::default()
        }
    }
    fn wal_replay(&self) -> WalReplayStatus {
        WalReplayStatus {
            min: 0,
            max: 5,
            current: 5,
        }
    }
}

struct Info;
impl ServerInfoProvider for Info {
    fn config_yaml(&self) -> String {
        "global:\n  scrape_interval: 15s\n".into()
    }
    fn flags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("storage.tsdb.retention.time".to_string(), "15d".to_string())])
    }
    fn runtime_info(&self) -> RuntimeInfo {
        RuntimeInfo {
            start_time_ms: 1_704_000_000_000,
            storage_retention: "15d".into(),
            reload_config_success: true,
            ..Default::default()
        }
    }
}

#[derive(Default)]
struct Life {
    reloads: AtomicUsize,
    quits: AtomicUsize,
    fail: bool,
}
impl Lifecycle for Life {
    fn reload(&self) -> Result<(), String> {
        self.reloads.fetch_add(1, Ordering::SeqCst);
        if self.fail {
            Err("bad yaml".into())
        } else {
            Ok(())
        }
    }
    fn quit(&self) {
        self.quits.fetch_add(1, Ordering::SeqCst);
    }
}

/// A delete_series call: matcher sets as text, start, end.
type DeleteCall = (Vec<Vec<String>>, i64, i64);

#[derive(Default)]
struct Admin {
    deleted: Mutex<Vec<DeleteCall>>,
}
impl AdminProvider for Admin {
    fn delete_series(&self, sets: &[Vec<Matcher>], start: i64, end: i64) -> Result<(), String> {
        let sets = sets
            .iter()
            .map(|s| s.iter().map(|m| m.to_string()).collect())
            .collect();
        self.deleted.lock().unwrap().push((sets, start, end));
        Ok(())
    }
    fn clean_tombstones(&self) -> Result<(), String> {
        Ok(())
    }
    fn snapshot(&self, skip_head: bool) -> Result<String, String> {
        Ok(format!("20240101T120000Z-{skip_head}"))
    }
}

fn full_app() -> axum::Router {
    router(
        state()
            .with_targets(Arc::new(Targets))
            .with_rules(Arc::new(Rules))
            .with_alertmanagers(Arc::new(Ams))
            .with_tsdb(Arc::new(Tsdb))
            .with_server_info(Arc::new(Info)),
    )
}

#[tokio::test]
async fn targets_with_state_and_pool_filters() {
    let app = full_app();
    let d = ok_data(&get(&app, "/api/v1/targets").await);
    assert_eq!(d["activeTargets"].as_array().unwrap().len(), 2);
    let t = &d["activeTargets"][0];
    assert_eq!(t["labels"], json!({"instance": "a:1", "job": "api"}));
    assert_eq!(t["discoveredLabels"]["__address__"], "a:1");
    assert_eq!(t["scrapeUrl"], "http://a:1/metrics");
    assert_eq!(t["health"], "up");
    assert_eq!(t["lastScrape"], "2024-01-01T12:00:30Z");
    assert_eq!(t["lastScrapeDuration"], 0.012);
    assert_eq!(t["scrapeInterval"], "15s");
    assert_eq!(d["activeTargets"][1]["health"], "down");
    assert_eq!(d["activeTargets"][1]["lastScrape"], "0001-01-01T00:00:00Z");
    assert_eq!(
        d["droppedTargets"],
        json!([{"discoveredLabels": {"__address__": "x:1"}, "scrapePool": "node"}])
    );
    assert_eq!(d["droppedTargetCounts"], json!({"node": 1}));
    let d = ok_data(&get(&app, "/api/v1/targets?state=active").await);
    assert_eq!(d["droppedTargets"], json!([]));
    let d = ok_data(&get(&app, "/api/v1/targets?state=Dropped").await);
    assert_eq!(d["activeTargets"], json!([]));
    assert_eq!(d["droppedTargets"].as_array().unwrap().len(), 1);
    let d = ok_data(&get(&app, "/api/v1/targets?scrapePool=api").await);
    assert_eq!(d["activeTargets"].as_array().unwrap().len(), 1);
    assert_eq!(d["droppedTargets"], json!([]));
    assert_eq!(
        ok_data(&get(&app, "/api/v1/scrape_pools").await),
        json!({"scrapePools": ["api", "node"]})
    );
    assert_eq!(
        ok_data(&get(&app_plain(), "/api/v1/scrape_pools").await),
        json!({"scrapePools": []})
    );
    // no provider: empty lists
    let d = ok_data(&get(&app_plain(), "/api/v1/targets").await);
    assert_eq!(
        d,
        json!({"activeTargets": [], "droppedTargets": [], "droppedTargetCounts": {}})
    );
}

fn app_plain() -> axum::Router {
    common::app()
}

#[tokio::test]
async fn metadata_endpoints() {
    let app = full_app();
    let d = ok_data(&get(&app, "/api/v1/metadata").await);
    assert_eq!(
        d["up"],
        json!([{"type": "gauge", "help": "Up.", "unit": ""}])
    );
    assert_eq!(d["http_requests_total"].as_array().unwrap().len(), 2);
    let d = ok_data(&get(&app, "/api/v1/metadata?limit_per_metric=1").await);
    assert_eq!(d["http_requests_total"].as_array().unwrap().len(), 1);
    let d = ok_data(&get(&app, "/api/v1/metadata?limit=1").await);
    assert_eq!(d.as_object().unwrap().len(), 1);
    let d = ok_data(&get(&app, "/api/v1/metadata?metric=up").await);
    assert_eq!(d.as_object().unwrap().keys().collect::<Vec<_>>(), ["up"]);
    assert_eq!(
        err_msg(
            &get(&app, "/api/v1/metadata?limit=x").await,
            400,
            "bad_data"
        ),
        "limit must be a number"
    );
    assert_eq!(
        err_msg(
            &get(&app, "/api/v1/metadata?limit_per_metric=x").await,
            400,
            "bad_data"
        ),
        "limit_per_metric must be a number"
    );

    let d = ok_data(
        &get(
            &app,
            &format!(
                "/api/v1/targets/metadata?match_target={}",
                enc(r#"{job="node"}"#)
            ),
        )
        .await,
    );
    assert_eq!(d.as_array().unwrap().len(), 2);
    assert_eq!(d[0]["target"], json!({"instance": "n:9100", "job": "node"}));
    assert_eq!(d[0]["metric"], "up");
    let d = ok_data(
        &get(
            &app,
            "/api/v1/targets/metadata?metric=http_requests_total&limit=1",
        )
        .await,
    );
    assert_eq!(
        d,
        json!([{"target": {"instance": "a:1", "job": "api"}, "type": "counter", "help": "Requests.", "unit": ""}])
    );
    err_msg(
        &get(&app, "/api/v1/targets/metadata?match_target=%7B").await,
        400,
        "bad_data",
    );
    assert_eq!(
        ok_data(&get(&app_plain(), "/api/v1/targets/metadata").await),
        json!([])
    );
}

#[tokio::test]
async fn rules_and_filters() {
    let app = full_app();
    let d = ok_data(&get(&app, "/api/v1/rules").await);
    let g = &d["groups"][0];
    assert_eq!(
        (
            g["name"].as_str(),
            g["file"].as_str(),
            g["interval"].as_f64()
        ),
        (Some("g1"), Some("a.yml"), Some(15.0))
    );
    let rec = &g["rules"][0];
    assert_eq!(rec["type"], "recording");
    assert_eq!(rec["health"], "ok");
    assert!(rec.get("labels").is_none() && rec.get("lastError").is_none());
    let al = &g["rules"][1];
    assert_eq!(al["type"], "alerting");
    assert_eq!(al["duration"], 60.0);
    assert_eq!(al["health"], "err");
    assert_eq!(al["lastError"], "oops");
    assert_eq!(al["lastEvaluation"], "2024-01-01T12:00:30Z");
    assert_eq!(al["alerts"][0]["value"], "1e+00");
    assert_eq!(al["alerts"][0]["activeAt"], "2024-01-01T11:53:20Z");
    assert_eq!(d["groups"].as_array().unwrap().len(), 2);

    let d = ok_data(&get(&app, "/api/v1/rules?type=alert").await);
    assert_eq!(
        d["groups"].as_array().unwrap().len(),
        1,
        "groups left empty by the filter are dropped"
    );
    assert_eq!(d["groups"][0]["rules"].as_array().unwrap().len(), 1);
    let d = ok_data(&get(&app, "/api/v1/rules?type=record&file[]=b.yml").await);
    assert_eq!(d["groups"][0]["name"], "g2");
    let d = ok_data(&get(&app, "/api/v1/rules?rule_name[]=Down&exclude_alerts=true").await);
    assert!(d["groups"][0]["rules"][0].get("alerts").is_none());
    let d = ok_data(
        &get(
            &app,
            &format!("/api/v1/rules?match[]={}", enc(r#"{severity="page"}"#)),
        )
        .await,
    );
    assert_eq!(d["groups"][0]["rules"][0]["name"], "Down");
    let d = ok_data(&get(&app, "/api/v1/rules?rule_group[]=g2").await);
    assert_eq!(d["groups"][0]["name"], "g2");

    // pagination
    let d = ok_data(&get(&app, "/api/v1/rules?group_limit=1").await);
    assert_eq!(d["groups"].as_array().unwrap().len(), 1);
    let tok = d["groupNextToken"].as_str().unwrap().to_string();
    let d = ok_data(
        &get(
            &app,
            &format!("/api/v1/rules?group_limit=1&group_next_token={tok}"),
        )
        .await,
    );
    assert_eq!(d["groups"][0]["name"], "g2");
    assert!(d.get("groupNextToken").is_none());

    let bad = [
        ("type=x", "invalid parameter \"type\": not supported value \"x\""),
        ("exclude_alerts=maybe", "invalid parameter \"exclude_alerts\": strconv.ParseBool: parsing \"maybe\": invalid syntax"),
        ("group_limit=0", "invalid parameter \"group_limit\": group_limit needs to be greater than 0"),
        ("group_next_token=abc", "invalid parameter \"group_next_token\": group_limit needs to be present in order to paginate over the groups"),
        ("group_limit=1&group_next_token=abc", "invalid parameter \"group_next_token\": invalid group_next_token"),
    ];
    for (q, msg) in bad {
        assert_eq!(
            err_msg(
                &get(&app, &format!("/api/v1/rules?{q}")).await,
                400,
                "bad_data"
            ),
            msg
        );
    }
}

#[tokio::test]
async fn alerts_and_alertmanagers() {
    let app = full_app();
    let d = ok_data(&get(&app, "/api/v1/alerts").await);
    assert_eq!(
        d,
        json!({"alerts": [{"labels": {"alertname": "Down", "severity": "page"}, "annotations": {"summary": "down"},
                "state": "firing", "activeAt": "2024-01-01T11:53:20Z", "value": "1e+00"}]})
    );
    assert_eq!(
        ok_data(&get(&app_plain(), "/api/v1/alerts").await),
        json!({"alerts": []})
    );
    let d = ok_data(&get(&app, "/api/v1/alertmanagers").await);
    assert_eq!(
        d,
        json!({"activeAlertmanagers": [{"url": "http://am:9093/api/v2/alerts"}], "droppedAlertmanagers": []})
    );
    assert_eq!(
        ok_data(&get(&app_plain(), "/api/v1/alertmanagers").await),
        json!({"activeAlertmanagers": [], "droppedAlertmanagers": []})
    );
}

#[tokio::test]
async fn status_pages() {
    let app = full_app();
    assert_eq!(
        ok_data(&get(&app, "/api/v1/status/config").await),
        json!({"yaml": "global:\n  scrape_interval: 15s\n"})
    );
    assert_eq!(
        ok_data(&get(&app, "/api/v1/status/flags").await),
        json!({"storage.tsdb.retention.time": "15d"})
    );
    let d = ok_data(&get(&app, "/api/v1/status/runtimeinfo").await);
    assert_eq!(d["startTime"], "2023-12-31T05:20:00Z");
    assert_eq!(d["storageRetention"], "15d");
    assert_eq!(d["reloadConfigSuccess"], true);
    let d = ok_data(&get(&app, "/api/v1/status/tsdb?limit=2").await);
    assert_eq!(d["headStats"]["numSeries"], 6);
    assert_eq!(
        d["seriesCountByMetricName"],
        json!([{"name": "up", "value": 2}, {"name": "http_requests_total", "value": 2}])
    );
    assert_eq!(d["labelValueCountByLabelName"], json!([]));
    for q in ["limit=0", "limit=x", "limit=-3"] {
        assert_eq!(
            err_msg(
                &get(&app, &format!("/api/v1/status/tsdb?{q}")).await,
                400,
                "bad_data"
            ),
            "limit must be a positive number"
        );
    }
    assert_eq!(
        ok_data(&get(&app, "/api/v1/status/walreplay").await),
        json!({"min": 0, "max": 5, "current": 5})
    );
    // without providers
    let plain = app_plain();
    assert_eq!(
        ok_data(&get(&plain, "/api/v1/status/config").await),
        json!({"yaml": ""})
    );
    assert_eq!(
        ok_data(&get(&plain, "/api/v1/status/flags").await),
        json!({})
    );
    assert_eq!(
        ok_data(&get(&plain, "/api/v1/status/tsdb").await)["headStats"]["numSeries"],
        0
    );
    assert_eq!(
        ok_data(&get(&plain, "/api/v1/status/walreplay").await),
        json!({"min": 0, "max": 0, "current": 0})
    );
    assert!(
        ok_data(&get(&plain, "/api/v1/status/runtimeinfo").await)["GOMAXPROCS"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn admin_disabled_and_enabled() {
    let plain = app_plain();
    for p in ["delete_series?match[]=up", "clean_tombstones", "snapshot"] {
        let r = post(&plain, &format!("/api/v1/admin/tsdb/{p}"), "").await;
        assert_eq!(err_msg(&r, 503, "unavailable"), "admin APIs disabled");
    }
    let admin = Arc::new(Admin::default());
    let opts = ApiOptions {
        enable_admin: true,
        ..Default::default()
    };
    let app = router(state().with_options(opts).with_admin(admin.clone()));
    let r = post(
        &app,
        "/api/v1/admin/tsdb/delete_series",
        "match%5B%5D=up&start=1&end=2",
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        admin.deleted.lock().unwrap()[0],
        (vec![vec!["__name__=\"up\"".to_string()]], 1000, 2000)
    );
    let r = send(
        &app,
        Method::PUT,
        "/api/v1/admin/tsdb/clean_tombstones",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        ok_data(&post(&app, "/api/v1/admin/tsdb/snapshot?skip_head=true", "").await),
        json!({"name": "20240101T120000Z-true"})
    );
    assert_eq!(
        err_msg(
            &post(&app, "/api/v1/admin/tsdb/delete_series", "").await,
            400,
            "bad_data"
        ),
        "no match[] parameter provided"
    );
    err_msg(
        &post(&app, "/api/v1/admin/tsdb/delete_series", "match%5B%5D=%7B").await,
        400,
        "bad_data",
    );
    err_msg(
        &post(&app, "/api/v1/admin/tsdb/snapshot?skip_head=perhaps", "").await,
        400,
        "bad_data",
    );
    assert_eq!(
        get(&app, "/api/v1/admin/tsdb/snapshot").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn lifecycle_endpoints() {
    let plain = app_plain();
    assert_eq!(
        get(&plain, "/-/healthy").await.body,
        "Prometheus Server is Healthy.\n"
    );
    assert_eq!(
        get(&plain, "/-/ready").await.body,
        "Prometheus Server is Ready.\n"
    );
    let r = post(&plain, "/-/reload", "").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::FORBIDDEN, "Lifecycle API is not enabled.")
    );
    assert_eq!(
        post(&plain, "/-/quit", "").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&plain, "/-/reload").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );

    let life = Arc::new(Life::default());
    let opts = ApiOptions {
        enable_lifecycle: true,
        ..Default::default()
    };
    let app = router(
        state()
            .with_options(opts.clone())
            .with_lifecycle(life.clone()),
    );
    assert_eq!(post(&app, "/-/reload", "").await.status, StatusCode::OK);
    assert_eq!(
        send(&app, Method::PUT, "/-/reload", None, &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(life.reloads.load(Ordering::SeqCst), 2);
    let r = post(&app, "/-/quit", "").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "Requesting termination... Goodbye!")
    );
    assert_eq!(life.quits.load(Ordering::SeqCst), 1);
    let failing = router(state().with_options(opts).with_lifecycle(Arc::new(Life {
        fail: true,
        ..Default::default()
    })));
    let r = post(&failing, "/-/reload", "").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed to reload config: bad yaml\n"
        )
    );
}

#[tokio::test]
async fn not_ready_gates_the_api() {
    let st = state();
    st.set_ready(false);
    let app = router(st.clone());
    let r = get(&app, "/-/ready").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
    );
    assert_eq!(
        get(&app, "/api/v1/labels").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&app, "/-/healthy").await.status, StatusCode::OK);
    st.set_ready(true);
    assert_eq!(get(&app, "/api/v1/labels").await.status, StatusCode::OK);
}
