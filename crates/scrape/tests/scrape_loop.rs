//! Scenario tests of one target's scrape loop against in-process HTTP
//! targets: formats, compression, timeouts, body limits, parse errors,
//! sample/label limits, staleness, relabeling and honor_* options.

mod common;

use std::time::Duration;

use common::*;
use std::sync::Arc;

use promlite_model::{
    is_stale_nan, AppendError, Appendable, Appender, Labels, MemStorage, MetricType, SeriesRef,
    StorageError,
};
use promlite_scrape::Health;

const JOB: &str = "scrape_configs:\n  - job_name: svc\n    scrape_timeout: 2s\n    static_configs: [{targets: ['ADDR'], labels: {env: test}}]\n";

fn job(extra: &str) -> String {
    format!("{JOB}{extra}")
}

#[tokio::test]
async fn plain_scrape_appends_samples_report_and_metadata() {
    let body = "# HELP req_total Requests.\n# TYPE req_total counter\nreq_total{code=\"200\"} 7\nreq_total{code=\"500\"} 1\ntemp 21.5\n";
    let srv = serve(Reply::text(body)).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(
        (r.samples_scraped, r.samples_post_relabel, r.series_added),
        (3, 3, 3)
    );

    let reqs = series(&db, "req_total");
    assert_eq!(reqs.len(), 2);
    let inst = srv.addr.to_string();
    assert_eq!(reqs[0].0.get("job"), Some("svc"));
    assert_eq!(reqs[0].0.get("instance"), Some(inst.as_str()));
    assert_eq!(reqs[0].0.get("env"), Some("test"));
    assert_eq!(reqs[0].1, vec![(1_000, 7.0)]);
    assert_eq!(samples(&db, "up"), vec![(1_000, 1.0)]);
    assert_eq!(samples(&db, "scrape_samples_scraped"), vec![(1_000, 3.0)]);
    assert_eq!(
        samples(&db, "scrape_samples_post_metric_relabeling"),
        vec![(1_000, 3.0)]
    );
    assert_eq!(samples(&db, "scrape_series_added"), vec![(1_000, 3.0)]);
    assert_eq!(series(&db, "scrape_duration_seconds").len(), 1);

    // request headers
    assert!(srv
        .header("accept")
        .unwrap_or_default()
        .contains("application/openmetrics-text"));
    assert!(srv
        .header("user-agent")
        .unwrap_or_default()
        .starts_with("promlite/"));
    assert_eq!(
        srv.header("x-prometheus-scrape-timeout-seconds").as_deref(),
        Some("2")
    );
    assert!(srv
        .header("accept-encoding")
        .unwrap_or_default()
        .contains("gzip"));

    // metadata and target state
    let md = sl.target().metadata.read().clone();
    let m = md.get("req_total").unwrap();
    assert_eq!(
        (m.metric_type.as_str(), m.help.as_str()),
        ("counter", "Requests.")
    );
    let st = sl.target().state.read().clone();
    assert_eq!(
        (st.health, st.last_scrape_ms, st.last_error.as_str()),
        (Health::Up, Some(1_000), "")
    );

    // second scrape: cached series, nothing new
    let r = sl.scrape_at(2_000).await;
    assert_eq!(r.series_added, 0);
    assert_eq!(
        series(&db, "req_total")[0].1,
        vec![(1_000, 7.0), (2_000, 7.0)]
    );
}

#[tokio::test]
async fn gzip_body_is_decompressed() {
    let mut reply = Reply::text("a 1\nb 2\n");
    reply.gzip = true;
    let srv = serve(reply).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(samples(&db, "b"), vec![(1_000, 2.0)]);
}

/// A gzip'd response has no `Content-Length`: the first body grows by
/// doubling, the next is allocated once from the last body's size.
#[tokio::test]
async fn body_buffer_is_sized_from_the_last_scrape() {
    let text: String = (0..5_000)
        .map(|i| format!("m{{i=\"{i}\"}} {i}\n"))
        .collect();
    let mut reply = Reply::text(&text);
    reply.gzip = true;
    let srv = serve(reply).await;
    let yaml = job("").replace("ADDR", &srv.addr.to_string());
    let cfg = promlite_scrape::Config::from_str(&yaml).unwrap();
    let url = format!("http://{}/metrics", srv.addr);
    let mut f =
        promlite_scrape::fetch::Fetcher::new(&cfg.scrape_configs[0], url, Duration::from_secs(5))
            .unwrap();
    let first = f.fetch(0).await.unwrap();
    let n = text.len();
    assert_eq!(first.body.len(), n);
    let second = f.fetch(first.body.len()).await.unwrap();
    assert_eq!(second.body, first.body);
    assert_eq!(second.body.capacity(), n + n / 8);
}

