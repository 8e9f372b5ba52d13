//! The component under the reference host: imports, a story, races, limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::parse_base32;
use planasonix_core::MemoryStore;
use planasonix_host::*;
use planasonix_testkit::TempDir;
use std::sync::Arc;
use std::time::{Duration, Instant};

const T0: u64 = 1_800_000_000;

fn code(secret_b32: &str, at: u64) -> String {
    totp(
        Algorithm::Sha1,
        &parse_base32(secret_b32).unwrap(),
        at,
        30,
        6,
    )
}

#[test]
fn imports_only_the_declared_interfaces() {
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::from_file(&engine, plugin_wasm()).unwrap();
    let imports: Vec<String> = component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let allowed = |name: &str| {
        name.starts_with("planasonix:mfa/store@")
            || name.starts_with("planasonix:mfa/delivery@")
            || [
                "wasi:cli/",
                "wasi:io/",
                "wasi:clocks/",
                "wasi:random/",
                "wasi:filesystem/",
            ]
            .iter()
            .any(|p| name.starts_with(p) && name.contains("@0.2."))
    };
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with(&format!("planasonix:mfa/store@{WIT_VERSION}"))),
        "{imports:?}"
    );
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with(&format!("planasonix:mfa/delivery@{WIT_VERSION}"))),
        "{imports:?}"
    );
    let extra: Vec<&String> = imports.iter().filter(|i| !allowed(i)).collect();
    assert!(extra.is_empty(), "unexpected imports: {extra:?}");
    let exports: Vec<String> = component
        .component_type()
        .exports(&engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(
        exports,
        vec![format!("planasonix:mfa/engine@{WIT_VERSION}")]
    );
}

#[test]
fn enrollment_login_and_recovery_through_the_component_on_sled() {
    let scratch = TempDir::new("host-sled");
    let dir = scratch.join("db");
    let store = open_sled(&dir).unwrap();
    let outbox = Arc::new(Outbox::default());
    let host = host_with(
        plugin_wasm(),
        "[enforcement]\nmode = \"required-for-all\"\n",
        Randomness::System,
        Limits::default(),
        store,
        outbox.clone(),
    );
    let mut s = host.session().unwrap();
    let alice = Subject {
        user: "alice".into(),
        groups: vec![],
        amr: vec!["pwd".into()],
    };
    assert!(matches!(
        s.decide(&alice, &ctx(), T0).unwrap().unwrap(),
        Decision::Grace(_)
    ));
    let e = s.begin_totp("alice", T0).unwrap().unwrap();
    assert!(e.uri.starts_with("otpauth://totp/Planasonix:alice?secret="));
    assert!(e.qr_svg.contains("<svg"));
    let codes = s
        .confirm_totp("alice", code(&e.secret_base32, T0).as_bytes(), T0)
        .unwrap()
        .unwrap();
    assert_eq!(codes.len(), 10);
    // A fresh instance sees the same state: it lives in sled, not in the instance.
    let mut s = host.session().unwrap();
    let t = T0 + 30;
    assert!(matches!(
        s.verify("alice", code(&e.secret_base32, t).as_bytes(), &ctx(), t)
            .unwrap()
            .unwrap(),
        Verification::Accepted(Accepted {
            factor: Factor::Totp,
            recovery_remaining: 10
        })
    ));
    assert!(matches!(
        s.verify("alice", code(&e.secret_base32, t).as_bytes(), &ctx(), t)
            .unwrap()
            .unwrap(),
        Verification::Replayed(4)
    ));
    assert!(matches!(
        s.verify("alice", codes[0].as_bytes(), &ctx(), t)
            .unwrap()
            .unwrap(),
        Verification::Accepted(Accepted {
            factor: Factor::Recovery,
            recovery_remaining: 9
        })
    ));
    assert!(matches!(
        s.verify("alice", codes[0].as_bytes(), &ctx(), t)
            .unwrap()
            .unwrap(),
        Verification::RecoveryCodeSpent(4)
    ));
    assert!(outbox
        .notices
        .lock()
        .unwrap()
        .iter()
        .any(|(u, m)| u == "alice" && m.contains("recovery code was used")));
    let err = s
        .verify("alice", b"\xff\xfe", &ctx(), t)
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, PluginError::Input(ref m) if m.contains("UTF-8")),
        "{err:?}"
    );
    let events = s.audit_events(Some("alice"), None).unwrap().unwrap();
    assert!(events
        .iter()
        .any(|e| e.detail.contains("\"event\":\"replay\"")));
    drop(s);
    drop(host);
}

