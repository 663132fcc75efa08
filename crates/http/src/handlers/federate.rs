//! `/federate`: the latest sample of every series matching `match[]`, in the
//! text exposition format.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use promlite_model::{is_stale_nan, Labels, SelectHints, ValueType};

use super::blocking;
use crate::gofmt::format_g;
use crate::params::Params;
use crate::{ApiError, ApiState};

fn escape_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn is_legacy_name(n: &str) -> bool {
    let mut cs = n.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn write_name(n: &str, out: &mut String) {
    if is_legacy_name(n) {
        out.push_str(n);
    } else {
        out.push('"');
        escape_value(n, out);
        out.push('"');
    }
}

/// The labels federation adds to series lacking them: the external labels
/// plus `instance=""`, sorted by name (as Prometheus's federation handler).
fn federation_labels(external: &Labels) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = external
        .iter()
        .map(|l| (l.name.to_string(), l.value.to_string()))
        .collect();
    if !external.has("instance") {
        v.push(("instance".into(), String::new()));
        v.sort();
    }
    v
}

/// One sample line: `name{l="v",…,<added labels>} value ts_ms`.
fn write_line(
    name: &str,
    l: &Labels,
    added: &[(String, String)],
    t: i64,
    v: f64,
    out: &mut String,
) {
    let quoted_name = !is_legacy_name(name);
    if !quoted_name {
        out.push_str(name);
    }
    out.push('{');
    let mut first = true;
    if quoted_name {
        write_name(name, out);
        first = false;
    }
    for lab in l
        .iter()
        .filter(|lab| lab.name != promlite_model::METRIC_NAME)
    {
        if !first {
            out.push(',');
        }
        first = false;
        write_name(lab.name, out);
        out.push_str("=\"");
        escape_value(lab.value, out);
        out.push('"');
    }
    for (n, val) in added.iter().filter(|(n, _)| !l.has(n)) {
        if !first {
            out.push(',');
        }
        first = false;
        write_name(n, out);
        out.push_str("=\"");
        escape_value(val, out);
        out.push('"');
    }
    out.push_str("} ");
    out.push_str(&format_g(v));
    out.push(' ');
    out.push_str(&t.to_string());
    out.push('\n');
}

/// `GET /federate?match[]=…`.
pub async fn federate(State(state): State<ApiState>, p: Params) -> Response {
    let mut sets = Vec::new();
    for s in p.get_all("match[]") {
        match promlite_promql::parser::parse_metric_selector(s) {
            Ok(ms) => sets.push(ms),
            Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
        }
    }
    let maxt = state.now_ms();
    let mint = maxt.saturating_sub(state.options.lookback_delta_ms);
    let res = blocking(&state, move |st| {
        let q = st.storage.querier(mint, maxt)?;
        let mut latest: BTreeMap<Labels, (i64, f64)> = BTreeMap::new();
        for ms in &sets {
            for s in q.select(
                &SelectHints {
                    start: mint,
                    end: maxt,
                    ..Default::default()
                },
                ms,
            )? {
                if latest.contains_key(s.labels()) {
                    continue;
                }
                let mut it = s.iter();
                let mut last = None;
                while it.next() == ValueType::Float {
                    let (t, v) = it.at();
                    if t <= maxt {
                        last = Some((t, v));
                    }
                }
                if let Some((t, v)) = last.filter(|(_, v)| !is_stale_nan(*v)) {
                    latest.insert(s.labels().clone(), (t, v));
                }
            }
        }
        Ok::<_, ApiError>(latest)
    })
    .await;
    let latest = match res {
        Ok(l) => l,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}\n", e.message),
            )
                .into_response()
        }
    };
    // Group by metric name, names sorted.
    type Family<'a> = Vec<(&'a Labels, (i64, f64))>;
    let mut by_name: BTreeMap<&str, Family> = BTreeMap::new();
    for (l, s) in &latest {
        if let Some(n) = l.metric_name() {
            by_name.entry(n).or_default().push((l, *s));
        }
    }
    let added = federation_labels(&state.options.external_labels);
    let mut out = String::new();
    for (name, series) in by_name {
        out.push_str("# TYPE ");
        write_name(name, &mut out);
        out.push_str(" untyped\n");
        for (l, (t, v)) in series {
            write_line(name, l, &added, t, v, &mut out);
        }
    }
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    #[test]
    fn lines_like_expfmt() {
        let added = federation_labels(&Labels::empty());
        let mut out = String::new();
        write_line(
            "up",
            &labels!("__name__" => "up", "job" => "a\"b"),
            &added,
            1000,
            1.0,
            &mut out,
        );
        assert_eq!(out, "up{job=\"a\\\"b\",instance=\"\"} 1 1000\n");
        let mut out = String::new();
        write_line(
            "x",
            &labels!("__name__" => "x", "instance" => "h:1"),
            &added,
            5,
            1e6,
            &mut out,
        );
        assert_eq!(out, "x{instance=\"h:1\"} 1e+06 5\n");
        let mut out = String::new();
        write_line(
            "a.b",
            &labels!("__name__" => "a.b"),
            &added,
            5,
            0.5,
            &mut out,
        );
        assert_eq!(out, "{\"a.b\",instance=\"\"} 0.5 5\n");
        // external labels: added when missing, sorted with instance
        let added = federation_labels(&labels!("region" => "eu", "dc" => "x"));
        let mut out = String::new();
        write_line(
            "up",
            &labels!("__name__" => "up", "dc" => "own"),
            &added,
            1,
            1.0,
            &mut out,
        );
        assert_eq!(out, "up{dc=\"own\",instance=\"\",region=\"eu\"} 1 1\n");
    }
}
