//! One account, many names: a login through real libpam (pamtester under
//! pam_wrapper) where NSS resolves an alias to the enrolled user, as SSSD
//! (case-insensitive by default), winbind or fully qualified names do.
//!
//! The alias comes from a small NSS shim this test compiles and preloads: its
//! `getpwnam_r` maps `ALICE`, `alice@example.com` and `EXAMPLE\alice` (for
//! the account named in `PLANASONIX_SHIM_USER`) to the real account, and
//! leaves every other name to glibc. Before the module resolved names, each
//! alias was a fresh, empty record: under `required-for-all` a grace period
//! and PAM_SUCCESS without a code.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

const SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef int (*real_t)(const char *, struct passwd *, char *, size_t, struct passwd **);

static const char *canonical(const char *name, char *buf, size_t len) {
    const char *user = getenv("PLANASONIX_SHIM_USER");
    if (!user || !name) return name;
    size_t n = strlen(user);
    const char *rest = name;
    if (strncasecmp(rest, "EXAMPLE\\", 8) == 0) rest += 8;
    if (strncasecmp(rest, user, n) != 0) return name;
    if (rest[n] != '\0' && strcasecmp(rest + n, "@example.com") != 0) return name;
    if (n + 1 > len) return name;
    memcpy(buf, user, n + 1);
    return buf;
}

int getpwnam_r(const char *name, struct passwd *pwd, char *buf, size_t len, struct passwd **out) {
    static real_t real;
    if (!real) real = (real_t)dlsym(RTLD_NEXT, "getpwnam_r");
    char mapped[256];
    return real(canonical(name, mapped, sizeof mapped), pwd, buf, len, out);
}
"#;

/// Compiles the shim into the site's directory.
fn build_shim(dir: &Path) -> PathBuf {
    let src = dir.join("nss_alias_shim.c");
    let so = dir.join("nss_alias_shim.so");
    std::fs::write(&src, SHIM).unwrap();
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&so)
        .arg(&src)
        .arg("-ldl")
        .output()
        .expect("cc (build-essential) is required");
    assert!(
        out.status.success(),
        "building the NSS shim failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    so
}

/// pamtester `user` through the shim, answering with `input`; (ok, output).
fn login(site: &Site, shim: &Path, user: &str, input: &str) -> (bool, String) {
    let mut cmd = Command::new("pamtester");
    cmd.args(["-v", "-I", "rhost=192.0.2.10", "sshd", user])
        .args(["authenticate", "acct_mgmt"]);
    pam_wrapper::wrap(&mut cmd, &site.confdir)
        .env(
            "LD_PRELOAD",
            format!("libpam_wrapper.so:{}", shim.display()),
        )
        .env("PLANASONIX_SHIM_USER", "alice");
    run_wrapped(&mut cmd, input, "pamtester and libpam-wrapper are required")
}

fn recent_failures(site: &Site, user: &str) -> u64 {
    let out = site.cli(&["--json", "status", "--user", user]);
    assert!(
        out.status.success(),
        "status --user {user}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["recent_failures"].as_u64().unwrap()
}

#[test]
fn an_alias_nss_resolves_must_give_alices_code_and_count_on_alices_record() {
    let site = Site::new("alias", REQUIRED);
    site.service("sshd", &[]);
    let shim = build_shim(&site.dir);
    let secret = new_secret();
    site.provision("alice", &secret);
    let aliases = ["ALICE", "alice@example.com", "EXAMPLE\\alice"];
    for (i, alias) in aliases.iter().enumerate() {
        let (ok, text) = login(&site, &shim, alias, "000000\n");
        assert!(!ok, "{alias} got in without alice's code:\n{text}");
        assert!(
            text.contains("Verification code:"),
            "{alias} was not asked for alice's code:\n{text}"
        );
        assert_eq!(
            recent_failures(&site, "alice"),
            i as u64 + 1,
            "the wrong code typed as {alias} must count on alice's record; pamtester said:\n{text}"
        );
    }
    let (ok, text) = login(&site, &shim, "ALICE", &format!("{}\n", oathtool(&secret)));
    assert!(ok, "ALICE with alice's right code must get in:\n{text}");
    // Nothing was ever stored under an alias.
    let out = site.cli(&["--json", "admin", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    for alias in aliases {
        assert!(
            !listed.contains(&format!("\"{}\"", alias.replace('\\', "\\\\"))),
            "{alias} got a record: {listed}"
        );
    }
}

#[test]
fn a_name_nss_does_not_know_is_refused_and_writes_nothing() {
    let site = Site::new("unknown-user", REQUIRED);
    site.service("sshd", &[]);
    let shim = build_shim(&site.dir);
    site.provision("alice", &new_secret());
    let (ok, text) = login(&site, &shim, "nobody-planasonix-xyz", "");
    assert!(!ok, "an unknown user got in:\n{text}");
    assert!(
        !text.contains("Verification code:"),
        "an unknown user was prompted:\n{text}"
    );
    let out = site.cli(&["--json", "admin", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        !listed.contains("nobody-planasonix-xyz"),
        "an unknown user got a record: {listed}"
    );
}
