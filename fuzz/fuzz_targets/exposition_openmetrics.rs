//! Fuzz target `exposition_openmetrics`: see `promlite_fuzz::exposition` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("exposition_openmetrics", data);
});
