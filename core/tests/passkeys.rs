//! Passkeys through the engine: registration and sign-in with a software
//! authenticator, and each attack on them refused, counted and audited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{ctx, enroll, Fixture, T0};
use planasonix_core::testing::SoftAuthenticator;
use planasonix_core::webauthn::WebAuthnError;
use planasonix_core::*;
use std::time::Duration;

const ORIGIN: &str = "https://login.example.com";
const POLICY: &str = "[passkeys]\nenabled = true\nrp_id = \"example.com\"\norigins = [\"https://login.example.com\"]\n";

/// A generator drawing other bytes at every call, so that no two
/// challenges of a test are equal by accident.
fn rng() -> SeededRandom {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(7);
    SeededRandom::new(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// `alice` with the passkey `key` registered as "YubiKey"; the recovery
/// codes the registration gave.
fn registered(f: &Fixture, key: &SoftAuthenticator) -> Vec<SecretString> {
    let e = f.engine();
    register_as(&e, key, "YubiKey").unwrap()
}

fn alice() -> Subject {
    Subject {
        user: "alice".into(),
        groups: vec![],
        amr: vec![],
    }
}

/// Registers `key` for alice as `name`: its options, then its answer.
fn register_as(
    e: &Engine<'_>,
    key: &SoftAuthenticator,
    name: &str,
) -> Result<Vec<SecretString>, Error> {
    let options = e
        .passkey_registration_options("alice", "", T0, &mut rng())
        .unwrap();
    e.register_passkey(
        "alice",
        name,
        key.register(&options).as_bytes(),
        T0,
        &mut rng(),
    )
}

fn sign_in(f: &Fixture, key: &mut SoftAuthenticator, at: UnixTime) -> PasskeyVerification {
    let e = f.engine();
    let options = e.passkey_sign_in_options("alice", at, &mut rng()).unwrap();
    e.verify_passkey("alice", key.sign_in(&options).as_bytes(), &ctx(), at)
        .unwrap()
}

fn refused(reason: PasskeyRefusal, failures_left: u32) -> PasskeyVerification {
    PasskeyVerification::Refused {
        reason,
        failures_left,
    }
}

fn passkey_refusals(f: &Fixture) -> Vec<String> {
    f.events()
        .into_iter()
        .filter_map(|k| match k {
            AuditKind::PasskeyRefused { reason } => Some(reason),
            _ => None,
        })
        .collect()
}

#[test]
fn a_registered_passkey_is_a_factor_that_signs_in() {
    let f = Fixture::new(POLICY);
    let e = f.engine();
    let options = e
        .passkey_registration_options("alice", "Alice Liddell", T0, &mut rng())
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(json["rp"]["id"], "example.com");
    assert_eq!(json["user"]["name"], "alice");
    assert_eq!(json["user"]["displayName"], "Alice Liddell");
    assert_ne!(json["user"]["id"], "alice", "the user handle is random");
    assert_eq!(json["attestation"], "none");
    assert_eq!(json["timeout"], 120_000);

    let key = SoftAuthenticator::new(1, ORIGIN);
    let codes = e
        .register_passkey(
            "alice",
            "YubiKey 5C",
            key.register(&options).as_bytes(),
            T0,
            &mut rng(),
        )
        .unwrap();
    assert_eq!(codes.len(), 10, "a first factor comes with recovery codes");
    assert!(f
        .outbox
        .notice_kinds()
        .contains(&NoticeKind::FactorAdded(Factor::Passkey)));
    let status = e.status("alice", T0).unwrap();
    assert!(status.enrolled);
    assert_eq!(status.factors, vec![Factor::Passkey, Factor::Recovery]);
    assert_eq!(status.passkeys.len(), 1);
    assert_eq!(status.passkeys[0].name, "YubiKey 5C");
    assert_eq!(
        status.passkeys[0].aaguid,
        "5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5a"
    );

    // The login asks for it, and the options list it.
    let subject = alice();
    match e.decide(&subject, &ctx(), T0).unwrap() {
        Decision::Required { factors, .. } => assert!(factors.contains(&Factor::Passkey)),
        other => panic!("{other:?}"),
    }
    let mut key = key;
    let version = |f: &Fixture| f.store.get("user/alice").unwrap().unwrap().version;
    let before = version(&f);
    let options = e.passkey_sign_in_options("alice", T0, &mut rng()).unwrap();
    assert_eq!(
        version(&f),
        before,
        "showing the passkey page writes nothing"
    );
    let json: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(json["rpId"], "example.com");
    assert_eq!(json["allowCredentials"][0]["id"], "AQEBAQEBAQEBAQEBAQEBAQ");
    let answer = key.sign_in(&options);
    assert_eq!(
        e.verify_passkey("alice", answer.as_bytes(), &ctx(), T0)
            .unwrap(),
        PasskeyVerification::Accepted {
            name: "YubiKey 5C".into(),
            user_verified: true
        }
    );
    assert!(f.events().contains(&AuditKind::Verified {
        factor: Factor::Passkey
    }));
    let status = e.status("alice", T0).unwrap();
    assert_eq!(status.passkeys[0].last_used, Some(T0));
    assert_eq!(status.last_mfa, Some(T0));

    // The same answer again: its challenge is spent.
    assert_eq!(
        e.verify_passkey("alice", answer.as_bytes(), &ctx(), T0)
            .unwrap(),
        refused(PasskeyRefusal::NoChallenge, 4)
    );
}

#[test]
fn a_second_passkey_brings_no_new_recovery_codes_and_names_are_unique() {
    let f = Fixture::new(POLICY);
    let e = f.engine();
    registered(&f, &SoftAuthenticator::new(1, ORIGIN));
    let options = e
        .passkey_registration_options("alice", "", T0, &mut rng())
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(
        json["excludeCredentials"][0]["id"], "AQEBAQEBAQEBAQEBAQEBAQ",
        "the authenticator that holds one is told"
    );
    let second = SoftAuthenticator::new(2, ORIGIN);
    assert_eq!(
        register_as(&e, &second, " YubiKey ").unwrap_err(),
        Error::Passkey(PasskeyError::NameTaken)
    );
    let options = e
        .passkey_registration_options("alice", "", T0, &mut rng())
        .unwrap();
    assert!(e
        .register_passkey(
            "alice",
            "Pixel",
            second.register(&options).as_bytes(),
            T0,
            &mut rng()
        )
        .unwrap()
        .is_empty());
    // The same credential twice.
    assert_eq!(
        register_as(&e, &second, "Again").unwrap_err(),
        Error::Passkey(PasskeyError::AlreadyRegistered)
    );
    for bad in ["", "   ", "a\nb", "evil\u{202e}txt", &"x".repeat(65)] {
        assert!(matches!(
            e.register_passkey("alice", bad, b"{}", T0, &mut rng()),
            Err(Error::Passkey(PasskeyError::Name(_)))
        ));
    }
    assert_eq!(e.status("alice", T0).unwrap().passkeys.len(), 2);
}

#[test]
fn attacks_on_the_sign_in_are_refused_counted_and_audited() {
    let f = Fixture::new(POLICY);
    let e = f.engine();
    let mut key = SoftAuthenticator::new(1, ORIGIN);
    registered(&f, &key);

    // A look-alike site relayed the challenge.
    let options = e.passkey_sign_in_options("alice", T0, &mut rng()).unwrap();
    key.origin = "https://login.example.com.evil.test".into();
    let phished = key.sign_in(&options);
    key.origin = ORIGIN.into();
    assert_eq!(
        e.verify_passkey("alice", phished.as_bytes(), &ctx(), T0)
            .unwrap(),
        refused(PasskeyRefusal::Invalid, 4)
    );
    assert!(passkey_refusals(&f).last().unwrap().contains("evil.test"));

    // Signed for another RP ID.
    let options = e.passkey_sign_in_options("alice", T0, &mut rng()).unwrap();
    key.rp_id = Some("evil.test".into());
    let answer = key.sign_in(&options);
    key.rp_id = None;
    assert_eq!(
        e.verify_passkey("alice", answer.as_bytes(), &ctx(), T0)
            .unwrap(),
        refused(PasskeyRefusal::Invalid, 3)
    );
    assert!(passkey_refusals(&f)
        .last()
        .unwrap()
        .contains("another RP ID"));

    // Another authenticator, not alice's.
    let options = e.passkey_sign_in_options("alice", T0, &mut rng()).unwrap();
    let answer = SoftAuthenticator::new(9, ORIGIN).sign_in(&options);
    assert_eq!(
        e.verify_passkey("alice", answer.as_bytes(), &ctx(), T0)
            .unwrap(),
        refused(PasskeyRefusal::UnknownCredential, 2)
    );

    // An answer whose challenge expired.
    let options = e.passkey_sign_in_options("alice", T0, &mut rng()).unwrap();
    let late = T0.plus(Duration::from_secs(121));
    assert_eq!(
        e.verify_passkey("alice", key.sign_in(&options).as_bytes(), &ctx(), late)
            .unwrap(),
        refused(PasskeyRefusal::NoChallenge, 1)
    );

    // The fifth failure from this address locks it, like wrong codes.
    let options = e
        .passkey_sign_in_options("alice", late, &mut rng())
        .unwrap();
    let mut answer: serde_json::Value = serde_json::from_str(&key.sign_in(&options)).unwrap();
    answer["response"]["signature"] = "AAAA".into();
    assert!(matches!(
        e.verify_passkey("alice", answer.to_string().as_bytes(), &ctx(), late)
            .unwrap(),
        PasskeyVerification::Locked { .. }
    ));
    let options = e
        .passkey_sign_in_options("alice", late, &mut rng())
        .unwrap();
    assert!(matches!(
        e.verify_passkey("alice", key.sign_in(&options).as_bytes(), &ctx(), late)
            .unwrap(),
        PasskeyVerification::Locked { .. }
    ));
    assert!(f
        .events()
        .iter()
        .any(|k| matches!(k, AuditKind::RemoteLocked { .. })));
}

#[test]
fn a_response_that_is_no_credential_counts_nothing() {
    let f = Fixture::new(POLICY);
    let e = f.engine();
    registered(&f, &SoftAuthenticator::new(1, ORIGIN));
    let huge = vec![b'{'; 70_000];
    for junk in [&b"not json"[..], b"{}", b"\xff\xfe", &huge] {
        assert!(
            matches!(
                e.verify_passkey("alice", junk, &ctx(), T0),
                Err(Error::Passkey(PasskeyError::Refused(_)))
            ),
            "{:?}",
            String::from_utf8_lossy(&junk[..junk.len().min(20)])
        );
    }
    assert_eq!(e.status("alice", T0).unwrap().recent_failures, 0);
}

#[test]
fn a_registration_challenge_does_not_sign_in_nor_the_other_way() {
    let f = Fixture::new(POLICY);
    let e = f.engine();
    let mut key = SoftAuthenticator::new(1, ORIGIN);
    registered(&f, &key);
    let reg_options = e
        .passkey_registration_options("alice", "", T0, &mut rng())
        .unwrap();
    assert_eq!(
        e.verify_passkey("alice", key.sign_in(&reg_options).as_bytes(), &ctx(), T0)
            .unwrap(),
        refused(PasskeyRefusal::NoChallenge, 4)
    );
    let sign_in_options = e.passkey_sign_in_options("alice", T0, &mut rng()).unwrap();
    let other = SoftAuthenticator::new(3, ORIGIN);
    assert_eq!(
        e.register_passkey(
            "alice",
            "Other",
            other.register(&sign_in_options).as_bytes(),
            T0,
            &mut rng()
        )
        .unwrap_err(),
        Error::Passkey(PasskeyError::NoChallenge)
    );
    // Bob's challenge does not register a passkey for alice.
    let bobs = e
        .passkey_registration_options("bob", "", T0, &mut rng())
        .unwrap();
    assert_eq!(
        e.register_passkey(
            "alice",
            "Other",
            other.register(&bobs).as_bytes(),
            T0,
            &mut rng()
        )
        .unwrap_err(),
        Error::Passkey(PasskeyError::NoChallenge)
    );
}

#[test]
fn user_verification_is_enforced_when_the_policy_requires_it() {
    let f = Fixture::new(&format!("{POLICY}user_verification = \"required\"\n"));
    let e = f.engine();
    let mut touch_only = SoftAuthenticator::new(1, ORIGIN);
    touch_only.verifies_user = false;
    assert_eq!(
        register_as(&e, &touch_only, "Key").unwrap_err(),
        Error::Passkey(PasskeyError::Refused(WebAuthnError::UserNotVerified))
    );
    let mut key = SoftAuthenticator::new(1, ORIGIN);
    registered(&f, &key);
    key.verifies_user = false;
    assert_eq!(
        sign_in(&f, &mut key, T0),
        refused(PasskeyRefusal::UserNotVerified, 4)
    );
    key.verifies_user = true;
    assert!(matches!(
        sign_in(&f, &mut key, T0),
        PasskeyVerification::Accepted {
            user_verified: true,
            ..
        }
    ));
}

#[test]
fn a_counter_that_goes_back_marks_the_passkey_cloned_for_good() {
    let f = Fixture::new(POLICY);
    let e = f.engine();
    let mut key = SoftAuthenticator::new(1, ORIGIN);
    registered(&f, &key);
    key.counter = 10;
    assert!(matches!(
        sign_in(&f, &mut key, T0),
        PasskeyVerification::Accepted { .. }
    ));
    let epoch = e.status("alice", T0).unwrap().sessions_epoch;
    // A clone made before those sign-ins signs with an older counter.
    let mut clone = SoftAuthenticator::new(1, ORIGIN);
    clone.counter = 3;
    assert_eq!(
        sign_in(&f, &mut clone, T0),
        refused(PasskeyRefusal::PossiblyCloned, 4)
    );
    assert!(f.events().contains(&AuditKind::PasskeyCloned {
        name: "YubiKey".into()
    }));
    let status = e.status("alice", T0).unwrap();
    assert_eq!(status.passkeys[0].cloned_at, Some(T0));
    assert!(status.sessions_epoch > epoch, "sessions end");
    // Not offered any more, and refused even with a good counter.
    assert_eq!(status.factors, vec![Factor::Recovery]);
    assert_eq!(
        e.passkey_sign_in_options("alice", T0, &mut rng())
            .unwrap_err(),
        Error::NotEnrolled
    );
    let level = f
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|ev| matches!(ev.kind, AuditKind::PasskeyCloned { .. }))
        .unwrap()
        .level();
    assert_eq!(level, Level::Error);
    // Even as the last factor where one is required, a passkey refused as
    // cloned may be removed: it signs nobody in.
    let strict = Fixture {
        policy: Policy::from_toml(&format!(
            "[enforcement]\nmode = \"required-for-all\"\n{POLICY}"
        ))
        .unwrap(),
        ..f
    };
    let alice = alice();
    strict
        .engine()
        .remove_passkey(&alice, "YubiKey", T0)
        .unwrap();
}

#[test]
fn removing_renaming_and_reset() {
    let f = Fixture::new(&format!(
        "[enforcement]\nmode = \"required-for-all\"\n{POLICY}"
    ));
    let e = f.engine();
    registered(&f, &SoftAuthenticator::new(1, ORIGIN));
    let alice = alice();
    assert_eq!(
        e.remove_passkey(&alice, "YubiKey", T0).unwrap_err(),
        Error::LastFactorRequired
    );
    e.rename_passkey("alice", "YubiKey", "Blue key", T0)
        .unwrap();
    assert_eq!(
        e.rename_passkey("alice", "YubiKey", "x", T0).unwrap_err(),
        Error::Passkey(PasskeyError::NotFound)
    );
    enroll(&f, "alice", T0);
    e.remove_passkey(&alice, "Blue key", T0).unwrap();
    assert!(f.events().contains(&AuditKind::PasskeyRemoved {
        name: "Blue key".into()
    }));
    assert!(f
        .outbox
        .notice_kinds()
        .contains(&NoticeKind::FactorRemoved(Factor::Passkey)));
    assert_eq!(
        e.remove_passkey(&alice, "Blue key", T0).unwrap_err(),
        Error::Passkey(PasskeyError::NotFound)
    );
    // A passkey counts as the other factor when the app goes.
    registered(&f, &SoftAuthenticator::new(2, ORIGIN));
    e.remove_factor(&alice, Factor::Totp, T0).unwrap();
    e.admin_reset("alice", "lost the key", T0).unwrap();
    let status = e.status("alice", T0).unwrap();
    assert!(status.passkeys.is_empty() && !status.enrolled);
}

#[test]
fn the_policy_decides_models_and_whether_passkeys_exist_at_all() {
    let off = Fixture::new("");
    assert_eq!(
        off.engine()
            .passkey_registration_options("alice", "", T0, &mut rng())
            .unwrap_err(),
        Error::Passkey(PasskeyError::Disabled)
    );
    let f = Fixture::new(&format!(
        "{POLICY}allowed_aaguids = [\"cb69481e-8ff7-4039-93ec-0a2729a154a8\"]\n"
    ));
    let e = f.engine();
    let key = SoftAuthenticator::new(1, ORIGIN);
    assert_eq!(
        register_as(&e, &key, "Key").unwrap_err(),
        Error::Passkey(PasskeyError::ModelNotAllowed(
            "5a5a5a5a-5a5a-5a5a-5a5a-5a5a5a5a5a5a".into()
        ))
    );
    assert!(passkey_refusals(&f)[0].contains("not allowed"));
    // Registered while enabled, then turned off: not offered, not usable.
    let on = Fixture::new(POLICY);
    registered(&on, &SoftAuthenticator::new(1, ORIGIN));
    let store = on.store;
    let disabled = Fixture {
        store,
        ..Fixture::new("")
    };
    let disabled = Fixture {
        key: on.key,
        ..disabled
    };
    assert_eq!(
        disabled.engine().status("alice", T0).unwrap().factors,
        vec![Factor::Recovery]
    );
}

#[test]
fn a_step_up_that_requires_a_phishing_resistant_factor_counts_only_a_passkey() {
    let f = Fixture::new(&format!(
        "[enforcement]\nmode = \"required-for-all\"\n[step_up]\nsudo = {{ max_age = \"5m\", require = \"phishing-resistant\" }}\n{POLICY}"
    ));
    let e = f.engine();
    let sudo = |session: Option<Session>| Context {
        action: Some("sudo".into()),
        session,
        ..ctx()
    };
    let subject = alice();
    // An app alone cannot answer it.
    let (secret, _) = enroll(&f, "alice", T0);
    assert_eq!(
        e.decide(&subject, &sudo(None), T0).unwrap(),
        Decision::Denied(Denied::NoPhishingResistantFactor)
    );
    // With a passkey, only the passkey is asked for, and a fresh app code
    // does not count.
    let mut key = SoftAuthenticator::new(1, ORIGIN);
    registered(&f, &key);
    let at = T0.plus(Duration::from_secs(60));
    let code = crate::common::code_at(&secret, at);
    assert!(matches!(
        e.verify("alice", code.as_bytes(), &ctx(), at, &mut rng())
            .unwrap(),
        Verification::Accepted { .. }
    ));
    assert_eq!(
        e.decide(&subject, &sudo(None), at).unwrap(),
        Decision::Required {
            factors: vec![Factor::Passkey],
            step_up: Some("sudo".into())
        }
    );
    assert!(matches!(
        sign_in(&f, &mut key, at),
        PasskeyVerification::Accepted { .. }
    ));
    assert_eq!(
        e.decide(&subject, &sudo(None), at).unwrap(),
        Decision::NotRequired(NotRequired::RecentMfa { at })
    );
    // A session says which kind its second factor was.
    let session = |phishing_resistant| Session {
        mfa_at: Some(at),
        epoch: None,
        phishing_resistant,
    };
    assert!(matches!(
        e.decide(&subject, &sudo(Some(session(false))), at).unwrap(),
        Decision::Required { .. }
    ));
    assert_eq!(
        e.decide(&subject, &sudo(Some(session(true))), at).unwrap(),
        Decision::NotRequired(NotRequired::RecentMfa { at })
    );
    // A code after the passkey makes the latest second factor a phishable one.
    let later = at.plus(Duration::from_secs(30));
    let code = crate::common::code_at(&secret, later);
    e.verify("alice", code.as_bytes(), &ctx(), later, &mut rng())
        .unwrap();
    assert!(matches!(
        e.decide(&subject, &sudo(None), later).unwrap(),
        Decision::Required { .. }
    ));
}

#[test]
fn a_passkey_alone_signs_in_where_the_policy_says_so_with_the_person_verified() {
    let f = Fixture::new(&format!("{POLICY}passwordless = true\n"));
    let e = f.engine();
    let mut key = SoftAuthenticator::new(1, ORIGIN);
    registered(&f, &key);
    let keys_before = f.store.keys("").unwrap().len();
    let options = e.passwordless_options(T0, &mut rng()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(json["allowCredentials"], serde_json::json!([]));
    assert_eq!(json["userVerification"], "required");
    assert_eq!(
        f.store.keys("").unwrap().len(),
        keys_before,
        "a page anyone can load writes nothing"
    );
    let answer = key.sign_in(&options);
    assert_eq!(
        e.verify_passwordless(answer.as_bytes(), &ctx(), T0)
            .unwrap(),
        PasswordlessVerification::Accepted {
            user: "alice".into(),
            name: "YubiKey".into()
        }
    );
    // The same answer again: its challenge is spent (and it counts).
    assert_eq!(
        e.verify_passwordless(answer.as_bytes(), &ctx(), T0)
            .unwrap(),
        PasswordlessVerification::Refused {
            reason: PasskeyRefusal::NoChallenge
        }
    );
    assert_eq!(e.status("alice", T0).unwrap().recent_failures, 1);
    // Expired, forged or a passkey sign-in's own challenge: refused, and
    // nobody's failure (no user is known yet).
    let late = T0.plus(Duration::from_secs(200));
    let options = e.passwordless_options(T0, &mut rng()).unwrap();
    assert_eq!(
        e.verify_passwordless(key.sign_in(&options).as_bytes(), &ctx(), late)
            .unwrap(),
        PasswordlessVerification::Refused {
            reason: PasskeyRefusal::NoChallenge
        }
    );
    let normal = e.passkey_sign_in_options("alice", T0, &mut rng()).unwrap();
    assert_eq!(
        e.verify_passwordless(key.sign_in(&normal).as_bytes(), &ctx(), T0)
            .unwrap(),
        PasswordlessVerification::Refused {
            reason: PasskeyRefusal::NoChallenge
        }
    );
    // Without user verification: refused, counted.
    key.verifies_user = false;
    let options = e.passwordless_options(T0, &mut rng()).unwrap();
    assert_eq!(
        e.verify_passwordless(key.sign_in(&options).as_bytes(), &ctx(), T0)
            .unwrap(),
        PasswordlessVerification::Refused {
            reason: PasskeyRefusal::UserNotVerified
        }
    );
    // A passkey nobody registered here.
    let stranger = SoftAuthenticator::new(9, ORIGIN);
    *stranger.user_handle.borrow_mut() = Some(vec![1; 32]);
    let options = e.passwordless_options(T0, &mut rng()).unwrap();
    let mut stranger = stranger;
    assert_eq!(
        e.verify_passwordless(stranger.sign_in(&options).as_bytes(), &ctx(), T0)
            .unwrap(),
        PasswordlessVerification::Refused {
            reason: PasskeyRefusal::UnknownCredential
        }
    );
    assert_eq!(e.status("alice", T0).unwrap().recent_failures, 2);
    // Off unless the policy says so.
    let off = Fixture::new(POLICY);
    assert_eq!(
        off.engine()
            .passwordless_options(T0, &mut rng())
            .unwrap_err(),
        Error::Passkey(PasskeyError::Disabled)
    );
}

#[test]
fn more_sign_ins_than_a_record_keeps_within_a_timeout_are_refused_uncounted() {
    let f = Fixture::new(POLICY);
    let e = f.engine();
    let mut key = SoftAuthenticator::new(1, ORIGIN);
    registered(&f, &key);
    for _ in 0..32 {
        assert!(matches!(
            sign_in(&f, &mut key, T0),
            PasskeyVerification::Accepted { .. }
        ));
    }
    let options = e.passkey_sign_in_options("alice", T0, &mut rng()).unwrap();
    assert_eq!(
        e.verify_passkey("alice", key.sign_in(&options).as_bytes(), &ctx(), T0),
        Err(Error::Passkey(PasskeyError::NoChallenge))
    );
    assert_eq!(e.status("alice", T0).unwrap().recent_failures, 0);
    // Once the first ones expire, sign-ins go on.
    let later = T0.plus(Duration::from_secs(121));
    assert!(matches!(
        sign_in(&f, &mut key, later),
        PasskeyVerification::Accepted { .. }
    ));
}
