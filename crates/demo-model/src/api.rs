//! Request parsing and response bodies of the model endpoints.
//!
//! Bodies are parsed by hand from bytes (not with axum's `Json` extractor) so that malformed
//! requests reach the handler and are counted as `status="400"` like any other request.

use serde::Serialize;
use serde_json::Value;

/// Largest `max_tokens` a `/generate` request may ask for.
pub const MAX_TOKENS_LIMIT: u64 = 1024;
/// `max_tokens` when the request does not say.
pub const DEFAULT_MAX_TOKENS: u64 = 64;
/// Longest `user_id` kept (longer ones are truncated).
const MAX_USER_ID_LEN: usize = 64;

/// The two model endpoints (the `endpoint` label of the request metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// `POST /predict`: classification.
    Predict,
    /// `POST /generate`: text generation.
    Generate,
}

impl Endpoint {
    /// The label value: `predict` or `generate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Predict => "predict",
            Endpoint::Generate => "generate",
        }
    }
}

/// A parsed `/predict` request: `{"features": [numbers], "user_id": "..."}` (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PredictRequest {
    /// Input features; they nudge which class is predicted.
    pub features: Vec<f64>,
    /// Caller identity (only used as a label with `--bad-cardinality`).
    pub user_id: Option<String>,
}

/// A parsed `/generate` request: `{"prompt": "...", "max_tokens": N, "user_id": "..."}`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The prompt (only its presence matters).
    pub prompt: String,
    /// Upper bound on generated tokens, 1..=[`MAX_TOKENS_LIMIT`].
    pub max_tokens: u64,
    /// Caller identity (only used as a label with `--bad-cardinality`).
    pub user_id: Option<String>,
}

/// Successful `/predict` response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictResponse {
    /// Predicted class.
    pub label: String,
    /// Model confidence in `label`, in (0, 1].
    pub confidence: f64,
    /// Version that served the request (`v2.1`).
    pub model_version: String,
}

/// Successful `/generate` response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GenerateResponse {
    /// The generated text (`tokens` words).
    pub text: String,
    /// Number of generated tokens.
    pub tokens: u64,
    /// `"length"` when `max_tokens` was reached, otherwise `"stop"`.
    pub finish_reason: &'static str,
    /// Mean simulated time per output token.
    pub time_per_output_token_seconds: f64,
    /// Version that served the request.
    pub model_version: String,
}

/// What an endpoint answered: an HTTP status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    /// A `{"error": message}` reply.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: serde_json::json!({ "error": message.into() }),
        }
    }

    /// A successful reply with `body` serialized.
    pub fn ok<T: Serialize>(body: &T) -> Reply {
        match serde_json::to_value(body) {
            Ok(body) => Reply { status: 200, body },
            Err(e) => Reply::error(500, format!("serializing response: {e}")),
        }
    }
}

fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("request body must be a JSON object".to_string()),
        Err(e) => Err(format!("invalid JSON body: {e}")),
    }
}

/// Cleans a caller-supplied user id so it is a short, printable label value.
fn user_id_of(map: &serde_json::Map<String, Value>) -> Result<Option<String>, String> {
    let raw = match map.get("user_id") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("\"user_id\" must be a string or a number".to_string()),
    };
    let cleaned: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(MAX_USER_ID_LEN)
        .collect();
    Ok(if cleaned.is_empty() {
        None
    } else {
        Some(cleaned)
    })
}

/// Extracts whatever user id a (possibly invalid) body carries, for labelling rejected requests.
pub fn best_effort_user_id(body: &[u8]) -> Option<String> {
    parse_object(body)
        .ok()
        .and_then(|m| user_id_of(&m).ok().flatten())
}

