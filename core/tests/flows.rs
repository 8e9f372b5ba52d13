//! Whole user stories through the engine, with a fixed clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{code_at, ctx, enroll, Fixture, T0};
use planasonix_core::input::InputError;
use planasonix_core::*;
use std::time::Duration;

const SMS_POLICY: &str = "[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\n";

fn rng() -> SeededRandom {
    SeededRandom::new(1)
}

#[test]
fn totp_enrollment_needs_a_right_code_and_yields_recovery_codes() {
    let f = Fixture::new("");
    let e = f.engine();
    let pending = e.begin_totp("alice", T0, &mut rng()).unwrap();
    assert!(
        pending.secret_base32.expose().len() >= 32,
        "≥ 160-bit secret"
    );
    assert!(pending
        .uri
        .expose()
        .starts_with("otpauth://totp/Planasonix:alice?secret="));
    assert!(!format!("{pending:?}").contains(pending.secret_base32.expose()));
    assert_eq!(e.status("alice", T0).unwrap().pending, vec![Factor::Totp]);
    assert!(
        !e.status("alice", T0).unwrap().enrolled,
        "pending is not enrolled"
    );

    assert_eq!(
        e.confirm_totp("alice", b"000000", T0, &mut rng())
            .unwrap_err(),
        Error::WrongCode
    );
    let code = code_at(pending.secret_base32.expose(), T0);
    let done = e
        .confirm_totp("alice", code.as_bytes(), T0, &mut rng())
        .unwrap();
    assert_eq!(done.recovery_codes.len(), 10);
    let st = e.status("alice", T0).unwrap();
    assert!(st.enrolled);
    assert_eq!(st.factors, vec![Factor::Totp, Factor::Recovery]);
    assert_eq!(st.recovery_remaining, 10);
    assert_eq!(
        e.confirm_totp("alice", code.as_bytes(), T0, &mut rng())
            .unwrap_err(),
        Error::NoPendingEnrollment(Factor::Totp)
    );
    assert!(f
        .outbox
        .notice_kinds()
        .contains(&NoticeKind::FactorAdded(Factor::Totp)));
}

#[test]
fn codes_verify_within_skew_and_never_twice() {
    let f = Fixture::new("");
    let (secret, _) = enroll(&f, "alice", T0);
    let e = f.engine();
    let later = T0.plus(Duration::from_secs(60));
    // The enrollment code's step is spent; the next step's code works once.
    let code = code_at(&secret, later);
    assert!(matches!(
        e.verify("alice", code.as_bytes(), &ctx(), later, &mut rng())
            .unwrap(),
        Verification::Accepted {
            factor: Factor::Totp,
            ..
        }
    ));
    assert!(matches!(
        e.verify("alice", code.as_bytes(), &ctx(), later, &mut rng())
            .unwrap(),
        Verification::Replayed { failures_left: 4 }
    ));
    // An older step inside the skew window is a replay too: steps only move forward.
    let older = code_at(&secret, later.minus(Duration::from_secs(30)));
    assert!(matches!(
        e.verify("alice", older.as_bytes(), &ctx(), later, &mut rng())
            .unwrap(),
        Verification::Replayed { .. } | Verification::Rejected { .. }
    ));
    // One step ahead (clock drift) is accepted; three steps ahead is not.
    let ahead = code_at(&secret, later.plus(Duration::from_secs(30)));
    assert!(matches!(
        e.verify("alice", ahead.as_bytes(), &ctx(), later, &mut rng())
            .unwrap(),
        Verification::Accepted { .. }
    ));
    let far = code_at(&secret, later.plus(Duration::from_secs(120)));
    assert!(matches!(
        e.verify("alice", far.as_bytes(), &ctx(), later, &mut rng())
            .unwrap(),
        Verification::Rejected { .. }
    ));
    assert!(f.events().contains(&AuditKind::Replay));
}