#[test]
fn sixteen_users_in_parallel_and_eight_racing_one_recovery_code() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = host_with(
        plugin_wasm(),
        "",
        Randomness::System,
        Limits::default(),
        store,
        Arc::new(Outbox::default()),
    );
    let mut enrolled = Vec::new();
    for i in 0..16 {
        let user = format!("user{i}");
        let mut s = host.session().unwrap();
        let e = s.begin_totp(&user, T0).unwrap().unwrap();
        let codes = s
            .confirm_totp(&user, code(&e.secret_base32, T0).as_bytes(), T0)
            .unwrap()
            .unwrap();
        enrolled.push((user, e.secret_base32, codes));
    }
    let t = T0 + 60;
    std::thread::scope(|scope| {
        for (user, secret, _) in &enrolled {
            let host = &host;
            scope.spawn(move || {
                let mut s = host.session().unwrap();
                let out = s
                    .verify(user, code(secret, t).as_bytes(), &ctx(), t)
                    .unwrap()
                    .unwrap();
                assert!(matches!(out, Verification::Accepted(_)), "{user}: {out:?}");
            });
        }
    });
    let contested = enrolled[0].2[0].clone();
    let wins = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (host, contested) = (&host, &contested);
                scope.spawn(move || {
                    let mut s = host.session().unwrap();
                    matches!(
                        s.verify("user0", contested.as_bytes(), &ctx(), t)
                            .unwrap()
                            .unwrap(),
                        Verification::Accepted(_)
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|w| *w)
            .count()
    });
    assert_eq!(wins, 1, "exactly one racer may spend the recovery code");
}

#[test]
fn a_plugin_that_loops_or_hoards_memory_is_stopped_and_the_host_keeps_serving() {
    let limits = Limits {
        max_memory: 32 << 20,
        call_timeout: Duration::from_millis(300),
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let faulty = host_with(
        faulty_wasm(),
        "",
        Randomness::System,
        limits,
        store.clone(),
        Arc::new(Outbox::default()),
    );
    let alice = Subject {
        user: "alice".into(),
        groups: vec![],
        amr: vec![],
    };

    let started = Instant::now();
    let err = faulty
        .session()
        .unwrap()
        .decide(&alice, &ctx(), T0)
        .unwrap_err();
    assert!(matches!(err, HostError::Timeout), "{err}");
    assert!(err.to_string().contains("time limit"));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the loop was not stopped"
    );

    let err = faulty
        .session()
        .unwrap()
        .verify("alice", b"123456", &ctx(), T0)
        .unwrap_err();
    assert!(matches!(err, HostError::MemoryLimit), "{err}");

    let err = faulty.session().unwrap().status("alice", T0).unwrap_err();
    assert!(matches!(err, HostError::Trap(_)), "{err}");

    // The same host still hands out working instances, many times over.
    for _ in 0..100 {
        let mut s = faulty.session().unwrap();
        assert!(matches!(
            s.admin_unlock("alice", T0).unwrap(),
            Err(PluginError::NotConfigured)
        ));
    }
    // And a real plugin on the same store is unaffected.
    let good = host_with(
        plugin_wasm(),
        "",
        Randomness::System,
        limits,
        store,
        Arc::new(Outbox::default()),
    );
    assert!(matches!(
        good.session()
            .unwrap()
            .decide(&alice, &ctx(), T0)
            .unwrap()
            .unwrap(),
        Decision::NotRequired(NotRequired::OutOfScope)
    ));
}

#[test]
fn a_bad_policy_or_key_is_refused_when_the_instance_is_configured() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = host_with(
        plugin_wasm(),
        "[totp]\ndigits = 7\n",
        Randomness::System,
        Limits::default(),
        store,
        Arc::new(Outbox::default()),
    );
    let err = host.session().unwrap_err();
    assert!(err.to_string().contains("totp.digits"), "{err}");
}

/// The embedder's store, counting `swap_and_add` calls, and refusing one
/// key's reads as the state service refuses a rolled-back record.
struct Refusing {
    inner: MemoryStore,
    refuse: std::sync::Mutex<Option<String>>,
    swaps_with_events: std::sync::atomic::AtomicUsize,
}

impl Store for Refusing {
    fn get(
        &self,
        key: &str,
    ) -> Result<Option<planasonix_core::store::Versioned>, planasonix_core::StoreError> {
        if self.refuse.lock().unwrap().as_deref() == Some(key) {
            return Err(planasonix_core::StoreError::Tampered {
                key: key.to_owned(),
                detail: "older than the version this host wrote (a rollback)".into(),
            });
        }
        self.inner.get(key)
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<u64>,
        value: Option<&[u8]>,
    ) -> Result<planasonix_core::store::Cas, planasonix_core::StoreError> {
        self.inner.compare_and_swap(key, expected, value)
    }

