//! The login flow against a scripted PAM handle and a memory store.

use super::fake::{
    say, LogAudit, MemoryLog, RecordingSender, ScriptedPam, Step, TestStore, GATEWAY,
};
use super::messages::{
    self, CODE_PROMPT, CONFIRM_PROMPT, ENROLL_QUESTION, HOW_TO_FIX, NEXT_CODE_PROMPT,
};
use super::{account, authenticate, Accounts, Env};
use crate::code::PamCode;
use crate::pam::Pam;
use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::parse_base32;
use planasonix_core::{
    Deferred, Engine, Factor, MemoryStore, Policy, SealKey, SecretBytes, SeededRandom, UnixTime,
};
use planasonix_native::accounts::{Account, AccountError};
use planasonix_native::delivery::Sender;
use planasonix_native::syslog::Severity;
use planasonix_native::{EngineCall, TrailPlace};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

const T0: u64 = 1_800_000_000;
const SECRET: &[u8] = b"12345678901234567890";

/// A directory that, like SSSD by default, resolves names case-insensitively
/// and knows qualified forms; `ghost` is unknown.
struct FakeAccounts;

impl Accounts for FakeAccounts {
    fn resolve(&self, typed: &str) -> Result<Account, AccountError> {
        let name = typed
            .strip_suffix("@example.com")
            .unwrap_or(typed)
            .to_ascii_lowercase();
        if name == "ghost" {
            return Err(AccountError::Unknown(typed.into()));
        }
        Ok(Account {
            name,
            uid: 1000,
            gid: 1000,
        })
    }

    fn groups_of(&self, account: &Account) -> Result<Vec<String>, AccountError> {
        match account.name.as_str() {
            "alice" => Ok(vec!["alice".into(), "wheel".into()]),
            "bob" => Ok(vec!["bob".into()]),
            _ => Err(AccountError::Lookup {
                call: "getgrouplist",
                reason: "no such user".into(),
            }),
        }
    }
}

struct World {
    policy: Policy,
    key: SealKey,
    state: TestStore,
    sender: RecordingSender,
    log: Arc<MemoryLog>,
    audit: LogAudit,
    now: Arc<AtomicU64>,
    clock: Box<dyn Fn() -> UnixTime>,
    action: Option<String>,
    rng: std::cell::RefCell<SeededRandom>,
}

fn world(policy: &str) -> World {
    let now = Arc::new(AtomicU64::new(T0));
    let n = now.clone();
    let log = Arc::new(MemoryLog::default());
    World {
        policy: Policy::from_toml(policy).unwrap(),
        key: SealKey::from_bytes(&[7; 32]).unwrap(),
        state: TestStore {
            store: Arc::new(MemoryStore::new()),
            open: Arc::new(AtomicBool::new(false)),
            broken: false,
        },
        sender: RecordingSender::default(),
        audit: LogAudit(log.clone()),
        log,
        now,
        clock: Box::new(move || UnixTime(n.load(Ordering::SeqCst))),
        action: None,
        rng: std::cell::RefCell::new(SeededRandom::new(42)),
    }
}