#[test]
fn recovery_codes_work_once_notify_and_regenerate() {
    let f = Fixture::new("");
    let (_, codes) = enroll(&f, "alice", T0);
    let e = f.engine();
    let typed = codes[3].to_lowercase().replace('-', " ");
    let out = e
        .verify("alice", typed.as_bytes(), &ctx(), T0, &mut rng())
        .unwrap();
    assert_eq!(
        out,
        Verification::Accepted {
            factor: Factor::Recovery,
            recovery_remaining: 9
        }
    );
    // Typed again: the user is told it was used, and it counts as a failure.
    assert_eq!(
        e.verify("alice", codes[3].as_bytes(), &ctx(), T0, &mut rng())
            .unwrap(),
        Verification::RecoveryCodeSpent { failures_left: 4 }
    );
    assert!(f.events().contains(&AuditKind::RecoveryCodeReused));
    assert!(f
        .outbox
        .notice_kinds()
        .contains(&NoticeKind::RecoveryCodeUsed { remaining: 9 }));
    assert!(f
        .events()
        .contains(&AuditKind::RecoveryCodeUsed { remaining: 9 }));

    let fresh = e.regenerate_recovery("alice", T0, &mut rng()).unwrap();
    assert_eq!(fresh.len(), 10);
    assert_eq!(e.status("alice", T0).unwrap().recovery_remaining, 10);
    assert!(
        matches!(
            e.verify("alice", codes[4].as_bytes(), &ctx(), T0, &mut rng())
                .unwrap(),
            Verification::Rejected { .. }
        ),
        "old set is void after regeneration"
    );
    assert!(matches!(
        e.verify(
            "alice",
            fresh[0].expose().as_bytes(),
            &ctx(),
            T0,
            &mut rng()
        )
        .unwrap(),
        Verification::Accepted {
            factor: Factor::Recovery,
            ..
        }
    ));
    assert_eq!(
        e.regenerate_recovery("bob", T0, &mut rng()).unwrap_err(),
        Error::NotEnrolled
    );
}

#[test]
fn sms_enrollment_and_login_codes() {
    let f = Fixture::new(SMS_POLICY);
    let e = f.engine();
    assert_eq!(
        e.begin_sms("alice", "+15555550123", T0, &mut rng())
            .unwrap_err(),
        Error::Phone(phone::PhoneError::PrefixNotAllowed)
    );
    assert_eq!(
        e.begin_sms("alice", "07700 900123", T0, &mut rng())
            .unwrap_err(),
        Error::Phone(phone::PhoneError::NotE164)
    );
    let masked = e
        .begin_sms("alice", "+44 7700 900123", T0, &mut rng())
        .unwrap();
    assert_eq!(masked, "+44••••••••23");
    assert_eq!(f.outbox.sms.lock().unwrap()[0].0, "+447700900123");
    let code = f.outbox.last_code();
    assert_eq!(
        e.confirm_sms("alice", b"000000", T0, &mut rng())
            .unwrap_err(),
        Error::WrongCode
    );
    let codes = e
        .confirm_sms("alice", code.as_bytes(), T0, &mut rng())
        .unwrap();
    assert_eq!(codes.len(), 10, "first factor brings recovery codes");
    assert_eq!(
        e.status("alice", T0).unwrap().sms_number.as_deref(),
        Some("+44••••••••23")
    );

    let t = T0.plus(Duration::from_secs(120));
    let out = e.verify("alice", b"sms", &ctx(), t, &mut rng()).unwrap();
    assert_eq!(
        out,
        Verification::SmsSent {
            to: "+44••••••••23".into()
        }
    );
    let code = f.outbox.last_code();
    assert!(matches!(
        e.verify("alice", code.as_bytes(), &ctx(), t, &mut rng())
            .unwrap(),
        Verification::Accepted {
            factor: Factor::Sms,
            ..
        }
    ));
    assert!(
        matches!(
            e.verify("alice", code.as_bytes(), &ctx(), t, &mut rng()),
            Err(Error::Input(InputError::WrongLength { got: 6 }))
        ),
        "a used SMS code is gone"
    );
}

