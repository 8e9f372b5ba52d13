//! A fleet: two hosts (separate config directories, each with its own
//! `planasonix serve` and socket) sharing one real PostgreSQL (TLS by a test
//! CA) and one seal key; enrollment through a host's CLI, logins through
//! pamtester.

use super::*;
use planasonix_core::otpauth::secret_base32;
use planasonix_testkit::postgres::{Postgres, Tls};
use std::io::Write;

pub const POLICY: &str = "[enforcement]\nmode = \"required-for-all\"\nexempt_users = [\"root\"]\n\
                      [lockout]\nmax_failures = 3\n";

pub struct Host {
    pub site: Site,
    pub serving: Option<Serving>,
}

pub struct Fleet {
    pub pg: Postgres,
    pub a: Host,
    pub b: Host,
}

/// Points `site` at the shared store and gives it `key`'s seal key.
pub fn join(site: &Site, pg: &Postgres, key: &std::path::Path) {
    if key != site.key {
        std::fs::copy(key, &site.key).unwrap();
    }
    std::fs::set_permissions(&site.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The check value `planasonix init` writes beside the key, which the
    // service holds the store to.
    let check = planasonix_native::load_key_file(&site.key)
        .unwrap()
        .check_value();
    let check_file = planasonix_native::check_file_beside(&site.key);
    std::fs::write(&check_file, format!("{check}\n")).unwrap();
    std::fs::set_permissions(&check_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(site.store_file(), pg.store_toml("verify-full")).unwrap();
    std::fs::set_permissions(site.store_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    site.service("sshd", &[]);
}

pub fn ok(out: &std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn fleet(name: &str) -> Fleet {
    fleet_with(name, POLICY)
}

/// [`fleet`] with `policy` on both hosts.
pub fn fleet_with(name: &str, policy: &str) -> Fleet {
    fleet_keyed(name, policy, None)
}

/// [`fleet_with`] whose seal key is `key` (key-file text), as the identity
/// provider beside it is given: written before the store records it.
pub fn fleet_keyed(name: &str, policy: &str, key: Option<&str>) -> Fleet {
    let pg = Postgres::start(Tls::On);
    let a = Site::new(&format!("{name}-a"), policy);
    let b = Site::new(&format!("{name}-b"), policy);
    if let Some(text) = key {
        std::fs::write(&a.key, text).unwrap();
    }
    join(&a, &pg, &a.key.clone());
    join(&b, &pg, &a.key);
    let said = ok(&a.cli(&["store", "migrate"]), "store migrate");
    assert!(said.contains("created the schema, version 2"), "{said}");
    let said = ok(&b.cli(&["store", "check"]), "store check");
    assert!(said.contains("connected, schema version 2"), "{said}");
    let serving = (Some(a.serve()), Some(b.serve()));
    Fleet {
        pg,
        a: Host {
            site: a,
            serving: serving.0,
        },
        b: Host {
            site: b,
            serving: serving.1,
        },
    }
}

/// Enrolls `user` with `secret` through host `site`'s CLI (and so its
/// service); returns the recovery codes.
pub fn enroll(site: &Site, user: &str, secret: &[u8]) -> Vec<String> {
    planasonix_testkit::accounts::ensure(user);
    let mut child = site
        .cli_command(&["--json", "admin", "provision-totp", user, "--secret", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(
        child.stdin.take().unwrap(),
        "{}",
        secret_base32(secret).expose()
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(&out, "provision-totp")).unwrap();
    v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

pub fn login(site: &Site, user: &str, input: &str) -> (bool, String) {
    let mut cmd = std::process::Command::new("pamtester");
    cmd.args(["-I", "rhost=192.0.2.10", "sshd", user, "authenticate"]);
    pam_wrapper::wrap(&mut cmd, &site.confdir);
    run_wrapped(&mut cmd, input, "pamtester and libpam-wrapper are required")
}
