//! The shipped component never runs on test randomness (security issue 15,
//! item 3). With a fixed seed a host could make every enrollment in every
//! fresh instance share one TOTP secret and one set of recovery codes. The
//! shipped build is the WIT world `plugin`, which has no way to pass one; only
//! the conformance variant (world `conformance`, export `seeded`), built to
//! its own path, takes a seed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::parse_base32;
use planasonix_core::MemoryStore;
use planasonix_host::*;
use std::path::PathBuf;
use std::sync::Arc;

const T0: u64 = 1_800_000_000;

/// The component under test: `PLANASONIX_SHIPPED_WASM` (packaging/test.sh points
/// it at the installed file), else the release build packaging/build.sh ships.
fn shipped_wasm() -> PathBuf {
    std::env::var_os("PLANASONIX_SHIPPED_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| plugin_wasm().to_owned())
}

fn host(wasm: &std::path::Path, randomness: Randomness) -> PluginHost {
    host_with(
        wasm,
        "",
        randomness,
        Limits::default(),
        Arc::new(MemoryStore::new()),
        Arc::new(Outbox::default()),
    )
}

/// Enrolls `user` in a fresh session: the TOTP secret and the recovery codes.
fn enroll(host: &PluginHost, user: &str) -> (String, Vec<String>) {
    let mut s = host.session().unwrap();
    let e = s.begin_totp(user, T0).unwrap().unwrap();
    let code = totp(
        Algorithm::Sha1,
        &parse_base32(&e.secret_base32).unwrap(),
        T0,
        30,
        6,
    );
    let codes = s.confirm_totp(user, code.as_bytes(), T0).unwrap().unwrap();
    (e.secret_base32, codes)
}

#[test]
fn a_host_cannot_make_fresh_sessions_of_the_shipped_component_share_a_secret() {
    let host = host(&shipped_wasm(), Randomness::TestSeed(7));
    for _ in 0..2 {
        match host.session() {
            Err(HostError::Load(m)) if m.contains("cannot be given a seed") => {}
            Err(e) => panic!("refused, but not for the seed: {e}"),
            Ok(_) => {
                let (alice, bob) = (enroll(&host, "alice"), enroll(&host, "bob"));
                panic!(
                    "the shipped component took a test seed: alice and bob, each in a \
                     fresh session, got TOTP secrets {} and {}, recovery codes {:?} and {:?}",
                    alice.0, bob.0, alice.1[0], bob.1[0]
                );
            }
        }
    }
}

#[test]
fn the_shipped_component_cannot_even_name_a_seed() {
    let wasm = std::fs::read(shipped_wasm()).unwrap();
    for name in [&b"planasonix:mfa/seeded"[..], b"test-seed", b"SeededRandom"] {
        assert!(
            !wasm.windows(name.len()).any(|w| w == name),
            "the shipped component names {:?}",
            String::from_utf8_lossy(name)
        );
    }
    let conformance = std::fs::read(conformance_wasm()).unwrap();
    let seeded = b"planasonix:mfa/seeded";
    assert!(
        conformance.windows(seeded.len()).any(|w| w == seeded),
        "the check above looks for the export's name, which the conformance variant must have"
    );
}

#[test]
fn fresh_sessions_of_the_shipped_component_enroll_different_secrets() {
    let host = host(&shipped_wasm(), Randomness::System);
    let alice = enroll(&host, "alice");
    let bob = enroll(&host, "bob");
    assert_ne!(
        alice.0, bob.0,
        "two fresh sessions enrolled one TOTP secret"
    );
    assert_eq!(alice.1.len(), 10);
    assert!(
        alice.1.iter().all(|c| !bob.1.contains(c)),
        "two fresh sessions drew the same recovery codes"
    );
}

/// The conformance variant does what the seed promises (every fresh session
/// draws the same bytes, which is why all doors agree) and is not the file
/// that is packaged.
#[test]
fn only_the_conformance_variant_takes_a_seed_and_it_is_built_elsewhere() {
    let host = host(conformance_wasm(), Randomness::TestSeed(7));
    let alice = enroll(&host, "alice");
    let bob = enroll(&host, "bob");
    assert_eq!(alice, bob, "a seeded session is not deterministic");
    assert_ne!(conformance_wasm(), plugin_wasm());
    assert!(plugin_wasm().ends_with("wasm32-wasip2/release/planasonix_wasm.wasm"));
    assert_ne!(
        std::fs::read(conformance_wasm()).unwrap(),
        std::fs::read(plugin_wasm()).unwrap()
    );
}
