//! A scripted PAM handle and an in-memory backend for flow tests.

use crate::backend::Backend;
use crate::code::PamCode;
use crate::delivery::{Outbox, Outgoing, Sender};
use crate::log::{AuditToLog, MemoryLog};
use crate::pam::{Pam, PamError};
use planasonix_core::{Engine, Error, MemoryStore, Policy, SealKey};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// Computes an answer from everything shown so far.
pub(crate) type Answer = Box<dyn Fn(&[String]) -> String>;

/// One expected exchange.
pub(crate) enum Step {
    /// An info message containing the text.
    Info(&'static str),
    /// An error message containing the text.
    Error(&'static str),
    /// An echo-off prompt containing the text, and the answer.
    Secret(&'static str, Answer),
    /// An echo-on prompt containing the text, and the answer.
    Visible(&'static str, Answer),
    /// An echo-off prompt the application fails to answer.
    ConvFails(&'static str),
}

/// The answer `text`, whatever was shown.
pub(crate) fn say(text: &str) -> Answer {
    let text = text.to_owned();
    Box::new(move |_| text.clone())
}

/// A PAM handle that plays a script and fails the test on any deviation.
pub(crate) struct ScriptedPam {
    pub(crate) user: String,
    pub(crate) service: String,
    pub(crate) rhost: Option<String>,
    script: RefCell<VecDeque<Step>>,
    shown: RefCell<Vec<String>>,
    passed: Cell<bool>,
    store_open: Arc<AtomicBool>,
}

impl ScriptedPam {
    pub(crate) fn new(user: &str, script: Vec<Step>, store_open: Arc<AtomicBool>) -> ScriptedPam {
        ScriptedPam {
            user: user.into(),
            service: "sshd".into(),
            rhost: Some("192.0.2.10".into()),
            script: RefCell::new(script.into()),
            shown: RefCell::new(Vec::new()),
            passed: Cell::new(false),
            store_open,
        }
    }

    /// Loads another script for a further call on the same transaction.
    pub(crate) fn then(&self, script: Vec<Step>) {
        self.assert_done();
        *self.script.borrow_mut() = script.into();
    }

    /// Everything shown to the user.
    pub(crate) fn shown(&self) -> Vec<String> {
        self.shown.borrow().clone()
    }

    pub(crate) fn assert_done(&self) {
        let left = self.script.borrow().len();
        assert_eq!(
            left,
            0,
            "{left} scripted steps never happened; shown: {:#?}",
            self.shown.borrow()
        );
    }

    fn next(&self, what: &str, text: &str) -> Step {
        assert!(
            !self.store_open.load(Ordering::SeqCst),
            "the store is open while talking to the user ({what} {text:?})"
        );
        self.shown.borrow_mut().push(text.to_owned());
        match self.script.borrow_mut().pop_front() {
            Some(step) => step,
            None => panic!(
                "unscripted {what}: {text:?}; shown: {:#?}",
                self.shown.borrow()
            ),
        }
    }

    fn prompt(&self, echo: bool, text: &str) -> Result<Zeroizing<Vec<u8>>, PamError> {
        let kind = if echo {
            "visible prompt"
        } else {
            "secret prompt"
        };
        let answer = match (echo, self.next(kind, text)) {
            (false, Step::Secret(want, answer)) | (true, Step::Visible(want, answer)) => {
                assert!(
                    text.contains(want),
                    "{kind} {text:?} does not contain {want:?}"
                );
                answer(&self.shown.borrow())
            }
            (false, Step::ConvFails(want)) => {
                assert!(
                    text.contains(want),
                    "{kind} {text:?} does not contain {want:?}"
                );
                return Err(PamError(PamCode::ConvErr));
            }
            (_, other) => panic!("got {kind} {text:?}, script expected {}", describe(&other)),
        };
        Ok(Zeroizing::new(answer.into_bytes()))
    }
}

fn describe(step: &Step) -> String {
    match step {
        Step::Info(t) => format!("info {t:?}"),
        Step::Error(t) => format!("error {t:?}"),
        Step::Secret(t, _) => format!("secret prompt {t:?}"),
        Step::Visible(t, _) => format!("visible prompt {t:?}"),
        Step::ConvFails(t) => format!("failing prompt {t:?}"),
    }
}

impl Drop for ScriptedPam {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_done();
        }
    }
}

impl Pam for ScriptedPam {
    fn user(&self) -> Result<String, PamError> {
        Ok(self.user.clone())
    }
    fn service(&self) -> Result<String, PamError> {
        Ok(self.service.clone())
    }
    fn rhost(&self) -> Result<Option<String>, PamError> {
        Ok(self.rhost.clone())
    }
    fn prompt_secret(&self, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PamError> {
        self.prompt(false, prompt)
    }
    fn prompt_visible(&self, prompt: &str) -> Result<Zeroizing<Vec<u8>>, PamError> {
        self.prompt(true, prompt)
    }
    fn info(&self, text: &str) -> Result<(), PamError> {
        match self.next("info", text) {
            Step::Info(want) => assert!(
                text.contains(want),
                "info {text:?} does not contain {want:?}"
            ),
            other => panic!("got info {text:?}, script expected {}", describe(&other)),
        }
        Ok(())
    }
    fn error(&self, text: &str) -> Result<(), PamError> {
        match self.next("error", text) {
            Step::Error(want) => assert!(
                text.contains(want),
                "error {text:?} does not contain {want:?}"
            ),
            other => panic!("got error {text:?}, script expected {}", describe(&other)),
        }
        Ok(())
    }
    fn set_passed(&self) -> Result<(), PamError> {
        self.passed.set(true);
        Ok(())
    }
    fn passed(&self) -> bool {
        self.passed.get()
    }
}

/// The engine over a memory store; flags while a "transaction" is open.
pub(crate) struct MemoryBackend {
    pub(crate) policy: Policy,
    pub(crate) key: SealKey,
    pub(crate) store: MemoryStore,
    pub(crate) open: Arc<AtomicBool>,
    pub(crate) broken: bool,
    /// Receives the engine's audit events, as syslog would.
    pub(crate) audit: Arc<MemoryLog>,
}

impl Backend for MemoryBackend {
    fn policy(&self) -> &Policy {
        &self.policy
    }

    fn run<T>(
        &self,
        outbox: &Outbox,
        op: impl FnOnce(&Engine<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        if self.broken {
            return Err(planasonix_core::StoreError::io(
                planasonix_core::IoKind::Other,
                "test store is broken",
            )
            .into());
        }
        assert!(
            !self.open.swap(true, Ordering::SeqCst),
            "nested store transaction"
        );
        let sink = AuditToLog(&*self.audit);
        let engine = Engine::new(&self.policy, &self.key, &self.store)
            .with_delivery(outbox)
            .with_audit_sink(&sink);
        let out = op(&engine);
        self.open.store(false, Ordering::SeqCst);
        out
    }
}

/// A sender that records what it sends, or fails.
#[derive(Default)]
pub(crate) struct RecordingSender {
    pub(crate) sent: Arc<Mutex<Vec<(String, String)>>>,
    pub(crate) fail: bool,
}

impl Sender for RecordingSender {
    fn send(&self, msg: &Outgoing) -> Result<(), String> {
        if self.fail {
            return Err("gateway refused".into());
        }
        let entry = match msg {
            Outgoing::Sms { to, text } => (to.expose().to_owned(), text.expose().to_owned()),
            Outgoing::Notice { user, text } => (format!("notice:{user}"), text.clone()),
        };
        if let Ok(mut s) = self.sent.lock() {
            s.push(entry);
        }
        Ok(())
    }
}
