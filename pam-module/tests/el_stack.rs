//! The EL (RHEL, Alma, Rocky 9) PAM lines the docs give, through real libpam
//! with a real account and a real password (pam_unix reads /etc/shadow as
//! root): a wrong password must never reach the module — otherwise anyone who
//! knows a user name can spend that user's wrong-code allowance and lock them
//! out — and the right password plus the right code must log in.
//!
//! `password-auth`, `system-auth` and `postlogin` are EL 9's as
//! `authselect select sssd` writes them (auth part). Debian ships no
//! pam_sss.so; libpam answers a line naming a missing module with
//! PAM_MODULE_UNKNOWN, which both `sufficient` and `[success=1
//! default=ignore]` ignore — exactly what pam_sss answers for a local
//! account it does not know — so the files run verbatim.
//! The test accounts are system accounts (uid below 1000), so
//! `pam_usertype.so isregular` fails for them and the paths through both
//! jumps over pam_localuser and pam_sss are taken.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::libpam::{name, Shown, Transaction};
use crate::common::*;
use pam_sys::*;
use std::io::Write;
use std::process::{Command, Stdio};

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";
const PASSWORD: &str = "correct horse 7 battery";
const CODE_PROMPT: &str = "Verification code:";

/// `/etc/pam.d/password-auth` of `authselect select sssd` on EL 9 (auth part;
/// pam_sss lines removed, see the file comment).
const EL9_PASSWORD_AUTH: &str = "\
auth        required                                     pam_env.so
auth        required                                     pam_faildelay.so delay=2000000
auth        [default=1 ignore=ignore success=ok]         pam_usertype.so isregular
auth        [default=1 ignore=ignore success=ok]         pam_localuser.so
auth        sufficient                                   pam_unix.so nullok
auth        [default=1 ignore=ignore success=ok]         pam_usertype.so isregular
auth        sufficient                                   pam_sss.so forward_pass
auth        required                                     pam_deny.so

account     required                                     pam_unix.so
";

/// `/etc/pam.d/postlogin` of EL 9: session lines only.
const EL9_POSTLOGIN: &str = "\
session     optional                   pam_umask.so silent
session     [success=1 default=ignore] pam_succeed_if.so service !~ gdm* service !~ su* quiet
session     [default=1]                pam_lastlog.so nowtmp showfailed
session     optional                   pam_lastlog.so silent noupdate showfailed
";

/// A site with the EL files, a real account `user` with [`PASSWORD`], and
/// `user` enrolled; returns the TOTP secret.
fn el_site(name: &str, user: &str) -> (Site, Vec<u8>) {
    let site = Site::new(name, REQUIRED);
    std::fs::write(site.confdir.join("password-auth"), EL9_PASSWORD_AUTH).unwrap();
    std::fs::write(site.confdir.join("postlogin"), EL9_POSTLOGIN).unwrap();
    let secret = new_secret();
    site.provision(user, &secret);
    set_password(user, PASSWORD);
    (site, secret)
}

fn set_password(user: &str, password: &str) {
    let mut child = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .expect("chpasswd (passwd) and root are required");
    writeln!(child.stdin.take().unwrap(), "{user}:{password}").unwrap();
    assert!(child.wait().unwrap().success(), "chpasswd {user} failed");
}

/// Our module's line for `stage` with the site's arguments and `extra`.
fn module_line(site: &Site, stage: &str, extra: &[&str]) -> String {
    format!(
        "{stage}    required     {} {}",
        module_so().display(),
        site.args(extra).join(" ")
    )
}

/// `include`/`substack` target `name` of the site. Debian 12's libpam looks
/// for a relative one in /etc/pam.d even under pam_start_confdir, so the
/// tests name the site's copy by absolute path (as libpam also accepts).
fn inc(site: &Site, name: &str) -> String {
    site.confdir.join(name).display().to_string()
}

/// EL 9's `/etc/pam.d/sshd` with `auth_lines` in place of its auth part.
fn sshd_file(site: &Site, auth_lines: &str) -> String {
    format!(
        "#%PAM-1.0\n{auth_lines}\
         auth       include      {postlogin}\n\
         account    required     pam_nologin.so\n\
         account    include      {password_auth}\n\
         {}\n",
        module_line(site, "account", &[]),
        postlogin = inc(site, "postlogin"),
        password_auth = inc(site, "password-auth"),
    )
}

/// What the docs said before: the module after `auth substack password-auth`.
fn documented_before(site: &Site) -> String {
    sshd_file(
        site,
        &format!(
            "auth       substack     {}\n{}\n",
            inc(site, "password-auth"),
            module_line(site, "auth", &[])
        ),
    )
}

