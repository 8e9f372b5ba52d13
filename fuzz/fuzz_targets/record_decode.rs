//! Fuzz target `record_decode`: see `planasonix_fuzz::core_checks::record_decode` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| planasonix_fuzz::core_checks::record_decode(data));