impl World {
    /// The production path (native's `EngineCall`) over the test store,
    /// the recording sender and the memory log.
    fn env(&self) -> Env<'_, TestStore> {
        self.env_on(&self.state)
    }

    fn env_on<'a, S: planasonix_native::Transactions>(&'a self, state: &'a S) -> Env<'a, S> {
        Env {
            engine: EngineCall::new(
                state,
                &TrailPlace::InStore,
                &self.policy,
                &self.key,
                &self.audit,
                &self.sender,
            )
            .with_clock(&*self.clock),
            log: &*self.log,
            accounts: &FakeAccounts,
            action: self.action.clone(),
        }
    }

    fn pam(&self, user: &str, script: Vec<Step>) -> ScriptedPam {
        ScriptedPam::new(user, script, self.state.open.clone())
    }

    fn auth(&self, pam: &ScriptedPam) -> PamCode {
        authenticate(pam, &self.env(), &mut *self.rng.borrow_mut())
    }

    /// As the module runs it: the login's reads remembered for its later
    /// transactions (`Remembering`), over the same store.
    fn auth_remembering(&self, pam: &ScriptedPam) -> PamCode {
        let state = planasonix_native::Remembering::new(TestStore {
            store: self.state.store.clone(),
            open: self.state.open.clone(),
            broken: self.state.broken,
        });
        authenticate(pam, &self.env_on(&state), &mut *self.rng.borrow_mut())
    }

    fn engine(&self) -> Engine<'_> {
        Engine::new(&self.policy, &self.key, &*self.state.store)
    }

    fn at(&self) -> UnixTime {
        UnixTime(self.now.load(Ordering::SeqCst))
    }

    fn advance(&self, secs: u64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }

    /// Enrolls `user` with [`SECRET`]; returns the recovery codes.
    fn provision(&self, user: &str) -> Vec<String> {
        let params = self.engine().totp_params();
        let done = self
            .engine()
            .provision_totp(
                user,
                &SecretBytes::new(SECRET.to_vec()),
                params,
                self.at(),
                &mut *self.rng.borrow_mut(),
            )
            .unwrap();
        done.recovery_codes
            .iter()
            .map(|c| c.expose().to_owned())
            .collect()
    }

    fn code(&self) -> String {
        totp(Algorithm::Sha1, SECRET, self.at().0, 30, 6)
    }

    fn log_text(&self) -> String {
        self.log
            .lines()
            .iter()
            .map(|(_, l)| l.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

const REQUIRED: &str = "[enforcement]\nmode = \"required-for-all\"\n";

#[test]
fn a_valid_code_passes_and_is_never_logged() {
    let w = world(REQUIRED);
    w.provision("alice");
    let code = w.code();
    let pam = w.pam("alice", vec![Step::Secret(CODE_PROMPT, say(&code))]);
    assert_eq!(w.auth(&pam), PamCode::Success);
    assert!(pam.passed());
    let log = w.log_text();
    assert!(
        log.contains("user=alice service=sshd remote=192.0.2.10: accepted"),
        "{log}"
    );
    assert!(!log.contains(&code), "{log}");
}

#[test]
fn a_replayed_code_is_refused() {
    let w = world(REQUIRED);
    w.provision("alice");
    let code = w.code();
    let pam = w.pam("alice", vec![Step::Secret(CODE_PROMPT, say(&code))]);
    assert_eq!(w.auth(&pam), PamCode::Success);
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(CODE_PROMPT, say(&code)),
            Step::Error("already used"),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::AuthErr);
    assert!(!pam.passed());
}

#[test]
fn a_wrong_code_is_refused_and_garbage_asks_again() {
    let w = world(REQUIRED);
    w.provision("alice");
    let wrong = if w.code() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(CODE_PROMPT, say("12ab")),
            Step::Error("Not a code"),
            Step::Secret(CODE_PROMPT, say("123")),
            Step::Error("3 digits"),
            Step::Secret(CODE_PROMPT, say(wrong)),
            Step::Error("Wrong code. 4 more"),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::AuthErr);
}

#[test]
fn endless_garbage_ends_the_attempt() {
    let w = world(REQUIRED);
    w.provision("alice");
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(CODE_PROMPT, say("x")),
            Step::Error("Not a code"),
            Step::Secret(CODE_PROMPT, say("")),
            Step::Error("No code"),
            Step::Secret(CODE_PROMPT, say("y")),
            Step::Error("Not a code"),
            Step::Error("Too many unusable answers"),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::AuthErr);
}

#[test]
fn a_recovery_code_works_once() {
    let w = world(REQUIRED);
    let codes = w.provision("alice");
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(CODE_PROMPT, say(&codes[0].to_lowercase())),
            Step::Info("Recovery code accepted. 9 recovery codes left."),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(CODE_PROMPT, say(&codes[0])),
            Step::Error("That recovery code was already used: each works once."),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::AuthErr);
    assert!(!w.log_text().contains(&codes[0]));
}

#[test]
fn out_of_scope_users_get_ignore_without_a_prompt() {
    let w = world("[enforcement]\nmode = \"optional\"\n");
    let pam = w.pam("carol", vec![]);
    assert_eq!(w.auth(&pam), PamCode::Ignore);
    let pam = w.pam("carol", vec![]);
    assert_eq!(account(&pam, &w.env()), PamCode::Ignore);
}

