//! Fuzz target `chunk_decode`: see `promlite_fuzz::chunk_decode` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("chunk_decode", data);
});
