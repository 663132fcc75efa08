//! A criterion [`Measurement`] of process CPU time
//! (`CLOCK_PROCESS_CPUTIME_ID`: every thread of the bench process, the
//! WAL's background group-commit thread included), and a `main` helper that
//! picks it when `PROMLITE_BENCH_CPU` is set.
//!
//! On the shared 2-core machine, wall time stretches with other people's
//! builds; CPU time barely does, so it is the figure to compare against
//! the anchors when the load average is high. It does not count time spent
//! waiting (fsync, locks held by a descheduled thread), so I/O-bound
//! benches are reported in wall time as well.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::Criterion;

/// Process CPU time, in nanoseconds.
pub struct ProcessCpuTime;

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

static WALL: WallTime = WallTime;

impl Measurement for ProcessCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        now_ns()
    }
    fn end(&self, start: u64) -> u64 {
        now_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, as for wall time: reuse its units.
        WALL.formatter()
    }
}

/// True if `PROMLITE_BENCH_CPU` asks for CPU time instead of wall time.
pub fn cpu_mode() -> bool {
    std::env::var_os("PROMLITE_BENCH_CPU").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs `wall` or `cpu` (the same generic bench function) under the chosen
/// measurement, with criterion's command-line configuration.
pub fn run(wall: fn(&mut Criterion<WallTime>), cpu: fn(&mut Criterion<ProcessCpuTime>)) {
    if cpu_mode() {
        eprintln!("measuring process CPU time (PROMLITE_BENCH_CPU)");
        let mut c = Criterion::default()
            .with_measurement(ProcessCpuTime)
            .configure_from_args();
        cpu(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::default().configure_from_args();
        wall(&mut c);
        c.final_summary();
    }
}
