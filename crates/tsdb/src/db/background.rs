//! The background thread: WAL group commit and periodic maintenance.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::Shared;
use crate::options::FsyncPolicy;

/// How often (ms, by the options' clock) the background thread runs [`Db::tick`].
const TICK_INTERVAL_MS: i64 = 60_000;

/// How often (ms) full head chunks are moved to spill segments between
/// ticks. Such a pass visits only the series commits queued for it,
/// and targets scraped together fill their chunks together: a minute's
/// wait would hold a whole round of full chunks on the heap beside the new
/// open ones.
const SPILL_INTERVAL_MS: i64 = 10_000;

/// Handle to the running thread.
pub(super) struct Background {
    pub(super) stop: Arc<(Mutex<bool>, Condvar)>,
    pub(super) handle: JoinHandle<()>,
}

pub(super) fn spawn_background(shared: Arc<Shared>) -> Background {
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let stop2 = stop.clone();
    let period = match shared.opts.fsync {
        FsyncPolicy::Interval(d) => d.max(Duration::from_millis(1)),
        FsyncPolicy::Always => Duration::from_secs(1),
    };
    let handle = std::thread::Builder::new()
        .name("promlite-tsdb".into())
        .spawn(move || {
            let mut last_tick = shared.opts.clock.now_ms();
            let mut last_spill = last_tick;
            loop {
                {
                    let (lock, cv) = &*stop2;
                    let mut stopped = lock.lock();
                    if !*stopped {
                        cv.wait_for(&mut stopped, period);
                    }
                    if *stopped {
                        return;
                    }
                }
                if let Err(e) = shared.wal.sync_if_dirty() {
                    tracing::error!(target: "promlite_tsdb", "WAL group commit failed: {e}");
                }
                let now = shared.opts.clock.now_ms();
                if now.saturating_sub(last_tick) >= TICK_INTERVAL_MS {
                    last_tick = now;
                    last_spill = now;
                    if let Err(e) = shared.tick() {
                        tracing::error!(target: "promlite_tsdb", "background maintenance failed: {e}");
                    }
                } else if now.saturating_sub(last_spill) >= SPILL_INTERVAL_MS {
                    last_spill = now;
                    let _ = shared.spill_between_ticks();
                }
            }
        });
    match handle {
        Ok(handle) => Background { stop, handle },
        // Could not start a thread: fall back to a thread that does nothing.
        Err(e) => {
            tracing::error!(target: "promlite_tsdb", "cannot start background thread: {e}");
            Background {
                stop,
                handle: std::thread::spawn(|| {}),
            }
        }
    }
}
