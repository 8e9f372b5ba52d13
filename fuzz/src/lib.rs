//! The checks behind the fuzz targets in `fuzz_targets/`, one function per
//! target, each taking the raw fuzzer input.
//!
//! The same files are compiled into the replay tests
//! (`core/tests/fuzz_regressions.rs`, `native/tests/fuzz_regressions.rs`,
//! `pam-module/tests/fuzz_regressions.rs`)
//! with `#[path]`, so a crash input saved under `regressions/` is replayed
//! through exactly the code that found it, by a plain `cargo test`.

pub mod core_checks;
pub mod native_checks;
pub mod pam_checks;
