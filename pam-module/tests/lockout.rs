//! The lockout through real libpam: wrong codes from one remote host lock
//! that host out for the user, not the user everywhere.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::libpam::{name, Transaction};
use crate::common::*;
use pam_sys::*;

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

/// A transaction for sshd and `user` from `rhost`.
fn from(
    site: &Site,
    rhost: &str,
    user: &str,
    responder: crate::common::libpam::Responder,
) -> Transaction {
    accounts::ensure(user);
    let mut tx = Transaction::start(&site.confdir, "sshd", user, responder);
    tx.set_rhost(rhost);
    tx
}

fn shows(tx: &Transaction, text: &str) -> bool {
    tx.shown().iter().any(|s| s.text().contains(text))
}

#[test]
fn wrong_codes_from_one_address_do_not_lock_the_user_out_of_another() {
    let site = Site::new("remote-lockout", REQUIRED);
    site.service("sshd", &[]);
    let secret = new_secret();
    site.provision("alice", &secret);
    let code = oathtool(&secret);
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // Five wrong codes from 192.0.2.66: four refused, the fifth locks it.
    for (i, want) in [
        PAM_AUTH_ERR,
        PAM_AUTH_ERR,
        PAM_AUTH_ERR,
        PAM_AUTH_ERR,
        PAM_MAXTRIES,
    ]
    .into_iter()
    .enumerate()
    {
        let mut tx = from(&site, "192.0.2.66", "alice", answers(&[wrong]));
        let got = tx.authenticate();
        assert_eq!(
            got,
            want,
            "attempt {}: got {} want {}: {}",
            i + 1,
            name(got),
            name(want),
            transcript(&tx.shown())
        );
        if i < 4 {
            let left = 4 - i;
            assert!(
                shows(&tx, &format!("Wrong code. {left} more wrong codes lock")),
                "{}",
                transcript(&tx.shown())
            );
        }
    }

    // The real user, from 192.0.2.10, gets in with the right code.
    let mut tx = site.start("sshd", "alice", answers(&[&code]));
    let got = tx.authenticate();
    assert_eq!(
        got,
        PAM_SUCCESS,
        "got {}: {}",
        name(got),
        transcript(&tx.shown())
    );
    assert_eq!(tx.acct_mgmt(), PAM_SUCCESS);

    // A sixth attempt from 192.0.2.66 is refused as locked, without a prompt.
    let mut tx = from(&site, "192.0.2.66", "alice", no_prompts());
    let got = tx.authenticate();
    assert_eq!(
        got,
        PAM_MAXTRIES,
        "got {}: {}",
        name(got),
        transcript(&tx.shown())
    );
    assert!(shows(&tx, "locked until 20"), "{}", transcript(&tx.shown()));

    // The audit trail names the address that was locked out.
    let out = site.cli(&["--json", "audit", "--user", "alice"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let events = match serde_json::from_str::<serde_json::Value>(&text).unwrap() {
        serde_json::Value::Array(a) => a,
        other => panic!("audit --json printed {other}"),
    };
    let locks: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "remote-locked")
        .collect();
    assert_eq!(locks.len(), 1, "{text}");
    assert_eq!(locks[0]["remote"], "192.0.2.66", "{text}");
    assert!(!events.iter().any(|e| e["event"] == "locked"), "{text}");

    // An admin sees the address's lock in status (the user is not locked)...
    let out = site.cli(&["status", "--user", "alice"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("locked:            no"), "{text}");
    assert!(
        text.contains("locked from:       192.0.2.66 until 20"),
        "{text}"
    );
    let out = site.cli(&["--json", "status", "--user", "alice"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        status["remote_locks"][0]["remote"], "192.0.2.66",
        "{status}"
    );
    let out = site.cli(&["admin", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(from 1 address)"), "{text}");

    // ...and `admin unlock` lifts it: that address is asked for a code again.
    let out = site.cli(&["admin", "unlock", "alice"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut tx = from(&site, "192.0.2.66", "alice", answers(&[wrong]));
    assert_eq!(
        tx.authenticate(),
        PAM_AUTH_ERR,
        "{}",
        transcript(&tx.shown())
    );
    assert!(
        shows(&tx, "Wrong code. 4 more"),
        "{}",
        transcript(&tx.shown())
    );
}
