//! The built module through real libpam: service files in a private directory
//! (pam_start_confdir), codes from oathtool, the sled store on disk.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::libpam::{name, Shown};
use crate::common::*;
use pam_sys::*;
use planasonix_core::{Context, Engine, Policy, UnixTime};
use planasonix_native::{load_key_file, now, OsRandom, SledStore};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

macro_rules! assert_code {
    ($got:expr, $want:expr, $tx:expr) => {{
        let got = $got;
        assert_eq!(
            got,
            $want,
            "got {} want {}; conversation:\n{}",
            name(got),
            name($want),
            transcript(&$tx.shown())
        );
    }};
}

fn shows(tx: &crate::common::libpam::Transaction, text: &str) -> bool {
    tx.shown().iter().any(|s| s.text().contains(text))
}

/// A 6-digit code that is not `code`.
fn other_than(code: &str) -> String {
    if code == "000000" { "111111" } else { "000000" }.to_owned()
}

#[test]
fn a_valid_code_passes_auth_and_account() {
    let site = Site::new("valid", REQUIRED);
    site.service("sshd", &[]);
    let secret = new_secret();
    site.provision("alice", &secret);
    let mut tx = site.start("sshd", "alice", answers(&[&oathtool(&secret)]));
    assert_code!(tx.authenticate(), PAM_SUCCESS, tx);
    assert_eq!(prompts(&tx.shown()), ["Verification code: "]);
    assert!(
        matches!(tx.shown()[0], Shown::Secret(_)),
        "the code prompt must not echo"
    );
    assert_code!(tx.acct_mgmt(), PAM_SUCCESS, tx);
    assert_code!(tx.setcred(), PAM_SUCCESS, tx);
}

#[test]
fn a_replayed_code_is_refused() {
    let site = Site::new("replay", REQUIRED);
    site.service("sshd", &[]);
    let secret = new_secret();
    site.provision("alice", &secret);
    let code = oathtool(&secret);
    let mut first = site.start("sshd", "alice", answers(&[&code]));
    assert_code!(first.authenticate(), PAM_SUCCESS, first);
    let mut again = site.start("sshd", "alice", answers(&[&code]));
    assert_code!(again.authenticate(), PAM_AUTH_ERR, again);
    assert!(
        shows(&again, "already used"),
        "{}",
        transcript(&again.shown())
    );
}

#[test]
fn a_wrong_code_is_refused() {
    let site = Site::new("wrong", REQUIRED);
    site.service("sshd", &[]);
    let secret = new_secret();
    site.provision("alice", &secret);
    let mut tx = site.start("sshd", "alice", answers(&[&other_than(&oathtool(&secret))]));
    assert_code!(tx.authenticate(), PAM_AUTH_ERR, tx);
    assert!(
        shows(&tx, "Wrong code. 4 more"),
        "{}",
        transcript(&tx.shown())
    );
    assert_code!(tx.acct_mgmt(), PAM_PERM_DENIED, tx);
}

#[test]
fn a_recovery_code_works_once() {
    let site = Site::new("recovery", REQUIRED);
    site.service("sshd", &[]);
    let codes = site.provision("alice", &new_secret());
    assert_eq!(codes.len(), 10);
    let mut tx = site.start("sshd", "alice", answers(&[&codes[3]]));
    assert_code!(tx.authenticate(), PAM_SUCCESS, tx);
    assert!(shows(&tx, "Recovery code accepted. 9 recovery codes left."));
    let mut again = site.start("sshd", "alice", answers(&[&codes[3]]));
    assert_code!(again.authenticate(), PAM_AUTH_ERR, again);
}

#[test]
fn out_of_scope_users_get_pam_ignore() {
    let site = Site::new("scope", "[enforcement]\nmode = \"optional\"\n");
    site.service("sshd", &[]);
    let mut tx = site.start("sshd", "carol", no_prompts());
    // The module's own answer, as libpam sees it from the entry point.
    assert_code!(
        tx.module_authenticate(module_so(), &site.args(&[])),
        PAM_IGNORE,
        tx
    );
    // A stack of nothing but ignores is refused by libpam itself, never a silent success.
    assert_code!(tx.authenticate(), PAM_PERM_DENIED, tx);
    assert!(tx.shown().is_empty());
}