#[test]
fn sms_codes_expire() {
    let f = Fixture::new(SMS_POLICY);
    let e = f.engine();
    e.begin_sms("alice", "+447700900123", T0, &mut rng())
        .unwrap();
    e.confirm_sms("alice", f.outbox.last_code().as_bytes(), T0, &mut rng())
        .unwrap();
    let t = T0.plus(Duration::from_secs(60));
    e.verify("alice", b"sms", &ctx(), t, &mut rng()).unwrap();
    let code = f.outbox.last_code();
    let late = t.plus(Duration::from_secs(301));
    assert!(e
        .verify("alice", code.as_bytes(), &ctx(), late, &mut rng())
        .is_err());
}

#[test]
fn sms_sends_are_rate_limited() {
    let f = Fixture::new(&format!(
        "{SMS_POLICY}max_sends_per_hour = 3\nresend_interval = \"1m\"\n"
    ));
    let e = f.engine();
    e.begin_sms("alice", "+447700900123", T0, &mut rng())
        .unwrap();
    e.confirm_sms("alice", f.outbox.last_code().as_bytes(), T0, &mut rng())
        .unwrap();
    let t1 = T0.plus(Duration::from_secs(30));
    assert_eq!(
        e.send_login_sms("alice", &ctx(), t1, &mut rng())
            .unwrap_err(),
        Error::SmsRateLimited {
            retry_after: T0.plus(Duration::from_secs(60))
        }
    );
    let t2 = T0.plus(Duration::from_secs(60));
    e.send_login_sms("alice", &ctx(), t2, &mut rng()).unwrap();
    let t3 = T0.plus(Duration::from_secs(120));
    e.send_login_sms("alice", &ctx(), t3, &mut rng()).unwrap();
    let t4 = T0.plus(Duration::from_secs(180));
    let err = e
        .send_login_sms("alice", &ctx(), t4, &mut rng())
        .unwrap_err();
    assert_eq!(
        err,
        Error::SmsRateLimited {
            retry_after: T0.plus(Duration::from_secs(3600))
        }
    );
    assert!(err
        .to_string()
        .contains("authenticator app or a recovery code"));
    assert_eq!(f.outbox.sms.lock().unwrap().len(), 3);
    assert!(f.events().contains(&AuditKind::SmsRateLimited));
}

#[test]
fn failed_sms_delivery_says_what_to_do_instead() {
    let f = Fixture::new(SMS_POLICY);
    let e = f.engine();
    e.begin_sms("alice", "+447700900123", T0, &mut rng())
        .unwrap();
    e.confirm_sms("alice", f.outbox.last_code().as_bytes(), T0, &mut rng())
        .unwrap();
    f.outbox
        .fail_sms
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let t = T0.plus(Duration::from_secs(600));
    let err = e
        .verify("alice", b"sms", &ctx(), t, &mut rng())
        .unwrap_err();
    assert_eq!(err, Error::SmsDeliveryFailed("gateway returned 503".into()));
    assert!(err
        .to_string()
        .contains("use your authenticator app or a recovery code"));
    assert!(f.events().contains(&AuditKind::SmsFailed {
        reason: "gateway returned 503".into()
    }));
    assert!(!err.to_string().contains("7700"));
}

#[test]
fn sms_is_refused_when_disabled() {
    let f = Fixture::new("");
    assert_eq!(
        f.engine()
            .begin_sms("alice", "+447700900123", T0, &mut rng())
            .unwrap_err(),
        Error::SmsDisabled
    );
}

