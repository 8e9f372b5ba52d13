//! Fuzz target `code_input`: see `planasonix_fuzz::core_checks::code_input` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| planasonix_fuzz::core_checks::code_input(data));
