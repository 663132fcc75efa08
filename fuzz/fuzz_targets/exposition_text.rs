//! Fuzz target `exposition_text`: see `promlite_fuzz::exposition` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("exposition_text", data);
});
