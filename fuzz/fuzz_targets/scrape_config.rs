//! Fuzz target `scrape_config`: see `promlite_fuzz::scrape_config` and docs/fuzzing.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    promlite_fuzz::run_target("scrape_config", data);
});
