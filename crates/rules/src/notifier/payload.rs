//! Wire formats: Alertmanager's `POST /api/v2/alerts` body and its webhook
//! receiver payload.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::NotifyAlert;

/// Milliseconds since the epoch as RFC 3339 UTC (`2024-01-02T03:04:05.678Z`).
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

/// One element of the v2 API's alert array.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AmAlert {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// RFC 3339.
    #[serde(rename = "endsAt", skip_serializing_if = "String::is_empty", default)]
    pub ends_at: String,
    /// Link to the expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

pub(crate) fn am_alerts(batch: &[NotifyAlert]) -> Vec<AmAlert> {
    batch
        .iter()
        .map(|a| AmAlert {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: rfc3339(a.starts_at_ms),
            ends_at: a.ends_at_ms.map(rfc3339).unwrap_or_default(),
            generator_url: a.generator_url.clone(),
        })
        .collect()
}

/// One alert in a webhook payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookAlert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    /// RFC 3339 (`0001-01-01T00:00:00Z` when unknown).
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    /// Link to the expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Hex hash of the labels.
    pub fingerprint: String,
}

/// Alertmanager's webhook receiver payload (version 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// Always `4`.
    pub version: String,
    /// Identifies the group of alerts.
    #[serde(rename = "groupKey")]
    pub group_key: String,
    /// Alerts left out (always 0).
    #[serde(rename = "truncatedAlerts")]
    pub truncated_alerts: u64,
    /// `firing` if any alert fires, else `resolved`.
    pub status: String,
    /// Receiver name (`promlite`).
    pub receiver: String,
    /// Labels the group is keyed by (none: promlite does not group).
    #[serde(rename = "groupLabels")]
    pub group_labels: BTreeMap<String, String>,
    /// Labels every alert shares.
    #[serde(rename = "commonLabels")]
    pub common_labels: BTreeMap<String, String>,
    /// Annotations every alert shares.
    #[serde(rename = "commonAnnotations")]
    pub common_annotations: BTreeMap<String, String>,
    /// The sender's external URL.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// The alerts.
    pub alerts: Vec<WebhookAlert>,
}

fn common(maps: &mut dyn Iterator<Item = &BTreeMap<String, String>>) -> BTreeMap<String, String> {
    let Some(first) = maps.next() else {
        return BTreeMap::new();
    };
    let mut c = first.clone();
    for m in maps {
        c.retain(|k, v| m.get(k) == Some(v));
    }
    c
}

fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    let l =
        promlite_model::Labels::from_pairs(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    format!("{:016x}", l.stable_hash())
}

pub(crate) fn webhook_payload(
    batch: &[NotifyAlert],
    now_ms: i64,
    external_url: &str,
) -> WebhookPayload {
    let alerts: Vec<WebhookAlert> = batch
        .iter()
        .map(|a| {
            let resolved = a.ends_at_ms.is_some_and(|e| e <= now_ms);
            WebhookAlert {
                status: if resolved { "resolved" } else { "firing" }.into(),
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: rfc3339(a.starts_at_ms),
                ends_at: if resolved {
                    a.ends_at_ms.map(rfc3339).unwrap_or_default()
                } else {
                    "0001-01-01T00:00:00Z".into()
                },
                generator_url: a.generator_url.clone(),
                fingerprint: fingerprint(&a.labels),
            }
        })
        .collect();
    let status = if alerts.iter().any(|a| a.status == "firing") {
        "firing"
    } else {
        "resolved"
    };
    WebhookPayload {
        version: "4".into(),
        group_key: "{}:{}".into(),
        truncated_alerts: 0,
        status: status.into(),
        receiver: "promlite".into(),
        group_labels: BTreeMap::new(),
        common_labels: common(&mut batch.iter().map(|a| &a.labels)),
        common_annotations: common(&mut batch.iter().map(|a| &a.annotations)),
        external_url: external_url.to_string(),
        alerts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, ends: Option<i64>) -> NotifyAlert {
        let mut labels = BTreeMap::new();
        labels.insert("alertname".to_string(), name.to_string());
        labels.insert("env".to_string(), "prod".to_string());
        NotifyAlert {
            labels,
            annotations: BTreeMap::new(),
            starts_at_ms: 1_000,
            ends_at_ms: ends,
            generator_url: "g".into(),
        }
    }

    #[test]
    fn am_body_shape() {
        let v = serde_json::to_value(am_alerts(&[alert("A", Some(61_000))])).unwrap();
        assert_eq!(v[0]["startsAt"], "1970-01-01T00:00:01.000Z");
        assert_eq!(v[0]["endsAt"], "1970-01-01T00:01:01.000Z");
        assert_eq!(v[0]["labels"]["alertname"], "A");
        assert_eq!(v[0]["generatorURL"], "g");
    }

    #[test]
    fn webhook_status_and_common_labels() {
        let p = webhook_payload(
            &[alert("A", Some(100_000)), alert("B", Some(5_000))],
            10_000,
            "http://x",
        );
        assert_eq!(p.status, "firing");
        assert_eq!(p.alerts[0].status, "firing");
        assert_eq!(p.alerts[1].status, "resolved");
        assert_eq!(p.common_labels.get("env").map(String::as_str), Some("prod"));
        assert!(!p.common_labels.contains_key("alertname"));
        let p = webhook_payload(&[alert("B", Some(5_000))], 10_000, "");
        assert_eq!(p.status, "resolved");
    }
}
