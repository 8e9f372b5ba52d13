//! The identity provider's door on the fleet's shared store: the component
//! under the reference host, its `store` import backed by a real PostgreSQL
//! (TLS by a test CA) named in a store file, next to the native engine (what
//! every host's PAM module runs, through its `planasonix serve`) on the same
//! database with the same seal key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::parse_base32;
use planasonix_core::{Engine, Policy, SealKey, SecretBytes, UnixTime};
use planasonix_host::*;
use planasonix_native::store_file::{parse_store, StoreSetting};
use planasonix_native::OsRandom;
use planasonix_service::PgStore;
use planasonix_testkit::postgres::{Postgres, Tls};
use planasonix_testkit::TempDir;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

const T0: u64 = 1_800_000_000;
const POLICY: &str = "[enforcement]\nmode = \"required-for-all\"\n";

fn code(secret: &[u8], at: u64) -> String {
    totp(Algorithm::Sha1, secret, at, 30, 6)
}

fn host_ctx() -> planasonix_core::Context {
    planasonix_core::Context {
        service: "sshd".into(),
        remote: Some("192.0.2.10".into()),
        action: None,
        session: None,
    }
}

#[test]
fn the_idp_and_the_hosts_share_enrollments_and_replays_on_postgresql() {
    let pg = Postgres::start(Tls::On);
    let scratch = TempDir::new("host-pg");
    let file = scratch.join("store.toml");
    std::fs::write(&file, pg.store_toml("verify-full")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let StoreSetting::Postgresql(settings) = parse_store(&pg.store_toml("verify-full")).unwrap()
    else {
        unreachable!()
    };
    let native = PgStore::new(&settings).unwrap();
    native.migrate().unwrap();
    // As `store migrate` on a host of the fleet records it.
    let fleet_key = SealKey::from_bytes(&KEY).unwrap();
    native.record_seal_key(&fleet_key.check_value()).unwrap();
    // A provider given another key is refused before it reads a record.
    match open_store(&file, &scratch.join("not-used"), &[1; 32]) {
        Err(e) => assert!(e.to_string().contains("is not the fleet's"), "{e}"),
        Ok(_) => panic!("a host with another seal key opened the fleet's store"),
    }

    let store = open_store(&file, &scratch.join("not-used"), &KEY).unwrap();
    assert!(
        !scratch.join("not-used").exists(),
        "a sled database was opened beside a shared store"
    );
    let outbox = Arc::new(Outbox::default());
    let host = host_with(
        plugin_wasm(),
        POLICY,
        Randomness::System,
        Limits::default(),
        store,
        outbox,
    );
    let policy = Policy::from_toml(POLICY).unwrap();
    let key = SealKey::from_bytes(&KEY).unwrap();
    let hosts = Engine::new(&policy, &key, &native);

    // The IdP enrolls ida.
    let mut s = host.session().unwrap();
    let e = s.begin_totp("ida", T0).unwrap().unwrap();
    let secret = parse_base32(&e.secret_base32).unwrap();
    s.confirm_totp("ida", code(&secret, T0).as_bytes(), T0)
        .unwrap()
        .unwrap();

    // A host verifies her next code; the IdP sees it as a replay.
    let t = T0 + 30;
    let at_host = hosts
        .verify(
            "ida",
            code(&secret, t).as_bytes(),
            &host_ctx(),
            UnixTime(t),
            &mut OsRandom::new(),
        )
        .unwrap();
    assert!(
        matches!(at_host, planasonix_core::Verification::Accepted { .. }),
        "{at_host:?}"
    );
    let mut s = host.session().unwrap();
    assert!(matches!(
        s.verify("ida", code(&secret, t).as_bytes(), &ctx(), t)
            .unwrap()
            .unwrap(),
        Verification::Replayed(_)
    ));

    // A code the IdP accepted is a replay on the hosts.
    let t = T0 + 60;
    assert!(matches!(
        s.verify("ida", code(&secret, t).as_bytes(), &ctx(), t)
            .unwrap()
            .unwrap(),
        Verification::Accepted(_)
    ));
    let at_host = hosts
        .verify(
            "ida",
            code(&secret, t).as_bytes(),
            &host_ctx(),
            UnixTime(t),
            &mut OsRandom::new(),
        )
        .unwrap();
    assert!(
        matches!(at_host, planasonix_core::Verification::Replayed { .. }),
        "{at_host:?}"
    );

    // Enrolled on a host, used at the IdP.
    let jon = b"12345678901234567890".to_vec();
    hosts
        .provision_totp(
            "jon",
            &SecretBytes::new(jon.clone()),
            hosts.totp_params(),
            UnixTime(T0),
            &mut OsRandom::new(),
        )
        .unwrap();
    let t = T0 + 90;
    assert!(matches!(
        s.verify("jon", code(&jon, t).as_bytes(), &ctx(), t)
            .unwrap()
            .unwrap(),
        Verification::Accepted(_)
    ));
}

#[test]
fn without_a_store_file_the_host_keeps_its_sled_database() {
    let scratch = TempDir::new("host-nofile");
    let store = open_store(&scratch.join("absent.toml"), &scratch.join("db"), &KEY).unwrap();
    store.compare_and_swap("k", None, Some(b"v")).unwrap();
    assert!(scratch.join("db").is_dir());
}

/// A fleet's shared store on `pg`: the hosts' native store (migrated, the
/// seal key recorded as `store migrate` does) and the identity provider's
/// component with `policy` on the same database, through a store file.
fn fleet(pg: &Postgres, scratch: &TempDir, policy: &str) -> (PgStore, PluginHost) {
    let file = scratch.join("store.toml");
    std::fs::write(&file, pg.store_toml("verify-full")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let StoreSetting::Postgresql(settings) = parse_store(&pg.store_toml("verify-full")).unwrap()
    else {
        unreachable!()
    };
    let native = PgStore::new(&settings).unwrap();
    native.migrate().unwrap();
    native
        .record_seal_key(&SealKey::from_bytes(&KEY).unwrap().check_value())
        .unwrap();
    let host = host_with(
        plugin_wasm(),
        policy,
        Randomness::System,
        Limits::default(),
        open_store(&file, &scratch.join("not-used"), &KEY).unwrap(),
        Arc::new(Outbox::default()),
    );
    (native, host)
}

/// A record planted in the old, unauthenticated form by someone with
/// database access but no seal key is refused at the IdP too.
#[test]
fn the_idp_refuses_an_unauthenticated_record_planted_in_the_shared_store() {
    let pg = Postgres::start(Tls::On);
    let scratch = TempDir::new("host-pg-plant");
    let (_native, host) = fleet(&pg, &scratch, POLICY);
    // Schema 2, the last unauthenticated one: a user with no factor and an
    // enrollment deadline far away.
    pg.psql(
        "INSERT INTO planasonix_records (key, version, value) VALUES ('user/ida', 1, convert_to('{\"schema\":2}', 'UTF8'))",
    );
    let mut s = host.session().unwrap();
    let subject = Subject {
        user: "ida".into(),
        groups: vec![],
        amr: vec!["pwd".into()],
    };
    let decided = s.decide(&subject, &ctx(), T0).unwrap();
    assert!(decided.is_err(), "a planted record was read: {decided:?}");
}

/// A terminal login on a host (the native engine, as its PAM module runs
/// it) approved at the identity provider (the component) through the
/// fleet's PostgreSQL: the provider finds the request only for its user and
/// code, sees who asks, and the host takes the approval once.
#[test]
fn a_hosts_login_is_approved_at_the_provider_through_the_shared_store() {
    const APPROVAL: &str = "[enforcement]\nmode = \"required-for-all\"\n[approval]\nenabled = true\nurl = \"https://login.example.com/approve\"\n";
    let pg = Postgres::start(Tls::On);
    let scratch = TempDir::new("host-pg-approve");
    let (native, host) = fleet(&pg, &scratch, APPROVAL);
    let policy = Policy::from_toml(APPROVAL).unwrap();
    let key = SealKey::from_bytes(&KEY).unwrap();
    let hosts = Engine::new(&policy, &key, &native).with_origin("db-7");
    hosts
        .provision_totp(
            "ida",
            &SecretBytes::new(b"12345678901234567890".to_vec()),
            hosts.totp_params(),
            UnixTime(T0),
            &mut OsRandom::new(),
        )
        .unwrap();
    let start = hosts
        .begin_approval(
            "ida",
            "db-7",
            &host_ctx(),
            UnixTime(T0),
            &mut OsRandom::new(),
        )
        .unwrap();

    let mut s = host.session().unwrap();
    let t = T0 + 15;
    // Another user signed in at the provider does not find it.
    assert!(matches!(
        s.approval_request("eve", &start.code, t).unwrap(),
        Err(PluginError::Approval(ApprovalError::NotFound))
    ));
    let view = s.approval_request("ida", &start.code, t).unwrap().unwrap();
    assert_eq!(
        (
            view.host.as_str(),
            view.service.as_str(),
            view.remote.as_deref()
        ),
        ("db-7", "sshd", Some("192.0.2.10"))
    );
    assert!(view.choices.contains(&start.number) && view.choices.len() == 3);
    let signed_in = EngineSession {
        mfa_at: Some(t - 20),
        epoch: None,
        phishing_resistant: true,
    };
    let amr = [
        "pwd".to_owned(),
        "hwk".to_owned(),
        "user".to_owned(),
        "mfa".to_owned(),
    ];
    assert_eq!(
        s.answer_approval(
            "ida",
            &start.code,
            ApprovalAnswer::Number(start.number),
            signed_in,
            &amr,
            t
        )
        .unwrap()
        .unwrap(),
        Answered::Approved
    );
    let taken = |at: u64| {
        hosts
            .approval_outcome("ida", &start.handle, &host_ctx(), UnixTime(at))
            .unwrap()
    };
    assert_eq!(taken(t + 1), planasonix_core::ApprovalOutcome::Approved);
    assert_eq!(taken(t + 2), planasonix_core::ApprovalOutcome::Gone);
    let trail: Vec<String> = hosts
        .audit_log(Some("ida"), None)
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        trail
            .iter()
            .any(|line| line.contains("event=approval-approved")
                && line.contains("amr=\"pwd hwk user mfa\"")),
        "{trail:#?}"
    );
}