/// Parses a `/predict` body. An empty body is a request with no features.
pub fn parse_predict(body: &[u8]) -> Result<PredictRequest, String> {
    let map = parse_object(body)?;
    let features = match map.get("features") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| "\"features\" must be an array of numbers".to_string())
            })
            .collect::<Result<Vec<f64>, String>>()?,
        Some(_) => return Err("\"features\" must be an array of numbers".to_string()),
    };
    Ok(PredictRequest {
        features,
        user_id: user_id_of(&map)?,
    })
}

/// Parses a `/generate` body.
pub fn parse_generate(body: &[u8]) -> Result<GenerateRequest, String> {
    let map = parse_object(body)?;
    let prompt = match map.get("prompt") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("\"prompt\" must be a string".to_string()),
    };
    let max_tokens = match map.get("max_tokens") {
        None | Some(Value::Null) => DEFAULT_MAX_TOKENS,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_TOKENS_LIMIT).contains(&n) => n,
            _ => {
                return Err(format!(
                    "\"max_tokens\" must be an integer between 1 and {MAX_TOKENS_LIMIT}"
                ))
            }
        },
    };
    Ok(GenerateRequest {
        prompt,
        max_tokens,
        user_id: user_id_of(&map)?,
    })
}

/// The label a firing alert needs to trigger a retrain: `action="retrain"`.
pub const RETRAIN_ACTION: (&str, &str) = ("action", "retrain");

/// One alert of an Alertmanager webhook payload that asks for a retrain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrainAlert {
    /// `alertname` label (empty if missing).
    pub alertname: String,
    /// Identifies one firing episode of one alert (fingerprint or labels, plus `startsAt`),
    /// so resends of the same alert trigger one retrain only.
    pub key: String,
}

