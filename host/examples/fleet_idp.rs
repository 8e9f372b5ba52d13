//! The identity provider's part in the fleet demo (`scripts/demo-fleet.sh`):
//! the component under wasmtime, its store the fleet's PostgreSQL named by
//! a store file, enrolls USER's authenticator app and signs them in once.
//! The app's secret goes to APP_FILE (0600), which stands for the phone.
//!
//! `fleet_idp STORE_FILE SEAL_KEY_FILE POLICY_FILE USER APP_FILE`
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
    fn send_sms(&self, _to: &str, _text: &str) -> Result<(), String> {
        Err("this demo IdP has no SMS gateway".into())
    }
    fn send_notice(&self, user: &str, message: &str) -> Result<(), String> {
        println!("   [notice to {user}] {message}");
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [store_file, key_file, policy_file, user, app_file] = args.as_slice() else {
        eprintln!("usage: fleet_idp STORE_FILE SEAL_KEY_FILE POLICY_FILE USER APP_FILE");
        std::process::exit(2);
    };
    // The key file as the hosts check it (0600, root's), then its 32 bytes,
    // which is what a host hands the component.
    load_key_file(Path::new(key_file)).unwrap();
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(key_file).unwrap());
    let key = zeroize::Zeroizing::new(
        data_encoding::BASE64
            .decode(text.split_whitespace().nth(1).unwrap().as_bytes())
            .unwrap(),
    );
    let host = PluginHost::new(
        HostConfig {
            wasm: shared::component(),
            cache_dir: None,
            policy_toml: std::fs::read_to_string(policy_file).unwrap(),
            seal_key: key,
            limits: Limits::default(),
            max_instances: 2,
        },
        open_store(Path::new(store_file), Path::new("/nonexistent")).unwrap(),
        Arc::new(NoGateway),
    )
    .unwrap();
    let ctx = Context {
        service: "webapp".into(),
        remote: Some("203.0.113.7".into()),
        action: None,
    };
    let t = now().0;
    let mut s = host.session().unwrap();
    let subject = Subject {
        user: user.clone(),
        groups: vec![],
        amr: vec!["pwd".into()],
    };
    println!(
        "   {user} signs in at the IdP: {:?}",
        s.decide(&subject, &ctx, t).unwrap().unwrap()
    );
    let e = s.begin_totp(user, t).unwrap().unwrap();
    let secret = parse_base32(&e.secret_base32).unwrap();
    let code = |at: u64| totp(Algorithm::Sha1, &secret, at, 30, 6);
    // Confirmed with the last step's code: the current one stays unused.
    let codes = s
        .confirm_totp(user, code(t - 30).as_bytes(), t)
        .unwrap()
        .unwrap();
    println!(
        "   {user} enrolls an app at the IdP (QR as SVG, {} bytes) and gets {} recovery codes",
        e.qr_svg.len(),
        codes.len()
    );
    let mut app = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(app_file)
        .unwrap();
    writeln!(app, "{}", e.secret_base32).unwrap();
    let at_idp = s
        .verify(user, code(t).as_bytes(), &ctx, t)
        .unwrap()
        .unwrap();
    println!("   {user} signs in at the IdP with the app's code: {at_idp:?}");
    if !matches!(at_idp, Verification::Accepted(_)) {
        println!("demo expectation failed: the IdP refused {user}'s code");
        std::process::exit(1);
    }
}