#[tokio::test]
async fn compression_can_be_disabled() {
    let srv = serve(Reply::text("a 1\n")).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job("    enable_compression: false\n"), &srv, &db);
    assert_eq!(sl.scrape_at(1_000).await.health, Health::Up);
    assert_eq!(srv.header("accept-encoding").as_deref(), Some("identity"));
}

#[tokio::test]
async fn timeout_fails_the_scrape() {
    let mut reply = Reply::text("a 1\n");
    reply.delay = Duration::from_secs(5);
    let srv = serve(reply).await;
    let db = MemStorage::new();
    let yaml = "scrape_configs:\n  - job_name: svc\n    scrape_interval: 1s\n    scrape_timeout: 200ms\n    static_configs: [{targets: ['ADDR']}]\n";
    let mut sl = scrape_loop(yaml, &srv, &db);
    let started = std::time::Instant::now();
    let r = sl.scrape_at(1_000).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(r.health, Health::Down);
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("deadline exceeded"),
        "{:?}",
        r.error
    );
    assert_eq!(samples(&db, "up"), vec![(1_000, 0.0)]);
    assert!(series(&db, "a").is_empty());
}

#[tokio::test]
async fn non_200_status_fails() {
    let mut reply = Reply::text("a 1\n");
    reply.status = 503;
    let srv = serve(reply).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    let r = sl.scrape_at(1_000).await;
    assert!(
        r.error.as_deref().unwrap_or_default().contains("503"),
        "{:?}",
        r.error
    );
    assert!(series(&db, "a").is_empty());
}

#[tokio::test]
async fn body_over_limit_fails_and_appends_nothing() {
    let body: String = (0..2000).map(|i| format!("m{{i=\"{i}\"}} 1\n")).collect();
    let srv = serve(Reply::text(&body)).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job("    body_size_limit: 1KB\n"), &srv, &db);
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Down);
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("body size limit exceeded"),
        "{:?}",
        r.error
    );
    assert!(series(&db, "m").is_empty());
    assert_eq!(samples(&db, "up"), vec![(1_000, 0.0)]);
}

#[tokio::test]
async fn gzip_bomb_stops_at_the_decompressed_limit() {
    // 64 MiB of zeros compress to ~64 KiB; the limit is 1 MiB decompressed.
    let mut reply = Reply::text("");
    reply.body = vec![b'0'; 64 << 20];
    reply.gzip = true;
    let srv = serve(reply).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job("    body_size_limit: 1MB\n"), &srv, &db);
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Down);
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("body size limit exceeded"),
        "{:?}",
        r.error
    );
}

#[tokio::test]
async fn malformed_body_rolls_back_everything() {
    let srv = serve(Reply::text("good 1\nalso_good 2\nbad{ 3\n")).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Down);
    let err = r.error.unwrap_or_default();
    assert!(err.contains("line 3"), "{err}");
    assert!(series(&db, "good").is_empty(), "rolled back");
    assert!(series(&db, "also_good").is_empty());
    assert_eq!(samples(&db, "up"), vec![(1_000, 0.0)]);
    assert_eq!(sl.target().state.read().last_error, err);
}

#[tokio::test]
async fn openmetrics_body_with_timestamps() {
    let body = "# TYPE rpc_seconds counter\n# UNIT rpc_seconds seconds\n# HELP rpc_seconds Calls.\nrpc_seconds_total 5 1.5\n# EOF\n";
    let mut reply = Reply::text(body);
    reply.content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8".into();
    let srv = serve(reply).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    let r = sl.scrape_at(9_000).await;
    assert_eq!(r.health, Health::Up, "{:?}", r.error);
    assert_eq!(
        samples(&db, "rpc_seconds_total"),
        vec![(1_500, 5.0)],
        "honor_timestamps: the exposed timestamp wins"
    );
    let md = sl.target().metadata.read().clone();
    assert_eq!(
        md.get("rpc_seconds").map(|m| m.unit.as_str()),
        Some("seconds"),
        "{md:?}"
    );

    // Missing # EOF is an OpenMetrics error.
    let mut reply = Reply::text("rpc_seconds_total 5\n");
    reply.content_type = "application/openmetrics-text; version=1.0.0".into();
    srv.set(reply);
    let r = sl.scrape_at(10_000).await;
    assert_eq!(r.health, Health::Down);
}

