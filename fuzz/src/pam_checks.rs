//! Check for the PAM module's conversation answers.
//!
//! Shared by the fuzz target `pam_conversation` and
//! `pam-module/tests/fuzz_regressions.rs` (included there with `#[path]`):
//! only `planasonix_core`, `pam_planasonix` and `std` may be used here.
//!
//! What the module does with an answer (pam-module/src/ffi/handle.rs and
//! flow/): libpam's conversation returns a malloc'd NUL-terminated C string;
//! the module copies the bytes before the NUL and hands them, unchanged, to
//! one of three places, depending on the prompt:
//!
//! * `Verification code: ` → `Engine::verify` (which classifies them with
//!   `CodeInput::parse`, then matches them against the user's factors);
//! * `Code shown by the app: ` (enrolling at login) → `Engine::confirm_totp`;
//! * `Set up an authenticator app now? [y/N]: ` → `wants_enrollment`.
//!
//! An answer the engine refuses is shown back as `capitalise(error)`.
//!
//! The check runs the answer through the real engine over an in-memory store
//! restored each time from a snapshot: `alice` has an authenticator app, an
//! SMS number with a live 8-digit login code, and one recovery code; `bob` is
//! halfway through enrolling an app. The valid codes are known, so the check
//! also asserts the verdict: the right code passes, a code of the wrong shape
//! is an input error that changes nothing, any other code is a counted failure.

use pam_planasonix::fuzzing::{capitalise, wants_enrollment};
use planasonix_core::hotp::totp;
use planasonix_core::input::{CodeInput, InputError};
use planasonix_core::otpauth::parse_base32;
use planasonix_core::phone::PhoneNumber;
use planasonix_core::recovery::normalize_recovery_code;
use planasonix_core::store::Store;
use planasonix_core::{
    Context, Delivery, DeliveryError, Engine, Error, Factor, MemoryStore, Notice, Policy, SealKey,
    SeededRandom, TotpEnrollment, UnixTime, Verification,
};
use std::ffi::CStr;
use std::sync::{Mutex, OnceLock};

/// The policy: SMS on with 8-digit codes (so they never collide with 6-digit
/// TOTP codes), no rate limit in the way, one recovery code (each
/// confirmation generates a set, at 10 000 PBKDF2 rounds a code).
const POLICY: &str = r#"
[enforcement]
mode = "required-for-all"

[sms]
enabled = true
allowed_prefixes = ["+44"]
code_length = 8
resend_interval = "0s"
max_sends_per_hour = 60

[recovery]
codes = 1
"#;

/// When the fixture was set up, and when every answer is checked: the same
/// 30-second TOTP step, so the code that confirmed alice's app is a replay.
const T0: UnixTime = UnixTime(1_800_000_000);
const NOW: UnixTime = UnixTime(1_800_000_010);

/// The user at the code prompt, and the one confirming a new app.
const ALICE: &str = "alice";
const BOB: &str = "bob";

/// Failures before a lock under [`POLICY`] (the default, 5).
const MAX_FAILURES: u32 = 5;

/// Everything the check needs, built once per process.
pub struct Fixture {
    policy: Policy,
    key: SealKey,
    /// Every store entry after setup, to restore before each answer.
    pub snapshot: Vec<(String, Vec<u8>)>,
    /// alice's TOTP code for the step after the one she already used.
    pub alice_fresh: Vec<String>,
    /// alice's TOTP codes for steps already used (within the skew window).
    pub alice_replayed: Vec<String>,
    /// alice's live SMS login code.
    pub alice_sms: String,
    /// alice's recovery code, as shown (`XXXXX-XXXXX`).
    pub alice_recovery: String,
    /// TOTP codes that confirm bob's pending app.
    pub bob_confirm: Vec<String>,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture").finish_non_exhaustive()
    }
}

/// Accepts every message; keeps the SMS texts.
#[derive(Default)]
struct Phone(Mutex<Vec<String>>);

impl Delivery for Phone {
    fn send_sms(&self, _to: &PhoneNumber, text: &str) -> Result<(), DeliveryError> {
        if let Ok(mut texts) = self.0.lock() {
            texts.push(text.to_owned());
        }
        Ok(())
    }
    fn send_notice(&self, _notice: &Notice) -> Result<(), DeliveryError> {
        Ok(())
    }
}

impl Phone {
    /// The first run of at least `len` digits in the last SMS.
    fn last_code(&self, len: usize) -> Result<String, String> {
        let texts = self.0.lock().map_err(|e| e.to_string())?;
        let text = texts.last().ok_or("no SMS was sent")?;
        text.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() >= len)
            .map(str::to_owned)
            .ok_or_else(|| "the SMS holds no code".to_owned())
    }
}

