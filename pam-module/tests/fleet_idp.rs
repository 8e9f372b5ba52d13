//! The identity provider's door on a fleet: the component under the
//! reference host (`planasonix-host`), its `store` import the fleet's
//! PostgreSQL named by a host's store file, beside two hosts whose logins go
//! through real libpam (pamtester) and their own `planasonix serve`. One
//! enrollment at the IdP serves SSH, and a code spent at one door is a
//! replay at the other.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fleet::*;
use common::*;
use planasonix_core::hotp::{totp, Algorithm};
use planasonix_core::otpauth::parse_base32;
use planasonix_core::SealKey;
use planasonix_host::{
    open_store, Context, HostConfig, HostDelivery, Limits, PluginHost, Verification,
};
use std::sync::Arc;

/// The fleet's seal key, as the IdP is handed it (its key-file text on the hosts).
const KEY: [u8; 32] = [7; 32];

/// The IdP sends nothing in this test.
struct NoDelivery;

impl HostDelivery for NoDelivery {
    fn send_sms(&self, _to: &str, _text: &str) -> Result<(), String> {
        Err("no SMS gateway in this test".into())
    }
    fn send_notice(&self, _user: &str, _message: &str) -> Result<(), String> {
        Ok(())
    }
}

fn idp_ctx() -> Context {
    Context {
        service: "idp".into(),
        remote: Some("198.51.100.4".into()),
        action: None,
    }
}

fn code(secret: &[u8], at: u64) -> String {
    totp(Algorithm::Sha1, secret, at, 30, 6)
}

#[test]
fn enrolled_at_the_identity_provider_a_user_logs_in_over_pam_and_codes_are_spent_once_fleet_wide() {
    let f = fleet("idp");
    // Both hosts and the IdP hold one seal key (the services never do).
    let text = SealKey::from_bytes(&KEY).unwrap().to_key_text();
    for site in [&f.a.site, &f.b.site] {
        std::fs::write(&site.key, text.expose()).unwrap();
    }
    let idp = PluginHost::new(
        HostConfig {
            wasm: std::fs::read(planasonix_testkit::component::plugin_wasm()).unwrap(),
            cache_dir: None,
            policy_toml: POLICY.to_owned(),
            seal_key: zeroize::Zeroizing::new(KEY.to_vec()),
            limits: Limits::default(),
            max_instances: 4,
        },
        open_store(&f.a.site.store_file(), &f.a.site.dir.join("idp-not-used")).unwrap(),
        Arc::new(NoDelivery),
    )
    .unwrap();
    assert!(!f.a.site.dir.join("idp-not-used").exists());
    accounts::ensure("ida");

    // ida enrolls at the IdP; her confirmation code is last step's, so the
    // current one is still unused for the host.
    let t0 = planasonix_native::now().0;
    let mut s = idp.session().unwrap();
    let e = s.begin_totp("ida", t0).unwrap().unwrap();
    let secret = parse_base32(&e.secret_base32).unwrap();
    let codes = s
        .confirm_totp("ida", code(&secret, t0 - 30).as_bytes(), t0)
        .unwrap()
        .unwrap();
    assert_eq!(codes.len(), 10, "no recovery codes shown at the IdP");

    // Over SSH on host A, the same app's code (from oathtool) gets her in.
    let now = oathtool_at(&secret, &format!("@{t0}"));
    let (ok, text) = login(&f.a.site, "ida", &format!("{now}\n"));
    assert!(ok, "host A refused an enrollment made at the IdP:\n{text}");
    // The IdP sees that code as spent.
    let again = s
        .verify("ida", now.as_bytes(), &idp_ctx(), t0)
        .unwrap()
        .unwrap();
    assert!(
        matches!(again, Verification::Replayed(_)),
        "the IdP accepted a code spent over SSH: {again:?}"
    );

    // A code the IdP accepts is a replay over SSH on host B.
    let next = code(&secret, t0 + 30);
    let at_idp = s
        .verify("ida", next.as_bytes(), &idp_ctx(), t0 + 30)
        .unwrap()
        .unwrap();
    assert!(matches!(at_idp, Verification::Accepted(_)), "{at_idp:?}");
    let (ok, text) = login(&f.b.site, "ida", &format!("{next}\n"));
    assert!(!ok, "host B accepted a code the IdP had accepted:\n{text}");
    assert!(text.contains("That code was already used"), "{text}");

    // A recovery code shown at the IdP works once, anywhere.
    let (ok, text) = login(&f.b.site, "ida", &format!("{}\n", codes[0]));
    assert!(
        ok,
        "host B refused a recovery code shown at the IdP:\n{text}"
    );
    let twice = s
        .verify("ida", codes[0].as_bytes(), &idp_ctx(), t0 + 60)
        .unwrap()
        .unwrap();
    assert!(
        matches!(twice, Verification::Rejected(_)),
        "the IdP accepted a recovery code spent over SSH: {twice:?}"
    );
}
