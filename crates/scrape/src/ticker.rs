//! The scrape loop's interval timer.
//!
//! tokio's timer wheel serves a deadline more than 64 ms away in two or
//! three steps: the runtime wakes at the start of the wheel slot holding
//! it (64 ms slots on the second level, ~4 s on the third) only to move the
//! entry one level down, and then again at the deadline itself. With
//! scrapes seconds apart nearly every scrape paid for one of those extra
//! wake-ups, and on a virtual machine a wake-up of an idle thread is among
//! the costliest things a scrape does. On Linux the server therefore uses a
//! periodic `timerfd` per loop ([`ScrapeOptions::kernel_timers`]): the
//! kernel fires it at the deadline itself, once per interval, with no
//! re-arming in between, and the scrape thread wakes exactly once for it
//! (timers that expire together are reported by the same `epoll_wait`).
//! Ticks missed by a slow scrape are skipped and the phase is kept, as Go's
//! ticker (and so Prometheus) does.
//!
//! Elsewhere, and by default (tests drive the loops under tokio's paused
//! clock, which a kernel timer does not follow), it is a tokio interval.
//!
//! [`ScrapeOptions::kernel_timers`]: crate::ScrapeOptions::kernel_timers

use std::time::Duration;

/// Ticks first after a delay, then every period.
#[derive(Debug)]
pub(crate) struct Ticker {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    #[cfg(target_os = "linux")]
    Kernel(tokio::io::unix::AsyncFd<kernel::TimerFd>),
    Tokio(tokio::time::Interval),
}

impl Ticker {
    /// A ticker whose first tick comes `first` from now and then one every
    /// `period`; a kernel timer when `kernel` is set and the platform has
    /// one (falling back to tokio's timer if it cannot be created).
    pub(crate) fn new(first: Duration, period: Duration, kernel: bool) -> Ticker {
        let period = period.max(Duration::from_millis(1));
        #[cfg(target_os = "linux")]
        if kernel {
            match kernel::TimerFd::new(first, period).and_then(|t| {
                // SAFETY: `TimerFd` owns its descriptor and closes it
                // only when dropped, and `as_raw_fd` always returns it.
                unsafe {
                    tokio::io::unix::AsyncFd::register_with_interest(
                        t,
                        tokio::io::Interest::READABLE,
                    )
                }
                .map_err(|e| std::io::Error::other(e.to_string()))
            }) {
                Ok(fd) => {
                    return Ticker {
                        inner: Inner::Kernel(fd),
                    }
                }
                Err(e) => {
                    tracing::warn!("timerfd for the scrape interval: {e}; using tokio's timer")
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = kernel;
        let mut iv = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ticker {
            inner: Inner::Tokio(iv),
        }
    }

    /// Whether the kernel timer is in use.
    #[cfg(test)]
    pub(crate) fn is_kernel(&self) -> bool {
        match self.inner {
            #[cfg(target_os = "linux")]
            Inner::Kernel(_) => true,
            Inner::Tokio(_) => false,
        }
    }

    /// Waits for the next tick.
    pub(crate) async fn tick(&mut self) {
        match &mut self.inner {
            #[cfg(target_os = "linux")]
            Inner::Kernel(fd) => loop {
                let mut guard = match fd.readable().await {
                    Ok(g) => g,
                    Err(e) => {
                        // The reactor is gone (runtime shutting down):
                        // there is nothing left to wait for.
                        tracing::warn!("scrape timer: {e}");
                        return std::future::pending().await;
                    }
                };
                match guard.get_inner().expirations() {
                    Ok(Some(_)) => {
                        // The read consumed the expiration; the next one is
                        // a new edge for the (edge-triggered) reactor.
                        guard.clear_ready();
                        return;
                    }
                    Ok(None) => guard.clear_ready(),
                    Err(e) => {
                        tracing::warn!("reading the scrape timer: {e}");
                        return std::future::pending().await;
                    }
                }
            },
            Inner::Tokio(iv) => {
                iv.tick().await;
            }
        }
    }
}

#[cfg(target_os = "linux")]
mod kernel {
    //! A non-blocking, periodic `CLOCK_MONOTONIC` timerfd.
    //!
    //! SAFETY, for the `unsafe` blocks below: each is one libc call whose
    //! arguments are a file descriptor this type owns (valid until `drop`
    //! closes it) and pointers to local values of the types the call
    //! expects, alive for the call's duration.

    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::time::Duration;

    #[derive(Debug)]
    pub(crate) struct TimerFd(OwnedFd);

    fn timespec(d: Duration) -> libc::timespec {
        libc::timespec {
            tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: d.subsec_nanos() as libc::c_long,
        }
    }

    impl TimerFd {
        /// First expiry `first` from now (at least 1 ns: zero would disarm
        /// it), then every `period`.
        pub(crate) fn new(first: Duration, period: Duration) -> io::Result<TimerFd> {
            // SAFETY: see the module note.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just created and is owned by nothing else.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            let spec = libc::itimerspec {
                it_interval: timespec(period),
                it_value: timespec(first.max(Duration::from_nanos(1))),
            };
            // SAFETY: see the module note.
            let r = unsafe { libc::timerfd_settime(fd, 0, &spec, std::ptr::null_mut()) };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(TimerFd(owned))
        }

        /// The expirations since the last read (`None`: none yet).
        pub(crate) fn expirations(&self) -> io::Result<Option<u64>> {
            let mut n = 0u64;
            // SAFETY: see the module note; reads at most 8 bytes into `n`.
            let r = unsafe {
                libc::read(
                    self.0.as_raw_fd(),
                    std::ptr::addr_of_mut!(n).cast::<libc::c_void>(),
                    std::mem::size_of::<u64>(),
                )
            };
            if r == 8 {
                return Ok(Some(n));
            }
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Ok(None);
                }
                return Err(e);
            }
            Err(io::Error::other(format!("timerfd read returned {r} bytes")))
        }
    }

