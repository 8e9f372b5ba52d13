//! An engine over an in-memory store, with a delivery channel and an audit
//! sink that keep what they were given; a fixed clock origin; codes computed
//! with the engine's own TOTP. Compiled into this crate and, by path, into
//! the core's own tests (which cannot depend on a crate that depends on
//! core without a loop).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::phone::PhoneNumber;
use planasonix_core::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// A delivery channel that keeps what it was asked to send.
#[derive(Debug, Default)]
pub struct Outbox {
    pub sms: Mutex<Vec<(String, String)>>,
    pub notices: Mutex<Vec<Notice>>,
    pub fail_sms: AtomicBool,
}

impl Outbox {
    /// The digits of the last SMS sent.
    pub fn last_code(&self) -> String {
        let sms = self.sms.lock().unwrap();
        let (_, text) = sms.last().expect("an SMS was sent");
        text.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() >= 6)
            .expect("the SMS holds a code")
            .to_owned()
    }

    pub fn notice_kinds(&self) -> Vec<NoticeKind> {
        self.notices
            .lock()
            .unwrap()
            .iter()
            .map(|n| n.kind)
            .collect()
    }
}

impl Delivery for Outbox {
    fn send_sms(&self, to: &PhoneNumber, text: &str) -> Result<(), DeliveryError> {
        if self.fail_sms.load(Ordering::SeqCst) {
            return Err(DeliveryError::not_sent("gateway returned 503"));
        }
        self.sms
            .lock()
            .unwrap()
            .push((to.e164().to_owned(), text.to_owned()));
        Ok(())
    }
    fn send_notice(&self, notice: &Notice) -> Result<(), DeliveryError> {
        self.notices.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

/// Everything an engine needs, in memory.
#[allow(missing_debug_implementations)] // Holds the seal key.
pub struct Fixture {
    pub policy: Policy,
    pub key: SealKey,
    pub store: MemoryStore,
    pub outbox: Outbox,
    pub log: Mutex<Vec<AuditEvent>>,
}

pub const T0: UnixTime = UnixTime(1_800_000_000);

impl Fixture {
    pub fn new(policy_toml: &str) -> Fixture {
        Fixture {
            policy: Policy::from_toml(policy_toml).unwrap(),
            key: SealKey::generate(&mut SeededRandom::new(99)).unwrap(),
            store: MemoryStore::new(),
            outbox: Outbox::default(),
            log: Mutex::new(Vec::new()),
        }
    }

    pub fn engine(&self) -> Engine<'_> {
        Engine::new(&self.policy, &self.key, &self.store)
            .with_delivery(&self.outbox)
            .with_audit_sink(self)
    }

    pub fn events(&self) -> Vec<AuditKind> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.kind.clone())
            .collect()
    }
}

impl AuditSink for Fixture {
    fn record(&self, event: &AuditEvent) {
        self.log.lock().unwrap().push(event.clone());
    }
}

pub fn ctx() -> Context {
    Context {
        service: "sshd".into(),
        remote: Some("192.0.2.10".into()),
        action: None,
        session: None,
    }
}

/// The TOTP code for `secret` at `now` with default parameters.
pub fn code_at(secret_b32: &str, now: UnixTime) -> String {
    let secret = planasonix_core::otpauth::parse_base32(secret_b32).unwrap();
    planasonix_core::hotp::totp(hotp::Algorithm::Sha1, &secret, now.0, 30, 6)
}

/// Enrolls `user` with an authenticator app; returns its base32 secret and recovery codes.
pub fn enroll(f: &Fixture, user: &str, now: UnixTime) -> (String, Vec<String>) {
    let mut rng = SeededRandom::new(user.len() as u64);
    let e = f.engine().begin_totp(user, now, &mut rng).unwrap();
    let secret = e.secret_base32.expose().to_owned();
    let done = f
        .engine()
        .confirm_totp(user, code_at(&secret, now).as_bytes(), now, &mut rng)
        .unwrap();
    let codes = done
        .recovery_codes
        .iter()
        .map(|c| c.expose().to_owned())
        .collect();
    (secret, codes)
}
