//! `planasonix doctor` against PAM directories and sshd configurations made
//! in a temporary directory, with the real `sshd -T` reading them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test code: a failed step is a failed test.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SSHD: &str = "/usr/sbin/sshd";

/// Debian 12's common-auth, with the pam-auth-update profile enabled.
const COMMON_AUTH_PROFILE: &str = "\
# here are the per-package modules (the \"Primary\" block)
auth\t[success=1 default=ignore]\tpam_unix.so nullok
# here's the fallback if no module succeeds
auth\trequisite\t\t\tpam_deny.so
auth\trequired\t\t\tpam_permit.so
# and here are more per-package modules (the \"Additional\" block)
auth\trequired\t\t\tpam_planasonix.so
";

/// Debian 12's common-auth as installed.
const COMMON_AUTH: &str = "\
auth\t[success=1 default=ignore]\tpam_unix.so nullok
auth\trequisite\t\t\tpam_deny.so
auth\trequired\t\t\tpam_permit.so
";

const COMMON_ACCOUNT: &str = "\
account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so
account\trequisite\t\t\tpam_deny.so
account\trequired\t\t\tpam_permit.so
";

/// Debian 12's /etc/pam.d/sshd, shortened (the auth and account lines are its own).
const DEBIAN_SSHD: &str = "\
# PAM configuration for the Secure Shell service
@include common-auth
account    required     pam_nologin.so
@include common-account
session    required     pam_loginuid.so
@include common-session
@include common-password
";

/// Public keys only, as on a default Debian server.
const PUBKEY_ONLY: &str =
    "UsePAM yes\nKbdInteractiveAuthentication no\nPasswordAuthentication no\n";

/// EL 9's password-auth (authselect sssd profile).
const EL_PASSWORD_AUTH: &str = "\
auth        required      pam_env.so
auth        required      pam_faildelay.so delay=2000000
auth        [default=1 ignore=ignore success=ok] pam_usertype.so isregular
auth        [default=1 ignore=ignore success=ok] pam_localuser.so
auth        sufficient    pam_unix.so nullok
auth        [default=1 ignore=ignore success=ok] pam_usertype.so isregular
auth        sufficient    pam_sss.so forward_pass
auth        required      pam_deny.so

account     required      pam_unix.so
";

/// A PAM directory, an sshd configuration with its own host key, and the command.
struct Site {
    host: Layout,
}

impl Site {
    fn new(name: &str) -> Site {
        let host = Layout::empty(&format!("doctor-{name}"));
        std::fs::create_dir_all(host.root.join("pam.d")).unwrap();
        let site = Site { host };
        // What every Debian stack includes besides auth and account.
        site.pam("common-session", "session required pam_unix.so\n");
        site.pam("common-password", "password required pam_unix.so\n");
        site
    }

    fn pam(&self, name: &str, text: &str) -> &Site {
        std::fs::write(self.host.root.join("pam.d").join(name), text).unwrap();
        self
    }

    fn config(&self) -> PathBuf {
        self.host.root.join("sshd_config")
    }

    /// Writes sshd_config: a host key of its own, then `settings`.
    fn sshd(&self, settings: &str) -> &Site {
        let key = self.host.root.join("hostkey");
        if !key.exists() {
            assert!(
                Path::new(SSHD).exists(),
                "this test needs {SSHD}: install openssh-server"
            );
            // sshd -T refuses to run without its privilege-separation directory.
            std::fs::create_dir_all("/run/sshd").unwrap();
            let out = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&key)
                .output()
                .unwrap();
            assert!(out.status.success(), "ssh-keygen: {}", text(&out.stderr));
        }
        let text = format!("HostKey {}\n{settings}", key.display());
        std::fs::write(self.config(), text).unwrap();
        self
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("doctor")
            .arg("--pam-dir")
            .arg(self.host.root.join("pam.d"))
            .arg("--sshd-config")
            .arg(self.config())
            .args(args);
        run_with_stdin(&mut cmd, "")
    }

    /// The JSON report (whatever the exit status).
    fn report(&self) -> Value {
        let out = self.run(&["--json"]);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)))
    }
}

fn service<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report:#}"))
}

fn verdict<'a>(report: &'a Value, name: &str) -> &'a str {
    service(report, name)["verdict"].as_str().unwrap()
}

/// The findings of `name` with severity `severity` whose message contains `needle`.
fn finding<'a>(report: &'a Value, name: &str, severity: &str, needle: &str) -> &'a Value {
    let s = service(report, name);
    s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["severity"] == severity && f["message"].as_str().unwrap().contains(needle))
        .unwrap_or_else(|| panic!("{name}: no {severity} finding with {needle:?} in {s:#}"))
}

