//! Whoever can write the store but lacks the seal key (the state service's
//! user, a database administrator, a copied database put back) must not be
//! able to change what a login decides: every field of a stored record is
//! changed without the key, in sled directly and through the state service,
//! and every change is refused; recovery sets swapped between two users work
//! for neither; stored code hashes cannot be tested offline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use planasonix_core::record::{user_key, UPGRADED_KEY};
use planasonix_core::*;
use planasonix_native::{socket_beside, transaction, SledStore};
use planasonix_service::StoreService;
use planasonix_testkit::{code_at, ctx, Outbox, TempDir, T0};
use serde_json::Value;
use std::time::Duration;

const MAGIC_AND_TAG: usize = 4 + 32;

fn policy() -> Policy {
    Policy::from_toml(
        "[enforcement]\nmode = \"required-for-all\"\n[remember]\nwindow = \"8h\"\n[sms]\nenabled = true\nallowed_prefixes = [\"+44\"]\n",
    )
    .unwrap()
}

/// Enrolls alice (app, SMS, recovery codes), logs her in once, fails once.
fn enrolled(store: &dyn Store, key: &SealKey) -> String {
    let policy = policy();
    let outbox = Outbox::default();
    let e = Engine::new(&policy, key, store).with_delivery(&outbox);
    let mut rng = SeededRandom::new(5);
    let secret = e.begin_totp("alice", T0, &mut rng).unwrap().secret_base32;
    let secret = secret.expose().to_owned();
    e.confirm_totp("alice", code_at(&secret, T0).as_bytes(), T0, &mut rng)
        .unwrap();
    e.begin_sms("alice", "+447700900123", T0, &mut rng).unwrap();
    e.confirm_sms("alice", outbox.last_code().as_bytes(), T0, &mut rng)
        .unwrap();
    let t = T0.plus(Duration::from_secs(60));
    e.verify("alice", code_at(&secret, t).as_bytes(), &ctx(), t, &mut rng)
        .unwrap();
    e.verify("alice", b"000000", &ctx(), t, &mut rng).unwrap();
    e.verify("alice", b"sms", &ctx(), t, &mut rng).unwrap();
    secret
}

/// Every leaf of `v`, as a JSON pointer.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{at}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

/// `v` with the leaf at `pointer` changed as an attacker would.
fn changed(v: &Value, pointer: &str) -> Value {
    let mut v = v.clone();
    let leaf = v.pointer_mut(pointer).unwrap();
    *leaf = match leaf.take() {
        Value::Number(n) => Value::from(n.as_u64().map_or(0, |n| n.wrapping_add(1_000_000))),
        Value::String(s) => Value::String(if s.is_empty() {
            "x".into()
        } else {
            format!("{s}A")
        }),
        Value::Bool(b) => Value::Bool(!b),
        Value::Null => Value::from(1),
        other => other,
    };
    v
}

/// Writes `bytes` as `key`'s value, over whatever version is there.
fn overwrite(store: &dyn Store, key: &str, bytes: &[u8]) {
    let version = store.get(key).unwrap().map(|v| v.version);
    assert_eq!(
        store.compare_and_swap(key, version, Some(bytes)).unwrap(),
        store::Cas::Swapped(version.unwrap_or(0) + 1)
    );
}

fn refused(store: &dyn Store, key: &SealKey, what: &str) {
    let policy = policy();
    let e = Engine::new(&policy, key, store);
    let subject = Subject {
        user: "alice".into(),
        ..Default::default()
    };
    let decided = e.decide(&subject, &ctx(), T0.plus(Duration::from_secs(90)));
    assert!(
        matches!(decided, Err(Error::Store(StoreError::Tampered { .. }))),
        "{what}: decide gave {decided:?}"
    );
    let verified = e.verify(
        "alice",
        b"000000",
        &ctx(),
        T0.plus(Duration::from_secs(90)),
        &mut SeededRandom::new(1),
    );
    assert!(
        matches!(verified, Err(Error::Store(StoreError::Tampered { .. }))),
        "{what}: verify gave {verified:?}"
    );
}

/// Changes every field of alice's record without the key, in the two ways a
/// writer without it can: keeping the old tag, and writing the old,
/// unauthenticated format (refused once the database is marked upgraded).
/// Runs a piece of work on the store in one transaction.
type InStore<'a> = &'a dyn Fn(&dyn Fn(&dyn Store));

