//! One login's two transactions read the user's record once
//! ([`Remembering`]), and nothing written between the prompt and the answer
//! (the same code on another host, a lockout, an admin reset) is overlooked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::store::{Cas, Store, StoreError, Versioned};
use planasonix_core::*;
use planasonix_native::{Remembering, Transactions};
use planasonix_testkit::{code_at, ctx, enroll, Fixture, T0};
use std::collections::HashMap;
use std::sync::Mutex;

/// The fleet's store as one host reaches it, counting the reads per key.
struct Counted<'a> {
    store: &'a dyn Store,
    reads: Mutex<HashMap<String, usize>>,
}

impl<'a> Counted<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Counted {
            store,
            reads: Mutex::new(HashMap::new()),
        }
    }

    fn reads_of(&self, key: &str) -> usize {
        self.reads.lock().unwrap().get(key).copied().unwrap_or(0)
    }
}

impl Store for Counted<'_> {
    fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        *self
            .reads
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default() += 1;
        self.store.get(key)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<Cas, StoreError> {
        self.store.compare_and_swap(key, expected, value)
    }
    fn keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.store.keys(prefix)
    }
}

impl Transactions for Counted<'_> {
    fn transaction<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, E>,
    ) -> Result<T, E> {
        work(self)
    }
}

fn alice() -> Subject {
    Subject {
        user: "alice".into(),
        groups: Vec::new(),
        amr: Vec::new(),
    }
}

/// A login on this host: the decision, then (after `meanwhile`, while the
/// user types) the code, each in its own transaction.
fn login(
    f: &Fixture,
    host: &Remembering<Counted<'_>>,
    code: &str,
    now: UnixTime,
    meanwhile: impl FnOnce(),
) -> Result<Verification, Error> {
    let decision = host
        .transaction(|s| Engine::new(&f.policy, &f.key, s).decide(&alice(), &ctx(), now))
        .unwrap();
    assert!(
        matches!(decision, Decision::Required { .. }),
        "{decision:?}"
    );
    meanwhile();
    host.transaction(|s| {
        Engine::new(&f.policy, &f.key, s).verify(
            "alice",
            code.as_bytes(),
            &ctx(),
            now,
            &mut SeededRandom::new(5),
        )
    })
}

const POLICY: &str = "[enforcement]\nmode = \"required-for-all\"\n";

/// Alice enrolled; the time of a login a minute later, and her app's code then.
fn alice_enrolled() -> (Fixture, UnixTime, String) {
    let f = Fixture::new(POLICY);
    let (secret, _) = enroll(&f, "alice", T0);
    let now = T0.plus(std::time::Duration::from_secs(60));
    let code = code_at(&secret, now);
    (f, now, code)
}

/// `input` typed at alice's prompt on another host of the fleet.
fn on_another_host(f: &Fixture, input: &[u8], now: UnixTime) -> Verification {
    f.engine()
        .verify("alice", input, &ctx(), now, &mut SeededRandom::new(7))
        .unwrap()
}

#[test]
fn a_login_reads_the_record_once_and_what_it_wrote_stands() {
    let (f, now, code) = alice_enrolled();
    let host = Remembering::new(Counted::new(&f.store));
    let out = login(&f, &host, &code, now, || {}).unwrap();
    assert!(matches!(out, Verification::Accepted { .. }), "{out:?}");
    assert_eq!(host.inner().reads_of("user/alice"), 1);
    // What it wrote is in the store: the code is spent for every host.
    let again = on_another_host(&f, code.as_bytes(), now);
    assert!(matches!(again, Verification::Replayed { .. }), "{again:?}");
}

#[test]
fn a_code_used_on_another_host_while_this_one_prompts_is_a_replay_here() {
    let (f, now, code) = alice_enrolled();
    let host = Remembering::new(Counted::new(&f.store));
    let out = login(&f, &host, &code, now, || {
        let elsewhere = on_another_host(&f, code.as_bytes(), now);
        assert!(matches!(elsewhere, Verification::Accepted { .. }));
    })
    .unwrap();
    assert!(matches!(out, Verification::Replayed { .. }), "{out:?}");
    // The swap on the remembered record conflicted; the retry read the store.
    assert_eq!(host.inner().reads_of("user/alice"), 2);
}

#[test]
fn a_lockout_reached_elsewhere_while_this_host_prompts_holds_here() {
    let (f, now, code) = alice_enrolled();
    let host = Remembering::new(Counted::new(&f.store));
    let out = login(&f, &host, &code, now, || {
        for _ in 0..f.policy.lockout.max_failures {
            let wrong = on_another_host(&f, b"000000", now);
            assert!(!matches!(wrong, Verification::Accepted { .. }));
        }
    })
    .unwrap();
    assert!(matches!(out, Verification::Locked { .. }), "{out:?}");
}

#[test]
fn an_admin_reset_while_this_host_prompts_wins_over_the_code() {
    let (f, now, code) = alice_enrolled();
    let host = Remembering::new(Counted::new(&f.store));
    let out = login(&f, &host, &code, now, || {
        f.engine().admin_reset("alice", "lost phone", now).unwrap();
    });
    assert!(matches!(out, Err(Error::NotEnrolled)), "{out:?}");
    assert!(!f.engine().status("alice", now).unwrap().enrolled);
}

#[test]
fn only_user_records_are_remembered() {
    let f = Fixture::new(POLICY);
    let host = Remembering::new(Counted::new(&f.store));
    for _ in 0..2 {
        host.transaction(|s| {
            assert_eq!(
                s.compare_and_swap("audit/x", None, Some(b"e"))?,
                Cas::Swapped(1)
            );
            s.get("audit/x")?;
            s.compare_and_swap("audit/x", Some(1), None)
        })
        .unwrap();
    }
    assert_eq!(host.inner().reads_of("audit/x"), 2);
}

/// A login that waits on what another party writes (an approval at the
/// identity provider) asks for fresh reads: after `read_afresh` the store
/// is read again and the other party's write is seen; without it the login
/// would keep seeing what it read first.
#[test]
fn after_read_afresh_a_login_sees_what_others_wrote() {
    let (f, now, _) = alice_enrolled();
    let host = Remembering::new(Counted::new(&f.store));
    let version = |host: &Remembering<Counted<'_>>| {
        host.transaction(|s| s.get("user/alice"))
            .unwrap()
            .unwrap()
            .version
    };
    let first = version(&host);
    // Another door changes the record (a wrong code there).
    on_another_host(&f, b"000000", now);
    assert_eq!(version(&host), first, "remembered");
    host.read_afresh();
    assert!(version(&host) > first, "read afresh");
    assert_eq!(host.inner().reads_of("user/alice"), 2);
}