#[test]
fn admins_are_found_by_group_and_unknown_users_fail_closed() {
    let w = world("[enforcement]\nmode = \"required-for-admins\"\nadmin_groups = [\"wheel\"]\n");
    let pam = w.pam("bob", vec![]);
    assert_eq!(w.auth(&pam), PamCode::Ignore);
    let pam = w.pam("alice", vec![Step::Info("becomes mandatory")]);
    assert_eq!(w.auth(&pam), PamCode::Success);
    let pam = w.pam("mallory", vec![]);
    assert_eq!(w.auth(&pam), PamCode::AuthInfoUnavail);
    assert!(w.log_text().contains("user=mallory: cannot read groups"));
}

#[test]
fn grace_reminds_then_overdue_is_refused() {
    let w = world("[enforcement]\nmode = \"required-for-all\"\ngrace_period = \"1d\"\n");
    let pam = w.pam(
        "dave",
        vec![Step::Info(
            "becomes mandatory for your account on 2027-01-16T08:00:00Z",
        )],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
    w.advance(86_400);
    let pam = w.pam(
        "dave",
        vec![Step::Error("enrollment was due by 2027-01-16T08:00:00Z")],
    );
    assert_eq!(w.auth(&pam), PamCode::AuthErr);
    let pam = w.pam("dave", vec![Step::Error("enrollment was due")]);
    assert_eq!(account(&pam, &w.env()), PamCode::PermDenied);
}

fn key_from_shown(shown: &[String]) -> Vec<u8> {
    let line = shown
        .iter()
        .find(|s| s.contains("enter this key by hand"))
        .unwrap();
    let key = line
        .split("by hand: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    parse_base32(key).unwrap()
}

#[test]
fn enrollment_at_login_during_grace() {
    let w = world("[enforcement]\nmode = \"required-for-all\"\nenroll_at_login = true\n");
    let now = w.now.clone();
    let code_at = move |offset: u64| -> super::fake::Answer {
        let now = now.clone();
        Box::new(move |shown| {
            let secret = key_from_shown(shown);
            totp(
                Algorithm::Sha1,
                &secret,
                now.load(Ordering::SeqCst) + offset,
                30,
                6,
            )
        })
    };
    let pam = w.pam(
        "erin",
        vec![
            Step::Info("becomes mandatory"),
            Step::Visible(ENROLL_QUESTION, say("y")),
            Step::Info("█"),
            Step::Info("enter this key by hand"),
            Step::Secret(CONFIRM_PROMPT, say("000000x")),
            Step::Error("Not a code"),
            Step::Secret(CONFIRM_PROMPT, code_at(0)),
            Step::Info("recovery codes"),
            Step::Info("next code"),
            Step::Secret(NEXT_CODE_PROMPT, code_at(30)),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
    assert!(pam.passed());
    let shown = pam.shown().join("\n");
    let key = shown
        .split("by hand: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    assert!(!w.log_text().contains(&key), "the TOTP key reached the log");
    // The account stage on the same handle sees the passed auth step.
    pam.then(vec![]);
    assert_eq!(account(&pam, &w.env()), PamCode::Success);
}

#[test]
fn declining_enrollment_still_logs_in_during_grace() {
    let w = world("[enforcement]\nmode = \"required-for-all\"\nenroll_at_login = true\n");
    let pam = w.pam(
        "erin",
        vec![
            Step::Info("becomes mandatory"),
            Step::Visible(ENROLL_QUESTION, say("n")),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
}

#[test]
fn lockout_gives_maxtries_and_says_until_when() {
    let w = world("[enforcement]\nmode = \"required-for-all\"\n[lockout]\nmax_failures = 2\n");
    w.provision("alice");
    let wrong = if w.code() == "000000" {
        "111111"
    } else {
        "000000"
    };
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(CODE_PROMPT, say(wrong)),
            Step::Error("Wrong code. 1 more"),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::AuthErr);
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(CODE_PROMPT, say(wrong)),
            Step::Error("locked until"),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::MaxTries);
    let pam = w.pam("alice", vec![Step::Error("locked until")]);
    assert_eq!(w.auth(&pam), PamCode::MaxTries);
}

#[test]
fn step_up_accepts_a_fresh_mfa_and_asks_after_a_stale_one() {
    let mut w = world("[enforcement]\nmode = \"optional\"\n[step_up]\nsudo = \"5m\"\n");
    w.provision("alice");
    let pam = w.pam("alice", vec![Step::Secret(CODE_PROMPT, say(&w.code()))]);
    assert_eq!(w.auth(&pam), PamCode::Success);
    w.action = Some("sudo".into());
    let pam = w.pam("alice", vec![]);
    assert_eq!(w.auth(&pam), PamCode::Success, "fresh MFA needs no prompt");
    w.advance(301);
    let pam = w.pam(
        "alice",
        vec![
            Step::Info("sudo needs a recent second factor"),
            Step::Secret(CODE_PROMPT, say(&w.code())),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
}

#[test]
fn account_stage_is_a_safety_net() {
    let w = world(REQUIRED);
    w.provision("alice");
    // Public-key-only login: no MFA anywhere.
    let pam = w.pam(
        "alice",
        vec![Step::Error(
            "AuthenticationMethods publickey,keyboard-interactive",
        )],
    );
    assert_eq!(account(&pam, &w.env()), PamCode::PermDenied);
    assert!(HOW_TO_FIX.contains("KbdInteractiveAuthentication yes"));
    // Same transaction after a passed auth stage.
    let pam = w.pam("alice", vec![Step::Secret(CODE_PROMPT, say(&w.code()))]);
    assert_eq!(w.auth(&pam), PamCode::Success);
    pam.then(vec![]);
    assert_eq!(account(&pam, &w.env()), PamCode::Success);
    // A key-only login beside it, seconds later, same service and host: it
    // must not ride alice's MFA (another PAM handle, nothing passed there).
    w.advance(5);
    let beside = w.pam("alice", vec![Step::Error("AuthenticationMethods")]);
    assert_eq!(account(&beside, &w.env()), PamCode::PermDenied);
    let mut elsewhere = w.pam("alice", vec![Step::Error("AuthenticationMethods")]);
    elsewhere.rhost = Some("198.51.100.1".into());
    assert_eq!(account(&elsewhere, &w.env()), PamCode::PermDenied);
}

const SMS_POLICY: &str = "[enforcement]\nmode = \"required-for-all\"\n[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\nresend_interval = \"0s\"\n";

/// The code in the last SMS sent.
fn last_sms_code(sent: &std::sync::Mutex<Vec<(String, String)>>) -> String {
    let sent = sent.lock().unwrap();
    let (_, text) = sent.last().unwrap();
    text.split("code: ").nth(1).unwrap()[..6].to_owned()
}

/// Enrolls an SMS number for `user` through the engine; returns recovery codes.
fn enroll_sms(w: &World, user: &str) -> Vec<String> {
    let queue = Deferred::new();
    let engine = w.engine().with_delivery(&queue);
    engine
        .begin_sms(user, "+447700900123", w.at(), &mut *w.rng.borrow_mut())
        .unwrap();
    for msg in queue.take() {
        w.sender.send(&msg).unwrap();
    }
    let code = last_sms_code(&w.sender.sent);
    let codes = engine
        .confirm_sms(user, code.as_bytes(), w.at(), &mut *w.rng.borrow_mut())
        .unwrap();
    codes.iter().map(|c| c.expose().to_owned()).collect()
}

#[test]
fn sms_is_sent_after_the_store_closes_and_never_logged() {
    let mut w = world(SMS_POLICY);
    w.sender.sms = true;
    enroll_sms(&w, "frank");
    let sent = w.sender.sent.clone();
    let pam = w.pam(
        "frank",
        vec![
            Step::Secret(CODE_PROMPT, say("sms")),
            Step::Secret(
                "Code sent by SMS to +44••••••••23",
                Box::new(move |_| {
                    assert_eq!(sent.lock().unwrap().last().unwrap().0, "+447700900123");
                    last_sms_code(&sent)
                }),
            ),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
    let log = w.log_text();
    assert!(
        log.contains("accepted (SMS)") && log.contains("event=sms-sent"),
        "{log}"
    );
    assert!(
        !log.contains("7700900123") && !log.contains(&last_sms_code(&w.sender.sent)),
        "{log}"
    );
}

#[test]
fn a_failed_sms_is_reported_and_a_recovery_code_still_works() {
    let mut w = world(SMS_POLICY);
    w.sender.sms = true;
    let codes = enroll_sms(&w, "frank");
    w.sender.fail = true;
    let pam = w.pam(
        "frank",
        vec![
            Step::Secret(CODE_PROMPT, say("sms")),
            Step::Error(
                "The SMS could not be sent. Use your authenticator app or a recovery code.",
            ),
            Step::Secret(CODE_PROMPT, say(&codes[0])),
            Step::Info("Recovery code accepted"),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
    let log = w.log_text();
    assert!(
        log.contains(&format!(
            "SMS delivery failed: {GATEWAY} exited with status 1"
        )),
        "{log}"
    );
    assert!(
        log.contains("user=frank service=sshd remote=192.0.2.10 event=sms-failed"),
        "{log}"
    );
}

#[test]
fn the_code_of_an_sms_that_was_not_sent_is_void() {
    let mut w = world(SMS_POLICY);
    w.sender.sms = true;
    enroll_sms(&w, "frank");
    // The gateway took the text but reported failure: the host must not
    // then accept the code it believes unsent.
    w.sender.fail = true;
    let sent = w.sender.sent.clone();
    let pam = w.pam(
        "frank",
        vec![
            Step::Secret(CODE_PROMPT, say("sms")),
            Step::Error("The SMS could not be sent"),
            Step::Secret(CODE_PROMPT, Box::new(move |_| last_sms_code(&sent))),
            // No SMS code is pending, and frank has no app: no code of that
            // length can be his.
            Step::Error("6 digits is not the length of any of your codes"),
            Step::ConvFails(CODE_PROMPT),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::ConvErr);
    assert!(!pam.passed());
}

#[test]
fn without_an_sms_command_sms_fails_plainly() {
    let w = world(SMS_POLICY);
    enroll_sms(&w, "frank");
    let codes = w
        .engine()
        .regenerate_recovery("frank", w.at(), &mut *w.rng.borrow_mut())
        .unwrap();
    let pam = w.pam(
        "frank",
        vec![
            Step::Secret(CODE_PROMPT, say("sms")),
            Step::Error("no SMS delivery is configured"),
            Step::Secret(CODE_PROMPT, say(codes[0].expose())),
            Step::Info("Recovery code accepted"),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
}

#[test]
fn a_broken_store_fails_closed() {
    let mut w = world(REQUIRED);
    w.state.broken = true;
    let pam = w.pam("alice", vec![Step::Error("unavailable")]);
    assert_eq!(w.auth(&pam), PamCode::AuthInfoUnavail);
    let pam = w.pam("alice", vec![Step::Error("unavailable")]);
    assert_eq!(account(&pam, &w.env()), PamCode::AuthInfoUnavail);
    assert!(w.log_text().contains("test store is broken"));
}

#[test]
fn a_failed_conversation_is_conv_err() {
    let w = world(REQUIRED);
    w.provision("alice");
    let pam = w.pam("alice", vec![Step::ConvFails(CODE_PROMPT)]);
    assert_eq!(w.auth(&pam), PamCode::ConvErr);
}

#[test]
fn exemptions_pass_and_are_logged_as_warnings() {
    let w = world("[enforcement]\nmode = \"required-for-all\"\nexempt_users = [\"breakglass\"]\n");
    let pam = w.pam("breakglass", vec![]);
    assert_eq!(w.auth(&pam), PamCode::Success);
    assert!(warned(
        &w,
        "user=breakglass service=sshd remote=192.0.2.10 event=exemption-used"
    ));
}

fn warned(w: &World, text: &str) -> bool {
    w.log
        .lines()
        .iter()
        .any(|(sev, l)| *sev == Severity::Warning && l.contains(text))
}

#[test]
fn break_glass_works_when_the_store_does_not() {
    let mut w =
        world("[enforcement]\nmode = \"required-for-all\"\nexempt_users = [\"breakglass\"]\n");
    w.state.broken = true;
    let pam = w.pam("breakglass", vec![]);
    assert_eq!(w.auth(&pam), PamCode::Success);
    assert!(warned(
        &w,
        "user=breakglass service=sshd remote=192.0.2.10: break-glass"
    ));
    assert!(w
        .log_text()
        .contains("not in the audit trail: database unusable: test store is broken"));
    let pam = w.pam("breakglass", vec![]);
    assert_eq!(account(&pam, &w.env()), PamCode::Success);
    // Everyone else the policy requires is refused.
    let pam = w.pam("alice", vec![Step::Error("unavailable")]);
    assert_eq!(w.auth(&pam), PamCode::AuthInfoUnavail);
}

#[test]
fn users_the_policy_does_not_require_are_ignored_when_the_store_is_down() {
    let mut w =
        world("[enforcement]\nmode = \"required-for-admins\"\nadmin_groups = [\"wheel\"]\n");
    w.state.broken = true;
    let pam = w.pam("bob", vec![]);
    assert_eq!(w.auth(&pam), PamCode::Ignore);
    assert!(warned(&w, "does not require a second factor of this user"));
    let pam = w.pam("alice", vec![Step::Error("unavailable")]);
    assert_eq!(w.auth(&pam), PamCode::AuthInfoUnavail);
}

#[test]
fn an_alias_is_the_same_account_and_its_failures_count_there() {
    let w = world(REQUIRED);
    w.provision("alice");
    for typed in ["ALICE", "alice@example.com"] {
        let pam = w.pam(
            typed,
            vec![
                Step::Secret(CODE_PROMPT, say("000000")),
                Step::Error("Wrong code"),
            ],
        );
        assert_eq!(w.auth(&pam), PamCode::AuthErr, "{typed}");
        let pam = w.pam(typed, vec![Step::Error("needs a second factor")]);
        assert_eq!(account(&pam, &w.env()), PamCode::PermDenied, "{typed}");
    }
    let status = w.engine().status("alice", w.at()).unwrap();
    assert_eq!(status.recent_failures, 2);
    assert_eq!(
        planasonix_core::Store::keys(&*w.state.store, "user/").unwrap(),
        ["user/alice"],
        "an alias must never get a record of its own"
    );
    assert!(w.log_text().contains("user=alice typed=ALICE service=sshd"));
}

#[test]
fn a_name_nss_does_not_know_is_user_unknown_and_writes_nothing() {
    let w = world(REQUIRED);
    let pam = w.pam("ghost", vec![]);
    assert_eq!(w.auth(&pam), PamCode::UserUnknown);
    let pam = w.pam("ghost", vec![]);
    assert_eq!(account(&pam, &w.env()), PamCode::UserUnknown);
    assert!(planasonix_core::Store::keys(&*w.state.store, "")
        .unwrap()
        .is_empty());
    assert!(w
        .log_text()
        .contains("user=ghost service=sshd: no account ghost"));
}

const PASSKEYS: &str = "[enforcement]\nmode = \"required-for-all\"\n[passkeys]\nenabled = true\nrp_id = \"example.com\"\norigins = [\"https://login.example.com\"]\n";

/// Registers a software passkey for `user`; returns the recovery codes.
fn register_passkey(w: &World, user: &str) -> Vec<String> {
    let key = planasonix_core::testing::SoftAuthenticator::new(1, "https://login.example.com");
    let e = w.engine();
    let options = e
        .passkey_registration_options(user, "", w.at(), &mut *w.rng.borrow_mut())
        .unwrap();
    e.register_passkey(
        user,
        "YubiKey",
        key.register(&options).as_bytes(),
        w.at(),
        &mut *w.rng.borrow_mut(),
    )
    .unwrap()
    .iter()
    .map(|c| c.expose().to_owned())
    .collect()
}

#[test]
fn a_passkey_user_types_a_recovery_code_at_the_terminal_or_is_told_why_not() {
    let w = world(PASSKEYS);
    let codes = register_passkey(&w, "alice");
    let pam = w.pam(
        "alice",
        vec![
            Step::Info(messages::PASSKEY_HERE_USE_RECOVERY),
            Step::Secret(CODE_PROMPT, say(&codes[0])),
            Step::Info("Recovery code accepted. 9 recovery codes left."),
        ],
    );
    assert_eq!(w.auth(&pam), PamCode::Success);
    // With the codes gone, nothing a terminal can take is left: refused,
    // saying why, without a prompt.
    let e = w.engine();
    let mut status = e.status("alice", w.at()).unwrap();
    for code in &codes[1..] {
        let ctx = planasonix_core::Context {
            service: "test".into(),
            remote: None,
            action: None,
            session: None,
        };
        e.verify(
            "alice",
            code.as_bytes(),
            &ctx,
            w.at(),
            &mut *w.rng.borrow_mut(),
        )
        .unwrap();
        status = e.status("alice", w.at()).unwrap();
    }
    assert_eq!(status.factors, vec![Factor::Passkey]);
    let pam = w.pam("alice", vec![Step::Error(messages::PASSKEY_ONLY)]);
    assert_eq!(w.auth(&pam), PamCode::AuthErr);
    assert!(w.log_text().contains("a terminal cannot take it"));
}

#[test]
fn a_step_up_that_needs_a_passkey_is_refused_at_the_terminal_saying_why() {
    let policy = format!(
        "{PASSKEYS}[step_up]\nsudo = {{ max_age = \"5m\", require = \"phishing-resistant\" }}\n"
    );
    for with_passkey in [false, true] {
        let mut w = world(&policy);
        w.action = Some("sudo".into());
        w.provision("alice");
        if with_passkey {
            register_passkey(&w, "alice");
        }
        let pam = w.pam("alice", vec![Step::Error(messages::PASSKEY_NEEDED_HERE)]);
        assert_eq!(
            w.auth(&pam),
            PamCode::AuthErr,
            "with a passkey: {with_passkey}"
        );
        assert!(w.log_text().contains("the action needs a passkey"));
    }
}

const APPROVAL: &str = "[enforcement]\nmode = \"required-for-all\"\n[approval]\nenabled = true\nurl = \"https://login.example.com/approve\"\nlifetime = \"30s\"\n";

/// What the user does at the identity provider while the terminal waits.
#[derive(Clone, Copy)]
enum AtTheProvider {
    /// Picks the number the terminal shows.
    PicksTheNumber,
    /// Clicks "This wasn't me".
    NotMe,
    /// Does nothing until the request lapses (the clock moves past it).
    Nothing,
}

/// An answer to the waiting prompt that first plays the user at the
/// provider: reads the code and number the terminal showed, and answers
/// with the engine on the same store (what the provider's component does
/// on the fleet's store); then presses Enter.
fn at_the_provider(w: &World, what: AtTheProvider) -> super::fake::Answer {
    let (store, policy, now) = (w.state.store.clone(), w.policy.clone(), w.now.clone());
    Box::new(move |shown: &[String]| {
        let text = shown.join("\n");
        let code = text
            .split("enter ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap()
            .to_owned();
        let number: u8 = text
            .split("pick the number ")
            .nth(1)
            .and_then(|r| r.split('.').next())
            .unwrap()
            .parse()
            .unwrap();
        let key = SealKey::from_bytes(&[7; 32]).unwrap();
        let provider = Engine::new(&policy, &key, &*store);
        let at = UnixTime(now.load(Ordering::SeqCst));
        let session = planasonix_core::Session {
            mfa_at: Some(at),
            epoch: None,
            phishing_resistant: false,
        };
        let answer = match what {
            AtTheProvider::PicksTheNumber => planasonix_core::ApprovalAnswer::Number(number),
            AtTheProvider::NotMe => planasonix_core::ApprovalAnswer::NotMe,
            AtTheProvider::Nothing => {
                now.fetch_add(31, Ordering::SeqCst);
                return String::new();
            }
        };
        provider
            .answer_approval(
                "alice",
                &code,
                answer,
                &session,
                &["pwd".into(), "otp".into()],
                at,
            )
            .unwrap();
        String::new()
    })
}

#[test]
fn enter_asks_for_approval_in_the_browser_and_the_right_number_lets_the_login_in() {
    let w = world(APPROVAL);
    w.provision("alice");
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(messages::CODE_OR_APPROVE_PROMPT, say("")),
            Step::Info("█"),
            Step::Info("Open https://login.example.com/approve and enter "),
            Step::Secret(
                messages::APPROVAL_PROMPT,
                at_the_provider(&w, AtTheProvider::PicksTheNumber),
            ),
        ],
    );
    assert_eq!(w.auth_remembering(&pam), PamCode::Success);
    assert!(pam.passed());
    let log = w.log_text();
    assert!(log.contains("approved in the browser"), "{log}");
    // The request was taken: nothing is left to approve.
    assert!(w.engine().status("alice", w.at()).is_ok());
    assert!(
        !log.contains("approval-approved") || log.contains("login_host="),
        "{log}"
    );
}

#[test]
fn this_wasnt_me_in_the_browser_refuses_the_login() {
    let w = world(APPROVAL);
    w.provision("alice");
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(messages::CODE_OR_APPROVE_PROMPT, say("")),
            Step::Info("█"),
            Step::Info("pick the number"),
            Step::Secret(
                messages::APPROVAL_PROMPT,
                at_the_provider(&w, AtTheProvider::NotMe),
            ),
            Step::Error("refused in the browser"),
        ],
    );
    assert_eq!(w.auth_remembering(&pam), PamCode::AuthErr);
    assert!(!pam.passed());
}

#[test]
fn an_expired_request_falls_back_to_the_code_prompt() {
    let w = world(APPROVAL);
    w.provision("alice");
    let w2 = &w;
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(messages::CODE_OR_APPROVE_PROMPT, say("")),
            Step::Info("█"),
            Step::Info("pick the number"),
            Step::Secret(
                messages::APPROVAL_PROMPT,
                at_the_provider(w2, AtTheProvider::Nothing),
            ),
            Step::Error("expired"),
            Step::Secret(CODE_PROMPT, {
                let now = w.now.clone();
                Box::new(move |_: &[String]| {
                    totp(Algorithm::Sha1, SECRET, now.load(Ordering::SeqCst), 30, 6)
                })
            }),
        ],
    );
    assert_eq!(w.auth_remembering(&pam), PamCode::Success);
    assert!(w.log_text().contains("the approval request expired"));
}

#[test]
fn a_code_typed_while_waiting_works_and_voids_the_request() {
    let w = world(APPROVAL);
    w.provision("alice");
    let code = w.code();
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(messages::CODE_OR_APPROVE_PROMPT, say("")),
            Step::Info("█"),
            Step::Info("pick the number"),
            Step::Secret(messages::APPROVAL_PROMPT, say(&code)),
        ],
    );
    assert_eq!(w.auth_remembering(&pam), PamCode::Success);
    let voided = w.log_text();
    assert!(voided.contains("approval-voided"), "{voided}");
    assert!(voided.contains("a code was typed"), "{voided}");
}

#[test]
fn ending_the_conversation_while_waiting_voids_the_request() {
    let w = world(APPROVAL);
    w.provision("alice");
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(messages::CODE_OR_APPROVE_PROMPT, say("")),
            Step::Info("█"),
            Step::Info("pick the number"),
            Step::ConvFails(messages::APPROVAL_PROMPT),
        ],
    );
    assert_ne!(w.auth_remembering(&pam), PamCode::Success);
    let log = w.log_text();
    assert!(log.contains("the prompt ended"), "{log}");
}

#[test]
fn where_the_policy_does_not_offer_it_enter_is_just_an_empty_code() {
    let w = world(REQUIRED);
    w.provision("alice");
    let code = w.code();
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(CODE_PROMPT, say("")),
            Step::Error("No code was entered"),
            Step::Secret(CODE_PROMPT, say(&code)),
        ],
    );
    assert_eq!(w.auth_remembering(&pam), PamCode::Success);
    assert!(!w.log_text().contains("approval"));
}

#[test]
fn a_passkey_only_user_may_approve_in_the_browser_where_it_is_offered() {
    let policy = format!(
        "{APPROVAL}{}",
        &PASSKEYS[PASSKEYS.find("[passkeys]").unwrap()..]
    );
    let w = world(&policy);
    let key = planasonix_core::testing::SoftAuthenticator::new(1, "https://login.example.com");
    let e = w.engine();
    let options = e
        .passkey_registration_options("alice", "", w.at(), &mut *w.rng.borrow_mut())
        .unwrap();
    e.register_passkey(
        "alice",
        "Laptop",
        key.register(&options).as_bytes(),
        w.at(),
        &mut *w.rng.borrow_mut(),
    )
    .unwrap();
    let pam = w.pam(
        "alice",
        vec![
            Step::Secret(messages::APPROVE_ONLY_PROMPT, say("")),
            Step::Info("█"),
            Step::Info("pick the number"),
            Step::Secret(
                messages::APPROVAL_PROMPT,
                at_the_provider(&w, AtTheProvider::PicksTheNumber),
            ),
        ],
    );
    assert_eq!(w.auth_remembering(&pam), PamCode::Success);
}
