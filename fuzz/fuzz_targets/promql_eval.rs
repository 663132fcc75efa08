//! Fuzz target `promql_eval`: see `promlite_fuzz::promql_eval` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("promql_eval", data);
});