fn every_change_is_refused(run: InStore<'_>) {
    let key = SealKey::from_bytes(&[3; 32]).unwrap();
    run(&|store| {
        enrolled(store, &key);
        let policy = policy();
        Engine::new(&policy, &key, store)
            .upgrade_records(T0)
            .unwrap();
        assert!(store.get(UPGRADED_KEY).unwrap().is_some());
    });
    let k = user_key("alice");
    let original = {
        let got = std::cell::RefCell::new(Vec::new());
        run(&|store| *got.borrow_mut() = store.get(&k).unwrap().unwrap().value);
        got.into_inner()
    };
    let (head, body) = original.split_at(MAGIC_AND_TAG);
    let json: Value = serde_json::from_slice(body).unwrap();
    let mut pointers = Vec::new();
    leaves(&json, String::new(), &mut pointers);
    assert!(
        pointers.len() > 20,
        "too few fields to tamper with: {pointers:?}"
    );
    for pointer in &pointers {
        let forged = serde_json::to_vec(&changed(&json, pointer)).unwrap();
        let mut with_old_tag = head.to_vec();
        with_old_tag.extend_from_slice(&forged);
        let mut as_schema_2 = changed(&json, pointer);
        as_schema_2["schema"] = Value::from(2);
        let downgraded = serde_json::to_vec(&as_schema_2).unwrap();
        run(&|store| {
            overwrite(store, &k, &with_old_tag);
            refused(store, &key, &format!("{pointer} changed, old tag kept"));
            overwrite(store, &k, &downgraded);
            refused(
                store,
                &key,
                &format!("{pointer} changed, written as schema 2"),
            );
            overwrite(store, &k, &original);
        });
    }
}

#[test]
fn every_field_changed_in_sled_is_refused() {
    let dir = TempDir::new("integrity-sled");
    let db = dir.join("db");
    every_change_is_refused(&|work| {
        SledStore::transaction(&db, Duration::from_secs(5), |s| {
            work(s);
            Ok::<(), StoreError>(())
        })
        .unwrap()
    });
}

#[test]
fn every_field_changed_through_the_state_service_is_refused() {
    let dir = TempDir::new("integrity-service");
    let db = dir.join("db");
    let service = StoreService::start(&db, Duration::from_secs(5)).unwrap();
    std::thread::spawn(move || service.run(|_| {}));
    assert!(socket_beside(&db).exists());
    every_change_is_refused(&|work| {
        transaction(&db, Duration::from_secs(5), |s| {
            work(s);
            Ok::<(), StoreError>(())
        })
        .unwrap()
    });
}

#[test]
fn recovery_sets_swapped_between_two_users_work_for_neither() {
    let key = SealKey::from_bytes(&[4; 32]).unwrap();
    let policy = Policy::default();
    let store = MemoryStore::new();
    let e = Engine::new(&policy, &key, &store);
    let mut rng = SeededRandom::new(9);
    let mut codes = Vec::new();
    for user in ["alice", "bob"] {
        let secret = SecretBytes::new(vec![7; 20]);
        let done = e
            .provision_totp(user, &secret, e.totp_params(), T0, &mut rng)
            .unwrap();
        codes.push(done.recovery_codes[0].expose().to_owned());
    }
    let body = |user: &str| -> Value {
        let raw = store.get(&user_key(user)).unwrap().unwrap().value;
        serde_json::from_slice(&raw[MAGIC_AND_TAG..]).unwrap()
    };
    let (alice, bob) = (body("alice"), body("bob"));
    for (user, mine, theirs) in [("alice", &alice, &bob), ("bob", &bob, &alice)] {
        let raw = store.get(&user_key(user)).unwrap().unwrap().value;
        let mut swapped = mine.clone();
        swapped["recovery"] = theirs["recovery"].clone();
        let mut forged = raw[..MAGIC_AND_TAG].to_vec();
        forged.extend(serde_json::to_vec(&swapped).unwrap());
        overwrite(&store, &user_key(user), &forged);
    }
    for (user, code) in [("alice", &codes[1]), ("bob", &codes[0])] {
        let v = e.verify(user, code.as_bytes(), &ctx(), T0, &mut rng);
        assert!(
            matches!(v, Err(Error::Store(StoreError::Tampered { .. }))),
            "{user} with the other's recovery code: {v:?}"
        );
    }
    // A whole record moved to the other user's key is refused too.
    let bobs = store.get(&user_key("bob")).unwrap().unwrap().value;
    overwrite(&store, &user_key("alice"), &bobs);
    let v = e.verify("alice", codes[1].as_bytes(), &ctx(), T0, &mut rng);
    assert!(
        matches!(v, Err(Error::Store(StoreError::Tampered { .. }))),
        "{v:?}"
    );
}

#[test]
fn a_copy_of_the_database_does_not_reveal_a_live_sms_code() {
    let key = SealKey::from_bytes(&[5; 32]).unwrap();
    let store = MemoryStore::new();
    enrolled(&store, &key);
    let raw = store.get(&user_key("alice")).unwrap().unwrap().value;
    let json: Value = serde_json::from_slice(&raw[MAGIC_AND_TAG..]).unwrap();
    let challenge = &json["sms_challenge"];
    let decode = |field: &str| {
        data_encoding::BASE64
            .decode(challenge[field].as_str().unwrap().as_bytes())
            .unwrap()
    };
    let (salt, hash) = (decode("salt"), decode("hash"));
    // Every 6-digit code, tried the way an unpeppered salted HMAC would allow.
    let salted = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &salt);
    let found = (0..1_000_000u32).find(|n| {
        ring::hmac::sign(&salted, format!("{n:06}").as_bytes()).as_ref() == hash.as_slice()
    });
    assert_eq!(
        found, None,
        "the stored SMS hash gave the code away offline"
    );
}