    impl AsRawFd for TimerFd {
        fn as_raw_fd(&self) -> RawFd {
            self.0.as_raw_fd()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    async fn ticks(kernel: bool) -> Vec<Duration> {
        let start = Instant::now();
        let mut t = Ticker::new(Duration::from_millis(30), Duration::from_millis(20), kernel);
        assert_eq!(t.is_kernel(), kernel && cfg!(target_os = "linux"));
        let mut at = Vec::new();
        for _ in 0..4 {
            t.tick().await;
            at.push(start.elapsed());
        }
        at
    }

    #[tokio::test]
    async fn first_tick_after_the_delay_then_every_period() {
        for kernel in [true, false] {
            let at = ticks(kernel).await;
            for (k, t) in at.iter().enumerate() {
                let due = Duration::from_millis(30 + 20 * k as u64);
                assert!(*t >= due, "kernel {kernel}: tick {k} at {t:?}, due {due:?}");
                assert!(
                    *t < due + Duration::from_millis(15),
                    "kernel {kernel}: tick {k} at {t:?}, due {due:?}"
                );
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_slow_consumer_skips_ticks_and_keeps_the_phase() {
        let start = Instant::now();
        let mut t = Ticker::new(Duration::from_millis(10), Duration::from_millis(20), true);
        t.tick().await;
        // Miss two ticks (due at 30 and 50 ms).
        std::thread::sleep(Duration::from_millis(55));
        t.tick().await; // the missed ones, at once
        let late = start.elapsed();
        assert!(late < Duration::from_millis(68), "{late:?}");
        t.tick().await; // back on the phase: 70 ms
        let next = start.elapsed();
        assert!(next >= Duration::from_millis(70), "{next:?}");
        assert!(next < Duration::from_millis(85), "{next:?}");
    }
}
