//! Terminal logins approved at the identity provider, through the engine:
//! the request bound to one login, number matching, single use, and each
//! way an attacker would try it (another user's sign-in, a wrong number,
//! guessing codes, a stale or weaker sign-in, replaying an approval,
//! bombing a user with requests) refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{ctx, enroll, Fixture, T0};
use planasonix_core::policy::Require;
use planasonix_core::*;
use std::time::Duration;

const POLICY: &str = "[enforcement]\nmode = \"required-for-all\"\n[approval]\nenabled = true\nurl = \"https://login.example.com/approve\"\nservices = [\"sshd\", \"sudo\"]\nrequire = { sudo = \"phishing-resistant\" }\n";

fn rng(seed: u64) -> SeededRandom {
    SeededRandom::new(seed)
}

/// A sign-in at the provider whose second factor passed `ago` before `now`.
fn signed_in(now: UnixTime, ago: u64, phishing_resistant: bool) -> Session {
    Session {
        mfa_at: Some(now.minus(Duration::from_secs(ago))),
        epoch: None,
        phishing_resistant,
    }
}

fn amr() -> Vec<String> {
    vec!["pwd".into(), "otp".into(), "mfa".into()]
}

fn sudo() -> Context {
    Context {
        service: "sudo".into(),
        remote: None,
        action: None,
        session: None,
    }
}

fn approval_error(r: Result<impl std::fmt::Debug, Error>) -> ApprovalError {
    match r {
        Err(Error::Approval(e)) => e,
        other => panic!("expected an approval error, got {other:?}"),
    }
}

fn kinds(f: &Fixture) -> Vec<String> {
    f.events()
        .iter()
        .filter_map(|k| {
            let name = serde_json::to_value(k).ok()?["event"].as_str()?.to_owned();
            name.starts_with("approval").then_some(name)
        })
        .collect()
}

#[test]
fn the_right_number_approves_the_login_once() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    let start = e
        .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(1))
        .unwrap();
    assert_eq!(start.url, "https://login.example.com/approve");
    assert_eq!(start.expires, T0.plus(Duration::from_secs(120)));
    assert!((10..=99).contains(&start.number));
    assert_eq!(start.code.len(), 7);
    assert_eq!(&start.code[3..4], "-");
    assert_eq!(start.handle.len(), 32);
    assert_eq!(
        e.approval_outcome("alice", &start.handle, &ctx(), T0)
            .unwrap(),
        ApprovalOutcome::Waiting {
            expires: start.expires
        }
    );

    let at = T0.plus(Duration::from_secs(20));
    // Typed as a person would: lower case, without the dash.
    let typed = start.code.replace('-', "").to_lowercase();
    let view = e.approval_request("alice", &typed, at).unwrap();
    assert_eq!(view.host, "db-7");
    assert_eq!(view.service, "sshd");
    assert_eq!(view.remote.as_deref(), Some("192.0.2.10"));
    assert!(view.choices.contains(&start.number));
    assert_eq!(
        view.choices
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3,
        "three different numbers"
    );
    assert_eq!(
        e.answer_approval(
            "alice",
            &typed,
            ApprovalAnswer::Number(start.number),
            &signed_in(at, 30, false),
            &amr(),
            at
        )
        .unwrap(),
        Answered::Approved
    );
    assert_eq!(
        e.approval_outcome("alice", &start.handle, &ctx(), at)
            .unwrap(),
        ApprovalOutcome::Approved
    );
    // Replaying the approval: the login took it; a second look finds nothing.
    assert_eq!(
        e.approval_outcome("alice", &start.handle, &ctx(), at)
            .unwrap(),
        ApprovalOutcome::Gone
    );
    // And the answered code no longer approves anything.
    assert_eq!(
        approval_error(e.answer_approval(
            "alice",
            &typed,
            ApprovalAnswer::Number(start.number),
            &signed_in(at, 30, false),
            &amr(),
            at
        )),
        ApprovalError::NotFound
    );
    assert_eq!(
        kinds(&f),
        ["approval-requested", "approval-approved", "approval-used"]
    );
    let approved = f
        .events()
        .into_iter()
        .find_map(|k| match k {
            AuditKind::ApprovalApproved { login_host, amr } => Some((login_host, amr)),
            _ => None,
        })
        .unwrap();
    assert_eq!(approved, ("db-7".into(), "pwd otp mfa".into()));
    // The trail stores and reads them back (an event's own fields and its
    // kind's share one JSON object).
    let trail: Vec<String> = e
        .audit_log(Some("alice"), None)
        .unwrap()
        .iter()
        .map(|event| event.to_string())
        .collect();
    assert!(
        trail
            .iter()
            .any(|l| l.contains("event=approval-approved login_host=db-7")),
        "{trail:#?}"
    );
}

