//! Fuzz target `wal_record_decode`: see `promlite_fuzz::wal_record_decode` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("wal_record_decode", data);
});
