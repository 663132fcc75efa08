//! `POST /retrain`: by hand (empty body) or from an alert webhook.
//!
//! The body may be Alertmanager's webhook payload (which promlite's `alerting.webhooks`
//! also sends), so an alert can start "retraining" directly: firing alerts labelled
//! `action="retrain"` trigger one retrain per firing episode (resends of the same alert
//! and resolved notifications do not retrain again).

use serde_json::json;

use crate::api::{self, Reply, RetrainRequest};
use crate::model::DemoModel;

/// At most this many handled alert episodes are remembered (then the memory starts over).
const MAX_REMEMBERED: usize = 10_000;

impl DemoModel {
    /// Serves `POST /retrain` with a raw request body.
    ///
    /// Answers `{"retrained": true, "previous_version", "model_version", "triggered_by":
    /// [alertnames]}` after a retrain, `{"retrained": false, "model_version", "reason"}` (still
    /// 200, so the sender does not retry) when the payload holds no new firing alert
    /// labelled `action="retrain"`, and 400 for a malformed body.
    pub fn retrain_from_body(&self, body: &[u8]) -> Reply {
        let (triggered_by, reason) = match api::parse_retrain(body) {
            Err(msg) => return Reply::error(400, msg),
            Ok(RetrainRequest::Manual) => (Vec::new(), None),
            Ok(RetrainRequest::Alerts { retrain, total }) => {
                let wanted = retrain.len();
                let fresh: Vec<String> = {
                    let mut seen = self.inner.retrain_alerts_seen.lock();
                    if seen.len() > MAX_REMEMBERED {
                        seen.clear();
                    }
                    retrain
                        .into_iter()
                        .filter(|a| seen.insert(a.key.clone()))
                        .map(|a| a.alertname)
                        .collect()
                };
                let reason = if wanted == 0 {
                    Some(format!(
                        "none of the {total} alerts is firing with label {}=\"{}\"",
                        api::RETRAIN_ACTION.0,
                        api::RETRAIN_ACTION.1
                    ))
                } else if fresh.is_empty() {
                    Some("these alerts already triggered a retrain".to_string())
                } else {
                    None
                };
                (fresh, reason)
            }
        };
        if let Some(reason) = reason {
            tracing::info!(%reason, "retrain webhook ignored");
            return Reply {
                status: 200,
                body: json!({
                    "retrained": false,
                    "model_version": self.version().to_string(),
                    "reason": reason,
                }),
            };
        }
        let mut names = triggered_by;
        names.sort();
        names.dedup();
        if !names.is_empty() {
            tracing::info!(alerts = ?names, "retrain triggered by alerts");
        }
        let (old, new) = self.retrain();
        Reply {
            status: 200,
            body: json!({
                "retrained": true,
                "previous_version": old.to_string(),
                "model_version": new.to_string(),
                "triggered_by": names,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{DemoModel, DemoOptions};

    fn hook(status: &str, alertname: &str, starts: &str) -> String {
        format!(
            r#"{{"version":"4","status":"{status}","alerts":[{{"status":"{status}","labels":{{"alertname":"{alertname}","action":"retrain"}},"startsAt":"{starts}","fingerprint":"f-{alertname}"}}]}}"#
        )
    }

    #[test]
    fn webhook_retrains_once_per_firing_episode() {
        let m = DemoModel::new(DemoOptions::default());
        let r = m.retrain_from_body(hook("firing", "LowConf", "t1").as_bytes());
        assert_eq!(r.status, 200);
        assert_eq!(r.body["retrained"], true);
        assert_eq!(r.body["previous_version"], "v2.1");
        assert_eq!(r.body["model_version"], "v2.2");
        assert_eq!(r.body["triggered_by"][0], "LowConf");
        // The resend of the same episode, and its resolution, do not retrain again.
        let r = m.retrain_from_body(hook("firing", "LowConf", "t1").as_bytes());
        assert_eq!(r.body["retrained"], false, "{}", r.body);
        let r = m.retrain_from_body(hook("resolved", "LowConf", "t1").as_bytes());
        assert_eq!(r.body["retrained"], false);
        assert!(r.body["reason"].as_str().unwrap_or("").contains("action"));
        assert_eq!(m.version().to_string(), "v2.2");
        // A new episode (new startsAt) does.
        let r = m.retrain_from_body(hook("firing", "LowConf", "t2").as_bytes());
        assert_eq!(r.body["model_version"], "v2.3");
        // By hand, always; a bad body is a 400 and changes nothing.
        assert_eq!(m.retrain_from_body(b"").body["model_version"], "v2.4");
        assert_eq!(m.retrain_from_body(b"{\"alerts\": 1}").status, 400);
        assert_eq!(m.version().to_string(), "v2.4");
    }
}
