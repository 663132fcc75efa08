//! Fuzz target `api_params`: see `promlite_fuzz::api_params` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("api_params", data);
});