/// What the docs say now (packaging/README.md, pam_planasonix(8)): the first
/// factor in the service file as `requisite`, so its failure ends the stack.
fn documented_now(site: &Site) -> String {
    sshd_file(
        site,
        &format!(
            "auth       required     pam_env.so\n\
             auth       required     pam_faildelay.so delay=2000000\n\
             auth       requisite    pam_unix.so\n\
             {}\n",
            module_line(site, "auth", &[])
        ),
    )
}

/// `password-auth` of the documented authselect custom profile: EL 9's file
/// with pam_unix's `sufficient` turned into a jump over the final deny, the
/// deny `requisite`, and the module last.
fn profile_password_auth(site: &Site) -> String {
    format!(
        "auth        required                                     pam_env.so\n\
         auth        required                                     pam_faildelay.so delay=2000000\n\
         auth        [default=1 ignore=ignore success=ok]         pam_usertype.so isregular\n\
         auth        [default=1 ignore=ignore success=ok]         pam_localuser.so\n\
         auth        [success=3 default=ignore]                   pam_unix.so nullok\n\
         auth        [default=1 ignore=ignore success=ok]         pam_usertype.so isregular\n\
         auth        [success=1 default=ignore]                   pam_sss.so forward_pass\n\
         auth        requisite                                    pam_deny.so\n\
         {}\n\
         \n\
         account     required                                     pam_unix.so\n",
        module_line(site, "auth", &[])
    )
}

/// Answers the password prompt with `password`, the code prompt with `code`.
fn password_then(password: &str, code: String) -> crate::common::libpam::Responder {
    let password = password.to_owned();
    Box::new(move |shown: &[Shown]| {
        let last = shown.last()?.text().to_owned();
        if last.contains(CODE_PROMPT) {
            Some(code.clone())
        } else if last.to_lowercase().contains("password") {
            Some(password.clone())
        } else {
            None
        }
    })
}

fn asked_for_code(tx: &Transaction) -> bool {
    tx.shown().iter().any(|s| s.text().contains(CODE_PROMPT))
}