/// A parsed `POST /retrain` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrainRequest {
    /// Empty body, or a JSON object without `alerts`: retrain now.
    Manual,
    /// An Alertmanager (or promlite) webhook payload: `{"version": "4", "status", "alerts":
    /// [...]}`. Holds the alerts that are firing and labelled `action="retrain"`, and how many
    /// alerts the payload carried in all.
    Alerts {
        /// Firing alerts labelled `action="retrain"`.
        retrain: Vec<RetrainAlert>,
        /// All alerts in the payload.
        total: usize,
    },
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Parses a `POST /retrain` body: empty (a manual retrain) or an Alertmanager webhook
/// payload. An alert counts as firing when its own `status` (else the payload's) is
/// `firing`; resolved alerts never trigger a retrain.
pub fn parse_retrain(body: &[u8]) -> Result<RetrainRequest, String> {
    let map = parse_object(body)?;
    let Some(alerts) = map.get("alerts") else {
        return Ok(RetrainRequest::Manual);
    };
    let Value::Array(alerts) = alerts else {
        return Err("\"alerts\" must be an array".to_string());
    };
    let group_status = map.get("status").and_then(Value::as_str).unwrap_or("");
    let mut retrain = Vec::new();
    for a in alerts {
        let Value::Object(_) = a else {
            return Err("every element of \"alerts\" must be an object".to_string());
        };
        let labels = match a.get("labels") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(l)) => l.clone(),
            Some(_) => return Err("alert \"labels\" must be an object".to_string()),
        };
        let status = str_field(a, "status").unwrap_or(group_status);
        let wanted = labels.get(RETRAIN_ACTION.0).and_then(Value::as_str) == Some(RETRAIN_ACTION.1);
        if status != "firing" || !wanted {
            continue;
        }
        let id = match str_field(a, "fingerprint") {
            Some(f) if !f.is_empty() => f.to_string(),
            _ => Value::Object(labels.clone()).to_string(),
        };
        retrain.push(RetrainAlert {
            alertname: labels
                .get("alertname")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            key: format!("{id}@{}", str_field(a, "startsAt").unwrap_or("")),
        });
    }
    Ok(RetrainRequest::Alerts {
        retrain,
        total: alerts.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predict_bodies() {
        assert_eq!(parse_predict(b""), Ok(PredictRequest::default()));
        assert_eq!(parse_predict(b"{}"), Ok(PredictRequest::default()));
        let r = parse_predict(br#"{"features":[1, 2.5], "user_id": "u-1\"x"}"#);
        assert_eq!(
            r,
            Ok(PredictRequest {
                features: vec![1.0, 2.5],
                user_id: Some("u-1x".into())
            })
        );
        assert_eq!(
            parse_predict(br#"{"user_id": 17}"#).map(|r| r.user_id),
            Ok(Some("17".into()))
        );
        assert!(parse_predict(b"[1,2]").is_err());
        assert!(parse_predict(b"{not json").is_err());
        assert!(parse_predict(br#"{"features":"abc"}"#).is_err());
        assert!(parse_predict(br#"{"features":[1,"a"]}"#).is_err());
        assert!(parse_predict(br#"{"user_id":[1]}"#).is_err());
    }

    #[test]
    fn generate_bodies() {
        let r = parse_generate(br#"{"prompt":"hi"}"#);
        assert_eq!(
            r,
            Ok(GenerateRequest {
                prompt: "hi".into(),
                max_tokens: DEFAULT_MAX_TOKENS,
                user_id: None
            })
        );
        assert_eq!(
            parse_generate(br#"{"max_tokens":5}"#).map(|r| r.max_tokens),
            Ok(5)
        );
        for bad in [
            r#"{"max_tokens":0}"#,
            r#"{"max_tokens":1025}"#,
            r#"{"max_tokens":2.5}"#,
            r#"{"max_tokens":-1}"#,
            r#"{"prompt":3}"#,
            "7",
        ] {
            assert!(parse_generate(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn retrain_bodies() {
        assert_eq!(parse_retrain(b""), Ok(RetrainRequest::Manual));
        assert_eq!(parse_retrain(b"{}"), Ok(RetrainRequest::Manual));
        let hook = br#"{"version":"4","status":"firing","alerts":[
            {"status":"firing","labels":{"alertname":"LowConf","action":"retrain"},
             "startsAt":"2026-01-01T00:00:00Z","fingerprint":"abc"},
            {"status":"firing","labels":{"alertname":"Latency"},"startsAt":"x"},
            {"status":"resolved","labels":{"alertname":"Old","action":"retrain"}},
            {"labels":{"alertname":"Inherits","action":"retrain"},"startsAt":"y"}]}"#;
        let Ok(RetrainRequest::Alerts { retrain, total }) = parse_retrain(hook) else {
            panic!("not parsed")
        };
        assert_eq!(total, 4);
        let names: Vec<&str> = retrain.iter().map(|a| a.alertname.as_str()).collect();
        assert_eq!(names, ["LowConf", "Inherits"]);
        assert_eq!(retrain[0].key, "abc@2026-01-01T00:00:00Z");
        assert!(retrain[1].key.ends_with("@y"), "{}", retrain[1].key);
        let resolved = br#"{"status":"resolved","alerts":[{"labels":{"action":"retrain"}}]}"#;
        assert_eq!(
            parse_retrain(resolved),
            Ok(RetrainRequest::Alerts {
                retrain: vec![],
                total: 1
            })
        );
        for bad in [
            r#"{"alerts": 3}"#,
            r#"{"alerts": [1]}"#,
            r#"{"alerts": [{"labels": []}]}"#,
            "[]",
            "{",
        ] {
            assert!(parse_retrain(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_ids_are_cleaned_and_bounded() {
        let long = format!(r#"{{"user_id":"{}"}}"#, "a".repeat(500));
        assert_eq!(
            best_effort_user_id(long.as_bytes()).map(|s| s.len()),
            Some(64)
        );
        assert_eq!(best_effort_user_id(br#"{"user_id":"\n\"{}"}"#), None);
        assert_eq!(best_effort_user_id(b"garbage"), None);
        assert_eq!(
            best_effort_user_id(br#"{"user_id":"user-7","features":"x"}"#),
            Some("user-7".into())
        );
    }
}