#[test]
fn lockout_counts_failures_across_factors_and_lifts_after_the_duration() {
    let f = Fixture::new("[lockout]\nmax_failures = 3\nwindow = \"10m\"\nduration = \"15m\"\n");
    let (secret, _) = enroll(&f, "alice", T0);
    let e = f.engine();
    let t = T0.plus(Duration::from_secs(60));
    assert_eq!(
        e.verify("alice", b"000000", &ctx(), t, &mut rng()).unwrap(),
        Verification::Rejected { failures_left: 2 }
    );
    assert_eq!(
        e.verify("alice", b"22222-22222", &ctx(), t, &mut rng())
            .unwrap(),
        Verification::Rejected { failures_left: 1 },
        "guessing recovery codes counts"
    );
    let until = t.plus(Duration::from_secs(900));
    assert_eq!(
        e.verify("alice", b"111111", &ctx(), t, &mut rng()).unwrap(),
        Verification::Locked { until }
    );
    let good = code_at(&secret, t.plus(Duration::from_secs(30)));
    assert_eq!(
        e.verify(
            "alice",
            good.as_bytes(),
            &ctx(),
            t.plus(Duration::from_secs(30)),
            &mut rng()
        )
        .unwrap(),
        Verification::Locked { until },
        "a right code does not open a lock"
    );
    let subject = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    assert_eq!(
        e.decide(&subject, &ctx(), t).unwrap(),
        Decision::Denied(Denied::LockedOut { until })
    );
    // One remote's failures lock that remote (audited with it), not the user:
    // no notice, since the user may be signing in from elsewhere.
    assert!(f.events().contains(&AuditKind::RemoteLocked { until }));
    assert!(!f
        .outbox
        .notice_kinds()
        .contains(&NoticeKind::Locked { until }));
    let after = until.plus(Duration::from_secs(1));
    let good = code_at(&secret, after);
    assert!(matches!(
        e.verify("alice", good.as_bytes(), &ctx(), after, &mut rng())
            .unwrap(),
        Verification::Accepted { .. }
    ));
    assert_eq!(e.status("alice", after).unwrap().recent_failures, 0);
}

#[test]
fn success_resets_failures_and_old_failures_age_out() {
    let f = Fixture::new("[lockout]\nmax_failures = 3\nwindow = \"10m\"\n");
    let (secret, _) = enroll(&f, "alice", T0);
    let e = f.engine();
    let t = T0.plus(Duration::from_secs(60));
    e.verify("alice", b"000000", &ctx(), t, &mut rng()).unwrap();
    e.verify("alice", b"000000", &ctx(), t, &mut rng()).unwrap();
    e.verify(
        "alice",
        code_at(&secret, t).as_bytes(),
        &ctx(),
        t,
        &mut rng(),
    )
    .unwrap();
    assert_eq!(
        e.verify("alice", b"000000", &ctx(), t, &mut rng()).unwrap(),
        Verification::Rejected { failures_left: 2 }
    );
    let later = t.plus(Duration::from_secs(601));
    assert_eq!(
        e.verify("alice", b"000000", &ctx(), later, &mut rng())
            .unwrap(),
        Verification::Rejected { failures_left: 2 },
        "failures older than the window are forgotten"
    );
}

#[test]
fn malformed_input_is_refused_precisely_and_not_counted() {
    let f = Fixture::new("");
    enroll(&f, "alice", T0);
    let e = f.engine();
    let long = vec![b'1'; 10 * 1024];
    let cases: [(&[u8], InputError); 7] = [
        (b"", InputError::Empty),
        (b"123", InputError::WrongLength { got: 3 }),
        (&long, InputError::TooLong),
        (b"12345a", InputError::Malformed),
        (b"123\x00456", InputError::ControlCharacter),
        (b"\xc3\x28123456", InputError::NotUtf8),
        (b"12345678", InputError::WrongLength { got: 8 }),
    ];
    for (input, expected) in cases {
        assert_eq!(
            e.verify("alice", input, &ctx(), T0, &mut rng())
                .unwrap_err(),
            Error::Input(expected)
        );
    }
    assert_eq!(e.status("alice", T0).unwrap().recent_failures, 0);
    assert_eq!(
        e.verify("no body", b"123456", &ctx(), T0, &mut rng())
            .unwrap_err(),
        Error::UserName(input::UserNameError::BadCharacter)
    );
    assert_eq!(
        e.verify("carol", b"123456", &ctx(), T0, &mut rng())
            .unwrap_err(),
        Error::NotEnrolled
    );
}