#[tokio::test]
async fn honor_timestamps_false_uses_scrape_time() {
    let srv = serve(Reply::text("a 1 500\n")).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job("    honor_timestamps: false\n"), &srv, &db);
    sl.scrape_at(2_000).await;
    assert_eq!(samples(&db, "a"), vec![(2_000, 1.0)]);
}

#[tokio::test]
async fn honor_labels_conflicts() {
    let body = "m{job=\"theirs\",instance=\"x\"} 1\n";
    let srv = serve(Reply::text(body)).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    sl.scrape_at(1_000).await;
    let s = series(&db, "m");
    assert_eq!(s[0].0.get("job"), Some("svc"));
    assert_eq!(s[0].0.get("exported_job"), Some("theirs"));
    assert_eq!(s[0].0.get("exported_instance"), Some("x"));

    let db = MemStorage::new();
    let mut sl = scrape_loop(&job("    honor_labels: true\n"), &srv, &db);
    sl.scrape_at(1_000).await;
    let s = series(&db, "m");
    assert_eq!(s[0].0.get("job"), Some("theirs"));
    assert_eq!(s[0].0.get("instance"), Some("x"));
    assert_eq!(s[0].0.get("env"), Some("test"));
    assert_eq!(s[0].0.get("exported_job"), None);
    // report series always carry the target's labels
    assert_eq!(series(&db, "up")[0].0.get("job"), Some("svc"));
}

#[tokio::test]
async fn metric_relabeling_drops_and_rewrites() {
    let srv = serve(Reply::text("go_gc 1\nkeep_me{path=\"/a/b\"} 2\n")).await;
    let db = MemStorage::new();
    let extra = "    metric_relabel_configs:\n      - {source_labels: [__name__], regex: 'go_.*', action: drop}\n      - {source_labels: [path], regex: '/([^/]+)/.*', target_label: root}\n";
    let mut sl = scrape_loop(&job(extra), &srv, &db);
    let r = sl.scrape_at(1_000).await;
    assert_eq!((r.samples_scraped, r.samples_post_relabel), (2, 1));
    assert!(series(&db, "go_gc").is_empty());
    assert_eq!(series(&db, "keep_me")[0].0.get("root"), Some("a"));
    assert_eq!(
        samples(&db, "scrape_samples_post_metric_relabeling"),
        vec![(1_000, 1.0)]
    );
}

#[tokio::test]
async fn relabeling_away_the_name_fails_the_scrape() {
    let srv = serve(Reply::text("a{x=\"1\"} 1\n")).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(
        &job("    metric_relabel_configs: [{regex: __name__, action: labeldrop}]\n"),
        &srv,
        &db,
    );
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Down);
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("missing metric name"),
        "{:?}",
        r.error
    );
}

#[tokio::test]
async fn sample_limit_names_the_exploding_label() {
    let mut body = String::from("# TYPE model_requests_total counter\n");
    for i in 0..40 {
        body.push_str(&format!(
            "model_requests_total{{user_id=\"u{i}\",code=\"{}\"}} 1\n",
            i % 2
        ));
    }
    body.push_str("other 1\n");
    let srv = serve(Reply::text(&body)).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job("    sample_limit: 10\n"), &srv, &db);
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Down);
    assert_eq!(
        r.error.as_deref(),
        Some("sample_limit 10 exceeded (41 samples): label \"user_id\" on \"model_requests_total\" has 40 values")
    );
    assert!(
        series(&db, "model_requests_total").is_empty(),
        "nothing appended"
    );
    assert_eq!(samples(&db, "up"), vec![(1_000, 0.0)]);
    assert_eq!(samples(&db, "scrape_samples_scraped"), vec![(1_000, 41.0)]);
    let totals = sl.target().state.read().totals;
    assert_eq!((totals.failed, totals.exceeded_sample_limit), (1, 1));
}

