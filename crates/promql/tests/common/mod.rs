//! Shared helper of the scenario tests: run a script, require every case to pass.

use promlite_promql::promqltest::{conformance_engine, run_script};

/// Runs `script` with the conformance engine settings and fails the test
/// with every failing case's message.
pub fn assert_script(script: &str) {
    let results = run_script(script, &conformance_engine());
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("line {}: {e}", r.line)))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(!results.is_empty());
}
