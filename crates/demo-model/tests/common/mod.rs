//! Helpers shared by the scenario tests: a server on 127.0.0.1:0 and an exposition reader.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::net::SocketAddr;

use promlite_demo_model::{DemoModel, DemoOptions};

/// One sample line of an exposition: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the sample lines of a text exposition (labels without escapes, which is all the
/// demo emits). Panics on a malformed line: that is a test failure.
pub fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, rest) = match line.find('}') {
            Some(close) => (&line[..=close], line[close + 1..].trim()),
            None => {
                let (n, v) = line.split_once(' ').expect("sample line has a value");
                (n, v.trim())
            }
        };
        let value_text = rest.split_whitespace().next().expect("value present");
        let value: f64 = match value_text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), BTreeMap::new()),
            Some((name, body)) => {
                let body = body.trim_end_matches('}');
                let mut labels = BTreeMap::new();
                for pair in body.split(',').filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .unwrap_or_else(|| panic!("bad label in {line:?}"));
                    labels.insert(k.to_string(), v.trim_matches('"').to_string());
                }
                (name.to_string(), labels)
            }
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// Samples named `name` whose labels include every `(k, v)` in `want`.
pub fn select<'a>(samples: &'a [Sample], name: &str, want: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && want
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

/// Sum of the values of [`select`].
pub fn sum(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    select(samples, name, want).iter().map(|s| s.value).sum()
}

/// Serves `model` on 127.0.0.1:0; returns the base URL.
pub async fn serve(model: &DemoModel) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    let router = model.router();
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    format!("http://{addr}")
}

/// A model with `opts` served on 127.0.0.1:0.
pub async fn start(opts: DemoOptions) -> (DemoModel, String) {
    let model = DemoModel::new(opts);
    let url = serve(&model).await;
    (model, url)
}
