//! The scrape loops' own runtime.

/// A single-threaded Tokio runtime on a thread of its own, for the scrape
/// loops. A scrape is a timer, a request, a response and ~0.2 ms of parsing
/// and appending per 1,000 series, so one thread keeps up with thousands of
/// targets; on a multi-threaded runtime each of those wake-ups also woke a
/// second worker to look for work to steal (futex calls, context switches).
/// The thread ends when this value is dropped (after
/// `ScrapeManager::stop`, which waits for the loops' last writes).
#[derive(Debug)]
pub struct ScrapeRuntime {
    handle: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl ScrapeRuntime {
    /// Starts the runtime's thread.
    pub fn start() -> std::io::Result<ScrapeRuntime> {
        // Sockets and timers only: no signal or child-process driver to
        // check on every park.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .thread_name("promlite-scrape")
            .build()?;
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("promlite-scrape".into())
            .spawn(move || {
                // Runs the spawned loops until the sender is dropped.
                let _ = rt.block_on(stopped);
            })?;
        Ok(ScrapeRuntime {
            handle,
            _stop: stop,
        })
    }

    /// The runtime's handle (for [`ScrapeOptions::runtime`]).
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }
}