#[test]
fn another_users_sign_in_cannot_find_or_approve_it() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    enroll(&f, "mallory", T0);
    let e = f.engine();
    let start = e
        .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(1))
        .unwrap();
    // Mallory, signed in as herself, types alice's code and number.
    assert_eq!(
        approval_error(e.approval_request("mallory", &start.code, T0)),
        ApprovalError::NotFound
    );
    assert_eq!(
        approval_error(e.answer_approval(
            "mallory",
            &start.code,
            ApprovalAnswer::Number(start.number),
            &signed_in(T0, 0, true),
            &amr(),
            T0
        )),
        ApprovalError::NotFound
    );
    assert_eq!(
        e.approval_outcome("alice", &start.handle, &ctx(), T0)
            .unwrap(),
        ApprovalOutcome::Waiting {
            expires: start.expires
        }
    );
    // Nor can a login ask about a request by anything but its own handle.
    assert_eq!(
        e.approval_outcome("alice", &start.code, &ctx(), T0)
            .unwrap(),
        ApprovalOutcome::Gone
    );
}

#[test]
fn a_wrong_number_refuses_the_login_and_counts_as_a_failure() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    let start = e
        .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(1))
        .unwrap();
    let view = e.approval_request("alice", &start.code, T0).unwrap();
    let wrong = *view.choices.iter().find(|n| **n != start.number).unwrap();
    assert_eq!(
        e.answer_approval(
            "alice",
            &start.code,
            ApprovalAnswer::Number(wrong),
            &signed_in(T0, 0, false),
            &amr(),
            T0
        )
        .unwrap(),
        Answered::WrongNumber
    );
    assert_eq!(
        e.approval_outcome("alice", &start.handle, &ctx(), T0)
            .unwrap(),
        ApprovalOutcome::Denied
    );
    assert_eq!(e.status("alice", T0).unwrap().recent_failures, 1);
    assert!(f.events().contains(&AuditKind::ApprovalDenied {
        login_host: "db-7".into(),
        reason: "wrong-number".into()
    }));
    // A second pick after the refusal changes nothing.
    assert_eq!(
        approval_error(e.answer_approval(
            "alice",
            &start.code,
            ApprovalAnswer::Number(start.number),
            &signed_in(T0, 0, false),
            &amr(),
            T0
        )),
        ApprovalError::NotFound
    );
}

#[test]
fn this_wasnt_me_refuses_warns_notifies_and_locks_the_address_out() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    let mut last = None;
    for i in 0..5u64 {
        let at = T0.plus(Duration::from_secs(i));
        let start = e
            .begin_approval("alice", "db-7", &ctx(), at, &mut rng(i + 1))
            .unwrap();
        // "This wasn't me" needs no fresh second factor: it can only refuse.
        assert_eq!(
            e.answer_approval(
                "alice",
                &start.code,
                ApprovalAnswer::NotMe,
                &Session::default(),
                &[],
                at
            )
            .unwrap(),
            Answered::Denied
        );
        last = Some(start);
    }
    let last = last.unwrap();
    let events = f.events();
    let denied = events
        .iter()
        .filter(|k| matches!(k, AuditKind::ApprovalDenied { reason, .. } if reason == "not-me"))
        .count();
    assert_eq!(denied, 5);
    assert!(f
        .outbox
        .notice_kinds()
        .contains(&NoticeKind::LoginApprovalDenied));
    // Five refusals from the login's address lock that address out, as
    // five wrong codes from it would.
    assert!(events
        .iter()
        .any(|k| matches!(k, AuditKind::RemoteLocked { .. })));
    assert_eq!(
        e.approval_outcome("alice", &last.handle, &ctx(), T0)
            .unwrap(),
        ApprovalOutcome::Denied
    );
    assert!(matches!(
        e.begin_approval("alice", "db-7", &ctx(), T0, &mut rng(9)),
        Err(Error::Locked { .. })
    ));
    let level = planasonix_core::AuditEvent {
        at: T0,
        user: "alice".into(),
        service: None,
        remote: None,
        host: None,
        kind: AuditKind::ApprovalDenied {
            login_host: "db-7".into(),
            reason: "not-me".into(),
        },
    }
    .level();
    assert_eq!(level, Level::Warning);
}

