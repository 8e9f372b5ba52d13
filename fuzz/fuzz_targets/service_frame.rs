//! Fuzz target `service_frame`: see `planasonix_fuzz::native_checks::service_frame` and fuzz/README.md.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| planasonix_fuzz::native_checks::service_frame(data));
