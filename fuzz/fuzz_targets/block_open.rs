//! Fuzz target `block_open`: see `promlite_fuzz::block_open` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("block_open", data);
});
