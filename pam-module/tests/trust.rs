//! What the module trusts on the local host: the state service's socket and
//! peer, the policy file and the seal key, through real libpam.
//!
//! Needs root (another uid runs the fake service; files are chowned).
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::libpam::name;
use crate::common::*;
use pam_sys::*;
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

fn chown(path: &Path, user: &str) {
    let st = Command::new("chown").arg(user).arg(path).status().unwrap();
    assert!(st.success());
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `planasonix serve` on `db`, run as `user`; killed on drop.
fn serve_as(user: &str, db: &Path) -> Serving {
    let mut child = Command::new("setpriv")
        .args(["--reuid", user, "--regid", user, "--clear-groups"])
        .arg(cli_bin())
        .arg("--db")
        .arg(db)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    if !first.starts_with("serving ") {
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        panic!("serve as {user} said {first:?} {err:?}");
    }
    Serving(child)
}

/// An authentication with no answer to any prompt: it must not pass.
fn no_code_login(site: &Site) -> (i32, String) {
    let mut tx = site.start("sshd", "alice", answers(&[]));
    let rc = tx.authenticate();
    (rc, transcript(&tx.shown()))
}

#[test]
fn a_state_service_run_by_another_user_is_refused() {
    let mut site = Site::new("trust-service", REQUIRED);
    let state = site.dir.join("state");
    std::fs::create_dir(&state).unwrap();
    site.db = state.join("db");
    site.service("sshd", &[]);
    site.provision("alice", &new_secret());
    accounts::ensure("mallory");

    // A state directory anyone may write, as /var/tmp is. Mallory serves an
    // empty database of her own and puts its socket where the module looks.
    chmod(&state, 0o1777);
    let evil = site.dir.join("evil");
    std::fs::create_dir_all(evil.join("db")).unwrap();
    chmod(&evil.join("db"), 0o700);
    chown(&evil.join("db"), "mallory");
    chown(&evil, "mallory");
    let fake = serve_as("mallory", &evil.join("db"));
    let moved = Command::new("setpriv")
        .args([
            "--reuid",
            "mallory",
            "--regid",
            "mallory",
            "--clear-groups",
            "mv",
        ])
        .arg(evil.join("db.sock"))
        .arg(state.join("db.sock"))
        .status()
        .unwrap();
    assert!(moved.success());

    let (rc, shown) = no_code_login(&site);
    assert_ne!(
        rc, PAM_SUCCESS,
        "a fake service let alice in without a code:\n{shown}"
    );
    assert_eq!(rc, PAM_AUTHINFO_UNAVAIL, "got {}:\n{shown}", name(rc));

    // The directory fixed, the socket left behind is still mallory's.
    chmod(&state, 0o755);
    let (rc, shown) = no_code_login(&site);
    assert_eq!(rc, PAM_AUTHINFO_UNAVAIL, "got {}:\n{shown}", name(rc));
    drop(fake);

    // Mallory's socket gone: the real database answers, and asks for a code.
    std::fs::remove_file(state.join("db.sock")).unwrap();
    let (rc, shown) = no_code_login(&site);
    assert_eq!(rc, PAM_CONV_ERR, "got {}:\n{shown}", name(rc));
    assert!(shown.contains("Verification code"), "{shown}");
}

#[test]
fn a_policy_others_may_write_and_a_key_another_user_owns_are_refused() {
    let policy = "[enforcement]\nmode = \"required-for-all\"\nexempt_users = [\"root\"]\n";
    let site = Site::new("trust-files", policy);
    site.service("sshd", &[]);
    site.provision("alice", &new_secret());
    accounts::ensure("mallory");
    let refused_saying = |what: &str| {
        let (ok, lines) = pamtester_syslog(&site, "sshd", "alice", "");
        assert!(!ok, "alice got in ({what})");
        assert!(
            lines
                .iter()
                .any(|l| l.contains(what) && l.contains("failing closed")),
            "no line says {what:?}: {lines:#?}"
        );
    };

    // Whoever can write the policy can exempt anyone.
    chmod(&site.policy, 0o664);
    refused_saying("lets group or others write it");
    chmod(&site.policy, 0o644);
    chown(&site.policy, "mallory");
    refused_saying("owned by uid");
    chown(&site.policy, "root");
    chmod(&site.dir, 0o777);
    refused_saying("its directory");
    chmod(&site.dir, 0o755);

    // Whoever owns the key file can swap the key under every login.
    chown(&site.key, "mallory");
    refused_saying("chown root");
    chown(&site.key, "root");
    let (ok, lines) = pamtester_syslog(&site, "sshd", "alice", "000000\n");
    assert!(!ok);
    assert!(
        lines.iter().any(|l| l.contains("wrong code")),
        "with the files fixed the module asks again: {lines:#?}"
    );
}

/// Files under `dir` owned by root.
fn root_owned(dir: &Path) -> Vec<String> {
    let out = Command::new("find")
        .arg(dir)
        .args(["-user", "root"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_service_runs_as_its_own_user_and_root_hands_back_what_it_wrote() {
    let mut site = Site::new("trust-owner", REQUIRED);
    let state = site.dir.join("state");
    std::fs::create_dir(&state).unwrap();
    site.db = state.join("db");
    site.service("sshd", &[]);
    let secret = new_secret();
    site.provision("alice", &secret);
    accounts::ensure("pxservice");
    // As the packages lay it out: the state directory is the service user's.
    let st = Command::new("chown")
        .args(["-R", "pxservice:pxservice"])
        .arg(&state)
        .status()
        .unwrap();
    assert!(st.success());
    chmod(&state, 0o700);

    let service = serve_as("pxservice", &site.db);
    let mut tx = site.start("sshd", "alice", answers(&[&oathtool(&secret)]));
    let rc = tx.authenticate();
    assert_eq!(
        rc,
        PAM_SUCCESS,
        "through the service user's service: {}",
        name(rc)
    );
    drop(service);

    // A link the service user put in its directory to a file of root's
    // elsewhere (here made by root; fs.protected_hardlinks stops users) must
    // never be handed over.
    let roots = site.dir.join("roots-file");
    std::fs::write(&roots, "root's").unwrap();
    std::fs::hard_link(&roots, site.db.join("planted")).unwrap();
    // Stopped: root opens the database itself, then hands its files back.
    let code = oathtool_at(&secret, &format!("@{}", planasonix_native::now().0 + 30));
    let mut tx = site.start("sshd", "alice", answers(&[&code]));
    let rc = tx.authenticate();
    assert_eq!(
        rc,
        PAM_SUCCESS,
        "directly, with the service stopped: {}",
        name(rc)
    );
    let left: Vec<String> = root_owned(&site.db)
        .into_iter()
        .filter(|f| !f.ends_with("/planted"))
        .collect();
    assert!(left.is_empty(), "root left files behind: {left:?}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&roots).unwrap().uid(),
        0,
        "a hard link planted in the database handed a file of root's over"
    );
    // And the service starts again on them, and remembers the last code.
    let _service = serve_as("pxservice", &site.db);
    let mut tx = site.start("sshd", "alice", answers(&[&code]));
    let rc = tx.authenticate();
    assert_eq!(
        rc,
        PAM_AUTH_ERR,
        "the replay through the restarted service: {}",
        name(rc)
    );
}
