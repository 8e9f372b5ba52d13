//! The identity provider's door on a fleet's shared store, as a command:
//! the component under wasmtime, its store the PostgreSQL a store file
//! names. Used by the fleet demo (`scripts/demo-fleet.sh`) and by the PAM
//! module's fleet tests (`pam-module/tests/fleet_idp.rs`), which keep
//! wasmtime out of the module's own build.
//!
//! ```text
//! fleet_idp STORE_FILE SEAL_KEY_FILE POLICY_FILE enroll USER APP_FILE
//!     enrolls USER's authenticator app (confirmed with the previous time
//!     step's code, so the current one stays unused); the app's secret goes
//!     to APP_FILE (0600, standing for the phone); prints the recovery codes
//! fleet_idp STORE_FILE SEAL_KEY_FILE POLICY_FILE verify USER CODE [AT]
//!     a sign-in at the IdP with CODE at unix time AT (default now); prints
//!     accepted, replayed, rejected, spent (a used recovery code) or locked
//! ```
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod shared;

use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::parse_base32;
use planasonix_host::*;
use planasonix_native::{load_key_file, now};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

struct NoGateway;
impl HostDelivery for NoGateway {
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

fn usage() -> ! {
    eprintln!("usage: fleet_idp STORE_FILE SEAL_KEY_FILE POLICY_FILE (enroll USER APP_FILE | verify USER CODE [AT])");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 6 {
        usage();
    }
    let (store_file, key_file, policy_file) = (&args[0], &args[1], &args[2]);
    // The key file as the hosts check it (0600, root's), then its 32 bytes,
    // which is what a host hands the component.
    load_key_file(Path::new(key_file)).unwrap();
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(key_file).unwrap());
    let key = zeroize::Zeroizing::new(
        data_encoding::BASE64
            .decode(text.split_whitespace().nth(1).unwrap().as_bytes())
            .unwrap(),
    );
    let store = open_store(Path::new(store_file), Path::new("/nonexistent"), &key).unwrap();
    let host = PluginHost::new(
        HostConfig {
            wasm: shared::component(),
            cache_dir: None,
            policy_toml: std::fs::read_to_string(policy_file).unwrap(),
            seal_key: key,
            limits: Limits::default(),
            max_instances: 2,
        },
        store,
        Arc::new(NoGateway),
    )
    .unwrap();
    let ctx = Context {
        service: "webapp".into(),
        remote: Some("203.0.113.7".into()),
        action: None,
        session: None,
    };
    let mut s = host.session().unwrap();
    let user = &args[4];
    match args[3].as_str() {
        "enroll" => {
            let t = now().0;
            let e = s.begin_totp(user, t).unwrap().unwrap();
            let secret = parse_base32(&e.secret_base32).unwrap();
            let codes = s
                .confirm_totp(
                    user,
                    totp(Algorithm::Sha1, &secret, t - 30, 30, 6).as_bytes(),
                    t,
                )
                .unwrap()
                .unwrap();
            let mut app = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&args[5])
                .unwrap();
            writeln!(app, "{}", e.secret_base32).unwrap();
            println!(
                "   {user} enrolls an app at the IdP (QR as SVG, {} bytes) and gets {} recovery codes",
                e.qr_svg.len(),
                codes.len()
            );
            for code in codes {
                println!("recovery {code}");
            }
        }
        "verify" => {
            let at = args.get(6).map_or_else(|| now().0, |a| a.parse().unwrap());
            let answer = s.verify(user, args[5].as_bytes(), &ctx, at).unwrap();
            println!(
                "{}",
                match answer {
                    Ok(Verification::Accepted(_)) => "accepted".to_owned(),
                    Ok(Verification::Replayed(_)) => "replayed".to_owned(),
                    Ok(Verification::Rejected(_)) => "rejected".to_owned(),
                    Ok(Verification::RecoveryCodeSpent(_)) => "spent".to_owned(),
                    Ok(Verification::Locked(_)) => "locked".to_owned(),
                    other => format!("{other:?}"),
                }
            );
        }
        _ => usage(),
    }
}