#[test]
fn denials_count_only_where_the_policy_says() {
    let f = Fixture::new(&POLICY.replace("[approval]\n", "[approval]\ndenial_counts = false\n"));
    enroll(&f, "alice", T0);
    let e = f.engine();
    let start = e
        .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(1))
        .unwrap();
    e.answer_approval(
        "alice",
        &start.code,
        ApprovalAnswer::NotMe,
        &Session::default(),
        &[],
        T0,
    )
    .unwrap();
    assert_eq!(e.status("alice", T0).unwrap().recent_failures, 0);
}

#[test]
fn an_expired_request_cannot_be_approved_and_the_login_falls_back() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    let start = e
        .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(1))
        .unwrap();
    let late = start.expires;
    assert_eq!(
        approval_error(e.answer_approval(
            "alice",
            &start.code,
            ApprovalAnswer::Number(start.number),
            &signed_in(late, 0, false),
            &amr(),
            late
        )),
        ApprovalError::NotFound
    );
    assert_eq!(
        e.approval_outcome("alice", &start.handle, &ctx(), late)
            .unwrap(),
        ApprovalOutcome::Expired
    );
    assert!(kinds(&f).contains(&"approval-expired".to_owned()));
}

#[test]
fn a_code_typed_meanwhile_voids_the_request() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    let start = e
        .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(1))
        .unwrap();
    e.void_approval("alice", &start.handle, "a code was typed", &ctx(), T0)
        .unwrap();
    assert_eq!(
        approval_error(e.approval_request("alice", &start.code, T0)),
        ApprovalError::NotFound
    );
    assert_eq!(
        e.approval_outcome("alice", &start.handle, &ctx(), T0)
            .unwrap(),
        ApprovalOutcome::Gone
    );
    assert!(f.events().contains(&AuditKind::ApprovalVoided {
        login_host: "db-7".into(),
        reason: "a code was typed".into()
    }));
}

#[test]
fn the_approving_sign_in_must_be_recent_and_as_strong_as_the_service_needs() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    let ssh = e
        .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(1))
        .unwrap();
    let answer = |code: &str, n: u8, session: Session| {
        e.answer_approval(
            "alice",
            code,
            ApprovalAnswer::Number(n),
            &session,
            &amr(),
            T0,
        )
    };
    for stale in [
        Session::default(),
        signed_in(T0, 301, false),
        Session {
            mfa_at: Some(T0.plus(Duration::from_secs(60))),
            ..Session::default()
        },
    ] {
        assert_eq!(
            approval_error(answer(&ssh.code, ssh.number, stale)),
            ApprovalError::StaleSignIn,
            "{stale:?}"
        );
    }
    let su = e
        .begin_approval("alice", "db-7", &sudo(), T0, &mut rng(2))
        .unwrap();
    assert_eq!(
        e.approval_request("alice", &su.code, T0).unwrap().require,
        Require::PhishingResistant
    );
    assert_eq!(
        approval_error(answer(&su.code, su.number, signed_in(T0, 10, false))),
        ApprovalError::NeedsPhishingResistant
    );
    // Refusals for want of a sign-in leave the requests answerable.
    assert_eq!(
        answer(&su.code, su.number, signed_in(T0, 10, true)).unwrap(),
        Answered::Approved
    );
    assert_eq!(
        answer(&ssh.code, ssh.number, signed_in(T0, 300, false)).unwrap(),
        Answered::Approved
    );
}

#[test]
fn guessing_codes_is_bounded_per_user() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    let start = e
        .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(1))
        .unwrap();
    let wrong = if start.code == "AAA-AAA" {
        "CCC-CCC"
    } else {
        "AAA-AAA"
    };
    for _ in 0..MAX_CODE_MISSES {
        assert_eq!(
            approval_error(e.approval_request("alice", wrong, T0)),
            ApprovalError::NotFound
        );
    }
    // Now even the right code is refused, until the misses age out.
    assert_eq!(
        approval_error(e.approval_request("alice", &start.code, T0)),
        ApprovalError::TooManyCodes {
            until: T0.plus(Duration::from_secs(120))
        }
    );
    // Junk that cannot be a code is a miss too, and never a panic.
    let later = T0.plus(Duration::from_secs(100));
    let f2 = Fixture::new(POLICY);
    enroll(&f2, "bob", T0);
    for junk in ["", "ÄÄÄ-ÄÄÄ", "'; DROP TABLE", &"A".repeat(10_000), "\u{0}"] {
        assert_eq!(
            approval_error(f2.engine().approval_request("bob", junk, later)),
            ApprovalError::NotFound
        );
    }
    let again = T0.plus(Duration::from_secs(121));
    let fresh = e
        .begin_approval("alice", "db-7", &ctx(), again, &mut rng(2))
        .unwrap();
    assert!(e.approval_request("alice", &fresh.code, again).is_ok());
}