    fn keys(&self, prefix: &str) -> Result<Vec<String>, planasonix_core::StoreError> {
        self.inner.keys(prefix)
    }

    fn swap_and_add(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        add: &[(String, Vec<u8>)],
    ) -> Result<planasonix_core::store::Swap, planasonix_core::StoreError> {
        self.swaps_with_events
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.swap_and_add(key, expected, value, add)
    }
}

/// WIT 0.2's store contract is the engine's: a change and its audit events
/// reach the host as one `swap-and-add` (one statement on PostgreSQL, not one
/// per event), and a record the host's store refuses as tampered crosses as
/// `tampered`, so the component audits the refusal as the native doors do
/// (under 0.1 it arrived as an untyped I/O text and went unaudited).
#[test]
fn the_store_contract_crosses_whole_a_change_with_its_events_and_a_typed_refusal() {
    let store = Arc::new(Refusing {
        inner: MemoryStore::new(),
        refuse: std::sync::Mutex::new(None),
        swaps_with_events: Default::default(),
    });
    let host = host_with(
        plugin_wasm(),
        "[enforcement]\nmode = \"required-for-all\"\n",
        Randomness::System,
        Limits::default(),
        store.clone(),
        Arc::new(Outbox::default()),
    );
    let mut s = host.session().unwrap();
    let e = s.begin_totp("alice", T0).unwrap().unwrap();
    s.confirm_totp("alice", code(&e.secret_base32, T0).as_bytes(), T0)
        .unwrap()
        .unwrap();
    let t = T0 + 30;
    let accepted = s
        .verify("alice", code(&e.secret_base32, t).as_bytes(), &ctx(), t)
        .unwrap()
        .unwrap();
    assert!(
        matches!(accepted, Verification::Accepted(_)),
        "{accepted:?}"
    );
    let swaps = store
        .swaps_with_events
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        swaps >= 2,
        "the enrollment and the login reached the host as {swaps} swap-and-add calls"
    );

    *store.refuse.lock().unwrap() = Some("user/alice".into());
    let refused = s
        .verify("alice", b"000000", &ctx(), t + 30)
        .unwrap()
        .unwrap_err();
    // The host's own refusal reaches the embedder typed, as it crossed in.
    assert!(
        matches!(
            &refused,
            PluginError::Store(WitStoreError::Tampered(BadRecord { key, detail }))
                if key == "user/alice" && detail.contains("a rollback")
        ),
        "{refused:?}"
    );
    *store.refuse.lock().unwrap() = None;
    let events = s.audit_events(Some("alice"), None).unwrap().unwrap();
    assert!(
        events.iter().any(|e| e.detail.contains("record-refused")
            && e.detail.contains("a rollback")
            && e.level == "error"),
        "the refusal is not in the trail: {events:?}"
    );
}

/// The store contract the native stores pass runs inside the component,
/// against the host's own store through the WIT `store` import: sled and
/// memory keep every promise; a store that breaks one is named at it.
#[test]
fn the_store_contract_runs_inside_the_component_against_the_hosts_store() {
    let dir = TempDir::new("contract");
    let stores: Vec<(&str, Arc<dyn Store>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        ("sled", open_sled(&dir.path().join("db")).unwrap()),
    ];
    for (name, store) in stores {
        let host = host_with(
            conformance_wasm(),
            "",
            Randomness::System,
            Limits::default(),
            store,
            Arc::new(Outbox::default()),
        );
        assert_eq!(host.check_store_contract().unwrap(), Ok(()), "{name}");
    }
    let host = host_with(
        conformance_wasm(),
        "",
        Randomness::System,
        Limits::default(),
        Arc::new(planasonix_core::testing::OffByOne::default()),
        Arc::new(Outbox::default()),
    );
    assert_eq!(
        host.check_store_contract().unwrap(),
        Err(
            "writing over the version read: the store answered Swapped(1), not Swapped(2)"
                .to_owned()
        )
    );
    // The shipped component cannot run it.
    let shipped = host_with(
        plugin_wasm(),
        "",
        Randomness::System,
        Limits::default(),
        Arc::new(MemoryStore::new()),
        Arc::new(Outbox::default()),
    );
    assert!(matches!(
        shipped.check_store_contract(),
        Err(HostError::Load(_))
    ));
}
