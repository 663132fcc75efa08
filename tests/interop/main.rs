//! Interoperability with the real Prometheus tools (Debian's `prometheus`,
//! `promtool`, `prometheus-node-exporter`). Each test prints
//! `skipped: <bin> not installed` and passes when a binary is missing,
//! unless `PROMLITE_REQUIRE_INTEROP=1`.

mod differential;
#[allow(dead_code)]
#[path = "../e2e/harness.rs"]
mod harness;
mod node_exporter;
mod self_metrics;

use std::path::PathBuf;

/// The path of `bin` on `PATH` (or Debian's `/usr/bin`), or `None` after
/// printing the skip notice (panics instead when interop is required).
pub fn require(bin: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(bin))
                .find(|f| f.is_file())
        })
        .unwrap_or(None);
    if found.is_none() {
        if std::env::var("PROMLITE_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{bin} not installed and PROMLITE_REQUIRE_INTEROP=1");
        }
        println!("skipped: {bin} not installed");
    }
    found
}