fn fix(f: &Value) -> &str {
    f["fix"].as_str().unwrap_or("")
}

#[test]
fn debian_default_sshd_with_the_profile_protects_no_ssh_login() {
    let site = Site::new("debian");
    site.pam("common-auth", COMMON_AUTH_PROFILE)
        .pam("common-account", COMMON_ACCOUNT)
        .pam("sshd", DEBIAN_SSHD)
        .pam("login", "@include common-auth\n@include common-account\n")
        .sshd(PUBKEY_ONLY);
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "not-protected", "{r:#}");
    let f = finding(&r, "sshd", "critical", "public-key logins");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("never run the PAM auth stack"));
    assert!(
        fix(f).contains("AuthenticationMethods publickey,keyboard-interactive"),
        "{f:#}"
    );
    assert!(
        fix(f).contains("account required pam_planasonix.so"),
        "{f:#}"
    );
    // The same common-auth does protect the console.
    assert_eq!(verdict(&r, "login"), "protected", "{r:#}");
    assert_eq!(verdict(&r, "sudo"), "not-configured");
    // Text: one block per service, the verdict first; exit 1 for the hole.
    let out = site.run(&[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("sshd: not-protected"), "{stdout}");
    assert!(stdout.contains("\nlogin: protected"), "{stdout}");
    assert!(
        stdout.contains("fix: set `AuthenticationMethods publickey,keyboard-interactive`"),
        "{stdout}"
    );
    assert_eq!(
        fails_with(&out, 1),
        "planasonix: not protected: sshd (see the report above)"
    );
}

#[test]
fn key_then_code_with_the_account_net_is_protected() {
    let site = Site::new("key-then-code");
    site.pam("common-auth", COMMON_AUTH)
        .pam("common-account", COMMON_ACCOUNT)
        .pam(
            "sshd",
            &format!("{DEBIAN_SSHD}auth required pam_planasonix.so\naccount required pam_planasonix.so\n"),
        )
        .sshd(
            "UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n\
             AuthenticationMethods publickey,keyboard-interactive\n",
        );
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "protected", "{r:#}");
    finding(&r, "sshd", "info", "keyboard-interactive");
    // Nothing else is configured, so nothing is not-protected: exit 0.
    let out = site.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(out.stderr.is_empty());
}

/// `sshd -T` alone prints the global settings, never a `Match` block's: a
/// block that lets some logins skip the code went unseen ("protected").
#[test]
fn a_match_block_that_skips_the_code_is_named() {
    let site = Site::new("match");
    let protected = "UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n\
                     AuthenticationMethods publickey,keyboard-interactive\n";
    site.pam("common-auth", COMMON_AUTH)
        .pam("common-account", COMMON_ACCOUNT)
        .pam(
            "sshd",
            &format!("{DEBIAN_SSHD}auth required pam_planasonix.so\n"),
        )
        .sshd(&format!(
            "{protected}Match User backup\n    X11Forwarding no\n"
        ));
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "protected", "a harmless block: {r:#}");

    site.sshd(&format!(
        "{protected}Match User deploy Address 192.0.2.0/24\n    AuthenticationMethods publickey\n"
    ));
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "not-protected", "{r:#}");
    let f = finding(
        &r,
        "sshd",
        "critical",
        "logins matching `Match User deploy Address 192.0.2.0/24`",
    );
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("sshd_config:6") && m.contains("without a second factor"),
        "{m}"
    );
    assert!(fix(f).starts_with("in that Match block: "), "{f:#}");

    // In an included file, with password logins turned on there.
    let dir = site.config().parent().unwrap().join("sshd_config.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("50-contractors.conf"),
        "Match Group contractors\n  PasswordAuthentication yes\n  AuthenticationMethods password\n",
    )
    .unwrap();
    site.sshd(&format!("Include {}/*.conf\n{protected}", dir.display()));
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "not-protected", "{r:#}");
    let f = finding(&r, "sshd", "critical", "`Match Group contractors`");
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("50-contractors.conf:1") && m.contains("password logins"),
        "{m}"
    );
}

#[test]
fn public_keys_with_only_the_account_line_are_refused_not_asked() {
    let site = Site::new("account-net");
    site.pam("common-auth", COMMON_AUTH_PROFILE)
        .pam("common-account", COMMON_ACCOUNT)
        .pam(
            "sshd",
            &format!("{DEBIAN_SSHD}account required pam_planasonix.so\n"),
        )
        .sshd(PUBKEY_ONLY);
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "partial", "{r:#}");
    let f = finding(&r, "sshd", "warning", "the account line refuses them");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("AuthenticationMethods"));
    assert_eq!(site.run(&[]).status.code(), Some(0));
}

