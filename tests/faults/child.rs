//! Running a role of this test binary in a child process.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Environment variable naming the data directory of a child role.
pub const ENV_DIR: &str = "PROMLITE_FAULTS_DIR";
/// Environment variable with an extra argument for a child role.
pub const ENV_ARG: &str = "PROMLITE_FAULTS_ARG";

/// Spawns this test binary running only the test `name` (a child role that
/// does nothing unless [`ENV_DIR`] is set), stdout piped.
pub fn spawn(name: &str, dir: &Path, arg: &str) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV_DIR, dir)
        .env(ENV_ARG, arg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// The child's data directory and argument, or `None` in a normal test run.
pub fn role() -> Option<(String, String)> {
    let dir = std::env::var(ENV_DIR).ok()?;
    let arg = std::env::var(ENV_ARG).unwrap_or_default();
    Some((dir, arg))
}

/// A small seeded xorshift generator (reproducible kill moments).
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `[0, n)` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A field of `/proc/<pid>/status` in bytes (`VmRSS`, `VmHWM`); `pid` may
/// be `self`.
pub fn status_bytes(pid: &str, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .expect("status field")
}
