//! Sending alerts: Alertmanager's v2 API and plain webhooks, through a
//! bounded queue (oldest dropped), in batches, with counters.

mod config;
mod payload;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use promlite_model::Clock;

pub use config::{AlertingConfig, AlertmanagerConfig, WebhookConfig};
pub use payload::{rfc3339, AmAlert, WebhookAlert, WebhookPayload};

/// An alert as handed to the notifier.
#[derive(Clone, Debug, PartialEq)]
pub struct NotifyAlert {
    /// Labels (external labels are added by the notifier).
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// When it started firing (ms).
    pub starts_at_ms: i64,
    /// Resolution time, or how long the alert stays valid without a resend (ms).
    pub ends_at_ms: Option<i64>,
    /// Link back to the expression.
    pub generator_url: String,
}

/// Notifier settings.
#[derive(Clone, Debug)]
pub struct NotifierOptions {
    /// Queue capacity; the oldest alerts are dropped beyond it (10,000).
    pub queue_capacity: usize,
    /// Alerts per request (256).
    pub batch_size: usize,
    /// Added to every alert's labels unless already set.
    pub external_labels: BTreeMap<String, String>,
    /// Shown in webhook payloads as `externalURL`.
    pub external_url: String,
}

impl Default for NotifierOptions {
    fn default() -> Self {
        NotifierOptions {
            queue_capacity: 10_000,
            batch_size: 256,
            external_labels: BTreeMap::new(),
            external_url: String::new(),
        }
    }
}

/// Counters of one destination.
#[derive(Debug, Default)]
pub struct TargetCounters {
    /// Destination URL.
    pub url: String,
    /// Alerts delivered.
    pub sent: AtomicU64,
    /// Alerts whose delivery failed.
    pub errors: AtomicU64,
}

struct Target {
    url: String,
    timeout: Duration,
    webhook: bool,
    /// Webhooks only: whether resolved alerts are delivered.
    send_resolved: bool,
    counters: Arc<TargetCounters>,
}

/// Sends alerts to Alertmanagers and webhooks. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    opts: NotifierOptions,
    queue: Mutex<VecDeque<NotifyAlert>>,
    wake: tokio::sync::Notify,
    /// The destinations; replaced as a whole by [`Notifier::apply_config`].
    targets: RwLock<Arc<Vec<Target>>>,
    /// Replaced by [`Notifier::set_external_labels`].
    external_labels: RwLock<BTreeMap<String, String>>,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    dropped: AtomicU64,
}

/// The destinations of `config`; a destination already in `old` (same URL
/// and kind) keeps its counters.
fn build_targets(config: &AlertingConfig, old: &[Target]) -> Vec<Target> {
    let counters = |url: &str, webhook: bool| {
        old.iter()
            .find(|t| t.url == url && t.webhook == webhook)
            .map(|t| t.counters.clone())
            .unwrap_or_else(|| {
                Arc::new(TargetCounters {
                    url: url.to_string(),
                    ..Default::default()
                })
            })
    };
    let mut targets = Vec::new();
    for am in &config.alertmanagers {
        for url in am.urls() {
            targets.push(Target {
                counters: counters(&url, false),
                url,
                timeout: am.timeout,
                webhook: false,
                send_resolved: true,
            });
        }
    }
    for w in &config.webhooks {
        targets.push(Target {
            counters: counters(&w.url, true),
            url: w.url.clone(),
            timeout: w.timeout,
            webhook: true,
            send_resolved: w.send_resolved,
        });
    }
    targets
}

