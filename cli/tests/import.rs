//! Taking over google-authenticator and pam_oath secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use planasonix_core::{Factor, Verification};
use std::process::Command;

fn accepted(v: &Verification) -> bool {
    matches!(v, Verification::Accepted { .. })
}

fn replayed(v: &Verification) -> bool {
    matches!(v, Verification::Replayed { .. })
}

fn unix_now() -> u64 {
    planasonix_native::now().0
}

/// Waits, when the current 30-second step is about to end, for the next one:
/// the import and the codes a test computes then share one step.
fn early_in_a_step() {
    let into = unix_now() % 30;
    if into > 20 {
        std::thread::sleep(std::time::Duration::from_secs(31 - into));
    }
}

/// The TOTP code for a base32 secret `steps` time steps from now, from `oathtool`.
fn oathtool_at(secret: &str, digits: u32, steps: u64) -> String {
    require_tool("oathtool", "oathtool");
    let out = Command::new("oathtool")
        .args(["--totp", &format!("--digits={digits}"), "-b", secret])
        .arg(format!("--now=@{}", unix_now() + 30 * steps))
        .output()
        .unwrap();
    assert!(out.status.success(), "oathtool: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

/// A google-authenticator file for `secret`, owned by root, mode `mode`.
fn ga_file(host: &Layout, name: &str, mode: u32) -> std::path::PathBuf {
    let file = host.root.join(name);
    std::fs::write(&file, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n").unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    file
}

fn chown(user: &str, path: &std::path::Path) {
    crate::common::accounts::ensure(user);
    assert!(Command::new("chown")
        .arg(user)
        .arg(path)
        .status()
        .unwrap()
        .success());
}

fn nobody_enrolled(host: &Layout) -> bool {
    text(&host.run(&["admin", "list", "--json"], "").stdout).trim() == "[]"
}

#[test]
fn imports_a_file_written_by_google_authenticator() {
    require_tool("google-authenticator", "libpam-google-authenticator");
    let host = Layout::init("import-ga");
    let file = host.root.join("google_authenticator");
    let made = Command::new("google-authenticator")
        .args([
            "--time-based",
            "--disallow-reuse",
            "--force",
            "--no-confirm",
            "--quiet",
            "--qr-mode=NONE",
        ])
        .args([
            "--rate-limit=3",
            "--rate-time=30",
            "--window-size=3",
            "--emergency-codes=5",
        ])
        .arg(format!("--secret={}", file.display()))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "google-authenticator failed: {}",
        text(&made.stderr)
    );
    let content = std::fs::read_to_string(&file).unwrap();
    let secret = content.lines().next().unwrap().to_owned();

    early_in_a_step();
    let out = host.run(
        &[
            "import",
            "google-authenticator",
            "--user",
            "alice",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("taken: TOTP secret (SHA1, 6 digits, every 30 seconds)"),
        "{stdout}"
    );
    assert!(stdout.contains("not taken: WINDOW_SIZE"), "{stdout}");
    assert!(stdout.contains("not taken: RATE_LIMIT"), "{stdout}");
    assert!(
        stdout.contains("5 scratch codes imported as recovery codes"),
        "{stdout}"
    );
    // The scratch codes are the recovery codes: no fresh ones are printed.
    assert!(recovery_codes(&stdout).is_empty(), "{stdout}");
    assert!(!stdout.contains("Recovery codes for"), "{stdout}");
    let scratch: Vec<&str> = content
        .lines()
        .skip(1)
        .filter(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert_eq!(scratch.len(), 5, "{content}");
    let status = json(&host.run(&["status", "--user", "alice", "--json"], ""));
    assert_eq!(status["recovery_remaining"], 5, "{status}");

    // The code of this step may have just been used with the old module: a
    // replay. The app's next code verifies, once.
    assert!(
        replayed(&verify(&host, "alice", &oathtool(&secret))),
        "the current code right after the import"
    );
    let code = oathtool_at(&secret, 6, 1);
    assert!(
        accepted(&verify(&host, "alice", &code)),
        "oathtool's next code for the imported secret"
    );
    assert!(replayed(&verify(&host, "alice", &code)));
    // Each scratch code works exactly once at the login prompt.
    for (i, c) in scratch.iter().enumerate() {
        assert_eq!(
            verify(&host, "alice", c),
            Verification::Accepted {
                factor: Factor::Recovery,
                recovery_remaining: (4 - i) as u32,
            },
            "scratch code {i}, first use"
        );
        assert!(
            matches!(
                verify(&host, "alice", c),
                Verification::RecoveryCodeSpent { .. }
            ),
            "scratch code {i}, second use"
        );
    }
    let status = json(&host.run(&["status", "--user", "alice", "--json"], ""));
    assert_eq!(status["recovery_remaining"], 0, "{status}");

    // A second import does not silently replace the app.
    let out = host.run(
        &[
            "import",
            "google-authenticator",
            "--user",
            "alice",
            file.to_str().unwrap(),
        ],
        "",
    );
    let line = fails_with(&out, 1);
    assert!(line.contains("already has an authenticator app"), "{line}");
}

#[test]
fn without_scratch_codes_fresh_recovery_codes_are_issued() {
    require_tool("google-authenticator", "libpam-google-authenticator");
    let host = Layout::init("import-ga-none");
    let file = host.root.join("google_authenticator");
    let made = Command::new("google-authenticator")
        .args([
            "--time-based",
            "--force",
            "--no-confirm",
            "--quiet",
            "--qr-mode=NONE",
            "--disallow-reuse",
            "--rate-limit=3",
            "--rate-time=30",
            "--window-size=3",
            "--emergency-codes=0",
        ])
        .arg(format!("--secret={}", file.display()))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "google-authenticator failed: {}",
        text(&made.stderr)
    );
    let out = host.run(
        &[
            "import",
            "google-authenticator",
            "--user",
            "bob",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("scratch"), "{stdout}");
    let codes = recovery_codes(&stdout);
    assert_eq!(codes.len(), 10, "{stdout}");
    for c in codes.iter().take(2) {
        assert!(matches!(
            verify(&host, "bob", c),
            Verification::Accepted {
                factor: Factor::Recovery,
                ..
            }
        ));
        assert!(matches!(
            verify(&host, "bob", c),
            Verification::RecoveryCodeSpent { .. }
        ));
    }
}

#[test]
fn refuses_counter_based_google_authenticator_files() {
    let host = Layout::init("import-ga-hotp");
    let file = host.root.join("ga");
    std::fs::write(
        &file,
        "VRFUKCO6TCFC5QCRTNYKZQRS7Y\n\" HOTP_COUNTER 1\n12345678\n",
    )
    .unwrap();
    let line = fails_with(
        &host.run(
            &[
                "import",
                "google-authenticator",
                "--user",
                "bob",
                file.to_str().unwrap(),
            ],
            "",
        ),
        1,
    );
    assert!(line.contains("line 2"), "{line}");
    assert!(line.contains("HOTP"), "{line}");
    assert_eq!(
        text(&host.run(&["admin", "list", "--json"], "").stdout).trim(),
        "[]"
    );
}

#[test]
fn imports_time_based_entries_of_a_pam_oath_users_file() {
    let host = Layout::init("import-oath");
    let file = host.root.join("users.oath");
    std::fs::write(
        &file,
        "# pam_oath users\n\
         HOTP/T30 alice - 3132333435363738393031323334353637383930\n\
         HOTP/T30/8 bob 1234 3132333435363738393031323334353637383930 0 12345678 2026-01-01T00:00:00L\n\
         HOTP carol - 3132333435363738393031323334353637383930\n\
         HOTP/T30 dave - 12zz\n",
    )
    .unwrap();
    early_in_a_step();
    let out = host.run(&["import", "oath-usersfile", file.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("taken: alice (line 2: time-based, 6 digits, every 30 seconds)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "taken: bob (line 3: time-based, 8 digits, every 30 seconds); its PIN is not kept"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("not taken: carol (line 4): counter-based"),
        "{stdout}"
    );
    assert!(stdout.contains("not taken: dave (line 5)"), "{stdout}");
    assert_eq!(recovery_codes(&stdout).len(), 20);

    // RFC 6238's SHA1 key "12345678901234567890", in base32 for oathtool.
    // The current codes may have been used with pam_oath: replays; the next work.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert!(replayed(&verify(&host, "alice", &oathtool(secret))));
    assert!(accepted(&verify(
        &host,
        "alice",
        &oathtool_at(secret, 6, 1)
    )));
    assert!(replayed(&verify(&host, "bob", &oathtool_at(secret, 8, 0))));
    assert!(accepted(&verify(&host, "bob", &oathtool_at(secret, 8, 1))));
}

#[test]
fn symbolic_links_and_files_others_own_or_may_write_are_refused() {
    let host = Layout::init("import-unsafe");
    let real = ga_file(&host, "ga", 0o600);
    let link = host.root.join("ga-link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let import = |file: &std::path::Path| {
        host.run(
            &[
                "import",
                "google-authenticator",
                "--user",
                "alice",
                file.to_str().unwrap(),
            ],
            "",
        )
    };
    let line = fails_with(&import(&link), 3);
    assert!(line.contains("symbolic link"), "{line}");

    // Owned by someone who is neither root nor alice: they chose the secret.
    let frank = ga_file(&host, "ga-frank", 0o600);
    chown("frank", &frank);
    let line = fails_with(&import(&frank), 3);
    assert!(line.contains("neither root nor alice"), "{line}");

    let writable = ga_file(&host, "ga-writable", 0o666);
    let line = fails_with(&import(&writable), 3);
    assert!(line.contains("0666"), "{line}");

    // The same for a pam_oath users file: root's (or the admin's) only.
    let oath = host.root.join("users.oath");
    std::fs::write(
        &oath,
        "HOTP/T30 alice - 3132333435363738393031323334353637383930\n",
    )
    .unwrap();
    chown("frank", &oath);
    let line = fails_with(
        &host.run(&["import", "oath-usersfile", oath.to_str().unwrap()], ""),
        3,
    );
    assert!(line.contains("neither root nor you"), "{line}");
    let oath_link = host.root.join("users.oath-link");
    std::os::unix::fs::symlink(&oath, &oath_link).unwrap();
    let line = fails_with(
        &host.run(
            &["import", "oath-usersfile", oath_link.to_str().unwrap()],
            "",
        ),
        3,
    );
    assert!(line.contains("symbolic link"), "{line}");
    assert!(nobody_enrolled(&host));
}

#[test]
fn without_user_the_file_must_be_the_invokers_and_sudo_needs_user() {
    let host = Layout::init("import-whose");
    // Run through sudo by an admin: never enroll the admin by default.
    let file = ga_file(&host, "ga", 0o600);
    let out = run_with_stdin(
        host.command(&["import", "google-authenticator", file.to_str().unwrap()])
            .env("SUDO_USER", "carol")
            .env("USER", "root"),
        "",
    );
    let line = fails_with(&out, 2);
    assert!(line.contains("--user"), "{line}");
    assert!(line.contains("sudo"), "{line}");
    assert!(nobody_enrolled(&host));

    // Without sudo and without --user, the target is the invoker, and the
    // file must be theirs: root's file does not enroll dave.
    let out = run_with_stdin(
        host.command(&["import", "google-authenticator", file.to_str().unwrap()])
            .env_remove("SUDO_USER")
            .env("USER", "dave"),
        "",
    );
    let line = fails_with(&out, 2);
    assert!(line.contains("pass --user"), "{line}");
    assert!(nobody_enrolled(&host));

    // dave's own file, run as dave would: taken for dave.
    chown("dave", &file);
    let out = run_with_stdin(
        host.command(&["import", "google-authenticator", file.to_str().unwrap()])
            .env_remove("SUDO_USER")
            .env("USER", "dave"),
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("for dave"),
        "{}",
        text(&out.stdout)
    );

    // With --user, a root-owned file for that user is fine.
    let root_file = ga_file(&host, "ga-root", 0o600);
    let out = run_with_stdin(
        host.command(&[
            "import",
            "google-authenticator",
            "--user",
            "erin",
            root_file.to_str().unwrap(),
        ])
        .env("SUDO_USER", "carol"),
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn lockout_is_lifted_by_admin_unlock() {
    let host = Layout::init("unlock");
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let out = host.run(
        &["admin", "provision-totp", "erin", "--secret", "-"],
        &format!("{secret}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let right: u32 = oathtool(secret).parse().unwrap();
    let wrong = format!("{:06}", (right + 500_000) % 1_000_000);
    let mut locked = false;
    for _ in 0..5 {
        locked = matches!(verify(&host, "erin", &wrong), Verification::Locked { .. });
    }
    // Five failures from one address lock that address out (the user-wide
    // lock needs max_failures_all_remotes); the right code from there is
    // refused until an admin unlocks.
    assert!(locked, "five failures lock under the default policy");
    assert!(matches!(
        verify(&host, "erin", &oathtool(secret)),
        Verification::Locked { .. }
    ));

    let out = host.run(&["admin", "unlock", "erin"], "");
    assert_eq!(out.status.code(), Some(0));
    let status = json(&host.run(&["status", "--user", "erin", "--json"], ""));
    assert!(status["locked_until"].is_null(), "{status}");
    assert!(accepted(&verify(&host, "erin", &oathtool(secret))));
}