#[test]
fn admins_by_system_group_are_asked_others_ignored() {
    // root is in group "root" on every system; "nobody" is not.
    let site = Site::new(
        "admins",
        "[enforcement]\nmode = \"required-for-admins\"\nadmin_groups = [\"root\"]\n",
    );
    site.service("sshd", &[]);
    let mut nobody = site.start("sshd", "nobody", no_prompts());
    assert_code!(
        nobody.module_authenticate(module_so(), &site.args(&[])),
        PAM_IGNORE,
        nobody
    );
    let mut root = site.start("sshd", "root", no_prompts());
    assert_code!(
        root.module_authenticate(module_so(), &site.args(&[])),
        PAM_SUCCESS,
        root
    );
    assert!(
        shows(&root, "becomes mandatory"),
        "{}",
        transcript(&root.shown())
    );
    // A name NSS does not know is not a user at all.
    let mut ghost = site.start_unknown("sshd", "no-such-user-here", no_prompts());
    assert_code!(
        ghost.module_authenticate(module_so(), &site.args(&[])),
        PAM_USER_UNKNOWN,
        ghost
    );
}

#[test]
fn grace_period_reminds_and_lets_in() {
    let site = Site::new(
        "grace",
        "[enforcement]\nmode = \"required-for-all\"\ngrace_period = \"14d\"\n",
    );
    site.service("sshd", &[]);
    let mut tx = site.start("sshd", "dave", no_prompts());
    assert_code!(tx.authenticate(), PAM_SUCCESS, tx);
    let deadline = UnixTime(now().0 + 14 * 86_400).to_string();
    assert!(
        shows(&tx, "becomes mandatory for your account on 20"),
        "{}",
        transcript(&tx.shown())
    );
    assert!(
        shows(&tx, &deadline[..10]),
        "deadline {deadline}: {}",
        transcript(&tx.shown())
    );
    assert_code!(tx.acct_mgmt(), PAM_SUCCESS, tx);
}

#[test]
fn overdue_enrollment_is_denied() {
    let site = Site::new(
        "overdue",
        "[enforcement]\nmode = \"required-for-all\"\ngrace_period = \"0s\"\n",
    );
    site.service("sshd", &[]);
    let mut tx = site.start("sshd", "dave", no_prompts());
    assert_code!(tx.authenticate(), PAM_AUTH_ERR, tx);
    assert!(
        shows(&tx, "enrollment was due by"),
        "{}",
        transcript(&tx.shown())
    );
    let mut acct = site.start("sshd", "dave", no_prompts());
    assert_code!(acct.acct_mgmt(), PAM_PERM_DENIED, acct);
}

#[test]
fn lockout_returns_maxtries_and_says_until_when() {
    let site = Site::new(
        "lockout",
        "[enforcement]\nmode = \"required-for-all\"\n[lockout]\nmax_failures = 3\n",
    );
    site.service("sshd", &[]);
    let secret = new_secret();
    site.provision("alice", &secret);
    let wrong = other_than(&oathtool(&secret));
    for want in [PAM_AUTH_ERR, PAM_AUTH_ERR, PAM_MAXTRIES] {
        let mut tx = site.start("sshd", "alice", answers(&[&wrong]));
        assert_code!(tx.authenticate(), want, tx);
    }
    let mut tx = site.start("sshd", "alice", no_prompts());
    assert_code!(tx.authenticate(), PAM_MAXTRIES, tx);
    assert!(shows(&tx, "locked until 20"), "{}", transcript(&tx.shown()));
}

/// Passes MFA for `user` at `at` directly through the engine (e.g. an hour ago).
fn verify_at(site: &Site, user: &str, secret: &[u8], at: UnixTime) {
    let policy = Policy::from_toml(&std::fs::read_to_string(&site.policy).unwrap()).unwrap();
    let key = load_key_file(&site.key).unwrap();
    let code = oathtool_at(secret, &format!("@{}", at.0));
    let ctx = Context {
        service: "sshd".into(),
        remote: Some("192.0.2.10".into()),
        action: None,
        session: None,
    };
    let v = SledStore::transaction(&site.db, Duration::from_secs(30), |store| {
        Engine::new(&policy, &key, store).verify(
            user,
            code.as_bytes(),
            &ctx,
            at,
            &mut OsRandom::new(),
        )
    })
    .unwrap();
    assert!(
        matches!(v, planasonix_core::Verification::Accepted { .. }),
        "{v:?}"
    );
}

