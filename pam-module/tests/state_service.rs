//! Logins through the state service (`planasonix serve`, the packaged
//! default), and what happens when it crashes or comes back: acknowledged
//! writes survive, clients fall back to the files, and the CLI works beside it.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::libpam::name;
use crate::common::*;
use pam_sys::*;
use planasonix_core::StoreError;
use planasonix_native::{socket_beside, SledStore};

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

/// Logs `user` in answering `answer`; asserts the PAM result is `want`.
fn login(site: &Site, user: &str, answer: &str, want: i32, why: &str) {
    let mut tx = site.start("sshd", user, answers(&[answer]));
    let rc = tx.authenticate();
    assert_eq!(
        rc,
        want,
        "{why}: got {}, conversation:\n{}",
        name(rc),
        transcript(&tx.shown())
    );
}

#[test]
fn logins_go_through_the_service_and_what_it_acknowledged_survives_its_crash() {
    let site = Site::new("svc-crash", REQUIRED);
    site.service("sshd", &[]);
    let secret = new_secret();
    let recovery = site.provision("alice", &secret);
    let service = site.serve();
    // The service holds sled's lock, so these logins can only be going through it.
    assert_eq!(SledStore::open(&site.db).unwrap_err(), StoreError::Busy);

    let code = oathtool(&secret);
    login(
        &site,
        "alice",
        &code,
        PAM_SUCCESS,
        "TOTP code through the service",
    );
    login(
        &site,
        "alice",
        &code,
        PAM_AUTH_ERR,
        "replay through the service",
    );
    login(
        &site,
        "alice",
        &recovery[0],
        PAM_SUCCESS,
        "recovery code through the service",
    );
    // The CLI beside it: reads and writes through the service too.
    let status = site.cli(&["--json", "status", "--user", "alice"]);
    assert!(status.status.success(), "{status:?}");
    assert!(String::from_utf8_lossy(&status.stdout).contains("\"recovery_remaining\": 9"));

    service.crash();
    assert!(
        socket_beside(&site.db).exists(),
        "a crash leaves the socket"
    );
    // Nobody answers there now: logins open the database themselves, and
    // every write the service acknowledged is in it.
    login(
        &site,
        "alice",
        &code,
        PAM_AUTH_ERR,
        "replay after the crash",
    );
    login(
        &site,
        "alice",
        &recovery[0],
        PAM_AUTH_ERR,
        "spent code after the crash",
    );
    login(
        &site,
        "alice",
        &recovery[1],
        PAM_SUCCESS,
        "fresh recovery code, no service",
    );

    // A new service takes over the stale socket and sees the fallback's write.
    let _service = site.serve();
    login(
        &site,
        "alice",
        &recovery[1],
        PAM_AUTH_ERR,
        "code spent without the service",
    );
    login(
        &site,
        "alice",
        &recovery[2],
        PAM_SUCCESS,
        "fresh recovery code, new service",
    );
}

#[test]
fn serve_refuses_a_missing_database_and_a_second_service_plainly() {
    let site = Site::new("svc-refuse", REQUIRED);
    let missing = site.cli(&["serve"]);
    assert_eq!(missing.status.code(), Some(4));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.contains("does not exist; create it with `planasonix init`"),
        "{said}"
    );

    site.provision("alice", &new_secret());
    let _first = site.serve();
    let second = site.cli(&["--wait", "300ms", "serve"]);
    assert_eq!(second.status.code(), Some(4), "{second:?}");
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("database busy"), "{said}");
    // The first one still serves.
    let status = site.cli(&["status", "--user", "alice"]);
    assert!(status.status.success(), "{status:?}");
}

/// Runs one authentication of `user` on another thread; `None` if it has not
/// returned within `limit` (a hang: the module must never wait without end).
fn auth_within(site: &std::sync::Arc<Site>, user: &str, limit: std::time::Duration) -> Option<i32> {
    let (tx, rx) = std::sync::mpsc::channel();
    let site = site.clone();
    let user = user.to_owned();
    std::thread::spawn(move || {
        let mut t = site.start("sshd", &user, answers(&["000000"]));
        let _ = tx.send(t.authenticate());
    });
    rx.recv_timeout(limit).ok()
}

#[test]
fn a_stalled_service_fails_logins_closed_within_the_wait_and_never_hangs() {
    use std::sync::Arc;
    use std::time::Duration;
    let policy = "[enforcement]\nmode = \"required-for-all\"\nexempt_users = [\"root\"]\n";
    let site = Arc::new(Site::new("svc-stalled", policy));
    site.service("sshd", &["store_wait=2"]);
    site.provision("alice", &new_secret());
    let service = site.serve();
    let pid = service.0.id().to_string();
    let signal = |sig: &str| {
        let st = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap();
        assert!(st.success());
    };
    // Far beyond two 2-second waits; only a hang gets near it.
    let limit = Duration::from_secs(60);

    // Stopped (SIGSTOP): connections queue, nothing answers.
    signal("-STOP");
    let rc = auth_within(&site, "alice", limit).expect("a login hung on a stopped service");
    assert_eq!(rc, PAM_AUTHINFO_UNAVAIL, "got {}", name(rc));
    let rc = auth_within(&site, "root", limit).expect("break-glass hung on a stopped service");
    assert_eq!(rc, PAM_SUCCESS, "break-glass got {}", name(rc));

    // Its connection queue full as well: connecting itself would block.
    let socket = socket_beside(&site.db);
    for _ in 0..300 {
        let socket = socket.clone();
        std::thread::spawn(move || std::os::unix::net::UnixStream::connect(socket));
    }
    std::thread::sleep(Duration::from_millis(500));
    let rc = auth_within(&site, "alice", limit).expect("a login hung on a full connection queue");
    assert_eq!(rc, PAM_AUTHINFO_UNAVAIL, "got {}", name(rc));

    // Resumed: logins are answered again (a wrong code, counted).
    signal("-CONT");
    let rc = auth_within(&site, "alice", limit).expect("a login hung after the service resumed");
    assert_eq!(rc, PAM_AUTH_ERR, "got {}", name(rc));
    drop(service);
}