#[tokio::test]
async fn sample_limit_counts_after_relabeling() {
    let srv = serve(Reply::text("a 1\nb 1\nc 1\n")).await;
    let db = MemStorage::new();
    let extra = "    sample_limit: 2\n    metric_relabel_configs: [{source_labels: [__name__], regex: c, action: drop}]\n";
    let mut sl = scrape_loop(&job(extra), &srv, &db);
    assert_eq!(sl.scrape_at(1_000).await.health, Health::Up);
}

#[tokio::test]
async fn label_limits_fail_the_scrape() {
    let cases = [
        (
            "    label_limit: 4\n",
            "m{a=\"1\",b=\"2\"} 1\n",
            "label_limit exceeded",
        ),
        (
            "    label_name_length_limit: 5\n",
            "m{long_name=\"1\"} 1\n",
            "label_name_length_limit exceeded",
        ),
        (
            "    label_value_length_limit: 3\n",
            "m{a=\"long value\"} 1\n",
            "label_value_length_limit exceeded",
        ),
    ];
    for (extra, body, want) in cases {
        let srv = serve(Reply::text(&format!("ok 1\n{body}"))).await;
        let db = MemStorage::new();
        let mut sl = scrape_loop(&job(extra), &srv, &db);
        let r = sl.scrape_at(1_000).await;
        assert_eq!(r.health, Health::Down, "{extra}");
        assert!(
            r.error.as_deref().unwrap_or_default().contains(want),
            "{:?}",
            r.error
        );
        assert!(series(&db, "ok").is_empty());
    }
}

#[tokio::test]
async fn staleness_on_vanish_down_and_removal() {
    let srv = serve(Reply::text("a 1\nb 2\n")).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    sl.scrape_at(1_000).await;
    // b vanishes
    srv.set_text("a 1\n");
    sl.scrape_at(2_000).await;
    let b = samples(&db, "b");
    assert_eq!(b.len(), 2);
    assert_eq!(b[1].0, 2_000);
    assert!(is_stale_nan(b[1].1));
    assert_eq!(samples(&db, "a"), vec![(1_000, 1.0), (2_000, 1.0)]);
    // target goes down: a gets a stale marker
    srv.set_text("broken{ 1\n");
    sl.scrape_at(3_000).await;
    let a = samples(&db, "a");
    assert_eq!(a.len(), 3);
    assert!(is_stale_nan(a[2].1));
    // recovers, then is removed
    srv.set_text("a 5\n");
    sl.scrape_at(4_000).await;
    sl.write_stale_markers(4_500);
    let a = samples(&db, "a");
    assert_eq!(a[3], (4_000, 5.0));
    assert!(is_stale_nan(a[4].1) && a[4].0 == 4_500);
    let up = samples(&db, "up");
    assert!(
        is_stale_nan(up.last().unwrap().1),
        "report series go stale too"
    );
}

#[tokio::test]
async fn explicit_timestamps_get_no_stale_markers() {
    let srv = serve(Reply::text("a 1 500\n")).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    sl.scrape_at(1_000).await;
    srv.set_text("");
    sl.scrape_at(2_000).await;
    assert_eq!(samples(&db, "a"), vec![(500, 1.0)]);
}

#[tokio::test]
async fn out_of_order_samples_are_counted_not_fatal() {
    let srv = serve(Reply::text("a 1 5000\nb 1\n")).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    sl.scrape_at(6_000).await;
    srv.set_text("a 2 4000\nb 2\n");
    let r = sl.scrape_at(7_000).await;
    assert_eq!(r.health, Health::Up);
    assert_eq!(r.out_of_order, 1);
    let totals = sl.target().state.read().totals;
    assert_eq!(
        (totals.scrapes, totals.failed, totals.out_of_order),
        (2, 0, 1)
    );
    assert_eq!(samples(&db, "b"), vec![(6_000, 1.0), (7_000, 2.0)]);
}