#[test]
fn admin_reset_wipes_factors_notifies_and_opens_an_enrollment_window() {
    let f = Fixture::new("[enforcement]\nmode = \"required-for-all\"\n[reset]\ngrace = \"2d\"\n");
    let (secret, codes) = enroll(&f, "alice", T0);
    let e = f.engine();
    let t = T0.plus(Duration::from_secs(3600));
    e.admin_reset("alice", "lost phone; ID checked by helpdesk #4411", t)
        .unwrap();
    let st = e.status("alice", t).unwrap();
    assert!(!st.enrolled);
    assert_eq!(st.recovery_remaining, 0);
    assert_eq!(st.enroll_by, Some(t.plus(Duration::from_secs(2 * 86_400))));
    assert!(f.outbox.notice_kinds().contains(&NoticeKind::Reset));
    assert!(f.events().contains(&AuditKind::Reset {
        reason: "lost phone; ID checked by helpdesk #4411".into()
    }));
    assert_eq!(
        e.verify(
            "alice",
            code_at(&secret, t).as_bytes(),
            &ctx(),
            t,
            &mut rng()
        )
        .unwrap_err(),
        Error::NotEnrolled
    );
    assert_eq!(
        e.verify("alice", codes[0].as_bytes(), &ctx(), t, &mut rng())
            .unwrap_err(),
        Error::NotEnrolled
    );
    let subject = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    assert_eq!(
        e.decide(&subject, &ctx(), t).unwrap(),
        Decision::Grace {
            deadline: t.plus(Duration::from_secs(2 * 86_400)),
            may_enroll_now: false
        }
    );
    let overdue = t.plus(Duration::from_secs(2 * 86_400));
    assert!(matches!(
        e.decide(&subject, &ctx(), overdue).unwrap(),
        Decision::Denied(Denied::EnrollmentOverdue { .. })
    ));
    enroll(&f, "alice", overdue);
    assert!(e.status("alice", overdue).unwrap().enrolled);
}

#[test]
fn admin_unlock_lifts_a_lock() {
    let f = Fixture::new("[lockout]\nmax_failures = 1\n");
    enroll(&f, "alice", T0);
    let e = f.engine();
    assert!(matches!(
        e.verify("alice", b"000000", &ctx(), T0, &mut rng())
            .unwrap(),
        Verification::Locked { .. }
    ));
    e.admin_unlock("alice", T0).unwrap();
    assert_eq!(e.status("alice", T0).unwrap().locked_until, None);
    assert!(f.events().contains(&AuditKind::Unlocked));
}