#[test]
fn requests_are_bounded_and_offered_only_where_the_policy_says() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    for i in 0..3 {
        e.begin_approval("alice", "db-7", &ctx(), T0, &mut rng(i))
            .unwrap();
    }
    assert_eq!(
        approval_error(e.begin_approval("alice", "db-7", &ctx(), T0, &mut rng(5))),
        ApprovalError::TooMany
    );
    // Once they lapse, a new one may be asked for.
    let later = T0.plus(Duration::from_secs(120));
    e.begin_approval("alice", "db-7", &ctx(), later, &mut rng(6))
        .unwrap();
    let login = Context {
        service: "login".into(),
        ..ctx()
    };
    assert_eq!(
        approval_error(e.begin_approval("alice", "tty1", &login, T0, &mut rng(7))),
        ApprovalError::NotOffered
    );
    let off = Fixture::new("");
    assert_eq!(
        approval_error(
            off.engine()
                .begin_approval("alice", "db-7", &ctx(), T0, &mut rng(8))
        ),
        ApprovalError::NotOffered
    );
}

#[test]
fn hostile_login_fields_are_kept_clean() {
    let f = Fixture::new(POLICY);
    enroll(&f, "alice", T0);
    let e = f.engine();
    let hostile = Context {
        service: "sshd".into(),
        remote: Some(format!("10.0.0.1\n\u{1b}[2Juser=root {}", "x".repeat(1000))),
        action: None,
        session: None,
    };
    let start = e
        .begin_approval("alice", "db-7\r\nFAKE LINE", &hostile, T0, &mut rng(1))
        .unwrap();
    let view = e.approval_request("alice", &start.code, T0).unwrap();
    assert_eq!(view.host, "db-7FAKE LINE");
    let remote = view.remote.unwrap();
    assert!(!remote.chars().any(char::is_control));
    assert_eq!(remote.chars().count(), 128);
}

#[test]
fn sixteen_parallel_logins_are_each_approved_once() {
    let f = Fixture::new(POLICY);
    let users: Vec<String> = (0..16).map(|i| format!("user{i:02}")).collect();
    for u in &users {
        enroll(&f, u, T0);
    }
    std::thread::scope(|s| {
        for (i, user) in users.iter().enumerate() {
            let f = &f;
            s.spawn(move || {
                let e = f.engine();
                let start = e
                    .begin_approval(user, "db-7", &ctx(), T0, &mut rng(100 + i as u64))
                    .unwrap();
                assert_eq!(
                    e.answer_approval(
                        user,
                        &start.code,
                        ApprovalAnswer::Number(start.number),
                        &signed_in(T0, 1, false),
                        &amr(),
                        T0
                    )
                    .unwrap(),
                    Answered::Approved
                );
                let taken =
                    [0, 1].map(|_| e.approval_outcome(user, &start.handle, &ctx(), T0).unwrap());
                assert_eq!(taken, [ApprovalOutcome::Approved, ApprovalOutcome::Gone]);
            });
        }
    });
    let used = f
        .events()
        .iter()
        .filter(|k| matches!(k, AuditKind::ApprovalUsed { .. }))
        .count();
    assert_eq!(used, 16);
}

#[test]
fn the_policy_refuses_an_approval_section_it_cannot_use() {
    for (text, expected) in [
        ("[approval]\nenabled = true\n", "url does not name"),
        (
            "[approval]\nenabled = true\nurl = \"http://login.example.com/approve\"\n",
            "https://HOST/PATH",
        ),
        (
            "[approval]\nurl = \"javascript:alert(1)\"\n",
            "https://HOST/PATH",
        ),
        (
            "[approval]\nurl = \"https://login.example.com/a\\\"><script>\"\n",
            "without spaces or quotes",
        ),
        ("[approval]\nmax_pending = 0\n", "between 1 and 10"),
        ("[approval]\nlifetime = \"11m\"\n", "between 30s and 10m"),
        (
            "[approval]\nservices = [\"sshd\"]\nrequire = { sudo = \"phishing-resistant\" }\n",
            "not one of the services",
        ),
        (
            "[approval]\nrequire = { sshd = \"passkey\" }\n",
            "unknown variant",
        ),
    ] {
        let err = Policy::from_toml(text).unwrap_err().to_string();
        assert!(err.contains(expected), "{text}: {err}");
    }
    let ok =
        Policy::from_toml("[approval]\nenabled = true\nurl = \"http://localhost:8080/approve\"\n")
            .unwrap();
    assert!(ok.approval.offered_to("sshd"));
    assert!(!ok.approval.offered_to("sudo"));
}
