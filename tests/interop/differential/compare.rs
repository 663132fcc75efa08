//! Comparison of two Prometheus HTTP API answers.
//!
//! Result type must match; label sets must match as a set (or in order when
//! the query defines an order); timestamps must be equal; values must agree
//! within a relative tolerance of 1e-9, with NaN equal to NaN and infinities
//! equal by sign.

use std::collections::BTreeMap;

use serde_json::Value;

/// Relative tolerance for sample values.
pub const REL_TOL: f64 = 1e-9;

/// A label set in canonical (sorted) form.
type Labels = BTreeMap<String, String>;

/// One series of a vector or matrix: labels and `(t, value)` points.
#[derive(Debug)]
struct Series {
    labels: Labels,
    points: Vec<(f64, f64)>,
}

/// Whether two sample values agree.
pub fn values_equal(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    if a == b {
        return true;
    }
    (a - b).abs() <= REL_TOL * a.abs().max(b.abs())
}

/// Parses a sample value as the API writes it (`"1.5"`, `"NaN"`, `"+Inf"`).
fn parse_value(v: &Value) -> Result<f64, String> {
    let s = v
        .as_str()
        .ok_or_else(|| format!("value is not a string: {v}"))?;
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => s.parse().map_err(|e| format!("bad value {s:?}: {e}")),
    }
}

/// Parses a `[t, "v"]` pair.
fn parse_point(p: &Value) -> Result<(f64, f64), String> {
    let t = p
        .get(0)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("bad timestamp in {p}"))?;
    let v = parse_value(p.get(1).unwrap_or(&Value::Null))?;
    Ok((t, v))
}

fn parse_labels(m: &Value) -> Result<Labels, String> {
    let obj = m
        .as_object()
        .ok_or_else(|| format!("metric is not an object: {m}"))?;
    obj.iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_string()))
                .ok_or_else(|| format!("label {k} is not a string"))
        })
        .collect()
}

/// Parses `data.result` of a vector or matrix into series.
fn parse_series(result: &Value, matrix: bool) -> Result<Vec<Series>, String> {
    let items = result.as_array().ok_or("result is not an array")?;
    items
        .iter()
        .map(|item| {
            let labels = parse_labels(item.get("metric").unwrap_or(&Value::Null))?;
            let points = if matrix {
                item.get("values")
                    .and_then(Value::as_array)
                    .ok_or("matrix series without values")?
                    .iter()
                    .map(parse_point)
                    .collect::<Result<_, _>>()?
            } else {
                vec![parse_point(item.get("value").unwrap_or(&Value::Null))?]
            };
            Ok(Series { labels, points })
        })
        .collect()
}

fn show(labels: &Labels) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

fn compare_points(labels: &Labels, a: &[(f64, f64)], b: &[(f64, f64)]) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!(
            "{}: {} points vs {} points",
            show(labels),
            a.len(),
            b.len()
        ));
    }
    for (pa, pb) in a.iter().zip(b) {
        if pa.0 != pb.0 {
            return Err(format!("{}: timestamp {} vs {}", show(labels), pa.0, pb.0));
        }
        if !values_equal(pa.1, pb.1) {
            return Err(format!(
                "{}: at {} value {} vs {}",
                show(labels),
                pa.0,
                pa.1,
                pb.1
            ));
        }
    }
    Ok(())
}

/// Compares two `/api/v1/query*` JSON answers (`want` from Prometheus,
/// `got` from promlite). `ordered`: the series order must match too.
pub fn compare_answers(want: &Value, got: &Value, ordered: bool) -> Result<(), String> {
    let (ws, gs) = (&want["status"], &got["status"]);
    if ws != gs {
        return Err(format!("status {ws} vs {gs}"));
    }
    if ws != "success" {
        // Both failed: the error class must agree.
        return if want["errorType"] == got["errorType"] {
            Ok(())
        } else {
            Err(format!(
                "errorType {} vs {}",
                want["errorType"], got["errorType"]
            ))
        };
    }
    let (wt, gt) = (&want["data"]["resultType"], &got["data"]["resultType"]);
    if wt != gt {
        return Err(format!("resultType {wt} vs {gt}"));
    }
    let (wr, gr) = (&want["data"]["result"], &got["data"]["result"]);
    match wt.as_str() {
        Some("scalar") => {
            let (a, b) = (parse_point(wr)?, parse_point(gr)?);
            compare_points(&Labels::new(), &[a], &[b])
        }
        Some("string") => {
            if wr == gr {
                Ok(())
            } else {
                Err(format!("string {wr} vs {gr}"))
            }
        }
        Some(kind @ ("vector" | "matrix")) => {
            let matrix = kind == "matrix";
            let mut a = parse_series(wr, matrix)?;
            let mut b = parse_series(gr, matrix)?;
            if !ordered {
                a.sort_by(|x, y| x.labels.cmp(&y.labels));
                b.sort_by(|x, y| x.labels.cmp(&y.labels));
            }
            let la: Vec<&Labels> = a.iter().map(|s| &s.labels).collect();
            let lb: Vec<&Labels> = b.iter().map(|s| &s.labels).collect();
            if la != lb {
                let only_a: Vec<String> = la
                    .iter()
                    .filter(|l| !lb.contains(l))
                    .map(|l| show(l))
                    .collect();
                let only_b: Vec<String> = lb
                    .iter()
                    .filter(|l| !la.contains(l))
                    .map(|l| show(l))
                    .collect();
                return Err(format!(
                    "label sets differ ({} vs {} series{}); only in Prometheus: {only_a:?}; only in promlite: {only_b:?}",
                    la.len(),
                    lb.len(),
                    if only_a.is_empty() && only_b.is_empty() { ", order" } else { "" }
                ));
            }
            for (sa, sb) in a.iter().zip(&b) {
                compare_points(&sa.labels, &sa.points, &sb.points)?;
            }
            Ok(())
        }
        other => Err(format!("unknown resultType {other:?}")),
    }
}

/// Compares two `data` arrays of strings (`/api/v1/labels`,
/// `/api/v1/label/<n>/values`) or label-set objects (`/api/v1/series`) as sets.
pub fn compare_sets(want: &Value, got: &Value) -> Result<(), String> {
    if want["status"] != "success" || got["status"] != "success" {
        return Err(format!("status {} vs {}", want["status"], got["status"]));
    }
    let norm = |v: &Value| -> Vec<String> {
        let mut out: Vec<String> = v["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| match parse_labels(x) {
                        Ok(l) => show(&l),
                        Err(_) => x.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    };
    let (a, b) = (norm(want), norm(got));
    if a == b {
        Ok(())
    } else {
        Err(format!("{a:?}\n  vs\n{b:?}"))
    }
}

#[test]
fn tolerance_rules() {
    assert!(values_equal(f64::NAN, f64::NAN));
    assert!(values_equal(f64::INFINITY, f64::INFINITY));
    assert!(!values_equal(f64::INFINITY, f64::NEG_INFINITY));
    assert!(!values_equal(f64::NAN, 1.0));
    assert!(values_equal(1.0, 1.0 + 1e-12));
    assert!(!values_equal(1.0, 1.0 + 1e-6));
    assert!(values_equal(0.0, -0.0));
    assert!(!values_equal(0.0, 1e-300));
}