/// The user's failure count in the current window, as `planasonix status` says.
fn recent_failures(site: &Site, user: &str) -> u64 {
    let out = site.cli(&["--json", "status", "--user", user]);
    assert!(
        out.status.success(),
        "planasonix status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["recent_failures"]
        .as_u64()
        .unwrap_or_else(|| panic!("no recent_failures in {v}"))
}

/// A wrong password followed by a wrong code, as an attacker would send.
fn attack(site: &Site, service: &str, user: &str) -> (i32, bool) {
    let mut tx = site.start(
        service,
        user,
        password_then("wrong password", "000000".into()),
    );
    let rc = tx.authenticate();
    (rc, asked_for_code(&tx))
}

#[test]
fn the_stack_documented_before_lets_a_wrong_password_spend_the_lockout() {
    let user = "pl-el-before";
    let (site, _) = el_site("el-before", user);
    std::fs::write(site.confdir.join("sshd"), documented_before(&site)).unwrap();
    let mut tx = site.start(
        "sshd",
        user,
        password_then("wrong password", "000000".into()),
    );
    let rc = tx.authenticate();
    let asked = asked_for_code(&tx);
    assert_eq!(rc, PAM_AUTH_ERR, "got {}: {:?}", name(rc), tx.shown());
    assert!(
        tx.shown()[0].text().contains("Password"),
        "pam_unix in password-auth must have asked first: {:?}",
        tx.shown()
    );
    assert!(
        asked,
        "the old stack was expected to reach the module after a wrong password"
    );
    assert_eq!(
        recent_failures(&site, user),
        1,
        "the attack counted a failure"
    );
}

#[test]
fn the_documented_sshd_stack_never_asks_for_a_code_after_a_wrong_password() {
    let user = "pl-el-now";
    let (site, secret) = el_site("el-now", user);
    std::fs::write(site.confdir.join("sshd"), documented_now(&site)).unwrap();
    for _ in 0..2 {
        let (rc, asked) = attack(&site, "sshd", user);
        assert_eq!(rc, PAM_AUTH_ERR, "got {}", name(rc));
        assert!(!asked, "a wrong password reached the module");
    }
    assert_eq!(recent_failures(&site, user), 0);

    let mut tx = site.start("sshd", user, password_then(PASSWORD, oathtool(&secret)));
    let rc = tx.authenticate();
    assert_eq!(rc, PAM_SUCCESS, "got {}: {:?}", name(rc), tx.shown());
    assert!(
        asked_for_code(&tx),
        "the right password must lead to the code"
    );
    assert_eq!(tx.acct_mgmt(), PAM_SUCCESS);
}

#[test]
fn the_right_password_and_a_wrong_code_are_refused() {
    let user = "pl-el-code";
    let (site, _) = el_site("el-code", user);
    std::fs::write(site.confdir.join("sshd"), documented_now(&site)).unwrap();
    let mut tx = site.start("sshd", user, password_then(PASSWORD, "000000".into()));
    let rc = tx.authenticate();
    assert_eq!(rc, PAM_AUTH_ERR, "got {}: {:?}", name(rc), tx.shown());
    assert_eq!(recent_failures(&site, user), 1);
}

#[test]
fn the_documented_authselect_profile_never_asks_for_a_code_after_a_wrong_password() {
    let user = "pl-el-prof";
    let (site, secret) = el_site("el-profile", user);
    std::fs::write(
        site.confdir.join("password-auth"),
        profile_password_auth(&site),
    )
    .unwrap();
    // EL 9's sshd file, untouched: the module comes from password-auth.
    std::fs::write(
        site.confdir.join("sshd"),
        sshd_file(
            &site,
            &format!("auth       substack     {}\n", inc(&site, "password-auth")),
        ),
    )
    .unwrap();
    let (rc, asked) = attack(&site, "sshd", user);
    assert_eq!(rc, PAM_AUTH_ERR, "got {}", name(rc));
    assert!(!asked, "a wrong password reached the module");
    assert_eq!(recent_failures(&site, user), 0);

    let mut tx = site.start("sshd", user, password_then(PASSWORD, oathtool(&secret)));
    let rc = tx.authenticate();
    assert_eq!(rc, PAM_SUCCESS, "got {}: {:?}", name(rc), tx.shown());
    assert!(
        asked_for_code(&tx),
        "the right password must lead to the code"
    );
}

/// EL 9's `/etc/pam.d/sudo` with `auth_lines` in place of its auth part.
fn sudo_file(site: &Site, auth_lines: &str) -> String {
    format!(
        "#%PAM-1.0\n{auth_lines}\
         account    include      {system_auth}\n\
         {}\n",
        module_line(site, "account", &["action=sudo"]),
        system_auth = inc(site, "system-auth"),
    )
}

/// A site for sudo step-up: `system-auth` as EL 9 has it (its auth part is
/// `password-auth`'s).
fn sudo_site(name: &str, user: &str) -> (Site, Vec<u8>) {
    let (site, secret) = el_site(name, user);
    std::fs::write(
        &site.policy,
        format!("{REQUIRED}[step_up]\nsudo = \"5m\"\n"),
    )
    .unwrap();
    std::fs::write(site.confdir.join("system-auth"), EL9_PASSWORD_AUTH).unwrap();
    (site, secret)
}

#[test]
fn the_sudo_lines_documented_before_skip_the_code_after_the_right_password() {
    let user = "pl-el-sudo0";
    let (site, _) = sudo_site("el-sudo-before", user);
    let before = sudo_file(
        &site,
        &format!(
            "auth       include      {}\n{}\n",
            inc(&site, "system-auth"),
            module_line(&site, "auth", &["action=sudo"])
        ),
    );
    std::fs::write(site.confdir.join("sudo"), before).unwrap();
    // `sufficient pam_unix.so` ends an included stack on success: no step-up.
    let mut tx = site.start("sudo", user, password_then(PASSWORD, "000000".into()));
    assert_eq!(tx.authenticate(), PAM_SUCCESS);
    assert!(
        !asked_for_code(&tx),
        "expected the old lines to skip the module"
    );
}

#[test]
fn the_documented_sudo_lines_ask_for_the_code_only_after_the_right_password() {
    let user = "pl-el-sudo1";
    let (site, secret) = sudo_site("el-sudo-now", user);
    let now = sudo_file(
        &site,
        &format!(
            "auth       required     pam_env.so\n\
             auth       requisite    pam_unix.so\n\
             {}\n",
            module_line(&site, "auth", &["action=sudo"])
        ),
    );
    std::fs::write(site.confdir.join("sudo"), now).unwrap();
    let (rc, asked) = attack(&site, "sudo", user);
    assert_eq!(rc, PAM_AUTH_ERR, "got {}", name(rc));
    assert!(!asked, "a wrong password reached the module");
    assert_eq!(recent_failures(&site, user), 0);

    let mut tx = site.start("sudo", user, password_then(PASSWORD, oathtool(&secret)));
    let rc = tx.authenticate();
    assert_eq!(rc, PAM_SUCCESS, "got {}: {:?}", name(rc), tx.shown());
    assert!(asked_for_code(&tx), "sudo must ask for the code");
    assert_eq!(tx.acct_mgmt(), PAM_SUCCESS);
}
