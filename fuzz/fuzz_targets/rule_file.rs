//! Fuzz target `rule_file`: see `promlite_fuzz::rule_file` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("rule_file", data);
});
