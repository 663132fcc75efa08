use super::*;

#[test]
fn empty_config_has_prometheus_defaults() {
    let c = Config::from_str("").unwrap();
    assert_eq!(c.global.scrape_interval, Duration::from_secs(60));
    assert_eq!(c.global.scrape_timeout, Duration::from_secs(10));
    assert_eq!(c.global.evaluation_interval, Duration::from_secs(60));
    assert!(c.scrape_configs.is_empty());
    let parsed: Config = "global: {scrape_interval: 5s}".parse().unwrap();
    assert_eq!(
        parsed.global.scrape_timeout,
        Duration::from_secs(5),
        "an unset global timeout is min(10s, interval)"
    );
    let parsed: Config = "global: {scrape_interval: 1m}".parse().unwrap();
    assert_eq!(parsed.global.scrape_timeout, Duration::from_secs(10));
}

#[test]
fn full_config_parses_and_inherits() {
    let yaml = r#"
global:
  scrape_interval: 15s
  scrape_timeout: 5s
  external_labels: {region: eu}
  sample_limit: 500
  body_size_limit: 10MB
rule_files: ["rules/*.yml"]
alerting:
  alertmanagers:
    - scheme: https
      path_prefix: /am
      timeout: 3s
      static_configs: [{targets: ["am:9093"]}]
remote_write:
  - url: http://remote/write
scrape_configs:
  - job_name: model
    static_configs:
      - targets: ["localhost:8000", "localhost:8001"]
        labels: {env: prod}
    params: {format: [prometheus]}
    honor_labels: true
    basic_auth: {username: u, password: p}
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*'
        action: drop
  - job_name: fast
    scrape_interval: 2s
    sample_limit: 10
    body_size_limit: 0
    file_sd_configs:
      - files: ["targets/*.json"]
"#;
    let c = Config::from_str(yaml).unwrap();
    assert_eq!(
        c.global.external_labels.get("region").map(String::as_str),
        Some("eu")
    );
    assert_eq!(c.rule_files, vec!["rules/*.yml".to_string()]);
    let am = &c.alerting.alertmanagers[0];
    assert_eq!(
        (am.scheme.as_str(), am.path_prefix.as_str(), am.timeout),
        ("https", "/am", Duration::from_secs(3))
    );
    assert_eq!(am.static_configs[0].targets, vec!["am:9093".to_string()]);
    let m = c.scrape_config("model").unwrap();
    assert_eq!(m.scrape_interval, Duration::from_secs(15));
    assert_eq!(m.scrape_timeout, Duration::from_secs(5));
    assert_eq!(m.sample_limit, 500);
    assert_eq!(m.body_size_limit, 10 << 20);
    assert!(m.honor_labels && m.honor_timestamps);
    assert_eq!(m.metric_relabel_configs.len(), 1);
    let f = c.scrape_config("fast").unwrap();
    assert_eq!(f.scrape_interval, Duration::from_secs(2));
    // global timeout 5s is capped at the job's 2s interval
    assert_eq!(f.scrape_timeout, Duration::from_secs(2));
    assert_eq!(f.sample_limit, 10);
    assert_eq!(f.body_size_limit, 10 << 20);
    assert_eq!(
        f.file_sd_configs[0].refresh_interval,
        Duration::from_secs(300)
    );
}

#[test]
fn zero_body_limit_gets_safe_default() {
    let c = Config::from_str("scrape_configs: [{job_name: a}]").unwrap();
    assert_eq!(c.scrape_configs[0].body_size_limit, DEFAULT_BODY_SIZE_LIMIT);
}

#[test]
fn unknown_field_names_line_and_column() {
    let yaml = "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n";
    let e = Config::from_str(yaml).unwrap_err().to_string();
    assert!(e.contains("scrape_intervall"), "{e}");
    assert!(e.contains("line 5"), "{e}");
}