#[test]
fn step_up_for_sudo_accepts_fresh_mfa_and_asks_after_stale() {
    let site = Site::new(
        "stepup",
        "[enforcement]\nmode = \"optional\"\n[step_up]\nsudo = \"5m\"\n",
    );
    site.service("sshd", &[]);
    site.service("sudo", &["action=sudo"]);
    let fresh_secret = new_secret();
    site.provision("fresh", &fresh_secret);
    let mut login = site.start("sshd", "fresh", answers(&[&oathtool(&fresh_secret)]));
    assert_code!(login.authenticate(), PAM_SUCCESS, login);
    let mut sudo = site.start("sudo", "fresh", no_prompts());
    assert_code!(sudo.authenticate(), PAM_SUCCESS, sudo);
    assert_code!(sudo.acct_mgmt(), PAM_SUCCESS, sudo);

    let hour_ago = UnixTime(now().0 - 3600);
    let stale_secret = new_secret();
    site.provision_at("stale", &stale_secret, UnixTime(hour_ago.0 - 60));
    verify_at(&site, "stale", &stale_secret, hour_ago);
    let mut sudo = site.start("sudo", "stale", answers(&[&oathtool(&stale_secret)]));
    assert_code!(sudo.authenticate(), PAM_SUCCESS, sudo);
    assert!(
        shows(&sudo, "sudo needs a recent second factor"),
        "{}",
        transcript(&sudo.shown())
    );
    assert_eq!(prompts(&sudo.shown()), ["Verification code: "]);
    // Stale, and a wrong answer: refused.
    let other = new_secret();
    site.provision_at("stale2", &other, UnixTime(hour_ago.0 - 60));
    verify_at(&site, "stale2", &other, hour_ago);
    let mut sudo = site.start("sudo", "stale2", answers(&[&other_than(&oathtool(&other))]));
    assert_code!(sudo.authenticate(), PAM_AUTH_ERR, sudo);
    // An action the policy does not define fails closed.
    site.service("bad-action", &["action=export-secrets"]);
    let mut tx = site.start("bad-action", "fresh", no_prompts());
    assert_code!(tx.authenticate(), PAM_AUTHINFO_UNAVAIL, tx);
}

#[test]
fn account_stage_refuses_logins_that_skipped_mfa() {
    let site = Site::new("acct", REQUIRED);
    site.service("sshd", &[]);
    let secret = new_secret();
    site.provision("alice", &secret);
    // sshd public-key-only: the auth stack never ran.
    let mut pubkey = site.start("sshd", "alice", no_prompts());
    assert_code!(pubkey.acct_mgmt(), PAM_PERM_DENIED, pubkey);
    assert!(shows(
        &pubkey,
        "AuthenticationMethods publickey,keyboard-interactive"
    ));
    // sshd keyboard-interactive: auth and account on the same handle.
    let mut kbdint = site.start("sshd", "alice", answers(&[&oathtool(&secret)]));
    assert_code!(kbdint.authenticate(), PAM_SUCCESS, kbdint);
    assert_code!(kbdint.acct_mgmt(), PAM_SUCCESS, kbdint);
    drop(kbdint);
    // A key-only login opened beside it seconds later must not ride it.
    let mut beside = site.start("sshd", "alice", no_prompts());
    assert_code!(beside.acct_mgmt(), PAM_PERM_DENIED, beside);
}

