//! Fuzz target `pam_conversation`: see `planasonix_fuzz::pam_checks` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| planasonix_fuzz::pam_checks::pam_conversation(data));
