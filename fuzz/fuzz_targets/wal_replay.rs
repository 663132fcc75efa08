//! Fuzz target `wal_replay`: see `promlite_fuzz::wal_replay` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("wal_replay", data);
});
