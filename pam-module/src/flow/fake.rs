//! A scripted PAM handle, a memory store and a recording sender and log for
//! flow tests: the flow runs native's `EngineCall` over them exactly as it
//! runs over the database and the delivery commands.

use crate::code::PamCode;
use crate::pam::{Pam, PamError};
use planasonix_core::store::Store;
use planasonix_core::{AuditEvent, AuditSink, IoKind, MemoryStore, Message, StoreError};
use planasonix_native::delivery::{DeliveryFailure, Sender};
use planasonix_native::syslog::{AuditToLog, Log, Severity};
use planasonix_native::Transactions;
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

/// A memory store whose transactions raise `open` while they run (so that
/// [`ScriptedPam`] can tell that none is open while a prompt waits), and
/// fail at once when `broken`.
pub(crate) struct TestStore {
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) open: Arc<AtomicBool>,
    pub(crate) broken: bool,
}

impl Transactions for TestStore {
    fn transaction<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.broken {
            return Err(StoreError::io(IoKind::Other, "test store is broken").into());
        }
        assert!(
            !self.open.swap(true, Ordering::SeqCst),
            "nested store transaction"
        );
        let out = self.store.transaction(work);
        self.open.store(false, Ordering::SeqCst);
        out
    }
}

/// The program a failing [`RecordingSender`] names.
pub(crate) const GATEWAY: &str = "/test/gateway";

/// A sender that records what it is handed (the number or `notice:USER`,
/// and the text), then fails if told to, as a gateway that took the message
/// but exited with status 1.
#[derive(Default)]
pub(crate) struct RecordingSender {
    pub(crate) sent: Arc<Mutex<Vec<(String, String)>>>,
    pub(crate) fail: bool,
    /// Whether it stands for a host with SMS set up.
    pub(crate) sms: bool,
}

impl Sender for RecordingSender {
    fn sends_sms(&self) -> bool {
        self.sms
    }

    fn send(&self, message: &Message) -> Result<(), DeliveryFailure> {
        let entry = match message {
            Message::Sms { to, text } => (to.e164().to_owned(), text.expose().to_owned()),
            Message::Notice(notice) => (format!("notice:{}", notice.user), notice.message()),
        };
        if let Ok(mut s) = self.sent.lock() {
            s.push(entry);
        }
        if self.fail {
            return Err(DeliveryFailure::Exited {
                program: GATEWAY.into(),
                status: 1,
            });
        }
        Ok(())
    }
}

/// A log that keeps lines in memory.
#[derive(Default)]
pub(crate) struct MemoryLog(Mutex<Vec<(Severity, String)>>);

impl MemoryLog {
    pub(crate) fn lines(&self) -> Vec<(Severity, String)> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Log for MemoryLog {
    fn log(&self, severity: Severity, line: &str) {
        if let Ok(mut l) = self.0.lock() {
            l.push((severity, line.to_owned()));
        }
    }
}

/// The engine's audit events into a [`MemoryLog`], through native's
/// [`AuditToLog`] as syslog gets them.
pub(crate) struct LogAudit(pub(crate) Arc<MemoryLog>);

impl AuditSink for LogAudit {
    fn record(&self, event: &AuditEvent) {
        AuditToLog(&*self.0).record(event);
    }

    fn trail_failed(&self, user: &str, error: &str) {
        AuditToLog(&*self.0).trail_failed(user, error);
    }
}
