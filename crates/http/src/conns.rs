//! The open connections of the server, so that a new client is not locked
//! out by idle ones when the connection cap is reached.
//!
//! Prometheus (Go's `LimitListener`) and promlite before this module kept
//! clients beyond `--web.max-connections` in the kernel's backlog until a
//! connection closed. 512 connections that send nothing, or that send one
//! request and then sit in keep-alive, therefore lock everyone else out for
//! the read timeout (5 minutes), and a client that opens 10,000 such
//! connections keeps the server unreachable for as long as it likes.
//!
//! Here, when every slot is taken and another client connects, the server
//! accepts it and gives it the slot of the connection that has been idle the
//! longest — no request in flight: silent since connecting, trickling
//! headers, or waiting in keep-alive — which is asked to close. An idle
//! HTTP/1 connection closes at once; one that is still sending a request is
//! dropped after [`EVICT_GRACE`] unless its request has reached the handler
//! by then. Connections with a request in flight are never evicted, so when
//! all of them are busy the new client waits for a slot, as before. The
//! slot moves at once (the accept loop does not wait for the evicted task
//! to run), so a flood of connections is turned away as fast as it arrives;
//! at most [`MAX_CLOSING`] evicted connections may still be closing beyond
//! the cap.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit};

/// How long an evicted connection may take to finish sending a request
/// that has not reached a handler yet.
pub(crate) const EVICT_GRACE: Duration = Duration::from_secs(1);

/// Most evicted connections that may still be closing, on top of the cap.
pub(crate) const MAX_CLOSING: usize = 64;

/// One open connection.
pub(crate) struct Conn {
    id: u64,
    /// Requests being handled (0: idle).
    in_flight: AtomicUsize,
    /// When the connection was last active (connected or finished a
    /// request), in ms since the table was made.
    last_active_ms: AtomicU64,
    /// Woken when the connection is asked to close.
    evict: Notify,
    /// The connection slot it holds (`None`: no cap, or given away).
    slot: Mutex<Option<OwnedSemaphorePermit>>,
    /// Set when the slot was given away.
    evicted: AtomicBool,
    table: Arc<ConnTable>,
}

impl Conn {
    /// Resolves when the server asks this connection to make room.
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// Whether a request is being handled on this connection.
    pub(crate) fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Marks a request as being handled until the guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Ok(mut m) = self.table.conns.lock() {
            m.remove(&self.id);
        }
        if self.evicted.load(Ordering::Acquire) {
            self.table.closing.fetch_sub(1, Ordering::AcqRel);
            self.table.closed.notify_one();
        }
    }
}

/// A request in flight on a connection (see [`Conn::enter`]).
pub(crate) struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        let c = &self.0;
        c.last_active_ms.store(c.table.now_ms(), Ordering::Release);
        c.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// All open connections.
pub(crate) struct ConnTable {
    epoch: Instant,
    next_id: AtomicU64,
    /// Evicted connections not closed yet.
    closing: AtomicUsize,
    /// Woken when an evicted connection has closed.
    closed: Notify,
    /// Weak so that a connection's task owns its entry; the entry is removed
    /// when the last `Arc<Conn>` goes.
    conns: Mutex<HashMap<u64, std::sync::Weak<Conn>>>,
}

impl ConnTable {
    pub(crate) fn new() -> Arc<ConnTable> {
        Arc::new(ConnTable {
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            closing: AtomicUsize::new(0),
            closed: Notify::new(),
            conns: Mutex::new(HashMap::new()),
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Registers a new connection holding `slot`.
    pub(crate) fn open(self: &Arc<Self>, slot: Option<OwnedSemaphorePermit>) -> Arc<Conn> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            id,
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(self.now_ms()),
            evict: Notify::new(),
            slot: Mutex::new(slot),
            evicted: AtomicBool::new(false),
            table: self.clone(),
        });
        if let Ok(mut m) = self.conns.lock() {
            m.insert(id, Arc::downgrade(&conn));
        }
        conn
    }

