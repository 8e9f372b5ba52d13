//! A TOTP factor taken over from another tool starts with the current time
//! step used: a code that tool accepted seconds before cannot be replayed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common::*;
use planasonix_core::*;

const SECRET: &[u8] = b"12345678901234567890";
const B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn params() -> TotpParams {
    TotpParams {
        algorithm: hotp::Algorithm::Sha1,
        digits: 6,
        period: 30,
    }
}

fn verify(f: &Fixture, user: &str, code: &str, at: UnixTime) -> Verification {
    f.engine()
        .verify(user, code.as_bytes(), &ctx(), at, &mut SeededRandom::new(3))
        .unwrap()
}

#[test]
fn the_current_code_is_a_replay_right_after_an_import() {
    let f = Fixture::new("");
    let mut rng = SeededRandom::new(1);
    // Imported 10 seconds into a step whose code the old module just took.
    let at = UnixTime(T0.0 + 10);
    f.engine()
        .import_totp(
            "alice",
            &SecretBytes::new(SECRET.to_vec()),
            params(),
            at,
            &mut rng,
        )
        .unwrap();
    let used = code_at(B32, at);
    assert!(
        matches!(
            verify(&f, "alice", &used, UnixTime(at.0 + 5)),
            Verification::Replayed { .. }
        ),
        "the code of the import's step"
    );
    // The previous step's code (inside the skew window) was the old tool's too.
    let before = code_at(B32, UnixTime(at.0 - 30));
    assert!(matches!(
        verify(&f, "alice", &before, UnixTime(at.0 + 5)),
        Verification::Replayed { .. }
    ));
    // The app's next code logs in.
    let next = UnixTime(at.0 + 30);
    assert!(matches!(
        verify(&f, "alice", &code_at(B32, next), next),
        Verification::Accepted {
            factor: Factor::Totp,
            ..
        }
    ));
}

#[test]
fn admin_provisioning_still_takes_the_first_code() {
    let f = Fixture::new("");
    let mut rng = SeededRandom::new(2);
    f.engine()
        .provision_totp(
            "bob",
            &SecretBytes::new(SECRET.to_vec()),
            params(),
            T0,
            &mut rng,
        )
        .unwrap();
    assert!(matches!(
        verify(&f, "bob", &code_at(B32, T0), T0),
        Verification::Accepted { .. }
    ));
}
