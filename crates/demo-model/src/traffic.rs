//! The built-in traffic generator: steady synthetic load on the model endpoints.
//!
//! Requests go through the same entry points the HTTP handlers use ([`DemoModel::call`]),
//! in-process, so the generator needs no network and its counts ([`DemoModel::stats`])
//! match `model_requests_total` exactly once it is stopped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

use crate::api::Endpoint;
use crate::model::DemoModel;
use crate::rng::Rng;

/// Most requests in flight at once; ticks beyond this are skipped (and not counted).
const MAX_IN_FLIGHT: usize = 1024;
/// Highest accepted request rate.
const MAX_RPS: f64 = 10_000.0;
/// Share of `/predict` requests (the rest go to `/generate`).
const PREDICT_SHARE: f64 = 0.7;
/// Share of deliberately malformed requests (answered 400).
const MALFORMED_SHARE: f64 = 0.005;

const PROMPTS: [&str; 4] = [
    "Summarise the last deployment",
    "Explain why latency rose",
    "Write a haiku about time series",
    "List three alerting best practices",
];
const MAX_TOKENS_CHOICES: [u64; 4] = [16, 32, 64, 128];

/// A running traffic generator. Dropping the handle leaves it running; call
/// [`TrafficHandle::stop`] to end it.
#[derive(Debug)]
pub struct TrafficHandle {
    stop: Arc<Notify>,
    task: JoinHandle<()>,
}

impl TrafficHandle {
    /// Stops sending new requests, waits for those in flight to finish (so
    /// [`DemoModel::stats`] and the metrics agree), then returns.
    pub async fn stop(self) {
        self.stop.notify_one();
        if let Err(e) = self.task.await {
            tracing::warn!("traffic generator ended abnormally: {e}");
        }
    }

    /// Whether the generator has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// One planned request: which endpoint, and the body to send.
fn plan_request(rng: &mut Rng, user_ids: u32) -> (Endpoint, Vec<u8>) {
    let endpoint = if rng.chance(PREDICT_SHARE) {
        Endpoint::Predict
    } else {
        Endpoint::Generate
    };
    if rng.chance(MALFORMED_SHARE) {
        return (endpoint, b"{\"features\": [1, 2,".to_vec());
    }
    let user_id = format!("user-{}", rng.range_u64(0, u64::from(user_ids.max(1)) - 1));
    let body = match endpoint {
        Endpoint::Predict => {
            let features: Vec<f64> = (0..4)
                .map(|_| (rng.next_f64() * 100.0).round() / 10.0)
                .collect();
            serde_json::json!({ "features": features, "user_id": user_id })
        }
        Endpoint::Generate => {
            let prompt = PROMPTS
                .get(rng.range_u64(0, PROMPTS.len() as u64 - 1) as usize)
                .copied()
                .unwrap_or("");
            let max_tokens = MAX_TOKENS_CHOICES
                .get(rng.weighted(&[0.3, 0.35, 0.25, 0.1]))
                .copied()
                .unwrap_or(32);
            serde_json::json!({ "prompt": prompt, "max_tokens": max_tokens, "user_id": user_id })
        }
    };
    (endpoint, serde_json::to_vec(&body).unwrap_or_default())
}

impl DemoModel {
    /// Starts sending `rps` requests per second (70 % `/predict`, 30 % `/generate`, 0.5 %
    /// malformed) until [`TrafficHandle::stop`]. Uses tokio time, so it runs instantly under
    /// a paused test clock. A rate that is not positive and finite sends nothing.
    ///
    /// Must be called from within a tokio runtime.
    pub fn spawn_traffic(&self, rps: f64) -> TrafficHandle {
        let stop = Arc::new(Notify::new());
        let model = self.clone();
        let stop_rx = Arc::clone(&stop);
        let task = tokio::spawn(async move { model.run_traffic(rps, stop_rx).await });
        TrafficHandle { stop, task }
    }

    async fn run_traffic(self, rps: f64, stop: Arc<Notify>) {
        if !(rps.is_finite() && rps > 0.0) {
            stop.notified().await;
            return;
        }
        let rps = rps.min(MAX_RPS);
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rps));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The generator's decisions come from a stream of their own, separate from requests'.
        let mut rng = Rng::for_stream(self.inner.opts.seed, u64::MAX);
        let mut in_flight = JoinSet::new();
        let stopped = stop.notified();
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = ticker.tick() => {
                    if in_flight.len() >= MAX_IN_FLIGHT {
                        continue;
                    }
                    let (endpoint, body) = plan_request(&mut rng, self.inner.opts.user_ids);
                    let model = self.clone();
                    in_flight.spawn(async move {
                        let reply = model.call(endpoint, &body).await;
                        model.inner.stats.lock().record(endpoint, reply.status);
                    });
                }
            }
        }
        while in_flight.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_the_mix() {
        let mut rng = Rng::new(4);
        let mut predicts = 0;
        for _ in 0..2000 {
            let (endpoint, body) = plan_request(&mut rng, 10);
            assert!(!body.is_empty());
            if endpoint == Endpoint::Predict {
                predicts += 1;
            }
        }
        assert!((1300..1500).contains(&predicts), "{predicts}");
    }
}
