//! What every kind of user is asked, across the whole policy space.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::{ctx, Fixture, T0};
use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::*;
use std::time::Duration;

const DAY: u64 = 86_400;
const SECRET: &[u8] = b"decision-table-secret";

#[derive(Clone, Copy, Debug)]
enum StepUp {
    None,
    Fresh,
    Stale,
}

#[derive(Clone, Copy, Debug)]
struct Case {
    mode: &'static str,
    admin: bool,
    enrolled: bool,
    in_grace: bool,
    exempt: bool,
    step_up: StepUp,
    upstream_mfa: bool,
}

/// What each case gets, as the policy documentation (`planasonix-policy(5)`,
/// README "Policy") describes it.
fn expected(c: Case, now: UnixTime, last_mfa: UnixTime, first_seen: UnixTime) -> Decision {
    if c.exempt {
        return Decision::NotRequired(NotRequired::Exempt);
    }
    let factors = vec![Factor::Totp, Factor::Recovery];
    if c.enrolled {
        return match c.step_up {
            StepUp::Fresh => Decision::NotRequired(NotRequired::RecentMfa { at: last_mfa }),
            StepUp::Stale => Decision::Required {
                factors,
                step_up: Some("sudo".into()),
            },
            StepUp::None if c.upstream_mfa => Decision::NotRequired(NotRequired::UpstreamMfa),
            StepUp::None => Decision::Required {
                factors,
                step_up: None,
            },
        };
    }
    let in_scope = c.mode == "required-for-all" || (c.mode == "required-for-admins" && c.admin);
    if !in_scope {
        return Decision::NotRequired(NotRequired::OutOfScope);
    }
    if matches!(c.step_up, StepUp::None) && c.upstream_mfa {
        return Decision::NotRequired(NotRequired::UpstreamMfa);
    }
    let deadline = first_seen.plus(Duration::from_secs(14 * DAY));
    if now < deadline {
        Decision::Grace {
            deadline,
            may_enroll_now: true,
        }
    } else {
        Decision::Denied(Denied::EnrollmentOverdue { deadline })
    }
}

fn run(c: Case) -> (Decision, Decision, Vec<AuditEvent>) {
    let policy = format!(
        "[enforcement]\nmode = \"{}\"\nadmin_groups = [\"wheel\"]\ngrace_period = \"14d\"\nenroll_at_login = true\nexempt_users = [\"breakglass\"]\n[recovery]\ncodes = 2\n[step_up]\nsudo = \"5m\"\n",
        c.mode
    );
    let f = Fixture::new(&policy);
    let e = f.engine();
    let mut rng = SeededRandom::new(3);
    let user = if c.exempt { "breakglass" } else { "alice" };
    let subject = Subject {
        user: user.into(),
        groups: vec![if c.admin { "wheel" } else { "users" }.into()],
        amr: if c.upstream_mfa {
            vec!["pwd".into(), "mfa".into()]
        } else {
            vec!["pwd".into()]
        },
    };
    let now = T0.plus(Duration::from_secs(if c.in_grace { DAY } else { 15 * DAY }));
    let last_mfa = now.minus(Duration::from_secs(match c.step_up {
        StepUp::Fresh => 120,
        _ => 3600,
    }));
    let first_seen = T0;
    if c.enrolled {
        let params = TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        };
        e.provision_totp(
            user,
            &SecretBytes::new(SECRET.to_vec()),
            params,
            T0,
            &mut rng,
        )
        .unwrap();
        let code = totp(Algorithm::Sha1, SECRET, last_mfa.0, 30, 6);
        let v = e
            .verify(user, code.as_bytes(), &ctx(), last_mfa, &mut rng)
            .unwrap();
        assert!(matches!(v, Verification::Accepted { .. }), "{c:?}: {v:?}");
    } else {
        // The first login under the policy starts the grace period.
        e.decide(
            &Subject {
                amr: vec![],
                ..subject.clone()
            },
            &ctx(),
            first_seen,
        )
        .unwrap();
    }
    let mut context = ctx();
    if !matches!(c.step_up, StepUp::None) {
        context.action = Some("sudo".into());
    }
    f.log.lock().unwrap().clear();
    let got = e.decide(&subject, &context, now).unwrap();
    let events = f.log.lock().unwrap().clone();
    (got, expected(c, now, last_mfa, first_seen), events)
}

