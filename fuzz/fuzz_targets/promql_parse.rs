//! Fuzz target `promql_parse`: see `promlite_fuzz::promql_parse` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("promql_parse", data);
});
