//! Process and disk measurements: CPU ticks from `/proc/<pid>/stat`, RSS and
//! peak RSS from `/proc/<pid>/status`, `wait4` resource usage for commands
//! that run to completion, and apparent directory sizes.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;

/// Clock ticks per second of `/proc/<pid>/stat`.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Parses utime+stime (seconds) out of the text of `/proc/<pid>/stat`.
pub fn parse_stat_cpu(stat: &str, ticks: f64) -> Option<f64> {
    // The command name (field 2) may contain spaces; fields after `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks)
}

/// CPU seconds (user + system) used so far by process `pid`.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_stat_cpu(&stat, ticks_per_second()).context("unparsable /proc/<pid>/stat")
}

/// Reads a `kB` field (e.g. `VmRSS`, `VmHWM`) of `/proc/<pid>/status`, in bytes.
pub fn status_bytes(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_kb(&status, field)
        .map(|kb| kb * 1024)
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Parses `field:   123 kB` out of a `/proc/<pid>/status` text.
pub fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// What a command that ran to completion cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunCost {
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// User + system CPU seconds of the process (and its waited children).
    pub cpu_s: f64,
    /// Peak RSS in bytes.
    pub max_rss: u64,
}

/// Runs `cmd` to completion (stdout/stderr to `log`), measuring it with `wait4`.
pub fn run_measured(cmd: &mut Command, log: &Path) -> anyhow::Result<RunCost> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    let start = Instant::now();
    let child = cmd
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own un-reaped child; pointers are valid.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_s = start.elapsed().as_secs_f64();
    // The child is reaped; dropping the handle does not wait again.
    drop(child);
    anyhow::ensure!(r == pid, "wait4 failed for {cmd:?}");
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    anyhow::ensure!(ok, "{cmd:?} failed (status {status}); see {log:?}");
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(RunCost {
        wall_s,
        cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss: usage.ru_maxrss.max(0) as u64 * 1024,
    })
}

/// Apparent size in bytes of all files under `dir` (like `du -sb`), and of
/// those under sub-directories whose name is in `only` (if non-empty).
pub fn dir_bytes(dir: &Path, only: &[&str]) -> u64 {
    fn walk(p: &Path, only: &[&str], inside: bool, total: &mut u64) {
        let Ok(entries) = std::fs::read_dir(p) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                let name = e.file_name();
                let hit = inside || only.iter().any(|o| name.to_str() == Some(*o));
                walk(&e.path(), only, hit, total);
            } else if inside || only.is_empty() {
                *total += md.len();
            }
        }
    }
    let mut total = 0;
    walk(dir, only, only.is_empty(), &mut total);
    total
}

/// The current `/proc/loadavg` line.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// A running server process and its CPU/RSS readings.
#[derive(Debug)]
pub struct Probe {
    /// The process id.
    pub pid: u32,
    cpu_start: f64,
    started: Instant,
}

impl Probe {
    /// Starts measuring `pid` from now.
    pub fn new(pid: u32) -> anyhow::Result<Self> {
        Ok(Probe {
            pid,
            cpu_start: cpu_seconds(pid)?,
            started: Instant::now(),
        })
    }

    /// CPU seconds used since [`Probe::new`].
    pub fn cpu(&self) -> f64 {
        cpu_seconds(self.pid).map_or(0.0, |c| c - self.cpu_start)
    }

    /// Wall time since [`Probe::new`].
    pub fn wall(&self) -> Duration {
        self.started.elapsed()
    }

    /// Current RSS in bytes.
    pub fn rss(&self) -> u64 {
        status_bytes(self.pid, "VmRSS").unwrap_or(0)
    }

    /// Peak RSS in bytes.
    pub fn hwm(&self) -> u64 {
        status_bytes(self.pid, "VmHWM").unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_texts() {
        let stat = "123 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(parse_stat_cpu(stat, 100.0), Some(3.0));
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(parse_status_kb(status, "VmRSS"), Some(1024));
        assert_eq!(parse_status_kb(status, "VmHWM"), Some(2048));
        assert_eq!(parse_status_kb(status, "VmSwap"), None);
    }

    #[test]
    fn measures_own_process_and_dirs() {
        let me = std::process::id();
        assert!(cpu_seconds(me).is_ok());
        assert!(status_bytes(me, "VmRSS").unwrap() > 0);
        let dir = std::env::temp_dir().join(format!("compare-du-{me}"));
        std::fs::create_dir_all(dir.join("wal")).unwrap();
        std::fs::write(dir.join("a"), [0u8; 10]).unwrap();
        std::fs::write(dir.join("wal").join("b"), [0u8; 5]).unwrap();
        assert_eq!(dir_bytes(&dir, &[]), 15);
        assert_eq!(dir_bytes(&dir, &["wal"]), 5);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
