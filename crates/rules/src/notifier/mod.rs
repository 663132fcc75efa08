//! Sending alerts: Alertmanager's v2 API and plain webhooks, through a
//! bounded queue (oldest dropped), in batches, with counters.

mod config;
mod payload;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
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
    targets: Vec<Target>,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    dropped: AtomicU64,
}

impl Notifier {
    /// A notifier for `config`'s destinations.
    pub fn new(config: &AlertingConfig, opts: NotifierOptions, clock: Arc<dyn Clock>) -> Self {
        let mut targets = Vec::new();
        for am in &config.alertmanagers {
            for url in am.urls() {
                let counters = Arc::new(TargetCounters {
                    url: url.clone(),
                    ..Default::default()
                });
                targets.push(Target {
                    url,
                    timeout: am.timeout,
                    webhook: false,
                    counters,
                });
            }
        }
        for w in &config.webhooks {
            let counters = Arc::new(TargetCounters {
                url: w.url.clone(),
                ..Default::default()
            });
            targets.push(Target {
                url: w.url.clone(),
                timeout: w.timeout,
                webhook: true,
                counters,
            });
        }
        Notifier {
            inner: Arc::new(Inner {
                opts,
                queue: Mutex::new(VecDeque::new()),
                wake: tokio::sync::Notify::new(),
                targets,
                client: reqwest::Client::new(),
                clock,
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Queues alerts (adding external labels); drops the oldest beyond capacity.
    pub fn send(&self, alerts: Vec<NotifyAlert>) {
        if alerts.is_empty() || self.inner.targets.is_empty() {
            return;
        }
        let cap = self.inner.opts.queue_capacity.max(1);
        let mut q = self.inner.queue.lock();
        for mut a in alerts {
            for (k, v) in &self.inner.opts.external_labels {
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
        self.inner
            .targets
            .iter()
            .map(|t| t.counters.clone())
            .collect()
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
            let mut set = tokio::task::JoinSet::new();
            for t in &self.inner.targets {
                let body = if t.webhook {
                    serde_json::to_vec(&payload::webhook_payload(
                        &batch,
                        now,
                        &self.inner.opts.external_url,
                    ))
                } else {
                    serde_json::to_vec(&payload::am_alerts(&batch))
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
                let n = batch.len() as u64;
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
