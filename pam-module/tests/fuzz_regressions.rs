//! Replays every committed input of the `pam_conversation` fuzz target (the
//! seed corpus `fuzz/seeds/pam_conversation/` and the crash inputs
//! `fuzz/regressions/pam_conversation/`) through the target's own check,
//! included by path. See fuzz/README.md; the core's targets are replayed by
//! core/tests/fuzz_regressions.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/src/pam_checks.rs"]
mod pam_checks;

use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

/// Every file under `fuzz/{seeds,regressions}/pam_conversation/`, sorted.
fn inputs() -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(fuzz.join(kind).join("pam_conversation")) else {
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

#[test]
fn pam_conversation() {
    let files = inputs();
    assert!(
        !files.is_empty(),
        "no inputs under fuzz/seeds/pam_conversation"
    );
    let failed: Vec<String> = files
        .iter()
        .filter(|file| {
            let data = std::fs::read(file).unwrap();
            catch_unwind(|| pam_checks::pam_conversation(&data)).is_err()
        })
        .map(|file| file.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "pam_conversation panicked on {failed:#?}"
    );
}

#[test]
fn the_fixture_knows_the_right_answers() {
    // The check asserts verdicts against these; they must be real codes.
    let fx = pam_checks::fixture().unwrap();
    assert_eq!(fx.alice_fresh.len(), 1);
    assert_eq!(fx.alice_sms.len(), 8);
    assert_eq!(fx.alice_recovery.len(), 11);
    // The right answers pass through the check without tripping it.
    for (prompt, answer) in [
        (0u8, fx.alice_fresh[0].as_str()),
        (0, fx.alice_sms.as_str()),
        (0, fx.alice_recovery.as_str()),
        (0, fx.alice_replayed[0].as_str()),
        (1, fx.bob_confirm[1].as_str()),
        (2, " Yes "),
    ] {
        let mut data = vec![prompt];
        data.extend_from_slice(answer.as_bytes());
        pam_checks::pam_conversation(&data);
    }
}