#[test]
fn every_mode_role_enrollment_grace_exemption_step_up_and_amr() {
    let mut checked = 0;
    for mode in ["optional", "required-for-admins", "required-for-all"] {
        for admin in [false, true] {
            for enrolled in [false, true] {
                for in_grace in [true, false] {
                    for exempt in [false, true] {
                        for step_up in [StepUp::None, StepUp::Fresh, StepUp::Stale] {
                            for upstream_mfa in [false, true] {
                                let c = Case {
                                    mode,
                                    admin,
                                    enrolled,
                                    in_grace,
                                    exempt,
                                    step_up,
                                    upstream_mfa,
                                };
                                let (got, want, events) = run(c);
                                assert_eq!(got, want, "{c:?}");
                                if exempt {
                                    assert!(
                                        events.iter().any(|e| e.kind == AuditKind::ExemptionUsed
                                            && e.level() == Level::Warning),
                                        "{c:?}: exemption must be logged at warning level"
                                    );
                                }
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 288);
}

#[test]
fn hand_checked_rows() {
    let base = Case {
        mode: "required-for-admins",
        admin: true,
        enrolled: false,
        in_grace: true,
        exempt: false,
        step_up: StepUp::None,
        upstream_mfa: false,
    };
    assert!(matches!(
        run(base).0,
        Decision::Grace {
            may_enroll_now: true,
            ..
        }
    ));
    assert!(matches!(
        run(Case {
            in_grace: false,
            ..base
        })
        .0,
        Decision::Denied(Denied::EnrollmentOverdue { .. })
    ));
    assert_eq!(
        run(Case {
            admin: false,
            ..base
        })
        .0,
        Decision::NotRequired(NotRequired::OutOfScope)
    );
    assert_eq!(
        run(Case {
            mode: "optional",
            enrolled: true,
            ..base
        })
        .0,
        Decision::Required {
            factors: vec![Factor::Totp, Factor::Recovery],
            step_up: None
        },
        "an opted-in user is always asked"
    );
    assert_eq!(
        run(Case {
            enrolled: true,
            upstream_mfa: true,
            step_up: StepUp::Stale,
            ..base
        })
        .0,
        Decision::Required {
            factors: vec![Factor::Totp, Factor::Recovery],
            step_up: Some("sudo".into())
        },
        "upstream MFA does not satisfy step-up"
    );
}

#[test]
fn unknown_step_up_action_is_an_error() {
    let f = Fixture::new("");
    let mut context = ctx();
    context.action = Some("launch-missiles".into());
    let err = f
        .engine()
        .decide(
            &Subject {
                user: "alice".into(),
                ..Default::default()
            },
            &context,
            T0,
        )
        .unwrap_err();
    assert_eq!(err, Error::UnknownAction("launch-missiles".into()));
}

#[test]
fn remembered_mfa_skips_the_prompt_only_for_the_same_host_and_service() {
    let f = Fixture::new("[remember]\nwindow = \"8h\"\n");
    let (secret, _) = crate::common::enroll(&f, "alice", T0);
    let e = f.engine();
    let t = T0.plus(Duration::from_secs(60));
    e.verify(
        "alice",
        crate::common::code_at(&secret, t).as_bytes(),
        &ctx(),
        t,
        &mut SeededRandom::new(1),
    )
    .unwrap();
    let alice = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    let later = t.plus(Duration::from_secs(3600));
    assert_eq!(
        e.decide(&alice, &ctx(), later).unwrap(),
        Decision::NotRequired(NotRequired::Remembered { at: t })
    );
    let elsewhere = Context {
        remote: Some("198.51.100.9".into()),
        ..ctx()
    };
    assert!(matches!(
        e.decide(&alice, &elsewhere, later).unwrap(),
        Decision::Required { .. }
    ));
    let much_later = t.plus(Duration::from_secs(9 * 3600));
    assert!(matches!(
        e.decide(&alice, &ctx(), much_later).unwrap(),
        Decision::Required { .. }
    ));
}

#[test]
fn sms_only_user_with_sms_disabled_has_no_usable_factor() {
    let f = Fixture::new(
        "[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\n[recovery]\ncodes = 1\n",
    );
    let e = f.engine();
    let mut rng = SeededRandom::new(1);
    e.begin_sms("alice", "+447700900123", T0, &mut rng).unwrap();
    let codes = e
        .confirm_sms("alice", f.outbox.last_code().as_bytes(), T0, &mut rng)
        .unwrap();
    e.verify("alice", codes[0].expose().as_bytes(), &ctx(), T0, &mut rng)
        .unwrap();
    let disabled = Policy::default();
    let e2 = Engine::new(&disabled, &f.key, &f.store);
    let alice = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    assert_eq!(
        e2.decide(&alice, &ctx(), T0).unwrap(),
        Decision::Denied(Denied::NoUsableFactor)
    );
}

#[test]
fn a_passed_mfa_stored_in_the_future_is_never_recent() {
    // The clock was a day ahead when alice passed MFA, then was set right.
    let f = Fixture::new("[remember]\nwindow = \"8h\"\n[step_up]\nsudo = \"5m\"\n");
    let (secret, _) = crate::common::enroll(&f, "alice", T0);
    let e = f.engine();
    let ahead = T0.plus(Duration::from_secs(DAY));
    let accepted = e
        .verify(
            "alice",
            crate::common::code_at(&secret, ahead).as_bytes(),
            &ctx(),
            ahead,
            &mut SeededRandom::new(1),
        )
        .unwrap();
    assert!(matches!(accepted, Verification::Accepted { .. }));
    let alice = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    let now = T0.plus(Duration::from_secs(60));
    assert!(
        matches!(
            e.decide(&alice, &ctx(), now).unwrap(),
            Decision::Required { step_up: None, .. }
        ),
        "a mark from the future remembered the host"
    );
    let sudo = Context {
        action: Some("sudo".into()),
        ..ctx()
    };
    assert!(
        matches!(
            e.decide(&alice, &sudo, now).unwrap(),
            Decision::Required {
                step_up: Some(_),
                ..
            }
        ),
        "a last MFA from the future satisfied step-up"
    );
}

#[test]
fn a_code_refused_only_because_the_clock_went_back_is_not_a_failure() {
    let f = Fixture::new("");
    let (secret, _) = crate::common::enroll(&f, "alice", T0);
    let e = f.engine();
    // Accepted while the clock was two minutes ahead...
    let ahead = T0.plus(Duration::from_secs(120));
    let code = crate::common::code_at(&secret, ahead);
    assert!(matches!(
        e.verify(
            "alice",
            code.as_bytes(),
            &ctx(),
            ahead,
            &mut SeededRandom::new(1)
        )
        .unwrap(),
        Verification::Accepted { .. }
    ));
    // ...then the clock was set right: today's right code matches a step
    // before the accepted one.
    let now = T0.plus(Duration::from_secs(5));
    let today = crate::common::code_at(&secret, now);
    let v = e
        .verify(
            "alice",
            today.as_bytes(),
            &ctx(),
            now,
            &mut SeededRandom::new(2),
        )
        .unwrap();
    let step = (ahead.0 / 30) * 30;
    assert_eq!(
        v,
        Verification::ClockBehind {
            last_accepted: UnixTime(step)
        }
    );
    assert_eq!(e.status("alice", now).unwrap().recent_failures, 0);
    assert!(f.events().contains(&AuditKind::ClockBehind {
        last_accepted: UnixTime(step)
    }));
    // A plain replay inside the window is still a replay, and counts.
    let again = e
        .verify(
            "alice",
            code.as_bytes(),
            &ctx(),
            ahead,
            &mut SeededRandom::new(3),
        )
        .unwrap();
    assert!(matches!(again, Verification::Replayed { .. }), "{again:?}");
}

#[test]
fn by_default_only_amr_mfa_counts_as_a_second_factor_done_upstream() {
    // `otp` or `hwk` alone can each be a single factor (RFC 8176): an IdP that
    // signed in with a hardware key only has not done MFA.
    let f = Fixture::new("");
    crate::common::enroll(&f, "alice", T0);
    let e = f.engine();
    for (amr, upstream) in [
        (&["otp"][..], false),
        (&["hwk"], false),
        (&["pwd", "mfa"], true),
    ] {
        let alice = Subject {
            user: "alice".into(),
            amr: amr.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        };
        let d = e.decide(&alice, &ctx(), T0).unwrap();
        assert_eq!(
            d == Decision::NotRequired(NotRequired::UpstreamMfa),
            upstream,
            "amr {amr:?}: {d:?}"
        );
    }
}

/// A step-up on `origin` (a fleet host; `None`: one host or the component)
/// for `session` (a door that keeps sessions), `secs` after T0.
fn sudo_on(f: &Fixture, origin: Option<&str>, session: Option<Session>, secs: u64) -> Decision {
    let ctx = Context {
        action: Some("sudo".into()),
        session,
        ..ctx()
    };
    let alice = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    let at = T0.plus(Duration::from_secs(secs));
    match origin {
        Some(host) => f.engine().with_origin(host).decide(&alice, &ctx, at),
        None => f.engine().decide(&alice, &ctx, at),
    }
    .unwrap()
}

/// Alice enrolled at T0 (through no host) and passed a code at T0 + 100 on `origin`.
fn passed_at_100(policy: &str, origin: Option<&str>) -> (Fixture, UnixTime) {
    let f = Fixture::new(policy);
    let (secret, _) = crate::common::enroll(&f, "alice", T0);
    let at = T0.plus(Duration::from_secs(100));
    let code = crate::common::code_at(&secret, at);
    let verified = match origin {
        Some(host) => f.engine().with_origin(host).verify(
            "alice",
            code.as_bytes(),
            &ctx(),
            at,
            &mut SeededRandom::new(1),
        ),
        None => f.engine().verify(
            "alice",
            code.as_bytes(),
            &ctx(),
            at,
            &mut SeededRandom::new(1),
        ),
    };
    assert!(matches!(verified.unwrap(), Verification::Accepted { .. }));
    (f, at)
}

const STEP_UP: &str = "[step_up]\nsudo = \"1h\"\n";

#[test]
fn a_step_up_counts_a_second_factor_of_the_same_host_or_session_only() {
    let (f, at) = passed_at_100(STEP_UP, Some("host-a"));
    let recent = Decision::NotRequired(NotRequired::RecentMfa { at });
    assert_eq!(sudo_on(&f, Some("host-a"), None, 200), recent);
    // sudo on another host of the fleet asks again.
    assert!(matches!(
        sudo_on(&f, Some("host-b"), None, 200),
        Decision::Required { .. }
    ));
    // So does the identity provider: its browser session passed none.
    let no_mfa = Some(Session {
        mfa_at: None,
        epoch: None,
        phishing_resistant: false,
    });
    assert!(matches!(
        sudo_on(&f, None, no_mfa, 200),
        Decision::Required { .. }
    ));
    // A session counts its own, and only while the step-up's age holds.
    let own = Some(Session {
        mfa_at: Some(T0.plus(Duration::from_secs(150))),
        epoch: None,
        phishing_resistant: false,
    });
    assert_eq!(
        sudo_on(&f, None, own, 200),
        Decision::NotRequired(NotRequired::RecentMfa {
            at: T0.plus(Duration::from_secs(150))
        })
    );
    assert!(matches!(
        sudo_on(&f, None, own, 150 + 3601),
        Decision::Required { .. }
    ));
}

#[test]
fn the_identity_providers_second_factor_does_not_count_for_sudo_on_a_host() {
    let (f, _) = passed_at_100(STEP_UP, None);
    assert!(matches!(
        sudo_on(&f, Some("host-a"), None, 200),
        Decision::Required { .. }
    ));
}

#[test]
fn step_up_scope_fleet_counts_a_second_factor_passed_anywhere() {
    let policy = format!("[enforcement]\nstep_up_scope = \"fleet\"\n{STEP_UP}");
    let (f, at) = passed_at_100(&policy, Some("host-a"));
    let recent = Decision::NotRequired(NotRequired::RecentMfa { at });
    assert_eq!(sudo_on(&f, Some("host-b"), None, 200), recent);
    assert_eq!(
        sudo_on(
            &f,
            None,
            Some(Session {
                mfa_at: None,
                epoch: None,
                phishing_resistant: false,
            }),
            200
        ),
        recent
    );
}

#[test]
fn a_sessions_second_factor_from_before_a_reset_never_counts() {
    let (f, at) = passed_at_100(STEP_UP, None);
    crate::common::enroll(&f, "alice", T0.plus(Duration::from_secs(300)));
    // Re-enrolled at T0 + 300: the session's factor of T0 + 100 is void.
    let old = Some(Session {
        mfa_at: Some(at),
        epoch: None,
        phishing_resistant: false,
    });
    assert!(matches!(
        sudo_on(&f, None, old, 310),
        Decision::Required { .. }
    ));
}

#[test]
fn the_session_that_made_the_last_change_keeps_its_second_factor() {
    let (f, at) = passed_at_100(STEP_UP, None);
    // A change of factors at T0 + 300 (here a new enrollment).
    crate::common::enroll(&f, "alice", T0.plus(Duration::from_secs(300)));
    let epoch = f
        .engine()
        .status("alice", T0.plus(Duration::from_secs(310)))
        .unwrap()
        .sessions_epoch;
    // The session that made it goes on at the new count: nothing ended it.
    let own = Some(Session {
        mfa_at: Some(at),
        epoch: Some(epoch),
        phishing_resistant: false,
    });
    assert_eq!(
        sudo_on(&f, None, own, 310),
        Decision::NotRequired(NotRequired::RecentMfa { at })
    );
    // A session noted at the count before: the change ended it.
    let other = Some(Session {
        mfa_at: Some(at),
        epoch: Some(epoch - 1),
        phishing_resistant: false,
    });
    assert!(matches!(
        sudo_on(&f, None, other, 310),
        Decision::Required { .. }
    ));
}
