//! Replays every committed fuzz input through the fuzz targets' own checks:
//! the seed corpus (`fuzz/seeds/<target>/`) and every input that once crashed
//! a target (`fuzz/regressions/<target>/`). The checks are the fuzz crate's
//! source, included by path, so no nightly toolchain or libFuzzer is needed.
//! See fuzz/README.md. The PAM module's target is replayed by
//! pam-module/tests/fuzz_regressions.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/core_checks.rs"]
mod core_checks;

use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

/// Every file under `fuzz/{seeds,regressions}/<target>/`, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs `check` on every input of `target`; fails naming each input that panicked.
fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no inputs for {target} under fuzz/seeds");
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).unwrap();
            catch_unwind(|| check(&data)).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target} panicked on {failed:#?}");
}

#[test]
fn policy_parse() {
    replay("policy_parse", core_checks::policy_parse);
}

#[test]
fn code_input() {
    replay("code_input", core_checks::code_input);
}

#[test]
fn record_decode() {
    replay("record_decode", core_checks::record_decode);
}