fn ctx() -> Context {
    Context {
        service: "sshd".into(),
        remote: Some("192.0.2.10".into()),
        action: None,
        session: None,
    }
}

/// The app's codes at [`NOW`] plus `offsets` steps.
fn codes(app: &TotpEnrollment, offsets: &[i64]) -> Result<Vec<String>, String> {
    let secret = parse_base32(app.secret_base32.expose()).ok_or("bad base32 secret")?;
    let p = app.params;
    let period = i64::try_from(p.period).map_err(|e| e.to_string())?;
    Ok(offsets
        .iter()
        .map(|o| {
            let at = NOW.0.saturating_add_signed(o * period);
            totp(p.algorithm, &secret, at, p.period, p.digits)
        })
        .collect())
}

fn setup() -> Result<Fixture, String> {
    let err = |e: Error| e.to_string();
    let policy = Policy::from_toml(POLICY).map_err(|e| e.to_string())?;
    let mut rng = SeededRandom::new(0x5eed);
    let key = SealKey::generate(&mut rng).map_err(|e| e.to_string())?;
    let store = MemoryStore::new();
    let phone = Phone::default();
    let engine = Engine::new(&policy, &key, &store).with_delivery(&phone);

    let alice = engine.begin_totp(ALICE, T0, &mut rng).map_err(err)?;
    let used = codes(&alice, &[-1, 0])?;
    let alice_fresh = codes(&alice, &[1])?;
    let enrolled = engine
        .confirm_totp(ALICE, used[1].as_bytes(), T0, &mut rng)
        .map_err(err)?;
    let alice_recovery = enrolled
        .recovery_codes
        .first()
        .map(|c| c.expose().to_owned())
        .ok_or("no recovery code")?;
    engine
        .begin_sms(ALICE, "+447700900123", T0, &mut rng)
        .map_err(err)?;
    engine
        .confirm_sms(ALICE, phone.last_code(8)?.as_bytes(), T0, &mut rng)
        .map_err(err)?;
    engine
        .send_login_sms(ALICE, &ctx(), T0, &mut rng)
        .map_err(err)?;
    let alice_sms = phone.last_code(8)?;

    let bob = engine.begin_totp(BOB, T0, &mut rng).map_err(err)?;
    let bob_confirm = codes(&bob, &[-1, 0, 1])?;

    Ok(Fixture {
        snapshot: dump(&store)?,
        policy,
        key,
        alice_fresh,
        alice_replayed: used,
        alice_sms,
        alice_recovery,
        bob_confirm,
    })
}

/// Every entry of `store`, in key order.
fn dump(store: &MemoryStore) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    for key in store.keys("").map_err(|e| e.to_string())? {
        if let Some(v) = store.get(&key).map_err(|e| e.to_string())? {
            out.push((key, v.value));
        }
    }
    Ok(out)
}

/// The fixture, built on first use.
pub fn fixture() -> Result<&'static Fixture, String> {
    static FIXTURE: OnceLock<Result<Fixture, String>> = OnceLock::new();
    FIXTURE.get_or_init(setup).as_ref().map_err(Clone::clone)
}

/// Target `pam_conversation`: the first byte picks the prompt, the rest is
/// what the application's conversation function answered.
pub fn pam_conversation(data: &[u8]) {
    let Some((&prompt, answer)) = data.split_first() else {
        return;
    };
    // The module reads the answer with `CStr::from_ptr(resp).to_bytes()`: up
    // to the first NUL. Build the same C string and read it the same way.
    let mut c_string = answer.to_vec();
    c_string.push(0);
    let Ok(answer) = CStr::from_bytes_until_nul(&c_string).map(CStr::to_bytes) else {
        return;
    };
    let fx = fixture();
    assert!(fx.is_ok(), "fixture: {:?}", fx.err());
    let Ok(fx) = fx else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(answer) {
        let shown = capitalise(text);
        assert_eq!(shown.is_empty(), text.is_empty(), "{text:?} -> {shown:?}");
        assert!(shown.is_empty() || shown.ends_with('.'), "{shown:?}");
    }
    match prompt % 3 {
        0 => code_prompt(fx, answer),
        1 => confirm_prompt(fx, answer),
        _ => enroll_question(answer),
    }
}

/// A fresh store holding the snapshot.
fn restore(fx: &Fixture) -> MemoryStore {
    let store = MemoryStore::new();
    for (key, value) in &fx.snapshot {
        let _ = store.compare_and_swap(key, None, Some(value));
    }
    store
}

