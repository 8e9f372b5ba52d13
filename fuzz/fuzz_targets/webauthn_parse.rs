//! Fuzz target `webauthn_parse`: see `planasonix_fuzz::core_checks::webauthn_parse` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| planasonix_fuzz::core_checks::webauthn_parse(data));
