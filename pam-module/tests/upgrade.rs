//! A database written by record schema 2 (`tests/fixtures/schema2`, made by
//! the CLI before records were authenticated) keeps working: the module reads
//! it, logs in, and rewrites the record authenticated on its first change;
//! `planasonix init` then marks the database, after which an unauthenticated
//! record can only be a downgrade and is refused.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::libpam::name;
use crate::common::*;
use pam_sys::*;
use planasonix_core::otpauth::parse_base32;
use planasonix_core::Store;
use planasonix_native::SledStore;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn record(db: &Path) -> Vec<u8> {
    SledStore::transaction(db, Duration::from_secs(10), |s| s.get("user/root"))
        .unwrap()
        .unwrap()
        .value
}

fn login(site: &Site, answer: &str, want: i32, why: &str) {
    let mut tx = site.start("sshd", "root", answers(&[answer]));
    let rc = tx.authenticate();
    assert_eq!(
        rc,
        want,
        "{why}: got {}; conversation:\n{}",
        name(rc),
        transcript(&tx.shown())
    );
}

#[test]
fn a_schema_2_database_logs_in_is_rewritten_authenticated_and_then_refuses_downgrades() {
    let mut site = Site::new("upgrade", "");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/schema2");
    let copy = site.dir.join("schema2");
    copy_dir(&fixture, &copy);
    site.policy = copy.join("etc/policy.toml");
    site.key = copy.join("etc/seal.key");
    site.db = copy.join("var/db");
    // git keeps no modes: the key as the CLI left it.
    std::fs::set_permissions(&site.key, std::fs::Permissions::from_mode(0o600)).unwrap();
    site.service("sshd", &[]);
    let recovery: Vec<String> = std::fs::read_to_string(copy.join("provision.out"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 11 && l.as_bytes()[5] == b'-')
        .map(str::to_owned)
        .collect();
    assert_eq!(recovery.len(), 10);
    let before = record(&site.db);
    assert_eq!(before[0], b'{', "the fixture is not in the old JSON form");

    let secret = parse_base32(SECRET).unwrap();
    login(
        &site,
        &oathtool(&secret),
        PAM_SUCCESS,
        "a right code on the old record",
    );
    let after = record(&site.db);
    assert!(
        after.starts_with(b"PXR\x03"),
        "the changed record was not rewritten authenticated"
    );
    // The recovery codes of the old (salted, unpeppered) set still work, once.
    login(&site, &recovery[0], PAM_SUCCESS, "an old recovery code");
    login(
        &site,
        &recovery[0],
        PAM_AUTH_ERR,
        "the same recovery code again",
    );

    // `planasonix init` marks the database; then the old form is refused.
    let out = site.cli(&["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    SledStore::transaction(&site.db, Duration::from_secs(10), |s| {
        let v = s.get("user/root")?.unwrap();
        s.compare_and_swap("user/root", Some(v.version), Some(&before))
    })
    .unwrap();
    login(
        &site,
        &recovery[1],
        PAM_AUTHINFO_UNAVAIL,
        "an unauthenticated record put back after the upgrade",
    );
}