#[test]
fn password_authentication_feeds_the_password_to_the_code_prompt() {
    let site = Site::new("password");
    site.pam("common-auth", COMMON_AUTH_PROFILE)
        .pam("common-account", COMMON_ACCOUNT)
        .pam("sshd", &format!("{DEBIAN_SSHD}account required pam_planasonix.so\n"))
        .sshd("UsePAM yes\nKbdInteractiveAuthentication no\nPasswordAuthentication yes\nPubkeyAuthentication no\n");
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "not-protected", "{r:#}");
    let f = finding(
        &r,
        "sshd",
        "critical",
        "the code prompt receives the password",
    );
    assert!(fix(f).contains("PasswordAuthentication no"), "{f:#}");
    assert!(fix(f).contains("keyboard-interactive"), "{f:#}");
}

#[test]
fn el_include_of_password_auth_ends_the_stack_before_the_module() {
    let site = Site::new("el");
    let sshd = |how: &str| {
        format!(
            "#%PAM-1.0\nauth       {how}     password-auth\nauth       include      postlogin\n\
             auth       required     pam_planasonix.so\naccount    required     pam_nologin.so\n\
             account    include      password-auth\naccount    required     pam_planasonix.so\n"
        )
    };
    site.pam("password-auth", EL_PASSWORD_AUTH)
        .pam(
            "postlogin",
            "session optional pam_lastlog.so silent noupdate showfailed\n",
        )
        .pam("sshd", &sshd("include"))
        .sshd(
            "UsePAM yes\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n\
             AuthenticationMethods publickey,keyboard-interactive\n",
        );
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "not-protected", "{r:#}");
    let f = finding(
        &r,
        "sshd",
        "critical",
        "`auth sufficient pam_unix.so nullok`",
    );
    assert!(
        f["message"].as_str().unwrap().contains("password-auth:5"),
        "{f:#}"
    );
    assert!(fix(f).contains("`auth substack password-auth`"), "{f:#}");
    finding(&r, "sshd", "critical", "pam_sss.so");
    // As EL ships it, with `substack`, a `sufficient` ends only password-auth.
    site.pam("sshd", &sshd("substack"));
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "protected", "{r:#}");
}

#[test]
fn login_sudo_and_su_with_and_without_the_module() {
    let site = Site::new("services");
    site.pam("common-auth", COMMON_AUTH)
        .pam("common-account", COMMON_ACCOUNT)
        .pam(
            "login",
            "@include common-auth\nauth required pam_planasonix.so\n@include common-account\n",
        )
        .pam(
            "sudo",
            "@include common-auth\nauth required pam_planasonix.so action=sudo\n\
             @include common-account\naccount required pam_planasonix.so action=sudo\n",
        )
        .pam(
            "su",
            "auth sufficient pam_rootok.so\n@include common-auth\n@include common-account\n",
        )
        .sshd(PUBKEY_ONLY);
    let r = site.report();
    assert_eq!(verdict(&r, "login"), "protected", "{r:#}");
    assert_eq!(verdict(&r, "sudo"), "protected", "{r:#}");
    finding(&r, "sudo", "info", "action=sudo");
    assert_eq!(verdict(&r, "su"), "not-protected", "{r:#}");
    let f = finding(&r, "su", "critical", "not in the auth stack of su");
    assert!(
        fix(f).contains("pam-auth-update --enable planasonix"),
        "{f:#}"
    );
    assert!(fix(f).contains("auth required pam_planasonix.so"), "{f:#}");

    // With the module, su is protected; root's pam_rootok is only noted.
    site.pam(
        "su",
        "auth sufficient pam_rootok.so\n@include common-auth\nauth required pam_planasonix.so\n",
    );
    // A control that lets a wrong code pass is no protection.
    site.pam(
        "sudo",
        "@include common-auth\nauth sufficient pam_planasonix.so\n",
    );
    let r = site.report();
    assert_eq!(verdict(&r, "su"), "protected", "{r:#}");
    finding(&r, "su", "info", "lets root through without a code");
    assert_eq!(verdict(&r, "sudo"), "not-protected", "{r:#}");
    let f = finding(
        &r,
        "sudo",
        "critical",
        "does not stop a login when the code is wrong",
    );
    assert!(fix(f).contains("auth required pam_planasonix.so"), "{f:#}");
    // A jump over the module.
    site.pam(
        "login",
        "auth [success=2 default=ignore] pam_unix.so\nauth requisite pam_deny.so\n\
         auth required pam_planasonix.so\nauth required pam_permit.so\n",
    );
    let r = site.report();
    finding(&r, "login", "critical", "jumps over pam_planasonix.so");
}

