//! The identity provider's door on a fleet: the component under the
//! reference host (`planasonix-host`, through its `fleet_idp` example, so
//! wasmtime stays out of this crate's build), its `store` import the fleet's
//! PostgreSQL named by a host's store file, beside two hosts whose logins go
//! through real libpam (pamtester) and their own `planasonix serve`. One
//! enrollment at the IdP serves SSH, and a code spent at one door is a
//! replay at the other.
// Test harness code: a failed expectation should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::fleet::*;
use crate::common::*;
use planasonix_core::otpauth::parse_base32;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `fleet_idp` example of `planasonix-host`, built once.
fn idp_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        cargo_build(
            "the IdP example",
            &["-p", "planasonix-host", "--example", "fleet_idp"],
            "examples/fleet_idp",
        )
    })
}

/// Runs the IdP door on `site`'s store with `args`; its standard output.
fn idp(site: &Site, args: &[&str]) -> String {
    let out = Command::new(idp_bin())
        .arg(site.store_file())
        .arg(&site.key)
        .arg(&site.policy)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fleet_idp {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn enrolled_at_the_identity_provider_a_user_logs_in_over_pam_and_codes_are_spent_once_fleet_wide() {
    let f = fleet("idp");
    accounts::ensure("ida");
    let app = f.a.site.dir.join("ida.app");
    // ida enrolls at the IdP; her confirmation code is last step's, so the
    // current one is still unused for the host.
    let said = idp(&f.a.site, &["enroll", "ida", app.to_str().unwrap()]);
    let codes: Vec<&str> = said
        .lines()
        .filter_map(|l| l.strip_prefix("recovery "))
        .collect();
    assert_eq!(
        codes.len(),
        10,
        "no recovery codes shown at the IdP: {said}"
    );
    let secret = parse_base32(std::fs::read_to_string(&app).unwrap().trim()).unwrap();
    let t0 = planasonix_native::now().0;

    // Over SSH on host A, the same app's code (from oathtool) gets her in.
    let now = oathtool_at(&secret, &format!("@{t0}"));
    let (ok, text) = login(&f.a.site, "ida", &format!("{now}\n"));
    assert!(ok, "host A refused an enrollment made at the IdP:\n{text}");
    // The IdP sees that code as spent.
    let at = t0.to_string();
    assert_eq!(
        idp(&f.a.site, &["verify", "ida", &now, &at]).trim(),
        "replayed",
        "the IdP accepted a code spent over SSH"
    );

    // A code the IdP accepts is a replay over SSH on host B.
    let next = oathtool_at(&secret, &format!("@{}", t0 + 30));
    let later = (t0 + 30).to_string();
    assert_eq!(
        idp(&f.a.site, &["verify", "ida", &next, &later]).trim(),
        "accepted"
    );
    let (ok, text) = login(&f.b.site, "ida", &format!("{next}\n"));
    assert!(!ok, "host B accepted a code the IdP had accepted:\n{text}");
    assert!(text.contains("That code was already used"), "{text}");

    // A recovery code shown at the IdP works once, anywhere.
    let (ok, text) = login(&f.b.site, "ida", &format!("{}\n", codes[0]));
    assert!(
        ok,
        "host B refused a recovery code shown at the IdP:\n{text}"
    );
    assert_eq!(
        idp(&f.a.site, &["verify", "ida", codes[0]]).trim(),
        "spent",
        "the IdP accepted a recovery code spent over SSH, or did not say it was spent"
    );
}