#[test]
fn invalid_values_are_explained() {
    let cases = [
        ("global: {scrape_interval: 15}", "duration"),
        ("global: {scrape_interval: 5s, scrape_timeout: 10s}", "greater than scrape_interval"),
        ("scrape_configs: [{job_name: a, scrape_interval: 5s, scrape_timeout: 6s}]", "greater than scrape_interval"),
        ("scrape_configs: [{job_name: a}, {job_name: a}]", "multiple scrape configs"),
        ("scrape_configs: [{scrape_interval: 5s}]", "job_name is required"),
        ("scrape_configs: [{job_name: a, scheme: ftp}]", "unknown scheme"),
        ("scrape_configs: [{job_name: a, body_size_limit: 10}]", "unit is required"),
        ("scrape_configs: [{job_name: a, static_configs: [{targets: ['http://x:1/']}]}]", "not a valid host:port"),
        ("scrape_configs: [{job_name: a, file_sd_configs: [{files: ['x.txt']}]}]", ".json, .yml or .yaml"),
        ("scrape_configs: [{job_name: a, basic_auth: {username: u, password: p, password_file: f}}]", "at most one"),
        ("scrape_configs: [{job_name: a, relabel_configs: [{action: hashmod, target_label: x}]}]", "modulus"),
        ("scrape_configs: [{job_name: a, kubernetes_sd_configs: []}]", "unknown field"),
        ("global: {external_labels: {'bad-name': x}}", "not a valid label name"),
    ];
    for (yaml, want) in cases {
        let e = Config::from_str(yaml).unwrap_err().to_string();
        assert!(e.contains(want), "{yaml}: got {e:?}, want {want:?}");
    }
}

#[test]
fn load_resolves_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prometheus.yml");
    std::fs::write(
        &path,
        "rule_files: [r.yml, /abs/r.yml]\nscrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: ['t/*.json']}]\n    authorization: {credentials_file: tok}\n",
    )
    .unwrap();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.rule_files[0], dir.path().join("r.yml").to_string_lossy());
    assert_eq!(c.rule_files[1], "/abs/r.yml");
    let sc = &c.scrape_configs[0];
    assert_eq!(
        sc.file_sd_configs[0].files[0],
        dir.path().join("t/*.json").to_string_lossy()
    );
    let auth = sc.authorization.as_ref().unwrap();
    assert_eq!(auth.auth_type, "Bearer");
    assert_eq!(
        auth.credentials_file.as_deref(),
        Some(dir.path().join("tok").to_string_lossy().as_ref())
    );
    let missing = Config::load(dir.path().join("nope.yml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Io { .. }));
}

#[test]
fn alerting_webhooks_extension() {
    let c = Config::from_str(
        "alerting:\n  webhooks:\n    - url: http://retrain:8080/hook\n      timeout: 5s\n      send_resolved: false\n    - url: https://x.example/h\n",
    )
    .unwrap();
    let w = &c.alerting.webhooks;
    assert_eq!(w.len(), 2);
    assert_eq!(w[0].url, "http://retrain:8080/hook");
    assert_eq!(w[0].timeout, Duration::from_secs(5));
    assert!(!w[0].send_resolved);
    assert_eq!(w[1].timeout, Duration::from_secs(10));
    assert!(w[1].send_resolved, "send_resolved defaults to true");
}

#[test]
fn alerting_rejects_unknown_keys_and_bad_webhooks() {
    // An unknown key under `alerting` is still an error with its line.
    let e = Config::from_str("global: {}\nalerting:\n  webhookz: []\n").unwrap_err();
    let ConfigError::Parse(m) = e else {
        panic!("expected a parse error, got {e:?}")
    };
    assert!(m.contains("webhookz") && m.contains("line 3"), "{m}");
    // An unknown key inside a webhook entry too.
    let e = Config::from_str("alerting:\n  webhooks:\n    - url: http://a/\n      retries: 3\n")
        .unwrap_err();
    let ConfigError::Parse(m) = e else {
        panic!("expected a parse error, got {e:?}")
    };
    assert!(m.contains("retries") && m.contains("line 4"), "{m}");
    for (bad, why) in [
        ("alerting: {webhooks: [{timeout: 5s}]}", "url is required"),
        ("alerting: {webhooks: [{url: 'ftp://a/'}]}", "http://"),
        (
            "alerting: {webhooks: [{url: 'http:///x'}]}",
            "not a valid URL",
        ),
        (
            "alerting: {webhooks: [{url: 'http://a/', timeout: 0s}]}",
            "timeout",
        ),
    ] {
        match Config::from_str(bad) {
            Err(ConfigError::Invalid(m)) => {
                assert!(
                    m.contains("alerting.webhooks[0]") && m.contains(why),
                    "{bad}: {m}"
                )
            }
            other => panic!("{bad}: expected invalid, got {other:?}"),
        }
    }
    assert!(Config::from_str("alerting: {webhooks: [{url: 'http://a/', timeout: soon}]}").is_err());
}