#[test]
fn a_missing_include_file_is_reported() {
    let site = Site::new("missing");
    site.pam("common-auth", COMMON_AUTH_PROFILE)
        .pam("login", "@include common-auth\n@include common-account\n")
        .sshd(PUBKEY_ONLY);
    let r = site.report();
    let f = finding(&r, "login", "warning", "which does not exist");
    assert!(
        f["message"].as_str().unwrap().contains("common-account"),
        "{f:#}"
    );
    assert!(f["message"].as_str().unwrap().contains("login:2"), "{f:#}");
    assert!(fix(f).starts_with("create "), "{f:#}");
    assert_eq!(verdict(&r, "login"), "partial", "{r:#}");
    // libpam fills a failed `include` with a line that always fails.
    site.pam("login", "@include common-auth\nauth include gone-file\n");
    let r = site.report();
    let f = finding(&r, "login", "warning", "gone-file");
    assert!(
        f["message"].as_str().unwrap().contains("always fails"),
        "{f:#}"
    );
    finding(&r, "login", "critical", "every such login is refused");
    assert_eq!(verdict(&r, "login"), "not-protected", "{r:#}");
}

#[test]
fn sshd_settings_that_cannot_be_read_make_sshd_unknown() {
    let site = Site::new("unknown");
    site.pam("common-auth", COMMON_AUTH_PROFILE)
        .pam("common-account", COMMON_ACCOUNT)
        .pam(
            "sshd",
            &format!("{DEBIAN_SSHD}account required pam_planasonix.so\n"),
        )
        .sshd("UsePAM yes\nBogusOption yes\n");
    let r = site.report();
    assert_eq!(verdict(&r, "sshd"), "unknown", "{r:#}");
    let f = finding(
        &r,
        "sshd",
        "warning",
        "cannot read sshd's effective settings",
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("Bad configuration option: BogusOption"),
        "{f:#}"
    );
    // No sshd program at all: still a report, not a crash.
    let out = site.run(&["--sshd", "/nonexistent/sshd", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    finding(&r, "sshd", "warning", "cannot run /nonexistent/sshd");
}

#[test]
fn summary_is_one_line_per_service_and_always_exits_zero() {
    let site = Site::new("summary");
    site.pam("common-auth", COMMON_AUTH)
        .pam("sshd", DEBIAN_SSHD)
        .pam("login", "@include common-auth\n")
        .sshd(PUBKEY_ONLY);
    let out = site.run(&["--summary"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty());
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(lines[0].starts_with("sshd: not-protected: "), "{stdout}");
    assert!(
        lines[1].starts_with("login: not-protected: pam_planasonix.so is not in the auth stack"),
        "{stdout}"
    );
    assert!(lines[2].starts_with("sudo: not-configured"), "{stdout}");
    assert!(lines[3].starts_with("su: not-configured"), "{stdout}");
    // Without --summary the same host gives exit 1.
    assert_eq!(site.run(&[]).status.code(), Some(1));
}

#[test]
fn hostile_text_from_the_files_is_escaped() {
    let site = Site::new("hostile");
    site.pam(
        "login",
        "auth sufficient pam_unix.so \u{1b}[2J\u{202e}evil\u{7}\nauth required pam_planasonix.so\n",
    )
    .sshd(PUBKEY_ONLY);
    for args in [&[][..], &["--json"][..], &["--summary"][..]] {
        let out = site.run(args);
        let stdout = text(&out.stdout);
        assert!(
            !stdout
                .chars()
                .any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202e}'),
            "{args:?}: {stdout:?}"
        );
    }
    let r = site.report();
    let f = finding(&r, "login", "critical", "pam_unix.so");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("\\u{1b}[2J\\u{202e}evil\\u{7}"),
        "{f:#}"
    );
}

#[test]
fn a_pam_directory_that_is_not_there_is_an_error() {
    let site = Site::new("no-dir");
    let out = run_with_stdin(
        Command::new(BIN)
            .args(["doctor", "--pam-dir"])
            .arg(site.host.root.join("absent")),
        "",
    );
    let line = fails_with(&out, 1);
    assert!(line.contains("cannot read the PAM directory"), "{line}");
}