    /// Takes the slot of the connection idle the longest and asks that
    /// connection to close. `None` when every connection with a slot has a
    /// request in flight, or [`MAX_CLOSING`] evicted ones are still closing.
    pub(crate) fn evict_one(&self) -> Option<OwnedSemaphorePermit> {
        if self.closing.load(Ordering::Acquire) >= MAX_CLOSING {
            return None;
        }
        let candidates: Vec<Arc<Conn>> = {
            let m = self.conns.lock().ok()?;
            m.values().filter_map(|w| w.upgrade()).collect()
        };
        let victim = candidates
            .iter()
            .filter(|c| !c.busy() && !c.evicted.load(Ordering::Acquire))
            .min_by_key(|c| (c.last_active_ms.load(Ordering::Acquire), c.id))?;
        let permit = victim.slot.lock().ok()?.take()?;
        victim.evicted.store(true, Ordering::Release);
        self.closing.fetch_add(1, Ordering::AcqRel);
        // `notify_one` stores a permit, so a connection that is between
        // two awaits still sees it.
        victim.evict.notify_one();
        Some(permit)
    }

    /// Resolves when an evicted connection has closed since the last call
    /// (so [`ConnTable::evict_one`] may succeed again).
    pub(crate) async fn evicted_one_closed(&self) {
        self.closed.notified().await;
    }

    /// Open connections.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.conns.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Drives a hyper connection to its end, closing it gracefully when it is
/// evicted or the server stops. `graceful` is the connection's
/// `graceful_shutdown`; after it, an evicted connection still without a
/// request in flight is dropped after [`EVICT_GRACE`].
pub(crate) async fn drive<F, E>(
    conn: &Conn,
    fut: F,
    graceful: impl Fn(std::pin::Pin<&mut F>),
    mut stopping: tokio::sync::watch::Receiver<bool>,
) where
    F: Future<Output = Result<(), E>>,
{
    let mut fut = std::pin::pin!(fut);
    tokio::select! {
        _ = fut.as_mut() => return,
        _ = conn.evicted() => {
            graceful(fut.as_mut());
            loop {
                tokio::select! {
                    _ = fut.as_mut() => return,
                    _ = tokio::time::sleep(EVICT_GRACE) => {
                        if !conn.busy() {
                            return;
                        }
                    }
                }
            }
        }
        // The wait's output borrows the channel and is not `Send`: keep it
        // inside this block.
        _ = async { let _ = stopping.wait_for(|s| *s).await; } => graceful(fut.as_mut()),
    }
    let _ = fut.await;
}

/// Counts the connection tasks, so that shutdown can wait for them.
pub(crate) struct Tasks(Arc<TasksInner>);

struct TasksInner {
    running: AtomicUsize,
    done: Notify,
}

/// One running connection task (see [`Tasks::enter`]).
pub(crate) struct Running(Arc<TasksInner>);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.done.notify_waiters();
        }
    }
}

impl Tasks {
    pub(crate) fn new() -> Tasks {
        Tasks(Arc::new(TasksInner {
            running: AtomicUsize::new(0),
            done: Notify::new(),
        }))
    }

    /// Counts a task until the returned guard is dropped.
    pub(crate) fn enter(&self) -> Running {
        self.0.running.fetch_add(1, Ordering::AcqRel);
        Running(self.0.clone())
    }

    /// Resolves when no task is running.
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.0.done.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.0.running.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::Semaphore;

    #[tokio::test]
    async fn the_longest_idle_connection_gives_up_its_slot_and_busy_ones_never() {
        let sem = Arc::new(Semaphore::new(3));
        let slot = || sem.clone().try_acquire_owned().ok();
        let t = ConnTable::new();
        let a = t.open(slot());
        tokio::time::sleep(Duration::from_millis(5)).await;
        let b = t.open(slot());
        let c = t.open(slot());
        assert_eq!((t.len(), sem.available_permits()), (3, 0));
        // `a` is the oldest but busy: `b` gives up its slot.
        let guard = a.enter();
        let p = t.evict_one().expect("b's slot");
        tokio::time::timeout(Duration::from_secs(1), b.evicted())
            .await
            .expect("b evicted");
        assert!(t.evict_one().map(drop).is_some(), "c is idle too");
        drop(p);
        assert_eq!(sem.available_permits(), 2);
        drop((b, c));
        assert_eq!(t.len(), 1);
        assert_eq!(t.closing.load(Ordering::Acquire), 0);
        // `a` has a request in flight: nothing to evict.
        assert!(t.evict_one().is_none());
        drop(guard);
        assert!(t.evict_one().is_some());
    }
}
