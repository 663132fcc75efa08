//! Process metrics (`process_*`, as Prometheus's client library exports
//! them) read from Linux's `/proc`. On other systems, or when a file cannot
//! be read, the affected metrics are left out rather than reported as 0.

use promlite_http::self_metrics::FamilyWriter;

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, fixed at
/// 100 in the Linux user-space ABI).
const USER_HZ: f64 = 100.0;

/// Numbers about this process.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// User + system CPU time, seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident set size, bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory size, bytes.
    pub virtual_bytes: Option<u64>,
    /// Process start, seconds since the epoch.
    pub start_time_seconds: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit of open file descriptors.
    pub max_fds: Option<u64>,
}

/// Fields of a `/proc/<pid>/stat` line after the command name: the name is
/// in parentheses and may itself contain spaces and parentheses, so split
/// after the last `)`. Index 0 is field 3 (`state`) of proc(5).
fn stat_fields(stat: &str) -> Vec<&str> {
    match stat.rfind(')') {
        Some(i) => stat.get(i + 1..).unwrap_or("").split_whitespace().collect(),
        None => Vec::new(),
    }
}

fn field<T: std::str::FromStr>(fields: &[&str], proc5_number: usize) -> Option<T> {
    fields.get(proc5_number.checked_sub(3)?)?.parse().ok()
}

/// Parses `/proc/<pid>/stat` (CPU, start ticks, virtual size) and
/// `/proc/<pid>/status` (`VmRSS`), `/proc/stat` (`btime`) and
/// `/proc/<pid>/limits` text.
pub fn parse(stat: &str, status: &str, proc_stat: &str, limits: &str) -> ProcessStats {
    let f = stat_fields(stat);
    let utime: Option<u64> = field(&f, 14);
    let stime: Option<u64> = field(&f, 15);
    let start_ticks: Option<u64> = field(&f, 22);
    let btime: Option<u64> = proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok());
    let rss_kb: Option<u64> = status.lines().find_map(|l| {
        let rest = l.strip_prefix("VmRSS:")?;
        rest.split_whitespace().next()?.parse().ok()
    });
    let max_fds = limits.lines().find_map(|l| {
        let rest = l.strip_prefix("Max open files")?;
        rest.split_whitespace().next()?.parse().ok()
    });
    ProcessStats {
        cpu_seconds: match (utime, stime) {
            (Some(u), Some(s)) => Some(u.saturating_add(s) as f64 / USER_HZ),
            _ => None,
        },
        resident_bytes: rss_kb.map(|k| k.saturating_mul(1024)),
        virtual_bytes: field(&f, 23),
        start_time_seconds: match (btime, start_ticks) {
            (Some(b), Some(t)) => Some(b as f64 + t as f64 / USER_HZ),
            _ => None,
        },
        open_fds: None,
        max_fds,
    }
}

/// Reads this process's numbers from `/proc/self`.
pub fn read() -> ProcessStats {
    let r = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let mut s = parse(
        &r("/proc/self/stat"),
        &r("/proc/self/status"),
        &r("/proc/stat"),
        &r("/proc/self/limits"),
    );
    s.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    s
}

/// Writes the `process_*` families that could be read.
pub fn write_process_metrics(out: &mut String) {
    let s = read();
    let families: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            s.cpu_seconds,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            s.resident_bytes.map(|v| v as f64),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            s.virtual_bytes.map(|v| v as f64),
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            s.start_time_seconds,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            s.open_fds.map(|v| v as f64),
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            s.max_fds.map(|v| v as f64),
        ),
    ];
    for (name, typ, help, v) in families {
        if let Some(v) = v {
            FamilyWriter::new(out, name, typ, help).sample(&[], v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files_with_an_awkward_command_name() {
        let stat = "4242 (pr (o) m) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    250 130 0 0 20 0 12 0 98765 123456789 2048 18446744073709551615";
        let status = "Name:\tpromlite\nVmPeak:\t  200000 kB\nVmRSS:\t    8192 kB\n";
        let proc_stat = "cpu  1 2 3\nbtime 1700000000\nprocesses 10\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        let s = parse(stat, status, proc_stat, limits);
        assert_eq!(s.cpu_seconds, Some(3.8));
        assert_eq!(s.resident_bytes, Some(8192 * 1024));
        assert_eq!(s.virtual_bytes, Some(123_456_789));
        assert_eq!(s.start_time_seconds, Some(1_700_000_000.0 + 987.65));
        assert_eq!(s.max_fds, Some(1024));
    }

    #[test]
    fn garbage_yields_nothing() {
        assert_eq!(parse("", "", "", ""), ProcessStats::default());
        assert_eq!(
            parse("no parens here", "VmRSS: lots", "btime x", ""),
            ProcessStats::default()
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let s = read();
        assert!(s.resident_bytes.unwrap_or(0) > 0, "{s:?}");
        assert!(s.open_fds.unwrap_or(0) > 0, "{s:?}");
        assert!(s.start_time_seconds.unwrap_or(0.0) > 1.0e9, "{s:?}");
    }
}
