//! `planasonix doctor` reads PAM files as libpam joins their lines. Each
//! case is a `login` stack judged twice: by the doctor with the module in
//! it, and by real libpam (pamtester) with `pam_deny.so` in the module's
//! place. Where the doctor says "protected", the deny must have run; the
//! cases that fooled it before (a `\` before a `#`, a comment or blank line
//! inside a continuation) must not be "protected" where libpam skips it.
//!
//! libpam here is Debian 12's 1.5.2, which skips a comment or blank line
//! inside a continuation; 1.6 and newer end the rule there (the doctor
//! reports the worse of the two, see pam_parse.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use std::process::Command;

/// (what, the stack with MODULE for the module, the doctor's verdict).
const CASES: &[(&str, &str, &str)] = &[
    (
        "the module on its own line",
        "auth requisite pam_permit.so\nauth required MODULE\n",
        "protected",
    ),
    (
        "a continuation libpam joins",
        "auth requisite pam_permit.so\nauth required \\\n    MODULE\n",
        "protected",
    ),
    (
        "a comment line inside a continuation",
        "auth required pam_permit.so \\\n# then the second factor\nauth required MODULE\n",
        "not-protected",
    ),
    (
        "a blank line inside a continuation",
        "auth required pam_permit.so \\\n\nauth required MODULE\n",
        "not-protected",
    ),
    (
        "a `\\` before a comment",
        "auth requisite pam_permit.so \\ # the first factor\nauth sufficient pam_permit.so\nauth required MODULE\n",
        "not-protected",
    ),
    (
        "a comment after a `\\` on the same line",
        "auth requisite pam_permit.so # note \\\nauth required MODULE\n",
        "protected",
    ),
];

/// The doctor's verdict on `login` in `dir`.
fn doctor_verdict(dir: &std::path::Path) -> (String, serde_json::Value) {
    let out = Command::new(cli_bin())
        .arg("--json")
        .arg("doctor")
        .arg("--pam-dir")
        .arg(dir)
        .arg("--sshd-config")
        .arg(dir.join("no-sshd_config"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let login = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "login")
        .unwrap()
        .clone();
    (login["verdict"].as_str().unwrap().to_owned(), login)
}

/// Whether real libpam authenticates `login` in `dir` (pamtester).
fn libpam_lets_in(dir: &std::path::Path) -> (bool, String) {
    let mut cmd = Command::new("pamtester");
    cmd.args(["-v", "login", "nobody", "authenticate"]);
    pam_wrapper::wrap(&mut cmd, dir);
    run_wrapped(&mut cmd, "", "pamtester and libpam-wrapper are required")
}

/// Whether this host's libpam is 1.5 or older (Debian's package version).
fn libpam_joins_across_comments() -> bool {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", "libpam0g"])
        .output();
    matches!(out, Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("1.5"))
}

#[test]
fn the_doctor_joins_lines_as_libpam_does() {
    let scratch = planasonix_testkit::TempDir::new("pam-it-doctor-lines");
    for (i, (what, stack, expected)) in CASES.iter().enumerate() {
        let doctor_dir = scratch.path().join(format!("{i}-doctor"));
        let libpam_dir = scratch.path().join(format!("{i}-libpam"));
        for dir in [&doctor_dir, &libpam_dir] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(
            doctor_dir.join("login"),
            stack.replace("MODULE", "pam_planasonix.so"),
        )
        .unwrap();
        std::fs::write(
            libpam_dir.join("login"),
            stack.replace("MODULE", "pam_deny.so"),
        )
        .unwrap();

        let (verdict, report) = doctor_verdict(&doctor_dir);
        let (let_in, said) = libpam_lets_in(&libpam_dir);
        assert_eq!(verdict, *expected, "{what}: {report:#}");
        if verdict == "protected" {
            assert!(
                !let_in,
                "{what}: the doctor says protected, but libpam let the login in without the module:\n{said}"
            );
        }
        // The cases that fooled the doctor fool libpam 1.5 (here) into
        // skipping the module; 1.6 and newer skip it only after a `\ #`.
        if *expected == "not-protected" && (libpam_joins_across_comments() || what.contains('#')) {
            assert!(
                let_in,
                "{what}: libpam ran the module, so this case shows nothing:\n{said}"
            );
        }
    }
}