#[test]
fn audit_log_is_bounded_ordered_and_secret_free() {
    let f = Fixture::new("[audit]\nkeep_per_user = 10\n");
    let (secret, codes) = enroll(&f, "alice", T0);
    enroll(&f, "bob", T0);
    let e = f.engine();
    for i in 0..20u64 {
        e.verify(
            "alice",
            b"000000",
            &ctx(),
            T0.plus(Duration::from_secs(i)),
            &mut rng(),
        )
        .ok();
        e.admin_unlock("alice", T0.plus(Duration::from_secs(i)))
            .unwrap();
    }
    let alice = e.audit_log(Some("alice"), None).unwrap();
    assert_eq!(alice.len(), 10);
    assert_eq!(alice.last().unwrap().kind, AuditKind::Unlocked);
    assert_eq!(alice.last().unwrap().at, T0.plus(Duration::from_secs(19)));
    // Events live beside the record and old ones are pruned as the trail grows.
    let stored = f.store.keys("audit/alice/").unwrap().len();
    assert!((10..10 + 32).contains(&stored), "{stored} events stored");
    let record = f.store.get("user/alice").unwrap().unwrap().value;
    assert!(
        !String::from_utf8_lossy(&record).contains("unlocked"),
        "the record carries no events"
    );
    let all = e.audit_log(None, None).unwrap();
    assert!(all.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(all.iter().any(|ev| ev.user == "bob"));
    let since = e
        .audit_log(None, Some(T0.plus(Duration::from_secs(15))))
        .unwrap();
    assert!(since
        .iter()
        .all(|ev| ev.at >= T0.plus(Duration::from_secs(15))));
    let json = serde_json::to_string(&all).unwrap();
    assert!(!json.contains(&secret));
    assert!(!json.contains(&codes[0]));
    assert_eq!(
        e.users().unwrap(),
        vec!["alice".to_owned(), "bob".to_owned()]
    );
}

#[test]
fn a_corrupt_record_is_reported_and_left_alone() {
    let f = Fixture::new("");
    enroll(&f, "alice", T0);
    let v = f.store.get("user/alice").unwrap().unwrap();
    let mut bad = v.value.clone();
    bad.truncate(bad.len() / 2);
    f.store
        .compare_and_swap("user/alice", Some(v.version), Some(&bad))
        .unwrap();
    let err = f
        .engine()
        .verify("alice", b"123456", &ctx(), T0, &mut rng())
        .unwrap_err();
    // Authenticated records: a record cut short no longer matches its tag.
    assert!(
        matches!(err, Error::Store(StoreError::Tampered { ref key, .. }) if key == "user/alice"),
        "{err}"
    );
    assert_eq!(
        f.store.get("user/alice").unwrap().unwrap().value,
        bad,
        "nothing overwritten"
    );
}

#[test]
fn a_wrong_seal_key_fails_closed() {
    let f = Fixture::new("");
    let (secret, _) = enroll(&f, "alice", T0);
    let other = SealKey::generate(&mut SeededRandom::new(5)).unwrap();
    let e = Engine::new(&f.policy, &other, &f.store);
    let t = T0.plus(Duration::from_secs(60));
    let err = e
        .verify(
            "alice",
            code_at(&secret, t).as_bytes(),
            &ctx(),
            t,
            &mut rng(),
        )
        .unwrap_err();
    // The whole record is authenticated under the key now, so the wrong key
    // is noticed before any secret is opened.
    assert!(
        matches!(err, Error::Store(StoreError::Tampered { .. })),
        "{err}"
    );
}

#[test]
fn deferred_delivery_sends_after_the_transaction_and_failures_are_recorded() {
    let f = Fixture::new(SMS_POLICY);
    let queue = Deferred::new();
    let e = Engine::new(&f.policy, &f.key, &f.store).with_delivery(&queue);
    e.begin_sms("alice", "+447700900123", T0, &mut rng())
        .unwrap();
    let queued = queue.take();
    assert_eq!(queued.len(), 1);
    let Message::Sms { to, text } = &queued[0] else {
        panic!("expected an SMS")
    };
    assert_eq!(to.e164(), "+447700900123");
    let code: String = text
        .expose()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .into();
    e.confirm_sms("alice", code.as_bytes(), T0, &mut rng())
        .unwrap();
    assert!(
        matches!(queue.take().as_slice(), [Message::Notice(n)] if n.kind == NoticeKind::FactorAdded(Factor::Sms))
    );

    // The login SMS is queued; the gateway then fails; the code must be void.
    let t = T0.plus(Duration::from_secs(60));
    assert!(matches!(
        e.verify("alice", b"sms", &ctx(), t, &mut rng()).unwrap(),
        Verification::SmsSent { .. }
    ));
    let Message::Sms { text, .. } = &queue.take()[0] else {
        panic!("expected an SMS")
    };
    let code: String = text
        .expose()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .into();
    let shown = e
        .sms_not_delivered(
            "alice",
            SmsPurpose::Login,
            Some(&ctx()),
            "gateway timeout",
            false,
            t,
        )
        .unwrap();
    assert!(shown
        .to_string()
        .contains("use your authenticator app or a recovery code"));
    assert!(
        e.verify("alice", code.as_bytes(), &ctx(), t, &mut rng())
            .is_err(),
        "an undelivered code is void"
    );
    e.notice_not_delivered("alice", "mail relay down", t)
        .unwrap();
    let log = e.audit_log(Some("alice"), None).unwrap();
    assert!(log.iter().any(|ev| ev.kind
        == AuditKind::SmsFailed {
            reason: "gateway timeout".into()
        }));
    assert!(log.iter().any(|ev| ev.kind
        == AuditKind::NoticeFailed {
            reason: "mail relay down".into()
        }));
}

#[test]
fn imported_scratch_codes_work_once_beside_six_digit_totp() {
    let f = Fixture::new("");
    let (secret, _) = enroll(&f, "alice", T0);
    let e = f.engine();
    let scratch: Vec<SecretString> = ["11223344", "55667788"]
        .iter()
        .map(|c| SecretString::new((*c).into()))
        .collect();
    assert_eq!(
        e.import_recovery_codes("alice", &scratch, T0, &mut rng())
            .unwrap(),
        2
    );
    assert_eq!(
        e.verify("alice", b"55667788", &ctx(), T0, &mut rng())
            .unwrap(),
        Verification::Accepted {
            factor: Factor::Recovery,
            recovery_remaining: 1
        }
    );
    assert!(matches!(
        e.verify("alice", b"55667788", &ctx(), T0, &mut rng())
            .unwrap(),
        Verification::RecoveryCodeSpent { .. }
    ));
    let t = T0.plus(Duration::from_secs(60));
    assert!(matches!(
        e.verify(
            "alice",
            code_at(&secret, t).as_bytes(),
            &ctx(),
            t,
            &mut rng()
        )
        .unwrap(),
        Verification::Accepted {
            factor: Factor::Totp,
            ..
        }
    ));
    assert_eq!(
        e.verify("alice", b"1234567", &ctx(), t, &mut rng())
            .unwrap_err(),
        Error::Input(InputError::WrongLength { got: 7 })
    );
    assert_eq!(
        e.import_recovery_codes("bob", &scratch, T0, &mut rng())
            .unwrap_err(),
        Error::NotEnrolled
    );
}

/// What a door that keeps sessions (the identity provider) reads to end the
/// user's other sessions: when they were last ended, and how many times.
fn ended(f: &Fixture, user: &str, now: UnixTime) -> (Option<UnixTime>, u64) {
    let status = f.engine().status(user, now).unwrap();
    (status.sessions_valid_after, status.sessions_epoch)
}

#[test]
fn a_reset_a_lock_and_every_change_of_factors_end_the_users_sessions() {
    let f = Fixture::new(&format!("{SMS_POLICY}[lockout]\nmax_failures = 2\n"));
    let e = f.engine();
    let (_, codes) = enroll(&f, "alice", T0);
    assert_eq!(ended(&f, "alice", T0), (Some(T0), 1), "enrolling");
    let at = |s: u64| T0.plus(Duration::from_secs(s));
    // A right code, a wrong one, a status read: sessions go on.
    e.verify("alice", codes[0].as_bytes(), &ctx(), at(10), &mut rng())
        .unwrap();
    e.verify("alice", b"000000", &ctx(), at(11), &mut rng())
        .unwrap();
    assert_eq!(ended(&f, "alice", at(12)), (Some(T0), 1));
    // The second wrong code from this address locks it out.
    assert!(matches!(
        e.verify("alice", b"000000", &ctx(), at(20), &mut rng())
            .unwrap(),
        Verification::Locked { .. }
    ));
    assert_eq!(ended(&f, "alice", at(21)), (Some(at(20)), 2), "a lock");
    e.admin_unlock("alice", at(30)).unwrap();
    assert_eq!(
        ended(&f, "alice", at(31)),
        (Some(at(20)), 2),
        "not an unlock"
    );
    e.regenerate_recovery("alice", at(40), &mut rng()).unwrap();
    assert_eq!(ended(&f, "alice", at(41)), (Some(at(40)), 3), "new codes");
    e.begin_sms("alice", "+447700900123", at(50), &mut rng())
        .unwrap();
    assert_eq!(
        ended(&f, "alice", at(51)),
        (Some(at(40)), 3),
        "a pending number"
    );
    let code = f.outbox.last_code();
    e.confirm_sms("alice", code.as_bytes(), at(60), &mut rng())
        .unwrap();
    assert_eq!(ended(&f, "alice", at(61)), (Some(at(60)), 4), "SMS added");
    let alice = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    e.remove_factor(&alice, Factor::Sms, at(70)).unwrap();
    assert_eq!(ended(&f, "alice", at(71)), (Some(at(70)), 5), "SMS removed");
    // Two changes in one second are two.
    e.admin_reset("alice", "lost phone", at(80)).unwrap();
    e.admin_reset("alice", "again", at(80)).unwrap();
    assert_eq!(ended(&f, "alice", at(81)), (Some(at(80)), 7), "resets");
}

#[test]
fn a_confirmed_enrollment_counts_as_the_second_factor_that_passed() {
    let f = Fixture::new("[step_up]\nsudo = \"5m\"\n");
    enroll(&f, "alice", T0);
    let status = f.engine().status("alice", T0).unwrap();
    assert_eq!(status.last_mfa, Some(T0));
    let sudo = Context {
        action: Some("sudo".into()),
        ..ctx()
    };
    let alice = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    assert_eq!(
        f.engine()
            .decide(&alice, &sudo, T0.plus(Duration::from_secs(10)))
            .unwrap(),
        Decision::NotRequired(NotRequired::RecentMfa { at: T0 })
    );
}

#[test]
fn an_sms_that_provably_did_not_go_out_takes_nothing_from_the_limits_and_only_a_sent_one_is_audited_as_sent(
) {
    let f = Fixture::new(&format!(
        "{SMS_POLICY}max_sends_per_hour = 2\nresend_interval = \"0s\"\n"
    ));
    let e = f.engine();
    e.begin_sms("alice", "+447700900123", T0, &mut rng())
        .unwrap();
    let code = f.outbox.last_code();
    e.confirm_sms("alice", code.as_bytes(), T0, &mut rng())
        .unwrap();
    // An outage: the gateway answers 503 to five logins in a row.
    f.outbox
        .fail_sms
        .store(true, std::sync::atomic::Ordering::SeqCst);
    for i in 1..=5 {
        let err = e
            .verify(
                "alice",
                b"sms",
                &ctx(),
                T0.plus(Duration::from_secs(i)),
                &mut rng(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::SmsDeliveryFailed(_)), "{err}");
    }
    // It is back: the user still has the hour's second send.
    f.outbox
        .fail_sms
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let t = T0.plus(Duration::from_secs(10));
    assert!(matches!(
        e.verify("alice", b"sms", &ctx(), t, &mut rng()).unwrap(),
        Verification::SmsSent { .. }
    ));
    assert!(matches!(
        e.verify("alice", b"sms", &ctx(), t, &mut rng())
            .unwrap_err(),
        Error::SmsRateLimited { .. }
    ));
    let events = f.events();
    let sent = events.iter().filter(|k| **k == AuditKind::SmsSent).count();
    let failed = events
        .iter()
        .filter(|k| matches!(k, AuditKind::SmsFailed { .. }))
        .count();
    assert_eq!((sent, failed), (2, 5), "{events:?}");
}

#[test]
fn the_sms_text_is_the_policys_and_an_origin_binds_the_code_to_its_site() {
    let f = Fixture::new(&format!(
        "{SMS_POLICY}text = \"{{code}} is your {{issuer}} code ({{expires}})\"\norigin = \"login.example.com\"\n"
    ));
    f.engine()
        .begin_sms("alice", "+447700900123", T0, &mut rng())
        .unwrap();
    let code = f.outbox.last_code();
    let (_, text) = f.outbox.sms.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        text,
        format!("{code} is your Planasonix code (5m)\n\n@login.example.com #{code}")
    );
}
