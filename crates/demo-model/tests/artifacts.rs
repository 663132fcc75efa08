//! The shipped Grafana dashboard and example scrape config are well-formed and match the
//! metrics the demo really exposes.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use promlite_demo_model::{DemoModel, DemoOptions};
use serde_json::Value;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn dashboard() -> Value {
    let text = std::fs::read_to_string(repo_file("docs/grafana/mlops-dashboard.json"))
        .expect("dashboard exists");
    serde_json::from_str(&text).expect("dashboard is valid JSON")
}

/// Every sample name the demo exposes after a little traffic.
async fn exposed_names() -> BTreeSet<String> {
    let model = DemoModel::new(DemoOptions::default());
    let t = model.spawn_traffic(50.0);
    tokio::time::sleep(Duration::from_secs(5)).await;
    t.stop().await;
    common::parse_exposition(&model.metrics_text())
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// Identifiers in a PromQL expression that name metrics: skips strings, `{…}` matchers,
/// `[…]` ranges, the label lists after `by`/`without`/`on`/`ignoring`, function names,
/// keywords, aggregation operators and Grafana variables.
fn metric_names(expr: &str) -> Vec<String> {
    const KEYWORDS: [&str; 22] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        // aggregation operators, which may be followed by `by (…)` instead of `(`
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let skip_to = |mut i: usize, close: char| {
        while i < chars.len() && chars[i] != close {
            i += 1;
        }
        i + 1
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => i = skip_to(i + 1, '"'),
            '{' => i = skip_to(i + 1, '}'),
            '[' => i = skip_to(i + 1, ']'),
            c if c.is_ascii_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let next = chars.get(j).copied();
                if matches!(word.as_str(), "by" | "without" | "on" | "ignoring")
                    && next == Some('(')
                {
                    i = skip_to(j + 1, ')');
                } else if !word.starts_with('$')
                    && next != Some('(')
                    && !KEYWORDS.contains(&word.as_str())
                {
                    out.push(word);
                }
            }
            _ => i += 1,
        }
    }
    out
}

#[test]
fn metric_name_extraction_works() {
    assert_eq!(
        metric_names(
            r#"sum by (le, endpoint) (rate(inference_latency_seconds_bucket{model_version=~"$model_version"}[$__rate_interval]))"#
        ),
        ["inference_latency_seconds_bucket"]
    );
    assert_eq!(metric_names("model_info == 1"), ["model_info"]);
    assert_eq!(
        metric_names("max by (model_version) (model_info)"),
        ["model_info"]
    );
    assert_eq!(
        metric_names("sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) < 0.75"),
        ["a_sum", "a_count"]
    );
}

#[tokio::test(start_paused = true)]
async fn dashboard_is_importable_and_queries_real_metrics() {
    let d = dashboard();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36);
    assert!(!d["title"].as_str().unwrap().is_empty());
    let vars = d["templating"]["list"].as_array().unwrap();
    let ds_var = vars
        .iter()
        .find(|v| v["name"] == "DS_PROMETHEUS")
        .expect("DS_PROMETHEUS variable");
    assert_eq!(ds_var["type"], "datasource");
    assert_eq!(ds_var["query"], "prometheus");

    let names = exposed_names().await;
    let panels = d["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut all_exprs = Vec::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate panel id");
        let g = &p["gridPos"];
        assert!(
            g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
            "{} too wide",
            p["title"]
        );
        assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{} has no query", p["title"]);
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}");
            let expr = t["expr"].as_str().unwrap();
            let depth = expr.chars().try_fold(0i32, |d, c| match c {
                '(' => Some(d + 1),
                ')' if d == 0 => None,
                ')' => Some(d - 1),
                _ => Some(d),
            });
            assert_eq!(depth, Some(0), "unbalanced parentheses in {expr}");
            let used = metric_names(expr);
            assert!(!used.is_empty(), "no metric in {expr}");
            for m in used {
                assert!(
                    names.contains(&m),
                    "{expr} uses {m}, which the demo does not expose"
                );
            }
            all_exprs.push((p["type"].as_str().unwrap().to_string(), expr.to_string()));
        }
    }
    let has = |kind: Option<&str>, needle: &str| {
        all_exprs
            .iter()
            .any(|(k, e)| kind.is_none_or(|want| k == want) && e.contains(needle))
    };
    assert!(has(None, "rate(model_requests_total"), "request rate");
    assert!(has(None, r#"status=~"5..""#), "error ratio");
    assert!(has(
        None,
        "histogram_quantile(0.5, sum by (le, endpoint) (rate(inference_latency_seconds_bucket"
    ));
    assert!(has(
        None,
        "histogram_quantile(0.99, sum by (le, endpoint) (rate(inference_latency_seconds_bucket"
    ));
    assert!(has(None, "rate(generated_tokens_sum"), "tokens/s");
    assert!(has(None, "time_per_output_token_seconds_bucket"));
    assert!(has(None, "prediction_confidence{"));
    assert!(has(Some("heatmap"), "prediction_confidence_score_bucket"));
    assert!(has(None, "sum by (class)"));
    assert!(has(None, "model_info"));
    let heatmap = panels.iter().find(|p| p["type"] == "heatmap").unwrap();
    assert_eq!(heatmap["targets"][0]["format"], "heatmap");
}

#[test]
fn example_scrape_config_targets_demo_and_promlite_every_5s() {
    let path = repo_file("examples/prometheus.yml");
    let text = std::fs::read_to_string(&path).expect("config exists");
    let cfg: serde_json::Value = serde_norway::from_str(&text).expect("valid YAML");
    assert_eq!(cfg["global"]["scrape_interval"], "5s");
    let jobs = cfg["scrape_configs"].as_array().unwrap();
    let target_of = |job: &str| -> Vec<String> {
        let j = jobs
            .iter()
            .find(|j| j["job_name"] == job)
            .unwrap_or_else(|| panic!("job {job}"));
        let interval = j
            .get("scrape_interval")
            .unwrap_or(&cfg["global"]["scrape_interval"]);
        assert_eq!(interval, "5s", "{job}");
        j["static_configs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|sc| {
                sc["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_string())
            })
            .collect()
    };
    assert_eq!(target_of("demo-model"), ["127.0.0.1:8000"]);
    assert_eq!(target_of("promlite"), ["127.0.0.1:9090"]);

    // Prometheus's own checker, when the machine happens to have it.
    match std::process::Command::new("promtool")
        .arg("check")
        .arg("config")
        .arg(&path)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("promtool not available ({e}); skipped"),
    }
}
