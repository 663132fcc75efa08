//! Fuzz target `openmetrics_import`: see `promlite_fuzz::import` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("openmetrics_import", data);
});