#[test]
fn enrollment_at_login_during_grace() {
    let site = Site::new(
        "enroll",
        "[enforcement]\nmode = \"required-for-all\"\nenroll_at_login = true\n",
    );
    site.service("sshd", &[]);
    let key_of = |shown: &[Shown]| -> Vec<u8> {
        let line = shown
            .iter()
            .map(Shown::text)
            .find(|t| t.contains("by hand: "))
            .expect("no key shown");
        let b32 = line
            .split("by hand: ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        planasonix_core::otpauth::parse_base32(b32).unwrap()
    };
    let responder: crate::common::libpam::Responder = Box::new(move |shown| {
        let prompt = shown.last().unwrap().text().to_owned();
        Some(match prompt.as_str() {
            "Set up an authenticator app now? [y/N]: " => "y".into(),
            "Code shown by the app: " => oathtool(&key_of(shown)),
            "Next code shown by the app: " => {
                oathtool_at(&key_of(shown), &format!("@{}", now().0 + 30))
            }
            other => panic!("unexpected prompt {other:?}"),
        })
    });
    let mut tx = site.start("sshd", "erin", responder);
    assert_code!(tx.authenticate(), PAM_SUCCESS, tx);
    assert!(shows(&tx, "█"), "no QR code shown");
    let shown = tx.shown();
    let codes = shown
        .iter()
        .find(|s| s.text().contains("recovery codes"))
        .unwrap()
        .text()
        .to_owned();
    assert_eq!(
        codes.lines().filter(|l| l.trim().len() == 11).count(),
        10,
        "{codes}"
    );
    // The account stage on the same handle sees the passed MFA.
    assert_code!(tx.acct_mgmt(), PAM_SUCCESS, tx);
    drop(tx);
    // From now on erin is asked for a code.
    let mut next = site.start("sshd", "erin", answers(&["000000"]));
    let rc = next.authenticate();
    assert!(rc == PAM_AUTH_ERR || rc == PAM_SUCCESS, "{}", name(rc));
    assert_eq!(prompts(&next.shown()), ["Verification code: "]);
}

#[test]
fn sms_goes_through_the_configured_command() {
    let site = Site::new(
        "sms",
        "[enforcement]\nmode = \"required-for-all\"\n[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\nresend_interval = \"0s\"\n",
    );
    let outbox = site.dir.join("outbox");
    let script = site.dir.join("send-sms");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{{ echo \"$1\"; cat; }} > {}\n",
            outbox.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    site.service("sshd", &[&format!("sms_command={}", script.display())]);
    site.enroll_sms("frank", "+447700900123");
    let file = outbox.clone();
    let responder: crate::common::libpam::Responder = Box::new(move |shown| {
        let prompt = shown.last().unwrap().text().to_owned();
        if prompt == "Verification code: " {
            return Some("sms".into());
        }
        assert!(prompt.starts_with("Code sent by SMS to +44"), "{prompt:?}");
        let sent = std::fs::read_to_string(&file).unwrap();
        let mut lines = sent.lines();
        assert_eq!(lines.next(), Some("+447700900123"));
        Some(sms_code(lines.next().unwrap()))
    });
    let mut tx = site.start("sshd", "frank", responder);
    assert_code!(tx.authenticate(), PAM_SUCCESS, tx);
    assert!(outbox.is_file());
}

#[test]
fn unusable_policy_key_or_store_fail_closed() {
    let site = Site::new("broken", REQUIRED);
    let secret = new_secret();
    site.provision("alice", &secret);
    let check = |service: &str, extra: &[&str]| {
        site.service(service, extra);
        let mut tx = site.start(service, "alice", no_prompts());
        assert_code!(tx.authenticate(), PAM_AUTHINFO_UNAVAIL, tx);
        let mut tx = site.start(service, "alice", no_prompts());
        assert_code!(tx.acct_mgmt(), PAM_AUTHINFO_UNAVAIL, tx);
    };
    // Unknown and malformed arguments.
    check("unknown-arg", &["nullok"]);
    check("malformed-arg", &["db="]);
    // A policy with an unknown key.
    let bad_policy = site.dir.join("bad.toml");
    std::fs::write(&bad_policy, "[enforcement]\nmode = \"required-for-al\"\n").unwrap();
    check(
        "bad-policy",
        &[format!("config={}", bad_policy.display()).as_str()],
    );
    // Missing and too-open keys.
    check(
        "no-key",
        &[format!("key={}", site.dir.join("missing.key").display()).as_str()],
    );
    let open_key = site.dir.join("open.key");
    std::fs::copy(&site.key, &open_key).unwrap();
    std::fs::set_permissions(&open_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    check(
        "open-key",
        &[format!("key={}", open_key.display()).as_str()],
    );
    // A store that cannot be opened (its path runs through a regular file).
    check(
        "no-store",
        &[format!("db={}/db", site.policy.display()).as_str()],
    );
    // A corrupt record.
    SledStore::transaction(&site.db, Duration::from_secs(30), |store| {
        let v = planasonix_core::Store::get(store, "user/alice")?.unwrap();
        planasonix_core::Store::compare_and_swap(
            store,
            "user/alice",
            Some(v.version),
            Some(b"{not json"),
        )
    })
    .unwrap();
    check("corrupt-record", &[]);
}

/// Runs `pamtester SERVICE USER authenticate` under pam_wrapper with `input`
/// on standard input; returns (success, output).
fn pamtester(site: &Site, service: &str, user: &str, input: &str) -> (bool, String) {
    let mut cmd = std::process::Command::new("pamtester");
    cmd.args(["-I", "rhost=192.0.2.10", service, user, "authenticate"]);
    pam_wrapper::wrap(&mut cmd, &site.confdir);
    run_wrapped(
        &mut cmd,
        input,
        "pamtester is required (apt install pamtester libpam-wrapper)",
    )
}

/// pam_wrapper's own directory choice races (see crate::common::pam_wrapper): 12
/// pamtesters started at once failed 7 times in 120 before starts were
/// serialised. A failed start here is the harness, never the module.
#[test]
fn pamtesters_started_together_all_get_their_pam_files() {
    let site = Site::new("pwrap-starts", REQUIRED);
    std::fs::write(site.confdir.join("permit"), "auth required pam_permit.so\n").unwrap();
    for _round in 0..4 {
        let runs: Vec<_> = (0..12)
            .map(|_| {
                let confdir = site.confdir.clone();
                std::thread::spawn(move || {
                    let mut cmd = std::process::Command::new("pamtester");
                    cmd.args(["permit", "root", "authenticate"]);
                    pam_wrapper::wrap(&mut cmd, &confdir);
                    run_wrapped(&mut cmd, "", "pamtester and libpam-wrapper are required")
                })
            })
            .collect();
        for run in runs {
            let (ok, text) = run.join().unwrap();
            assert!(
                ok,
                "pam_permit refused a pamtester started with others:\n{text}"
            );
        }
    }
}

#[test]
fn pamtester_under_pam_wrapper() {
    let site = Site::new("pamtester", REQUIRED);
    site.service("demo", &[]);
    let secret = new_secret();
    site.provision("alice", &secret);
    let (ok, out) = pamtester(&site, "demo", "alice", &format!("{}\n", oathtool(&secret)));
    assert!(ok && out.contains("successfully authenticated"), "{out}");
    let (ok, out) = pamtester(
        &site,
        "demo",
        "alice",
        &format!("{}\n", other_than(&oathtool(&secret))),
    );
    assert!(
        !ok && out.contains("Wrong code") && out.contains("Authentication failure"),
        "{out}"
    );
}

#[test]
fn syslog_is_authpriv_with_context_and_never_a_code() {
    let site = Site::new("syslog", REQUIRED);
    site.service("demo", &["debug"]);
    let secret = new_secret();
    let recovery = site.provision("alice", &secret);
    let code = oathtool(&secret);
    let (ok, lines) = pamtester_syslog(&site, "demo", "alice", &format!("{code}\n"));
    assert!(ok, "{lines:#?}");
    let ours: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("pam_planasonix(demo:auth)"))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.contains("user=alice service=demo remote=192.0.2.10: accepted")),
        "{lines:#?}"
    );
    assert!(
        ours.iter()
            .any(|l| l.contains("audit: user=alice service=demo remote=192.0.2.10 event=verified")),
        "{lines:#?}"
    );
    for line in &ours {
        // <PRI> = facility * 8 + severity; LOG_AUTHPRIV is facility 10.
        let pri: u32 = line[1..line.find('>').unwrap()].parse().unwrap();
        assert_eq!(pri / 8, 10, "not LOG_AUTHPRIV: {line}");
        assert!(!line.contains(&code), "a code reached syslog: {line}");
    }
    // A recovery code, a wrong code: neither is logged either.
    let (_, lines) = pamtester_syslog(&site, "demo", "alice", &format!("{}\n", recovery[0]));
    let (_, more) = pamtester_syslog(&site, "demo", "alice", "123456\n");
    for line in lines.iter().chain(&more) {
        assert!(
            !line.contains(&recovery[0]) && !line.contains("123456"),
            "{line}"
        );
    }
}
