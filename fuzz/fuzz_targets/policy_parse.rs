//! Fuzz target `policy_parse`: see `planasonix_fuzz::core_checks::policy_parse` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| planasonix_fuzz::core_checks::policy_parse(data));