impl Notifier {
    /// A notifier for `config`'s destinations.
    pub fn new(config: &AlertingConfig, opts: NotifierOptions, clock: Arc<dyn Clock>) -> Self {
        let targets = build_targets(config, &[]);
        let external_labels = opts.external_labels.clone();
        Notifier {
            inner: Arc::new(Inner {
                opts,
                queue: Mutex::new(VecDeque::new()),
                wake: tokio::sync::Notify::new(),
                targets: RwLock::new(Arc::new(targets)),
                external_labels: RwLock::new(external_labels),
                client: reqwest::Client::new(),
                clock,
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Replaces the destinations (a configuration reload). Destinations
    /// that stay keep their counters; alerts already queued go to the new
    /// destinations.
    pub fn apply_config(&self, config: &AlertingConfig) {
        let mut guard = self.inner.targets.write();
        let targets = build_targets(config, guard.as_slice());
        *guard = Arc::new(targets);
    }

    /// Replaces the labels added to every alert (a configuration reload).
    pub fn set_external_labels(&self, labels: BTreeMap<String, String>) {
        *self.inner.external_labels.write() = labels;
    }

    fn targets(&self) -> Arc<Vec<Target>> {
        self.inner.targets.read().clone()
    }

    /// Queues alerts (adding external labels); drops the oldest beyond capacity.
    pub fn send(&self, alerts: Vec<NotifyAlert>) {
        if alerts.is_empty() || self.targets().is_empty() {
            return;
        }
        let cap = self.inner.opts.queue_capacity.max(1);
        let external_labels = self.inner.external_labels.read().clone();
        let mut q = self.inner.queue.lock();
        for mut a in alerts {
            for (k, v) in &external_labels {
                a.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
            q.push_back(a);
        }
        let over = q.len().saturating_sub(cap);
        if over > 0 {
            q.drain(..over);
            self.inner.dropped.fetch_add(over as u64, Ordering::Relaxed);
        }
        drop(q);
        self.inner.wake.notify_one();
    }

    /// Capacity of the queue.
    pub fn queue_capacity(&self) -> usize {
        self.inner.opts.queue_capacity.max(1)
    }

    /// Alerts waiting to be sent.
    pub fn queue_len(&self) -> usize {
        self.inner.queue.lock().len()
    }

    /// Alerts dropped because the queue was full or no destination took them.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Per-destination counters.
    pub fn counters(&self) -> Vec<Arc<TargetCounters>> {
        self.targets().iter().map(|t| t.counters.clone()).collect()
    }

    /// Sends everything queued now, batch by batch, to every destination.
    pub async fn flush(&self) {
        loop {
            let batch: Vec<NotifyAlert> = {
                let mut q = self.inner.queue.lock();
                let n = q.len().min(self.inner.opts.batch_size.max(1));
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let now = self.inner.clock.now_ms();
            let targets = self.targets();
            let firing: Vec<NotifyAlert> = batch
                .iter()
                .filter(|a| !a.ends_at_ms.is_some_and(|e| e <= now))
                .cloned()
                .collect();
            let mut set = tokio::task::JoinSet::new();
            for t in targets.iter() {
                let alerts = if t.send_resolved { &batch } else { &firing };
                if alerts.is_empty() {
                    continue;
                }
                let body = if t.webhook {
                    serde_json::to_vec(&payload::webhook_payload(
                        alerts,
                        now,
                        &self.inner.opts.external_url,
                    ))
                } else {
                    serde_json::to_vec(&payload::am_alerts(alerts))
                };
                let Ok(body) = body else { continue };
                let req = self
                    .inner
                    .client
                    .post(&t.url)
                    .timeout(t.timeout)
                    .header("Content-Type", "application/json")
                    .body(body);
                let counters = t.counters.clone();
                let n = alerts.len() as u64;
                set.spawn(async move {
                    match req.send().await {
                        Ok(r) if r.status().is_success() => {
                            counters.sent.fetch_add(n, Ordering::Relaxed);
                            true
                        }
                        Ok(r) => {
                            tracing::warn!(url = %counters.url, status = %r.status(), "alert notification rejected");
                            counters.errors.fetch_add(n, Ordering::Relaxed);
                            false
                        }
                        Err(e) => {
                            tracing::warn!(url = %counters.url, error = %e, "alert notification failed");
                            counters.errors.fetch_add(n, Ordering::Relaxed);
                            false
                        }
                    }
                });
            }
            let mut delivered = set.is_empty();
            while let Some(r) = set.join_next().await {
                delivered |= r.unwrap_or(false);
            }
            if !delivered {
                // No destination took the batch: it is lost (as Prometheus counts it).
                self.inner
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
    }

    /// Sends queued alerts as they arrive until `shutdown` completes, then
    /// makes a last attempt to flush.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.inner.wake.notified() => self.flush().await,
            }
        }
        self.flush().await;
    }
}