#[tokio::test]
async fn basic_auth_and_bearer_headers() {
    let srv = serve(Reply::text("a 1\n")).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(
        &job("    basic_auth: {username: user, password: pass}\n"),
        &srv,
        &db,
    );
    sl.scrape_at(1_000).await;
    assert_eq!(
        srv.header("authorization").as_deref(),
        Some("Basic dXNlcjpwYXNz")
    );

    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("token");
    std::fs::write(&tok, "s3cret\n").unwrap();
    let extra = format!(
        "    authorization: {{credentials_file: '{}'}}\n",
        tok.display()
    );
    let mut sl = scrape_loop(&job(&extra), &srv, &db);
    sl.scrape_at(2_000).await;
    assert_eq!(
        srv.header("authorization").as_deref(),
        Some("Bearer s3cret")
    );
}

/// Storage that refuses new series beyond a fixed number, like a TSDB with
/// a series limit.
struct LimitedStorage {
    db: MemStorage,
    max_series: usize,
}

struct LimitedAppender {
    inner: Box<dyn Appender>,
    db: MemStorage,
    max_series: usize,
    staged_new: std::collections::HashSet<Labels>,
}

impl Appendable for LimitedStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(LimitedAppender {
            inner: self.db.appender(),
            db: self.db.clone(),
            max_series: self.max_series,
            staged_new: Default::default(),
        })
    }
}

impl Appender for LimitedAppender {
    fn append(
        &mut self,
        r: Option<SeriesRef>,
        l: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        let exists = !series(&self.db, l.metric_name().unwrap_or(""))
            .iter()
            .all(|s| &s.0 != l);
        if !exists && !self.staged_new.contains(l) {
            if self.db.num_series() + self.staged_new.len() >= self.max_series {
                return Err(AppendError::SeriesLimit {
                    limit: self.max_series,
                });
            }
            self.staged_new.insert(l.clone());
        }
        self.inner.append(r, l, t, v)
    }
    fn commit(&mut self) -> Result<(), StorageError> {
        self.inner.commit()
    }
    fn rollback(&mut self) {
        self.inner.rollback()
    }
}

#[tokio::test]
async fn storage_series_limit_fails_the_scrape_with_a_hint() {
    let body: String = (0..20)
        .map(|i| format!("predictions_total{{model=\"m{i}\"}} 1\n"))
        .collect();
    let srv = serve(Reply::text(&body)).await;
    let db = MemStorage::new();
    let storage = Arc::new(LimitedStorage {
        db: db.clone(),
        max_series: 10,
    });
    let mut sl = scrape_loop_with(&job(""), &srv, storage);
    let r = sl.scrape_at(1_000).await;
    assert_eq!(r.health, Health::Down);
    let err = r.error.unwrap_or_default();
    assert!(err.starts_with("storage series limit 10 reached"), "{err}");
    assert!(
        err.contains("label \"model\" on \"predictions_total\""),
        "{err}"
    );
    assert!(series(&db, "predictions_total").is_empty(), "rolled back");
}

/// The target's metadata follows its body when it changes, also after
/// scrapes that repeated it (those skip the comparison by a digest).
#[tokio::test]
async fn metadata_follows_changes_after_repeated_scrapes() {
    let a = "# TYPE m gauge\n# HELP m First.\nm 1\n";
    let b = "# TYPE m counter\n# HELP m Second.\nm 2\n";
    let srv = serve(Reply::text(a)).await;
    let db = MemStorage::new();
    let mut sl = scrape_loop(&job(""), &srv, &db);
    let help = |sl: &promlite_scrape::ScrapeLoop| {
        let md = sl.target().metadata.read().clone();
        md.get("m")
            .map(|m| (m.metric_type, m.help.clone()))
            .unwrap_or_default()
    };
    let mut ts = 1_000;
    for (body, want) in [
        (a, (MetricType::Gauge, "First.")),
        (a, (MetricType::Gauge, "First.")),
        (b, (MetricType::Counter, "Second.")),
        (b, (MetricType::Counter, "Second.")),
        (a, (MetricType::Gauge, "First.")),
    ] {
        srv.set_text(body);
        let r = sl.scrape_at(ts).await;
        ts += 1_000;
        assert_eq!(r.health, Health::Up, "{:?}", r.error);
        assert_eq!(help(&sl), (want.0, want.1.to_string()), "{body}");
    }
}
