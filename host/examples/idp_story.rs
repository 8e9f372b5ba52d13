//! The identity-provider door of the demo: the same story as the core demo,
//! through the WebAssembly component under wasmtime, with state in sled.
//! `cargo run -p planasonix-host --example idp_story` (builds the component).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod shared;

use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::parse_base32;
use planasonix_core::Random;
use planasonix_host::*;
use planasonix_native::{now, OsRandom};
use std::sync::Arc;

struct Printer;
impl HostDelivery for Printer {
    fn send_sms(&self, _to: &str, _text: &str) -> Result<(), planasonix_host::DeliveryError> {
        Err(planasonix_host::DeliveryError::not_sent(
            "this demo IdP has no SMS gateway",
        ))
    }
    fn send_notice(&self, user: &str, message: &str) -> Result<(), planasonix_host::DeliveryError> {
        println!("   [notice to {user}] {message}");
        Ok(())
    }
}

fn check(ok: bool, what: &str) {
    if !ok {
        println!("demo expectation failed: {what}");
        std::process::exit(1);
    }
}

fn main() {
    let dir = std::env::temp_dir().join(format!("planasonix-idp-demo-{}", std::process::id()));
    let mut key = vec![0u8; 32];
    OsRandom::new().fill(&mut key).unwrap();
    let host = PluginHost::new(
        HostConfig {
            wasm: shared::component(),
            cache_dir: None,
            policy_toml: "[enforcement]\nmode = \"required-for-all\"\n".into(),
            seal_key: zeroize::Zeroizing::new(key),
            limits: Limits::default(),
            max_instances: 8,
        },
        open_sled(&dir.join("db")).unwrap(),
        Arc::new(Printer),
    )
    .unwrap();
    println!(
        "\n== The identity-provider door: the same engine as a WebAssembly component (wasmtime)"
    );
    let ctx = Context {
        service: "webapp".into(),
        remote: Some("203.0.113.7".into()),
        action: None,
        session: None,
    };
    let t = now().0;
    let carol = Subject {
        user: "carol".into(),
        groups: vec![],
        amr: vec!["pwd".into()],
    };
    let mut s = host.session().unwrap();
    println!(
        "   carol signs in: {:?}",
        s.decide(&carol, &ctx, t).unwrap().unwrap()
    );
    let e = s.begin_totp("carol", t).unwrap().unwrap();
    println!(
        "   enrollment URI (QR as SVG, {} bytes): {}",
        e.qr_svg.len(),
        e.uri
    );
    let secret = parse_base32(&e.secret_base32).unwrap();
    let code = |at: u64| totp(Algorithm::Sha1, &secret, at, 30, 6);
    let codes = s
        .confirm_totp("carol", code(t).as_bytes(), t)
        .unwrap()
        .unwrap();
    println!("   confirmed; {} recovery codes issued", codes.len());
    // Each request gets a fresh instance; the state lives in sled.
    let t1 = t + 30;
    let first = host
        .session()
        .unwrap()
        .verify("carol", code(t1).as_bytes(), &ctx, t1)
        .unwrap()
        .unwrap();
    println!("   next code:           {first:?}");
    check(
        matches!(first, Verification::Accepted(_)),
        "a fresh code is accepted",
    );
    let again = host
        .session()
        .unwrap()
        .verify("carol", code(t1).as_bytes(), &ctx, t1)
        .unwrap()
        .unwrap();
    println!("   the same code again: {again:?}");
    check(
        matches!(again, Verification::Replayed(_)),
        "a replay is refused",
    );
    let rc = host
        .session()
        .unwrap()
        .verify("carol", codes[0].as_bytes(), &ctx, t1)
        .unwrap()
        .unwrap();
    println!("   a recovery code:     {rc:?}");
    check(
        matches!(
            rc,
            Verification::Accepted(Accepted {
                factor: Factor::Recovery,
                ..
            })
        ),
        "a recovery code works",
    );
    let rc2 = host
        .session()
        .unwrap()
        .verify("carol", codes[0].as_bytes(), &ctx, t1)
        .unwrap()
        .unwrap();
    println!("   that code again:     {rc2:?}");
    check(
        matches!(rc2, Verification::RecoveryCodeSpent(_)),
        "a recovery code works once, and a second use says it was spent",
    );
    let upstream = Subject {
        amr: vec!["pwd".into(), "mfa".into()],
        ..carol.clone()
    };
    println!(
        "   upstream already did MFA (amr=mfa): {:?}",
        host.session()
            .unwrap()
            .decide(&upstream, &ctx, t1)
            .unwrap()
            .unwrap()
    );
    let sms = host
        .session()
        .unwrap()
        .send_sms_code("carol", &ctx, t1)
        .unwrap();
    println!("   asking for an SMS without a phone: {sms:?}");
    drop(host);
    let _ = std::fs::remove_dir_all(&dir);
    println!("\nIdP demo complete: the component gave the answers the PAM module gives.");
}