/// What the module shows for an error the engine returned: text, never a code.
fn shown_error(e: &Error, digits: Option<&str>) {
    let text = capitalise(&e.to_string());
    assert!(text.ends_with('.'), "{text:?}");
    if let Some(d) = digits.filter(|d| d.len() >= 6) {
        assert!(!text.contains(d), "the error shows the code: {text:?}");
    }
}

/// `Verification code: ` → `Engine::verify` for alice.
fn code_prompt(fx: &Fixture, answer: &[u8]) {
    let store = restore(fx);
    let phone = Phone::default();
    let engine = Engine::new(&fx.policy, &fx.key, &store).with_delivery(&phone);
    let parsed = CodeInput::parse(answer);
    let result = engine.verify(ALICE, answer, &ctx(), NOW, &mut SeededRandom::new(7));
    let rejected = Ok(Verification::Rejected {
        failures_left: MAX_FAILURES - 1,
    });
    let digits = match &parsed {
        Ok(CodeInput::Digits(d)) => Some(d.expose()),
        _ => None,
    };
    match &parsed {
        Err(e) => assert_eq!(result, Err(Error::Input(*e)), "{parsed:?}"),
        Ok(CodeInput::SmsRequest) => {
            assert!(
                matches!(&result, Ok(Verification::SmsSent { to }) if !to.contains("7700900123")),
                "{result:?}"
            );
        }
        Ok(CodeInput::Digits(d)) => {
            let d = d.expose();
            let want = if fx.alice_fresh.iter().any(|c| c == d) {
                Ok(Verification::Accepted {
                    factor: Factor::Totp,
                    recovery_remaining: 1,
                })
            } else if fx.alice_replayed.iter().any(|c| c == d) {
                Ok(Verification::Replayed {
                    failures_left: MAX_FAILURES - 1,
                })
            } else if d == fx.alice_sms {
                Ok(Verification::Accepted {
                    factor: Factor::Sms,
                    recovery_remaining: 1,
                })
            } else if d.len() == 6 || d.len() == 8 {
                rejected
            } else {
                Err(Error::Input(InputError::WrongLength { got: d.len() }))
            };
            assert_eq!(result, want, "answer {d:?}");
        }
        Ok(CodeInput::Recovery(r)) => {
            let mine = normalize_recovery_code(&fx.alice_recovery);
            let want = if mine.is_some_and(|m| m.expose() == r.expose()) {
                Ok(Verification::Accepted {
                    factor: Factor::Recovery,
                    recovery_remaining: 0,
                })
            } else {
                rejected
            };
            assert_eq!(result, want);
        }
    }
    if let Err(e) = &result {
        if matches!(e, Error::Input(_)) {
            assert!(
                dump(&store) == Ok(fx.snapshot.clone()),
                "an unusable answer changed the store: {e}"
            );
        }
        shown_error(e, digits);
    }
}

/// `Code shown by the app: ` → `Engine::confirm_totp` for bob.
fn confirm_prompt(fx: &Fixture, answer: &[u8]) {
    let store = restore(fx);
    let engine = Engine::new(&fx.policy, &fx.key, &store);
    let parsed = CodeInput::parse(answer);
    let result = engine.confirm_totp(BOB, answer, NOW, &mut SeededRandom::new(7));
    let digits = match &parsed {
        Ok(CodeInput::Digits(d)) => Some(d.expose()),
        _ => None,
    };
    match &parsed {
        Err(e) => assert_eq!(result.as_ref().err(), Some(&Error::Input(*e))),
        Ok(CodeInput::Digits(d)) => {
            let d = d.expose();
            if fx.bob_confirm.iter().any(|c| c == d) {
                assert!(
                    result.as_ref().is_ok_and(|r| r.recovery_codes.len() == 1),
                    "the right code did not confirm: {result:?}"
                );
            } else if d.len() == 6 {
                assert_eq!(result.as_ref().err(), Some(&Error::WrongCode));
            } else {
                let want = Error::Input(InputError::WrongLength { got: d.len() });
                assert_eq!(result.as_ref().err(), Some(&want));
            }
        }
        Ok(_) => assert_eq!(
            result.as_ref().err(),
            Some(&Error::Input(InputError::Malformed))
        ),
    }
    if let Err(e) = &result {
        assert!(
            dump(&store) == Ok(fx.snapshot.clone()),
            "a refused confirmation changed the store: {e}"
        );
        shown_error(e, digits);
    }
}

/// `Set up an authenticator app now? [y/N]: ` → `wants_enrollment`.
fn enroll_question(answer: &[u8]) {
    let yes = wants_enrollment(answer);
    let expected = std::str::from_utf8(answer).is_ok_and(|a| {
        let a = a.trim();
        a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes")
    });
    assert_eq!(yes, expected, "{:?}", String::from_utf8_lossy(answer));
}
