//! When each firing alert was last sent, kept in a small file so that a
//! restart does not send every firing alert again at once.
//!
//! Prometheus keeps this only in memory: after a crash or restart it sends
//! every firing alert on its first evaluation, however recently it was sent.
//! Alertmanager deduplicates that, but a webhook (which promlite can call
//! directly, e.g. to start a retraining job) sees a duplicate. promlite
//! writes `{"version":1,"sent":{key: ms}}` (key: the group's file and name,
//! as Prometheus identifies a group, and the alert's labels) after each evaluation that sent something, by writing a temporary
//! file and renaming it over the old one, so a crash leaves either the old
//! or the new file. On the first evaluation after start-up, firing alerts
//! found in it take their last send time from it, so the next send comes
//! one resend delay after the last one before the crash. A send that was
//! queued but not delivered before the crash is therefore repeated at most
//! one resend delay late. A missing or unreadable file means "nothing sent"
//! (Prometheus's behaviour), with a warning.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::group::Group;
use crate::notifier::NotifyAlert;

#[derive(Serialize, Deserialize, Default)]
struct FileFormat {
    version: u32,
    sent: BTreeMap<String, i64>,
}

/// Last send times of firing alerts, mirrored to a file.
pub(crate) struct SentState {
    path: PathBuf,
    sent: BTreeMap<String, i64>,
}

/// A group's identity: its rule file and its name (two files may hold
/// groups of the same name).
pub(crate) fn group_id(group: &Group) -> String {
    id_of(group.file(), group.name())
}

fn id_of(file: &str, name: &str) -> String {
    format!("{file}\u{2}{name}")
}

fn key<'a>(group: &str, labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut k = String::from(group);
    for (n, v) in labels {
        k.push('\u{1}');
        k.push_str(n);
        k.push('=');
        k.push_str(v);
    }
    k
}

impl SentState {
    /// Reads `path` (missing or unreadable: empty).
    pub(crate) fn load(path: PathBuf) -> SentState {
        let sent = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<FileFormat>(&bytes) {
                Ok(f) if f.version == 1 => f.sent,
                Ok(f) => {
                    tracing::warn!(path = %path.display(), version = f.version, "unknown alert send-state version; ignored");
                    BTreeMap::new()
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "unreadable alert send-state file; ignored");
                    BTreeMap::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read alert send-state file");
                BTreeMap::new()
            }
        };
        SentState { path, sent }
    }

    /// Gives firing alerts of `group` that were never sent by this process
    /// the send time recorded before the restart.
    pub(crate) fn apply(&self, group: &mut Group) {
        let name = group_id(group);
        for a in group.firing_alerts_mut() {
            if a.last_sent_at.is_some() {
                continue;
            }
            let k = key(&name, a.labels.iter().map(|l| (l.name, l.value)));
            if let Some(&t) = self.sent.get(&k) {
                a.last_sent_at = Some(t);
            }
        }
    }

    /// Records what the group with [`group_id`] `group` sent at `ts` and drops entries older than
    /// `keep_ms`; writes the file if anything changed.
    pub(crate) fn record(&mut self, group: &str, sent: &[NotifyAlert], ts: i64, keep_ms: i64) {
        let mut changed = false;
        for a in sent {
            let k = key(
                group,
                a.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            );
            // A resolved alert's notification has `endsAt` at or before now.
            if a.ends_at_ms.is_some_and(|e| e <= ts) {
                changed |= self.sent.remove(&k).is_some();
            } else {
                changed |= self.sent.insert(k, ts) != Some(ts);
            }
        }
        let before = self.sent.len();
        self.sent.retain(|_, t| *t + keep_ms >= ts);
        changed |= self.sent.len() != before;
        if changed {
            if let Err(e) = self.save() {
                tracing::warn!(path = %self.path.display(), error = %e, "writing alert send-state file failed");
            }
        }
    }

    fn save(&self) -> std::io::Result<()> {
        let body = serde_json::to_vec(&FileFormat {
            version: 1,
            sent: self.sent.clone(),
        })
        .map_err(std::io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(labels: &[(&str, &str)], ends_at_ms: Option<i64>) -> NotifyAlert {
        NotifyAlert {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: BTreeMap::new(),
            starts_at_ms: 0,
            ends_at_ms,
            generator_url: String::new(),
        }
    }

    #[test]
    fn records_survive_a_reload_and_resolved_or_old_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts-sent.json");
        let mut s = SentState::load(path.clone());
        let a = alert(&[("alertname", "A")], Some(10_000 + 240_000));
        let b = alert(&[("alertname", "B")], Some(10_000 + 240_000));
        let g = id_of("rules.yml", "g");
        s.record(&g, &[a, b], 10_000, 3_600_000);
        let again = SentState::load(path.clone());
        assert_eq!(again.sent.len(), 2);
        assert_eq!(
            again.sent.get(&key(&g, [("alertname", "A")].into_iter())),
            Some(&10_000)
        );
        // A group of the same name in another file is another group.
        let other = id_of("other.yml", "g");
        assert_eq!(
            again
                .sent
                .get(&key(&other, [("alertname", "A")].into_iter())),
            None
        );
        // B resolves; A is not sent again for longer than `keep_ms`.
        let mut s = again;
        s.record(
            &g,
            &[alert(&[("alertname", "B")], Some(9_000))],
            20_000,
            3_600_000,
        );
        assert_eq!(SentState::load(path.clone()).sent.len(), 1);
        s.record(&g, &[], 10_000 + 3_600_001, 3_600_000);
        assert!(SentState::load(path.clone()).sent.is_empty());
        // A damaged file is ignored, not fatal.
        std::fs::write(&path, b"{not json").unwrap();
        assert!(SentState::load(path).sent.is_empty());
    }
}
